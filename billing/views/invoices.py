"""Billing pages: one invoice, the orders behind one of its lines, and its actions.

Actions are POST forms (CSRF-protected) that call one lifecycle service and come back
to the invoice page with a message. Global admins and the instance's managers may act;
an accountant may also record payments. Other users get 404 (another instance) or 403.
"""

import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.views import View
from django.views.generic import TemplateView
from django_tables2 import RequestConfig

from portal.exceptions import PortalError
from portal.money import ZERO
from portal.tenancy import InstanceScopedMixin

from .. import selectors
from ..forms.lifecycle import FinaliseForm, MarkPaidForm, ReasonForm
from ..models import Invoice, InvoiceLine
from ..page_selectors import (
    invoice_history_list,
    invoice_line_get,
    invoice_page_get,
    line_order_frozen_list,
    user_manages_instance,
)
from ..services.lifecycle import (
    CREDITABLE,
    credit_note_issue,
    invoice_finalise,
    invoice_mark_paid,
    invoice_render_retry,
    invoice_void,
    line_order_fields,
)
from ..services.parties import issuer_snapshot_of
from ..tables import LineOrderTable, review_flags_html
from .runs import form_errors

logger = logging.getLogger(__name__)

# A draft line's orders come from the replica in one query of at most this many rows.
LINE_ORDERS_LIMIT = 500

Status = Invoice.Status

ACTION_LABELS = {
    "invoice.finalised": "Finalised",
    "invoice.paid": "Marked paid",
    "invoice.voided": "Voided",
    "invoice.credited": "Credited",
    "invoice.credit_note_issued": "Credit note issued",
    "invoice.render_retried": "PDF render retried",
    "invoice.pdf_rendered": "PDF rendered",
    "invoice.pdf_failed": "PDF render failed",
    "recompute_proposal.accepted_as_credit_note": "Difference accepted: credit note",
    "recompute_proposal.accepted_as_correction": "Difference accepted: correction",
    "recompute_proposal.dismissed": "Difference dismissed",
}


@dataclass
class ShopLines:
    """One shop's lines on the invoice page, with the figures they came from."""

    name: str
    turnover: Decimal
    order_count: int
    billable_days: int
    days_in_month: int
    lines: list[InvoiceLine] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def is_part_month(self) -> bool:
        return self.billable_days < self.days_in_month


def shop_groups(lines) -> list[ShopLines]:
    """Lines grouped per shop, shops in the order of their first line."""
    shops: dict[int, ShopLines] = {}
    for line in lines:
        shop = shops.get(line.enterprise_id)
        if shop is None:
            shop = shops[line.enterprise_id] = ShopLines(
                line.enterprise_name,
                line.turnover,
                line.order_count,
                line.billable_days,
                line.days_in_month,
            )
        shop.lines.append(line)
    return list(shops.values())


def tax_rows(invoice: Invoice) -> list[dict]:
    """Net and tax per rate: the invoice's breakdown, else its single rate."""
    figures = {
        rate: (Decimal(values["net"]), Decimal(values["tax"]))
        for rate, values in (invoice.tax_breakdown or {}).items()
    } or {str(invoice.tax_rate): (invoice.net, invoice.tax)}
    return [
        {
            "percent": f"{(Decimal(rate) * 100).normalize():f} %",
            "net": net,
            "tax": tax,
        }
        for rate, (net, tax) in sorted(figures.items(), key=lambda i: Decimal(i[0]))
    ]


def history_rows(events) -> list[dict]:
    return [
        {
            "event": event,
            "label": ACTION_LABELS.get(event.action, event.action),
            "details": ", ".join(
                f"{key.replace('_', ' ')}: {value}"
                for key, value in event.details.items()
                if value not in (None, "", [])
            ),
        }
        for event in events
    ]


def issuer_shown(invoice: Invoice, instance) -> dict:
    """The issuer frozen on the invoice; for a draft, the issuer as it is now."""
    return invoice.issuer or issuer_snapshot_of(instance=instance)


def invoice_actions(invoice: Invoice, *, can_manage: bool) -> dict[str, bool]:
    """Which action forms the invoice page offers, by state and role."""
    status, is_invoice = invoice.status, invoice.kind == Invoice.Kind.INVOICE
    return {
        "can_finalise": can_manage and status == Status.DRAFT,
        # Accountants record payments too.
        "can_mark_paid": status in (Status.FINALISED, Status.SENT),
        "can_void": can_manage
        and is_invoice
        and status in (Status.DRAFT, Status.FINALISED),
        "can_credit": can_manage and is_invoice and status in CREDITABLE,
        "can_retry_render": can_manage
        and invoice.pdf_status == Invoice.PdfStatus.FAILED,
    }


class InvoiceDetailView(InstanceScopedMixin, TemplateView):
    template_name = "billing/invoice_detail.html"

    def get_context_data(self, **kwargs):
        invoice = invoice_page_get(instance=self.instance, pk=self.kwargs["pk"])
        invoice.instance = self.instance
        can_manage = user_manages_instance(
            instance=self.instance, user=self.request.user
        )
        flags = invoice.review_flags
        return super().get_context_data(
            invoice=invoice,
            issuer=issuer_shown(invoice, self.instance),
            shops=shop_groups(invoice.lines.all()),
            tax_rows=tax_rows(invoice),
            history=history_rows(
                invoice_history_list(instance=self.instance, invoice=invoice)
            ),
            credit_notes=list(invoice.credit_notes.all()),
            review_flags=review_flags_html(flags) if flags else "",
            has_pdf=invoice.pdf_status == Invoice.PdfStatus.RENDERED
            and bool(invoice.pdf),
            **invoice_actions(invoice, can_manage=can_manage),
            **kwargs,
        )


class LineOrdersView(InstanceScopedMixin, TemplateView):
    """The orders behind a line: live from the replica for a draft, frozen after."""

    template_name = "billing/line_orders.html"

    def get_context_data(self, **kwargs):
        line = invoice_line_get(
            instance=self.instance,
            invoice_pk=self.kwargs["pk"],
            pk=self.kwargs["line_pk"],
        )
        invoice = line.invoice
        context = {"invoice": invoice, "line": line, "limit": LINE_ORDERS_LIMIT}
        if invoice.status == Status.DRAFT:
            rows, error = self._replica_rows(line)
            context.update(
                source="replica",
                error=error,
                bounded=len(rows) >= LINE_ORDERS_LIMIT
                and line.order_count > LINE_ORDERS_LIMIT,
            )
        else:
            rows = line_order_frozen_list(instance=self.instance, line=line)
            context["source"] = "frozen"
        table = LineOrderTable(
            rows, time_zone=self.instance.time_zone, currency=invoice.currency
        )
        paginate = {"per_page": LINE_ORDERS_LIMIT}
        RequestConfig(self.request, paginate=paginate).configure(table)
        return super().get_context_data(table=table, **context, **kwargs)

    def _replica_rows(self, line: InvoiceLine) -> tuple[list[dict], str]:
        if not (line.explanation or {}).get("window"):
            return [], ""
        try:
            orders = selectors.line_orders(
                instance=self.instance, line=line, limit=LINE_ORDERS_LIMIT
            )
            return [line_order_fields(order) for order in orders], ""
        except PortalError as error:
            logger.warning(
                "Line orders unreadable",
                extra={"instance": self.instance.slug, "line": line.pk},
            )
            return [], str(error)


class InvoiceActionView(InstanceScopedMixin, View):
    """POST an action form about one invoice, call one service, go back to the page.

    Subclasses set `form_class` and implement `act(invoice, form)`, returning the
    success message; a PortalError becomes an error message.
    """

    http_method_names = ["post"]
    form_class = ReasonForm
    managers_only = True

    def post(self, request, slug, pk):
        invoice = get_object_or_404(
            selectors.invoice_list(instance=self.instance), pk=pk
        )
        invoice.instance = self.instance
        if self.managers_only and not user_manages_instance(
            instance=self.instance, user=request.user
        ):
            raise PermissionDenied("Only the instance's managers may do this.")
        form = self.form_class(request.POST)
        target = invoice
        if not form.is_valid():
            messages.error(request, form_errors(form))
        else:
            try:
                text, target = self.act(invoice, form)
                messages.success(request, text)
            except PortalError as error:
                messages.error(request, str(error))
        return redirect(
            reverse("billing:invoice", kwargs={"slug": slug, "pk": target.pk})
        )

    def act(self, invoice: Invoice, form) -> tuple[str, Invoice]:
        raise NotImplementedError


class InvoiceFinaliseView(InvoiceActionView):
    form_class = FinaliseForm

    def act(self, invoice, form):
        done = invoice_finalise(
            invoice=invoice,
            actor=self.request.user,
            reason=form.cleaned_data["reason"],
        )
        return f"Finalised as {done.number}; its PDF is being rendered.", done


class InvoiceMarkPaidView(InvoiceActionView):
    form_class = MarkPaidForm
    managers_only = False

    def act(self, invoice, form):
        done = invoice_mark_paid(
            invoice=invoice,
            actor=self.request.user,
            paid_on=form.cleaned_data["paid_on"],
            reference=form.cleaned_data["reference"],
        )
        return f"{done.number} marked paid on {done.paid_on}.", done


class InvoiceVoidView(InvoiceActionView):
    def act(self, invoice, form):
        done = invoice_void(
            invoice=invoice,
            actor=self.request.user,
            reason=form.cleaned_data["reason"],
        )
        return f"{done} is void.", done


class InvoiceCreditNoteView(InvoiceActionView):
    def act(self, invoice, form):
        note = credit_note_issue(
            invoice=invoice,
            actor=self.request.user,
            reason=form.cleaned_data["reason"],
        )
        return f"Credit note {note.number} issued for {invoice.number}.", note


class InvoiceRenderRetryView(InvoiceActionView):
    form_class = FinaliseForm

    def act(self, invoice, form):
        done = invoice_render_retry(invoice=invoice, actor=self.request.user)
        return f"The PDF of {done} is queued for rendering again.", done


urlpatterns = [
    path("invoices/<int:pk>/", InvoiceDetailView.as_view(), name="invoice"),
    path(
        "invoices/<int:pk>/lines/<int:line_pk>/orders/",
        LineOrdersView.as_view(),
        name="invoice-line-orders",
    ),
    path(
        "invoices/<int:pk>/finalise/",
        InvoiceFinaliseView.as_view(),
        name="invoice-finalise",
    ),
    path(
        "invoices/<int:pk>/mark-paid/",
        InvoiceMarkPaidView.as_view(),
        name="invoice-mark-paid",
    ),
    path("invoices/<int:pk>/void/", InvoiceVoidView.as_view(), name="invoice-void"),
    path(
        "invoices/<int:pk>/credit-note/",
        InvoiceCreditNoteView.as_view(),
        name="invoice-credit-note",
    ),
    path(
        "invoices/<int:pk>/render/",
        InvoiceRenderRetryView.as_view(),
        name="invoice-render-retry",
    ),
]
