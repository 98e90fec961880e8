"""Invoice details: who issues an instance's invoices and whom they are addressed to.

Drafts print the current details, so an edit is copied onto the instance's drafts
(and their PDFs re-rendered after commit); finalised invoices keep the details they
were issued with. A subject edited by a person is marked (edited_by, edited_at) so
that prefilling from OFN never overwrites it.
"""

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from instances.models import Instance
from portal.audit import audit_record

from ..models import BillingSubject, Invoice, IssuerProfile

logger = logging.getLogger(__name__)

ISSUER_FIELDS = (
    "legal_name",
    "address",
    "tax_id",
    "email",
    "bank_details",
    "payment_terms_days",
    "xero_account_code",
    "xero_tax_type",
    "xero_tax_type_exempt",
)
# What an invoice prints of its issuer; the rest of the profile is configuration.
ISSUER_SNAPSHOT_FIELDS = ISSUER_FIELDS[:6]
DEFAULT_PAYMENT_TERMS_DAYS = 30
SUBJECT_FIELDS = ("invoice_name", "address", "tax_id", "email")


def issuer_snapshot(issuer: IssuerProfile) -> dict[str, Any]:
    """The issuer's details as an invoice keeps them (`Invoice.issuer`)."""
    return {field: getattr(issuer, field) for field in ISSUER_SNAPSHOT_FIELDS}


def issuer_default_snapshot(instance: Instance) -> dict[str, Any]:
    """What an invoice prints of its issuer while the instance has no issuer profile."""
    return {
        **dict.fromkeys(ISSUER_SNAPSHOT_FIELDS, ""),
        "legal_name": instance.name,
        "payment_terms_days": DEFAULT_PAYMENT_TERMS_DAYS,
    }


def issuer_snapshot_of(*, instance: Instance) -> dict[str, Any]:
    """The issuer snapshot of `instance` as it is now, with or without a profile."""
    profile = IssuerProfile.objects.filter(instance=instance).first()
    if profile is None:
        return issuer_default_snapshot(instance)
    return issuer_snapshot(profile)


def issuer_due_on(*, issuer: IssuerProfile | None, issued_on: dt.date) -> dt.date:
    """The due date of an invoice issued on `issued_on` under the payment terms."""
    days = (
        issuer.payment_terms_days if issuer is not None else DEFAULT_PAYMENT_TERMS_DAYS
    )
    return issued_on + dt.timedelta(days=days)


def issuer_profile_save(
    *, instance: Instance, actor, values: dict[str, Any]
) -> IssuerProfile:
    """Create or change `instance`'s issuer profile; audited with old and new values.

    Issuer details are the instance's, not anyone's personal data, and a changed bank
    account is what a fraud looks like, so the audit row keeps both values.
    """
    with transaction.atomic():
        issuer = (
            IssuerProfile.objects.select_for_update().filter(instance=instance).first()
        )
        created = issuer is None
        issuer = issuer or IssuerProfile(instance=instance)
        changes = _apply(issuer, values, ISSUER_FIELDS)
        if not changes and not created:
            return issuer
        issuer.save()
        drafts = []
        if created or set(changes) & set(ISSUER_SNAPSHOT_FIELDS):
            drafts = _refresh_drafts(
                Invoice.objects.filter(instance=instance),
                issuer=issuer_snapshot(issuer),
            )
        audit_record(
            action="issuer_profile.created" if created else "issuer_profile.updated",
            target=issuer,
            actor=actor,
            instance=instance,
            details={"changes": changes, "drafts": drafts},
        )
        transaction.on_commit(lambda: _queue_renders(drafts), robust=True)
    logger.info(
        "Issuer profile saved",
        extra={"instance": instance.slug, "fields": sorted(changes), "drafts": drafts},
    )
    return issuer


def billing_subject_update(
    *, subject: BillingSubject, actor, values: dict[str, Any]
) -> BillingSubject:
    """Change a subject's invoice details by hand; prefilling never overwrites them.

    The audit row names the fields, not their values: they are personal data.
    """
    with transaction.atomic():
        subject = BillingSubject.objects.select_for_update().get(pk=subject.pk)
        changes = _apply(subject, values, SUBJECT_FIELDS)
        if not changes:
            return subject
        subject.edited_by = actor
        subject.edited_at = timezone.now()
        subject.save(update_fields=[*changes, "edited_by", "edited_at", "updated_at"])
        drafts = _refresh_drafts(
            Invoice.objects.filter(
                instance_id=subject.instance_id, subject_key=subject.key
            ),
            subject_name=subject.invoice_name,
            subject_email=subject.email,
            subject_address=subject.address,
            subject_tax_id=subject.tax_id,
        )
        audit_record(
            action="billing_subject.edited",
            target=subject,
            actor=actor,
            instance=subject.instance,
            details={"fields": sorted(changes), "drafts": drafts},
        )
        transaction.on_commit(lambda: _queue_renders(drafts), robust=True)
    logger.info(
        "Billing subject edited",
        extra={
            "instance": subject.instance.slug,
            "subject": subject.key,
            "fields": sorted(changes),
            "drafts": drafts,
        },
    )
    return subject


def _apply(target, values: dict[str, Any], fields: tuple[str, ...]) -> dict:
    """Set `values` on `target`; the changed fields with their old and new values."""
    changes = {}
    for field in fields:
        if field in values and getattr(target, field) != values[field]:
            changes[field] = {"old": getattr(target, field), "new": values[field]}
            setattr(target, field, values[field])
    return changes


def _refresh_drafts(invoices, **details) -> list[int]:
    """Copy `details` onto the drafts among `invoices` and mark their PDFs outdated."""
    drafts = invoices.filter(status=Invoice.Status.DRAFT)
    ids = sorted(drafts.values_list("pk", flat=True))
    Invoice.objects.filter(pk__in=ids).update(
        **details, pdf_status=Invoice.PdfStatus.PENDING, updated_at=timezone.now()
    )
    return ids


def _queue_renders(invoice_ids: list[int]) -> None:
    # Imported here: the tasks module imports the services package.
    from ..tasks import invoice_render_task

    for invoice_id in invoice_ids:
        invoice_render_task.delay(invoice_id)
