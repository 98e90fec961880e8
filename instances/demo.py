"""The demo: three realistic OFN replicas, their pricing plans and the demo logins.

`demo_seed` builds each replica completely (a SQLite file, or a PostgreSQL database
loaded from `replica_schema.sql`) through the builder's own connection, never through
Django's read-only replica aliases, and only then registers instances, plans, users and
memberships in one transaction, so a failure never leaves a half-registered instance.

Rows come from a `random.Random` seeded with (seed, instance): the same seed and
`as_of` give the same replicas. All personal data is invented (short name lists,
example.org addresses, fictional phone ranges).
"""

import bisect
import contextlib
import datetime as dt
import itertools
import logging
import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from psycopg import sql

from portal.audit import audit_record
from portal.exceptions import InvalidInput, ReplicaUnavailable
from portal.models import Membership, Role
from portal.money import ZERO, quantize
from portal.periods import Month, local_date, local_midnight_utc, zone

from .models import Instance
from .models.ofn import SHOP_SELLS
from .replica_builder import (
    ReplicaWriter,
    create_postgres_replica,
    create_sqlite_replica,
    drop_postgres_replica,
)
from .replicas import redact_url, unregister_replica
from .services import instance_register

logger = logging.getLogger(__name__)

DEMO_PASSWORD = "ofn-demo-2026"  # noqa: S105 - the published demo password (README)
DEFAULT_SEED = 2026
MONTHS = 24
PLAN_EFFECTIVE_FROM = dt.date(2024, 1, 1)
UTC = dt.UTC
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


@dataclass(frozen=True)
class Words:
    """Vocabulary for invented names; `pattern` orders the parts of a shop name."""

    pattern: str
    first: tuple[str, ...]
    last: tuple[str, ...]
    adjectives: tuple[str, ...]
    producers: tuple[str, ...]
    hubs: tuple[str, ...]
    cycle: str


_EN = Words(
    pattern="{place} {adj} {noun}",
    first=("Alex", "Sam", "Jo", "Chris", "Priya", "Amir", "Olivia", "Noah", "Grace")
    + ("Liam", "Maya", "Tom", "Zoe", "Ben", "Aisha", "Ruth", "Owen", "Ella", "Jack"),
    last=("Smith", "Jones", "Taylor", "Brown", "Wilson", "Patel", "Khan", "Evans")
    + ("Walker", "Wright", "Green", "Hall", "Wood", "Clarke", "Murphy", "Nguyen"),
    adjectives=("Green", "Wild", "Little", "Old", "Sunny", "Hilltop", "Riverside")
    + ("Oak", "Willow", "Meadow", "Valley", "Orchard Lane"),
    producers=("Farm", "Orchard", "Dairy", "Bakery", "Market Garden", "Growers")
    + ("Honey", "Mushrooms", "Free Range Eggs", "Microgreens"),
    hubs=("Food Hub", "Food Co-op", "Veg Box", "Community Market", "Local Larder")
    + ("Buying Group",),
    cycle="Order cycle",
)
_ES = Words(
    pattern="{noun} {adj} {place}",
    first=("Ana", "Jordi", "Marta", "Pau", "Lucia", "Javier", "Laia", "Pablo")
    + ("Carmen", "Marc", "Nuria", "Sergio", "Irene", "Alba", "Oriol", "Iker"),
    last=("Garcia", "Martinez", "Lopez", "Sanchez", "Puig", "Ferrer", "Romero")
    + ("Navarro", "Torres", "Vidal", "Serra", "Ruiz", "Soler", "Etxeberria", "Gil"),
    adjectives=("Verde", "La Solana", "El Olivar", "Del Río", "Can Soler", "La Era")
    + ("Los Almendros", "El Molino", "La Fuente", "Sant Jordi"),
    producers=("Huerta", "Granja", "Quesería", "Panadería", "Bodega", "Apicultura")
    + ("Finca", "Hortalizas"),
    hubs=("Grupo de Consumo", "Cooperativa", "Cesta", "Mercado", "Despensa"),
    cycle="Ciclo de pedidos",
)


@dataclass(frozen=True)
class DemoInstanceSpec:
    slug: str
    name: str
    country: str
    time_zone: str
    currency: str
    language: str
    invoice_prefix: str
    enterprises: int  # at scale 1
    activity: float  # multiplies every shop's weekly orders
    basket: int  # median products total of an order, in whole currency units
    shipping: tuple[str, ...]  # flat delivery fees a shop may charge
    tax_rate: Decimal  # VAT / GST / IVA on the taxable share of an order
    tax_modes: tuple[int, int, int]  # weights of tax included / added / not charged
    taxable_shares: tuple[str, ...]
    phone: str  # a fictional number range
    places: tuple[str, ...]
    words: Words
    plan: dict  # PricingPlan fields; created once per instance, found by name


DEMO_INSTANCES = (
    DemoInstanceSpec(
        slug="uk",
        name="OFN UK",
        country="GB",
        time_zone="Europe/London",
        currency="GBP",
        language="en",
        invoice_prefix="UK",
        enterprises=360,
        activity=1.0,
        basket=30,
        shipping=("3.50", "4.95", "6.00"),
        tax_rate=Decimal("0.20"),
        tax_modes=(70, 5, 25),
        taxable_shares=("0.10", "0.20", "0.35"),
        phone="+44 7700 900",
        places=("Stroud", "Totnes", "Hebden Bridge", "Lewes", "Frome", "Kendal")
        + ("Ludlow", "Hackney", "Bristol", "Sheffield", "Norwich", "Exeter")
        + ("Glasgow", "Cardiff", "Oxford", "York", "Brixton", "Machynlleth"),
        words=_EN,
        plan={
            "name": "UK standard",
            "fixed_fee": Decimal("5.00"),
            "turnover_rate": Decimal("0.02"),
            "monthly_cap": Decimal("50.00"),
            "tax_rate": Decimal("0.20"),
        },
    ),
    DemoInstanceSpec(
        slug="au",
        name="OFN Australia",
        country="AU",
        time_zone="Australia/Melbourne",
        currency="AUD",
        language="en",
        invoice_prefix="AU",
        enterprises=320,
        activity=1.5,
        basket=55,
        shipping=("8.00", "10.00", "12.50"),
        tax_rate=Decimal("0.10"),
        tax_modes=(75, 5, 20),
        taxable_shares=("0.10", "0.25", "0.40"),
        phone="+61 491 570 ",
        places=("Castlemaine", "Daylesford", "Bendigo", "Ballarat", "Fitzroy")
        + ("Brunswick", "Byron Bay", "Hobart", "Margaret River", "Orange")
        + ("Mudgee", "Geelong", "Fremantle", "Bellingen", "Kyneton"),
        words=_EN,
        plan={
            "name": "AU legacy",
            "fixed_fee": Decimal("5.00"),
            "turnover_rate": Decimal("0.02"),
            "monthly_cap": Decimal("50.00"),
            "tax_rate": Decimal("0.10"),
            "trial_days": 30,
        },
    ),
    DemoInstanceSpec(
        slug="katuma",
        name="Katuma",
        country="ES",
        time_zone="Europe/Madrid",
        currency="EUR",
        language="es",
        invoice_prefix="KAT",
        enterprises=260,
        activity=1.5,
        basket=28,
        shipping=("0.00", "2.00", "3.50"),
        tax_rate=Decimal("0.10"),
        tax_modes=(50, 35, 15),
        taxable_shares=("0.60", "0.80", "1.00"),
        phone="+34 600 000 ",
        places=("Gràcia", "Lavapiés", "Sants", "Vallecas", "Zaragoza", "Girona")
        + ("Vic", "Manresa", "Pamplona", "Logroño", "Teruel", "Reus", "Lleida")
        + ("Bilbao", "Valencia", "Ruzafa"),
        words=_ES,
        plan={
            "name": "Katuma interim",
            "fixed_fee": Decimal("2.00"),
            "turnover_rate": Decimal("0.01"),
            "minimum_billable_turnover": Decimal("200.00"),
            "tax_rate": Decimal("0.21"),
            "trial_days": 30,
        },
    ),
)

_STATES = ("complete", "canceled", "resumed", "returned", "awaiting_return", "cart")
_STATE_CUM = tuple(itertools.accumulate((86, 4, 1, 1, 1, 7)))
# payment_state and shipment_state as OFN's order updater leaves them per state.
_STATE_COLUMNS = {
    "complete": ("paid", "shipped"),
    "canceled": ("void", "canceled"),
    "resumed": ("paid", "ready"),
    "returned": ("credit_owed", "shipped"),
    "awaiting_return": ("paid", "shipped"),
    "cart": (None, None),
}
# Local hour of checkout, weighted: mornings and evenings are busiest.
_HOURS = tuple(range(24))
_HOUR_CUM = tuple(
    itertools.accumulate(
        (1, 1, 1, 1, 1, 1, 2, 4, 6, 7, 8, 8, 9, 8, 7, 7, 8, 9, 11, 12, 11, 8, 4, 2)
    )
)
# Share of the year's mean sales per calendar month (Christmas is busy everywhere).
_SEASON = (1.05, 0.95, 1.0, 1.0, 1.05, 0.95, 0.85, 0.85, 1.0, 1.05, 1.1, 1.25)
_FEE_RATES = (Decimal("0"), Decimal("0.05"), Decimal("0.10"))
_RETURN_SHARES = (Decimal("0.25"), Decimal("0.5"), Decimal("1"))
# (is_primary_producer, sells at the end, weight) of enterprises past the first few.
_KINDS = (
    (True, "none", 26),
    (True, "own", 14),
    (True, "any", 7),
    (False, "any", 15),
    (False, "own", 1),
    (False, "none", 17),
    (False, "unspecified", 10),
)
# How `sells` got to its value: set by a super-admin at creation ("direct"), chosen
# after self-registration ("registered"), a profile that opened a shop ("upgraded"), a
# shop that closed ("closed").
_HISTORIES = {
    "unspecified": (("direct",), (1,)),
    "own": (("registered", "direct", "upgraded"), (55, 25, 20)),
    "any": (("registered", "direct", "upgraded"), (55, 25, 20)),
    "none": (("registered", "direct", "closed"), (60, 30, 10)),
}
# The first enterprises of every instance, so even a tiny demo has every category and
# every kind of history.
_COVERAGE = (
    (True, "none", "registered"),
    (True, "own", "upgraded"),
    (True, "any", "registered"),
    (False, "any", "upgraded"),
    (False, "own", "direct"),
    (False, "none", "direct"),
    (False, "unspecified", "direct"),
    (True, "none", "closed"),
    (False, "any", "registered"),
)
# Columns of an enterprise that its PaperTrail `versions.object` YAML shows.
_VERSIONED = (
    "id",
    "name",
    "is_primary_producer",
    "contact_name",
    "phone",
    "created_at",
    "updated_at",
    "owner_id",
    "sells",
    "producer_profile_only",
    "permalink",
    "charges_sales_tax",
    "email_address",
    "visible",
    "external_billing_id",
)


@dataclass
class _Enterprise:
    producer: bool
    sells: str  # the final value, as in the enterprises row
    history: str
    created_at: dt.datetime
    coverage: bool = False
    id: int = 0
    owner_id: int = 0
    external_billing_id: str | None = None
    initial: dict = field(default_factory=dict)  # sells and owner_id at creation
    events: list = field(default_factory=list)  # (at, column, new value), oldest first


@dataclass
class _Shop:
    id: int
    hub: bool  # not a producer: sells others' produce, has registered households
    opened_at: dt.datetime
    rate: float  # mean orders a week once established
    basket_mu: float
    fee_rate: Decimal
    shipping: Decimal
    tax_mode: str
    taxable: Decimal
    customers: list = field(default_factory=list)  # (id, user_id, email)
    emails: dict = field(default_factory=dict)


class DemoReplica:
    """The rows of one instance's replica, generated from a seeded Random."""

    def __init__(
        self, spec: DemoInstanceSpec, *, seed: int, as_of: dt.datetime, scale: float
    ):
        self.spec = spec
        # Reproducible invented data, not secrets: a seeded PRNG is the point.
        self.rng = random.Random(f"{seed}:{spec.slug}")  # noqa: S311
        self.zone = zone(spec.time_zone)
        self.as_of = as_of.astimezone(UTC)
        month = Month.from_date(local_date(self.as_of, spec.time_zone))
        months = [month]
        for _ in range(MONTHS - 1):
            months.insert(0, months[0].previous())
        self.window_start = local_midnight_utc(months[0].first_day, spec.time_zone)
        boundaries = [local_midnight_utc(m.first_day, spec.time_zone) for m in months]
        self.specials = sorted(boundaries[1:] + self._dst_changes())
        self.size = max(len(_COVERAGE), round(spec.enterprises * scale))
        self.rows = defaultdict(list)
        self.ids = Counter()
        self.names = Counter()
        self.forced_states = list(_STATES)
        self.forced_tax_modes = ["none", "additional", "included"]
        self.shoppers: list[tuple[int, str, str, str]] = []
        self.shopper_times: list[dt.datetime] = []
        self.special_share = 1.0

    def generate(self) -> dict[str, list[dict]]:
        for _ in range(2):
            self._user(self.window_start - dt.timedelta(days=2000), admin=True)
        self._shoppers()
        plans = self._plans()
        shops = sum(plan.sells in SHOP_SELLS for plan in plans)
        # About three shops per instance trade across each month boundary and DST
        # change, whatever the size of the demo.
        self.special_share = min(1.0, 3 / max(1, shops))
        for plan in plans:
            self._enterprise(plan)
        self.rows["spree_orders"].sort(key=lambda row: (row["created_at"], row["id"]))
        for number, row in enumerate(self.rows["spree_orders"], start=1):
            row.update(id=number, number=f"R{number:09d}")
        return self.rows

    # ------------------------------------------------------------------ helpers

    def _next(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def _between(self, start: dt.datetime, end: dt.datetime) -> dt.datetime:
        seconds = max(0, int((end - start).total_seconds()))
        return start + dt.timedelta(seconds=self.rng.randint(0, seconds))

    def _local(self, day: dt.date, hour: int, minute: int = 0, second: int = 0):
        local = dt.datetime(
            day.year, day.month, day.day, hour, minute, second, tzinfo=self.zone
        )
        return local.astimezone(UTC)

    def _dst_changes(self) -> list[dt.datetime]:
        """UTC instants in the window at which the instance's clocks change."""
        changes, hour = [], self.window_start
        offset = hour.astimezone(self.zone).utcoffset()
        while hour < self.as_of:
            hour += dt.timedelta(hours=1)
            if hour.astimezone(self.zone).utcoffset() != offset:
                changes.append(hour)
                offset = hour.astimezone(self.zone).utcoffset()
        return changes

    def _person(self) -> tuple[str, str]:
        return self.rng.choice(self.spec.words.first), self.rng.choice(
            self.spec.words.last
        )

    def _user(self, created_at: dt.datetime, *, admin: bool = False) -> tuple:
        first, last = self._person()
        user_id = self._next("spree_users")
        email = f"{first}.{last}.{user_id}@example.org".lower()
        self.rows["spree_users"].append(
            {
                "id": user_id,
                "email": email,
                "login": email,
                "created_at": created_at,
                "updated_at": created_at,
                "confirmed_at": created_at if self.rng.random() < 0.9 else None,
                "locale": self.spec.language,
                "admin": admin,
            }
        )
        return user_id, email, first, last

    def _shoppers(self) -> None:
        earliest = self.window_start - dt.timedelta(days=1500)
        times = sorted(
            self._between(earliest, self.as_of) for _ in range(self.size * 14)
        )
        self.shoppers = [self._user(at) for at in times]
        self.shopper_times = times

    # -------------------------------------------------------------- enterprises

    def _plans(self) -> list[_Enterprise]:
        plans = [self._plan(index) for index in range(self.size)]
        plans.sort(key=lambda plan: plan.created_at)
        owners = Counter()
        for number, plan in enumerate(plans, start=1):
            plan.id = number
            plan.owner_id = self._owner(plan, owners, number)
            owners[plan.owner_id] += 1
            self._history(plan)
        self._billing_ids([plan for plan in plans if plan.sells in SHOP_SELLS])
        return plans

    def _plan(self, index: int) -> _Enterprise:
        if index < len(_COVERAGE):
            producer, sells, history = _COVERAGE[index]
            start = self.window_start
            created = self._between(start, start + dt.timedelta(days=300))
            return _Enterprise(producer, sells, history, created, coverage=True)
        producer, sells, _ = self.rng.choices(_KINDS, weights=[k[2] for k in _KINDS])[0]
        history = self.rng.choices(*_HISTORIES[sells])[0]
        if self.rng.random() < 0.35:
            start, end = self.window_start - dt.timedelta(days=2000), self.window_start
        else:
            start, end = self.window_start, self.as_of - dt.timedelta(days=1)
        return _Enterprise(producer, sells, history, self._between(start, end))

    def _owner(self, plan: _Enterprise, owners: Counter, number: int) -> int:
        # Every seventh enterprise goes to someone who already owns one (OFN's default
        # enterprise_limit is 5), so even a tiny demo has multi-enterprise owners.
        candidates = [owner for owner, count in owners.items() if count < 4]
        if candidates and (number % 7 == 3 or self.rng.random() < 0.1):
            return self.rng.choice(sorted(candidates))
        minutes = self.rng.randint(5, 3000)
        return self._user(plan.created_at - dt.timedelta(minutes=minutes))[0]

    def _history(self, plan: _Enterprise) -> None:
        created, end = plan.created_at, self.as_of - dt.timedelta(days=2)
        registered = min(
            created + dt.timedelta(minutes=self.rng.randint(2, 4000)),
            created + (self.as_of - created) / 2,
        )
        if plan.history == "upgraded" and registered + dt.timedelta(days=20) < end:
            opened = self._mid_month(registered + dt.timedelta(days=20), end)
            plan.events = [(registered, "sells", "none"), (opened, "sells", plan.sells)]
        elif plan.history == "closed" and registered + dt.timedelta(days=90) < end:
            was = "own" if plan.producer and self.rng.random() < 0.6 else "any"
            closed = self._between(registered + dt.timedelta(days=90), end)
            plan.events = [(registered, "sells", was), (closed, "sells", "none")]
        elif plan.history != "direct":
            plan.events = [(registered, "sells", plan.sells)]
        first = "unspecified" if plan.events else plan.sells
        plan.initial = {"sells": first, "owner_id": plan.owner_id}
        if self.rng.random() < 0.03 and registered + dt.timedelta(days=30) < end:
            # An ownership transfer: PaperTrail versions owner_id changes too.
            previous = self._user(created - dt.timedelta(days=1))[0]
            moved = self._between(registered + dt.timedelta(days=30), end)
            plan.initial["owner_id"] = previous
            plan.events = sorted([*plan.events, (moved, "owner_id", plan.owner_id)])

    def _mid_month(self, start: dt.datetime, end: dt.datetime) -> dt.datetime:
        at = self._between(start, end)
        local = at.astimezone(self.zone)
        day = self.rng.randint(8, 22)
        moved = local.replace(day=day, hour=self.rng.randint(9, 18)).astimezone(UTC)
        return moved if start <= moved < end else at

    def _billing_ids(self, shops: list[_Enterprise]) -> None:
        # Some legal entities are invoiced for several shops (OFN issue #12942).
        shuffled = self.rng.sample(shops, len(shops))
        groups = max(1, len(shops) // 40)
        prefix = self.spec.invoice_prefix
        for group in range(groups):
            members = shuffled[group * 3 : group * 3 + self.rng.choice((2, 3))]
            for plan in members:
                plan.external_billing_id = f"{prefix}-ACC-{group + 1:03d}"
        for plan in shuffled[groups * 3 :]:
            if self.rng.random() < 0.1:
                plan.external_billing_id = f"{prefix}-{plan.id:05d}"

    def _enterprise(self, plan: _Enterprise) -> None:
        interval = self._shop_interval(plan)
        shop = self._shop(plan, interval[0]) if interval else None
        taxed = shop is not None and shop.tax_mode != "none"
        row = self._enterprise_row(plan, taxed=taxed)
        self.rows["enterprises"].append(row)
        self.rows["enterprise_roles"].append(
            {
                "id": self._next("enterprise_roles"),
                "user_id": plan.owner_id,
                "enterprise_id": plan.id,
                "receives_notifications": True,
            }
        )
        self._versions(plan, row)
        if interval and (plan.coverage or self.rng.random() > 0.1):
            self._trade(shop, until=interval[1])

    def _enterprise_row(self, plan: _Enterprise, *, taxed: bool) -> dict:
        words, rng = self.spec.words, self.rng
        name = words.pattern.format(
            place=rng.choice(self.spec.places),
            adj=rng.choice(words.adjectives),
            noun=rng.choice(words.producers if plan.producer else words.hubs),
        )
        self.names[name] += 1
        if self.names[name] > 1:
            name = f"{name} {self.names[name]}"
        # OFN's column is nullable; some non-producers really have NULL in it.
        producer = plan.producer or (None if rng.random() < 0.2 else False)
        visible = rng.choices(("public", "only_through_links", "hidden"), (85, 10, 5))
        row = ReplicaWriter.enterprise_row(
            plan.id,
            owner_id=plan.owner_id,
            sells=plan.sells,
            created_at=plan.created_at,
            name=name,
            is_primary_producer=producer,
            external_billing_id=plan.external_billing_id,
            visible="only_through_links" if plan.sells == "unspecified" else visible[0],
        )
        first, last = self._person()
        row.update(
            updated_at=plan.events[-1][0] if plan.events else plan.created_at,
            producer_profile_only=plan.sells == "none" and rng.random() < 0.3,
            charges_sales_tax=taxed,
            contact_name=f"{first} {last}",
            email_address=f"hello@{row['permalink']}.example.org",
            phone=f"{self.spec.phone}{rng.randrange(1000):03d}",
        )
        return row

    def _versions(self, plan: _Enterprise, row: dict) -> None:
        before = {**row, **plan.initial, "updated_at": plan.created_at}
        for at, column, value in plan.events:
            self.rows["versions"].append(
                {
                    "id": self._next("versions"),
                    "item_type": "Enterprise",
                    "item_id": plan.id,
                    "event": "update",
                    "whodunnit": str(before["owner_id"]),
                    "object": _yaml(before),
                    "created_at": at,
                }
            )
            before = {**before, column: value, "updated_at": at}

    def _shop_interval(self, plan: _Enterprise):
        """The first UTC interval during which the enterprise was a shop, if any."""
        begin = plan.created_at if plan.initial["sells"] in SHOP_SELLS else None
        for at, column, value in plan.events:
            if column == "sells" and begin is None and value in SHOP_SELLS:
                begin = at
            elif column == "sells" and begin is not None and value not in SHOP_SELLS:
                return begin, at
        return (begin, self.as_of) if begin else None

    def _shop(self, plan: _Enterprise, opened_at: dt.datetime) -> _Shop:
        rng, spec = self.rng, self.spec
        hub = not plan.producer
        delivers = rng.random() < 0.5
        return _Shop(
            id=plan.id,
            hub=hub,
            opened_at=opened_at,
            rate=min(60.0, rng.lognormvariate(0.9, 0.9) * (1.4 if hub else 0.8)),
            basket_mu=math.log(spec.basket * rng.uniform(0.6, 1.5)),
            fee_rate=rng.choice(_FEE_RATES) if hub else ZERO,
            shipping=Decimal(rng.choice(spec.shipping)) if delivers else ZERO,
            tax_mode=self._tax_mode(),
            taxable=Decimal(rng.choice(spec.taxable_shares)),
        )

    def _tax_mode(self) -> str:
        # The first shops take every tax mode once, so any size has them all.
        if self.forced_tax_modes:
            return self.forced_tax_modes.pop()
        modes = ("included", "additional", "none")
        return self.rng.choices(modes, self.spec.tax_modes)[0]

    # ------------------------------------------------------------------- trading

    def _trade(self, shop: _Shop, *, until: dt.datetime) -> None:
        """Order cycles back to back from the shop's set-up until it closes or now."""
        setup = dt.timedelta(days=self.rng.randint(0, 21))
        start = max(shop.opened_at + setup, self.window_start)
        end = min(until, self.as_of)
        cadence = self.rng.choice((7, 7, 7, 14))
        day = local_date(start, self.spec.time_zone)
        self._import_customers(shop, start)
        while (open_at := self._local(day, 8)) < end:
            close_at = self._local(day + dt.timedelta(days=cadence), 8)
            cycle_id = self._cycle(shop, open_at, close_at)
            low, high = max(open_at, start), min(close_at, end)
            # New shops take a couple of months to reach their usual sales.
            weeks_open = (low - shop.opened_at) / dt.timedelta(weeks=1)
            ramp = min(1.0, 0.3 + weeks_open / 10)
            weeks = (high - low) / dt.timedelta(weeks=1)
            mean = shop.rate * self.spec.activity * _SEASON[day.month - 1]
            mean *= ramp * weeks
            orders = [(self._checkout(low, high), None) for _ in self._count(mean)]
            orders += [(at, "complete") for at in self._specials(low, high)]
            for at, state in sorted(o for o in orders if o[0] is not None):
                self._order(shop, at, state or self._state(), cycle_id)
            day += dt.timedelta(days=cadence)

    def _count(self, mean: float) -> range:
        """A Poisson-distributed number of orders with the given mean."""
        if mean > 30:
            return range(max(0, round(self.rng.gauss(mean, math.sqrt(mean)))))
        limit, count, product = math.exp(-mean), 0, self.rng.random()
        while product > limit:
            count += 1
            product *= self.rng.random()
        return range(count)

    def _checkout(self, low: dt.datetime, high: dt.datetime) -> dt.datetime | None:
        first = low.astimezone(self.zone).date()
        day = first + dt.timedelta(days=self.rng.randrange((high - low).days + 1))
        hour = self.rng.choices(_HOURS, cum_weights=_HOUR_CUM)[0]
        at = self._local(day, hour, self.rng.randrange(60), self.rng.randrange(60))
        return at if low <= at < high else None

    def _specials(self, low: dt.datetime, high: dt.datetime) -> list[dt.datetime]:
        """Orders within an hour either side of a local month start or a DST change."""
        found = []
        first = bisect.bisect_left(self.specials, low)
        for instant in self.specials[first : bisect.bisect_left(self.specials, high)]:
            if self.rng.random() >= self.special_share:
                continue
            for minutes in (-self.rng.randint(1, 59), self.rng.randint(0, 58)):
                at = instant + dt.timedelta(
                    minutes=minutes, seconds=self.rng.randrange(60)
                )
                if low <= at < high:
                    found.append(at)
        return found

    def _state(self) -> str:
        # The instance's first orders take every state once, so any size has them all.
        if self.forced_states:
            return self.forced_states.pop()
        return self.rng.choices(_STATES, cum_weights=_STATE_CUM)[0]

    def _cycle(self, shop: _Shop, open_at: dt.datetime, close_at: dt.datetime) -> int:
        cycle_id = self._next("order_cycles")
        local = open_at.astimezone(self.zone)
        self.rows["order_cycles"].append(
            {
                "id": cycle_id,
                "name": f"{self.spec.words.cycle} {local:%Y-%m-%d}",
                "orders_open_at": open_at,
                "orders_close_at": close_at,
                "coordinator_id": shop.id,
                "created_at": open_at - dt.timedelta(days=3),
                "updated_at": open_at - dt.timedelta(days=3),
                "processed_at": close_at if close_at <= self.as_of else None,
                "opened_at": open_at,
            }
        )
        return cycle_id

    def _import_customers(self, shop: _Shop, at: dt.datetime) -> None:
        """Households a shop registers by hand when it opens (`created_manually`)."""
        for _ in range(self.rng.randint(0, 40 if shop.hub else 5)):
            self._customer_for(shop, at - dt.timedelta(days=1), manual=True)

    def _customer_for(self, shop: _Shop, at: dt.datetime, *, manual=False) -> tuple:
        known = bisect.bisect_right(self.shopper_times, at)
        if known and self.rng.random() < 0.75:
            user_id, email, first, last = self.shoppers[self.rng.randrange(known)]
        else:
            first, last = self._person()
            user_id, email = None, f"{first}.{last}.g{self._next('guests')}"
            email = f"{email}@example.com".lower()
        if email in shop.emails:
            return shop.emails[email]
        customer = (self._next("customers"), user_id, email)
        self.rows["customers"].append(
            {
                "id": customer[0],
                "email": email,
                "enterprise_id": shop.id,
                "user_id": user_id,
                "created_at": at,
                "updated_at": at,
                "name": f"{first} {last}",
                "first_name": first,
                "last_name": last,
                "created_manually": manual,
            }
        )
        shop.emails[email] = customer
        shop.customers.append(customer)
        return customer

    def _order(self, shop: _Shop, at: dt.datetime, state: str, cycle_id: int) -> None:
        items, adjustments, included, added = self._amounts(shop, state)
        total = items + adjustments
        created = at - dt.timedelta(minutes=self.rng.randint(2, 45))
        payment_state, shipment_state = _STATE_COLUMNS[state]
        if state == "complete" and at > self.as_of - dt.timedelta(days=4):
            shipment_state = "ready"
        if state == "complete" and self.rng.random() < 0.08:
            payment_state = "balance_due"  # cash on collection
        if state == "cart":
            customer = (None, None, None)
        elif shop.customers and self.rng.random() > 0.22:
            customer = self.rng.choice(shop.customers)
        else:
            customer = self._customer_for(shop, created)
        row = ReplicaWriter.order_row(
            0,
            distributor_id=shop.id,
            state=state,
            completed_at=None if state == "cart" else at,
            total=total,
            item_total=items,
            included_tax_total=included,
            additional_tax_total=added,
            customer_id=customer[0],
            created_at=created,
            payment_state=payment_state,
        )
        paid = payment_state in ("paid", "credit_owed")
        row.update(
            adjustment_total=adjustments,
            payment_total=total if paid else self._money(ZERO),
            updated_at=self._updated(at, state),
            shipment_state=shipment_state,
            user_id=customer[1],
            email=customer[2],
            order_cycle_id=cycle_id,
            currency=self.spec.currency,
        )
        self.rows["spree_orders"].append(row)

    def _money(self, amount: Decimal) -> Decimal:
        return quantize(amount, self.spec.currency)

    def _amounts(self, shop: _Shop, state: str) -> tuple[Decimal, ...]:
        """Products, adjustments (fees, delivery, added tax, returns) and taxes."""
        rng, rate = self.rng, self.spec.tax_rate
        cents = max(250, int(rng.lognormvariate(shop.basket_mu, 0.55) * 100))
        items = Decimal(cents).scaleb(-2)
        fees = self._money(items * shop.fee_rate)
        shipping = shop.shipping if rng.random() < 0.6 else ZERO
        taxable = items * shop.taxable
        included = added = ZERO
        if shop.tax_mode == "included":
            included = self._money(taxable * rate / (1 + rate))
        elif shop.tax_mode == "additional":
            added = self._money(taxable * rate)
        credit = ZERO
        if state == "returned":
            credit = -self._money(items * rng.choice(_RETURN_SHARES))
        adjustments = fees + shipping + added + credit
        return (
            self._money(items),
            self._money(adjustments),
            self._money(included),
            self._money(added),
        )

    def _updated(self, at: dt.datetime, state: str) -> dt.datetime:
        later = {
            "canceled": dt.timedelta(hours=self.rng.randint(1, 120)),
            "returned": dt.timedelta(days=self.rng.randint(2, 10)),
            "awaiting_return": dt.timedelta(days=self.rng.randint(1, 5)),
            "cart": dt.timedelta(0),
        }.get(state, dt.timedelta(minutes=self.rng.randint(1, 30)))
        return min(at + later, self.as_of)


def _yaml(row: dict) -> str:
    """PaperTrail's `object`: YAML of the enterprise row as it was before the update."""
    lines = ["---"]
    for column in _VERSIONED:
        value = row.get(column)
        if value is None:
            text = ""
        elif isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, dt.datetime):
            text = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f000 Z")
        elif isinstance(value, str) and (":" in value or value[:1] in "'\"&*!|>%@"):
            text = "'" + value.replace("'", "''") + "'"
        else:
            text = str(value)
        lines.append(f"{column}: {text}".rstrip())
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- services


@dataclass(frozen=True)
class DemoInstanceReport:
    slug: str
    name: str
    replica: str  # kind and location, never credentials
    enterprises: int
    shops: int
    orders: int


@dataclass(frozen=True)
class DemoReport:
    instances: list[DemoInstanceReport]
    logins: list[tuple[str, str]]  # (username, what it may do)
    password: str = DEMO_PASSWORD


def demo_seed(
    *,
    as_of: dt.datetime,
    seed: int = DEFAULT_SEED,
    scale: float = 1.0,
    slugs: list[str] | None = None,
    replica_dir: Path | None = None,
    postgres_url: str | None = None,
    postgres_prefix: str = "ofn_demo_",
) -> DemoReport:
    """Build every demo replica, then register instances, plans and logins at once.

    `scale` multiplies the number of enterprises (and so of orders); 1 gives a few
    hundred enterprises and tens of thousands of orders per instance.
    """
    specs = _chosen_specs(slugs)
    if postgres_url:
        _postgres_server_check(postgres_url)
    built = [
        demo_replica_build(
            spec=spec,
            as_of=as_of,
            seed=seed,
            scale=scale,
            replica_dir=replica_dir,
            postgres_url=postgres_url,
            postgres_prefix=postgres_prefix,
        )
        for spec in specs
    ]
    with transaction.atomic():
        instances = [
            _demo_instance_register(spec=spec, replica_url=url)
            for spec, (url, _) in zip(specs, built, strict=True)
        ]
        demo_users_ensure(instances=instances)
    for instance in instances:
        # A connection this process kept to a replaced replica would read old rows.
        unregister_replica(instance.replica_alias)
    return DemoReport(
        instances=[report for _, report in built], logins=demo_logins(instances)
    )


def demo_replica_build(
    *,
    spec: DemoInstanceSpec,
    as_of: dt.datetime,
    seed: int = DEFAULT_SEED,
    scale: float = 1.0,
    replica_dir: Path | None = None,
    postgres_url: str | None = None,
    postgres_prefix: str = "ofn_demo_",
) -> tuple[str, DemoInstanceReport]:
    """Generate one instance's rows and write its replica; return its URL and counts.

    The replica is complete before it replaces the previous one; nothing is
    registered here.
    """
    if as_of.tzinfo is None:
        raise InvalidInput("as_of must be an aware datetime.")
    if not 0 < scale <= 10:
        raise InvalidInput(f"Scale {scale} is out of range: use a number in (0, 10].")
    rows = DemoReplica(spec, seed=seed, as_of=as_of, scale=scale).generate()
    if postgres_url:
        name = f"{postgres_prefix}{spec.slug}"
        url = _postgres_build(server_url=postgres_url, name=name, rows=rows)
        label = f"postgresql {redact_url(url)}"
    else:
        folder = Path(replica_dir or settings.VAR_DIR / "replicas").resolve()
        path = folder / f"{spec.slug}.sqlite3"
        url, label = _sqlite_build(path=path, rows=rows), f"sqlite {path}"
    report = _report(spec, label, rows)
    logger.info(
        "Demo replica built",
        extra={"instance": spec.slug, "orders": report.orders, "seed": seed},
    )
    return url, report


def _chosen_specs(slugs: list[str] | None) -> list[DemoInstanceSpec]:
    known = {spec.slug: spec for spec in DEMO_INSTANCES}
    unknown = sorted(set(slugs or []) - set(known))
    if unknown:
        raise InvalidInput(
            f"No demo instance {', '.join(unknown)}; choose among {', '.join(known)}."
        )
    return [spec for spec in DEMO_INSTANCES if not slugs or spec.slug in slugs]


def _report(spec: DemoInstanceSpec, label: str, rows: dict) -> DemoInstanceReport:
    return DemoInstanceReport(
        slug=spec.slug,
        name=spec.name,
        replica=label,
        enterprises=len(rows["enterprises"]),
        shops=sum(row["sells"] in SHOP_SELLS for row in rows["enterprises"]),
        orders=len(rows["spree_orders"]),
    )


def _write_rows(writer: ReplicaWriter, rows: dict[str, list[dict]]) -> None:
    for table in _TABLES:
        for start in range(0, len(rows[table]), _CHUNK_ROWS):
            writer.insert_many(table, rows[table][start : start + _CHUNK_ROWS])
    writer.commit()


def _sqlite_build(*, path: Path, rows: dict) -> str:
    """Write the replica beside `path` and move it into place once complete."""
    building = path.with_name(f"{path.name}.building")
    connection = create_sqlite_replica(building)
    try:
        # A crash only loses the `.building` file, so durability is not needed here.
        connection.execute("PRAGMA synchronous = OFF")
        _write_rows(ReplicaWriter(connection), rows)
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


def _postgres_server_check(url: str) -> None:
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


def _postgres_build(*, server_url: str, name: str, rows: dict) -> str:
    """Build database `name` under a temporary name, then swap it in."""
    url, building = _server(server_url, name), _server(server_url, f"{name}_build")
    try:
        connection = create_postgres_replica(building)
        try:
            _write_rows(ReplicaWriter(connection), rows)
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


def _demo_instance_register(*, spec: DemoInstanceSpec, replica_url: str) -> Instance:
    instance, _ = instance_register(
        slug=spec.slug,
        name=spec.name,
        country=spec.country,
        currency=spec.currency,
        time_zone=spec.time_zone,
        language=spec.language,
        invoice_prefix=spec.invoice_prefix,
        replica_url=replica_url,
        replica_url_env="",
    )
    _pricing_plan_ensure(instance=instance, fields=spec.plan)
    return instance


def _pricing_plan_ensure(*, instance: Instance, fields: dict) -> None:
    from billing.models import PricingPlan

    if PricingPlan.objects.filter(instance=instance, name=fields["name"]).exists():
        return
    plan = PricingPlan(instance=instance, effective_from=PLAN_EFFECTIVE_FROM, **fields)
    plan.full_clean()
    plan.save()
    audit_record(
        action="pricing_plan.created",
        target=plan,
        instance=instance,
        details={"source": "seed_demo", "name": plan.name},
    )


def demo_users_ensure(*, instances: list[Instance]) -> None:
    """The demo logins with the demo password (reset on every run) and their roles."""
    _demo_user("admin", superuser=True)
    accountant = _demo_user("accountant")
    for instance in instances:
        manager = _demo_user(f"manager-{instance.slug}")
        for user, role in ((manager, Role.MANAGER), (accountant, Role.ACCOUNTANT)):
            membership, created = Membership.objects.get_or_create(
                user=user, instance=instance, role=role
            )
            if created:
                audit_record(
                    action="membership.created",
                    target=membership,
                    instance=instance,
                    details={"user": user.username, "role": role},
                )


def _demo_user(username: str, *, superuser: bool = False):
    user, created = get_user_model().objects.get_or_create(
        username=username, defaults={"email": f"{username}@example.org"}
    )
    user.is_superuser = user.is_staff = superuser
    user.is_active = True
    user.set_password(DEMO_PASSWORD)
    user.save(update_fields=["password", "is_superuser", "is_staff", "is_active"])
    audit_record(
        action="user.demo_reset",
        target=user,
        details={"username": username, "created": created},
    )
    return user


def demo_logins(instances: list[Instance]) -> list[tuple[str, str]]:
    names = ", ".join(instance.name for instance in instances)
    return [
        ("admin", "global admin (every instance, Django admin)"),
        *((f"manager-{i.slug}", f"manager of {i.name}") for i in instances),
        ("accountant", f"accountant of {names}"),
    ]
