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
    second = run(*args[:3], "Katuma Coop", *args[4:], "--update")

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


REGISTER_UK = [
    "register_instance", "uk", "--name", "OFN UK", "--replica-url",
    "sqlite:////tmp/uk.sqlite3", "--time-zone", "Europe/London", "--currency", "GBP",
]  # fmt: skip


@pytest.mark.django_db
def test_register_instance_refuses_to_change_an_instance_without_update():
    run(*REGISTER_UK)

    with pytest.raises(CommandError, match="Instance uk already exists; pass --update"):
        run(*REGISTER_UK[:3], "Renamed", *REGISTER_UK[4:])
    assert Instance.objects.get(slug="uk").name == "OFN UK"


@pytest.mark.django_db
def test_register_instance_keeps_the_currency_of_a_billed_instance():
    # given an instance with a billing run
    from billing.models import BillingRun

    run(*REGISTER_UK)
    instance = Instance.objects.get(slug="uk")
    BillingRun.objects.create(
        instance=instance, month=dt.date(2026, 5, 1), status="succeeded"
    )

    # when the currency would change
    with pytest.raises(CommandError, match="its currency cannot change"):
        run(*REGISTER_UK[:-1], "JPY", "--update")

    # then
    assert Instance.objects.get(slug="uk").currency == "GBP"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--country", "ZZ"], "--country: 'ZZ' is not an ISO 3166 country code"),
        (["--language", "klingon"], "--language: 'klingon' is not a language code"),
        (
            ["--statement-timeout-ms", "0"],
            "--statement-timeout-ms: Use at least 1000 ms",
        ),
    ],
    ids=["country", "language", "timeout"],
)
def test_register_instance_rejects_bad_codes(extra, message):
    with pytest.raises(CommandError, match=message):
        run(*REGISTER_UK, *extra)
    assert not Instance.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["not-a-url", "mysql://u:p@db/ofn"], ids=["text", "mysql"]
)
def test_register_instance_rejects_a_replica_url_that_cannot_work(url):
    args = list(REGISTER_UK)
    args[5] = url

    with pytest.raises(CommandError) as error:
        run(*args)

    assert "Instance uk" in str(error.value)
    assert not Instance.objects.exists()


@pytest.mark.django_db
def test_register_instance_names_the_slug_argument_for_a_bad_slug():
    with pytest.raises(CommandError) as error:
        run("register_instance", "Bad Slug!", *REGISTER_UK[2:])

    assert "SLUG:" in str(error.value)
    assert "--invoice-prefix" not in str(error.value)
