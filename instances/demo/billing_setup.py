"""The demo's billing set-up: plans imported from plans/, shop assignments, the
issuer of each instance and a few billing subjects edited by its manager.

Everything goes through the services a manager's actions use (plans_import,
issuer_profile_save, billing_subject_update), so the demo shows what they produce.
"""

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from django.conf import settings

from billing.models import BillingSubject, ShopPlanAssignment
from billing.plan_format import PlanFileInvalid, document_parse
from billing.services.parties import billing_subject_update, issuer_profile_save
from billing.services.plans import plans_export, plans_import
from portal.audit import audit_record
from portal.exceptions import InvalidInput
from portal.periods import Month, local_date

from ..models import Instance
from ..models.ofn import SHOP_SELLS
from .specs import DemoAssignment, DemoInstanceSpec

PLANS_DIR = settings.BASE_DIR / "plans"


@dataclass(frozen=True)
class DemoShops:
    """What the billing set-up needs to know of a replica just generated."""

    hubs: tuple[int, ...]  # enterprise ids of shops that are not producers
    producers: tuple[int, ...]  # producer shops and producer hubs
    billing_groups: tuple[str, ...]  # external billing ids shared by several shops


def demo_shops(rows: dict[str, list[dict]]) -> DemoShops:
    enterprises = rows["enterprises"]
    shops = [row for row in enterprises if row["sells"] in SHOP_SELLS]
    shared = Counter(
        row["external_billing_id"] for row in enterprises if row["external_billing_id"]
    )
    return DemoShops(
        hubs=tuple(sorted(r["id"] for r in shops if not r["is_primary_producer"])),
        producers=tuple(sorted(r["id"] for r in shops if r["is_primary_producer"])),
        billing_groups=tuple(sorted(key for key, n in shared.items() if n > 1)),
    )


def demo_billing_ensure(
    *,
    spec: DemoInstanceSpec,
    instance: Instance,
    shops: DemoShops,
    manager,
    as_of: dt.datetime,
) -> None:
    """Plans, assignments, issuer and edited subjects of one demo instance."""
    demo_plans_import(spec=spec, instance=instance, shops=shops, as_of=as_of)
    issuer_profile_save(instance=instance, actor=None, values=spec.billing.issuer)
    for group, details in zip(
        shops.billing_groups, spec.billing.subjects, strict=False
    ):
        subject, _ = BillingSubject.objects.get_or_create(
            instance=instance,
            key=f"external:{group}",
            defaults={"invoice_name": f"Billing ID {group}"},
        )
        billing_subject_update(subject=subject, actor=manager, values=details)


def demo_plans_import(
    *, spec: DemoInstanceSpec, instance: Instance, shops: DemoShops, as_of: dt.datetime
) -> None:
    """Import the instance's plan file with the demo's shop assignments.

    Plan codes an older demo left behind stop applying to any category, so they never
    clash with the file's. The assignments follow the replica just built (its shops
    may differ from the last one's), so the old ones are replaced.
    """
    document = document_parse((PLANS_DIR / spec.billing.plan_file).read_bytes())
    codes = {plan["code"] for plan in document["plans"]}
    for plan in plans_export(instance=instance)["plans"]:
        if plan["code"] not in codes and plan["applies_to"]:
            document["plans"].append({**plan, "applies_to": []})
    document["assignments"] = _assignments(
        spec.billing.assignments,
        shops=shops,
        first_versions=_first_versions(document["plans"]),
        today=local_date(as_of, instance.time_zone),
    )
    removed, _ = ShopPlanAssignment.objects.filter(instance=instance).delete()
    if removed:
        audit_record(
            action="plan_assignment.demo_reset",
            target=instance,
            instance=instance,
            details={"removed": removed},
        )
    try:
        plans_import(instance=instance, document=document)
    except PlanFileInvalid as error:
        raise InvalidInput(
            f"The demo plans of {instance.slug} do not fit this portal database "
            f"({error}); start from a fresh one (remove var/portal.sqlite3)."
        ) from None


def _first_versions(plans: list[dict]) -> dict[str, dt.date]:
    first: dict[str, dt.date] = {}
    for plan in plans:
        day = dt.date.fromisoformat(plan["effective_from"])
        first[plan["code"]] = min(day, first.get(plan["code"], day))
    return first


def _months_back(month: Month, count: int) -> Month:
    for _ in range(count):
        month = month.previous()
    return month


def _assignments(
    wanted: tuple[DemoAssignment, ...],
    *,
    shops: DemoShops,
    first_versions: dict[str, dt.date],
    today: dt.date,
) -> list[dict]:
    """Each wanted assignment on the next shop of its kind, dated from `today`."""
    pools = {"hub": list(shops.hubs), "producer": list(shops.producers)}
    month = Month.from_date(today)
    rows = []
    for item in wanted:
        if not pools[item.kind]:
            continue
        ends_on = None
        starts_on = _months_back(month, 12).first_day
        if item.ended:
            starts_on = _months_back(month, 18).first_day
            ends_on = _months_back(month, 6).first_day - dt.timedelta(days=1)
        starts_on = max(starts_on, first_versions[item.plan_code])
        if ends_on is not None and ends_on < starts_on:
            continue
        rows.append(
            {
                "enterprise_id": pools[item.kind].pop(0),
                "plan_code": item.plan_code,
                "starts_on": starts_on.isoformat(),
                "ends_on": ends_on.isoformat() if ends_on else None,
                "note": item.note,
            }
        )
    return rows
