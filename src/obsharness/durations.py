"""Recorded scenario durations (pytest-split's `.test_durations`), used to hand the
longest scenarios out first when parallel workers share a run: the last worker
then finishes with short ones instead of starting a long one while the others idle."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, TypeVar


class _Item(Protocol):
    @property
    def nodeid(self) -> str: ...


_T = TypeVar("_T", bound=_Item)


def load(path: Path) -> dict[str, float]:
    """nodeid -> seconds; empty when nothing was recorded (or the file is not JSON)."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    return {str(k): float(v) for k, v in raw.items() if isinstance(v, int | float)}


def longest_first(items: Sequence[_T], recorded: dict[str, float],
                  last: Callable[[_T], bool] = lambda _: False,
                  group: Callable[[_T], str] = lambda item: item.nodeid,
                  nodeid: Callable[[_T], str] = lambda item: item.nodeid) -> list[int]:
    """Indices of items, the longest recorded group first (stable), those `last` picks
    after all others. Items of one `group` stay together in their order (tests sharing
    a module-scoped fixture); a test nobody recorded yet (a team's new scenario) counts
    as the longest known: it might be."""
    unknown = max(recorded.values(), default=0.0)
    totals: dict[str, float] = {}
    first: dict[str, int] = {}
    late: dict[str, bool] = {}
    for index, item in enumerate(items):
        key = group(item)
        totals[key] = totals.get(key, 0.0) + recorded.get(nodeid(item), unknown)
        first.setdefault(key, index)
        late[key] = late.get(key, False) or last(item)
    return sorted(range(len(items)), key=lambda i: (
        late[group(items[i])], -totals[group(items[i])], first[group(items[i])], i))
