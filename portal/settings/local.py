"""Developer laptops and the demo: SQLite and in-process tasks unless told otherwise."""

from .base import *  # noqa: F403
from .base import REDIS_URL, VAR_DIR, env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="local-only-not-a-secret-0f3c9a6d2b")  # noqa: S105

# Without a broker, tasks run in the calling process; portal.apps logs this at start-up.
CELERY_TASK_ALWAYS_EAGER = REDIS_URL is None
CELERY_TASK_EAGER_PROPAGATES = True

# The embedded default keeps its SQLite database, media and demo replicas under var/.
VAR_DIR.mkdir(parents=True, exist_ok=True)
