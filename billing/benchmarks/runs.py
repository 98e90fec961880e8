# ruff: noqa: S608 - the SQL here is built from dates and integers of our own.
"""A billing run against the SQL it rests on, measured in the same process.

The run is billing.services.billing_run_execute on an instance whose replica is the
benchmark database, with Katuma-shaped plans (fixed fee, turnover share, tiers on
turnover and on registered customers, cap, trial, member capital) and a few shops
assigned to a negotiated per-order plan.

Baselines:
- "captured": the replica queries of one billing run, recorded with
  CaptureQueriesContext and executed again as raw SQL through psycopg on one
  connection with the same session settings. Same text, same plans, no ORM.
- "measures": one hand-written aggregate per measure (turnover and order count per
  shop, registered customers per shop, per-order fees of the per-order shops).

Each repetition runs: the captured baseline, the measures baseline, a billing run that
writes every draft from nothing (the drafts of the previous repetition are deleted
first, untimed) and a second run that finds every draft unchanged. Medians are
reported.
"""

import cProfile
import datetime as dt
import io
import pstats
import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

import psycopg
from django.conf import settings
from django.db import connections
from django.test.utils import CaptureQueriesContext

from billing.models import (
    BillingRun,
    Invoice,
    InvoiceLine,
    OneOffCharge,
    PlanTier,
    PricingPlan,
    ShopPlanAssignment,
)
from billing.models.plans import TierMeasure, TierMode
from billing.services import billing_run_execute
from instances.models import Instance
from instances.replicas import register_replica, replica_database_settings
from portal.periods import Month, month_bounds_utc

BENCH_SLUG = "benchmark"
# Shops billed by the negotiated per-order plan: every 97th.
PER_ORDER_EVERY = 97


def bench_instance(*, url: str, time_zone: str) -> Instance:
    instance, _ = Instance.objects.update_or_create(
        slug=BENCH_SLUG,
        defaults={
            "name": "Benchmark",
            "country": "",
            "currency": "EUR",
            "time_zone": time_zone,
            "language": "en",
            "invoice_prefix": "BENCH",
            "replica_url": url,
            "replica_url_env": "",
        },
    )
    return instance


def _plan(instance: Instance, effective_from: dt.date, **fields) -> PricingPlan:
    values = {"currency": instance.currency, "tax_rate": Decimal("0.21"), **fields}
    return PricingPlan.objects.create(
        instance=instance, effective_from=effective_from, **values
    )


def _tiers(plan: PricingPlan, bands: list[tuple[str, str, str]]) -> None:
    PlanTier.objects.bulk_create(
        PlanTier(
            plan=plan,
            lower_bound=Decimal(lower),
            flat_fee=Decimal(fee),
            turnover_rate=Decimal(rate),
        )
        for lower, fee, rate in bands
    )


def bench_plans(*, instance: Instance, month: Month, shops: int) -> None:
    """Replace the instance's plans with the benchmark's (Katuma's shape and more)."""
    drafts_reset(instance=instance)
    ShopPlanAssignment.objects.filter(instance=instance).delete()
    PricingPlan.objects.filter(instance=instance).delete()
    since = dt.date(month.year - 1, 1, 1)
    producers = _plan(
        instance,
        since,
        code="producers",
        name="Producers",
        applies_to=["producer_shop", "producer_hub"],
        fixed_fee=Decimal("5.00"),
        turnover_rate=Decimal("0.005"),
        monthly_cap=Decimal("150.00"),
        minimum_billable_turnover=Decimal("20.00"),
        trial_days=30,
        tier_measure=TierMeasure.TURNOVER,
        tier_mode=TierMode.VOLUME,
    )
    _tiers(
        producers,
        [
            ("0", "2.00", "0"),
            ("200", "15.00", "0"),
            ("500", "30.00", "0"),
            ("1000", "50.00", "0.01"),
        ],
    )
    OneOffCharge.objects.create(
        plan=producers,
        code="member-capital",
        description="Member capital (refundable)",
        amount=Decimal("100.00"),
        taxable=False,
    )
    groups = _plan(
        instance,
        since,
        code="groups",
        name="Consumer groups",
        applies_to=["hub"],
        monthly_cap=Decimal("150.00"),
        trial_days=30,
        tier_measure=TierMeasure.REGISTERED_CUSTOMERS,
        tier_mode=TierMode.VOLUME,
    )
    _tiers(
        groups,
        [("0", "2.00", "0"), ("15", "15.00", "0"), ("40", "30.00", "0")]
        + [("80", "50.00", "0.01")],
    )
    _plan(
        instance,
        since,
        code="negotiated",
        name="Negotiated per order",
        applies_to=[],
        per_order_rate=Decimal("0.02"),
        per_order_floor=Decimal("0.30"),
        per_order_ceiling=Decimal("5.00"),
    )
    ShopPlanAssignment.objects.bulk_create(
        ShopPlanAssignment(
            instance=instance,
            enterprise_id=shop,
            plan_code="negotiated",
            starts_on=since,
        )
        for shop in range(PER_ORDER_EVERY, shops + 1, PER_ORDER_EVERY)
    )


def drafts_reset(*, instance: Instance) -> None:
    """Delete the instance's invoices and runs, so the next run writes every draft."""
    invoices = Invoice.objects.filter(instance=instance)
    InvoiceLine.objects.filter(invoice__in=invoices).delete()
    invoices.delete()
    BillingRun.objects.filter(instance=instance).delete()


@dataclass(frozen=True)
class Query:
    sql: str
    seconds: float


@dataclass
class RunCapture:
    """What one billing run sent where, timed by Django's debug cursor."""

    seconds: float
    replica: list[Query]
    portal: list[Query]

    def portal_kinds(self) -> list[tuple[str, int, float]]:
        """Portal statements by kind and table: count and seconds, biggest first."""
        counts: Counter = Counter()
        seconds: Counter = Counter()
        for query in self.portal:
            kind = _statement_kind(query.sql)
            counts[kind] += 1
            seconds[kind] += query.seconds
        return [
            (kind, counts[kind], seconds[kind]) for kind, _ in seconds.most_common()
        ]


_TABLE = re.compile(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)


def _statement_kind(text: str) -> str:
    verb = text.split(None, 1)[0].upper() if text.strip() else "?"
    table = _TABLE.search(text)
    return f"{verb} {table.group(1)}" if table else verb


@dataclass
class BillingFigures:
    fresh: list[float] = field(default_factory=list)
    rerun: list[float] = field(default_factory=list)
    captured: list[float] = field(default_factory=list)
    measures: list[float] = field(default_factory=list)
    per_query: dict[str, list[float]] = field(default_factory=dict)
    capture: RunCapture | None = None
    invoices: int = 0
    lines: int = 0
    shops_billed: int = 0
    profile: str = ""

    @property
    def ratio(self) -> float:
        return statistics.median(self.fresh) / statistics.median(self.captured)

    @property
    def rerun_ratio(self) -> float:
        return statistics.median(self.rerun) / statistics.median(self.captured)

    @property
    def measures_ratio(self) -> float:
        return statistics.median(self.fresh) / statistics.median(self.measures)


def _run(instance: Instance, month: Month) -> float:
    started = time.perf_counter()
    billing_run_execute(instance=instance, month=month)
    return time.perf_counter() - started


def run_captured(*, instance: Instance, month: Month) -> RunCapture:
    """One billing run from nothing with every query of both databases recorded."""
    drafts_reset(instance=instance)
    alias = register_replica(instance)
    with (
        CaptureQueriesContext(connections[alias]) as replica,
        CaptureQueriesContext(connections["default"]) as portal,
    ):
        seconds = _run(instance, month)
    return RunCapture(
        seconds=seconds,
        replica=[
            Query(q["sql"], float(q["time"]))
            for q in replica.captured_queries
            if q["sql"].lstrip().upper().startswith(("SELECT", "WITH"))
        ],
        portal=[Query(q["sql"], float(q["time"])) for q in portal.captured_queries],
    )


def raw_replica_connection(instance: Instance) -> psycopg.Connection:
    """A psycopg connection with the session settings of the portal's replica alias."""
    options = replica_database_settings(instance)["OPTIONS"]
    return psycopg.connect(
        instance.resolved_replica_url(),
        options=options.get("options", ""),
        autocommit=True,
    )


def _timed(connection: psycopg.Connection, text: str) -> float:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(text)
        cursor.fetchall()
    return time.perf_counter() - started


def measure_queries(*, instance: Instance, month: Month, shops: int) -> dict[str, str]:
    """One hand-written aggregate per measure the plans use, as the run needs it."""
    start, end = (
        f"'{bound.replace(tzinfo=None):%Y-%m-%d %H:%M:%S}'"
        for bound in month_bounds_utc(month, instance.time_zone)
    )
    window = (
        "state IN ('complete', 'resumed') "
        f"AND completed_at >= {start} AND completed_at < {end}"
    )
    per_order = ", ".join(
        str(shop) for shop in range(PER_ORDER_EVERY, shops + 1, PER_ORDER_EVERY)
    )
    return {
        "turnover and orders per shop": (
            "SELECT distributor_id, SUM(total), COUNT(*), MAX(completed_at) "
            f"FROM spree_orders WHERE {window} GROUP BY distributor_id"
        ),
        "registered customers per shop": (
            "SELECT enterprise_id, COUNT(*) FROM customers "
            f"WHERE created_at < {end} GROUP BY enterprise_id"
        ),
        "per-order fees per shop": (
            "SELECT distributor_id, SUM(LEAST(GREATEST(total * 0.02, 0.30), 5.00)) "
            f"FROM spree_orders WHERE {window} "
            f"AND distributor_id IN ({per_order or 0}) GROUP BY distributor_id"
        ),
    }


def billing_measure(
    *, instance: Instance, month: Month, shops: int, repeats: int
) -> BillingFigures:
    """Warm up, capture one run, then `repeats` rounds of baselines and runs."""
    figures = BillingFigures()
    drafts_reset(instance=instance)
    _run(instance, month)
    figures.capture = run_captured(instance=instance, month=month)
    measures = measure_queries(instance=instance, month=month, shops=shops)
    with raw_replica_connection(instance) as raw:
        for query in figures.capture.replica:
            _timed(raw, query.sql)
        for _ in range(repeats):
            per_query = [_timed(raw, query.sql) for query in figures.capture.replica]
            for n, seconds in enumerate(per_query, 1):
                figures.per_query.setdefault(f"Q{n}", []).append(seconds)
            figures.captured.append(sum(per_query))
            figures.measures.append(sum(_timed(raw, q) for q in measures.values()))
            drafts_reset(instance=instance)
            figures.fresh.append(_run(instance, month))
            figures.rerun.append(_run(instance, month))
    run = BillingRun.objects.get(instance=instance, month=month.first_day)
    figures.invoices = run.invoices.count()
    figures.lines = InvoiceLine.objects.filter(invoice__run=run).count()
    figures.shops_billed = run.shops_billed
    return figures


def billing_profile(*, instance: Instance, month: Month, top: int = 25) -> str:
    """cProfile of one run from nothing: the functions that take the time."""
    drafts_reset(instance=instance)
    profiler = cProfile.Profile()
    profiler.enable()
    billing_run_execute(instance=instance, month=month)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    # Paths shortened to the package, blank lines dropped: it goes in a report.
    prefixes = rf"\S*/site-packages/|{re.escape(str(settings.BASE_DIR))}/"
    text = re.sub(prefixes, "", out.getvalue())
    return "\n".join(line for line in text.splitlines() if line.strip())
