"""JSON log lines of a component, as the process backend captured them (stdout to a file)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any


def json_lines(path: Path, *, since: float = 0.0) -> Iterator[dict[str, Any]]:
    """Parsed JSON log records whose ts is not before `since` (epoch seconds).
    Lines that are not JSON (a server's own start-up chatter) are skipped."""
    if not path.exists():
        return
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.startswith("{"):
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            ts = record.get("ts")
            if isinstance(ts, str) and since:
                stamp = datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
                if stamp + 0.5 < since:  # tolerate clock rounding of the ms timestamp
                    continue
            yield record


def matching(path: Path, *, since: float = 0.0, **fields: Any) -> list[dict[str, Any]]:
    """Records whose fields equal all of `fields`."""
    return [r for r in json_lines(path, since=since)
            if all(r.get(k) == v for k, v in fields.items())]
