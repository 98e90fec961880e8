"""Annual statements: every turnover order of one shop in a local year, as a PDF.

A statement lists one row per order (local date, number, total) with the running total,
and ends with the year's total (case W01: 5,000 rows of 12.34 end on 61,700.00). The
orders are those of rule 2 (`complete` or `resumed`, by `completed_at`) within the
instance's local calendar year (rule 1), read from the replica in one query. The PDF is
rendered like an invoice (billing.pdf.pdf_from_html: the portal's asset fetcher and
fonts); the table header repeats on every page.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.template.loader import render_to_string
from django.utils import translation

from instances.models import Enterprise, Instance, Order
from instances.models.ofn import TURNOVER_STATES
from instances.replicas import register_replica, replica_errors
from portal.exceptions import InvalidInput
from portal.formats import date_display, locale_for, money_display
from portal.money import ZERO
from portal.periods import day_range_utc, local_date

from .pdf import pdf_from_html

STATEMENT_TEMPLATE = "billing/statement_pdf.html"
# Rows per <tbody>. WeasyPrint walks every row of a row group again on each page it
# lays out (quadratic in a long group); groups of about a page keep that linear. The
# groups do not show: the header still repeats on each page, rows follow each other.
ROWS_PER_GROUP = 50


@dataclass(frozen=True)
class StatementOrder:
    """One order of a statement: when it was completed (UTC), its number and total."""

    completed_at: dt.datetime
    number: str
    total: Decimal


@dataclass(frozen=True)
class StatementRow:
    """A printed row: the order's figures and the total so far, formatted."""

    day: str
    number: str
    total: str
    running_total: str


def year_bounds_utc(year: int, time_zone: str) -> tuple[dt.datetime, dt.datetime]:
    """UTC bounds [start, end) of the local calendar `year` in `time_zone`."""
    return day_range_utc(dt.date(year, 1, 1), dt.date(year + 1, 1, 1), time_zone)


def shop_statement_orders(
    *, instance: Instance, enterprise_id: int, year: int
) -> tuple[str, list[StatementOrder]]:
    """The shop's name and its turnover orders of the local `year`, oldest first."""
    alias = register_replica(instance)
    start, end = year_bounds_utc(year, instance.time_zone)
    with replica_errors(instance):
        shop = (
            Enterprise.objects.using(alias)
            .filter(id=enterprise_id)
            .values_list("name", "permalink")
            .first()
        )
        if shop is None:
            raise InvalidInput(
                f"Instance {instance.slug}: no enterprise {enterprise_id} in the "
                "replica."
            )
        orders = [
            StatementOrder(completed_at, number or "", total)
            for completed_at, number, total in Order.objects.using(alias)
            .filter(
                distributor_id=enterprise_id,
                state__in=TURNOVER_STATES,
                completed_at__gte=start,
                completed_at__lt=end,
            )
            .order_by("completed_at", "id")
            .values_list("completed_at", "number", "total")
        ]
    return shop[0] or shop[1], orders


def statement_context(
    *, instance: Instance, shop_name: str, year: int, orders: list[StatementOrder]
) -> dict:
    """What the statement template shows, in the instance's formats."""
    locale = locale_for(instance.language, instance.country)
    currency = instance.currency
    running = ZERO
    rows = []
    for order in orders:
        running += order.total
        rows.append(
            StatementRow(
                day=date_display(
                    local_date(order.completed_at, instance.time_zone),
                    locale=locale,
                    style="medium",
                ),
                number=order.number,
                total=money_display(order.total, currency, locale=locale),
                running_total=money_display(running, currency, locale=locale),
            )
        )
    return {
        "instance": instance,
        "language": locale.language,
        "shop_name": shop_name,
        "year": year,
        "row_groups": [
            rows[start : start + ROWS_PER_GROUP]
            for start in range(0, len(rows), ROWS_PER_GROUP)
        ],
        "order_count": len(rows),
        "total": money_display(running, currency, locale=locale),
        "currency": currency,
    }


def statement_html(
    *, instance: Instance, shop_name: str, year: int, orders: list[StatementOrder]
) -> str:
    context = statement_context(
        instance=instance, shop_name=shop_name, year=year, orders=orders
    )
    with translation.override(context["language"]):
        return render_to_string(STATEMENT_TEMPLATE, context)


def statement_pdf_from_orders(
    *, instance: Instance, shop_name: str, year: int, orders: list[StatementOrder]
) -> bytes:
    """The statement of `orders` as PDF bytes (no replica read: benchmark, tests)."""
    return pdf_from_html(
        html=statement_html(
            instance=instance, shop_name=shop_name, year=year, orders=orders
        )
    )


def shop_statement_pdf(*, instance: Instance, enterprise_id: int, year: int) -> bytes:
    """The annual statement of one shop as PDF bytes; reads the replica only."""
    shop_name, orders = shop_statement_orders(
        instance=instance, enterprise_id=enterprise_id, year=year
    )
    return statement_pdf_from_orders(
        instance=instance, shop_name=shop_name, year=year, orders=orders
    )
