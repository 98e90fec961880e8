"""A real Celery worker for integration tests: its own queue, the test database.

The worker is a separate process, so it needs a portal database both can see
(PostgreSQL) and Redis. It runs `tests.billing.worker_app`, the portal's Celery app
with test-only hooks (slow renders), and `tests.billing.worker_settings`, the test
settings with a shared media folder and a file mailbox.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from portal.celery import app

ROOT = Path(__file__).resolve().parents[2]


def redis_url() -> str:
    return os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")


def require_worker_services() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("a separate worker process needs a shared (PostgreSQL) database")
    try:
        redis.Redis.from_url(redis_url()).ping()
    except redis.ConnectionError:
        pytest.skip("Redis is not reachable")


def worker_env(queue: str, **extra: str) -> dict[str, str]:
    db = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.billing.worker_settings",
        "DATABASE_URL": f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/"
        f"{db['NAME']}",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_QUEUE": queue,
        "REDIS_URL": redis_url(),
        "TEST_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        **extra,
    }


@contextlib.contextmanager
def celery_worker(monkeypatch, *, pool="solo", concurrency=1, **extra_env):
    """Start a worker on a fresh queue; tasks sent from the test go to it."""
    require_worker_services()
    queue = f"ofn-test-{uuid.uuid4().hex[:8]}"
    worker = subprocess.Popen(  # noqa: S603 - fixed arguments
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tests.billing.worker_app",
            "worker",
            "-Q",
            queue,
            "--pool",
            pool,
            "--concurrency",
            str(concurrency),
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=worker_env(queue, **extra_env),
        # Its own process group, so the children go with it at the end.
        start_new_session=True,
    )
    monkeypatch.setattr(app.conf, "task_always_eager", False)
    monkeypatch.setattr(app.conf, "broker_url", redis_url())
    monkeypatch.setattr(app.conf, "task_default_queue", queue)
    try:
        yield worker
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)


def wait_for(condition, *, worker, timeout=90, what="the worker"):
    """Poll `condition` until it is true; fail if the worker dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        assert worker.poll() is None, "the Celery worker died"
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")
