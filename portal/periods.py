"""Local calendar periods of an instance, turned into UTC bounds.

Rule 1 of the billing rules: month M of an instance is the half-open local interval
[M-01 00:00, (M+1)-01 00:00) in the instance's IANA zone. The bounds are computed
here, in Python, and compared with OFN's UTC timestamps as `>= start AND < end`.
Nothing here reads the process's TIME_ZONE or the active Django zone.
"""

import calendar
import datetime as dt
import functools
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from .exceptions import InvalidInput

UTC = dt.UTC
# ASCII digits only: `\d` would also accept other scripts' digits, which int() reads.
# OFN started in 2012; the upper bound keeps "the month after" representable.
FIRST_YEAR, LAST_YEAR = 2000, 2999
_MONTH_PATTERN = re.compile(r"^([0-9]{4})-([0-9]{2})$")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Month":
        """Read `YYYY-MM`; anything else is an InvalidInput saying what is expected."""
        match = _MONTH_PATTERN.match(text.strip()) if isinstance(text, str) else None
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise InvalidInput(
                f"Month {text!r} is not valid: write it as YYYY-MM, e.g. 2026-05."
            )
        if not FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR:
            raise InvalidInput(
                f"Month {text!r} is out of range: the year must be between "
                f"{FIRST_YEAR} and {LAST_YEAR}."
            )
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def from_date(cls, day: dt.date) -> "Month":
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.year, self.month, self.days)

    @property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    def next(self) -> "Month":
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> "Month":
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)


@functools.cache
def zone(name: str) -> ZoneInfo:
    """The IANA zone called `name`, or an InvalidInput naming the bad value."""
    try:
        if name not in available_timezones():
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidInput(
            f"Time zone {name!r} is not an IANA zone name: use one such as "
            "Europe/London or Australia/Melbourne."
        ) from None


def local_midnight_utc(day: dt.date, time_zone: str) -> dt.datetime:
    """The UTC instant at which local `day` starts in `time_zone`."""
    local = dt.datetime.combine(day, dt.time.min, tzinfo=zone(time_zone))
    return local.astimezone(UTC)


def day_range_utc(
    first: dt.date, end: dt.date, time_zone: str
) -> tuple[dt.datetime, dt.datetime]:
    """UTC bounds of the local days [first, end): start inclusive, end exclusive."""
    return local_midnight_utc(first, time_zone), local_midnight_utc(end, time_zone)


def month_bounds_utc(month: Month, time_zone: str) -> tuple[dt.datetime, dt.datetime]:
    """UTC bounds [start, end) of `month` in `time_zone`."""
    return day_range_utc(month.first_day, month.next().first_day, time_zone)


def local_date(instant: dt.datetime, time_zone: str) -> dt.date:
    """The local calendar date of an aware instant in `time_zone`."""
    if instant.tzinfo is None:
        raise ValueError("local_date needs an aware datetime")
    return instant.astimezone(zone(time_zone)).date()


def last_full_month(*, time_zone: str, as_of: dt.datetime) -> Month:
    """The most recent month that has fully ended in `time_zone` at `as_of`."""
    return Month.from_date(local_date(as_of, time_zone)).previous()
