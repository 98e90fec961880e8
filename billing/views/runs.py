import logging

from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import path
from django.views import View
from django.views.generic import TemplateView
from django_tables2 import RequestConfig

from portal.exceptions import InvalidInput
from portal.periods import Month
from portal.tenancy import InstanceScopedMixin

from ..models import Invoice
from ..page_selectors import billing_run_summary_list, invoice_summary_list
from ..selectors import invoice_list
from ..tables import InvoiceTable

logger = logging.getLogger(__name__)

INVOICES_PER_PAGE = 25


class BillingRunDetailView(InstanceScopedMixin, TemplateView):
    template_name = "billing/run_detail.html"

    def get_context_data(self, **kwargs):
        try:
            month = Month.parse(self.kwargs["month"])
        except InvalidInput:
            raise Http404("No such month") from None
        run = get_object_or_404(
            billing_run_summary_list(instance=self.instance), month=month.first_day
        )
        table = InvoiceTable(
            invoice_summary_list(instance=self.instance, run=run),
            instance_slug=self.instance.slug,
        )
        paginate = {"per_page": INVOICES_PER_PAGE}
        RequestConfig(self.request, paginate=paginate).configure(table)
        return super().get_context_data(run=run, table=table, **kwargs)


class InvoicePdfView(InstanceScopedMixin, View):
    """The rendered PDF, shown inline by the browser; 404 until it is rendered."""

    def get(self, request, slug, pk):
        invoice = get_object_or_404(invoice_list(instance=self.instance), pk=pk)
        if invoice.pdf_status != Invoice.PdfStatus.RENDERED or not invoice.pdf:
            raise Http404("This invoice has not been rendered yet")
        try:
            pdf = invoice.pdf.open("rb")
        except FileNotFoundError:
            logger.warning(
                "Invoice PDF file missing",
                extra={"instance": self.instance.slug, "invoice": invoice.pk},
            )
            raise Http404("This invoice's PDF file is missing") from None
        return FileResponse(
            pdf,
            content_type="application/pdf",
            filename=f"{invoice}.pdf",
            as_attachment=False,
        )


urlpatterns = [
    path("runs/<str:month>/", BillingRunDetailView.as_view(), name="run"),
    path("invoices/<int:pk>/pdf/", InvoicePdfView.as_view(), name="invoice-pdf"),
]
