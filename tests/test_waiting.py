"""The one waiting helper and its mirror."""

from __future__ import annotations

import itertools

import pytest

from obsharness.waiting import ConditionBroken, WaitTimeout, eventually, holds_for


def test_eventually_returns_the_value_that_satisfied() -> None:
    counter = itertools.count()
    outcome = eventually(lambda: next(counter), lambda v: v >= 3, what="count to 3",
                         timeout=5, interval=0.001)
    assert outcome.value == 3
    assert outcome.attempts == 4


def test_eventually_failure_shows_what_last_value_and_deadline() -> None:
    with pytest.raises(WaitTimeout) as caught:
        eventually(lambda: {"ratio": 0.02}, lambda v: v["ratio"] > 0.05,
                   what="error ratio above 5%", timeout=0.3, interval=0.05)
    message = str(caught.value)
    assert "deadline 0.3 s" in message
    assert "for error ratio above 5%" in message
    assert "last value seen: {'ratio': 0.02}" in message


def test_eventually_reports_the_probe_error() -> None:
    def probe() -> int:
        raise ConnectionError("connection refused")

    with pytest.raises(WaitTimeout, match="probe never returned.*connection refused"):
        eventually(probe, bool, what="a reachable API", timeout=0.2, interval=0.05)


def test_holds_for_passes_and_breaks() -> None:
    assert holds_for(list, lambda v: not v, what="no alert", duration=0.2,
                     interval=0.05).attempts >= 2
    values = iter([[], [], ["HighErrorRate"]])
    with pytest.raises(ConditionBroken, match="no alert stopped holding.*HighErrorRate"):
        holds_for(lambda: next(values), lambda v: not v, what="no alert", duration=5,
                  interval=0.01)


def test_a_starved_machine_is_named_not_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    from obsharness import load
    from obsharness.errors import ComponentUnavailableError

    assert 0.0 < load.core_share(0.1) <= 1.2  # a real measurement in a process of its own
    monkeypatch.setattr(load, "core_share", lambda: 0.6)
    with pytest.raises(ComponentUnavailableError, match="gets only 60% of a core"):
        load.require_core_share(0.85, purpose="crossing a threshold")
    monkeypatch.setattr(load, "core_share", lambda: 0.95)
    assert load.require_core_share(0.85, purpose="crossing a threshold") == 0.95
