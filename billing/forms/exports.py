"""The accountant export form: a billing month, an issue-date range, or both."""

from django import forms

from portal.exceptions import InvalidInput
from portal.periods import Month

from ..exports import ExportScope


class ExportForm(forms.Form):
    month = forms.CharField(
        label="Billing month",
        required=False,
        help_text="YYYY-MM",
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "2026-11"}),
    )
    issued_from = forms.DateField(
        label="Issued from",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    issued_to = forms.DateField(
        label="Issued to",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean_month(self):
        text = self.cleaned_data["month"].strip()
        if not text:
            return None
        try:
            return Month.parse(text)
        except InvalidInput as error:
            raise forms.ValidationError(str(error)) from None

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            cleaned["scope"] = ExportScope(
                month=cleaned.get("month"),
                issued_from=cleaned.get("issued_from"),
                issued_to=cleaned.get("issued_to"),
            )
        except InvalidInput as error:
            raise forms.ValidationError(str(error)) from None
        return cleaned
