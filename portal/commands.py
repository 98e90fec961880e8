"""Shared plumbing for management commands: one-line errors, never a traceback."""

import contextlib
import logging

from django.core.management.base import CommandError

from .exceptions import PortalError

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def command_errors():
    """Turn the portal's own errors into CommandError, printed as one line."""
    try:
        yield
    except PortalError as error:
        raise CommandError(str(error)) from error


def instance_or_error(slug: str):
    """The instance called `slug`, or a CommandError that says how to register one."""
    from instances.models import Instance

    instance = Instance.objects.filter(slug=slug).first()
    if instance is None:
        known = ", ".join(Instance.objects.values_list("slug", flat=True)) or "none yet"
        raise CommandError(
            f"No instance {slug!r} (known: {known}); add it with register_instance."
        )
    return instance


def month_option(value: str, *, instance):
    """`--month YYYY-MM`, or `last` for the instance's last full local month."""
    from django.utils import timezone

    from .periods import Month, last_full_month

    if value == "last":
        return last_full_month(time_zone=instance.time_zone, as_of=timezone.now())
    return Month.parse(value)
