from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.views import View
from django.views.generic import TemplateView

from portal.exceptions import InvalidInput
from portal.periods import Month
from portal.tenancy import InstanceScopedMixin

from .models import BillingRun
from .selectors import invoice_list


class BillingRunDetailView(InstanceScopedMixin, TemplateView):
    template_name = "billing/run_detail.html"

    def get_context_data(self, **kwargs):
        try:
            month = Month.parse(self.kwargs["month"])
        except InvalidInput:
            raise Http404("No such month") from None
        run = get_object_or_404(
            BillingRun, instance=self.instance, month=month.first_day
        )
        invoices = invoice_list(instance=self.instance, run=run)
        return super().get_context_data(run=run, invoices=invoices, **kwargs)


class InvoicePdfView(InstanceScopedMixin, View):
    def get(self, request, slug, pk):
        invoice = get_object_or_404(invoice_list(instance=self.instance), pk=pk)
        if not invoice.pdf:
            raise Http404("This invoice has not been rendered yet")
        return FileResponse(
            invoice.pdf.open("rb"),
            content_type="application/pdf",
            filename=f"{invoice}.pdf",
            as_attachment=False,
        )
