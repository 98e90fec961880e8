import os

import pytest
from django.db.backends.base.base import BaseDatabaseWrapper

from .replicas import build_replica, destroy_replica, postgres_available

_POSTGRES = None


@pytest.fixture
def _replica_connections_allowed(monkeypatch, django_db_blocker):
    """Let tests reach replica aliases registered at run time.

    Django's TestCase refuses connections to aliases it was not told about when the test
    class was set up; replicas are registered later, by the code under test. This runs
    after pytest-django's (autouse) database fixture and is undone before it.
    """
    guarded = BaseDatabaseWrapper.ensure_connection
    real = django_db_blocker._real_ensure_connection

    def ensure_connection(self, *args, **kwargs):
        if self.alias.startswith("ofn_"):
            return real(self, *args, **kwargs)
        return guarded(self, *args, **kwargs)

    monkeypatch.setattr(BaseDatabaseWrapper, "ensure_connection", ensure_connection)


def _require_postgres():
    global _POSTGRES
    if _POSTGRES is None:
        _POSTGRES = postgres_available()
    if not _POSTGRES:
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail(
                "PostgreSQL is required (REQUIRE_POSTGRES is set) but unreachable."
            )
        pytest.skip("PostgreSQL is not reachable on TEST_POSTGRES_URL")


@pytest.fixture
def pg_replica(tmp_path, _replica_connections_allowed):
    """An empty OFN replica on PostgreSQL, built from replica_schema.sql."""
    _require_postgres()
    replica = build_replica("postgresql", tmp_path)
    yield replica
    destroy_replica(replica)


@pytest.fixture
def sqlite_replica(tmp_path, _replica_connections_allowed):
    """An empty OFN replica in SQLite, the embedded default's dialect."""
    replica = build_replica("sqlite", tmp_path)
    yield replica
    destroy_replica(replica)


@pytest.fixture(params=["postgresql", "sqlite"])
def any_replica(request, tmp_path, _replica_connections_allowed):
    """The same test on a PostgreSQL replica and on a SQLite one."""
    if request.param == "postgresql":
        _require_postgres()
    replica = build_replica(request.param, tmp_path)
    yield replica
    destroy_replica(replica)
