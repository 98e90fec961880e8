"""Reads for billing: plans on the portal database, shops and measures on the replica.

Replica reads are a fixed number of queries whatever the number of shops or orders:
one for the shops, one for their `versions` history, one aggregate for the order
measures of every plan segment (turnover, orders and per-order fees), one for
registered customers when a plan tiers on them, and one for the owners' details.
Reading the orders behind a line is one bounded query.
"""

from .invoices import (
    DEAD_STATUSES,
    RunReview,
    billing_run_list,
    invoice_list,
    live_invoice_list,
    run_review,
)
from .measures import (
    BASIS_AMOUNTS,
    PerOrder,
    SegmentSales,
    ShopSales,
    measure_window,
    registered_customers,
    segment_sales,
    shop_sales,
    uses_customers,
    window_q,
)
from .orders import OrderNow, line_orders, orders_now, window_orders
from .plans import one_offs_charged, plan_catalogue, plan_terms, pricing_plan_for_month
from .shops import OwnerDetails, ShopRecord, owner_details, shop_records

__all__ = [
    "BASIS_AMOUNTS",
    "DEAD_STATUSES",
    "OrderNow",
    "OwnerDetails",
    "PerOrder",
    "RunReview",
    "SegmentSales",
    "ShopRecord",
    "ShopSales",
    "billing_run_list",
    "invoice_list",
    "line_orders",
    "live_invoice_list",
    "measure_window",
    "one_offs_charged",
    "orders_now",
    "owner_details",
    "plan_catalogue",
    "plan_terms",
    "pricing_plan_for_month",
    "registered_customers",
    "run_review",
    "segment_sales",
    "shop_records",
    "shop_sales",
    "uses_customers",
    "window_orders",
    "window_q",
]
