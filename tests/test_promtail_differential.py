"""The Promtail stage model (logpipeline) held to a real Promtail's --dry-run, by
hypothesis, where a Promtail binary is given ($OBSHARNESS_PROMTAIL_BIN, the
release download, or the cache). No Promtail can be had on the machines this
project is built on: there the test skips and says so."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from obsharness.binaries import ResolvedBinary, resolve
from obsharness.errors import BinaryNotFoundError
from obsharness.logpipeline import label_text, labels_for
from tests.conftest import STACK

PROMTAIL = yaml.safe_load((STACK / "promtail" / "promtail.yml").read_text())
STAGES = PROMTAIL["scrape_configs"][0]["pipeline_stages"]
PROMOTED = {name for stage in STAGES for name in (stage.get("labels") or {})}
# One dry-run line: <timestamp>\t{labels}\t<line> (Promtail's client/logger.go).
_DRY_RUN = re.compile(r"^\S+\t+(\{.*?\})\t+(.*)$")
_PAIR = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@pytest.fixture(scope="module")
def promtail() -> ResolvedBinary:
    try:
        return resolve("promtail", allow_install=False)
    except BinaryNotFoundError as exc:
        pytest.skip(f"no Promtail binary here, so the stage model is not held to one. "
                    f"To get it: {exc}")


def dry_run(binary: ResolvedBinary, lines: list[str], work: Path) -> list[dict[str, str]]:
    """Labels Promtail gives each line of stdin, with this stack's pipeline."""
    config = {"server": {"disable": True},
              "positions": {"filename": str(work / "positions.yaml")},
              "clients": [{"url": "http://127.0.0.1:1/loki/api/v1/push"}],
              "scrape_configs": [{"job_name": "stdin", "pipeline_stages": STAGES}]}
    path = work / "promtail.yml"
    path.write_text(yaml.safe_dump(config))
    result = subprocess.run([str(binary.path), "--stdin", "--dry-run", f"-config.file={path}"],
                            input="\n".join(lines) + "\n", capture_output=True, text=True,
                            timeout=60, check=False, env={"NO_COLOR": "1"})
    assert result.returncode == 0, result.stderr
    found = [m for m in map(_DRY_RUN.match, result.stdout.splitlines()) if m]
    return [{k: json.loads(f'"{v}"') for k, v in _PAIR.findall(m.group(1)) if k in PROMOTED}
            for m in found]


SCALARS = st.one_of(st.text(max_size=6), st.integers(-5, 500), st.booleans(), st.none(),
                    st.floats(allow_nan=False, allow_infinity=False, width=32),
                    st.just({"nested": 1}), st.just([1, 2]))


@st.composite
def app_lines(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(["[2026-11-25 10:00:00] Booting worker", "not json {"]))
    record: dict[str, Any] = {"message": "m"}
    for field in ("level", "service", "log_type", "request_id"):
        if draw(st.booleans()):
            record[field] = draw(SCALARS)
    return json.dumps(record)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(app_lines(), min_size=1, max_size=8))
def test_the_stage_model_labels_lines_as_promtail_does(promtail: ResolvedBinary, tmp_path: Path,
                                                        lines: list[str]) -> None:
    theirs = dry_run(promtail, lines, tmp_path)
    ours = [labels_for(line, STAGES) for line in lines]
    assert ours == theirs, lines


def test_label_text_follows_promtails_get_string() -> None:
    """Go's forms: strconv.FormatFloat(f, 'f', -1, 64), FormatBool; no label otherwise."""
    assert [label_text(v) for v in (200, 200.0, 1.5, True, False, "x", None, {"a": 1})] == \
        ["200", "200", "1.5", "true", "false", "x", None, None]
