"""Registering and checking replicas; every failure is one line without secrets."""

import datetime as dt
import os
from zoneinfo import ZoneInfo

import psycopg
import pytest
from django.db import connections
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from instances.models import Order
from instances.replicas import (
    redact_url,
    register_replica,
    replica_check,
    replica_database_settings,
)
from portal.exceptions import ReplicaError, ReplicaSchemaMismatch, ReplicaUnavailable

WRONG_PASSWORD = "wrong-Secret-7f3a"  # noqa: S105 - the point of the test
AUTH_PROBE_URL = (
    f"postgresql://ofn_portal_auth_probe:{WRONG_PASSWORD}@127.0.0.1:5432/postgres"
)


def _require_password_auth():
    try:
        with psycopg.connect(AUTH_PROBE_URL, connect_timeout=3):
            accepted = True
    except psycopg.OperationalError as error:
        accepted = "password authentication failed" not in str(error)
    if accepted:
        reason = (
            "role ofn_portal_auth_probe needs a password: run bin/pg-auth-probe-setup"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def _one_line(error: ReplicaError, slug: str) -> str:
    message = str(error)
    assert "\n" not in message
    assert message.startswith(f"Instance {slug}: ")
    return message


@pytest.mark.django_db
def test_replica_check_accepts_a_read_only_replica(any_replica):
    # given
    any_replica.commit()
    instance = any_replica.instance("uk")

    # when
    report = replica_check(instance)

    # then
    assert report.alias == "ofn_uk"
    assert report.vendor == any_replica.vendor
    assert report.read_only is True
    # customers, enterprises, order_cycles, spree_addresses (owners' bill address),
    # spree_orders, spree_users, versions
    assert report.tables_checked == 7


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("ddl", "missing"),
    [
        ("ALTER TABLE spree_orders DROP COLUMN state", "column spree_orders.state"),
        ("DROP TABLE versions", "table versions"),
    ],
    ids=["column", "table"],
)
def test_replica_check_names_what_is_missing(any_replica, ddl, missing):
    # given
    any_replica.writer.connection.execute(ddl)
    any_replica.commit()
    instance = any_replica.instance("old")

    # when
    with pytest.raises(ReplicaSchemaMismatch) as caught:
        replica_check(instance)

    # then
    message = _one_line(caught.value, "old")
    assert f"lacks {missing};" in message


@pytest.mark.django_db
@pytest.mark.usefixtures("_replica_connections_allowed")
def test_replica_check_replica_down_is_one_line_without_password(pg_replica):
    # given
    instance = pg_replica.instance(
        "down", replica_url="postgresql://portal:Pa55-word@127.0.0.1:1/ofn"
    )

    # when
    with pytest.raises(ReplicaUnavailable) as caught:
        replica_check(instance)

    # then
    message = _one_line(caught.value, "down")
    assert "Connection refused" in message
    assert "Pa55-word" not in message


@pytest.mark.django_db
@pytest.mark.usefixtures("_replica_connections_allowed")
def test_replica_check_missing_database_is_unavailable_not_schema(pg_replica):
    # given: the server answers but the database is not there
    instance = pg_replica.instance("gone", replica_url=pg_replica.url + "_missing")

    # when
    with pytest.raises(ReplicaUnavailable) as caught:
        replica_check(instance)

    # then
    assert "does not exist" in _one_line(caught.value, "gone")


@pytest.mark.django_db
@pytest.mark.usefixtures("_replica_connections_allowed")
def test_replica_check_wrong_password_is_one_line_without_it(pg_replica):
    # given
    _require_password_auth()
    instance = pg_replica.instance("auth", replica_url=AUTH_PROBE_URL)

    # when
    with pytest.raises(ReplicaUnavailable) as caught:
        replica_check(instance)

    # then
    message = _one_line(caught.value, "auth")
    assert "password authentication failed" in message
    assert WRONG_PASSWORD not in message


@pytest.mark.django_db
def test_replica_database_settings_postgres_session_options(pg_replica):
    # given
    instance = pg_replica.instance("uk", statement_timeout_ms=4321)

    # when
    settings = replica_database_settings(instance)

    # then
    assert settings["TIME_ZONE"] is None
    assert settings["OPTIONS"]["options"] == (
        "-c default_transaction_read_only=on -c statement_timeout=4321 -c TimeZone=UTC"
    )


@pytest.mark.django_db
def test_register_replica_reuses_the_open_connection(any_replica):
    # given
    any_replica.commit()
    instance = any_replica.instance("uk")
    alias = register_replica(instance)
    connection = connections[alias]
    connection.ensure_connection()

    # when
    again = register_replica(instance)

    # then
    assert again == alias == "ofn_uk"
    assert connections[alias] is connection
    assert connection.connection is not None


def test_redact_url_drops_user_and_password():
    assert (
        redact_url("postgresql://ofn:s3cret@db.example.org:5433/ofn_uk")
        == "postgresql://db.example.org:5433/ofn_uk"
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "bound",
    [dt.datetime(2026, 5, 1), dt.date(2026, 5, 1), "2026-05-01 00:00"],  # noqa: DTZ001
    ids=["naive-datetime", "date", "string"],
)
def test_utc_datetime_field_refuses_zone_less_bounds(any_replica, bound):
    # given
    any_replica.commit()
    alias = register_replica(any_replica.instance("uk"))

    # when
    with (
        CaptureQueriesContext(connections[alias]) as queries,
        pytest.raises(TypeError, match="use an aware datetime"),
    ):
        list(Order.objects.using(alias).filter(completed_at__gte=bound))

    # then
    assert queries.captured_queries == []


@pytest.mark.django_db
def test_utc_datetime_field_reads_utc_and_compares_in_utc(any_replica):
    # given: one order at 2026-04-30T23:30Z, i.e. 1 May 00:30 in London
    w = any_replica.writer
    w.user(1, "owner@example.com", dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    w.enterprise(
        1, owner_id=1, sells="any", created_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    )
    w.order(
        1,
        distributor_id=1,
        state="complete",
        completed_at=dt.datetime(2026, 4, 30, 23, 30, tzinfo=dt.UTC),
        total="1.00",
    )
    any_replica.commit()
    alias = register_replica(any_replica.instance("uk"))
    london_may = dt.datetime(2026, 5, 1, tzinfo=ZoneInfo("Europe/London"))

    # when
    with override_settings(TIME_ZONE="Asia/Tokyo"):
        found = list(Order.objects.using(alias).filter(completed_at__gte=london_may))

    # then
    assert [order.completed_at for order in found] == [
        dt.datetime(2026, 4, 30, 23, 30, tzinfo=dt.UTC)
    ]
    assert found[0].completed_at.utcoffset() == dt.timedelta(0)
