"""Pricing plans: import and export of plan files, and the plan edits of the portal.

Every write checks everything first and reports all problems at once (a
`PlanFileInvalid` whose problems carry JSON paths), then writes in one transaction.
A plan version that a finalised invoice used never changes: a plan as it was when a
bill was sent stays as it was, and a change becomes a new version.
"""

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Prefetch

from instances.models import Instance
from portal.audit import audit_record
from portal.exceptions import InvalidInput
from portal.money import minor_unit_digits

from ..models import (
    OneOffCharge,
    PlanTier,
    PricingPlan,
    ShopPlanAssignment,
)
from ..plan_checks import (
    VersionKey,
    assignment_set_problems,
    currency_problems,
    first_version_dates,
    frozen_version_problems,
    plan_set_problems,
    version_matches,
)
from ..plan_format import (
    FORMAT,
    PlanData,
    PlanFileInvalid,
    Problem,
    assignment_as_dict,
    assignment_problems,
    document_read,
    in_document_order,
    plan_as_dict,
    plan_problems,
    problems_touch,
)

logger = logging.getLogger(__name__)


@dataclass
class PlanImportResult:
    instance: Instance
    dry_run: bool
    created: list[str] = field(default_factory=list)  # "standard from 2024-01-01"
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    assignments_created: int = 0
    assignments_updated: int = 0
    assignments_unchanged: int = 0

    def summary(self) -> str:
        verb = "would import" if self.dry_run else "imported"
        return (
            f"{self.instance.slug}: {verb} {len(self.created)} new plan versions, "
            f"{len(self.replaced)} replaced, {len(self.unchanged)} unchanged; "
            f"assignments {self.assignments_created} new, "
            f"{self.assignments_updated} updated, "
            f"{self.assignments_unchanged} unchanged."
        )


# ------------------------------------------------------------------------- export


def plans_export(*, instance: Instance) -> dict:
    """Every plan version and shop assignment of `instance` as a plan document.

    Importing the result gives back identical rows (Decimal values exact).
    """
    places = minor_unit_digits(instance.currency)
    versions = PricingPlan.objects.filter(instance=instance).order_by(
        "code", "effective_from"
    )
    versions = versions.prefetch_related(
        Prefetch("tiers", queryset=PlanTier.objects.order_by("lower_bound")),
        Prefetch("one_off_charges", queryset=OneOffCharge.objects.order_by("id")),
    )
    assignments = ShopPlanAssignment.objects.filter(instance=instance).order_by(
        "enterprise_id", "starts_on", "plan_code", "id"
    )
    return {
        "format": FORMAT,
        "instance": instance.slug,
        "plans": [
            plan_as_dict(
                version,
                tiers=version.tiers.all(),
                one_off_charges=version.one_off_charges.all(),
                currency=instance.currency,
                places=places,
            )
            for version in versions
        ],
        "assignments": [assignment_as_dict(item) for item in assignments],
    }


# ------------------------------------------------------------------------- import


def plans_import(
    *,
    instance: Instance | None = None,
    document: Any,
    actor=None,
    dry_run: bool = False,
) -> PlanImportResult:
    """Import a plan document (docs/plans.md) into `instance`, all or nothing.

    Without `instance`, the document's own "instance" names it. A version (code and
    effective_from) already there is replaced when it differs, unless a finalised
    invoice used it; an identical one is left alone, so importing twice changes
    nothing. Assignments match on (enterprise_id, plan_code, starts_on). With
    `dry_run` everything is checked and counted, then rolled back.
    """
    parsed, problems = document_read(document)
    if parsed is None:
        raise PlanFileInvalid(problems)
    instance = instance or _instance_named(parsed.instance_slug, problems)
    result = PlanImportResult(instance=instance, dry_run=dry_run)
    try:
        with transaction.atomic():
            existing = _versions_locked(instance)
            problems += _database_problems(
                instance=instance, parsed=parsed, existing=existing, found=problems
            )
            if problems:
                raise PlanFileInvalid(in_document_order(problems))
            for plan in parsed.plans:
                _version_import(
                    instance=instance,
                    plan=plan,
                    current=existing.get(plan.key),
                    result=result,
                    actor=actor,
                )
            _assignments_import(
                instance=instance,
                assignments=parsed.assignments,
                result=result,
                actor=actor,
            )
            if dry_run:
                transaction.set_rollback(True)
    except IntegrityError:
        raise InvalidInput(
            "Another change to these plans happened at the same moment; "
            "nothing was imported, run the import again."
        ) from None
    logger.info(
        "Plans imported",
        extra={
            "instance": instance.slug,
            "versions_created": len(result.created),
            "versions_replaced": len(result.replaced),
            "versions_unchanged": len(result.unchanged),
            "dry_run": dry_run,
        },
    )
    return result


def _database_problems(
    *, instance, parsed, existing, found: list[Problem]
) -> list[Problem]:
    """What the instance's rows say against the document.

    Plans and assignments with problems of their own (`found`) are left out of the
    checks that need them whole, so one report still covers the whole file; a wrong
    currency is reported whatever else is wrong with the plan.
    """
    plans = [p for p in parsed.plans if not problems_touch(found, p.path)]
    assignments = [a for a in parsed.assignments if not problems_touch(found, a.path)]
    sound = {id(plan) for plan in plans}
    problems = [
        problem
        for plan in parsed.plans
        if id(plan) not in sound and "currency" in plan.fields
        for problem in currency_problems(instance, plan)
    ]
    problems += plan_set_problems(
        instance=instance,
        plans=plans,
        targets={plan.key: existing.get(plan.key) for plan in plans},
        existing=existing,
    )
    return problems + assignment_set_problems(
        instance=instance,
        assignments=assignments,
        versions=first_version_dates(existing, plans),
    )


def _instance_named(slug, problems: list[Problem]) -> Instance:
    """The instance the document names; without one, nothing else can be checked."""
    instance = None
    if not problems_touch(problems, "instance"):
        instance = Instance.objects.filter(slug=slug).first()
    if instance is None:
        if not problems_touch(problems, "instance"):
            problems.append(
                Problem(
                    "instance",
                    f"no instance {slug!r} in this portal; register it, or import "
                    "into another instance with --instance",
                )
            )
        raise PlanFileInvalid(in_document_order(problems))
    return instance


def _versions_locked(instance: Instance) -> dict[VersionKey, PricingPlan]:
    versions = (
        PricingPlan.objects.select_for_update()
        .filter(instance=instance)
        .prefetch_related("tiers", "one_off_charges")
    )
    return {(version.code, version.effective_from): version for version in versions}


def _version_label(key: VersionKey) -> str:
    return f"{key[0]} from {key[1]}"


def _version_import(*, instance, plan: PlanData, current, result, actor) -> None:
    label = _version_label(plan.key)
    if current is not None and version_matches(current, plan, instance.currency):
        result.unchanged.append(label)
        return
    row = _version_write(instance=instance, plan=plan, row=current)
    (result.replaced if current is not None else result.created).append(label)
    audit_record(
        action="pricing_plan.imported",
        target=row,
        actor=actor,
        instance=instance,
        details={
            "code": plan.code,
            "effective_from": str(plan.effective_from),
            "change": "replaced" if current is not None else "created",
        },
    )


def _assignments_import(*, instance, assignments, result, actor) -> None:
    rows = {}
    for row in ShopPlanAssignment.objects.filter(instance=instance).order_by("id"):
        rows.setdefault((row.enterprise_id, row.plan_code, row.starts_on), row)
    for assignment in assignments:
        row = rows.get(assignment.key)
        values = assignment.fields
        if row is not None and (row.ends_on, row.note) == (
            values["ends_on"],
            values["note"],
        ):
            result.assignments_unchanged += 1
            continue
        if row is None:
            row = ShopPlanAssignment.objects.create(instance=instance, **values)
            result.assignments_created += 1
        else:
            row.ends_on, row.note = values["ends_on"], values["note"]
            row.save(update_fields=["ends_on", "note", "updated_at"])
            result.assignments_updated += 1
        audit_record(
            action="plan_assignment.imported",
            target=row,
            actor=actor,
            instance=instance,
            details={"enterprise_id": row.enterprise_id, "plan_code": row.plan_code},
        )


# ---------------------------------------------------------------- checks and rows


def _version_write(*, instance, plan: PlanData, row: PricingPlan | None) -> PricingPlan:
    """Create, or overwrite in place, one version with its tiers and one-offs."""
    created = row is None
    row = row or PricingPlan(instance=instance)
    for name, value in plan.fields.items():
        setattr(row, name, value)
    if created:
        row.save()
    else:
        row.save(update_fields=[*plan.fields, "updated_at"])
        row.tiers.all().delete()
        row.one_off_charges.all().delete()
    PlanTier.objects.bulk_create(PlanTier(plan=row, **tier) for tier in plan.tiers)
    OneOffCharge.objects.bulk_create(
        OneOffCharge(plan=row, **charge) for charge in plan.one_off_charges
    )
    return row


# ------------------------------------------------------------------ portal edits


def plan_version_save(
    *,
    instance: Instance,
    data: dict,
    version: PricingPlan | None = None,
    actor=None,
) -> PricingPlan:
    """Create a version (`version` None) or change an unused one, from a plan object.

    `data` is one plan object of the file format (what the portal's form builds), so
    the form and the file follow the same rules; problems carry paths relative to it.
    """
    plan, problems = plan_problems(data)
    if problems:
        raise PlanFileInvalid(problems)
    try:
        with transaction.atomic():
            existing = _versions_locked(instance)
            target = None
            if version is not None:
                target = existing[(version.code, version.effective_from)]
                if plan.code != target.code:
                    raise PlanFileInvalid(
                        [Problem("code", "the code of a plan does not change")]
                    )
                problems = frozen_version_problems(target, "")
            problems = problems or plan_set_problems(
                instance=instance,
                plans=[plan],
                targets={plan.key: target},
                existing=existing,
            )
            if problems:
                raise PlanFileInvalid(problems)
            row = _version_write(instance=instance, plan=plan, row=target)
            audit_record(
                action="pricing_plan.created"
                if target is None
                else "pricing_plan.updated",
                target=row,
                actor=actor,
                instance=instance,
                details={"code": row.code, "effective_from": str(row.effective_from)},
            )
    except IntegrityError:
        raise InvalidInput(
            "Another change to this plan happened at the same moment; try again."
        ) from None
    logger.info(
        "Plan version saved",
        extra={"instance": instance.slug, "plan": row.pk, "code": row.code},
    )
    return row


def plan_version_copy(
    *, version: PricingPlan, effective_from: dt.date, name: str = "", actor=None
) -> PricingPlan:
    """A new version of `version`'s plan from `effective_from`, same terms."""
    instance = version.instance
    data = plan_as_dict(
        version,
        tiers=version.tiers.order_by("lower_bound"),
        one_off_charges=version.one_off_charges.order_by("id"),
        currency=instance.currency,
        places=minor_unit_digits(instance.currency),
    )
    data["effective_from"] = effective_from.isoformat()
    data["name"] = name or version.name
    return plan_version_save(instance=instance, data=data, actor=actor)


def plan_assignment_add(
    *, instance: Instance, data: dict, actor=None
) -> ShopPlanAssignment:
    """Assign a shop to a plan between two dates, from an assignment object."""
    assignment, problems = assignment_problems(data)
    if problems:
        raise PlanFileInvalid(problems)
    with transaction.atomic():
        existing = _versions_locked(instance)
        problems = assignment_set_problems(
            instance=instance,
            assignments=[assignment],
            versions=first_version_dates(existing, []),
        )
        if ShopPlanAssignment.objects.filter(
            instance=instance,
            enterprise_id=assignment.fields["enterprise_id"],
            plan_code=assignment.fields["plan_code"],
            starts_on=assignment.fields["starts_on"],
        ).exists():
            problems.append(Problem("", "this shop already has this assignment"))
        if problems:
            raise PlanFileInvalid(problems)
        row = ShopPlanAssignment.objects.create(instance=instance, **assignment.fields)
        audit_record(
            action="plan_assignment.created",
            target=row,
            actor=actor,
            instance=instance,
            details=_assignment_details(row),
        )
    return row


def plan_assignment_end(
    *, assignment: ShopPlanAssignment, ends_on: dt.date, actor=None
) -> ShopPlanAssignment:
    """End an assignment on `ends_on` (inclusive); ending never lengthens one."""
    with transaction.atomic():
        row = ShopPlanAssignment.objects.select_for_update().get(pk=assignment.pk)
        if ends_on < row.starts_on:
            raise PlanFileInvalid(
                [Problem("ends_on", f"must not be before the start {row.starts_on}")]
            )
        if row.ends_on is not None and ends_on > row.ends_on:
            raise PlanFileInvalid(
                [Problem("ends_on", f"this assignment already ends on {row.ends_on}")]
            )
        row.ends_on = ends_on
        row.save(update_fields=["ends_on", "updated_at"])
        audit_record(
            action="plan_assignment.ended",
            target=row,
            actor=actor,
            instance=row.instance,
            details=_assignment_details(row),
        )
    return row


def _assignment_details(row: ShopPlanAssignment) -> dict:
    return {
        "enterprise_id": row.enterprise_id,
        "plan_code": row.plan_code,
        "starts_on": str(row.starts_on),
        "ends_on": str(row.ends_on) if row.ends_on else None,
    }
