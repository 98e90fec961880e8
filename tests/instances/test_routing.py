"""Case D03: portal models on `default`, OFN models on their replica, never written."""

import asyncio
import datetime as dt
import re
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import DatabaseError, connections, router, transaction
from django.test.utils import CaptureQueriesContext

from billing.models import BillingRun, Invoice
from instances.models import Enterprise, Order
from instances.replicas import register_replica, required_columns
from portal.exceptions import ReplicaWriteRefused, WrongDatabase

UTC = dt.UTC


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def _portal_tables() -> set[str]:
    return {model._meta.db_table for model in apps.get_models() if model._meta.managed}


def _tables_in(sql: str) -> set[str]:
    return {
        name.strip('"')
        for name in re.findall(r'(?:FROM|JOIN|INTO|UPDATE)\s+("?\w+"?)', sql, re.I)
    }


def _write_attempts(alias: str, enterprise: Enterprise, order: Order):
    """Every way of writing through an OFN model, each as a thunk."""
    enterprises = Enterprise.objects.using(alias)
    new = Enterprise(id=999, permalink="new", owner_id=1, sells="any", visible="public")
    return {
        "save": enterprise.save,
        "save-using": lambda: enterprise.save(using=alias),
        "save-force-insert": lambda: new.save(using=alias, force_insert=True),
        "delete": enterprise.delete,
        "create": lambda: enterprises.create(permalink="x", owner_id=1, sells="any"),
        "filter-update": lambda: enterprises.filter(id=101).update(sells="none"),
        "filter-delete": lambda: enterprises.filter(id=101).delete(),
        "all-delete": lambda: Order.objects.using(alias).all().delete(),
        "bulk-create": lambda: enterprises.bulk_create([new]),
        "bulk-update": lambda: enterprises.bulk_update([enterprise], ["sells"]),
        "get-or-create": lambda: enterprises.get_or_create(id=101),
        "update-or-create": lambda: enterprises.update_or_create(
            id=101, defaults={"sells": "none"}
        ),
        "base-manager-update": lambda: (
            Enterprise._base_manager.using(alias).filter(id=101).update(sells="none")
        ),
        "order-save": order.save,
        "asave": lambda: asyncio.run(enterprise.asave()),
        "adelete": lambda: asyncio.run(enterprise.adelete()),
        "acreate": lambda: asyncio.run(enterprises.acreate(permalink="x")),
        "aupdate": lambda: asyncio.run(enterprises.filter(id=101).aupdate(sells="x")),
        "adelete-qs": lambda: asyncio.run(enterprises.filter(id=101).adelete()),
        "abulk-create": lambda: asyncio.run(enterprises.abulk_create([new])),
        "abulk-update": lambda: asyncio.run(
            enterprises.abulk_update([enterprise], ["sells"])
        ),
        "aget-or-create": lambda: asyncio.run(enterprises.aget_or_create(id=101)),
        "aupdate-or-create": lambda: asyncio.run(
            enterprises.aupdate_or_create(id=101, defaults={"sells": "none"})
        ),
    }


@pytest.mark.django_db
def test_ofn_models_refuse_writes_inside_portal_transaction(any_replica):
    # given
    w = any_replica.writer
    w.user(1, "owner@example.com", at(2025, 1, 1))
    w.enterprise(101, owner_id=1, sells="any", created_at=at(2025, 1, 1))
    w.order(
        1,
        distributor_id=101,
        state="complete",
        completed_at=at(2026, 5, 3),
        total="12.50",
    )
    any_replica.commit()
    instance = any_replica.instance("uk")
    alias = register_replica(instance)
    refused = {}

    with (
        CaptureQueriesContext(connections[alias]) as replica_queries,
        transaction.atomic(),
    ):
        # when: 1. a draft on default
        run = BillingRun.objects.create(
            instance=instance, month=dt.date(2026, 5, 1), status="running"
        )
        draft = Invoice.objects.create(
            run=run,
            instance=instance,
            month=run.month,
            subject_key="owner:17",
            subject_name="Subject 17",
            currency="GBP",
            tax_rate=Decimal("0"),
            net=Decimal("0"),
            tax=Decimal("0"),
            gross=Decimal("0"),
        )
        # 2. read back on default
        with CaptureQueriesContext(connections["default"]) as default_queries:
            fetched = Invoice.objects.get(pk=draft.pk)
        # 3. OFN orders on the replica
        orders = list(Order.objects.using(alias).filter(distributor_id=101))
        enterprise = Enterprise.objects.using(alias).get(id=101)
        reads = len(replica_queries.captured_queries)
        # 4. every write through an OFN model
        for name, attempt in _write_attempts(alias, enterprise, orders[0]).items():
            with pytest.raises(ReplicaWriteRefused) as caught:
                attempt()
            refused[name] = str(caught.value)

    # then
    assert fetched._state.db == "default"
    assert len(default_queries.captured_queries) == 1
    assert [(o.id, o.total, o._state.db) for o in orders] == [
        (1, Decimal("12.50"), alias)
    ]
    assert reads == 2
    assert len(replica_queries.captured_queries) == reads, "a write reached SQL"
    assert all("refused" in message for message in refused.values())
    replica_tables = set().union(
        *(_tables_in(q["sql"]) for q in replica_queries.captured_queries)
    )
    assert replica_tables == {"spree_orders", "enterprises"}
    assert not replica_tables & _portal_tables()
    assert replica_tables <= set(required_columns())


@pytest.mark.django_db
def test_ofn_models_without_replica_alias_touch_no_database(any_replica):
    # given
    any_replica.commit()
    instance = any_replica.instance("uk")
    alias = register_replica(instance)

    # when
    with (
        CaptureQueriesContext(connections["default"]) as default_queries,
        CaptureQueriesContext(connections[alias]) as replica_queries,
        pytest.raises(WrongDatabase, match="using\\(instance.replica_alias\\)"),
    ):
        Enterprise.objects.count()

    # then
    assert default_queries.captured_queries == []
    assert replica_queries.captured_queries == []


@pytest.mark.django_db
def test_postgres_replica_session_is_read_only_with_instance_timeout(pg_replica):
    # given
    pg_replica.commit()
    instance = pg_replica.instance("uk", statement_timeout_ms=4321)
    connection = connections[register_replica(instance)]

    # when: the second guard, a raw write that bypasses the models
    with (
        pytest.raises(DatabaseError, match="read-only transaction"),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO spree_users (id, email, created_at, updated_at) "
            "VALUES (1, 'x@example.com', now(), now())"
        )

    # then
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        shown = cursor.fetchone()[0]
        cursor.execute(
            "SELECT setting, unit FROM pg_settings WHERE name = 'statement_timeout'"
        )
        setting = cursor.fetchone()
        cursor.execute("SHOW default_transaction_read_only")
        read_only = cursor.fetchone()[0]
        cursor.execute("SHOW TimeZone")
        time_zone = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM spree_users")
        users = cursor.fetchone()[0]
    assert shown == "4321ms"
    assert setting == ("4321", "ms")
    assert read_only == "on"
    assert time_zone == "UTC"
    assert users == 0


@pytest.mark.parametrize(
    ("model", "read", "write"),
    [(Invoice, "default", "default"), (BillingRun, "default", "default")],
    ids=["invoice", "billing-run"],
)
def test_router_keeps_portal_models_on_default(model, read, write):
    assert router.db_for_read(model) == read
    assert router.db_for_write(model) == write


@pytest.mark.parametrize(
    ("alias", "allowed"),
    [("default", True), ("ofn_uk", False)],
    ids=["default", "replica"],
)
def test_router_never_migrates_a_replica(alias, allowed):
    assert router.allow_migrate(alias, "billing", model_name="invoice") is allowed
