"""A small real mutation campaign (make mutate-smoke; the nightly runs the full one):
three mutants of this project's stack/, chosen by what they do, run by
`obsharness mutate` on one stack reloaded in place."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from obsharness.mutation.generate import all_mutants

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.mutation_smoke, pytest.mark.slow]

# description -> the outcome it must have
EXPECTED = {
    # promtool's unit tests of the rules pin HighErrorRate's threshold.
    "HighErrorRate: > 0.05 -> > 0.5": "caught by validation",
    # Prometheus takes the change through /-/reload; a scenario sees the target down.
    "job flask-app: flask-app:5000 -> flask-app:5001": "caught by behaviour",
    # `team` dropped from flask-app's scraped series: nothing reads it there (an
    # equivalent mutant, recorded with its reason in stack/mutation-survivors.yml).
    "job flask-app: labeldrop team": "survived",
}


def test_a_small_campaign_catches_two_mutants_and_leaves_the_equivalent_one(
        tmp_path: Path) -> None:
    ids = {m.description: m.id for m in all_mutants(ROOT) if m.description in EXPECTED}
    assert set(ids) == set(EXPECTED), "the sample stack changed: pick the smoke's mutants again"
    before = {p: p.read_bytes() for p in (ROOT / "stack").rglob("*.yml")}
    argv = [sys.executable, "-m", "obsharness.cli", "mutate", "--budget", "10m",
            "--reports-dir", str(tmp_path), *(f"--mutant={i}" for i in ids.values())]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=900,
                          check=False, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((tmp_path / "mutation.json").read_text())
    outcomes = {m["description"]: m["outcome"] for m in report["mutants"]}
    assert outcomes == EXPECTED, json.dumps(report["mutants"], indent=1)[-4000:]
    caught = {m["description"]: m["by"] for m in report["mutants"] if "by" in m}
    assert "promtool" in caught["HighErrorRate: > 0.05 -> > 0.5"] or \
        "production_timing" in caught["HighErrorRate: > 0.05 -> > 0.5"]
    # Tried first: the scrape scenario (its words) or one that names flask-app.
    by = caught["job flask-app: flask-app:5000 -> flask-app:5001"]
    assert "scrapes_every_target" in by or "flask-app" in by, by
    survivor = next(m for m in report["mutants"] if m["outcome"] == "survived")
    assert survivor["reason"].startswith("equivalent")
    assert "+    metric_relabel_configs:" in survivor["diff"]
    assert report["unexplained_survivors"] == []
    assert report["score"]["score"] == round(2 / 3, 4)
    assert "equivalent" in done.stdout  # the summary names the survivor and why
    # Each mutant was printed as it finished, before the table.
    progress = [line for line in done.stdout.splitlines() if line.startswith("[")]
    assert [line.split("]")[0] for line in progress] == ["[1/3", "[2/3", "[3/3"], done.stdout
    assert all(mutant_id in done.stdout for mutant_id in ids.values())
    # stack/ itself was never written.
    assert {p: p.read_bytes() for p in (ROOT / "stack").rglob("*.yml")} == before
