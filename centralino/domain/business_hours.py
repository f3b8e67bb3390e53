"""Business hours: when a queue is open, and how much open time lies between two instants.

A calendar is weekly opening intervals in a time zone, minus closed dates (holidays, closures), plus dates
open despite a holiday. Instants are aware datetimes; every duration is measured on the UTC timeline, so a
day that loses or gains an hour at a DST change counts the hours it really had. A local opening time that
does not exist (spring forward) maps to the instant after the gap; an ambiguous one (fall back) to its first
occurrence. An interval may end at 24:00 (minute 1440); intervals touching across midnight are one opening."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MINUTES_PER_DAY = 24 * 60
SEARCH_DAYS = 3 * 366  # how far ahead next_open/add_business_time look before giving up
ITALIAN_FIXED_HOLIDAYS = ((1, 1), (1, 6), (4, 25), (5, 1), (6, 2), (8, 15), (11, 1), (12, 8), (12, 25), (12, 26))


class CalendarError(ValueError):
    """A calendar definition that cannot be used; `field` names the offending part."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, order=True)
class OpeningInterval:
    """Open on `weekday` (0 = Monday) from start_minute to end_minute after local midnight."""

    weekday: int
    start_minute: int
    end_minute: int

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise CalendarError("weekday is 0 (Monday) to 6 (Sunday)", "hours.weekday")
        if not 0 <= self.start_minute < self.end_minute <= MINUTES_PER_DAY:
            raise CalendarError("an interval starts before it ends, within the day (00:00-24:00)", "hours")


def easter_sunday(year: int) -> date:
    """Gregorian Easter (the anonymous algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


def italian_holidays(year: int) -> frozenset[date]:
    """Italy's national holidays: the fixed ones plus Easter Monday (local patron saints are closures the
    business adds)."""
    fixed = {date(year, m, d) for m, d in ITALIAN_FIXED_HOLIDAYS}
    return frozenset(fixed | {easter_sunday(year) + timedelta(days=1)})


HOLIDAY_SETS = {"it": italian_holidays}


def parse_hhmm(value: str, field: str) -> int:
    """'09:30' → 570; '24:00' is the end of the day."""
    try:
        hours, minutes = value.split(":")
        h, m = int(hours), int(minutes)
    except ValueError:
        raise CalendarError(f"{value!r} is not a time like 09:30", field) from None
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m):
        raise CalendarError(f"{value!r} is not a time between 00:00 and 24:00", field)
    return h * 60 + m


@dataclass(frozen=True)
class BusinessCalendar:
    time_zone: str
    intervals: tuple[OpeningInterval, ...]
    holidays: str | None = None  # a named set of national holidays (HOLIDAY_SETS), e.g. "it"
    closed_dates: frozenset[date] = frozenset()
    open_dates: frozenset[date] = frozenset()  # open (on their weekly hours) despite a holiday
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "zone", ZoneInfo(self.time_zone))
        except (ZoneInfoNotFoundError, ValueError):
            raise CalendarError(f"unknown time zone {self.time_zone!r}", "time_zone") from None
        if self.holidays is not None and self.holidays not in HOLIDAY_SETS:
            raise CalendarError(f"unknown holiday set {self.holidays!r} (known: it)", "holidays")

    @classmethod
    def always_open(cls) -> BusinessCalendar:
        return cls("UTC", tuple(OpeningInterval(d, 0, MINUTES_PER_DAY) for d in range(7)))

    # --- queries ------------------------------------------------------------------------------------

    def is_closed_on(self, day: date) -> bool:
        if day in self.open_dates:
            return False
        if day in self.closed_dates:
            return True
        return self.holidays is not None and day in HOLIDAY_SETS[self.holidays](day.year)

    def is_open(self, at: datetime) -> bool:
        at = _aware(at)
        return any(start <= at < end for start, end in self._spans(self._local_date(at) - timedelta(days=1), 3))

    def next_open(self, at: datetime) -> datetime | None:
        """`at` itself when open, else the start of the next opening; None when it never opens again
        within SEARCH_DAYS."""
        at = _aware(at)
        for start, end in self._spans(self._local_date(at) - timedelta(days=1), SEARCH_DAYS):
            if end > at:
                return max(start, at)
        return None

    def next_close(self, at: datetime) -> datetime | None:
        """When the span open at `at` ends (None when closed at `at`)."""
        at = _aware(at)
        closes: datetime | None = None
        for start, end in self._spans(self._local_date(at) - timedelta(days=1), SEARCH_DAYS):
            if closes is not None:
                if start > closes:
                    return closes  # a gap: it closes here
                closes = max(closes, end)  # the next day's span continues it across midnight
            elif start <= at < end:
                closes = end
            elif start > at:
                return None
        return closes

    def add_business_time(self, start: datetime, duration: timedelta) -> datetime:
        """The instant when `duration` of open time has passed since `start`."""
        start = _aware(start)
        if duration < timedelta(0):
            raise ValueError("duration is not negative")
        left = duration
        for span_start, span_end in self._spans(self._local_date(start) - timedelta(days=1), SEARCH_DAYS):
            if span_end <= start:
                continue
            begin = max(span_start, start)
            if begin + left <= span_end:
                return begin + left
            left -= span_end - begin
        raise CalendarError("the calendar is not open long enough within three years", "hours")

    def business_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Open time within [a, b); zero when b is not after a."""
        a, b = _aware(a), _aware(b)
        total = timedelta(0)
        if b <= a:
            return total
        days = (self._local_date(b) - self._local_date(a)).days + 3
        for start, end in self._spans(self._local_date(a) - timedelta(days=1), days):
            if start >= b:
                break
            overlap = min(end, b) - max(start, a)
            if overlap > timedelta(0):
                total += overlap
        return total

    # --- spans --------------------------------------------------------------------------------------

    def _local_date(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()

    def _instant(self, day: date, minute: int) -> datetime:
        if minute == MINUTES_PER_DAY:
            day, minute = day + timedelta(days=1), 0
        local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.zone)
        # fold=0 puts a non-existent time after the gap once normalised through UTC
        return local.astimezone(UTC)

    def _day_spans(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        if self.is_closed_on(day):
            return
        for interval in sorted(i for i in self.intervals if i.weekday == day.weekday()):
            start, end = self._instant(day, interval.start_minute), self._instant(day, interval.end_minute)
            if end > start:
                yield start, end

    def _spans(self, first: date, days: int) -> Iterator[tuple[datetime, datetime]]:
        """Open spans (UTC) of `days` local dates from `first`, in order; a day's overlapping intervals are
        merged. Spans of consecutive days may touch at midnight: they are not merged, so an always-open
        calendar yields one span a day instead of looking years ahead (next_close joins them)."""
        for offset in range(days):
            current: tuple[datetime, datetime] | None = None
            for start, end in self._day_spans(first + timedelta(days=offset)):
                if current is not None and start <= current[1]:
                    current = (current[0], max(current[1], end))
                    continue
                if current is not None:
                    yield current
                current = (start, end)
            if current is not None:
                yield current


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("business hours need aware datetimes")
    return at.astimezone(UTC)


# --- (de)serialising: the stored form is plain JSON -------------------------------------------------------

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def calendar_from_dict(data: dict[str, object]) -> BusinessCalendar:
    """{"time_zone": "Europe/Rome", "hours": {"mon": [["09:00", "13:00"], ["14:00", "18:00"]], ...},
    "holidays": "it", "closed_dates": ["2026-08-14"], "open_dates": []} → a calendar; CalendarError names
    the bad field."""
    hours = data.get("hours", {})
    if not isinstance(hours, dict):
        raise CalendarError("hours maps a weekday (mon…sun) to a list of [start, end]", "hours")
    intervals: list[OpeningInterval] = []
    for key, ranges in hours.items():
        if key not in WEEKDAYS:
            raise CalendarError(f"unknown weekday {key!r} (mon…sun)", f"hours.{key}")
        if not isinstance(ranges, list):
            raise CalendarError("a list of [start, end] pairs", f"hours.{key}")
        for pair in ranges:
            if not (isinstance(pair, list | tuple) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
                raise CalendarError('each interval is ["HH:MM", "HH:MM"]', f"hours.{key}")
            start, end = parse_hhmm(pair[0], f"hours.{key}"), parse_hhmm(pair[1], f"hours.{key}")
            if start >= end:
                raise CalendarError(f"{pair[0]}-{pair[1]} does not start before it ends", f"hours.{key}")
            intervals.append(OpeningInterval(WEEKDAYS.index(key), start, end))
    time_zone = data.get("time_zone", "Europe/Rome")
    holidays = data.get("holidays")
    if not isinstance(time_zone, str):
        raise CalendarError("time_zone is an IANA name such as Europe/Rome", "time_zone")
    if holidays is not None and not isinstance(holidays, str):
        raise CalendarError("holidays is the name of a holiday set (it) or null", "holidays")
    return BusinessCalendar(time_zone, tuple(intervals), holidays, _dates(data, "closed_dates"),
                            _dates(data, "open_dates"))


def calendar_to_dict(calendar: BusinessCalendar) -> dict[str, object]:
    hours: dict[str, list[list[str]]] = {}
    for i in sorted(calendar.intervals):
        hours.setdefault(WEEKDAYS[i.weekday], []).append([_hhmm(i.start_minute), _hhmm(i.end_minute)])
    return {"time_zone": calendar.time_zone, "hours": hours, "holidays": calendar.holidays,
            "closed_dates": sorted(d.isoformat() for d in calendar.closed_dates),
            "open_dates": sorted(d.isoformat() for d in calendar.open_dates)}


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _dates(data: dict[str, object], key: str) -> frozenset[date]:
    values = data.get(key, [])
    if not isinstance(values, list):
        raise CalendarError("a list of dates like 2026-08-14", key)
    try:
        return frozenset(date.fromisoformat(v) for v in values)
    except (TypeError, ValueError):
        raise CalendarError("dates look like 2026-08-14", key) from None
