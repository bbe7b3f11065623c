"""Time intervals held to Alertmanager's own test vectors, and to a real
Alertmanager at the wall-clock time (hypothesis)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from obsharness import time_intervals
from obsharness.time_intervals import TimeIntervalError, parse_interval

CASES = yaml.safe_load((Path(__file__).parent / "fixtures" / "alertmanager" /
                        "time_interval_cases.yaml").read_text())


def _go_time(text: str) -> datetime:  # Go's RFC822Z
    return datetime.strptime(text, "%d %b %y %H:%M %z")


@pytest.mark.parametrize("case", CASES["contains"], ids=lambda c: str(c["interval"])[:60])
def test_alertmanagers_containment_cases(case: dict[str, Any]) -> None:
    interval = parse_interval(case["interval"], validate=not case.get("unvalidated"))
    assert [t for t in case["contains"] if not interval.contains(_go_time(t))] == []
    assert [t for t in case["excludes"] if interval.contains(_go_time(t))] == []


@pytest.mark.parametrize("raw", CASES["valid"], ids=str)
def test_alertmanagers_valid_intervals_are_read(raw: dict[str, Any]) -> None:
    parse_interval(raw)


@pytest.mark.parametrize("case", CASES["invalid"], ids=lambda c: c["error"])
def test_alertmanagers_invalid_intervals_fail_with_its_own_message(case: dict[str, Any]) -> None:
    with pytest.raises(TimeIntervalError) as caught:
        parse_interval(case["interval"])
    assert str(caught.value) == case["error"]


def test_active_intervals_are_asked_before_mute_intervals() -> None:
    intervals = time_intervals.named_intervals({"time_intervals": [
        {"name": "always", "time_intervals": [{}]},
        {"name": "never", "time_intervals": [{"years": ["1999"]}]}]})
    now = _go_time("06 Dec 26 22:00 +0000")
    assert time_intervals.muted_by(["always"], ["never"], intervals, now) == ["never"]
    assert time_intervals.muted_by(["always"], ["always"], intervals, now) == ["always"]
    assert time_intervals.muted_by(["never"], [], intervals, now) == []
