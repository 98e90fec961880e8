"""Throw-away OFN replicas for tests, built from replica_schema.sql.

PostgreSQL replicas are real databases on the local server (`TEST_POSTGRES_URL`, default
postgresql://postgres@127.0.0.1:5432); SQLite replicas are files in a temporary folder.
"""

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

from instances.models import Instance
from instances.replica_builder import (
    ReplicaWriter,
    create_postgres_replica,
    create_sqlite_replica,
    drop_postgres_replica,
)
from instances.replicas import unregister_replica

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432"
)


def postgres_available() -> bool:
    try:
        with psycopg.connect(f"{POSTGRES_URL}/postgres", connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@dataclass
class Replica:
    """A replica database under construction, and the instances pointed at it."""

    vendor: str
    url: str
    writer: ReplicaWriter

    def instance(self, slug: str = "uk", **fields) -> Instance:
        defaults = {
            "name": slug.upper(),
            "currency": "GBP",
            "time_zone": "Europe/London",
            "invoice_prefix": slug.upper().replace("-", ""),
            "replica_url": self.url,
            **fields,
        }
        instance, _ = Instance.objects.update_or_create(slug=slug, defaults=defaults)
        return instance

    def commit(self) -> None:
        self.writer.commit()


def build_replica(vendor: str, tmp_path: Path) -> Replica:
    if vendor == "postgresql":
        url = f"{POSTGRES_URL}/ofn_test_{uuid.uuid4().hex[:12]}"
        connection = create_postgres_replica(url)
    else:
        path = tmp_path / f"replica-{uuid.uuid4().hex[:8]}.sqlite3"
        url = f"sqlite:///{path}"
        connection = create_sqlite_replica(path)
    return Replica(vendor=vendor, url=url, writer=ReplicaWriter(connection))


def destroy_replica(replica: Replica) -> None:
    from django.db import connections

    for alias in [a for a in connections.settings if a.startswith("ofn_")]:
        unregister_replica(alias)
    replica.writer.connection.close()
    if replica.vendor == "postgresql":
        drop_postgres_replica(replica.url)
