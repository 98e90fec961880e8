import logging

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from django.core.exceptions import ValidationError
from django.db import transaction

from portal.audit import audit_record
from portal.exceptions import InvalidInput

from .models import Instance

logger = logging.getLogger(__name__)

# Below this a replica query can hardly finish; 0 would switch PostgreSQL's limit off.
MIN_STATEMENT_TIMEOUT_MS = 1_000
# Changing these re-denominates or re-dates every figure already billed.
_FROZEN_ONCE_BILLED = ("currency", "time_zone")


def _check_codes(fields: dict) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    country = fields.get("country")
    if country and (
        len(country) != 2
        or country == "ZZ"
        or country not in get_global("territory_currencies")
    ):
        problems["country"] = [
            f"{country!r} is not an ISO 3166 country code (e.g. GB)."
        ]
    language = fields.get("language")
    if language is not None:
        try:
            Locale.parse(language.replace("-", "_"))
        except (UnknownLocaleError, ValueError):
            problems["language"] = [
                f"{language!r} is not a language code (e.g. en, es)."
            ]
    timeout = fields.get("statement_timeout_ms")
    if timeout is not None and timeout < MIN_STATEMENT_TIMEOUT_MS:
        problems["statement_timeout_ms"] = [
            f"Use at least {MIN_STATEMENT_TIMEOUT_MS} ms (OFN's own limit is 30000)."
        ]
    return problems


def _check_frozen(instance: Instance, fields: dict) -> None:
    changed = [
        name
        for name in _FROZEN_ONCE_BILLED
        if name in fields and fields[name] != getattr(instance, name)
    ]
    if changed and instance.billing_runs.exists():
        raise InvalidInput(
            f"Instance {instance.slug} has billing runs; its {' and '.join(changed)} "
            "cannot change, or past bills would change meaning. Register a new one."
        )


def instance_register(
    *, slug: str, actor=None, allow_update: bool = True, **fields
) -> tuple[Instance, bool]:
    """Create or update the instance `slug`; validates every field before saving.

    With `allow_update=False` an existing instance is refused rather than changed.
    """
    from .replicas import replica_database_settings

    with transaction.atomic():
        instance = Instance.objects.select_for_update().filter(slug=slug).first()
        created = instance is None
        if not created and not allow_update:
            raise InvalidInput(
                f"Instance {slug} already exists; pass --update to change it."
            )
        if not created:
            _check_frozen(instance, fields)
        instance = instance or Instance(slug=slug)
        for name, value in fields.items():
            setattr(instance, name, value)
        problems = _check_codes(fields)
        try:
            instance.full_clean()
        except ValidationError as error:
            problems = {**error.message_dict, **problems}
        if problems:
            raise ValidationError(problems)
        if not instance.replica_url_env:
            replica_database_settings(instance)  # a URL that cannot work is refused now
        instance.save()
        audit_record(
            action="instance.registered" if created else "instance.updated",
            target=instance,
            actor=actor,
            instance=instance,
            details={"fields": sorted(fields)},
        )
    logger.info(
        "Instance registered",
        extra={"instance": instance.slug, "was_created": created},
    )
    return instance, created
