"""The test suite: PostgreSQL when DATABASE_URL is set (CI), else SQLite in memory."""

import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = "test-only-not-a-secret"  # noqa: S105
DEBUG = False
DATABASES = {"default": env.db("DATABASE_URL", default="sqlite://:memory:")}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# In process, except for the worker that the Celery integration tests start themselves.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_BROKER_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/15")
CELERY_TASK_EAGER_PROPAGATES = True
# One folder for every test process (worker subprocesses included), reused run to run.
MEDIA_ROOT = Path(tempfile.gettempdir()) / "ofn-portal-test-media"
