"""When each instance's monthly drafts are due, in the instance's own time zone.

An instance bills month M-1 once its local clock passes day `monthly_run_day` of M at
`monthly_run_hour` (IssuerProfile; the 1st at 06:00 when it has none). A frequent
beat tick asks which instances are due and have no run for that month yet; the
BillingRun constraint (one per instance and month) keeps two beats, or one run task
delivered twice, from billing a month twice.
"""

import datetime as dt
from dataclasses import dataclass

from instances.models import Instance
from portal.exceptions import BillingError
from portal.periods import Month, local_date, zone

from .. import selectors
from ..models import BillingRun, IssuerProfile


@dataclass(frozen=True)
class DueRun:
    instance: Instance
    month: Month
    moment: dt.datetime


def monthly_run_moment(*, month: Month, time_zone: str, day: int, hour: int):
    """The aware instant at which `month`'s run of the previous month is due."""
    return dt.datetime(month.year, month.month, day, hour, tzinfo=zone(time_zone))


def _run_time(instance: Instance) -> tuple[int, int]:
    try:
        profile = instance.issuer
    except IssuerProfile.DoesNotExist:
        fields = IssuerProfile._meta
        return (
            fields.get_field("monthly_run_day").default,
            fields.get_field("monthly_run_hour").default,
        )
    return profile.monthly_run_day, profile.monthly_run_hour


def _has_plan(instance: Instance, month: Month) -> bool:
    try:
        selectors.pricing_plan_for_month(instance=instance, month=month)
    except BillingError:
        return False
    return True


def monthly_runs_due(*, as_of: dt.datetime) -> list[DueRun]:
    """Instances whose monthly run moment has passed and whose run is missing."""
    candidates = []
    for instance in Instance.objects.select_related("issuer").order_by("slug"):
        this_month = Month.from_date(local_date(as_of, instance.time_zone))
        day, hour = _run_time(instance)
        moment = monthly_run_moment(
            month=this_month, time_zone=instance.time_zone, day=day, hour=hour
        )
        if as_of >= moment:
            candidates.append(DueRun(instance, this_month.previous(), moment))
    done = set(
        BillingRun.objects.filter(
            instance__in=[due.instance for due in candidates],
            month__in={due.month.first_day for due in candidates},
        ).values_list("instance_id", "month")
    )
    return [
        due
        for due in candidates
        if (due.instance.pk, due.month.first_day) not in done
        # Without a plan in force there is nothing to bill; the run would fail.
        and _has_plan(due.instance, due.month)
    ]
