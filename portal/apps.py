import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger(__name__)


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "OFN Portal"

    def ready(self) -> None:
        database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        if settings.CELERY_TASK_ALWAYS_EAGER:
            logger.info(
                "No REDIS_URL set: Celery tasks run in this process (database: %s).",
                database,
                extra={"database": database},
            )
