"""Trading in a demo replica: order cycles, customers and orders in every state.

A mixin of DemoReplica (instances/demo/replica.py); see instances/demo/enterprises.py.
"""

import bisect
import datetime as dt
import itertools
import math
from dataclasses import dataclass, field
from decimal import Decimal

from instances.replica_builder import ReplicaWriter
from portal.money import ZERO, quantize
from portal.periods import local_date

from .enterprises import _Enterprise

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


class TradeRows:
    """Shops' order cycles, customers and orders."""

    def _shop(self, blueprint: _Enterprise, opened_at: dt.datetime) -> _Shop:
        rng, spec = self.rng, self.spec
        hub = not blueprint.producer
        delivers = rng.random() < 0.5
        return _Shop(
            id=blueprint.id,
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
