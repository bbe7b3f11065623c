"""The scenario suite run again and again, to find the scenarios that fail once in a while.

`python -m obsharness.soak --runs 10` (`make soak`) runs the scenarios N times in
a row, each in its own pytest process with its own junit file, then prints one
row per scenario: passes, failures, skips and durations, failures first, and
writes reports/soak/soak.json. A scenario that failed even once is a bug to fix
by design; the table shows which one and the junit files keep why.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from obsharness.binaries import project_root


@dataclass
class ScenarioRecord:
    name: str
    outcomes: list[str] = field(default_factory=list)  # one per run: passed|failed|skipped
    durations_s: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # first line of each failure

    def count(self, outcome: str) -> int:
        return self.outcomes.count(outcome)


def _nodeid(case: ET.Element) -> str:
    """pytest's node id of a junit test case (steps.test_scenarios + name)."""
    module = str(case.get("classname") or "").replace(".", "/")
    return f"{module}.py::{case.get('name')}" if module else str(case.get("name"))


def read_junit(path: Path) -> dict[str, tuple[str, float, str]]:
    """Node id -> (outcome, seconds, first line of the failure) from one junit file."""
    results: dict[str, tuple[str, float, str]] = {}
    for case in ET.parse(path).getroot().iter("testcase"):  # noqa: S314 - our own report
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed"
                text = (child.get("message") or child.text or "").strip()
                message = text.splitlines()[0][:300] if text else child.tag
            elif child.tag == "skipped" and outcome == "passed":
                outcome = "skipped"
        results[_nodeid(case)] = (outcome, float(case.get("time") or 0.0), message)
    return results


def merge(runs: Sequence[dict[str, tuple[str, float, str]]]) -> list[ScenarioRecord]:
    records: dict[str, ScenarioRecord] = {}
    for run in runs:
        for name, (outcome, seconds, message) in run.items():
            record = records.setdefault(name, ScenarioRecord(name))
            record.outcomes.append(outcome)
            if outcome != "skipped":
                record.durations_s.append(seconds)
            if message:
                record.failures.append(message)
    # Failures first, then by name: what needs fixing leads the table.
    return sorted(records.values(), key=lambda r: (-r.count("failed"), r.name))


def durations(records: Sequence[ScenarioRecord]) -> dict[str, float]:
    """Median seconds per node id, in pytest-split's .test_durations format."""
    return {r.name: round(statistics.median(r.durations_s), 3)
            for r in records if r.durations_s}


def table(records: Sequence[ScenarioRecord], runs: int) -> str:
    width = min(max((len(_short(r.name)) for r in records), default=10), 90)
    lines = [f"{'scenario':<{width}}  pass  fail  skip   min s   med s   max s",
             "-" * (width + 41)]
    for r in records:
        durations = r.durations_s or [0.0]
        short = _short(r.name)
        name = short if len(short) <= width else short[: width - 3] + "..."
        lines.append(f"{name:<{width}}  {r.count('passed'):>4}  {r.count('failed'):>4}  "
                     f"{r.count('skipped'):>4}  {min(durations):>6.1f}  "
                     f"{statistics.median(durations):>6.1f}  {max(durations):>6.1f}")
    failed = sum(r.count("failed") for r in records)
    lines.append(f"{len(records)} scenarios x {runs} runs: {failed} failure(s)")
    return "\n".join(lines)


def _short(nodeid: str) -> str:
    return nodeid.rsplit("::", 1)[-1]


def soak(runs: int, out: Path, pytest_args: Sequence[str],
         store_durations: Path | None = None) -> int:
    root = project_root()
    out.mkdir(parents=True, exist_ok=True)
    parsed: list[dict[str, tuple[str, float, str]]] = []
    wall: list[float] = []
    for run in range(1, runs + 1):  # bounded: the number of runs asked for
        junit = out / f"run-{run}.xml"
        began = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             f"--junitxml={junit}", f"--run-dir={out / 'run'}", *pytest_args],
            cwd=root, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall.append(round(time.monotonic() - began, 1))
        parsed.append(read_junit(junit) if junit.is_file() else {})
        failed = sum(1 for outcome, _, _ in parsed[-1].values() if outcome == "failed")
        print(f"run {run}/{runs}: exit {done.returncode}, {failed} failed, {wall[-1]} s",
              flush=True)
    records = merge(parsed)
    print(table(records, runs))
    (out / "soak.json").write_text(json.dumps(
        {"runs": runs, "wall_s": wall, "scenarios": [asdict(r) for r in records]}, indent=1))
    if store_durations is not None:  # pytest-split balances CI runners with these
        # Updated, not replaced: the file also holds the library's tests' durations.
        from obsharness import durations as recorded

        merged = {**recorded.load(store_durations), **durations(records)}
        store_durations.write_text(json.dumps(merged, indent=1, sort_keys=True) + "\n")
        print(f"wrote the median duration of each scenario to {store_durations}")
    return 1 if any(r.count("failed") for r in records) else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m obsharness.soak", description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("reports/soak"))
    parser.add_argument("--store-durations", type=Path, default=None, metavar="PATH",
                        help="write each scenario's median seconds there (.test_durations, "
                             "read by pytest-split's --splits/--group)")
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER,
                        help="passed to pytest, e.g. -- -m alerting")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    extra = [a for a in args.pytest_args if a != "--"]
    return soak(args.runs, args.out, extra, args.store_durations)


if __name__ == "__main__":
    sys.exit(main())
