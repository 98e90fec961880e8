"""seed_demo: realistic replicas checked with our own SQL; idempotent registration."""

import datetime as dt
import hashlib
import json
import sqlite3
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import psycopg
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.models import (
    BillingSubject,
    IssuerProfile,
    PricingPlan,
    ShopPlanAssignment,
)
from billing.selectors import shop_sales
from billing.services.plans import plans_export
from instances.demo import (
    DEMO_INSTANCES,
    DEMO_PASSWORD,
    demo_replica_build,
    demo_seed,
    storage,
)
from instances.models import Instance
from instances.replica_builder import drop_postgres_replica
from instances.replicas import replica_check
from portal.models import Membership, Role
from portal.periods import Month

from ..conftest import _require_postgres
from ..replicas import POSTGRES_URL

AS_OF = dt.datetime(2026, 5, 14, 12, tzinfo=dt.UTC)
SCALE = 0.05
SLUGS = ("uk", "au", "katuma")
ZONES = {"uk": "Europe/London", "au": "Australia/Melbourne", "katuma": "Europe/Madrid"}

CATEGORY_SQL = """
    SELECT DISTINCT CASE
        WHEN sells = 'unspecified' THEN 'unactivated'
        WHEN is_primary_producer IS TRUE AND sells = 'any' THEN 'producer_hub'
        WHEN is_primary_producer IS TRUE AND sells = 'own' THEN 'producer_shop'
        WHEN is_primary_producer IS TRUE AND sells = 'none' THEN 'producer'
        WHEN sells IN ('any', 'own') THEN 'hub'
        ELSE 'hub_profile'
    END
    FROM enterprises
"""


def seed(tmp_path, **kwargs):
    options = {"as_of": AS_OF, "scale": SCALE, "replica_dir": tmp_path}
    return demo_seed(**{**options, **kwargs})


def query(folder, slug: str, statement: str, params=()) -> list[tuple]:
    connection = sqlite3.connect(folder / f"{slug}.sqlite3")
    try:
        return connection.execute(statement, params).fetchall()
    finally:
        connection.close()


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    """One small replica per instance, shared by the tests that only read them."""
    folder = tmp_path_factory.mktemp("demo")
    for spec in DEMO_INSTANCES:
        demo_replica_build(spec=spec, as_of=AS_OF, scale=SCALE, replica_dir=folder)
    return folder


@pytest.fixture
def seeded(tmp_path):
    return seed(tmp_path)


@pytest.mark.parametrize("slug", SLUGS)
def test_demo_seed_builds_every_enterprise_category(replicas, slug):
    # when
    categories = {row[0] for row in query(replicas, slug, CATEGORY_SQL)}

    # then
    assert categories == {
        "producer",
        "producer_shop",
        "producer_hub",
        "hub",
        "hub_profile",
        "unactivated",
    }
    assert query(replicas, slug, "SELECT count(*) FROM enterprises")[0][0] >= 12


@pytest.mark.parametrize("slug", SLUGS)
def test_demo_seed_builds_orders_in_every_state(replicas, slug):
    # when
    rows = query(
        replicas,
        slug,
        "SELECT state, completed_at IS NULL, count(*) FROM spree_orders GROUP BY 1, 2",
    )

    # then
    by_state = {(state, unfinished): count for state, unfinished, count in rows}
    assert {state for state, _ in by_state} == {
        "complete",
        "resumed",
        "canceled",
        "returned",
        "awaiting_return",
        "cart",
    }
    assert by_state.get(("cart", 1))
    assert ("cart", 0) not in by_state
    assert all(not unfinished for state, unfinished in by_state if state != "cart")


@pytest.mark.parametrize("slug", SLUGS)
def test_demo_seed_totals_are_two_decimal_sums(replicas, slug):
    # when
    rows = query(
        replicas,
        slug,
        "SELECT total, item_total, adjustment_total, included_tax_total, "
        "additional_tax_total, currency FROM spree_orders",
    )

    # then
    # SQLite's NUMERIC affinity stores '12.30' as 12.3: compare values, not text.
    cent = Decimal("0.01")
    currency = {"uk": "GBP", "au": "AUD", "katuma": "EUR"}[slug]
    for row in rows:
        total, items, adjustments, included, added = (Decimal(str(v)) for v in row[:5])
        amounts = (total, items, adjustments, included, added)
        assert all(amount == amount.quantize(cent) for amount in amounts)
        assert total == items + adjustments
        assert items > 0
        assert min(included, added) >= 0
        assert row[5] == currency
    assert any(Decimal(str(row[3])) > 0 for row in rows)
    assert any(Decimal(str(row[4])) > 0 for row in rows)


@pytest.mark.parametrize("slug", SLUGS)
def test_demo_seed_versions_record_profiles_that_became_shops(replicas, slug):
    # when
    rows = query(
        replicas,
        slug,
        "SELECT v.created_at, v.object, e.sells, e.created_at FROM versions v "
        "JOIN enterprises e ON e.id = v.item_id "
        "WHERE v.item_type = 'Enterprise' AND v.event = 'update'",
    )

    # then
    upgrades = [
        utc(changed_at)
        for changed_at, yaml, sells, _ in rows
        if "\nsells: none\n" in yaml and sells in ("own", "any")
    ]
    assert upgrades
    zone = ZoneInfo(ZONES[slug])
    assert any(1 < at.astimezone(zone).day < 28 for at in upgrades)
    assert all(utc(changed) > utc(created) for changed, _, _, created in rows)
    assert all(yaml.startswith("---\nid: ") for _, yaml, _, _ in rows)


@pytest.mark.parametrize("slug", SLUGS)
def test_demo_seed_places_orders_next_to_local_month_boundaries(replicas, slug):
    # given
    zone = ZoneInfo(ZONES[slug])

    # when
    completed = [
        utc(row[0]).astimezone(zone)
        for row in query(
            replicas,
            slug,
            "SELECT completed_at FROM spree_orders WHERE completed_at IS NOT NULL",
        )
    ]

    # then
    after = [at for at in completed if at.day == 1 and at.hour == 0]
    before = [
        at
        for at in completed
        if at.hour == 23 and (at + dt.timedelta(hours=1)).day == 1
    ]
    assert after
    assert before


@pytest.mark.parametrize("slug", SLUGS)
def test_demo_seed_places_orders_around_dst_changes(replicas, slug):
    # given
    zone = ZoneInfo(ZONES[slug])
    completed = sorted(
        utc(row[0])
        for row in query(
            replicas,
            slug,
            "SELECT completed_at FROM spree_orders WHERE completed_at IS NOT NULL",
        )
    )

    # when
    near_change = [
        at
        for at in completed
        if (at - dt.timedelta(hours=1)).astimezone(zone).utcoffset()
        != (at + dt.timedelta(hours=1)).astimezone(zone).utcoffset()
    ]

    # then
    assert near_change


@pytest.mark.parametrize("slug", SLUGS)
def test_demo_seed_keeps_customers_unique_per_shop(replicas, slug):
    # when
    duplicates = query(
        replicas,
        slug,
        "SELECT email, enterprise_id FROM customers GROUP BY 1, 2 HAVING count(*) > 1",
    )
    emails = query(
        replicas,
        slug,
        "SELECT email FROM spree_users UNION SELECT email FROM customers",
    )
    shared = query(
        replicas,
        slug,
        "SELECT external_billing_id FROM enterprises "
        "WHERE external_billing_id IS NOT NULL GROUP BY 1 HAVING count(*) > 1",
    )

    # then
    assert duplicates == []
    assert all(email.endswith(("@example.org", "@example.com")) for (email,) in emails)
    assert shared


@pytest.mark.django_db
def test_demo_seed_registers_instances_users_and_memberships(seeded):
    # then
    instances = {i.slug: i for i in Instance.objects.all()}
    assert set(instances) == set(SLUGS)
    assert instances["au"].time_zone == "Australia/Melbourne"
    assert instances["katuma"].currency == "EUR"
    assert instances["katuma"].invoice_prefix == "KAT"
    users = get_user_model().objects
    assert users.get(username="admin").is_superuser
    assert users.get(username="accountant").check_password(DEMO_PASSWORD)
    assert users.get(username="manager-au").check_password(DEMO_PASSWORD)
    assert set(
        Membership.objects.filter(role=Role.MANAGER).values_list(
            "user__username", "instance__slug"
        )
    ) == {(f"manager-{slug}", slug) for slug in SLUGS}
    assert (
        Membership.objects.filter(
            user__username="accountant", role=Role.ACCOUNTANT
        ).count()
        == 3
    )
    assert [i.slug for i in seeded.instances] == list(SLUGS)


@pytest.mark.django_db
def test_demo_seed_imports_each_instances_plan_file(seeded):
    # given
    files = {"uk": "ofn-legacy-uk", "au": "ofn-legacy-au", "katuma": "katuma"}

    # when
    exported = {
        slug: plans_export(instance=Instance.objects.get(slug=slug))["plans"]
        for slug in files
    }

    # then
    for slug, name in files.items():
        path = settings.BASE_DIR / "plans" / f"{name}.json"
        assert exported[slug] == json.loads(path.read_text(encoding="utf-8"))["plans"]


@pytest.mark.django_db
def test_demo_seed_assigns_some_shops_to_other_plans(seeded, tmp_path):
    # when
    rows = ShopPlanAssignment.objects.order_by("instance__slug", "starts_on")

    # then: as of 2026-05-14, 12 months back is May 2025, 18 months November 2024
    assert [(a.instance.slug, a.plan_code, a.starts_on, a.ends_on) for a in rows] == [
        ("katuma", "producers", dt.date(2025, 5, 1), None),
        ("uk", "community", dt.date(2024, 11, 1), dt.date(2025, 10, 31)),
        ("uk", "community", dt.date(2025, 5, 1), None),
    ]
    hubs = {
        row[0]
        for row in query(
            tmp_path,
            "uk",
            "SELECT id FROM enterprises WHERE sells IN ('own', 'any') "
            "AND NOT coalesce(is_primary_producer, false)",
        )
    }
    uk_shops = {a.enterprise_id for a in rows if a.instance.slug == "uk"}
    assert len(uk_shops) == 2
    assert uk_shops <= hubs


@pytest.mark.django_db
def test_demo_seed_sets_issuers_and_edits_billing_subjects(seeded):
    # then
    issuers = {i.instance.slug: i for i in IssuerProfile.objects.all()}
    assert {slug: i.legal_name for slug, i in issuers.items()} == {
        "uk": "Open Food Network UK CIC",
        "au": "Open Food Network Australia Ltd",
        "katuma": "Katuma SCCL",
    }
    assert {i.payment_terms_days for i in issuers.values()} == {30}
    assert all(i.tax_id and i.bank_details and i.address for i in issuers.values())
    edited = BillingSubject.objects.filter(edited_at__isnull=False)
    assert edited.exists()
    for subject in edited:
        assert subject.key.startswith("external:")
        assert subject.edited_by.username == f"manager-{subject.instance.slug}"
        assert subject.email.endswith(".example.org")
    assert "Stroud Valleys Food Co-operative Ltd" in {
        s.invoice_name for s in edited if s.instance.slug == "uk"
    }


@pytest.mark.django_db
def test_demo_seed_twice_replaces_without_duplicates(tmp_path):
    # given
    seed(tmp_path)
    admin = get_user_model().objects.get(username="admin")
    admin.set_password("changed")
    admin.save(update_fields=["password"])
    orders_before = query(tmp_path, "uk", "SELECT count(*) FROM spree_orders")

    # when
    seed(tmp_path)

    # then
    assert Instance.objects.count() == 3
    assert PricingPlan.objects.count() == 6
    assert ShopPlanAssignment.objects.count() == 3
    assert IssuerProfile.objects.count() == 3
    assert get_user_model().objects.count() == 5
    assert Membership.objects.count() == 6
    assert query(tmp_path, "uk", "SELECT count(*) FROM spree_orders") == orders_before
    assert get_user_model().objects.get(username="admin").check_password(DEMO_PASSWORD)
    assert not list(tmp_path.glob("*.building"))


@pytest.mark.django_db
def test_demo_seed_retires_plans_an_older_demo_left(tmp_path):
    # given: an older demo's single Katuma plan, code "standard"
    seed(tmp_path, slugs=["katuma"])
    katuma = Instance.objects.get(slug="katuma")
    PricingPlan.objects.filter(instance=katuma).delete()
    PricingPlan.objects.create(
        instance=katuma,
        name="Katuma interim",
        effective_from=dt.date(2024, 1, 1),
        fixed_fee=Decimal("2.00"),
        turnover_rate=Decimal("0.01"),
        tax_rate=Decimal("0.21"),
    )

    # when
    seed(tmp_path, slugs=["katuma"])

    # then
    plans = PricingPlan.objects.filter(instance=katuma).order_by("code")
    assert [(p.code, p.applies_to) for p in plans] == [
        ("consumer-groups", ["hub"]),
        ("producers", ["producer_shop", "producer_hub"]),
        ("standard", []),
    ]


def test_demo_replica_build_same_seed_gives_same_rows(tmp_path):
    # given
    katuma = DEMO_INSTANCES[2]

    # when
    for folder, seed_value in (("a", 2026), ("b", 2026), ("c", 7)):
        demo_replica_build(
            spec=katuma,
            as_of=AS_OF,
            seed=seed_value,
            scale=SCALE,
            replica_dir=tmp_path / folder,
        )

    # then
    def digest(folder):
        statement = "SELECT * FROM spree_orders ORDER BY id"
        rows = query(tmp_path / folder, "katuma", statement)
        return hashlib.sha256(repr(rows).encode()).hexdigest()

    assert digest("a") == digest("b") != digest("c")


@pytest.mark.django_db
def test_demo_seed_failure_leaves_no_registration(tmp_path, monkeypatch):
    # given: the second replica fails half-way
    real = storage.write_rows
    calls = []

    def failing(writer, rows):
        calls.append(1)
        if len(calls) == 2:
            raise sqlite3.OperationalError("disk I/O error")
        real(writer, rows)

    monkeypatch.setattr(storage, "write_rows", failing)

    # when
    with pytest.raises(sqlite3.OperationalError):
        seed(tmp_path)

    # then
    assert Instance.objects.count() == 0
    assert get_user_model().objects.count() == 0
    assert not list(tmp_path.glob("*.building"))


@pytest.mark.django_db
@pytest.mark.usefixtures("_replica_connections_allowed")
def test_demo_seed_replica_serves_the_portal(seeded):
    # given
    instance = Instance.objects.get(slug="uk")

    # when
    report = replica_check(instance)
    sales = shop_sales(instance=instance, month=Month(2026, 4), billable_days={})

    # then
    assert report.vendor == "sqlite"
    assert sales
    assert sum(s.turnover for s in sales.values()) > Decimal("0")


@pytest.mark.django_db
def test_demo_seed_builds_postgres_replica(tmp_path):
    # given
    _require_postgres()
    prefix = f"ofn_test_demo_{uuid.uuid4().hex[:8]}_"
    url = f"{POSTGRES_URL}/{prefix}au"

    # when
    try:
        report = demo_seed(
            as_of=AS_OF,
            scale=SCALE,
            slugs=["au"],
            postgres_url=POSTGRES_URL,
            postgres_prefix=prefix,
        )
        with psycopg.connect(url) as connection:
            states = {
                row[0]
                for row in connection.execute("SELECT DISTINCT state FROM spree_orders")
            }
            categories = {row[0] for row in connection.execute(CATEGORY_SQL)}
    finally:
        drop_postgres_replica(url)

    # then
    assert Instance.objects.get(slug="au").replica_url == url
    assert len(states) == 6
    assert len(categories) == 6
    assert report.instances[0].replica.startswith("postgresql ")
    assert "@" not in report.instances[0].replica


@pytest.mark.django_db
def test_seed_demo_command_prints_summary(tmp_path, capsys):
    # when
    call_command(
        "seed_demo",
        "--as-of",
        "2026-05-14",
        "--scale",
        str(SCALE),
        "--replica-dir",
        str(tmp_path),
        "--instance",
        "uk",
    )

    # then
    out = capsys.readouterr().out
    assert "Seeded 1 demo instances" in out
    assert f"sqlite {tmp_path / 'uk.sqlite3'}" in out
    assert "manager-uk" in out
    assert DEMO_PASSWORD in out


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "2026-13-01"], "--as-of '2026-13-01' is not a date"),
        (["--as-of", "14/05/2026"], "write it as YYYY-MM-DD"),
        (["--postgres", "postgresql://postgres@127.0.0.1:1"], "127.0.0.1:1"),
        (["--postgres", "mysql://db.example.org"], "is not a server URL"),
        (["--scale", "0"], "Scale 0.0 is out of range"),
    ],
    ids=["bad-month", "bad-format", "unreachable-postgres", "not-postgres", "scale"],
)
def test_seed_demo_command_rejects_bad_input(tmp_path, args, message):
    # when
    with pytest.raises(CommandError) as error:
        call_command("seed_demo", "--replica-dir", str(tmp_path), *args)

    # then
    assert message in str(error.value)
    assert "\n" not in str(error.value)
    assert Instance.objects.count() == 0
