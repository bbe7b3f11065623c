"""Rule coverage: for every alerting rule, what exercised it; for every route of the
routing tree, which exercised alerts reach it. Written to reports/rule-coverage.json
and gated by `--min-rule-coverage`.

An alert counts as covered when a passed scenario saw it delivered end to end, a
promtool test expects it to fire, a timing table names it, or `obsharness replay`
delivered it (reports/replay.json of the same reports folder).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from obsharness.report import proof
from obsharness.report.results import RunResults, ScenarioResult

FILE = "rule-coverage.json"


def _names(scenarios: list[ScenarioResult]) -> list[str]:
    return [s.name for s in scenarios if s.outcome == "passed"]


def _replayed(replay: dict[str, Any] | None) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for test in (replay or {}).get("tests") or []:
        for delivery in test.get("deliveries") or []:
            if delivery.get("delivered"):
                found.setdefault(str(delivery.get("alertname")), []).append(str(test.get("test")))
    return found


def compute(results: RunResults, replay: dict[str, Any] | None,
            alertmanager_config: Path | None) -> dict[str, Any]:
    replays = _replayed(replay)
    rules = []
    for row in proof.rows(results, None):
        entry: dict[str, Any] = {"alert": row.alert, "file": row.file, "labels": row.labels,
                 "scenarios": _names(row.end_to_end), "unit_tests": row.unit_tests,
                 "timing_tables": _names(row.timing_tables),
                 "routing_tables": _names(row.routing),
                 "replays": sorted(set(replays.get(row.alert, [])))}
        entry["covered"] = bool(entry["scenarios"] or entry["unit_tests"]
                                or entry["timing_tables"] or entry["replays"])
        if not entry["covered"]:
            entry["status"] = "not exercised"
        rules.append(entry)
    covered = sum(1 for r in rules if r["covered"])
    return {"rules": rules, "covered": covered, "total": len(rules),
            "ratio": round(covered / len(rules), 4) if rules else 1.0,
            "routes": _routes(rules, alertmanager_config)}


def _routes(rules: list[dict[str, Any]], config_path: Path | None) -> list[dict[str, Any]]:
    """Each route with the exercised alerts (their rule labels) Alertmanager's tree sends
    there, end to end or through a routing table."""
    if config_path is None or not config_path.is_file():
        return []
    from obsharness import alertrouting
    from obsharness.errors import ObsharnessError

    try:
        config = alertrouting.load(config_path)
    except ObsharnessError:
        return []  # the static stage names a config it cannot read
    reached: dict[int, list[str]] = {}
    for rule in rules:
        if not (rule["scenarios"] or rule["replays"] or rule["routing_tables"]):
            continue
        for route in config.root.match({"alertname": rule["alert"], **rule["labels"]}):
            reached.setdefault(id(route), []).append(rule["alert"])
    found = []
    for route in config.root.walk():
        found.append({"receiver": route.receiver, "line": route.line,
                      "matchers": [str(m) for m in route.matchers],
                      "reached_by": sorted(set(reached.get(id(route), [])))})
    return found


def write(coverage: dict[str, Any], reports_dir: Path) -> Path:
    path = reports_dir / FILE
    path.write_text(json.dumps(coverage, indent=2) + "\n")
    return path


def load_replay(reports_dir: Path) -> dict[str, Any] | None:
    path = reports_dir / "replay.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
