"""Building OFN-shaped replica databases from `replica_schema.sql` (demo and tests).

This is the only code that writes OFN tables, and it never goes through Django's
aliases: it opens its own connection to a database it creates. PostgreSQL replicas load
the DDL as it is; SQLite replicas load the same DDL translated to SQLite's dialect, so
both have the same tables and columns.
"""

import contextlib
import datetime as dt
import re
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from django.conf import settings
from psycopg import sql

from portal.exceptions import InvalidInput


def schema_sql() -> str:
    return Path(settings.OFN_REPLICA_SCHEMA).read_text(encoding="utf-8")


_SQLITE_REWRITES = [
    (re.compile(r"^ALTER TABLE .*$", re.MULTILINE), ""),
    (
        re.compile(r"\bbigserial PRIMARY KEY|\bserial PRIMARY KEY"),
        "INTEGER PRIMARY KEY AUTOINCREMENT",
    ),
    (re.compile(r"timestamp\(6\) without time zone"), "timestamp"),
    (re.compile(r"timestamp without time zone"), "timestamp"),
    (re.compile(r"DEFAULT now\(\)"), "DEFAULT CURRENT_TIMESTAMP"),
    (re.compile(r"::[a-z ]+precision"), ""),
    (re.compile(r"^(BEGIN|COMMIT);$", re.MULTILINE), ""),
]


def sqlite_schema_sql() -> str:
    """The replica DDL in SQLite's dialect: same tables, columns and defaults."""
    text = schema_sql()
    for pattern, replacement in _SQLITE_REWRITES:
        text = pattern.sub(replacement, text)
    return text


def create_sqlite_replica(path: Path) -> sqlite3.Connection:
    """A new SQLite replica at `path` (replacing any old file), open for writing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    connection = sqlite3.connect(path)
    connection.executescript(sqlite_schema_sql())
    return connection


def create_postgres_replica(url: str) -> psycopg.Connection:
    """(Re)create the database named in `url` and load the DDL; return a connection."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise InvalidInput(
            f"Replica database name {name!r} is not valid: use letters, digits and "
            "underscores."
        )
    server = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    connection = psycopg.connect(url)
    connection.execute(schema_sql())
    connection.commit()
    return connection


def drop_postgres_replica(url: str) -> None:
    parts = urlsplit(url)
    server = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(parts.path.lstrip("/"))
            )
        )


def utc_naive(value: dt.datetime | None) -> dt.datetime | None:
    """OFN's storage form: UTC wall time without a zone."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


class ReplicaWriter:
    """Inserts OFN rows, filling the NOT NULL columns the portal does not care about."""

    def __init__(self, connection):
        self.connection = connection
        self.is_sqlite = isinstance(connection, sqlite3.Connection)
        self.placeholder = "?" if self.is_sqlite else "%s"

    def insert_many(self, table: str, rows: list[dict]) -> None:
        if not rows:
            return
        columns = list(rows[0])
        statement = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - names are ours
            table, ", ".join(columns), ", ".join([self.placeholder] * len(columns))
        )
        values = [tuple(self._value(row[c]) for c in columns) for row in rows]
        if self.is_sqlite:
            self.connection.executemany(statement, values)
        else:
            with self.connection.cursor() as cursor:
                cursor.executemany(statement, values)

    def _value(self, value):
        if isinstance(value, dt.datetime):
            value = utc_naive(value)
            return value.isoformat(sep=" ") if self.is_sqlite else value
        if self.is_sqlite and not isinstance(
            value, (int, float, str, bytes, type(None))
        ):
            return str(value)
        return value

    def user(self, id: int, email: str, created_at: dt.datetime) -> None:
        self.insert_many(
            "spree_users",
            [
                {
                    "id": id,
                    "email": email,
                    "created_at": created_at,
                    "updated_at": created_at,
                }
            ],
        )

    def enterprise(
        self,
        id: int,
        *,
        owner_id: int,
        sells: str,
        created_at: dt.datetime,
        name: str | None = None,
        is_primary_producer: bool | None = False,
        external_billing_id: str | None = None,
        visible: str = "public",
    ) -> None:
        self.insert_many(
            "enterprises",
            [
                self.enterprise_row(
                    id,
                    owner_id=owner_id,
                    sells=sells,
                    created_at=created_at,
                    name=name,
                    is_primary_producer=is_primary_producer,
                    external_billing_id=external_billing_id,
                    visible=visible,
                )
            ],
        )

    @staticmethod
    def enterprise_row(
        id,
        *,
        owner_id,
        sells,
        created_at,
        name=None,
        is_primary_producer=False,
        external_billing_id=None,
        visible="public",
    ) -> dict:
        name = name or f"Enterprise {id}"
        return {
            "id": id,
            "name": name,
            "permalink": re.sub(r"[^a-z0-9]+", "-", name.lower()) + f"-{id}",
            "owner_id": owner_id,
            "sells": sells,
            "is_primary_producer": is_primary_producer,
            "visible": visible,
            "external_billing_id": external_billing_id,
            "created_at": created_at,
            "updated_at": created_at,
        }

    @staticmethod
    def order_row(
        id,
        *,
        distributor_id,
        state,
        completed_at,
        total,
        item_total=None,
        included_tax_total="0",
        additional_tax_total="0",
        customer_id=None,
        created_at=None,
        payment_state=None,
        payment_total=None,
    ) -> dict:
        created_at = (
            created_at or completed_at or dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
        )
        return {
            "id": id,
            "number": f"R{id:09d}",
            "distributor_id": distributor_id,
            "state": state,
            "completed_at": completed_at,
            "total": total,
            "item_total": item_total or total,
            "adjustment_total": "0",
            "included_tax_total": included_tax_total,
            "additional_tax_total": additional_tax_total,
            "customer_id": customer_id,
            "payment_state": payment_state,
            "payment_total": payment_total or total,
            "created_at": created_at,
            "updated_at": created_at,
            "currency": None,
        }

    def order(self, id: int, **kwargs) -> None:
        self.insert_many("spree_orders", [self.order_row(id, **kwargs)])

    def version(
        self, id: int, *, enterprise_id: int, sells_before: str, created_at: dt.datetime
    ) -> None:
        self.insert_many(
            "versions",
            [
                {
                    "id": id,
                    "item_type": "Enterprise",
                    "item_id": enterprise_id,
                    "event": "update",
                    "object": f"---\nid: {enterprise_id}\nsells: {sells_before}\n",
                    "created_at": created_at,
                }
            ],
        )

    def commit(self) -> None:
        self.connection.commit()


# Bulk generation on the server, for the billing benchmark's large replicas: rows are
# produced by INSERT ... SELECT over generate_series, so a million orders never travel
# through Python.


def pseudo_random(key: str, seed: int) -> str:
    """SQL for a deterministic value in [0, 1) drawn from the integer column `key`.

    The same key and seed give the same value on every build, so a generated replica
    (and every figure measured on it) can be rebuilt exactly.
    """
    return f"((hashint4extended({key}, {int(seed)}) & 16777215)::float8 / 16777216)"


def insert_select(
    connection: psycopg.Connection, *, table: str, columns: list[str], select: str
) -> int:
    """`INSERT INTO table (columns) select`; the number of rows inserted."""
    statement = sql.SQL("INSERT INTO {} ({}) {}").format(
        sql.Identifier(table),
        sql.SQL(", ").join(sql.Identifier(column) for column in columns),
        sql.SQL(select),  # noqa: S608 - SQL written by the portal's own generators
    )
    with connection.cursor() as cursor:
        cursor.execute(statement)
        return cursor.rowcount


def table_indexes(connection: psycopg.Connection, table: str) -> dict[str, str]:
    """The secondary indexes of `table` (not its primary key) by name: their DDL."""
    rows = connection.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i "
        "JOIN pg_class c ON c.relname = i.indexname "
        "JOIN pg_index x ON x.indexrelid = c.oid "
        "WHERE i.schemaname = 'public' AND i.tablename = %s AND NOT x.indisprimary "
        "ORDER BY i.indexname",
        [table],
    ).fetchall()
    return dict(rows)


@contextlib.contextmanager
def indexes_dropped(connection: psycopg.Connection, table: str):
    """Drop `table`'s secondary indexes for a bulk load, then build them again.

    Building an index once over the loaded rows is several times faster than
    maintaining it row by row; the same DDL is replayed, so names and columns stay
    those of the schema.
    """
    indexes = table_indexes(connection, table)
    for name in indexes:
        connection.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    yield indexes
    for definition in indexes.values():
        connection.execute(definition)


def sequences_reset(connection: psycopg.Connection, tables: list[str]) -> None:
    """Move each table's id sequence past the ids inserted explicitly."""
    for table in tables:
        connection.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence({table}, 'id'), "
                "GREATEST((SELECT max(id) FROM {ident}), 1))"
            ).format(table=sql.Literal(table), ident=sql.Identifier(table))
        )


def postgres_database_comment(url: str) -> str | None:
    """The COMMENT of the database named in `url`; None when it does not exist."""
    parts = urlsplit(url)
    server = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as admin:
        row = admin.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
            "WHERE datname = %s",
            [parts.path.lstrip("/")],
        ).fetchone()
    if row is None:
        return None
    return row[0] or ""


def postgres_database_comment_set(url: str, comment: str) -> None:
    parts = urlsplit(url)
    server = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(parts.path.lstrip("/")), sql.Literal(comment)
            )
        )
