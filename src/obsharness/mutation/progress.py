"""A campaign's progress while it runs: one line per finished mutant, read from the
results file each session rewrites after every mutant (a 25-minute campaign used
to print nothing between its first line and its table)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

Score = Callable[[list[dict[str, Any]]], float | None]


class Progress:
    """Prints `[done/total] id flow outcome seconds; score so far; budget left`.

    `score` is the campaign's own rule (what is judged, what is caught), applied to
    the results so far, so the line and the final table never disagree."""

    def __init__(self, flows: dict[str, str], deadline: float, score: Score,
                 echo: Callable[[str], None] = print) -> None:
        self.flows = flows  # mutant id -> flow, for every mutant chosen
        self.deadline = deadline
        self.score = score
        self.echo = echo
        self.seen: dict[str, dict[str, Any]] = {}

    def poll(self, results_files: Sequence[Path]) -> None:
        for path in results_files:
            for result in _read(path):
                if result.get("id") in self.flows and result["id"] not in self.seen:
                    self.seen[result["id"]] = result
                    self.echo(self.line(result))
                    sys.stdout.flush()  # a CI log shows it now, not at the end

    def line(self, result: dict[str, Any]) -> str:
        so_far = self.score(list(self.seen.values()))
        score = "-" if so_far is None else f"{so_far:.0%}"
        left = max(0.0, self.deadline - time.time())
        seconds = result.get("seconds")
        took = f" {seconds:.1f} s" if isinstance(seconds, (int, float)) else ""
        return (f"[{len(self.seen)}/{len(self.flows)}] {result['id']} "
                f"{self.flows[result['id']]}: {result.get('outcome', '?')}{took}; "
                f"score so far {score}, {left:.0f} s of budget left")


def _read(path: Path) -> list[dict[str, Any]]:
    """A session's results so far; nothing while it has written none."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []
