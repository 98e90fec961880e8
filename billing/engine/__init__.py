"""The plan engine: pure functions from plan versions and a shop's month to lines.

No database access here, so every rule can be tested with plain values. Rules followed
(see README, "Billing rules"): a line is one plan component for one shop, computed from
unrounded inputs and rounded once (rule 5); fixed fee, tier flat fees, minimum charge,
cap and minimum billable turnover are prorated by billable local days over the days in
the month, while percentages, per-order fees and tiers apply to the measure over the
billable days and tier bounds are never prorated (rule 6); under the minimum billable
turnover nothing is charged (rule 7); tax is computed once per invoice and rate.

A shop's month is split into segments, one per plan version billing some of its days
(see `shop_segments`); each segment is billed by `shop_lines` with its own measures.
"""

from .lines import MEASURE_WORDS, one_off_lines, shop_lines, tier_label
from .segments import Assignment, PlanCatalogue, Segment, ShopPlan, shop_segments
from .terms import InvoiceTotals, LineDraft, OneOff, PlanTerms, ShopMonth, Tier
from .totals import invoice_totals, lines_totals, tax_breakdown

__all__ = [
    "MEASURE_WORDS",
    "Assignment",
    "InvoiceTotals",
    "LineDraft",
    "OneOff",
    "PlanCatalogue",
    "PlanTerms",
    "Segment",
    "ShopMonth",
    "ShopPlan",
    "Tier",
    "invoice_totals",
    "lines_totals",
    "one_off_lines",
    "shop_lines",
    "shop_segments",
    "tax_breakdown",
    "tier_label",
]
