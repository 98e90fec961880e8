"""The billing benchmark (issue 3): its generated replica and a tiny run of the command.

Nothing here is timed: the figures belong to `manage.py benchmark_billing`. These tests
check that the replica holds what the benchmark claims (worked out by hand from the
generator's rules) and that a small run completes and prints every figure and ratio.
"""

import io
import uuid
from decimal import Decimal

import psycopg
import pytest
from django.core.management import call_command

from billing.benchmarks.dataset import Dataset, DatasetSpec, dataset_build
from billing.benchmarks.suite import Report
from instances.models import Instance
from instances.replica_builder import drop_postgres_replica, postgres_database_comment
from portal.exceptions import InvalidInput
from portal.periods import Month
from tests.replicas import POSTGRES_URL, postgres_available

MAY = Month(2026, 5)

needs_postgres = pytest.mark.skipif(
    not postgres_available(), reason="PostgreSQL is not reachable"
)


@pytest.fixture
def bench_url():
    url = f"{POSTGRES_URL}/ofn_bench_test_{uuid.uuid4().hex[:10]}"
    yield url
    drop_postgres_replica(url)


def small_spec(**changes) -> DatasetSpec:
    values = {
        "shops": 100,
        "orders": 5000,
        "month": MAY,
        "time_zone": "Europe/Madrid",
        "statement_rows": 200,
    }
    return DatasetSpec(**{**values, **changes})


def scalar(url: str, query: str):
    with psycopg.connect(url) as connection:
        return connection.execute(query).fetchone()[0]


@needs_postgres
def test_dataset_build_holds_the_shapes_the_benchmark_claims(bench_url):
    # Given 100 shops and 5,000 orders in May 2026 (Madrid).
    dataset = dataset_build(url=bench_url, spec=small_spec(), reuse=False)

    # Then: 100 shops + 10 non-shops + the W01 shop (id 111).
    assert dataset.counts["enterprises"] == 111
    # Shops 3 and 53 stopped selling mid-month (sells 'none' now); W01 sells.
    assert dataset.counts["shops (sells own/any now)"] == 100 - 2 + 1
    # Every generated order of the month is completed in it or unfinished.
    assert (
        dataset.counts["orders completed in the month"]
        + dataset.counts["unfinished orders of the month"]
        == 5000
    )
    # Versions: stopped (3, 53), started before the month (4, 54), owner changes
    # (5, 15, ..., 95).
    assert dataset.counts["versions"] == 2 + 2 + 10
    # Shops 40 and 80 share EXT-0; shop 25 belongs to the owner of shop 24.
    assert scalar(
        bench_url,
        "SELECT string_agg(id::text, ',' ORDER BY id) FROM enterprises "
        "WHERE external_billing_id = 'EXT-0'",
    ) == ("40,80")
    assert scalar(bench_url, "SELECT owner_id FROM enterprises WHERE id = 25") == 24
    # W01: 200 orders of 12.34 in the local year 2025 = 2,468.00.
    assert scalar(
        bench_url,
        "SELECT sum(total) FROM spree_orders WHERE distributor_id = 111 AND "
        "state = 'complete' AND completed_at >= '2024-12-31 23:00' AND "
        "completed_at < '2025-12-31 23:00'",
    ) == Decimal("2468.00")
    assert dataset.missing_indexes() == []
    assert not dataset.reused


@needs_postgres
def test_dataset_build_reuses_only_the_same_sizes(bench_url):
    # Given a replica built from a spec.
    dataset_build(url=bench_url, spec=small_spec(shops=20, orders=300), reuse=False)

    # When it is asked for again with the same spec, then with another.
    same = dataset_build(
        url=bench_url, spec=small_spec(shops=20, orders=300), reuse=True
    )
    other = dataset_build(
        url=bench_url, spec=small_spec(shops=21, orders=300), reuse=True
    )

    # Then the first is reused and the second rebuilt, and the comment says which.
    assert same.reused
    assert not other.reused
    assert (
        postgres_database_comment(bench_url)
        == small_spec(shops=21, orders=300).fingerprint()
    )


def test_dataset_build_refuses_a_database_not_named_for_benchmarks():
    with pytest.raises(InvalidInput, match="must contain 'bench'"):
        dataset_build(
            url=f"{POSTGRES_URL}/ofn_production", spec=small_spec(), reuse=False
        )


def test_dataset_missing_indexes_names_the_missing_leading_column():
    # Given a replica whose orders have no index starting with distributor_id.
    dataset = Dataset(
        url="postgresql://x/ofn_bench",
        spec=small_spec(),
        reused=False,
        build_seconds=0.0,
        indexes={
            "spree_orders_completed_at_idx": "CREATE INDEX spree_orders_completed_at_"
            "idx ON public.spree_orders USING btree (completed_at, user_id)",
            "by_state_distributor": "CREATE INDEX by_state_distributor ON "
            "public.spree_orders USING btree (state, distributor_id)",
        },
    )

    assert dataset.missing_indexes() == ["distributor_id"]


@pytest.mark.parametrize(
    ("value", "limits", "verdict"),
    [
        (1.5, {"at_most": 1.5}, "met"),
        (1.51, {"at_most": 1.5}, "TARGET MISSED"),
        (0.8, {"at_least": 0.8}, "met"),
        (0.79, {"at_least": 0.8}, "TARGET MISSED"),
    ],
    ids=["at-most-equal", "at-most-over", "at-least-equal", "at-least-under"],
)
def test_report_ratio_verdicts(value, limits, verdict):
    report = Report(io.StringIO())

    report.ratio("RATIO x", value, **limits)

    assert report.rows[0][3] == verdict
    assert bool(report.missed) == (verdict == "TARGET MISSED")


@needs_postgres
@pytest.mark.django_db
@pytest.mark.usefixtures("_replica_connections_allowed")
def test_benchmark_billing_command_small_run_prints_every_ratio(bench_url):
    # When a tiny benchmark runs (30 shops, 3,000 orders, 3 invoices, 200 rows).
    out = io.StringIO()
    call_command(
        "benchmark_billing",
        "--shops=30",
        "--orders=3000",
        "--renders=3",
        "--repeats=2",
        "--statement-rows=200",
        "--profile=never",
        f"--replica-url={bench_url}",
        stdout=out,
    )
    text = out.getvalue()

    # Then every figure and ratio is printed, with a verdict for each target.
    for label in [
        "replica build (not in ratios)",
        "billing run, drafts from nothing",
        "captured replica SQL, raw psycopg",
        "per-measure aggregates, raw psycopg",
        "RATIO billing / captured SQL",
        "RATIO billing again / captured SQL",
        "RATIO billing / per-measure SQL",
        "PDF portal (invoice_pdf_bytes)",
        "PDF bare WeasyPrint, same HTML",
        "RATIO PDF portal / bare",
        "RATIO W01 time portal / bare",
        "RATIO W01 peak RSS portal / bare",
    ]:
        assert label in text, label
    assert "<= 1.5" in text
    assert ">= 0.8" in text
    # W01 at 200 rows: 200 x 12.34 = 2,468.00, found on the last page of both PDFs.
    assert "W01 statement: 200 orders, total €2,468.00" in text
    assert text.count("total on last page: yes") == 2
    # Without --keep, the replica and the benchmark instance are gone afterwards.
    assert postgres_database_comment(bench_url) is None
    assert not Instance.objects.filter(slug="benchmark").exists()
