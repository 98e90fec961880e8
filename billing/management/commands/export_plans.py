import contextlib
import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from billing.plan_format import document_text
from billing.services.plans import plans_export
from portal.commands import command_errors, instance_or_error


def _write_atomically(path: Path, text: str) -> None:
    """Write beside `path`, then rename: readers see the old file or the new one."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        Path(temporary).replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(temporary).unlink()
        raise


class Command(BaseCommand):
    help = (
        "Export an instance's pricing plans and shop assignments as a plan file "
        "(format ofn-portal-plans/1, see docs/plans.md); import_plans reads it back."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument(
            "--output",
            "-o",
            type=Path,
            metavar="FILE",
            help="Write the file here (replaced at once); default: standard output.",
        )

    def handle(self, *args, **options):
        instance = instance_or_error(options["slug"])
        with command_errors():
            text = document_text(plans_export(instance=instance))
        output = options["output"]
        if output is None:
            self.stdout.write(text, ending="")
            return
        try:
            _write_atomically(output, text)
        except OSError as error:
            raise CommandError(f"Cannot write {output}: {error.strerror}.") from None
        self.stdout.write(
            self.style.SUCCESS(f"Plans of {instance.slug} written to {output}.")
        )
