import datetime as dt
import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from billing.exports import ExportFormat, ExportScope, invoice_export
from portal.commands import command_errors, instance_or_error, month_option


class Command(BaseCommand):
    help = (
        "Write an instance's issued invoices and credit notes (never drafts) as the "
        "accountant CSV or Xero's sales-invoice import CSV, UTF-8 with a byte order "
        "mark, amounts as plain numbers (billing rule 10)."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument(
            "--month", help="Billing month YYYY-MM, or last (last full local month)"
        )
        parser.add_argument(
            "--format",
            dest="export_format",
            choices=ExportFormat.values,
            default=ExportFormat.CSV,
            help="csv: one row per invoice; xero: Xero's import layout, one per line",
        )
        parser.add_argument(
            "--from", dest="issued_from", type=_date, help="First issue date YYYY-MM-DD"
        )
        parser.add_argument(
            "--to", dest="issued_to", type=_date, help="Last issue date YYYY-MM-DD"
        )
        parser.add_argument(
            "--output", type=Path, help="Write to this file (default: standard output)"
        )

    def handle(self, *args, **options):
        instance = instance_or_error(options["slug"])
        with command_errors():
            month = options["month"] and month_option(
                options["month"], instance=instance
            )
            scope = ExportScope(
                month=month or None,
                issued_from=options["issued_from"],
                issued_to=options["issued_to"],
            )
            # The command line is an operator's: personal data is not masked.
            export = invoice_export(
                instance=instance,
                scope=scope,
                export_format=options["export_format"],
                reveal_personal=True,
            )
        output = options["output"]
        if output is None:
            self.stdout.write(export.content.decode("utf-8"), ending="")
            return
        write_atomically(output, export.content)
        self.stderr.write(
            f"Wrote {export.documents} documents of {instance.slug} ({scope.label}) "
            f"to {output}."
        )


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(
            f"Date {text!r} is not valid: write it as YYYY-MM-DD, e.g. 2026-12-31."
        ) from None


def write_atomically(path: Path, content: bytes) -> None:
    """Write `content` to `path` through a temporary file in the same folder.

    The rename is atomic, so a reader (or a failure half way) never sees a file
    half written: there is the old file, the new one, or none.
    """
    folder = path.parent if str(path.parent) else Path()
    if not folder.is_dir():
        raise CommandError(f"Folder {folder} does not exist; create it first.")
    handle, temporary = tempfile.mkstemp(
        dir=folder, prefix=f".{path.name}.", suffix=".part"
    )
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
