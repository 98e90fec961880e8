import datetime as dt
import re
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from instances.demo import DEFAULT_SEED, DEMO_INSTANCES, DemoReport, demo_seed
from portal.commands import command_errors

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _as_of(text: str | None) -> dt.datetime:
    """`--as-of` as an instant: noon UTC of that day, so every zone is on that date."""
    if text is None:
        return timezone.now()
    try:
        if not _DATE.match(text):
            raise ValueError(text)
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(
            f"--as-of {text!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-05-14."
        ) from None
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


class Command(BaseCommand):
    help = (
        "Build realistic demo OFN replicas (uk, au, katuma) with 24 months of orders, "
        "register them with their pricing plans (imported from plans/), shop plan "
        "assignments, issuer details and a few edited billing subjects, and (re)set "
        "the demo logins."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help=f"Random seed; the same seed and --as-of give the same data "
            f"(default {DEFAULT_SEED}).",
        )
        parser.add_argument(
            "--as-of",
            metavar="YYYY-MM-DD",
            help="Pretend today is this date (noon UTC); default: now.",
        )
        parser.add_argument(
            "--postgres",
            metavar="URL",
            help="Build each replica as database ofn_demo_<slug> on this PostgreSQL "
            "server (e.g. postgresql://postgres@127.0.0.1:5432) instead of SQLite.",
        )
        parser.add_argument(
            "--replica-dir",
            type=Path,
            help="Folder of the SQLite replicas (default: var/replicas).",
        )
        parser.add_argument(
            "--scale",
            type=float,
            default=1.0,
            help="Multiplies the number of enterprises and orders (default 1).",
        )
        parser.add_argument(
            "--instance",
            dest="slugs",
            action="append",
            choices=[spec.slug for spec in DEMO_INSTANCES],
            help="Seed only this instance (repeatable; default: all three).",
        )

    def handle(self, *args, **options):
        as_of = _as_of(options["as_of"])
        started = time.monotonic()
        with command_errors():
            report = demo_seed(
                as_of=as_of,
                seed=options["seed"],
                scale=options["scale"],
                slugs=options["slugs"],
                replica_dir=options["replica_dir"],
                postgres_url=options["postgres"],
            )
        seconds = time.monotonic() - started
        self._summary(report, seconds=seconds, as_of=as_of, seed=options["seed"])

    def _summary(self, report: DemoReport, *, seconds, as_of, seed) -> None:
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {len(report.instances)} demo instances in {seconds:.1f} s "
                f"(seed {seed}, as of {as_of:%Y-%m-%d %H:%M} UTC)."
            )
        )
        self.stdout.write(
            f"  {'slug':<8}{'name':<15}{'enterprises':>11}{'shops':>7}{'orders':>9}"
            "  replica"
        )
        for item in report.instances:
            self.stdout.write(
                f"  {item.slug:<8}{item.name:<15}{item.enterprises:>11}"
                f"{item.shops:>7}{item.orders:>9,}  {item.replica}"
            )
        self.stdout.write(f"Logins (password {report.password}):")
        for username, role in report.logins:
            self.stdout.write(f"  {username:<16}{role}")
