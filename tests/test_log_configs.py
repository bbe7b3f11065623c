"""Loki, Promtail and Alloy configs: label logic everywhere, the real validators where present."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from obsharness.binaries import resolve
from obsharness.errors import BinaryNotFoundError
from obsharness.logpipeline import labels_for
from tests.conftest import STACK

PROMTAIL = yaml.safe_load((STACK / "promtail" / "promtail.yml").read_text())
LOKI = yaml.safe_load((STACK / "loki" / "loki.yml").read_text())
ALLOY = (STACK / "alloy" / "config.alloy").read_text()
ACCESS = ('{"ts": "2026-11-25T10:00:00.000+00:00", "level": "info", "service": "flask-app", '
          '"log_type": "access", "message": "GET / 200", "method": "GET", "route": "/", '
          '"status": 200, "duration_ms": 1.2, "request_id": "abc123"}')


def _stages(job: str) -> list[dict[str, Any]]:
    return next(c["pipeline_stages"] for c in PROMTAIL["scrape_configs"] if c["job_name"] == job)


@pytest.mark.parametrize("job", ["app-files", "docker"])
def test_only_low_cardinality_fields_become_labels(job: str) -> None:
    labels = labels_for(ACCESS, _stages(job), {"filename": "/run/logs/flask-app.log"})
    assert labels == {"service": "flask-app", "level": "info", "log_type": "access"}


def test_request_id_and_route_stay_in_the_line() -> None:
    labels = labels_for(ACCESS, _stages("app-files"))
    assert "request_id" not in labels
    assert "route" not in labels


def test_a_line_that_is_not_json_gets_no_labels() -> None:
    assert labels_for("[2026-11-25 10:00:00] Booting worker", _stages("app-files")) == {}


def test_loki_config_follows_what_real_runs_taught() -> None:
    schema = LOKI["schema_config"]["configs"][0]
    assert (schema["store"], schema["schema"], schema["object_store"]) == (
        "tsdb", "v13", "filesystem")
    assert LOKI["limits_config"]["retention_period"] == "168h"
    assert LOKI["compactor"]["retention_enabled"] is True
    assert LOKI["ingester"]["lifecycler"]["min_ready_duration"] == "0s"
    assert LOKI["analytics"]["reporting_enabled"] is False
    assert LOKI["limits_config"]["discover_service_name"] == []
    grpc = f"127.0.0.1:{LOKI['server']['grpc_listen_port']}"
    assert LOKI["frontend"]["scheduler_address"] == grpc
    assert LOKI["frontend_worker"]["scheduler_address"] == grpc


def test_alloy_promotes_the_same_labels_as_promtail() -> None:
    promoted = set(_stages("app-files")[1]["labels"])
    assert 'values = {level = "", service = "", log_type = ""}' in ALLOY
    assert promoted == {"level", "service", "log_type"}
    assert 'url = "http://loki:3100/loki/api/v1/push"' in ALLOY


def _tool(name: str) -> Path:
    try:
        return resolve(name, allow_install=False).path
    except BinaryNotFoundError as exc:
        pytest.skip(f"{name} is not available here, so its own validator cannot run: {exc.hint}")


def test_loki_verify_config() -> None:
    loki = _tool("loki")
    result = subprocess.run([str(loki), "-verify-config", f"-config.file={STACK / 'loki' / 'loki.yml'}"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtail_check_syntax() -> None:
    promtail = _tool("promtail")
    result = subprocess.run([str(promtail), "-check-syntax", "-config.expand-env=true",
                             f"-config.file={STACK / 'promtail' / 'promtail.yml'}"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_alloy_fmt() -> None:
    alloy = _tool("alloy")
    result = subprocess.run([str(alloy), "fmt", str(STACK / "alloy" / "config.alloy")],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
