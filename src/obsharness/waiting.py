"""The one place where the harness waits.

`eventually` polls a probe until a predicate holds, against a single
monotonic deadline. `holds_for` is its mirror for proving that something
does NOT happen. Their failures show what was awaited, the last value seen
and the deadline, never a bare timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """The awaited condition did not hold before the deadline."""


class ConditionBroken(AssertionError):
    """A condition that had to hold for a period stopped holding."""


@dataclass
class Outcome(Generic[T]):
    value: T
    elapsed_s: float
    attempts: int


# Long waits report themselves every PROGRESS_EVERY_S seconds to this callback
# (the CLI and `obsharness validate` install one; a library user may too).
PROGRESS_EVERY_S = 5.0


class _Progress:
    report: Callable[[str], None] | None = None
    every_s: float = PROGRESS_EVERY_S


def set_progress(report: Callable[[str], None] | None, every_s: float = PROGRESS_EVERY_S
                 ) -> None:
    """Install (or remove, with None) the callback that long waits report to, and how
    often a wait reports."""
    _Progress.report = report
    _Progress.every_s = every_s


def _short(value: object, limit: int = 600) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def eventually(
    probe: Callable[[], T],
    predicate: Callable[[T], bool],
    *,
    what: str | Callable[[], str],
    timeout: float,
    interval: float = 0.1,
    on_poll: Callable[[float, T | None], None] | None = None,
) -> Outcome[T]:
    """Call probe() until predicate(value) is true; return the value and the time it took.

    Exceptions raised by the probe count as "not yet" and are reported if the
    deadline passes. A callable `what` is asked when it is said, so a failure describes
    what was there at failure time, not when the wait began.
    """
    def said() -> str:
        return what() if callable(what) else what

    began = time.monotonic()
    deadline = began + timeout
    attempts = 0
    last: T | None = None
    seen = False
    last_error: Exception | None = None
    next_report = began + _Progress.every_s
    while True:
        attempts += 1
        try:
            last = probe()
            seen = True
            last_error = None
            if predicate(last):
                return Outcome(last, time.monotonic() - began, attempts)
        except (AssertionError, OSError, ValueError, KeyError, RuntimeError) as exc:
            last_error = exc
        if on_poll is not None:
            on_poll(time.monotonic() - began, last)
        now = time.monotonic()
        if _Progress.report is not None and now >= next_report:
            next_report = now + _Progress.every_s
            _Progress.report(f"waiting for {said()}: {now - began:.0f} s of {timeout:.0f} s, "
                             f"last value: {_short(last if seen else last_error, 120)}")
        if now >= deadline:
            seen_text = _short(last) if seen else "nothing (the probe never returned)"
            error_text = f"; last error: {last_error!r}" if last_error else ""
            raise WaitTimeout(
                f"waited {now - began:.1f} s (deadline {timeout:.1f} s, {attempts} attempts) "
                f"for {said()}; last value seen: {seen_text}{error_text}"
            )
        time.sleep(min(interval, max(0.0, deadline - now)))


def holds_for(
    probe: Callable[[], T],
    predicate: Callable[[T], bool],
    *,
    what: str,
    duration: float,
    interval: float = 0.1,
) -> Outcome[T]:
    """Check that predicate(probe()) stays true for `duration` seconds."""
    began = time.monotonic()
    deadline = began + duration
    attempts = 0
    while True:
        attempts += 1
        value = probe()
        if not predicate(value):
            raise ConditionBroken(
                f"{what} stopped holding after {time.monotonic() - began:.1f} s of the "
                f"required {duration:.1f} s; value seen: {_short(value)}"
            )
        now = time.monotonic()
        if now >= deadline:
            return Outcome(value, now - began, attempts)
        time.sleep(min(interval, deadline - now))
