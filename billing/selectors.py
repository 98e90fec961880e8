"""Reads for billing: plans on the portal database, shops and sales on the replica.

Replica reads are a fixed number of queries whatever the number of shops or orders:
one for the shops, one for their `versions` history, one aggregate for sales and one
for the owners' emails.
"""

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, DecimalField, F, Max, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from instances.models import Enterprise, Instance, Order, SpreeUser, Version
from instances.models.ofn import SHOP_SELLS, TURNOVER_STATES
from instances.replicas import register_replica, replica_errors
from portal.exceptions import BillingError
from portal.money import ZERO, ofn_column_sum
from portal.periods import Month, day_range_utc, local_date, month_bounds_utc

from .models import BillingRun, Invoice, PricingPlan, TurnoverBasis

_SELLS_BEFORE = re.compile(r"^sells: *['\"]?(\w+)", re.MULTILINE)


def pricing_plan_for_month(*, instance: Instance, month: Month) -> PricingPlan:
    """The plan version in force on the first day of `month`."""
    plan = (
        PricingPlan.objects.filter(
            instance=instance, effective_from__lte=month.first_day
        )
        .select_related("instance")
        .order_by("-effective_from", "-id")
        .first()
    )
    if plan is None:
        raise BillingError(
            f"Instance {instance.slug}: no pricing plan is in force on "
            f"{month.first_day}; add one in the admin (Billing > Pricing plans)."
        )
    return plan


@dataclass
class ShopRecord:
    """A shop as a billing run sees it: who pays, and its billable local days."""

    enterprise_id: int
    name: str
    owner_id: int
    external_billing_id: str | None
    is_primary_producer: bool
    sells: str
    became_shop_at: dt.datetime | None = None
    shop_days: list[dt.date] = field(default_factory=list)

    @property
    def category(self) -> str:
        if self.is_primary_producer:
            return "producer_hub" if self.sells == "any" else "producer_shop"
        return "hub"

    @property
    def subject_key(self) -> str:
        if self.external_billing_id:
            return f"external:{self.external_billing_id}"
        return f"owner:{self.owner_id}"


def _shop_intervals(history, current_sells, created_at):
    """UTC intervals [start, end) during which an enterprise's `sells` made it a shop.

    `history` is its versions as (changed_at, sells_before), oldest first; each row's
    `sells_before` is the value up to `changed_at` (PaperTrail keeps the row before).
    """
    changes = [(created_at, history[0][1] if history else current_sells)]
    for index, (changed_at, _) in enumerate(history):
        after = history[index + 1][1] if index + 1 < len(history) else current_sells
        changes.append((changed_at, after))
    intervals = []
    for index, (start, sells) in enumerate(changes):
        end = changes[index + 1][0] if index + 1 < len(changes) else None
        if sells in SHOP_SELLS:
            intervals.append((start, end))
    return intervals


def _local_days(intervals, month: Month, time_zone: str) -> list[dt.date]:
    """The local days of `month` touched by any interval."""
    days = set()
    for start, end in intervals:
        first = max(local_date(start, time_zone), month.first_day)
        last = month.last_day
        if end is not None:
            last = min(last, local_date(end - dt.timedelta(microseconds=1), time_zone))
        days.update(first + dt.timedelta(n) for n in range((last - first).days + 1))
    return sorted(days)


def shop_records(*, instance: Instance, month: Month) -> list[ShopRecord]:
    """Every enterprise that was a shop on some local day of `month`, by id."""
    alias = register_replica(instance)
    _, end = month_bounds_utc(month, instance.time_zone)
    # The whole history, not only the part before the month ends: a version written
    # later still tells what `sells` was during the month (each row holds the value
    # before its change), so re-billing an old month gives the same shops.
    changes = Version.objects.using(alias).filter(
        item_type="Enterprise", event="update", created_at__isnull=False
    )
    with replica_errors(instance):
        enterprises = list(
            Enterprise.objects.using(alias)
            .filter(created_at__lt=end)
            .filter(Q(sells__in=SHOP_SELLS) | Q(id__in=changes.values("item_id")))
            .order_by("id")
        )
        history = defaultdict(list)
        for row in changes.order_by("item_id", "created_at", "id").values_list(
            "item_id", "created_at", "object"
        ):
            match = _SELLS_BEFORE.search(row[2] or "")
            if match:
                history[row[0]].append((row[1], match.group(1)))
    records = []
    for enterprise in enterprises:
        intervals = _shop_intervals(
            history[enterprise.id], enterprise.sells, enterprise.created_at
        )
        days = _local_days(intervals, month, instance.time_zone)
        if not days:
            continue
        records.append(
            ShopRecord(
                enterprise_id=enterprise.id,
                name=enterprise.name or enterprise.permalink,
                owner_id=enterprise.owner_id,
                external_billing_id=enterprise.external_billing_id or None,
                is_primary_producer=enterprise.is_primary_producer is True,
                sells=enterprise.sells if enterprise.sells in SHOP_SELLS else "own",
                became_shop_at=intervals[0][0],
                shop_days=days,
            )
        )
    return records


@dataclass(frozen=True)
class ShopSales:
    turnover: Decimal
    order_count: int
    last_order_at: dt.datetime | None


_BASIS = {
    TurnoverBasis.TOTAL: F("total"),
    TurnoverBasis.TOTAL_EX_TAX: F("total")
    - F("included_tax_total")
    - F("additional_tax_total"),
    TurnoverBasis.ITEM_TOTAL: F("item_total"),
}


def _day_runs(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive days as half-open [first, end) date ranges."""
    runs: list[list[dt.date]] = []
    for day in days:
        if runs and runs[-1][1] == day:
            runs[-1][1] = day + dt.timedelta(1)
        else:
            runs.append([day, day + dt.timedelta(1)])
    return [(first, end) for first, end in runs]


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
    alias = register_replica(instance)
    start, end = month_bounds_utc(month, instance.time_zone)
    window = ~Q(distributor_id__in=list(billable_days))
    for shop_id, days in billable_days.items():
        for first, last in _day_runs(days):
            lo, hi = day_range_utc(first, last, instance.time_zone)
            window |= Q(
                distributor_id=shop_id, completed_at__gte=lo, completed_at__lt=hi
            )
    money = DecimalField(max_digits=14, decimal_places=2)
    rows = (
        Order.objects.using(alias)
        .filter(
            state__in=TURNOVER_STATES, completed_at__gte=start, completed_at__lt=end
        )
        .values("distributor_id")
        .order_by()
        .annotate(
            turnover=Coalesce(
                Sum(_BASIS[basis], filter=window, output_field=money),
                ZERO,
                output_field=money,
            ),
            order_count=Count("id", filter=window),
            last_order_at=Max("completed_at", filter=window),
        )
    )
    with replica_errors(instance):
        return {
            row["distributor_id"]: ShopSales(
                ofn_column_sum(row["turnover"]),
                row["order_count"],
                row["last_order_at"],
            )
            for row in rows
            if row["order_count"]
        }


def owner_emails(*, instance: Instance, owner_ids: set[int]) -> dict[int, str]:
    alias = register_replica(instance)
    with replica_errors(instance):
        return dict(
            SpreeUser.objects.using(alias)
            .filter(id__in=sorted(owner_ids))
            .values_list("id", "email")
        )


def billing_run_list(*, instance: Instance) -> QuerySet[BillingRun]:
    return BillingRun.objects.filter(instance=instance).order_by("-month")


def invoice_list(
    *, instance: Instance, run: BillingRun | None = None
) -> QuerySet[Invoice]:
    invoices = Invoice.objects.filter(instance=instance).select_related("run")
    if run is not None:
        invoices = invoices.filter(run=run)
    return invoices
