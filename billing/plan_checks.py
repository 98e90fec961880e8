"""Checks of plan writes against what the instance already has.

Reads only: the currency of the instance, the versions a finalised invoice froze, the
months already finalised, which plan bills each shop category on each day, and the
shops' assignments. billing.services.plans runs them before writing anything.
"""

import datetime as dt
from collections import defaultdict

from django.db.models import Max, Q

from instances.models import Instance
from portal.periods import Month

from .models import ALL_SHOP_CATEGORIES, Invoice, PricingPlan, ShopPlanAssignment
from .plan_format import AssignmentData, PlanData, Problem, join_path
from .plan_selectors import finalised_invoice_numbers

VersionKey = tuple[str, dt.date]


def version_matches(row: PricingPlan, plan: PlanData, currency: str) -> bool:
    """Whether the stored version `row` already holds exactly what `plan` says."""
    stored = {name: getattr(row, name) for name in plan.fields}
    stored["currency"] = row.currency or currency
    # The order of categories means nothing.
    stored["applies_to"] = sorted(row.applies_to)
    wanted = {**plan.fields, "applies_to": sorted(plan.fields["applies_to"])}
    tiers = sorted(
        (t.lower_bound, t.flat_fee, t.turnover_rate, t.unit_price)
        for t in row.tiers.all()
    )
    charges = sorted(
        (c.code, c.description, c.amount, c.taxable) for c in row.one_off_charges.all()
    )
    return (
        stored == wanted
        and tiers
        == sorted(
            (t["lower_bound"], t["flat_fee"], t["turnover_rate"], t["unit_price"])
            for t in plan.tiers
        )
        and charges
        == sorted(
            (c["code"], c["description"], c["amount"], c["taxable"])
            for c in plan.one_off_charges
        )
    )


def plan_set_problems(
    *,
    instance: Instance,
    plans: list[PlanData],
    targets: dict[VersionKey, PricingPlan | None],
    existing: dict[VersionKey, PricingPlan],
) -> list[Problem]:
    """What the database says against writing `plans` over their `targets`.

    `targets[key]` is the stored row a plan overwrites (None: a new row).
    """
    problems = []
    for plan in plans:
        target = targets[plan.key]
        problems += currency_problems(instance, plan)
        if target is not None and not version_matches(target, plan, instance.currency):
            problems += frozen_version_problems(target, plan.path)
        if target is None or (target.code, target.effective_from) != plan.key:
            problems += _new_version_problems(instance, plan, existing, target)
    overwritten = {
        (row.code, row.effective_from) for row in targets.values() if row is not None
    }
    versions = {
        key: (row.applies_to, None)
        for key, row in existing.items()
        if key not in overwritten
    }
    versions.update(
        {plan.key: (plan.fields["applies_to"], plan.path) for plan in plans}
    )
    return problems + _category_clashes(versions)


def currency_problems(instance: Instance, plan: PlanData) -> list[Problem]:
    if plan.fields["currency"] == instance.currency:
        return []
    return [
        Problem(
            join_path(plan.path, "currency"),
            f"must be {instance.currency}, the currency of {instance.slug} "
            f"(got {plan.fields['currency']!r})",
        )
    ]


def frozen_version_problems(version: PricingPlan, path: str) -> list[Problem]:
    numbers = finalised_invoice_numbers(version)
    if not numbers:
        return []
    shown = ", ".join(numbers[:3]) + (
        f" and {len(numbers) - 3} more" if numbers[3:] else ""
    )
    return [
        Problem(
            path,
            f"the version {version.code} from {version.effective_from} was used by "
            f"finalised invoice {shown} and cannot change; give the change a later "
            "effective_from to make it a new version",
        )
    ]


def _new_version_problems(instance, plan: PlanData, existing, target) -> list[Problem]:
    """A new version (or a moved one) must not change months already finalised."""
    where = join_path(plan.path, "effective_from")
    other = existing.get(plan.key)
    if other is not None and other is not target:
        return [
            Problem(
                where,
                f"plan {plan.code} already has a version from {plan.effective_from}",
            )
        ]
    last = _last_finalised_month(instance, plan.code)
    if last is None or plan.effective_from > last.last_day:
        return []
    return [
        Problem(
            where,
            f"invoices of {last} billed with plan {plan.code} are finalised; a new "
            f"version must start on {last.next().first_day} or later",
        )
    ]


def _last_finalised_month(instance: Instance, code: str) -> Month | None:
    month = (
        Invoice.objects.filter(instance=instance)
        .exclude(status=Invoice.Status.DRAFT)
        .filter(Q(plan__code=code) | Q(lines__plan__code=code))
        .aggregate(last=Max("month"))["last"]
    )
    return Month.from_date(month) if month else None


def _category_clashes(
    versions: dict[VersionKey, tuple[list[str], str | None]],
) -> list[Problem]:
    """Each shop category is billed by at most one plan code on any day.

    `versions` maps every version after the write to its categories and its path in
    the document (None for a stored version the document does not touch); only clashes
    that involve the document are reported.
    """
    by_code = defaultdict(list)
    for (code, day), (categories, path) in sorted(versions.items()):
        by_code[code].append((day, categories, path))
    problems, reported = [], set()
    for day in sorted({day for _, day in versions}):
        in_force = _in_force(by_code, day)
        for category in ALL_SHOP_CATEGORIES:
            codes = sorted(code for code, v in in_force.items() if category in v[1])
            # Blame the clash once, on the document's last version involved.
            paths = [in_force[code][2] for code in codes if in_force[code][2]]
            if len(codes) < 2 or not paths:
                continue
            path = max(paths, key=_document_order)
            if (path, category) in reported:
                continue
            reported.add((path, category))
            mine = next(code for code in codes if in_force[code][2] == path)
            others = ", ".join(code for code in codes if code != mine)
            problems.append(
                Problem(
                    join_path(path, "applies_to"),
                    f"{category} shops would also be billed by plan {others} "
                    f"from {day}; a category belongs to one plan at a time "
                    "(assign the exceptions to shops instead)",
                )
            )
    return problems


def _document_order(path: str) -> tuple[int, str]:
    """plans[10] comes after plans[9]."""
    digits = "".join(ch for ch in path if ch.isdigit())
    return int(digits or 0), path


def _in_force(by_code: dict, day: dt.date) -> dict[str, tuple]:
    in_force = {}
    for code, versions in by_code.items():
        current = [version for version in versions if version[0] <= day]
        if current:
            in_force[code] = current[-1]
    return in_force


def first_version_dates(existing, plans: list[PlanData]) -> dict[str, dt.date]:
    """The first effective_from of every plan code, stored or in the document."""
    first = {}
    for code, day in [*existing, *(plan.key for plan in plans)]:
        first[code] = min(day, first.get(code, day))
    return first


def assignment_set_problems(
    *,
    instance: Instance,
    assignments: list[AssignmentData],
    versions: dict[str, dt.date],
) -> list[Problem]:
    problems, seen = [], {}
    for item in assignments:
        code, starts = item.fields["plan_code"], item.fields["starts_on"]
        if code not in versions:
            problems.append(
                Problem(
                    join_path(item.path, "plan_code"),
                    f"no plan {code!r} in {instance.slug} or in this file",
                )
            )
        elif starts < versions[code]:
            problems.append(
                Problem(
                    join_path(item.path, "starts_on"),
                    f"plan {code} has no version in force on {starts}; its first "
                    f"starts on {versions[code]}",
                )
            )
        if item.key in seen:
            problems.append(Problem(item.path, f"repeats {seen[item.key]}"))
        seen.setdefault(item.key, item.path)
    return problems + _overlaps(instance, assignments)


def _overlaps(instance, assignments) -> list[Problem]:
    """A shop follows one assignment at a time."""
    keys = {item.key for item in assignments}
    spans = defaultdict(list)  # enterprise -> (starts, ends, label, path or None)
    stored = ShopPlanAssignment.objects.filter(
        instance=instance, enterprise_id__in={key[0] for key in keys}
    )
    for row in stored:
        key = (row.enterprise_id, row.plan_code, row.starts_on)
        if key not in keys:
            label = f"{row.plan_code} from {row.starts_on}"
            spans[row.enterprise_id].append((row.starts_on, row.ends_on, label, None))
    for item in assignments:
        values = item.fields
        label = f"{values['plan_code']} from {values['starts_on']}"
        spans[values["enterprise_id"]].append(
            (values["starts_on"], values["ends_on"], label, item.path)
        )
    problems = []
    for enterprise_id, items in spans.items():
        items.sort(key=lambda span: span[0])
        for before, after in zip(items, items[1:], strict=False):
            if before[1] is not None and before[1] < after[0]:
                continue
            # Blame the document's item, naming the one it collides with.
            mine, other = (after, before) if after[3] is not None else (before, after)
            if mine[3] is not None:
                problems.append(
                    Problem(
                        mine[3],
                        f"overlaps the assignment of shop {enterprise_id} to "
                        f"{other[2]}; a shop follows one assignment at a time",
                    )
                )
    return problems
