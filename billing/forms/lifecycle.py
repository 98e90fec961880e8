"""Forms of the invoice lifecycle actions: each validates one POST for one service."""

from django import forms

from ..models import Invoice

REASON_WIDGET = forms.Textarea(attrs={"rows": 2, "cols": 40})


class FinaliseSelectionForm(forms.Form):
    """The drafts of a run to finalise: the ticked ones, or all of them."""

    SCOPES = [("selected", "Finalise selected"), ("all", "Finalise all drafts")]

    scope = forms.ChoiceField(choices=SCOPES)
    invoices = forms.ModelMultipleChoiceField(
        queryset=Invoice.objects.none(), required=False
    )

    def __init__(self, *args, drafts, **kwargs):
        super().__init__(*args, **kwargs)
        # Only this run's drafts can be chosen: another instance's ids are invalid.
        self.drafts = drafts
        self.fields["invoices"].queryset = drafts

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("scope") == "selected" and not cleaned.get("invoices"):
            raise forms.ValidationError("Tick at least one draft to finalise.")
        return cleaned

    def chosen(self):
        if self.cleaned_data["scope"] == "all":
            return list(self.drafts)
        return list(self.cleaned_data["invoices"])


class FinaliseForm(forms.Form):
    reason = forms.CharField(required=False, max_length=500, widget=REASON_WIDGET)


class MarkPaidForm(forms.Form):
    paid_on = forms.DateField(
        label="Paid on", widget=forms.DateInput(attrs={"type": "date"})
    )
    reference = forms.CharField(label="Payment reference", max_length=120)


class ReasonForm(forms.Form):
    """Void, credit note or dismissal: each needs a reason in words."""

    reason = forms.CharField(max_length=500, widget=REASON_WIDGET)


class ProposalAcceptForm(forms.Form):
    as_ = forms.ChoiceField(
        choices=[
            ("credit_note", "Accept as credit note"),
            ("correction", "Accept as correction"),
        ]
    )
