"""What each step did and saw, recorded as it happens.

Library calls (a PromQL query, a LogQL query, a fault injected, a notification
matched, an email received) call `record`; the pytest plugin opens one log per
scenario and tags each record with the step running. Outside a scenario
`record` does nothing, so the library stays usable on its own.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

# Long answers are cut: the report is for reading, the raw data is one query away.
MAX_ITEMS = 20


@dataclass
class Evidence:
    kind: str  # promql, logql, fault, notification, email, config, timeline, check
    title: str
    body: Any
    at: float
    step: str | None = None
    polls: int = 1

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class EvidenceLog:
    items: list[Evidence] = field(default_factory=list)
    step: str | None = None
    _keyed: dict[tuple[str | None, str, str], Evidence] = field(default_factory=dict)

    def add(self, kind: str, title: str, body: Any, *, key: str | None = None) -> None:
        """Record; a repeated `key` in the same step (a polled query) keeps the last answer."""
        if key is not None:
            previous = self._keyed.get((self.step, kind, key))
            if previous is not None:
                previous.body, previous.at, previous.polls = body, time.time(), previous.polls + 1
                return
        item = Evidence(kind, title, body, time.time(), self.step)
        self.items.append(item)
        if key is not None:
            self._keyed[(self.step, kind, key)] = item


class _Active:
    """The scenario's log, if one is open (one scenario runs at a time)."""

    log: EvidenceLog | None = None


def begin() -> EvidenceLog:
    _Active.log = EvidenceLog()
    return _Active.log


def end() -> EvidenceLog | None:
    log, _Active.log = _Active.log, None
    return log


def current() -> EvidenceLog | None:
    return _Active.log


def set_step(step: str) -> None:
    if _Active.log is not None:
        _Active.log.step = step


def record(kind: str, title: str, body: Any, *, key: str | None = None) -> None:
    if _Active.log is not None:
        _Active.log.add(kind, title, _trimmed(body), key=key)


def _trimmed(body: Any) -> Any:
    if isinstance(body, list) and len(body) > MAX_ITEMS:
        return [*body[:MAX_ITEMS], f"... {len(body) - MAX_ITEMS} more"]
    return body
