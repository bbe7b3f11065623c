"""The rule manager's `for` and `keep_firing_for`, over one label set's evaluations.

At each evaluation the expression either returns the label set (active) or not. An
active label set is pending from its first active evaluation (activeAt) and turns
firing at the first evaluation where `t - activeAt >= for` (`for: 0` fires at once).
Once firing, it stays firing while `t - keepFiringSince < keep_firing_for`, where
keepFiringSince is its first inactive evaluation (as rules/alerting.go counts); then
it resolves, and a new activation starts a new pending
period. A firing starts when the alert turned firing, never when it turned pending.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Firing:
    start: float  # the evaluation at which it turned firing
    end: float | None  # the first evaluation at which it was no longer firing; None: still


def firings(steps: Sequence[float], active: Sequence[bool], *, for_s: float,
            keep_firing_for_s: float = 0.0) -> list[Firing]:
    """Firings of one label set over evaluations at `steps` (seconds, ascending)."""
    found: list[Firing] = []
    active_at: float | None = None
    firing_since: float | None = None
    keep_since: float | None = None
    for t, on in zip(steps, active, strict=True):
        if on:
            keep_since = None
            if active_at is None:
                active_at = t
            if firing_since is None and t - active_at >= for_s:
                firing_since = t
            continue
        if firing_since is not None and keep_firing_for_s > 0:
            keep_since = t if keep_since is None else keep_since
            if t - keep_since < keep_firing_for_s:
                continue  # kept firing
        if firing_since is not None:
            found.append(Firing(firing_since, t))
        active_at = firing_since = keep_since = None
    if firing_since is not None:
        found.append(Firing(firing_since, None))
    return found
