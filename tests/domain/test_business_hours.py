"""Business hours: open/closed, next opening, adding and measuring open time — across midnight, weekends,
holidays and both DST changes of Europe/Rome."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from centralino.domain.business_hours import (
    BusinessCalendar,
    CalendarError,
    calendar_from_dict,
    calendar_to_dict,
    easter_sunday,
    italian_holidays,
)

ROME = ZoneInfo("Europe/Rome")
WEEKDAYS_9_TO_18 = {d: [["09:00", "13:00"], ["14:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def rome(*args: int) -> datetime:
    return datetime(*args, tzinfo=ROME)  # type: ignore[misc]


def office(**extra: object) -> BusinessCalendar:
    return calendar_from_dict({"time_zone": "Europe/Rome", "hours": WEEKDAYS_9_TO_18, **extra})


def test_open_inside_intervals_closed_at_lunch_nights_and_weekends() -> None:
    cal = office()
    assert cal.is_open(rome(2026, 11, 25, 9, 0))  # a Wednesday, opening instant included
    assert cal.is_open(rome(2026, 11, 25, 12, 59))
    assert not cal.is_open(rome(2026, 11, 25, 13, 0))  # the end is excluded
    assert not cal.is_open(rome(2026, 11, 25, 8, 59))
    assert not cal.is_open(rome(2026, 11, 25, 18, 0))
    assert not cal.is_open(rome(2026, 11, 28, 10, 0))  # Saturday
    assert cal.is_open(datetime(2026, 11, 25, 8, 30, tzinfo=UTC))  # 09:30 in Rome


def test_next_open_is_now_when_open_else_the_next_start() -> None:
    cal = office()
    at = rome(2026, 11, 25, 10, 0)
    assert cal.next_open(at) == at
    assert cal.next_open(rome(2026, 11, 25, 13, 30)) == rome(2026, 11, 25, 14, 0)
    assert cal.next_open(rome(2026, 11, 27, 18, 0)) == rome(2026, 11, 30, 9, 0)  # Friday evening → Monday
    assert cal.next_close(rome(2026, 11, 25, 10, 0)) == rome(2026, 11, 25, 13, 0)
    assert cal.next_close(rome(2026, 11, 25, 13, 30)) is None


def test_italian_holidays_close_the_day_and_open_dates_override() -> None:
    assert easter_sunday(2026) == date(2026, 4, 5)
    assert easter_sunday(2027) == date(2027, 3, 28)
    assert date(2026, 4, 6) in italian_holidays(2026)  # Easter Monday
    assert {date(2026, 12, 8), date(2026, 6, 2), date(2026, 4, 25)} <= italian_holidays(2026)
    cal = office(holidays="it")
    assert not cal.is_open(rome(2026, 12, 8, 10, 0))  # Immacolata, a Tuesday
    assert cal.next_open(rome(2026, 12, 7, 18, 0)) == rome(2026, 12, 9, 9, 0)
    assert cal.next_open(rome(2026, 12, 24, 18, 0)) == rome(2026, 12, 28, 9, 0)  # 25, 26, weekend
    assert office(holidays="it", open_dates=["2026-12-08"]).is_open(rome(2026, 12, 8, 10, 0))
    assert not office(closed_dates=["2026-11-25"]).is_open(rome(2026, 11, 25, 10, 0))


def test_add_business_time_skips_closed_time() -> None:
    cal = office()
    assert cal.add_business_time(rome(2026, 11, 25, 10, 0), timedelta(hours=1)) == rome(2026, 11, 25, 11, 0)
    assert cal.add_business_time(rome(2026, 11, 25, 12, 30), timedelta(hours=1)) == rome(2026, 11, 25, 14, 30)
    # from Friday 17:00, 2 hours: 1 h on Friday, 1 h on Monday
    assert cal.add_business_time(rome(2026, 11, 27, 17, 0), timedelta(hours=2)) == rome(2026, 11, 30, 10, 0)
    # started while closed: counting begins at the opening
    assert cal.add_business_time(rome(2026, 11, 28, 3, 0), timedelta(minutes=30)) == rome(2026, 11, 30, 9, 30)
    assert cal.add_business_time(rome(2026, 11, 25, 13, 0), timedelta(0)) == rome(2026, 11, 25, 14, 0)
    # exactly at the end of a span it stops there, not at the next opening
    assert cal.add_business_time(rome(2026, 11, 25, 12, 0), timedelta(hours=1)) == rome(2026, 11, 25, 13, 0)


def test_business_time_between_counts_only_open_time() -> None:
    cal = office()
    assert cal.business_time_between(rome(2026, 11, 25, 8, 0), rome(2026, 11, 25, 20, 0)) == timedelta(hours=8)
    assert cal.business_time_between(rome(2026, 11, 27, 17, 0), rome(2026, 11, 30, 10, 0)) == timedelta(hours=2)
    assert cal.business_time_between(rome(2026, 11, 25, 10, 0), rome(2026, 11, 25, 10, 0)) == timedelta(0)
    assert cal.business_time_between(rome(2026, 11, 25, 11, 0), rome(2026, 11, 25, 10, 0)) == timedelta(0)
    week = cal.business_time_between(rome(2026, 11, 23, 0, 0), rome(2026, 11, 30, 0, 0))
    assert week == timedelta(hours=40)


def test_intervals_across_midnight_are_one_span() -> None:
    night = calendar_from_dict({"time_zone": "Europe/Rome",
                                "hours": {"mon": [["22:00", "24:00"]], "tue": [["00:00", "06:00"]]}})
    start = rome(2026, 11, 23, 23, 0)  # Monday
    assert night.is_open(rome(2026, 11, 24, 0, 0))
    assert night.add_business_time(start, timedelta(hours=3)) == rome(2026, 11, 24, 2, 0)
    assert night.next_close(start) == rome(2026, 11, 24, 6, 0)
    assert night.business_time_between(rome(2026, 11, 23, 12, 0), rome(2026, 11, 25, 0, 0)) == timedelta(hours=8)


def test_spring_forward_day_is_an_hour_shorter() -> None:
    always = calendar_from_dict({"time_zone": "Europe/Rome",
                                 "hours": {d: [["00:00", "24:00"]] for d in ("sat", "sun", "mon")}})
    # 29 March 2026: 02:00 → 03:00
    day = always.business_time_between(rome(2026, 3, 29, 0, 0), rome(2026, 3, 30, 0, 0))
    assert day == timedelta(hours=23)
    assert always.add_business_time(rome(2026, 3, 29, 1, 30), timedelta(hours=1)) == rome(2026, 3, 29, 3, 30)
    night = calendar_from_dict({"time_zone": "Europe/Rome", "hours": {"sun": [["01:00", "04:00"]]}})
    assert night.business_time_between(rome(2026, 3, 29, 0, 0), rome(2026, 3, 29, 12, 0)) == timedelta(hours=2)
    # an opening inside the gap (02:30 does not exist) starts after it, at 03:30 summer time
    gap = calendar_from_dict({"time_zone": "Europe/Rome", "hours": {"sun": [["02:30", "05:00"]]}})
    assert gap.next_open(rome(2026, 3, 29, 0, 0)) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_fall_back_day_is_an_hour_longer() -> None:
    always = calendar_from_dict({"time_zone": "Europe/Rome",
                                 "hours": {d: [["00:00", "24:00"]] for d in ("sat", "sun", "mon")}})
    # 25 October 2026: 03:00 → 02:00
    day = always.business_time_between(rome(2026, 10, 25, 0, 0), rome(2026, 10, 26, 0, 0))
    assert day == timedelta(hours=25)
    night = calendar_from_dict({"time_zone": "Europe/Rome", "hours": {"sun": [["01:00", "04:00"]]}})
    assert night.business_time_between(rome(2026, 10, 25, 0, 0), rome(2026, 10, 25, 12, 0)) == timedelta(hours=4)
    end = night.add_business_time(rome(2026, 10, 25, 1, 0), timedelta(hours=4))
    assert end == datetime(2026, 10, 25, 3, 0, tzinfo=UTC)  # 04:00 winter time
    assert night.next_close(rome(2026, 10, 25, 1, 0)) == end


def test_add_and_measure_agree_everywhere() -> None:
    cal = office(holidays="it")
    start = rome(2026, 3, 20, 7, 15)
    for minutes in range(0, 60 * 24 * 20, 97):  # 20 days of open time, odd steps, across the DST change
        end = cal.add_business_time(start, timedelta(minutes=minutes))
        assert cal.business_time_between(start, end) == timedelta(minutes=minutes)
        if minutes:
            assert cal.is_open(end - timedelta(seconds=1))


def test_always_open_and_never_open() -> None:
    always = BusinessCalendar.always_open()
    at = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    assert always.is_open(at) and always.next_open(at) == at
    assert always.add_business_time(at, timedelta(days=2)) == at + timedelta(days=2)
    never = calendar_from_dict({"time_zone": "UTC", "hours": {}})
    assert never.next_open(at) is None
    with pytest.raises(CalendarError):
        never.add_business_time(at, timedelta(minutes=1))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        office().is_open(datetime(2026, 11, 25, 10, 0))


@pytest.mark.parametrize(("data", "field"), [
    ({"time_zone": "Mars/Olympus"}, "time_zone"),
    ({"holidays": "atlantis"}, "holidays"),
    ({"hours": {"monday": [["09:00", "18:00"]]}}, "hours.monday"),
    ({"hours": {"mon": [["18:00", "09:00"]]}}, "hours.mon"),
    ({"hours": {"mon": [["09:00", "25:00"]]}}, "hours.mon"),
    ({"hours": {"mon": [["nine", "18:00"]]}}, "hours.mon"),
    ({"hours": {"mon": "09:00-18:00"}}, "hours.mon"),
    ({"hours": []}, "hours"),
    ({"closed_dates": ["25/12/2026"]}, "closed_dates"),
])
def test_bad_definitions_name_the_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(CalendarError) as err:
        calendar_from_dict(data)
    assert err.value.field == field


def test_round_trip() -> None:
    cal = office(holidays="it", closed_dates=["2026-08-14"], open_dates=["2026-12-08"])
    assert calendar_from_dict(calendar_to_dict(cal)) == cal
