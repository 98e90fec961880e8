"""Measure windows and the order measures of every plan segment (replica).

One aggregate query for every measure taken on orders (turnover, order count,
per-order fees), one for registered customers.
"""

import datetime as dt
import functools
import operator
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    DateField,
    DecimalField,
    F,
    Max,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, Least

from insights.selectors import LocalDate
from instances.models import Customer, Instance, Order
from instances.models.ofn import TURNOVER_STATES
from instances.replicas import register_replica, replica_errors
from portal.money import ZERO, ofn_column_sum
from portal.periods import Month, day_range_utc, local_date, month_bounds_utc

from .. import engine
from ..models import (
    TierMeasure,
    TurnoverBasis,
)

_MONEY = DecimalField(max_digits=14, decimal_places=2)
# Per-order fees keep their unrounded digits: rate (6 places) x amount (2 places).
_FEES = DecimalField(max_digits=24, decimal_places=8)


BASIS_AMOUNTS = {
    TurnoverBasis.TOTAL: F("total"),
    TurnoverBasis.TOTAL_EX_TAX: F("total")
    - F("included_tax_total")
    - F("additional_tax_total"),
    TurnoverBasis.ITEM_TOTAL: F("item_total"),
}


def _day_runs(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive days as half-open [first, end) date ranges."""
    runs: list[list[dt.date]] = []
    for day in sorted(days):
        if runs and runs[-1][1] == day:
            runs[-1][1] = day + dt.timedelta(1)
        else:
            runs.append([day, day + dt.timedelta(1)])
    return [(first, end) for first, end in runs]


def measure_window(
    *,
    instance: Instance,
    shop_id: int,
    days: Iterable[dt.date],
    basis: str = TurnoverBasis.TOTAL,
) -> dict:
    """The orders a line measures, as stored in its explanation (JSON).

    `ranges` are the UTC bounds [start, end) of the runs of local `days`; with
    `states` and `basis` they select exactly the orders summed for the line (rule 2),
    so `line_orders` lists the same orders the run measured.
    """
    return {
        "shop": shop_id,
        "ranges": [list(pair) for pair in _utc_ranges(tuple(days), instance.time_zone)],
        "states": list(TURNOVER_STATES),
        "basis": basis,
    }


@functools.lru_cache(maxsize=256)
def _utc_ranges(days: tuple[dt.date, ...], time_zone: str) -> tuple[tuple[str, str]]:
    """The UTC bounds of the runs of local `days`, as ISO texts.

    Cached: most shops of a month share the same days (all of them), and each run of
    days otherwise costs two zone conversions and two ISO formats per shop.
    """
    ranges = []
    for first, end in _day_runs(days):
        lo, hi = day_range_utc(first, end, time_zone)
        ranges.append((lo.isoformat(), hi.isoformat()))
    return tuple(ranges)


def _ranges_q(window: dict) -> Q:
    ranges = [
        Q(
            completed_at__gte=dt.datetime.fromisoformat(lo),
            completed_at__lt=dt.datetime.fromisoformat(hi),
        )
        for lo, hi in window["ranges"]
    ]
    # No range: no order (a bare Q() would match every order).
    return functools.reduce(operator.or_, ranges) if ranges else Q(pk__in=[])


def window_q(window: dict) -> Q:
    """The orders of a measure window, as a filter on `spree_orders`."""
    return Q(distributor_id=window["shop"], state__in=window["states"]) & _ranges_q(
        window
    )


@dataclass(frozen=True)
class PerOrder:
    """The per-order fee of a plan: rate x each order's amount, within the bounds."""

    basis: str
    rate: Decimal
    floor: Decimal | None = None
    ceiling: Decimal | None = None

    def expression(self):
        fee = BASIS_AMOUNTS[self.basis] * Value(self.rate, output_field=_FEES)
        if self.floor is not None:
            fee = Greatest(fee, Value(self.floor, output_field=_FEES))
        if self.ceiling is not None:
            fee = Least(fee, Value(self.ceiling, output_field=_FEES))
        return fee


@dataclass(frozen=True)
class SegmentSales:
    turnover: Decimal
    order_count: int
    per_order_fees: Decimal = ZERO
    last_order_at: dt.datetime | None = None


def _window_days(window: dict, time_zone: str) -> list[dt.date]:
    """The local days of a window, whose ranges run from local midnight to midnight."""
    days = []
    for lo, hi in window["ranges"]:
        day = local_date(dt.datetime.fromisoformat(lo), time_zone)
        end = local_date(dt.datetime.fromisoformat(hi), time_zone)
        while day < end:
            days.append(day)
            day += dt.timedelta(1)
    return days


def _aggregates(bases: set[str], per_order: list[tuple[PerOrder, set[int]]]):
    """Turnover on each basis in use, and each per-order fee over its own shops."""
    aggregates = {
        f"turnover_{basis}": Coalesce(
            Sum(BASIS_AMOUNTS[basis], output_field=_MONEY), ZERO, output_field=_MONEY
        )
        for basis in sorted(bases)
    }
    aggregates |= {
        f"fees_{n}": Coalesce(
            Sum(
                spec.expression(),
                filter=Q(distributor_id__in=sorted(shops)),
                output_field=_FEES,
            ),
            ZERO,
            output_field=_FEES,
        )
        for n, (spec, shops) in enumerate(per_order)
    }
    return aggregates


def _sales_rows(
    *,
    instance: Instance,
    month: Month,
    partial_shops: set[int],
    bases: set[str],
    per_order: list[tuple[PerOrder, set[int]]],
):
    """One GROUP BY over the month's turnover orders (rule 2): by shop, and also by
    local day for the shops measured over part of the month.

    Grouping by day keeps every row's expression small, whatever the number of
    windows: a CASE with a branch per window makes PostgreSQL's JIT compile for
    seconds before reading the first order.
    """
    alias = register_replica(instance)
    start, end = month_bounds_utc(month, instance.time_zone)
    day = Value(None, output_field=DateField())
    if partial_shops:
        day = Case(
            When(
                distributor_id__in=sorted(partial_shops),
                then=LocalDate("completed_at", instance.time_zone),
            ),
            default=Value(None),
            output_field=DateField(),
        )
    aggregates = _aggregates(bases, per_order)
    rows = (
        Order.objects.using(alias)
        .filter(
            state__in=TURNOVER_STATES, completed_at__gte=start, completed_at__lt=end
        )
        .annotate(day=day)
        .values("distributor_id", "day")
        .order_by()
        .annotate(
            order_count=Count("id"), last_order_at=Max("completed_at"), **aggregates
        )
    )
    with replica_errors(instance):
        return list(rows)


def _window_keys(windows: dict, month: Month, time_zone: str):
    """Where an aggregate row goes: by shop for whole-month windows, by (shop, day)
    for the others; the set of shops measured by day."""
    start, end = month_bounds_utc(month, time_zone)
    whole = [[start.isoformat(), end.isoformat()]]
    by_shop, by_day = {}, {}
    for key, window in windows.items():
        if window["ranges"] == whole:
            by_shop[window["shop"]] = key
            continue
        for day in _window_days(window, time_zone):
            by_day[(window["shop"], day)] = key
    return by_shop, by_day, {shop for shop, _ in by_day}


def _row_key(row, by_shop, by_day):
    if row["day"] is None:
        return by_shop.get(row["distributor_id"])
    return by_day.get((row["distributor_id"], row["day"]))


def segment_sales(
    *,
    instance: Instance,
    month: Month,
    windows: dict[Hashable, dict],
    per_order: dict[Hashable, PerOrder] | None = None,
) -> dict[Hashable, SegmentSales]:
    """Turnover, orders and per-order fees of every measure window, in one query.

    `windows` maps a key of the caller's choosing to a `measure_window` lying in
    `month`. Per-order fees are summed in SQL from each order's unrounded fee,
    clamped to the plan's floor and ceiling (rule 5); the rows of a window measured
    by day are then added up exactly, as Decimals.
    """
    per_order = per_order or {}
    by_shop, by_day, partial_shops = _window_keys(windows, month, instance.time_zone)
    specs: dict[PerOrder, set[int]] = defaultdict(set)
    for key, spec in per_order.items():
        specs[spec].add(windows[key]["shop"])
    spec_list = sorted(specs.items(), key=lambda item: repr(item[0]))
    column = {spec: f"fees_{n}" for n, (spec, _) in enumerate(spec_list)}
    rows = _sales_rows(
        instance=instance,
        month=month,
        partial_shops=partial_shops,
        bases={window["basis"] for window in windows.values()},
        per_order=spec_list,
    )
    totals: dict[Hashable, list] = {}
    for row in rows:
        key = _row_key(row, by_shop, by_day)
        if key is None:
            continue
        spec = per_order.get(key)
        found = totals.setdefault(key, [ZERO, 0, ZERO, None])
        found[0] += ofn_column_sum(row[f"turnover_{windows[key]['basis']}"])
        found[1] += row["order_count"]
        found[2] += Decimal(row[column[spec]]) if spec else ZERO
        found[3] = max(filter(None, (found[3], row["last_order_at"])), default=None)
    return {key: SegmentSales(*values) for key, values in totals.items()}


@dataclass(frozen=True)
class ShopSales:
    turnover: Decimal
    order_count: int
    last_order_at: dt.datetime | None


def shop_sales(
    *,
    instance: Instance,
    month: Month,
    billable_days: dict[int, list[dt.date]],
    basis: str = TurnoverBasis.TOTAL,
) -> dict[int, ShopSales]:
    """Turnover and order count of each shop over its billable days, in one query.

    `billable_days` maps a shop id to its billable local days when they are not the
    whole month; every other shop is measured over the whole month. Orders count when
    `state` is complete or resumed (rule 2), summed on the order rows themselves.
    """
    days = {
        (shop, day) for shop, shop_days in billable_days.items() for day in shop_days
    }
    rows = _sales_rows(
        instance=instance,
        month=month,
        partial_shops=set(billable_days),
        bases={basis},
        per_order=[],
    )
    totals: dict[int, list] = {}
    for row in rows:
        shop = row["distributor_id"]
        if shop is None or (row["day"] is not None and (shop, row["day"]) not in days):
            continue
        found = totals.setdefault(shop, [ZERO, 0, None])
        found[0] += ofn_column_sum(row[f"turnover_{basis}"])
        found[1] += row["order_count"]
        found[2] = max(filter(None, (found[2], row["last_order_at"])), default=None)
    return {shop: ShopSales(*values) for shop, values in totals.items()}


def registered_customers(
    *, instance: Instance, month: Month, shop_ids: Iterable[int]
) -> dict[int, int]:
    """Each shop's `customers` rows created before the month's local end, one query."""
    shop_ids = sorted(set(shop_ids))
    if not shop_ids:
        return {}
    alias = register_replica(instance)
    _, end = month_bounds_utc(month, instance.time_zone)
    rows = (
        Customer.objects.using(alias)
        .filter(enterprise_id__in=shop_ids, created_at__lt=end)
        .values("enterprise_id")
        .order_by()
        .annotate(customers=Count("id"))
    )
    with replica_errors(instance):
        return {row["enterprise_id"]: row["customers"] for row in rows}


def uses_customers(terms: engine.PlanTerms) -> bool:
    return terms.tier_measure == TierMeasure.REGISTERED_CUSTOMERS
