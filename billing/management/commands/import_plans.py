from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from billing.plan_format import document_parse
from billing.services.plans import plans_import
from portal.commands import command_errors, instance_or_error


class Command(BaseCommand):
    help = (
        "Import pricing plans and shop assignments from a plan file (format "
        "ofn-portal-plans/1, see docs/plans.md). Everything is checked first and "
        "every problem is reported; nothing is written unless all is well."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="The plan file (JSON)")
        parser.add_argument(
            "--instance",
            metavar="SLUG",
            help="Import into this instance instead of the one the file names.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check the file and say what would change, without writing.",
        )

    def handle(self, *args, **options):
        instance = None
        if options["instance"]:
            instance = instance_or_error(options["instance"])
        path = options["file"]
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}.") from None
        with command_errors():
            result = plans_import(
                instance=instance,
                document=document_parse(data),
                dry_run=options["dry_run"],
            )
        self.stdout.write(self.style.SUCCESS(result.summary()))
