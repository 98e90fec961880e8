from django.core.management.base import BaseCommand

from instances.replicas import replica_check
from portal.commands import command_errors, instance_or_error


class Command(BaseCommand):
    help = (
        "Connect to an instance's replica, prove the session cannot write, and check "
        "that every table and column the portal reads exists."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")

    def handle(self, *args, **options):
        instance = instance_or_error(options["slug"])
        with command_errors():
            report = replica_check(instance)
        self.stdout.write(
            self.style.SUCCESS(
                f"Instance {instance.slug}: replica reachable ({report.vendor}), "
                f"read-only session, {report.tables_checked} tables with every column "
                "the portal reads."
            )
        )
