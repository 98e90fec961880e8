"""One demo instance's replica rows, generated from a seeded Random.

Rows come from a `random.Random` seeded with (seed, instance): the same seed and
`as_of` give the same replica. All personal data is invented (short name lists,
example.org addresses, fictional phone ranges).
"""

import datetime as dt
import random
from collections import Counter, defaultdict

from instances.models.ofn import SHOP_SELLS
from portal.periods import Month, local_date, local_midnight_utc, zone

from .enterprises import _COVERAGE, EnterpriseRows
from .specs import DemoInstanceSpec
from .trading import _STATES, TradeRows

MONTHS = 24
UTC = dt.UTC


class DemoReplica(EnterpriseRows, TradeRows):
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
        blueprints = self._blueprints()
        shops = sum(blueprint.sells in SHOP_SELLS for blueprint in blueprints)
        # About three shops per instance trade across each month boundary and DST
        # change, whatever the size of the demo.
        self.special_share = min(1.0, 3 / max(1, shops))
        for blueprint in blueprints:
            self._enterprise(blueprint)
        self.rows["spree_orders"].sort(key=lambda row: (row["created_at"], row["id"]))
        for number, row in enumerate(self.rows["spree_orders"], start=1):
            row.update(id=number, number=f"R{number:09d}")
        return self.rows

    # Helpers shared by the enterprise and trading rows.

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
