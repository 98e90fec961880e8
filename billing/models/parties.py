from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from portal.models import TimeStampedModel


class IssuerProfile(TimeStampedModel):
    """Who issues an instance's invoices, how they are paid, and accounting codes."""

    instance = models.OneToOneField(
        "instances.Instance", on_delete=models.CASCADE, related_name="issuer"
    )
    legal_name = models.CharField(max_length=255)
    address = models.TextField(blank=True)
    tax_id = models.CharField(max_length=64, blank=True)
    email = models.EmailField(blank=True, help_text="Sender and reply-to of invoices")
    bank_details = models.TextField(blank=True, help_text="IBAN, BIC, sort code...")
    payment_terms_days = models.PositiveIntegerField(default=30)
    # Xero sales-invoice import: account code and tax types of taxed/untaxed lines.
    xero_account_code = models.CharField(max_length=20, default="200")
    xero_tax_type = models.CharField(max_length=40, default="OUTPUT")
    xero_tax_type_exempt = models.CharField(max_length=40, default="EXEMPTOUTPUT")
    # Monthly drafts are computed on this day and hour, in the instance's own zone.
    monthly_run_day = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(28)]
    )
    monthly_run_hour = models.PositiveSmallIntegerField(
        default=6, validators=[MaxValueValidator(23)]
    )
    # A draft moving by more than this share from the previous month is flagged.
    review_change_threshold = models.DecimalField(
        max_digits=5, decimal_places=4, default=Decimal("0.25")
    )

    def __str__(self) -> str:
        return self.legal_name


class BillingSubject(TimeStampedModel):
    """Invoice details of a billing subject, prefilled from OFN and editable here."""

    instance = models.ForeignKey(
        "instances.Instance", on_delete=models.CASCADE, related_name="billing_subjects"
    )
    # "external:<external_billing_id>" or "owner:<spree_users.id>" (rule 4).
    key = models.CharField(max_length=160)
    invoice_name = models.CharField(max_length=255)
    address = models.TextField(blank=True)
    tax_id = models.CharField(max_length=64, blank=True)
    email = models.EmailField(blank=True)
    # Set when a person edited the details; prefilling never overwrites them after.
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["instance", "invoice_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "key"], name="billing_subject_unique_key"
            )
        ]

    def __str__(self) -> str:
        return self.invoice_name
