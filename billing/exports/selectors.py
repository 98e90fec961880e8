"""What an accountant export holds: issued invoices and credit notes, no drafts."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from instances.models import Instance
from portal.exceptions import InvalidInput
from portal.periods import Month

from ..models import Invoice, InvoiceLine, IssuerProfile


@dataclass(frozen=True)
class ExportScope:
    """Which invoices an export holds: a billing month, an issue-date range, or both.

    Both bounds of the range are inclusive local dates, as an accountant writes them.
    """

    month: Month | None = None
    issued_from: dt.date | None = None
    issued_to: dt.date | None = None

    def __post_init__(self):
        if self.month is None and self.issued_from is None and self.issued_to is None:
            raise InvalidInput("Choose a month or an issue-date range to export.")
        if self.issued_from and self.issued_to and self.issued_from > self.issued_to:
            raise InvalidInput(
                f"The range starts on {self.issued_from:%Y-%m-%d}, after its end "
                f"{self.issued_to:%Y-%m-%d}: swap the dates."
            )

    @property
    def label(self) -> str:
        """For file names: `2026-11`, `2026-12-01_2026-12-31`, or both."""
        parts = [str(self.month)] if self.month else []
        if self.issued_from or self.issued_to:
            start = f"{self.issued_from:%Y-%m-%d}" if self.issued_from else "start"
            end = f"{self.issued_to:%Y-%m-%d}" if self.issued_to else "today"
            parts.append(f"{start}_{end}")
        return "_".join(parts)


def export_invoice_list(*, instance: Instance, scope: ExportScope) -> QuerySet[Invoice]:
    """The issued invoices and credit notes of `scope`, in number order, with lines.

    Drafts are excluded: they have no number and may still change. Finalised, sent,
    paid, void and credited documents are all included, each with its status.
    """
    invoices = Invoice.objects.filter(instance=instance).exclude(
        status=Invoice.Status.DRAFT
    )
    if scope.month is not None:
        invoices = invoices.filter(month=scope.month.first_day)
    if scope.issued_from is not None:
        invoices = invoices.filter(issued_on__gte=scope.issued_from)
    if scope.issued_to is not None:
        invoices = invoices.filter(issued_on__lte=scope.issued_to)
    return (
        invoices.select_related("credited_invoice")
        .prefetch_related(
            Prefetch("lines", queryset=InvoiceLine.objects.order_by("position"))
        )
        .order_by("issued_on", "number", "id")
    )


def export_issuer(*, instance: Instance) -> IssuerProfile:
    """The instance's issuer profile, or an unsaved one with the default Xero codes."""
    issuer = IssuerProfile.objects.filter(instance=instance).first()
    if issuer is None:
        return IssuerProfile(instance=instance, legal_name=instance.name)
    issuer.instance = instance  # already loaded: no second query for it
    return issuer
