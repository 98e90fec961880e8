"""Enterprises of a demo replica: categories, owners, histories in `versions`.

A mixin of DemoReplica (instances/demo/replica.py); the methods draw from the replica's
seeded Random in a fixed order, so the same seed gives the same rows.
"""

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from instances.models.ofn import SHOP_SELLS
from instances.replica_builder import ReplicaWriter

UTC = dt.UTC

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


class EnterpriseRows:
    """Enterprise rows, their roles and their PaperTrail history."""

    def _blueprints(self) -> list[_Enterprise]:
        blueprints = [self._blueprint(index) for index in range(self.size)]
        blueprints.sort(key=lambda blueprint: blueprint.created_at)
        owners = Counter()
        for number, blueprint in enumerate(blueprints, start=1):
            blueprint.id = number
            blueprint.owner_id = self._owner(blueprint, owners, number)
            owners[blueprint.owner_id] += 1
            self._history(blueprint)
        self._billing_ids(
            [blueprint for blueprint in blueprints if blueprint.sells in SHOP_SELLS]
        )
        return blueprints

    def _blueprint(self, index: int) -> _Enterprise:
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

    def _owner(self, blueprint: _Enterprise, owners: Counter, number: int) -> int:
        # Every seventh enterprise goes to someone who already owns one (OFN's default
        # enterprise_limit is 5), so even a tiny demo has multi-enterprise owners.
        candidates = [owner for owner, count in owners.items() if count < 4]
        if candidates and (number % 7 == 3 or self.rng.random() < 0.1):
            return self.rng.choice(sorted(candidates))
        minutes = self.rng.randint(5, 3000)
        return self._user(blueprint.created_at - dt.timedelta(minutes=minutes))[0]

    def _history(self, blueprint: _Enterprise) -> None:
        created, end = blueprint.created_at, self.as_of - dt.timedelta(days=2)
        registered = min(
            created + dt.timedelta(minutes=self.rng.randint(2, 4000)),
            created + (self.as_of - created) / 2,
        )
        if blueprint.history == "upgraded" and registered + dt.timedelta(days=20) < end:
            opened = self._mid_month(registered + dt.timedelta(days=20), end)
            blueprint.events = [
                (registered, "sells", "none"),
                (opened, "sells", blueprint.sells),
            ]
        elif blueprint.history == "closed" and registered + dt.timedelta(days=90) < end:
            was = "own" if blueprint.producer and self.rng.random() < 0.6 else "any"
            closed = self._between(registered + dt.timedelta(days=90), end)
            blueprint.events = [(registered, "sells", was), (closed, "sells", "none")]
        elif blueprint.history != "direct":
            blueprint.events = [(registered, "sells", blueprint.sells)]
        first = "unspecified" if blueprint.events else blueprint.sells
        blueprint.initial = {"sells": first, "owner_id": blueprint.owner_id}
        if self.rng.random() < 0.03 and registered + dt.timedelta(days=30) < end:
            # An ownership transfer: PaperTrail versions owner_id changes too.
            previous = self._user(created - dt.timedelta(days=1))[0]
            moved = self._between(registered + dt.timedelta(days=30), end)
            blueprint.initial["owner_id"] = previous
            blueprint.events = sorted(
                [*blueprint.events, (moved, "owner_id", blueprint.owner_id)]
            )

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
            for blueprint in members:
                blueprint.external_billing_id = f"{prefix}-ACC-{group + 1:03d}"
        for blueprint in shuffled[groups * 3 :]:
            if self.rng.random() < 0.1:
                blueprint.external_billing_id = f"{prefix}-{blueprint.id:05d}"

    def _enterprise(self, blueprint: _Enterprise) -> None:
        interval = self._shop_interval(blueprint)
        shop = self._shop(blueprint, interval[0]) if interval else None
        taxed = shop is not None and shop.tax_mode != "none"
        row = self._enterprise_row(blueprint, taxed=taxed)
        self.rows["enterprises"].append(row)
        self.rows["enterprise_roles"].append(
            {
                "id": self._next("enterprise_roles"),
                "user_id": blueprint.owner_id,
                "enterprise_id": blueprint.id,
                "receives_notifications": True,
            }
        )
        self._versions(blueprint, row)
        if interval and (blueprint.coverage or self.rng.random() > 0.1):
            self._trade(shop, until=interval[1])

    def _enterprise_row(self, blueprint: _Enterprise, *, taxed: bool) -> dict:
        words, rng = self.spec.words, self.rng
        name = words.pattern.format(
            place=rng.choice(self.spec.places),
            adj=rng.choice(words.adjectives),
            noun=rng.choice(words.producers if blueprint.producer else words.hubs),
        )
        self.names[name] += 1
        if self.names[name] > 1:
            name = f"{name} {self.names[name]}"
        # OFN's column is nullable; some non-producers really have NULL in it.
        producer = blueprint.producer or (None if rng.random() < 0.2 else False)
        visible = rng.choices(("public", "only_through_links", "hidden"), (85, 10, 5))
        row = ReplicaWriter.enterprise_row(
            blueprint.id,
            owner_id=blueprint.owner_id,
            sells=blueprint.sells,
            created_at=blueprint.created_at,
            name=name,
            is_primary_producer=producer,
            external_billing_id=blueprint.external_billing_id,
            visible="only_through_links"
            if blueprint.sells == "unspecified"
            else visible[0],
        )
        first, last = self._person()
        row.update(
            updated_at=blueprint.events[-1][0]
            if blueprint.events
            else blueprint.created_at,
            producer_profile_only=blueprint.sells == "none" and rng.random() < 0.3,
            charges_sales_tax=taxed,
            contact_name=f"{first} {last}",
            email_address=f"hello@{row['permalink']}.example.org",
            phone=f"{self.spec.phone}{rng.randrange(1000):03d}",
        )
        return row

    def _versions(self, blueprint: _Enterprise, row: dict) -> None:
        before = {**row, **blueprint.initial, "updated_at": blueprint.created_at}
        for at, column, value in blueprint.events:
            self.rows["versions"].append(
                {
                    "id": self._next("versions"),
                    "item_type": "Enterprise",
                    "item_id": blueprint.id,
                    "event": "update",
                    "whodunnit": str(before["owner_id"]),
                    "object": _yaml(before),
                    "created_at": at,
                }
            )
            before = {**before, column: value, "updated_at": at}

    def _shop_interval(self, blueprint: _Enterprise):
        """The first UTC interval during which the enterprise was a shop, if any."""
        begin = (
            blueprint.created_at if blueprint.initial["sells"] in SHOP_SELLS else None
        )
        for at, column, value in blueprint.events:
            if column == "sells" and begin is None and value in SHOP_SELLS:
                begin = at
            elif column == "sells" and begin is not None and value not in SHOP_SELLS:
                return begin, at
        return (begin, self.as_of) if begin else None


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
