import re

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from instances.services import instance_register
from portal.commands import command_errors


def _prefix_from(slug: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", slug.upper())


def _option_name(field: str) -> str:
    return "SLUG" if field == "slug" else f"--{field.replace('_', '-')}"


class Command(BaseCommand):
    help = (
        "Register (or update) an OFN instance and how to reach its read-only replica."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="Short name used in URLs, e.g. uk")
        parser.add_argument("--name", required=True, help="Display name, e.g. 'OFN UK'")
        replica = parser.add_mutually_exclusive_group(required=True)
        replica.add_argument("--replica-url", help="postgresql://user:pass@host/db")
        replica.add_argument(
            "--replica-url-env",
            help="Name of an environment variable that holds the replica URL",
        )
        parser.add_argument("--time-zone", required=True, help="IANA zone")
        parser.add_argument("--currency", required=True, help="ISO 4217 code, e.g. GBP")
        parser.add_argument("--country", default="", help="ISO 3166 code, e.g. GB")
        parser.add_argument("--language", default="en", help="e.g. en, es, fr, ca")
        parser.add_argument(
            "--invoice-prefix", help="Invoice number prefix (default: slug)"
        )
        parser.add_argument(
            "--statement-timeout-ms", type=int, help="Replica statement timeout (ms)"
        )
        parser.add_argument(
            "--update", action="store_true", help="Change an instance that exists"
        )

    def handle(self, *args, **options):
        fields = {
            "name": options["name"],
            "replica_url": options["replica_url"] or "",
            "replica_url_env": options["replica_url_env"] or "",
            "time_zone": options["time_zone"],
            "currency": options["currency"].upper(),
            "country": options["country"].upper(),
            "language": options["language"],
            "invoice_prefix": options["invoice_prefix"]
            or _prefix_from(options["slug"]),
        }
        if options["statement_timeout_ms"] is not None:
            fields["statement_timeout_ms"] = options["statement_timeout_ms"]
        with command_errors():
            try:
                instance, created = instance_register(
                    slug=options["slug"], allow_update=options["update"], **fields
                )
            except ValidationError as error:
                problems = "; ".join(
                    f"{_option_name(name)}: {' '.join(messages)}"
                    for name, messages in error.message_dict.items()
                )
                raise CommandError(
                    f"Instance {options['slug']} not saved: {problems}"
                ) from None
        verb = "Registered" if created else "Updated"
        self.stdout.write(
            self.style.SUCCESS(f"{verb} instance {instance.slug} ({instance.name}).")
        )
        self.stdout.write(f"Check it with: manage.py check_replica {instance.slug}")
