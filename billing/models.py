from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from portal.models import TimeStampedModel

SHOP_CATEGORIES = [
    ("producer_shop", "Producer shop"),
    ("producer_hub", "Producer hub"),
    ("hub", "Hub"),
]
ALL_SHOP_CATEGORIES = [value for value, _ in SHOP_CATEGORIES]


def money_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=14, decimal_places=4, **kwargs)


def default_categories() -> list[str]:
    return list(ALL_SHOP_CATEGORIES)


class TurnoverBasis(models.TextChoices):
    TOTAL = "total", "Order total (incl. fees, shipping and tax)"
    TOTAL_EX_TAX = "total_ex_tax", "Order total without tax"
    ITEM_TOTAL = "item_total", "Products only (item total)"


class PricingPlan(TimeStampedModel):
    """How an instance charges its shops from `effective_from` on.

    It expresses OFN's own 2015-2019 formula: nothing when turnover is under the minimum
    billable turnover, else fixed fee + rate x turnover, capped per month, tax on top
    (or included). Re-billing a month uses the plan version in force on its first day.
    """

    instance = models.ForeignKey(
        "instances.Instance", on_delete=models.CASCADE, related_name="pricing_plans"
    )
    name = models.CharField(max_length=120)
    effective_from = models.DateField()
    applies_to = models.JSONField(
        default=default_categories,
        help_text="Shop categories it bills: producer_shop, producer_hub, hub.",
    )
    turnover_basis = models.CharField(
        max_length=20, choices=TurnoverBasis.choices, default=TurnoverBasis.TOTAL
    )
    fixed_fee = money_field(default=Decimal("0"), validators=[MinValueValidator(0)])
    turnover_rate = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        default=Decimal("0"),
        validators=[MinValueValidator(0)],
        help_text="Share of turnover as a fraction: 0.02 is 2 %.",
    )
    # Null means no cap. The cap applies to the monthly charge before tax.
    monthly_cap = money_field(null=True, blank=True, validators=[MinValueValidator(0)])
    # Turnover under this is charged nothing; at or above it the whole plan applies.
    minimum_billable_turnover = money_field(
        default=Decimal("0"), validators=[MinValueValidator(0)]
    )
    tax_rate = models.DecimalField(
        max_digits=6,
        decimal_places=4,
        default=Decimal("0"),
        validators=[MinValueValidator(0)],
        help_text="0.20 is 20 % VAT.",
    )
    prices_include_tax = models.BooleanField(default=False)
    trial_days = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["instance", "-effective_from", "name"]

    def __str__(self) -> str:
        return f"{self.name} (from {self.effective_from})"

    def clean(self) -> None:
        unknown = set(self.applies_to or []) - set(ALL_SHOP_CATEGORIES)
        if unknown or not self.applies_to:
            raise ValidationError(
                {"applies_to": f"Choose among {', '.join(ALL_SHOP_CATEGORIES)}."}
            )


class BillingRun(TimeStampedModel):
    """The computation of one instance's invoices for one local month (unique)."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"

    instance = models.ForeignKey(
        "instances.Instance", on_delete=models.CASCADE, related_name="billing_runs"
    )
    month = models.DateField(help_text="First day of the billed month.")
    status = models.CharField(max_length=20, choices=Status.choices)
    computed_at = models.DateTimeField(null=True, blank=True)
    computations = models.PositiveIntegerField(default=0)
    shops_billed = models.PositiveIntegerField(default=0)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["instance", "-month"]
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "month"], name="billing_run_unique_month"
            )
        ]

    def __str__(self) -> str:
        return f"{self.instance.slug} {self.month:%Y-%m}"


class Invoice(TimeStampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        FINALISED = "finalised", "Finalised"
        SENT = "sent", "Sent"
        PAID = "paid", "Paid"
        VOID = "void", "Void"

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
    month = models.DateField()
    # "external:<external_billing_id>" or "owner:<spree_users.id>"; never collide.
    subject_key = models.CharField(max_length=160)
    subject_name = models.CharField(max_length=255)
    subject_email = models.CharField(max_length=255, blank=True)
    plan = models.ForeignKey(
        PricingPlan, null=True, on_delete=models.PROTECT, related_name="invoices"
    )
    currency = models.CharField(max_length=3)
    tax_rate = models.DecimalField(max_digits=6, decimal_places=4)
    prices_include_tax = models.BooleanField(default=False)
    net = money_field()
    tax = money_field()
    gross = money_field()
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    number = models.CharField(max_length=40, null=True, blank=True, unique=True)
    # Fingerprint of the figures, so a re-run that changes nothing re-renders nothing.
    content_hash = models.CharField(max_length=64)
    pdf = models.FileField(upload_to="invoices/%Y/%m/", blank=True)
    pdf_status = models.CharField(
        max_length=20, choices=PdfStatus.choices, default=PdfStatus.PENDING
    )
    pdf_error = models.TextField(blank=True)
    pdf_rendered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["subject_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "subject_key", "month"],
                name="invoice_unique_subject_month",
            )
        ]

    def __str__(self) -> str:
        return self.number or f"Draft {self.subject_name} {self.month:%Y-%m}"


class InvoiceLine(models.Model):
    class Component(models.TextChoices):
        FIXED_FEE = "fixed_fee", "Fixed fee"
        TURNOVER_SHARE = "turnover_share", "Share of turnover"
        CAP = "cap", "Monthly cap"
        BELOW_MINIMUM = "below_minimum", "Below minimum billable turnover"
        TRIAL = "trial", "Free trial"

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    enterprise_id = models.IntegerField()
    enterprise_name = models.CharField(max_length=255)
    category = models.CharField(max_length=20)
    component = models.CharField(max_length=20, choices=Component.choices)
    description = models.CharField(max_length=255)
    # The rule that produced the amount, in words a shop owner can check.
    rule = models.TextField()
    turnover = money_field()
    order_count = models.PositiveIntegerField()
    billable_days = models.PositiveIntegerField()
    days_in_month = models.PositiveIntegerField()
    amount = money_field()

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "position"], name="invoice_line_unique_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_name}: {self.description}"
