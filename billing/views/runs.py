import logging

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.views import View
from django.views.generic import TemplateView
from django_tables2 import RequestConfig

from portal.exceptions import InvalidInput, PortalError
from portal.periods import Month
from portal.tenancy import InstanceScopedMixin

from ..forms.lifecycle import FinaliseSelectionForm, ProposalAcceptForm, ReasonForm
from ..models import Invoice, RecomputeProposal
from ..page_selectors import (
    billing_run_summary_list,
    invoice_summary_list,
    recompute_proposal_open_list,
    user_manages_instance,
)
from ..selectors import billing_run_list, invoice_list
from ..services.lifecycle import (
    invoice_finalise_many,
    proposal_accept,
    proposal_dismiss,
)
from ..tables import FINALISE_FORM_ID, InvoiceTable

logger = logging.getLogger(__name__)

INVOICES_PER_PAGE = 25


class BillingRunDetailView(InstanceScopedMixin, TemplateView):
    template_name = "billing/run_detail.html"

    def get_context_data(self, **kwargs):
        run = get_object_or_404(
            billing_run_summary_list(instance=self.instance),
            month=_month(self.kwargs["month"]).first_day,
        )
        table = InvoiceTable(
            invoice_summary_list(instance=self.instance, run=run),
            instance_slug=self.instance.slug,
        )
        paginate = {"per_page": INVOICES_PER_PAGE}
        RequestConfig(self.request, paginate=paginate).configure(table)
        return super().get_context_data(
            run=run,
            table=table,
            finalise_form_id=FINALISE_FORM_ID,
            proposals=list(
                recompute_proposal_open_list(instance=self.instance, run=run)
            ),
            can_manage=user_manages_instance(
                instance=self.instance, user=self.request.user
            ),
            **kwargs,
        )


def _month(text: str) -> Month:
    try:
        return Month.parse(text)
    except InvalidInput:
        raise Http404("No such month") from None


def form_errors(form) -> str:
    """A bound form's errors as one message line."""
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


class ManagerActionView(InstanceScopedMixin, View):
    """A POST-only action on the instance's billing that only its managers may take."""

    http_method_names = ["post"]

    def check_manager(self) -> None:
        if not user_manages_instance(instance=self.instance, user=self.request.user):
            raise PermissionDenied("Only the instance's managers may do this.")


class RunFinaliseView(ManagerActionView):
    """Finalise the ticked drafts of a run, or all of them, in subject order."""

    def post(self, request, slug, month):
        run = get_object_or_404(
            billing_run_list(instance=self.instance), month=_month(month).first_day
        )
        self.check_manager()
        drafts = (
            invoice_list(instance=self.instance, run=run)
            .filter(status=Invoice.Status.DRAFT)
            .select_related("instance")
        )
        form = FinaliseSelectionForm(request.POST, drafts=drafts)
        if not form.is_valid():
            messages.error(request, form_errors(form))
        else:
            outcome = invoice_finalise_many(invoices=form.chosen(), actor=request.user)
            _finalise_messages(request, outcome)
        return redirect(run_url(run))


def _finalise_messages(request, outcome) -> None:
    if outcome.finalised:
        numbers = ", ".join(invoice.number for invoice in outcome.finalised)
        count = len(outcome.finalised)
        messages.success(
            request,
            f"Finalised {count} invoice{'s' if count != 1 else ''}: {numbers}.",
        )
    for invoice, error in outcome.failed:
        messages.error(request, f"{invoice.subject_name}: not finalised. {error}")
    if not outcome.finalised and not outcome.failed:
        messages.info(request, "There was no draft to finalise.")


def run_url(run) -> str:
    return reverse(
        "billing:run",
        kwargs={"slug": run.instance.slug, "month": f"{run.month:%Y-%m}"},
    )


class ProposalActionView(ManagerActionView):
    """Decide a recompute proposal of one of the instance's runs."""

    form_class = ReasonForm

    def post(self, request, slug, pk):
        proposal = get_object_or_404(
            RecomputeProposal.objects.filter(
                invoice__instance=self.instance
            ).select_related("run", "invoice"),
            pk=pk,
        )
        proposal.run.instance = self.instance
        proposal.invoice.instance = self.instance
        self.check_manager()
        form = self.form_class(request.POST)
        if not form.is_valid():
            messages.error(request, form_errors(form))
            return redirect(run_url(proposal.run))
        try:
            messages.success(request, self.act(proposal, form))
        except PortalError as error:
            messages.error(request, str(error))
        return redirect(run_url(proposal.run))

    def act(self, proposal, form) -> str:
        raise NotImplementedError


class ProposalAcceptView(ProposalActionView):
    form_class = ProposalAcceptForm

    def act(self, proposal, form) -> str:
        how = form.cleaned_data["as_"]
        decided = proposal_accept(proposal=proposal, actor=self.request.user, as_=how)
        return f"{decided.enterprise_name}: {decided.get_status_display().lower()}."


class ProposalDismissView(ProposalActionView):
    def act(self, proposal, form) -> str:
        decided = proposal_dismiss(
            proposal=proposal,
            actor=self.request.user,
            reason=form.cleaned_data["reason"],
        )
        return f"{decided.enterprise_name}: difference dismissed."


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
    path("runs/<str:month>/finalise/", RunFinaliseView.as_view(), name="run-finalise"),
    path(
        "proposals/<int:pk>/accept/",
        ProposalAcceptView.as_view(),
        name="proposal-accept",
    ),
    path(
        "proposals/<int:pk>/dismiss/",
        ProposalDismissView.as_view(),
        name="proposal-dismiss",
    ),
    path("invoices/<int:pk>/pdf/", InvoicePdfView.as_view(), name="invoice-pdf"),
]
