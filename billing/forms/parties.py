"""Forms of the invoice details: the issuer profile and a billing subject."""

from django import forms

from ..models import BillingSubject, IssuerProfile
from ..services.parties import ISSUER_FIELDS, SUBJECT_FIELDS

ADDRESS_WIDGET = forms.Textarea(attrs={"rows": 4, "cols": 48})


class IssuerProfileForm(forms.ModelForm):
    """Validates an issuer profile; billing.services.parties saves it."""

    class Meta:
        model = IssuerProfile
        fields = ISSUER_FIELDS
        labels = {
            "legal_name": "Legal name",
            "tax_id": "Tax ID",
            "bank_details": "Bank details",
            "payment_terms_days": "Payment terms (days after issue)",
            "xero_account_code": "Xero account code",
            "xero_tax_type": "Xero tax type of taxed lines",
            "xero_tax_type_exempt": "Xero tax type of untaxed lines",
        }
        widgets = {
            "address": ADDRESS_WIDGET,
            "bank_details": forms.Textarea(attrs={"rows": 3, "cols": 48}),
        }

    def changes(self) -> dict:
        return {field: self.cleaned_data[field] for field in ISSUER_FIELDS}


class BillingSubjectForm(forms.ModelForm):
    """Validates a subject's invoice details; billing.services.parties saves them."""

    class Meta:
        model = BillingSubject
        fields = SUBJECT_FIELDS
        labels = {
            "invoice_name": "Invoice name",
            "tax_id": "Tax ID",
            "email": "Invoice email",
        }
        widgets = {"address": ADDRESS_WIDGET}

    def changes(self) -> dict:
        return {field: self.cleaned_data[field] for field in SUBJECT_FIELDS}


class SubjectSearchForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=100)
