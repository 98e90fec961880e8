"""Reads behind the invoice-details pages: the issuer and the billing subjects."""

from django.db.models import Q, QuerySet

from instances.models import Instance

from .models import BillingSubject, IssuerProfile


def issuer_profile_get(*, instance: Instance) -> IssuerProfile | None:
    return IssuerProfile.objects.filter(instance=instance).first()


def billing_subject_list(
    *, instance: Instance, search: str = "", search_email: bool = False
) -> QuerySet[BillingSubject]:
    """The instance's subjects by invoice name, with who edited them.

    `search` matches the invoice name, key or tax id, and the email only for people
    who may see emails: otherwise a search would tell whether an address is known.
    """
    subjects = BillingSubject.objects.filter(instance=instance).select_related(
        "edited_by"
    )
    search = search.strip()
    if search:
        match = (
            Q(invoice_name__icontains=search)
            | Q(key__icontains=search)
            | Q(tax_id__icontains=search)
        )
        if search_email:
            match |= Q(email__icontains=search)
        subjects = subjects.filter(match)
    return subjects.order_by("invoice_name", "id")
