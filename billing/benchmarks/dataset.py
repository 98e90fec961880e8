# ruff: noqa: S608 - the SQL here is built from integers and fixed literals only.
"""A large OFN replica for the billing benchmark, generated on the PostgreSQL server.

Every row comes from INSERT ... SELECT over generate_series with deterministic
pseudo-random expressions (`pseudo_random`), so the same sizes always give the same
database, and a million orders are written in seconds without passing through Python.

What it holds, for `shops` shops (ids 1..shops) and `orders` orders in the month:
- a tenth as many enterprises that are not shops (profiles, unfinished sign-ups);
- shops of every category, some owners with two shops, a few groups of shops sharing
  an `external_billing_id`;
- part months: shops created in the month (trial), created two weeks before it (trial
  ends mid-month), that stopped selling mid-month and that started selling two weeks
  before it (both from `versions` rows), plus old `versions` rows that change nothing;
- registered customers (5 to 132 per shop, some registered during or after the month);
- the month's orders in every state (complete, resumed, canceled, returned,
  awaiting_return, and unfinished ones without `completed_at`), spread unevenly over
  the shops (a few large hubs, many small shops), with totals of a few to ~130;
- a tenth as many orders in the month before;
- the W01 shop: `statement_rows` complete orders of 12.34 over the previous local year,
  plus cancelled ones and two just outside that year, which its statement leaves out.
"""

import datetime as dt
import re
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import psycopg

from instances.replica_builder import (
    create_postgres_replica,
    indexes_dropped,
    insert_select,
    postgres_database_comment,
    postgres_database_comment_set,
    pseudo_random,
    sequences_reset,
)
from portal.exceptions import InvalidInput
from portal.periods import Month, day_range_utc, month_bounds_utc

FORMAT_VERSION = 1
W01_TOTAL = "12.34"
# Indexes the aggregate queries can use; the report says when one is missing.
WANTED_INDEXES = {
    "completed_at": ("spree_orders", "completed_at"),
    "distributor_id": ("spree_orders", "distributor_id"),
}


@dataclass(frozen=True)
class DatasetSpec:
    shops: int
    orders: int
    month: Month
    time_zone: str
    statement_rows: int

    @property
    def enterprises(self) -> int:
        return self.shops + self.shops // 10

    @property
    def w01_shop_id(self) -> int:
        return self.enterprises + 1

    @property
    def statement_year(self) -> int:
        return self.month.year - 1

    @property
    def history_orders(self) -> int:
        return self.orders // 10

    def fingerprint(self) -> str:
        """Stored as the database's COMMENT: a replica is reused only when equal."""
        return (
            f"ofn-portal billing benchmark v{FORMAT_VERSION}: shops={self.shops} "
            f"orders={self.orders} month={self.month} zone={self.time_zone} "
            f"statement_rows={self.statement_rows}"
        )


@dataclass
class Dataset:
    url: str
    spec: DatasetSpec
    reused: bool
    build_seconds: float
    counts: dict[str, int] = field(default_factory=dict)
    # Index name -> DDL of spree_orders, customers and enterprises.
    indexes: dict[str, str] = field(default_factory=dict)

    def missing_indexes(self) -> list[str]:
        """The wanted leading index columns no index of the replica starts with."""
        missing = []
        for label, (table, column) in WANTED_INDEXES.items():
            leading = re.compile(rf"ON public\.{table} USING btree \({column}[,)]")
            if not any(leading.search(ddl) for ddl in self.indexes.values()):
                missing.append(label)
        return missing


def _naive(instant: dt.datetime) -> str:
    """A UTC instant as an SQL timestamp literal (OFN's storage form)."""
    value = instant.astimezone(dt.UTC).replace(tzinfo=None)
    return f"timestamp '{value:%Y-%m-%d %H:%M:%S}'"


def _check_name(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    if "bench" not in name:
        raise InvalidInput(
            f"Benchmark replica {name!r}: the database is dropped and rebuilt, so its "
            "name must contain 'bench' (e.g. ofn_benchmark)."
        )


def dataset_build(*, url: str, spec: DatasetSpec, reuse: bool) -> Dataset:
    """The benchmark replica at `url`: reused when `reuse` and built from `spec`."""
    _check_name(url)
    started = time.perf_counter()
    if reuse and postgres_database_comment(url) == spec.fingerprint():
        connection = _connect(url)
        reused = True
    else:
        connection = create_postgres_replica(url)
        _generate(connection, spec)
        connection.commit()
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE")
        postgres_database_comment_set(url, spec.fingerprint())
        reused = False
    with connection:
        return Dataset(
            url=url,
            spec=spec,
            reused=reused,
            build_seconds=time.perf_counter() - started,
            counts=_counts(connection, spec),
            indexes=_indexes(connection),
        )


def _connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=True)


def _generate(connection, spec: DatasetSpec) -> None:
    _users(connection, spec)
    _enterprises(connection, spec)
    _versions(connection, spec)
    _customers(connection, spec)
    with indexes_dropped(connection, "spree_orders"):
        _orders(connection, spec)
        _w01_orders(connection, spec)
    sequences_reset(
        connection, ["spree_users", "enterprises", "customers", "spree_orders"]
    )


def _users(connection, spec: DatasetSpec) -> None:
    insert_select(
        connection,
        table="spree_users",
        columns=["id", "email", "created_at", "updated_at"],
        select=(
            "SELECT i, 'owner' || i || '@bench.example', "
            "timestamp '2022-06-01', timestamp '2022-06-01' "
            f"FROM generate_series(1, {spec.w01_shop_id}) AS g(i)"
        ),
    )


def _enterprises(connection, spec: DatasetSpec) -> None:
    start, _ = month_bounds_utc(spec.month, spec.time_zone)
    shops = spec.shops
    created = (
        f"CASE WHEN i <= {shops} AND i % 50 = 1 THEN {_naive(start)} + interval "
        f"'10 days' WHEN i <= {shops} AND i % 50 = 2 THEN {_naive(start)} - interval "
        "'15 days' ELSE timestamp '2023-01-01' + make_interval(days => "
        f"(800 * {pseudo_random('i', 11)})::int) END"
    )
    sells = (
        f"CASE WHEN i > {shops} THEN (CASE WHEN i % 2 = 0 THEN 'none' "
        "ELSE 'unspecified' END) WHEN i % 50 = 3 THEN 'none' "
        "WHEN i % 3 = 0 THEN 'any' ELSE 'own' END"
    )
    insert_select(
        connection,
        table="enterprises",
        columns=[
            "id",
            "name",
            "permalink",
            "owner_id",
            "sells",
            "is_primary_producer",
            "visible",
            "external_billing_id",
            "created_at",
            "updated_at",
        ],
        select=(
            "SELECT i, 'Bench shop ' || i, 'bench-shop-' || i, "
            "CASE WHEN i % 25 = 0 THEN i - 1 ELSE i END, "
            f"{sells}, CASE WHEN i % 17 = 0 THEN NULL ELSE i % 2 = 0 END, 'public', "
            f"CASE WHEN i <= {shops} AND i % 40 = 0 THEN 'EXT-' || (i / 120) END, "
            f"{created}, {created} "
            f"FROM generate_series(1, {spec.enterprises}) AS g(i)"
        ),
    )
    insert_select(
        connection,
        table="enterprises",
        columns=[
            "id",
            "name",
            "permalink",
            "owner_id",
            "sells",
            "is_primary_producer",
            "visible",
            "created_at",
            "updated_at",
        ],
        select=(
            f"SELECT {spec.w01_shop_id}, 'W01 Statement Shop', 'w01-statement-shop', "
            f"{spec.w01_shop_id}, 'own', true, 'public', timestamp '2020-01-01', "
            "timestamp '2020-01-01'"
        ),
    )


def _versions(connection, spec: DatasetSpec) -> None:
    start, _ = month_bounds_utc(spec.month, spec.time_zone)
    yaml = "E'---\\nid: ' || i || E'\\nsells: ' || {} || E'\\n'"
    # Stopped selling two weeks into the month (now "none"); started selling two
    # weeks before it (trial ends mid-month); an owner change long ago.
    changes = [
        ("3", "'own'", f"{_naive(start)} + interval '14 days'"),
        ("4", "'none'", f"{_naive(start)} - interval '16 days'"),
    ]
    for remainder, before, at in changes:
        insert_select(
            connection,
            table="versions",
            columns=["item_type", "item_id", "event", "object", "created_at"],
            select=(
                f"SELECT 'Enterprise', i, 'update', {yaml.format(before)}, {at} "
                f"FROM generate_series(1, {spec.shops}) AS g(i) "
                f"WHERE i % 50 = {remainder}"
            ),
        )
    insert_select(
        connection,
        table="versions",
        columns=["item_type", "item_id", "event", "object", "created_at"],
        select=(
            "SELECT 'Enterprise', e.id, 'update', "
            "E'---\\nid: ' || e.id || E'\\nowner_id: 1\\nsells: ' || e.sells "
            "|| E'\\n', timestamp '2024-01-01' FROM enterprises e "
            f"WHERE e.id <= {spec.shops} AND e.id % 10 = 5"
        ),
    )


def _customers(connection, spec: DatasetSpec) -> None:
    start, end = month_bounds_utc(spec.month, spec.time_zone)
    created = (
        f"CASE WHEN n % 23 = 0 THEN {_naive(end)} + interval '2 days' "
        f"WHEN n % 10 = 0 THEN {_naive(start)} + interval '20 days' "
        "ELSE timestamp '2024-01-01' END"
    )
    insert_select(
        connection,
        table="customers",
        columns=["email", "enterprise_id", "created_at", "updated_at"],
        select=(
            "SELECT 'c' || s || '-' || n || '@bench.example', s, "
            f"{created}, {created} "
            f"FROM generate_series(1, {spec.shops}) AS a(s), LATERAL "
            "generate_series(1, 5 + (hashint4extended(s, 7) & 127)::int) AS b(n)"
        ),
    )


_ORDER_COLUMNS = [
    "id",
    "number",
    "distributor_id",
    "state",
    "completed_at",
    "total",
    "item_total",
    "adjustment_total",
    "included_tax_total",
    "additional_tax_total",
    "payment_total",
    "payment_state",
    "shipment_state",
    "currency",
    "created_at",
    "updated_at",
]


def _order_select(*, first: int, count: int, month: Month, spec: DatasetSpec) -> str:
    """Orders `first`.. of `month`: uneven shop sizes, every state, varied totals."""
    start, end = month_bounds_utc(month, spec.time_zone)
    span = int((end - start).total_seconds())
    # Quadratic skew: low ids are large hubs. Shops with an id divisible by 7 keep 3 %
    # of their orders and by 11 a quarter, so every tier and the cap are reached.
    shop = f"1 + floor({spec.shops} * ud * ud)::int"
    state = (
        "CASE WHEN us < 0.86 THEN 'complete' WHEN us < 0.88 THEN 'resumed' "
        "WHEN us < 0.93 THEN 'canceled' WHEN us < 0.95 THEN 'returned' "
        "WHEN us < 0.96 THEN 'awaiting_return' WHEN us < 0.98 THEN 'payment' "
        "ELSE 'cart' END"
    )
    draws = ", ".join(
        f"{pseudo_random('i', seed)} AS {name}"
        for seed, name in enumerate(["ud", "us", "ut", "uv", "uk", "ua"], 1)
    )
    draw = f"SELECT i, {draws} FROM generate_series({first}, {first + count - 1}) g(i)"
    shaped = (
        f"SELECT i, us, uk, {shop} AS d0, "
        "round((6 + 90 * ut * ut + 30 * uv)::numeric, 2) AS total, "
        f"{_naive(start)} + make_interval(secs => floor({span} * ua)) AS at "
        f"FROM ({draw}) AS u"
    )
    placed = (
        "SELECT i, total, at, CASE WHEN d0 % 7 = 0 AND uk > 0.03 THEN d0 - 1 "
        "WHEN d0 % 11 = 0 AND uk > 0.25 THEN d0 - 1 ELSE d0 END AS d, "
        f"{state} AS state FROM ({shaped}) AS s"
    )
    return (
        "SELECT i, 'R' || lpad(i::text, 9, '0'), d, state, "
        "CASE WHEN state IN ('payment', 'cart') THEN NULL ELSE at END, "
        "total, round(total * 0.88, 2), total - round(total * 0.88, 2), "
        "round(total * 0.04, 2), 0, total, 'paid', 'shipped', 'EUR', "
        f"at - interval '20 minutes', at FROM ({placed}) AS o"
    )


def _orders(connection, spec: DatasetSpec) -> None:
    insert_select(
        connection,
        table="spree_orders",
        columns=_ORDER_COLUMNS,
        select=_order_select(first=1, count=spec.orders, month=spec.month, spec=spec),
    )
    insert_select(
        connection,
        table="spree_orders",
        columns=_ORDER_COLUMNS,
        select=_order_select(
            first=spec.orders + 1,
            count=spec.history_orders,
            month=spec.month.previous(),
            spec=spec,
        ),
    )


def statement_year_bounds(spec: DatasetSpec) -> tuple[dt.datetime, dt.datetime]:
    year = spec.statement_year
    return day_range_utc(dt.date(year, 1, 1), dt.date(year + 1, 1, 1), spec.time_zone)


def _w01_orders(connection, spec: DatasetSpec) -> None:
    """W01: `statement_rows` orders of 12.34 evenly over the local statement year."""
    first = spec.orders + spec.history_orders + 1
    start, end = statement_year_bounds(spec)
    span = int((end - start).total_seconds())
    rows = spec.statement_rows
    columns = ["id", "number", "distributor_id", "state", "completed_at", "total"]
    columns += ["item_total", "created_at", "updated_at"]
    at = f"{_naive(start)} + make_interval(secs => floor({span} * (k - 0.5) / {rows}))"
    insert_select(
        connection,
        table="spree_orders",
        columns=columns,
        select=(
            f"SELECT {first - 1} + k, 'W' || lpad(k::text, 9, '0'), "
            f"{spec.w01_shop_id}, 'complete', {at}, {W01_TOTAL}, {W01_TOTAL}, "
            f"{at}, {at} FROM generate_series(1, {rows}) AS g(k)"
        ),
    )
    # Left out of the statement: cancelled in the year, a second before it starts and
    # at the instant it ends (the bounds are local midnights, rule 1).
    outside = [
        ("'canceled'", f"{_naive(start)} + interval '40 days'"),
        ("'complete'", f"{_naive(start)} - interval '1 second'"),
        ("'complete'", _naive(end)),
    ]
    for offset, (state, completed) in enumerate(outside, rows + 1):
        insert_select(
            connection,
            table="spree_orders",
            columns=columns,
            select=(
                f"SELECT {first - 1 + offset}, 'X{offset:09d}', {spec.w01_shop_id}, "
                f"{state}, {completed}, 99.99, 99.99, {completed}, {completed}"
            ),
        )


def _counts(connection, spec: DatasetSpec) -> dict[str, int]:
    start, end = month_bounds_utc(spec.month, spec.time_zone)
    # Generated orders of the month carry their instant in updated_at, unfinished
    # ones (no completed_at) included.
    completed, unfinished = connection.execute(
        "SELECT count(completed_at), count(*) - count(completed_at) FROM spree_orders "
        "WHERE updated_at >= %s AND updated_at < %s",
        [start.replace(tzinfo=None), end.replace(tzinfo=None)],
    ).fetchone()
    counts = {
        "orders completed in the month": completed,
        "unfinished orders of the month": unfinished,
    }
    for label, query in (
        ("orders in the replica", "SELECT count(*) FROM spree_orders"),
        ("enterprises", "SELECT count(*) FROM enterprises"),
        (
            "shops (sells own/any now)",
            "SELECT count(*) FROM enterprises WHERE sells IN ('own', 'any')",
        ),
        ("customers", "SELECT count(*) FROM customers"),
        ("versions", "SELECT count(*) FROM versions"),
    ):
        counts[label] = connection.execute(query).fetchone()[0]
    return counts


def _indexes(connection) -> dict[str, str]:
    rows = connection.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
        "AND tablename IN ('spree_orders', 'customers', 'enterprises', 'versions')"
    ).fetchall()
    return dict(rows)
