"""Local months and days as UTC bounds: month ends, DST changes, leap years."""

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone

from portal.exceptions import InvalidInput
from portal.periods import (
    Month,
    day_range_utc,
    last_full_month,
    local_date,
    local_midnight_utc,
    month_bounds_utc,
    zone,
)

UTC = dt.UTC


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


BOUNDS = [
    # zone, month, UTC start, UTC end (worked out from each zone's offsets)
    ("UTC", Month(2026, 5), at(2026, 5, 1), at(2026, 6, 1)),
    # London: GMT until 29 Mar 01:00Z, BST (+1) until 25 Oct 01:00Z
    ("Europe/London", Month(2026, 3), at(2026, 3, 1), at(2026, 3, 31, 23)),
    ("Europe/London", Month(2026, 10), at(2026, 9, 30, 23), at(2026, 11, 1)),
    ("Europe/London", Month(2026, 12), at(2026, 12, 1), at(2027, 1, 1)),
    # Melbourne: AEDT (+11) until 5 Apr, AEST (+10) until 4 Oct, then AEDT
    ("Australia/Melbourne", Month(2026, 4), at(2026, 3, 31, 13), at(2026, 4, 30, 14)),
    ("Australia/Melbourne", Month(2026, 10), at(2026, 9, 30, 14), at(2026, 10, 31, 13)),
    (
        "Australia/Melbourne",
        Month(2026, 11),
        at(2026, 10, 31, 13),
        at(2026, 11, 30, 13),
    ),
    # Madrid: CET (+1) until 29 Mar, CEST (+2) until 25 Oct
    ("Europe/Madrid", Month(2026, 3), at(2026, 2, 28, 23), at(2026, 3, 31, 22)),
    ("Europe/Madrid", Month(2026, 10), at(2026, 9, 30, 22), at(2026, 10, 31, 23)),
    # Leap year: February 2028 has 29 days
    ("Europe/Madrid", Month(2028, 2), at(2028, 1, 31, 23), at(2028, 2, 29, 23)),
    ("America/Toronto", Month(2026, 11), at(2026, 11, 1, 4), at(2026, 12, 1, 5)),
]


@pytest.mark.parametrize(
    ("time_zone", "month", "start", "end"),
    BOUNDS,
    ids=[f"{z}-{m}" for z, m, _, _ in BOUNDS],
)
def test_month_bounds_utc_at_dst_changes_and_month_ends(time_zone, month, start, end):
    assert month_bounds_utc(month, time_zone) == (start, end)


@pytest.mark.parametrize(
    ("process_zone", "active_zone"),
    [("UTC", None), ("Europe/London", "Pacific/Kiritimati")],
    ids=["utc", "london-active-kiritimati"],
)
def test_month_bounds_utc_ignores_process_and_active_zone(process_zone, active_zone):
    with override_settings(TIME_ZONE=process_zone):
        if active_zone:
            timezone.activate(active_zone)
        try:
            bounds = month_bounds_utc(Month(2026, 11), "Australia/Melbourne")
        finally:
            timezone.deactivate()
    assert bounds == (at(2026, 10, 31, 13), at(2026, 11, 30, 13))


@pytest.mark.parametrize(
    ("month", "days", "last_day"),
    [
        (Month(2026, 2), 28, dt.date(2026, 2, 28)),
        (Month(2028, 2), 29, dt.date(2028, 2, 29)),
        (Month(2100, 2), 28, dt.date(2100, 2, 28)),
        (Month(2000, 2), 29, dt.date(2000, 2, 29)),
        (Month(2026, 4), 30, dt.date(2026, 4, 30)),
        (Month(2026, 12), 31, dt.date(2026, 12, 31)),
    ],
    ids=["feb-2026", "feb-2028-leap", "feb-2100", "feb-2000-leap", "apr", "dec"],
)
def test_month_days_and_last_day(month, days, last_day):
    assert month.days == days
    assert month.last_day == last_day
    assert month.first_day == dt.date(month.year, month.month, 1)


def test_month_next_and_previous_cross_years():
    assert Month(2026, 12).next() == Month(2027, 1)
    assert Month(2027, 1).previous() == Month(2026, 12)
    assert Month(2026, 5).next() == Month(2026, 6)
    assert Month(2026, 5).previous() == Month(2026, 4)


@pytest.mark.parametrize(
    ("text", "month"),
    [("2026-05", Month(2026, 5)), (" 2026-12 ", Month(2026, 12))],
    ids=["plain", "spaces"],
)
def test_month_parse_accepts_yyyy_mm(text, month):
    assert Month.parse(text) == month
    assert str(month) == text.strip()


@pytest.mark.parametrize(
    "text",
    ["2026-13", "2026-00", "2026-5", "26-05", "May", "2026/05", "",
     "٢٠٢٦-٠٥", "2026-05-01", None],
    ids=["month-13", "month-0", "one-digit", "two-digit-year", "word", "slash",
         "empty", "arabic-digits", "date", "none"],
)  # fmt: skip
def test_month_parse_rejects_with_an_example(text):
    with pytest.raises(InvalidInput, match=r"write it as YYYY-MM, e\.g\. 2026-05"):
        Month.parse(text)


@pytest.mark.parametrize("text", ["0000-01", "1999-12", "3000-01", "9999-12"])
def test_month_parse_rejects_years_out_of_range(text):
    # 9999-12 used to crash computing the following month's bounds.
    with pytest.raises(InvalidInput, match="year must be between 2000 and 2999"):
        Month.parse(text)


@pytest.mark.parametrize(
    "name", ["Mars/Olympus", "", "../etc/passwd", "london"], ids=str
)
def test_zone_rejects_non_iana_names(name):
    with pytest.raises(InvalidInput, match="not an IANA zone name"):
        zone(name)


def test_local_midnight_utc_where_midnight_does_not_exist():
    # Santiago skips 00:00 on 2026-09-06 (clocks go from 00:00 to 01:00, -4 to -3):
    # that local day starts at 04:00Z, and the previous one lasted 24 hours.
    assert local_midnight_utc(dt.date(2026, 9, 6), "America/Santiago") == at(
        2026, 9, 6, 4
    )
    assert local_midnight_utc(dt.date(2026, 9, 5), "America/Santiago") == at(
        2026, 9, 5, 4
    )


def test_day_range_utc_spans_the_london_autumn_change():
    # 25 October 2026 lasts 25 hours in London
    start, end = day_range_utc(
        dt.date(2026, 10, 25), dt.date(2026, 10, 26), "Europe/London"
    )
    assert (start, end) == (at(2026, 10, 24, 23), at(2026, 10, 26))
    assert end - start == dt.timedelta(hours=25)


def test_local_date_needs_an_aware_instant():
    assert local_date(at(2026, 10, 31, 13), "Australia/Melbourne") == dt.date(
        2026, 11, 1
    )
    with pytest.raises(ValueError, match="aware"):
        local_date(dt.datetime(2026, 10, 31, 13), "Australia/Melbourne")  # noqa: DTZ001


def test_last_full_month_is_local():
    # 1 June 00:30 in Madrid is still 31 May in UTC
    assert last_full_month(
        time_zone="Europe/Madrid", as_of=at(2026, 5, 31, 22, 30)
    ) == Month(2026, 5)
    assert last_full_month(time_zone="UTC", as_of=at(2026, 5, 31, 22, 30)) == Month(
        2026, 4
    )
