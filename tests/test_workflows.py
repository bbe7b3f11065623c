"""The GitHub workflows say what the README promises: PRs run make test, nightly
runs the docker backend with --require-all and keeps the reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

WORKFLOWS = Path(__file__).resolve().parent.parent / ".github" / "workflows"


def _load(name: str) -> dict[Any, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(data, dict)
    return data


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in job["steps"])


def test_pull_requests_run_make_test() -> None:
    workflow = _load("pull-request.yml")
    assert "pull_request" in workflow[True]  # YAML 1.1 reads the key `on` as True
    assert "make test" in _runs(workflow["jobs"]["test"])


def test_nightly_runs_the_docker_backend_with_no_skip_and_keeps_reports() -> None:
    workflow = _load("nightly.yml")
    assert workflow[True]["schedule"][0]["cron"]
    job = workflow["jobs"]["docker-backend"]
    runs = _runs(job)
    assert "--stack-backend=docker" in runs
    assert "--require-all" in runs
    uploads = [s for s in job["steps"] if str(s.get("uses", "")).startswith(
        "actions/upload-artifact")]
    assert uploads
    assert uploads[0]["if"] == "always()"


def test_nightly_splits_the_scenarios_over_runners_and_merges_one_report() -> None:
    jobs = _load("nightly.yml")["jobs"]
    groups = jobs["docker-backend"]["strategy"]["matrix"]["group"]
    runs = _runs(jobs["docker-backend"])
    assert f"--splits {len(groups)}" in runs
    assert "--group ${{ matrix.group }}" in runs
    merging = jobs["living-documentation"]
    assert merging["needs"] == "docker-backend"
    assert merging["if"] == "always()"  # a failed group still gets its report merged
    assert "obsharness report --merge" in _runs(merging)
    assert "--check" in _runs(merging)


def test_nightly_shards_the_mutation_campaign_and_merges_one_report() -> None:
    jobs = _load("nightly.yml")["jobs"]
    job = jobs["mutation"]
    shards = job["strategy"]["matrix"]["shard"]
    runs = _runs(job)
    assert "make mutate" in runs
    assert "--budget 30m" in runs
    assert f"--shard ${{{{ matrix.shard }}}}/{len(shards)}" in runs
    merged = jobs["mutation-report"]
    # The night's living document (the scenarios' merged report) gains the section.
    assert merged["needs"] == ["mutation", "living-documentation"]
    assert {"name": "nightly-living-documentation", "path": "reports"} in [
        s.get("with") for s in merged["steps"]]
    assert "obsharness mutate --merge shards/* --min-score 0.95" in _runs(merged)
    for each in (job, merged):
        [upload] = [s for s in each["steps"] if str(s.get("uses", "")).startswith(
            "actions/upload-artifact")]
        assert upload["if"] == "always()"
        assert "reports/mutation.json" in upload["with"]["path"]


def test_pull_requests_upload_the_static_findings_as_sarif() -> None:
    workflow = _load("pull-request.yml")
    steps = workflow["jobs"]["test"]["steps"]
    assert any("obsharness check --sarif reports/findings.sarif" in str(s.get("run", ""))
               for s in steps)
    upload = next(s for s in steps if str(s.get("uses", "")).startswith(
        "github/codeql-action/upload-sarif"))
    assert upload["with"]["sarif_file"] == "reports/findings.sarif"
    assert workflow["permissions"]["security-events"] == "write"
