"""Accountant exports: the invoices CSV and the Xero import file (rule 10).

Every member of the instance may download them. Drafts are never in them. The
subject's email is masked for people who do not send invoices (rule 11).
"""

import logging

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.urls import path
from django.views.generic import TemplateView

from portal.exceptions import BillingError
from portal.tenancy import InstanceScopedMixin

from ..exports import ExportFormat, invoice_export
from ..forms.exports import ExportForm
from ..page_selectors import user_manages_instance

logger = logging.getLogger(__name__)


class ExportsView(InstanceScopedMixin, TemplateView):
    """The export form; its two buttons download the CSV or the Xero file."""

    template_name = "billing/exports.html"

    def get_context_data(self, **kwargs):
        kwargs.setdefault("form", ExportForm(initial=self.request.GET or None))
        return super().get_context_data(formats=ExportFormat, **kwargs)


class ExportDownloadView(ExportsView):
    """`exports/<format>.csv?month=YYYY-MM&issued_from=...&issued_to=...`."""

    def get(self, request, *args, **kwargs):
        export_format = kwargs["export_format"]
        if export_format not in ExportFormat.values:
            raise Http404("No such export format")
        form = ExportForm(request.GET)
        if not form.is_valid():
            context = self.get_context_data(form=form)
            return self.render_to_response(context, status=400)
        try:
            export = invoice_export(
                instance=self.instance,
                scope=form.cleaned_data["scope"],
                export_format=export_format,
                reveal_personal=user_manages_instance(
                    instance=self.instance, user=request.user
                ),
            )
        except BillingError as error:
            messages.error(request, str(error))
            return self.render_to_response(self.get_context_data(form=form), status=409)
        logger.info(
            "Invoice export downloaded",
            extra={
                "instance": self.instance.slug,
                "user": request.user.pk,
                "format": export_format,
                "documents": export.documents,
            },
        )
        response = HttpResponse(export.content, content_type=export.content_type)
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        response["Cache-Control"] = "no-store"
        return response


urlpatterns = [
    path("exports/", ExportsView.as_view(), name="exports"),
    path(
        "exports/<str:export_format>.csv",
        ExportDownloadView.as_view(),
        name="export-download",
    ),
]
