"""Settings: production refuses to run without its secrets and passes check --deploy."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "portal.settings.production",
    "SECRET_KEY": "x7$k2!vQ9pL#mN4rT8wZ1yB6cF3hJ5sD0gA&eU-iO+pXqRtYvW",
    "DATABASE_URL": "postgresql://portal:secret@127.0.0.1:5432/portal",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "ALLOWED_HOSTS": "portal.example.org",
}


def manage(*args, **env_overrides) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION}
    env.update(env_overrides)
    return subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_settings_pass_check_deploy():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}

    result = manage("check", **env)

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_settings_refuse_sqlite():
    result = manage(
        "check", **{**PRODUCTION, "DATABASE_URL": "sqlite:////tmp/portal.db"}
    )

    assert result.returncode != 0
    assert "Production needs DATABASE_URL to point at PostgreSQL" in result.stderr


def test_local_settings_say_tasks_run_in_process(tmp_path):
    result = manage(
        "check",
        DJANGO_SETTINGS_MODULE="portal.settings.local",
        DATABASE_URL=f"sqlite:///{tmp_path}/portal.sqlite3",
    )

    assert result.returncode == 0, result.stderr
    assert "No REDIS_URL set: Celery tasks run in this process" in result.stderr
