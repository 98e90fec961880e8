"""Which plan version bills each local day of a shop, and the segments of its month
(rules 3 and 6).
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from portal.exceptions import BillingError

from .terms import PlanTerms


@dataclass(frozen=True)
class Assignment:
    """A shop billed by plan `plan_code` from `starts_on` to `ends_on` (inclusive)."""

    enterprise_id: int
    plan_code: str
    starts_on: dt.date
    ends_on: dt.date | None = None

    def covers(self, day: dt.date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


class PlanCatalogue:
    """Every version of an instance's plans, and the shops assigned to other plans."""

    def __init__(
        self, versions: Iterable[PlanTerms], assignments: Iterable[Assignment] = ()
    ):
        self.versions: dict[str, list[PlanTerms]] = defaultdict(list)
        for terms in versions:
            self.versions[terms.code].append(terms)
        for code_versions in self.versions.values():
            code_versions.sort(key=lambda terms: terms.effective_from or dt.date.min)
        self.assignments: dict[int, list[Assignment]] = defaultdict(list)
        for assignment in assignments:
            self.assignments[assignment.enterprise_id].append(assignment)
        # The plan of a category on a day, shared by every shop of that category.
        self._by_category: dict[tuple[str, dt.date], PlanTerms | None] = {}

    def in_force(self, code: str, day: dt.date) -> PlanTerms | None:
        """The version of plan `code` billing `day`: the latest effective by then."""
        found = None
        for terms in self.versions.get(code, ()):
            if terms.effective_from is None or terms.effective_from <= day:
                found = terms
        return found

    def for_day(
        self, *, enterprise_id: int, category: str, day: dt.date
    ) -> PlanTerms | None:
        """The plan version billing a shop on a local day, or None when none does.

        An assignment covering the day wins; otherwise the one plan whose version in
        force applies to the shop's category. Two such plans are a configuration
        error, never a guess.
        """
        for assignment in self.assignments.get(enterprise_id, ()):
            if assignment.covers(day):
                assigned = self.in_force(assignment.plan_code, day)
                if assigned is not None:
                    return assigned
        key = (category, day)
        if key not in self._by_category:
            self._by_category[key] = self._category_plan(category, day)
        return self._by_category[key]

    def _category_plan(self, category: str, day: dt.date) -> PlanTerms | None:
        candidates = [
            terms
            for code in sorted(self.versions)
            if (terms := self.in_force(code, day)) and category in terms.applies_to
        ]
        if len(candidates) > 1:
            codes = ", ".join(terms.code for terms in candidates)
            raise BillingError(
                f"Plans {codes} all apply to {category} shops on {day}: narrow their "
                "categories, or assign the shop to one plan."
            )
        return candidates[0] if candidates else None


@dataclass(frozen=True)
class Segment:
    """The billable local days of a shop's month under one plan version."""

    index: int
    terms: PlanTerms
    days: tuple[dt.date, ...]
    trial_ends_on: dt.date | None


@dataclass(frozen=True)
class ShopPlan:
    """How a shop's days of a month are billed: segments, and trial days if any."""

    segments: tuple[Segment, ...]
    trial_days: tuple[dt.date, ...]
    trial_terms: PlanTerms | None
    trial_ends_on: dt.date | None


def shop_segments(
    *,
    catalogue: PlanCatalogue,
    enterprise_id: int,
    category: str,
    shop_days: Iterable[dt.date],
    became_shop_on: dt.date | None,
) -> ShopPlan:
    """Split a shop's local days into plan segments, leaving out trial days.

    Each day is billed by the plan version in force that day (rule 6); a day is free
    while it is within that version's trial, counted from the local day the shop first
    became one (rule 3).
    """
    by_terms: dict[int, list[dt.date]] = {}
    terms_of: dict[int, PlanTerms] = {}
    ends_of: dict[int, dt.date | None] = {}
    trial: list[dt.date] = []
    trial_terms = None
    for day in shop_days:
        terms = catalogue.for_day(
            enterprise_id=enterprise_id, category=category, day=day
        )
        if terms is None:
            continue
        key = id(terms)
        if key not in terms_of:
            terms_of[key] = terms
            ends_of[key] = terms.trial_ends_on(became_shop_on)
        if ends_of[key] is not None and day <= ends_of[key]:
            trial.append(day)
            trial_terms = terms
            continue
        by_terms.setdefault(key, []).append(day)
    segments = tuple(
        Segment(index, terms_of[key], tuple(days), ends_of[key])
        for index, (key, days) in enumerate(by_terms.items())
    )
    trial_ends = trial_terms.trial_ends_on(became_shop_on) if trial_terms else None
    return ShopPlan(segments, tuple(trial), trial_terms, trial_ends)
