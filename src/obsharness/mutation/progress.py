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

# Caught, in the order the score counts them (validation, behaviour).
_CAUGHT = ("caught by validation", "caught by behaviour")
_UNJUDGED = ("not run", "undecided", "out of reach")


class Progress:
    """Prints `[done/total] id flow outcome seconds; score so far; budget left`."""

    def __init__(self, flows: dict[str, str], deadline: float,
                 echo: Callable[[str], None] = print) -> None:
        self.flows = flows  # mutant id -> flow, for every mutant chosen
        self.deadline = deadline
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
        judged = [r for r in self.seen.values() if r.get("outcome") not in _UNJUDGED]
        caught = sum(1 for r in judged if r.get("outcome") in _CAUGHT)
        score = f"{caught / len(judged):.0%}" if judged else "-"
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
