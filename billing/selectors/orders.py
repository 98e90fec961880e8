"""The orders behind a line, and orders as they are now for a recompute (replica)."""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    Q,
)

from instances.models import Instance, Order
from instances.replicas import register_replica, replica_errors
from portal.money import ofn_column_sum

from ..models import (
    InvoiceLine,
    TurnoverBasis,
)
from .measures import BASIS_AMOUNTS, window_q


def window_orders(
    *, instance: Instance, window: dict, limit: int | None = 500
) -> list[dict]:
    """The orders of a measure window, oldest first, at most `limit` (None: all).

    Each row has `order_id`, `number`, `completed_at` and `total`, the order's amount
    on the window's basis (its `spree_orders.total` unless the plan bills another).
    """
    alias = register_replica(instance)
    orders = (
        Order.objects.using(alias)
        .filter(window_q(window))
        .annotate(amount=BASIS_AMOUNTS[window.get("basis") or TurnoverBasis.TOTAL])
        .order_by("completed_at", "id")
        .values_list("id", "number", "completed_at", "amount")
    )
    if limit is not None:
        orders = orders[:limit]
    with replica_errors(instance):
        return [
            {
                "order_id": order_id,
                "number": number or "",
                "completed_at": completed_at,
                "total": ofn_column_sum(amount),
            }
            for order_id, number, completed_at, amount in orders
        ]


def line_orders(
    *, instance: Instance, line: InvoiceLine, limit: int | None = 500
) -> list[dict]:
    """The replica orders behind an invoice line, in one bounded query.

    Read from the measure window in the line's explanation; a line without one (a
    one-off charge, a correction) has no orders behind it.
    """
    window = (line.explanation or {}).get("window")
    if not window:
        return []
    return window_orders(instance=instance, window=window, limit=limit)


@dataclass(frozen=True)
class OrderNow:
    """An order as the replica holds it now, for explaining a recompute."""

    order_id: int
    number: str
    shop_id: int | None
    state: str
    completed_at: dt.datetime | None
    amounts: dict

    def amount(self, basis: str) -> Decimal:
        return self.amounts[basis]


def orders_now(
    *, instance: Instance, order_ids: Iterable[int], windows: Iterable[dict], limit=1000
) -> list[OrderNow]:
    """Orders by id or in any of `windows`, as they are now: one bounded query."""
    ids = sorted(set(order_ids))
    condition = Q(id__in=ids) if ids else Q(pk__in=[])
    for window in windows:
        condition |= window_q(window)
    alias = register_replica(instance)
    rows = (
        Order.objects.using(alias)
        .filter(condition)
        .annotate(
            **{f"amount_{basis}": BASIS_AMOUNTS[basis] for basis in BASIS_AMOUNTS}
        )
        .order_by("completed_at", "id")
        .values(
            "id",
            "number",
            "distributor_id",
            "state",
            "completed_at",
            *(f"amount_{basis}" for basis in BASIS_AMOUNTS),
        )[:limit]
    )
    with replica_errors(instance):
        rows = list(rows)
    return [
        OrderNow(
            order_id=row["id"],
            number=row["number"] or str(row["id"]),
            shop_id=row["distributor_id"],
            state=row["state"] or "",
            completed_at=row["completed_at"],
            amounts={
                basis: ofn_column_sum(row[f"amount_{basis}"]) for basis in BASIS_AMOUNTS
            },
        )
        for row in rows
    ]
