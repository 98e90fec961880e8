"""register_instance and check_replica, as an operator uses them."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command

from instances.models import Instance


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_register_instance_creates_then_updates_without_duplicates(sqlite_replica):
    # given
    args = [
        "register_instance",
        "katuma",
        "--name",
        "Katuma",
        "--replica-url",
        sqlite_replica.url,
        "--time-zone",
        "Europe/Madrid",
        "--currency",
        "eur",
        "--country",
        "es",
        "--language",
        "es",
    ]

    # when
    first = run(*args)
    second = run(*args[:3], "Katuma Coop", *args[4:])

    # then
    instance = Instance.objects.get(slug="katuma")
    assert "Registered instance katuma" in first
    assert "Updated instance katuma" in second
    assert Instance.objects.count() == 1
    assert (
        instance.name,
        instance.currency,
        instance.country,
        instance.invoice_prefix,
    ) == (
        "Katuma Coop",
        "EUR",
        "ES",
        "KATUMA",
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--time-zone", "Europe/Londres", "--time-zone: Time zone 'Europe/Londres'"),
        ("--currency", "EURO", "--currency:"),
    ],
    ids=["bad-zone", "bad-currency"],
)
def test_register_instance_names_the_bad_option(option, value, message):
    # given
    args = {
        "--time-zone": "Europe/London",
        "--currency": "GBP",
        option: value,
    }

    # when
    with pytest.raises(CommandError) as error:
        run(
            "register_instance",
            "uk",
            "--name",
            "OFN UK",
            "--replica-url",
            "sqlite:////tmp/none.sqlite3",
            *[x for pair in args.items() for x in pair],
        )

    # then
    assert message in str(error.value)
    assert "\n" not in str(error.value)
    assert not Instance.objects.exists()


@pytest.mark.django_db
def test_check_replica_reports_a_good_postgres_replica(pg_replica):
    pg_replica.instance("uk")

    output = run("check_replica", "uk")

    assert "replica reachable (postgresql), read-only session" in output


@pytest.mark.django_db
def test_check_replica_names_a_missing_column_and_table(pg_replica):
    # given a replica from an older OFN release
    pg_replica.writer.connection.execute(
        "ALTER TABLE enterprises DROP COLUMN external_billing_id"
    )
    pg_replica.writer.connection.execute("DROP TABLE versions")
    pg_replica.commit()
    pg_replica.instance("uk")

    # when
    with pytest.raises(CommandError) as error:
        run("check_replica", "uk")

    # then
    message = str(error.value)
    assert message.startswith("Instance uk: the replica lacks ")
    assert "column enterprises.external_billing_id" in message
    assert "table versions" in message


@pytest.mark.django_db
def test_check_replica_refuses_an_unknown_instance():
    with pytest.raises(CommandError, match="No instance 'nz'.*register_instance"):
        run("check_replica", "nz")


@pytest.mark.django_db
def test_check_replica_accepts_a_url_from_the_environment(pg_replica, monkeypatch):
    # given
    monkeypatch.setenv("OFN_UK_REPLICA_URL", pg_replica.url)
    Instance.objects.create(
        slug="uk",
        name="UK",
        currency="GBP",
        time_zone="Europe/London",
        invoice_prefix="UK",
        replica_url_env="OFN_UK_REPLICA_URL",
        created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )

    # when
    output = run("check_replica", "uk")

    # then
    assert "read-only session" in output
    assert "postgres@" not in output
