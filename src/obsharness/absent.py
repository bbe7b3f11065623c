"""Components a run treats as missing, as on a machine that lacks their binaries.

`OBSHARNESS_ABSENT=loki,promtail,alloy,grafana` makes every backend report
them unavailable, so that a machine that has them can prove what a machine
without them does: every test that needs one skips, naming it and how to get
it. The harness's plumbing test runs collection and set-up this way.
"""

from __future__ import annotations

import os

ABSENT_ENV = "OBSHARNESS_ABSENT"


def absent_components() -> frozenset[str]:
    """The component (or binary) names listed in $OBSHARNESS_ABSENT."""
    raw = os.environ.get(ABSENT_ENV, "")
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


def absent_reason(name: str) -> str | None:
    """Why `name` counts as missing here, or None when it does not."""
    if name in absent_components():
        return f"${ABSENT_ENV} names it (treated as missing on this machine)"
    return None
