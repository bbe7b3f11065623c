"""Alertmanager configs in the shapes real teams keep (kube-prometheus's Secret, an
OpenTelemetry team's UTF-8 config) go through the static checks with only true
findings, and their behaviour tables are answered by a real Alertmanager."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from obsharness import am_tables
from obsharness.am_judge import AlertmanagerJudge
from obsharness.errors import AlertmanagerLintWarning, RouteForOtherSourcesWarning
from obsharness.stack.manifest import load_manifest
from obsharness.stack.render import render_stack
from tests.conftest import STACK

FIXTURES = Path(__file__).parent / "fixtures" / "alertmanager"
UTF8 = FIXTURES / "utf8-otel.yaml"


def _static_findings(tmp_path: Path, config: Path) -> dict[type[Warning], list[str]]:
    stack = tmp_path / "stack"
    shutil.copytree(STACK, stack, ignore=shutil.ignore_patterns("apps", "__pycache__"))
    (stack / "apps").symlink_to(STACK / "apps")
    shutil.copy(config, stack / "alertmanager" / "alertmanager.yml")
    (stack / "alertmanager" / "other-sources.yml").unlink()  # kept routes of our own config
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        render_stack(load_manifest(stack / "stack.yaml"), tmp_path / "run",
                     addresses={}, time_scale=60)
    found: dict[type[Warning], list[str]] = {}
    for warning in caught:
        if warning.category in (AlertmanagerLintWarning, RouteForOtherSourcesWarning):
            found.setdefault(warning.category, []).append(str(warning.message))
    return found


def test_kube_prometheus_passes_with_only_true_findings(tmp_path: Path) -> None:
    found = _static_findings(tmp_path, FIXTURES / "kube-prometheus.yaml")
    advice = found[RouteForOtherSourcesWarning]
    assert len(advice) == 2  # Watchdog and InfoInhibitor: raised by kube-prometheus's rules
    assert all("fine for alerts of other sources" in a for a in advice)
    lint = found[AlertmanagerLintWarning]
    assert sum("without `equal`" in m for m in lint) == 1  # the InfoInhibitor rule, by design
    assert sum("has no integration" in m for m in lint) == 3  # its placeholder receivers
    assert len(lint) == 4


def test_a_utf8_config_passes_with_only_true_findings(tmp_path: Path) -> None:
    # Its routes match labels rules take from their expressions (service.namespace): not
    # ruled out statically, so no advice; and no lint finding.
    assert _static_findings(tmp_path, UTF8) == {}


@pytest.fixture(scope="module")
def judge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlertmanagerJudge]:
    with AlertmanagerJudge(workdir=tmp_path_factory.mktemp("judge")) as running:
        yield running


PAYMENTS = {"alertname": "LatenceÉlevée", "service.namespace": "paiements",
            "service.name": "api-paiement", "severity": "critical"}


def test_utf8_routes_inhibition_and_intervals_as_alertmanager_answers(
        judge: AlertmanagerJudge) -> None:
    am_tables.routing(judge, UTF8, PAYMENTS, ["astreinte-paiements", "équipe-paiements"])
    am_tables.routing(judge, UTF8, {"alertname": "X", "deployment.environment": "staging"},
                      ["équipe-plateforme"])
    am_tables.inhibition(judge, UTF8, [
        ({"alertname": "ServiceIndisponible", "service.name": "api-paiement"}, False),
        ({"alertname": "Lent", "severity": "warning", "service.name": "api-paiement"}, True),
        ({"alertname": "Lent", "severity": "warning", "service.name": "caisse"}, False)])
    billing = {"alertname": "X", "service.namespace": "facturation",
               "deployment.environment": "production"}
    staging = {"alertname": "X", "deployment.environment": "staging"}
    am_tables.time_muting(judge, UTF8, [
        (billing, "Sunday 2026-12-06 03:00", "Europe/Paris", ["maintenance-dimanche"]),
        (billing, "Sunday 2026-12-06 04:00", "Europe/Paris", []),
        (staging, "Monday 2026-12-07 09:00", "Europe/Paris", []),
        (staging, "Monday 2026-12-07 07:59", "UTC", ["heures-ouvrées"]),
        (staging, "Saturday 2026-12-05 12:00", "Europe/Paris", ["heures-ouvrées"])])
