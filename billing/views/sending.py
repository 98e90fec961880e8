"""Send actions: POST forms that queue invoice emails, then go back to the page.

Only global admins and the instance's managers may send; an accountant gets 403 and
a user without access to the instance 404 (InstanceScopedMixin).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.views import View

from portal.exceptions import InvalidInput
from portal.periods import Month
from portal.tenancy import InstanceScopedMixin

from ..forms.sending import InvoiceSendForm, RunSendForm
from ..models import Invoice
from ..page_selectors import user_manages_instance
from ..selectors import billing_run_list, invoice_list
from ..services.sending import SendRequest, invoice_send_request


class SendActionView(InstanceScopedMixin, View):
    http_method_names = ["post"]

    def check_manager(self) -> None:
        if not user_manages_instance(instance=self.instance, user=self.request.user):
            raise PermissionDenied("Only the instance's managers may send invoices.")


class RunSendView(SendActionView):
    """Queue the emails of a run's finalised invoices: the ticked ones, or all."""

    def post(self, request, slug, month):
        try:
            first_day = Month.parse(month).first_day
        except InvalidInput:
            raise Http404("No such month") from None
        run = get_object_or_404(
            billing_run_list(instance=self.instance), month=first_day
        )
        self.check_manager()
        finalised = invoice_list(instance=self.instance, run=run).filter(
            status=Invoice.Status.FINALISED
        )
        form = RunSendForm(request.POST, finalised=finalised)
        if form.is_valid():
            outcome = invoice_send_request(
                instance=self.instance, invoices=form.chosen(), actor=request.user
            )
            _outcome_messages(request, outcome)
        else:
            messages.error(request, "Choose finalised invoices of this run to send.")
        return redirect(
            reverse("billing:run", kwargs={"slug": slug, "month": f"{first_day:%Y-%m}"})
        )


class InvoiceSendView(SendActionView):
    """Queue one invoice's email, or send an already sent one again on purpose."""

    def post(self, request, slug, pk):
        invoice = get_object_or_404(invoice_list(instance=self.instance), pk=pk)
        self.check_manager()
        form = InvoiceSendForm(request.POST)
        if form.is_valid():
            outcome = invoice_send_request(
                instance=self.instance,
                invoices=[invoice],
                actor=request.user,
                resend=form.cleaned_data["resend"],
                reason=form.cleaned_data["reason"].strip(),
            )
            _outcome_messages(request, outcome)
        else:
            messages.error(request, " ".join(form.non_field_errors()))
        return redirect(reverse("billing:invoice", kwargs={"slug": slug, "pk": pk}))


def _outcome_messages(request, outcome: SendRequest) -> None:
    count = len(outcome.queued)
    if count:
        messages.success(
            request,
            f"{count} invoice email{'s' if count != 1 else ''} queued: the send log "
            "shows each hand-over.",
        )
    for reason, skipped in sorted(outcome.skipped.items()):
        messages.warning(
            request,
            f"{skipped} invoice{'s' if skipped != 1 else ''} not sent: {reason}.",
        )
    if not count and not outcome.skipped:
        messages.info(request, "There was no finalised invoice to send.")


urlpatterns = [
    path("runs/<str:month>/send/", RunSendView.as_view(), name="run-send"),
    path("invoices/<int:pk>/send/", InvoiceSendView.as_view(), name="invoice-send"),
]
