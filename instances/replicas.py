"""Registering OFN replicas as Django database aliases, and checking them.

Each instance's replica is added at run time as the alias `ofn_<slug>`. On PostgreSQL
the session is opened read-only (`default_transaction_read_only`) with the instance's
statement timeout and the UTC zone; SQLite replicas (the embedded demo) are opened in
read-only mode. Errors are turned into one-line messages that name the instance and the
cause and never include the replica's credentials.
"""

import contextlib
import logging
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import environ
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from portal.exceptions import (
    InvalidInput,
    PortalError,
    ReplicaError,
    ReplicaSchemaMismatch,
    ReplicaUnavailable,
)

from .models import Instance
from .models.ofn import OfnModel

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 5
REPLICA_URL_SCHEMES = ("postgres://", "postgresql://", "pgsql://", "sqlite:///")


def _ofn_models() -> list[type[OfnModel]]:
    from django.apps import apps

    return [
        model
        for model in apps.get_app_config("instances").get_models()
        if issubclass(model, OfnModel)
    ]


def required_columns() -> dict[str, list[str]]:
    """Every OFN table the portal reads, with the columns it reads (from the models)."""
    return {
        model._meta.db_table: [field.column for field in model._meta.concrete_fields]
        for model in _ofn_models()
    }


def redact_url(url: str) -> str:
    """`scheme://host/db` without user or password, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def replica_database_settings(instance: Instance) -> dict:
    url = instance.resolved_replica_url()
    if not url.startswith(REPLICA_URL_SCHEMES):
        raise InvalidInput(
            f"Instance {instance.slug}: the replica URL is not a database URL; use "
            "postgresql://user:password@host:5432/dbname or sqlite:////path/file.sqlite3."
        )
    try:
        config = environ.Env.db_url_config(url)
    except Exception:  # noqa: BLE001 - any parse failure becomes one clear message
        raise InvalidInput(
            f"Instance {instance.slug}: the replica URL is not a database URL; use "
            "postgresql://user:password@host:5432/dbname or sqlite:////path/file.sqlite3."
        ) from None
    engine = config.get("ENGINE", "")
    # Always present, as in the configured settings, so register_replica can tell an
    # unchanged target from a new one.
    config.setdefault("OPTIONS", {})
    if engine == "django.db.backends.postgresql":
        timeout = int(instance.statement_timeout_ms)
        config["OPTIONS"].update(
            {
                "options": (
                    "-c default_transaction_read_only=on "
                    f"-c statement_timeout={timeout} -c TimeZone=UTC"
                ),
                "connect_timeout": CONNECT_TIMEOUT_SECONDS,
                "application_name": "ofn-portal",
            }
        )
    elif engine == "django.db.backends.sqlite3":
        config["NAME"] = f"file:{config['NAME']}?mode=ro"
    else:
        raise InvalidInput(
            f"Instance {instance.slug}: replicas must be PostgreSQL (or SQLite for the "
            f"demo), not {engine or 'an unknown engine'}."
        )
    config["TIME_ZONE"] = None
    return config


def register_replica(instance: Instance) -> str:
    """Make sure `instance.replica_alias` is a usable alias; return the alias."""
    alias = instance.replica_alias
    wanted = replica_database_settings(instance)
    existing = connections.settings.get(alias)
    if existing is not None and _same_target(existing, wanted):
        return alias
    unregister_replica(alias)
    template = {DEFAULT_DB_ALIAS: dict(connections.settings[DEFAULT_DB_ALIAS])}
    connections.settings[alias] = connections.configure_settings(
        {**template, alias: wanted}
    )[alias]
    return alias


def unregister_replica(alias: str) -> None:
    if alias in connections.settings:
        with contextlib.suppress(AttributeError):
            connections[alias].close()
            del connections[alias]
        del connections.settings[alias]


def _same_target(existing: dict, wanted: dict) -> bool:
    keys = ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS")
    return all(existing.get(key) == wanted.get(key) for key in keys)


def _secrets(instance: Instance) -> list[str]:
    """The replica URL and its password, to be kept out of every message."""
    try:
        url = instance.resolved_replica_url()
    except PortalError:
        return []
    password = urlsplit(url).password or ""
    return [text for text in (url, password, unquote(password)) if text]


def describe_database_error(instance: Instance, error: Exception, kind: str) -> str:
    """One line naming the instance and the cause, without credentials."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    cause = lines[0] if lines else type(error).__name__
    for secret in sorted(_secrets(instance), key=len, reverse=True):
        cause = cause.replace(secret, "***")
    return f"Instance {instance.slug}: replica {kind}: {cause}"


# PostgreSQL's undefined_column, undefined_table and undefined_function.
_SCHEMA_SQLSTATES = {"42703", "42P01", "42883"}


def _is_schema_error(error: DatabaseError) -> bool:
    sqlstate = getattr(error.__cause__, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in _SCHEMA_SQLSTATES
    text = str(error)
    return "no such column" in text or "no such table" in text


@contextlib.contextmanager
def replica_errors(instance: Instance):
    """Turn database errors raised while reading a replica into ReplicaError."""
    try:
        yield
    except ReplicaError:
        raise
    except DatabaseError as error:
        if _is_schema_error(error):
            raise ReplicaSchemaMismatch(
                describe_database_error(instance, error, "schema mismatch")
            ) from error
        raise ReplicaUnavailable(
            describe_database_error(instance, error, "unavailable")
        ) from error


@dataclass(frozen=True)
class ReplicaReport:
    alias: str
    vendor: str
    read_only: bool
    tables_checked: int


def replica_check(instance: Instance) -> ReplicaReport:
    """Connect, prove the session cannot write, and check the tables and columns."""
    alias = register_replica(instance)
    connection = connections[alias]
    with replica_errors(instance):
        connection.ensure_connection()
        _check_schema(instance, alias)
        read_only = _write_is_refused(alias)
    if not read_only:
        raise ReplicaUnavailable(
            f"Instance {instance.slug}: the replica session accepted a write; the "
            "portal needs a read-only login (default_transaction_read_only)."
        )
    return ReplicaReport(alias, connection.vendor, read_only, len(required_columns()))


def _check_schema(instance: Instance, alias: str) -> None:
    connection = connections[alias]
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        missing = []
        for table, columns in required_columns().items():
            if table not in tables:
                missing.append(f"table {table}")
                continue
            present = {
                column.name
                for column in connection.introspection.get_table_description(
                    cursor, table
                )
            }
            missing.extend(f"column {table}.{c}" for c in columns if c not in present)
    if missing:
        raise ReplicaSchemaMismatch(
            f"Instance {instance.slug}: the replica lacks {', '.join(missing)}; "
            "is it on an older OFN release?"
        )


def _write_is_refused(alias: str) -> bool:
    """Try a harmless write in a rolled-back transaction; True when refused."""
    connection = connections[alias]
    refused = False
    with connection.cursor() as cursor:
        try:
            cursor.execute("BEGIN")
            cursor.execute("CREATE TABLE ofn_portal_write_probe (id integer)")
        except DatabaseError:
            refused = True
        finally:
            with contextlib.suppress(DatabaseError):
                cursor.execute("ROLLBACK")
    return refused
