from decimal import Decimal

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


class TierMeasure(models.TextChoices):
    NONE = "", "No tiers"
    TURNOVER = "turnover", "Turnover of the month"
    COMPLETED_ORDERS = "completed_orders", "Completed orders of the month"
    REGISTERED_CUSTOMERS = "registered_customers", "Registered customers of the shop"


class TierMode(models.TextChoices):
    # Volume: the tier the whole measure falls in prices all of it.
    VOLUME = "volume", "Volume (the tier reached prices everything)"
    # Graduated: each tier prices only the part of the measure inside its band.
    GRADUATED = "graduated", "Graduated (each band priced separately)"


class PricingPlan(TimeStampedModel):
    """One version of a plan: how an instance charges shops from `effective_from` on.

    Versions of the same plan share `code`; billing a day uses the version in force on
    that day, so re-billing a past month uses the plan as it was then. The components
    combine: fixed fee, share of turnover, per-order share with floor and ceiling, tiers
    on a measure, minimum billable turnover, monthly cap and minimum charge, trial days
    and one-off charges. OFN's own 2015-2019 formula is the special case with a fixed
    fee, a rate, a cap, a minimum billable turnover and tax.
    """

    instance = models.ForeignKey(
        "instances.Instance", on_delete=models.CASCADE, related_name="pricing_plans"
    )
    # Stable identifier of the plan across its versions (and in JSON files).
    code = models.SlugField(max_length=60, default="standard")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    effective_from = models.DateField()
    # ISO 4217; always the instance's currency (checked in clean()).
    currency = models.CharField(max_length=3, blank=True)
    applies_to = models.JSONField(
        default=default_categories,
        blank=True,
        help_text=(
            "Shop categories it bills by default: producer_shop, producer_hub, hub. "
            "Empty: only shops assigned to it."
        ),
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
    # The charge of a billable month never goes under this (prorated in part months).
    minimum_charge = money_field(
        null=True, blank=True, validators=[MinValueValidator(0)]
    )
    # Per-order share: each order's fee is rate x its total, clamped to [floor, ceiling]
    # before the order fees are summed (rule 5).
    per_order_rate = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        default=Decimal("0"),
        validators=[MinValueValidator(0)],
    )
    per_order_floor = money_field(
        null=True, blank=True, validators=[MinValueValidator(0)]
    )
    per_order_ceiling = money_field(
        null=True, blank=True, validators=[MinValueValidator(0)]
    )
    tier_measure = models.CharField(
        max_length=30, choices=TierMeasure.choices, default=TierMeasure.NONE, blank=True
    )
    tier_mode = models.CharField(
        max_length=20, choices=TierMode.choices, default=TierMode.VOLUME
    )

    class Meta:
        ordering = ["instance", "code", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "code", "effective_from"],
                name="pricing_plan_unique_version",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} (from {self.effective_from})"

    def clean(self) -> None:
        unknown = set(self.applies_to or []) - set(ALL_SHOP_CATEGORIES)
        if unknown:
            raise ValidationError(
                {"applies_to": f"Choose among {', '.join(ALL_SHOP_CATEGORIES)}."}
            )
        if (
            self.instance_id
            and self.currency
            and self.currency != self.instance.currency
        ):
            raise ValidationError(
                {"currency": f"{self.instance} bills in {self.instance.currency}."}
            )


class PlanTier(models.Model):
    """A band of a plan's tiers: from `lower_bound` (inclusive) to the next band."""

    plan = models.ForeignKey(
        PricingPlan, on_delete=models.CASCADE, related_name="tiers"
    )
    lower_bound = models.DecimalField(
        max_digits=14, decimal_places=4, validators=[MinValueValidator(0)]
    )
    flat_fee = money_field(default=Decimal("0"), validators=[MinValueValidator(0)])
    turnover_rate = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        default=Decimal("0"),
        validators=[MinValueValidator(0)],
    )
    # Price per unit of the measure (per order, per customer, per currency unit).
    unit_price = money_field(default=Decimal("0"), validators=[MinValueValidator(0)])

    class Meta:
        ordering = ["plan", "lower_bound"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "lower_bound"], name="plan_tier_unique_bound"
            )
        ]

    def __str__(self) -> str:
        return f"{self.plan}: from {self.lower_bound}"


class OneOffCharge(models.Model):
    """Charged once per shop, on its first invoice after the trial (member capital)."""

    plan = models.ForeignKey(
        PricingPlan, on_delete=models.CASCADE, related_name="one_off_charges"
    )
    code = models.SlugField(max_length=60)
    description = models.CharField(max_length=255)
    amount = money_field(validators=[MinValueValidator(0)])
    # False for charges outside the scope of tax, such as refundable member capital.
    taxable = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plan", "code"], name="one_off_unique_code")
        ]

    def __str__(self) -> str:
        return f"{self.description} ({self.amount})"


class ShopPlanAssignment(TimeStampedModel):
    """Bills one shop with another (e.g. negotiated) plan between two local dates."""

    instance = models.ForeignKey(
        "instances.Instance", on_delete=models.CASCADE, related_name="plan_assignments"
    )
    enterprise_id = models.IntegerField(help_text="The shop's enterprises.id in OFN")
    plan_code = models.SlugField(max_length=60)
    starts_on = models.DateField()
    # Inclusive; empty means open-ended.
    ends_on = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["instance", "enterprise_id", "starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="plan_assignment_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"Shop {self.enterprise_id} on {self.plan_code} from {self.starts_on}"
