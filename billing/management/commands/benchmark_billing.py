import os
from urllib.parse import urlsplit, urlunsplit

from django.core.management.base import BaseCommand, CommandError

from billing.benchmarks.suite import BenchmarkOptions, benchmark_run
from portal.commands import command_errors
from portal.periods import Month

DEFAULT_SERVER = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432"
)
DEFAULT_DATABASE = "ofn_benchmark"


class Command(BaseCommand):
    help = (
        "Benchmark billing (issue 3): build a large PostgreSQL replica, time a billing "
        "run against the replica SQL it rests on, portal PDF rendering against bare "
        "WeasyPrint, and the W01 annual statement with its peak memory. Prints the "
        "figures and ratios; a missed target prints TARGET MISSED and still exits 0."
    )

    def add_arguments(self, parser):
        parser.add_argument("--shops", type=int, default=2000)
        parser.add_argument("--orders", type=int, default=1_000_000)
        where = parser.add_mutually_exclusive_group()
        where.add_argument(
            "--replica-url",
            help="postgresql://.../NAME of the replica to build; it is DROPPED and "
            "rebuilt, so NAME must contain 'bench'.",
        )
        where.add_argument(
            "--postgres",
            metavar="SERVER_URL",
            help=f"PostgreSQL server to build {DEFAULT_DATABASE} on "
            f"(default {DEFAULT_SERVER}).",
        )
        parser.add_argument(
            "--keep",
            action="store_true",
            help="Keep the replica and the 'benchmark' instance afterwards, and reuse "
            "a replica built earlier with the same sizes.",
        )
        parser.add_argument("--renders", type=int, default=50, help="PDF invoices")
        parser.add_argument("--repeats", type=int, default=5)
        parser.add_argument("--statement-rows", type=int, default=5000, help="W01")
        parser.add_argument("--month", default="2026-05", help="YYYY-MM")
        parser.add_argument("--time-zone", default="Europe/Madrid")
        parser.add_argument(
            "--profile", choices=["auto", "always", "never"], default="auto"
        )

    def handle(self, *args, **options):
        for name in ("shops", "orders", "renders", "repeats", "statement_rows"):
            if options[name] < 1:
                raise CommandError(f"--{name.replace('_', '-')} must be at least 1.")
        with command_errors():
            settings = BenchmarkOptions(
                shops=options["shops"],
                orders=options["orders"],
                month=Month.parse(options["month"]),
                time_zone=options["time_zone"],
                replica_url=_replica_url(options),
                keep=options["keep"],
                renders=options["renders"],
                repeats=options["repeats"],
                statement_rows=options["statement_rows"],
                profile=options["profile"],
            )
            benchmark_run(settings, self.stdout)


def _replica_url(options) -> str:
    if options["replica_url"]:
        return options["replica_url"]
    server = urlsplit(options["postgres"] or DEFAULT_SERVER)
    return urlunsplit(server._replace(path=f"/{DEFAULT_DATABASE}"))
