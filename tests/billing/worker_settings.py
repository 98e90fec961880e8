"""Settings of the Celery worker the integration tests start (tests.billing.workers).

The test settings, with the media folder of the test process that started the worker
(so both see the same PDFs) and a file mailbox the test can read.
"""

from pathlib import Path

from portal.settings.test import *  # noqa: F403
from portal.settings.test import env

MEDIA_ROOT = Path(env("TEST_MEDIA_ROOT"))
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = env("TEST_EMAIL_DIR", default=str(MEDIA_ROOT / "outbox"))
