"""Writing a demo replica: a SQLite file or a PostgreSQL database, swapped in whole.

Each replica is written under a temporary name through the builder's own connection
(never through Django's read-only replica aliases) and only replaces the previous one
once complete.
"""

import contextlib
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from portal.exceptions import InvalidInput, ReplicaUnavailable

from ..replica_builder import (
    ReplicaWriter,
    create_postgres_replica,
    drop_postgres_replica,
    sqlite_schema_sql,
)
from ..replicas import redact_url

_CHUNK_ROWS = 5_000
# Parents before children, so PostgreSQL's foreign keys hold at every insert.
_TABLES = (
    "spree_users",
    "enterprises",
    "enterprise_roles",
    "customers",
    "order_cycles",
    "spree_orders",
    "versions",
)


def write_rows(writer: ReplicaWriter, rows: dict[str, list[dict]]) -> None:
    for table in _TABLES:
        for start in range(0, len(rows[table]), _CHUNK_ROWS):
            writer.insert_many(table, rows[table][start : start + _CHUNK_ROWS])
    writer.commit()


def _sqlite_replica(path: Path) -> sqlite3.Connection:
    """create_sqlite_replica's schema, loaded in one transaction without syncing.

    A crash only loses the `.building` file, so durability is not needed; loaded
    statement by statement, the ~120 CREATEs cost a disk sync each (1 to 2 s per
    replica on a busy disk, against a few milliseconds here).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA synchronous = OFF")
    connection.executescript(f"BEGIN;\n{sqlite_schema_sql()}\nCOMMIT;")
    return connection


def sqlite_build(*, path: Path, rows: dict) -> str:
    """Write the replica beside `path` and move it into place once complete."""
    building = path.with_name(f"{path.name}.building")
    connection = _sqlite_replica(building)
    try:
        write_rows(ReplicaWriter(connection), rows)
    except BaseException:
        connection.close()
        building.unlink(missing_ok=True)
        raise
    connection.close()
    building.replace(path)
    return f"sqlite:///{path}"


def _server(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 5432}"


def postgres_server_check(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres") or not parts.hostname:
        raise InvalidInput(
            f"--postgres {redact_url(url)!r} is not a server URL; use one such as "
            "postgresql://postgres@127.0.0.1:5432"
        )
    try:
        with psycopg.connect(_server(url, "postgres"), connect_timeout=5):
            pass
    except psycopg.Error as error:
        cause = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ReplicaUnavailable(
            f"PostgreSQL at {_where(url)} is not reachable ({cause}); start it (e.g. "
            "`pg_ctlcluster 15 main start` or `sudo service postgresql start`) or "
            "pass another --postgres URL."
        ) from None


def postgres_build(*, server_url: str, name: str, rows: dict) -> str:
    """Build database `name` under a temporary name, then swap it in."""
    url, building = _server(server_url, name), _server(server_url, f"{name}_build")
    try:
        connection = create_postgres_replica(building)
        try:
            write_rows(ReplicaWriter(connection), rows)
        finally:
            connection.close()
        with psycopg.connect(_server(server_url, "postgres"), autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)
                )
            )
            admin.execute(
                sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(f"{name}_build"), sql.Identifier(name)
                )
            )
    except psycopg.Error as error:
        with contextlib.suppress(psycopg.Error):
            drop_postgres_replica(building)
        cause = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ReplicaUnavailable(
            f"PostgreSQL at {_where(server_url)}: could not build {name} ({cause})."
        ) from error
    return url
