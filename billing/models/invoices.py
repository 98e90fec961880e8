from django.db import models

from portal.models import TimeStampedModel

from .plans import PricingPlan, money_field
from .runs import BillingRun


class Invoice(TimeStampedModel):
    """An invoice or a credit note for one billing subject and month.

    Lifecycle (changed only by billing.services.lifecycle, audited in AuditEvent):
    draft -> finalised -> sent -> paid, or void; an invoice corrected by a credit note
    becomes "credited". Everything but the status fields is frozen once finalised.
    """

    class Kind(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        CREDIT_NOTE = "credit_note", "Credit note"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        FINALISED = "finalised", "Finalised"
        SENT = "sent", "Sent"
        PAID = "paid", "Paid"
        VOID = "void", "Void"
        CREDITED = "credited", "Credited"

    class PdfStatus(models.TextChoices):
        PENDING = "pending", "Waiting to render"
        RENDERING = "rendering", "Rendering"
        RENDERED = "rendered", "Rendered"
        FAILED = "failed", "Render failed"

    run = models.ForeignKey(
        BillingRun, on_delete=models.PROTECT, related_name="invoices"
    )
    instance = models.ForeignKey(
        "instances.Instance", on_delete=models.PROTECT, related_name="invoices"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.INVOICE)
    # For a credit note: the invoice it credits.
    credited_invoice = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_notes",
    )
    month = models.DateField()
    # "external:<external_billing_id>" or "owner:<spree_users.id>"; never collide.
    subject_key = models.CharField(max_length=160)
    # Subject and issuer details as printed; copied from BillingSubject/IssuerProfile
    # while a draft, frozen at finalisation.
    subject_name = models.CharField(max_length=255)
    subject_email = models.CharField(max_length=255, blank=True)
    subject_address = models.TextField(blank=True)
    subject_tax_id = models.CharField(max_length=64, blank=True)
    issuer = models.JSONField(default=dict, blank=True)
    plan = models.ForeignKey(
        PricingPlan, null=True, on_delete=models.PROTECT, related_name="invoices"
    )
    currency = models.CharField(max_length=3)
    # The main tax rate of the invoice; lines may carry another (e.g. 0 for capital).
    tax_rate = models.DecimalField(max_digits=6, decimal_places=4)
    prices_include_tax = models.BooleanField(default=False)
    net = money_field()
    tax = money_field()
    gross = money_field()
    # Tax per rate, e.g. {"0.2100": {"net": "65.00", "tax": "13.65"}} (rule 5).
    tax_breakdown = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    number = models.CharField(max_length=40, null=True, blank=True, unique=True)
    issued_on = models.DateField(null=True, blank=True)
    due_on = models.DateField(null=True, blank=True)
    paid_on = models.DateField(null=True, blank=True)
    payment_reference = models.CharField(max_length=120, blank=True)
    # Why the review flagged this draft (moved more than the threshold), in words.
    review_flags = models.JSONField(default=list, blank=True)
    # Fingerprint of the figures, so a re-run that changes nothing re-renders nothing.
    content_hash = models.CharField(max_length=64)
    pdf = models.FileField(upload_to="invoices/%Y/%m/", blank=True)
    pdf_status = models.CharField(
        max_length=20, choices=PdfStatus.choices, default=PdfStatus.PENDING
    )
    pdf_error = models.TextField(blank=True)
    pdf_rendered_at = models.DateTimeField(null=True, blank=True)
    pdf_render_started_at = models.DateTimeField(null=True, blank=True)
    # The exact bytes handed over when sent, and their SHA-256 (rule 9).
    sent_pdf = models.FileField(upload_to="sent/%Y/%m/", blank=True)
    sent_pdf_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["subject_name", "id"]
        constraints = [
            # One live invoice per subject and month (rule 4); credit notes and the
            # invoices they cancelled do not count.
            models.UniqueConstraint(
                fields=["instance", "subject_key", "month"],
                condition=models.Q(kind="invoice")
                & ~models.Q(status__in=["void", "credited"]),
                name="invoice_unique_subject_month",
            )
        ]
        indexes = [models.Index(fields=["instance", "status"])]

    def __str__(self) -> str:
        return self.number or f"Draft {self.subject_name} {self.month:%Y-%m}"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT


class InvoiceLine(models.Model):
    class Component(models.TextChoices):
        FIXED_FEE = "fixed_fee", "Fixed fee"
        TURNOVER_SHARE = "turnover_share", "Share of turnover"
        PER_ORDER = "per_order", "Per-order share"
        TIER = "tier", "Tier"
        CAP = "cap", "Monthly cap"
        MINIMUM_CHARGE = "minimum_charge", "Minimum charge"
        BELOW_MINIMUM = "below_minimum", "Below minimum billable turnover"
        TRIAL = "trial", "Free trial"
        ONE_OFF = "one_off", "One-off charge"
        CORRECTION = "correction", "Correction of an earlier invoice"
        CREDIT = "credit", "Credit"

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    enterprise_id = models.IntegerField()
    enterprise_name = models.CharField(max_length=255)
    category = models.CharField(max_length=20)
    component = models.CharField(max_length=20, choices=Component.choices)
    description = models.CharField(max_length=255)
    # The rule that produced the amount, in words a shop owner can check.
    rule = models.TextField()
    # Machine-readable explanation: plan version, inputs, measure window.
    explanation = models.JSONField(default=dict, blank=True)
    plan = models.ForeignKey(
        PricingPlan, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    turnover = money_field()
    order_count = models.PositiveIntegerField()
    billable_days = models.PositiveIntegerField()
    days_in_month = models.PositiveIntegerField()
    tax_rate = models.DecimalField(max_digits=6, decimal_places=4, default=0)
    amount = money_field()
    one_off_code = models.SlugField(max_length=60, blank=True)
    # A correction line carries the invoice whose difference it settles.
    corrects_invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "position"], name="invoice_line_unique_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_name}: {self.description}"


class InvoiceLineOrder(models.Model):
    """An OFN order behind a line, copied from the replica at finalisation."""

    line = models.ForeignKey(
        InvoiceLine, on_delete=models.CASCADE, related_name="orders"
    )
    order_id = models.IntegerField()
    number = models.CharField(max_length=15, blank=True)
    completed_at = models.DateTimeField()
    total = money_field()

    class Meta:
        ordering = ["line", "completed_at", "order_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["line", "order_id"], name="invoice_line_order_unique"
            )
        ]

    def __str__(self) -> str:
        return self.number or str(self.order_id)


class NumberSequence(models.Model):
    """Last number used per instance, series and year; locked while taking one."""

    class Series(models.TextChoices):
        INVOICE = "invoice", "Invoices"
        CREDIT_NOTE = "credit_note", "Credit notes"

    instance = models.ForeignKey(
        "instances.Instance", on_delete=models.CASCADE, related_name="+"
    )
    series = models.CharField(max_length=20, choices=Series.choices)
    year = models.PositiveIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "series", "year"], name="number_sequence_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.instance_id} {self.series} {self.year}: {self.last_number}"
