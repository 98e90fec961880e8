"""The figures of a plan version and of a shop's month, and the lines they give.

Plain values detached from the database: billing.selectors builds them from models.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from portal.money import ZERO

from ..models import ALL_SHOP_CATEGORIES, TierMeasure, TierMode


@dataclass(frozen=True)
class Tier:
    """A band of tiers, from `lower_bound` (inclusive) up to the next band's bound."""

    lower_bound: Decimal
    flat_fee: Decimal = ZERO
    turnover_rate: Decimal = ZERO
    unit_price: Decimal = ZERO


@dataclass(frozen=True)
class OneOff:
    code: str
    description: str
    amount: Decimal
    taxable: bool = True


@dataclass(frozen=True)
class PlanTerms:
    """The figures of one plan version, detached from the database."""

    label: str
    currency: str
    fixed_fee: Decimal
    turnover_rate: Decimal
    monthly_cap: Decimal | None
    minimum_billable_turnover: Decimal
    tax_rate: Decimal
    prices_include_tax: bool
    plan_id: int | None = None
    code: str = ""
    name: str = ""
    effective_from: dt.date | None = None
    applies_to: tuple[str, ...] = tuple(ALL_SHOP_CATEGORIES)
    turnover_basis: str = "total"
    trial_days: int = 0
    minimum_charge: Decimal | None = None
    per_order_rate: Decimal = ZERO
    per_order_floor: Decimal | None = None
    per_order_ceiling: Decimal | None = None
    tier_measure: str = TierMeasure.NONE
    tier_mode: str = TierMode.VOLUME
    tiers: tuple[Tier, ...] = ()
    one_offs: tuple[OneOff, ...] = ()

    @property
    def has_per_order(self) -> bool:
        return self.per_order_rate > 0 or (self.per_order_floor or ZERO) > 0

    @property
    def version(self) -> dict:
        """The plan version as the explanation of a line names it."""
        return {
            "id": self.plan_id,
            "code": self.code,
            "name": self.name,
            "effective_from": (
                self.effective_from.isoformat() if self.effective_from else None
            ),
        }

    def trial_ends_on(self, became_shop_on: dt.date | None) -> dt.date | None:
        """The last free local day of a shop that became one on `became_shop_on`."""
        if not self.trial_days or became_shop_on is None:
            return None
        return became_shop_on + dt.timedelta(self.trial_days - 1)


@dataclass(frozen=True)
class ShopMonth:
    """One shop's billable days under one plan version, and its measures over them."""

    enterprise_id: int
    name: str
    category: str
    billable_days: int
    days_in_month: int
    turnover: Decimal
    order_count: int
    trial_ends_on: dt.date | None = None
    # Sum of each order's unrounded, clamped per-order fee (computed in SQL).
    per_order_fees: Decimal = ZERO
    # Registered customers of the shop at the month's end.
    customers: int = 0
    became_shop_on: dt.date | None = None
    # Position of this plan segment among the shop's segments of the month.
    segment: int = 0
    # The orders measured: {"shop", "ranges", "states", "basis"} (see selectors).
    window: dict | None = None

    @property
    def share_of_month(self) -> Decimal:
        return Decimal(self.billable_days) / Decimal(self.days_in_month)

    @property
    def is_part_month(self) -> bool:
        return self.billable_days < self.days_in_month


@dataclass(frozen=True)
class LineDraft:
    component: str
    description: str
    rule: str
    amount: Decimal
    tax_rate: Decimal = ZERO
    explanation: dict = field(default_factory=dict, compare=False)
    one_off_code: str = ""


@dataclass(frozen=True)
class InvoiceTotals:
    net: Decimal
    tax: Decimal
    gross: Decimal
    # {"0.2100": {"net": "65.00", "tax": "13.65"}}: figures per tax rate (rule 5).
    breakdown: dict = field(default_factory=dict, compare=False)
