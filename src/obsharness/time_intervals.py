"""Alertmanager's time intervals, read and evaluated as Alertmanager evaluates them.

A real Alertmanager can only say whether a route is muted *now*; a behaviour
table asks about any moment ("at Saturday 10:00 in Europe/Berlin"). So this
model stays, held to Alertmanager's own test vectors
(tests/fixtures/alertmanager/time_interval_cases.yaml) and, by hypothesis, to
a real Alertmanager at the wall-clock time. Its error texts are Alertmanager's.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = {"sunday": 0, "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4,
            "friday": 5, "saturday": 6}
MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
_MONTH_NAMES = {number: name for name, number in MONTHS.items()}
_CLOCK = re.compile(r"^((([01][0-9])|(2[0-3])):[0-5][0-9])$|(^24:00$)")


class TimeIntervalError(ValueError):
    """A time interval Alertmanager would refuse; the message is Alertmanager's."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Interval:
    """One entry of a named interval's `time_intervals` list; empty fields match all."""

    times: tuple[tuple[int, int], ...] | None = None  # minutes of the day, end exclusive
    weekdays: tuple[tuple[int, int], ...] | None = None  # 0 = Sunday
    days_of_month: tuple[tuple[int, int], ...] | None = None  # negative: from the month's end
    months: tuple[tuple[int, int], ...] | None = None
    years: tuple[tuple[int, int], ...] | None = None
    location: str | None = None

    def contains(self, moment: datetime) -> bool:
        if moment.tzinfo is None:
            raise ValueError("an aware datetime is needed")
        t = moment.astimezone(ZoneInfo(self.location)) if self.location else moment
        minute = t.hour * 60 + t.minute
        if self.times is not None and not any(s <= minute < e for s, e in self.times):
            return False
        if self.days_of_month is not None and not any(
                _day_in(t, begin, end) for begin, end in self.days_of_month):
            return False
        if self.months is not None and not any(b <= t.month <= e for b, e in self.months):
            return False
        weekday = (t.weekday() + 1) % 7  # Python's Monday=0 to Go's Sunday=0
        if self.weekdays is not None and not any(b <= weekday <= e for b, e in self.weekdays):
            return False
        return self.years is None or any(b <= t.year <= e for b, e in self.years)


def _day_in(t: datetime, begin: int, end: int) -> bool:
    days = calendar.monthrange(t.year, t.month)[1]
    first = days + begin + 1 if begin < 0 else begin
    last = days + end + 1 if end < 0 else end
    if first > days:  # begins after this month's end: no day of it
        return False
    first, last = (max(-days, min(days, n)) for n in (first, last))
    return first <= t.day <= last


def _ranges(raw: Any, what: str, member: Any) -> tuple[tuple[int, int], ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise TimeIntervalError(f"{what} must be a list of ranges, got {raw!r}")
    out = []
    for item in raw:
        text = str(item).lower()
        parts = text.split(":") if ":" in text else [text, text]
        if len(parts) != 2:
            raise TimeIntervalError(f"couldn't parse range {text}, invalid format")
        out.append((member(parts[0]), member(parts[1])))
    return tuple(out)


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise TimeIntervalError(f'strconv.Atoi: parsing "{text}": invalid syntax') from None


def _weekday(text: str) -> int:
    if text not in WEEKDAYS:
        raise TimeIntervalError(f"{text} is not a valid weekday")
    return WEEKDAYS[text]


def _month(text: str) -> int:
    if text in MONTHS:
        return MONTHS[text]
    try:
        return int(text)
    except ValueError:
        raise TimeIntervalError(f"{text} is not a valid month") from None


def _clock(text: str) -> int:
    if not _CLOCK.match(text):
        raise TimeIntervalError(f"couldn't parse timestamp {text}, invalid format")
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _times(raw: Any) -> tuple[tuple[int, int], ...] | None:
    if raw is None:
        return None
    out = []
    for item in raw if isinstance(raw, list) else [raw]:
        if not isinstance(item, Mapping) or not item.get("start_time") or \
                not item.get("end_time"):
            raise TimeIntervalError("both start and end times must be provided")
        start, end = _clock(str(item["start_time"])), _clock(str(item["end_time"]))
        if start >= end:
            raise TimeIntervalError("start time cannot be equal or greater than end time")
        out.append((start, end))
    return tuple(out)


def _check_days(days: tuple[tuple[int, int], ...]) -> None:
    for begin, end in days:
        for n in (begin, end):
            if n == 0 or not -31 <= n <= 31:
                raise TimeIntervalError(f"{n} is not a valid day of the month: out of range")
        if begin < 0 < end:
            raise TimeIntervalError("end day must be negative if start day is negative")
        # Alertmanager's check assumes the shortest month (28 days).
        if (28 + begin if begin < 0 else begin) > (28 + end if end < 0 else end):
            raise TimeIntervalError(f"end day {end} is always before start day {begin}")


def _check_order(ranges: tuple[tuple[int, int], ...] | None, message: Any) -> None:
    for begin, end in ranges or ():
        if begin > end:
            raise TimeIntervalError(message(begin, end))


def _location(raw: Any) -> str | None:
    if raw is None or str(raw) == "Local":  # Go's Local: the machine's zone, as astimezone()
        return None
    try:
        ZoneInfo(str(raw))
    except (ZoneInfoNotFoundError, ValueError):
        raise TimeIntervalError(f"unknown time zone {raw}") from None
    return str(raw)


def parse_interval(raw: Mapping[str, Any], *, validate: bool = True) -> Interval:
    """One time interval entry, validated as Alertmanager validates it (`validate`
    False reads a range Alertmanager's own tests build past its YAML checks)."""
    if not isinstance(raw, Mapping):
        raise TimeIntervalError(f"a time interval must be a mapping, got {raw!r}")
    weekdays = _ranges(raw.get("weekdays"), "weekdays", _weekday)
    _check_order(weekdays, lambda _b, _e: "start day cannot be before end day")
    days = _ranges(raw.get("days_of_month"), "days_of_month", _integer)
    if validate and days:
        _check_days(days)
    months = _ranges(raw.get("months"), "months", _month)
    _check_order(months, lambda b, e: f"end month {_MONTH_NAMES.get(e, e)} is before start "
                 f"month {_MONTH_NAMES.get(b, b)}")
    years = _ranges(raw.get("years"), "years", _integer)
    _check_order(years, lambda b, e: f"end year {e} is before start year {b}")
    return Interval(_times(raw.get("times")), weekdays, days, months, years,
                    _location(raw.get("location")))


@dataclass(frozen=True)
class NamedInterval:
    name: str
    intervals: tuple[Interval, ...]

    def contains(self, moment: datetime) -> bool:
        return any(i.contains(moment) for i in self.intervals)


def named_intervals(config: Mapping[str, Any]) -> dict[str, NamedInterval]:
    """`time_intervals` and the legacy `mute_time_intervals` of an Alertmanager config."""
    found: dict[str, NamedInterval] = {}
    for key in ("time_intervals", "mute_time_intervals"):
        for entry in config.get(key) or []:
            if not isinstance(entry, Mapping) or "name" not in entry:
                raise TimeIntervalError(f"every entry of {key} needs a name")
            try:
                found[str(entry["name"])] = NamedInterval(str(entry["name"]), tuple(
                    parse_interval(raw) for raw in entry.get("time_intervals") or []))
            except TimeIntervalError as exc:
                raise TimeIntervalError(f"time interval {entry['name']!r}: {exc}",
                                        entry.get("__line__")) from None
    return found


def muted_by(mute: Sequence[str], active: Sequence[str],
             intervals: Mapping[str, NamedInterval], moment: datetime) -> list[str]:
    """What a route's mute_time_intervals / active_time_intervals say at `moment`:
    the names that mute it, as Alertmanager's mutedBy lists them."""
    unknown = [n for n in [*mute, *active] if n not in intervals]
    if unknown:
        raise TimeIntervalError(f"time interval {unknown[0]!r} is not defined")
    # Alertmanager's pipeline asks the active intervals first and stops there
    # when they mute the route.
    if active and not any(intervals[n].contains(moment) for n in active):
        return list(active)
    return [n for n in mute if intervals[n].contains(moment)]
