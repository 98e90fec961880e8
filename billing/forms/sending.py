"""Forms of the send actions: which invoices of a run to send, and resending one."""

from django import forms

from ..models import Invoice


class RunSendForm(forms.Form):
    """The run's finalised invoices to send: the ticked ones, or all of them."""

    invoices = forms.ModelMultipleChoiceField(
        queryset=Invoice.objects.none(), required=False
    )

    def __init__(self, *args, finalised, **kwargs):
        super().__init__(*args, **kwargs)
        # Only this run's finalised invoices can be chosen: other ids are invalid.
        self.finalised = finalised
        self.fields["invoices"].queryset = finalised

    def chosen(self) -> list[Invoice]:
        return list(self.cleaned_data["invoices"] or self.finalised)


class InvoiceSendForm(forms.Form):
    """Send one invoice; sending again one already sent needs a reason."""

    resend = forms.BooleanField(required=False)
    reason = forms.CharField(required=False, max_length=500)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("resend") and not cleaned.get("reason", "").strip():
            raise forms.ValidationError(
                "Say why the invoice is sent again (e.g. the address was corrected)."
            )
        return cleaned
