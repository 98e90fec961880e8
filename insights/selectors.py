"""Reads for dashboards: orders bucketed by the instance's local days and months.

OFN stores UTC wall time in `timestamp without time zone` columns. Django's time-zone
functions (`TruncDate(tzinfo=...)`, `__date`) assume `timestamptz` and shift such a
column the wrong way, so buckets here use an explicit conversion of the UTC column to
the instance's zone (rule 1), never the session, process or active Django zone.
"""

import datetime as dt
from decimal import Decimal
from typing import NamedTuple

from django.db import models
from django.db.models import Count, DecimalField, Max, Sum
from django.db.models.functions import Coalesce

from instances.models import Instance, Order
from instances.models.ofn import TURNOVER_STATES
from instances.replicas import register_replica, replica_errors
from portal.money import ZERO, ofn_column_sum
from portal.periods import Month, day_range_utc, local_date, zone

_MONEY = DecimalField(max_digits=14, decimal_places=2)


def _zone_literal(zone_name: str) -> str:
    # Validated against the IANA list first, so the name holds no quote; inlined rather
    # than bound so the SELECT and GROUP BY expressions are textually identical.
    return "'{}'".format(zone(zone_name).key.replace("'", "''"))


class LocalDate(models.Func):
    """The local calendar date, in `zone_name`, of an OFN UTC timestamp column."""

    output_field = models.DateField()
    arity = 1
    postgresql_template = (
        "(((%(expressions)s) AT TIME ZONE 'UTC') AT TIME ZONE %(zone)s)::date"
    )
    # Django's own SQLite function: (value, zone wanted, zone the value is in).
    sqlite_template = "django_datetime_cast_date(%(expressions)s, %(zone)s, 'UTC')"

    def __init__(self, expression, zone_name: str, **extra):
        self.zone_name = zone(zone_name).key
        super().__init__(expression, **extra)

    def as_sql(self, compiler, connection, template=None, **extra_context):
        if template is None:
            raise NotImplementedError(
                f"{type(self).__name__} has no SQL for {connection.vendor}."
            )
        zone_sql = _zone_literal(self.zone_name)
        return super().as_sql(
            compiler, connection, template=template, zone=zone_sql, **extra_context
        )

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, self.postgresql_template)

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, self.sqlite_template)


class LocalMonth(LocalDate):
    """The first day of the local month, in `zone_name`, of an OFN UTC timestamp."""

    postgresql_template = (
        "date_trunc('month', ((%(expressions)s) AT TIME ZONE 'UTC') "
        "AT TIME ZONE %(zone)s)::date"
    )
    sqlite_template = (
        "substr(django_datetime_cast_date(%(expressions)s, %(zone)s, 'UTC'), 1, 7)"
        " || '-01'"
    )


class Bucket(NamedTuple):
    order_count: int
    turnover: Decimal


def _turnover_orders(*, instance: Instance, start: dt.datetime, end: dt.datetime):
    alias = register_replica(instance)
    return Order.objects.using(alias).filter(
        state__in=TURNOVER_STATES, completed_at__gte=start, completed_at__lt=end
    )


def _buckets(*, instance: Instance, orders, key) -> dict[dt.date, Bucket]:
    rows = (
        orders.annotate(bucket=key)
        .values("bucket")
        .order_by()
        .annotate(
            order_count=Count("id"),
            turnover=Coalesce(
                Sum("total", output_field=_MONEY), ZERO, output_field=_MONEY
            ),
        )
    )
    with replica_errors(instance):
        return {
            row["bucket"]: Bucket(row["order_count"], ofn_column_sum(row["turnover"]))
            for row in rows
        }


def orders_per_local_day(
    *, instance: Instance, start: dt.date, end: dt.date
) -> dict[dt.date, Bucket]:
    """Orders and turnover (rule 2) per local day of [start, end), in one query.

    Every day of the range is present, with zeros when nothing was sold.
    """
    lo, hi = day_range_utc(start, end, instance.time_zone)
    found = _buckets(
        instance=instance,
        orders=_turnover_orders(instance=instance, start=lo, end=hi),
        key=LocalDate("completed_at", instance.time_zone),
    )
    days = (start + dt.timedelta(n) for n in range((end - start).days))
    return {day: found.get(day, Bucket(0, ZERO)) for day in days}


def orders_per_local_month(
    *, instance: Instance, first: Month, last: Month
) -> dict[Month, Bucket]:
    """Orders and turnover (rule 2) per local month from `first` to `last` inclusive.

    One query; every month of the range is present, with zeros when nothing was sold.
    """
    lo, hi = day_range_utc(first.first_day, last.next().first_day, instance.time_zone)
    found = _buckets(
        instance=instance,
        orders=_turnover_orders(instance=instance, start=lo, end=hi),
        key=LocalMonth("completed_at", instance.time_zone),
    )
    months = []
    month = first
    while month <= last:
        months.append(month)
        month = month.next()
    return {m: found.get(m.first_day, Bucket(0, ZERO)) for m in months}


def shop_last_order_dates(
    *, instance: Instance, until: dt.datetime | None = None
) -> dict[int, dt.date]:
    """Each shop's last order date (rule 2's orders) as a local date, in one query."""
    alias = register_replica(instance)
    orders = Order.objects.using(alias).filter(
        state__in=TURNOVER_STATES, completed_at__isnull=False
    )
    if until is not None:
        orders = orders.filter(completed_at__lt=until)
    rows = (
        orders.exclude(distributor_id=None)
        .values("distributor_id")
        .order_by()
        .annotate(last_order_at=Max("completed_at"))
    )
    with replica_errors(instance):
        return {
            row["distributor_id"]: local_date(row["last_order_at"], instance.time_zone)
            for row in rows
        }
