"""Shops of a month and their owners' invoice details (replica)."""

import datetime as dt
import functools
import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import (
    Q,
)

from instances.models import Enterprise, Instance, SpreeUser, Version
from instances.models.ofn import SHOP_SELLS
from instances.replicas import register_replica, replica_errors
from portal.periods import Month, local_date, month_bounds_utc

_SELLS_BEFORE = re.compile(r"^sells: *['\"]?(\w+)", re.MULTILINE)


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
    month_days = _month_days(month)
    for start, end in intervals:
        first = max(local_date(start, time_zone), month.first_day)
        last = month.last_day
        if end is not None:
            last = min(last, local_date(end - dt.timedelta(microseconds=1), time_zone))
        if last < first:
            continue
        offset = month.first_day
        days.update(month_days[(first - offset).days : (last - offset).days + 1])
    return sorted(days)


@functools.lru_cache(maxsize=16)
def _month_days(month: Month) -> tuple[dt.date, ...]:
    # Built once per month rather than once per shop (thousands of shops a run).
    return tuple(month.first_day + dt.timedelta(n) for n in range(month.days))


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
            # Rows, not model instances: thousands of them, read once each.
            .values_list(
                "id",
                "name",
                "permalink",
                "owner_id",
                "external_billing_id",
                "is_primary_producer",
                "sells",
                "created_at",
                named=True,
            )
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
class OwnerDetails:
    """An OFN owner's email and bill address, as a billing subject's invoice shows."""

    email: str
    person: str
    company: str
    address_lines: tuple[str, ...]

    @property
    def invoice_name(self) -> str:
        return self.company or self.person or self.email

    @property
    def address(self) -> str:
        person = (self.person,) if self.company and self.person else ()
        return "\n".join(person + self.address_lines)


def _clean(value) -> str:
    return (value or "").strip()


def owner_details(
    *, instance: Instance, owner_ids: set[int]
) -> dict[int, OwnerDetails]:
    """The owners' emails and bill addresses (spree_users -> spree_addresses)."""
    if not owner_ids:
        return {}
    alias = register_replica(instance)
    rows = (
        SpreeUser.objects.using(alias)
        .filter(id__in=sorted(owner_ids))
        .values_list(
            "id",
            "email",
            "bill_address__firstname",
            "bill_address__lastname",
            "bill_address__company",
            "bill_address__address1",
            "bill_address__address2",
            "bill_address__zipcode",
            "bill_address__city",
        )
    )
    with replica_errors(instance):
        rows = list(rows)
    details = {}
    for user_id, email, first, last, company, line1, line2, zipcode, city in rows:
        town = " ".join(part for part in (_clean(zipcode), _clean(city)) if part)
        details[user_id] = OwnerDetails(
            email=_clean(email),
            person=" ".join(part for part in (_clean(first), _clean(last)) if part),
            company=_clean(company),
            address_lines=tuple(
                part for part in (_clean(line1), _clean(line2), town) if part
            ),
        )
    return details
