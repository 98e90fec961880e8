from .delivery import Delivery
from .invoices import Invoice, InvoiceLine, InvoiceLineOrder, NumberSequence
from .parties import BillingSubject, IssuerProfile
from .plans import (
    ALL_SHOP_CATEGORIES,
    SHOP_CATEGORIES,
    OneOffCharge,
    PlanTier,
    PricingPlan,
    ShopPlanAssignment,
    TierMeasure,
    TierMode,
    TurnoverBasis,
    default_categories,
    money_field,
)
from .runs import BillingRun, RecomputeProposal

__all__ = [
    "ALL_SHOP_CATEGORIES",
    "SHOP_CATEGORIES",
    "BillingRun",
    "BillingSubject",
    "Delivery",
    "Invoice",
    "InvoiceLine",
    "InvoiceLineOrder",
    "IssuerProfile",
    "NumberSequence",
    "OneOffCharge",
    "PlanTier",
    "PricingPlan",
    "RecomputeProposal",
    "ShopPlanAssignment",
    "TierMeasure",
    "TierMode",
    "TurnoverBasis",
    "default_categories",
    "money_field",
]
