import logging

from django.db import transaction

from portal.audit import audit_record

from .models import Instance

logger = logging.getLogger(__name__)


def instance_register(*, slug: str, actor=None, **fields) -> tuple[Instance, bool]:
    """Create or update the instance `slug`; validates every field before saving."""
    with transaction.atomic():
        instance = Instance.objects.select_for_update().filter(slug=slug).first()
        created = instance is None
        instance = instance or Instance(slug=slug)
        for name, value in fields.items():
            setattr(instance, name, value)
        instance.full_clean()
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
