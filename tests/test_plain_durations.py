"""Durations carried as plain numbers: found through the PromQL AST, scaled or reported.

Fixtures are in the shapes of community rule packs (node_exporter's, Prometheus
self-monitoring, cron-job freshness), not the sample stack's rules.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import yaml

from obsharness import plain_durations
from obsharness.errors import TimeCompressionMeaningWarning
from obsharness.stack.manifest import load_manifest
from obsharness.stack.render import RenderedStack, render_stack


@pytest.mark.parametrize(("expr", "expected", "horizons"), [
    ('predict_linear(node_filesystem_avail_bytes{fstype!="tmpfs"}[3h], 86400) <= 0',
     'predict_linear(node_filesystem_avail_bytes{fstype!="tmpfs"}[3h], 1440) <= 0',
     [("86400", "1440")]),
    # The horizon as arithmetic, as the node_exporter mixin writes it.
    ("predict_linear(node_filesystem_free_bytes[6h], 24*60*60) < 0",
     "predict_linear(node_filesystem_free_bytes[6h], (24*60*60) / 60) < 0",
     [("24*60*60", "(24*60*60) / 60")]),
    ("predict_linear( x[1h] ,  4 * 3600 ) < 0 and predict_linear(y[1h], 7200) < 0",
     "predict_linear( x[1h] ,  (4 * 3600) / 60 ) < 0 and predict_linear(y[1h], 120) < 0",
     [("4 * 3600", "(4 * 3600) / 60"), ("7200", "120")]),
    # Inside a string literal it is text, not a call.
    ('label_replace(up, "why", "predict_linear(x, 60)", "", "") > 0',
     'label_replace(up, "why", "predict_linear(x, 60)", "", "") > 0', []),
    ("rate(x[5m]) > 0.5", "rate(x[5m]) > 0.5", []),
])
def test_the_predict_linear_horizon_is_scaled_with_its_window(
    expr: str, expected: str, horizons: list[tuple[str, str]]
) -> None:
    scaled, found = plain_durations.scale_predict_linear(expr, 60)
    assert scaled == expected
    assert found == horizons
    assert plain_durations.scale_predict_linear(expr, 1) == (expr, [])


@pytest.mark.parametrize(("expr", "literals"), [
    ("time() - some_job_last_success_timestamp_seconds > 3600", ["3600"]),
    ("node_time_seconds - node_boot_time_seconds > 600", ["600"]),
    ("(node_time_seconds - node_boot_time_seconds) < 600", ["600"]),
    ("600 > (node_time_seconds - node_boot_time_seconds)", ["600"]),
    ("time() - max by (job) (kube_cronjob_status_last_schedule_time) > 2 * 3600",
     ["2 * 3600"]),
    ("time() - max by (job) (kube_cronjob_status_last_schedule_time) > 7200", ["7200"]),
    ("abs(node_timex_offset_seconds) > 0.05", []),  # seconds, but not a time difference
    ("time() - timestamp(up) >= 30 and up == 1", ["30"]),
    ("rate(http_requests_total[5m]) > 10", []),
    ("prometheus_config_last_reload_successful == 0", []),
    ("time() - x >", []),  # does not parse: promtool's to judge, no finding here
])
def test_time_differences_compared_with_a_plain_number_are_found(
    expr: str, literals: list[str]
) -> None:
    assert [literal for literal, _ in plain_durations.time_comparisons(expr)] == literals


COMMUNITY_RULES = {"groups": [{"name": "community", "rules": [
    {"alert": "HostDiskWillFillIn24Hours",
     "expr": 'predict_linear(node_filesystem_avail_bytes{fstype!~"tmpfs"}[3h], 86400) <= 0',
     "for": "2m", "labels": {"severity": "warning"}},
    {"alert": "HostRebooted",
     "expr": "(node_time_seconds - node_boot_time_seconds) < 600",
     "labels": {"severity": "info"}},
    {"alert": "BackupTooOld",
     "expr": "time() - backup_last_success_timestamp_seconds > 3600",
     "for": "5m", "labels": {"severity": "critical"}},
]}]}


def _render_with_community_rules(stack_copy: Path, run_dir: Path, scale: float,
                                 ) -> RenderedStack:
    """stack/ as a team has it: the sample plus a community pack's rule file."""
    rules = stack_copy / "prometheus" / "rules" / "community.yml"
    rules.write_text(yaml.safe_dump(COMMUNITY_RULES, sort_keys=False))
    manifest = load_manifest(stack_copy / "stack.yaml")
    addresses = {n: f"127.0.0.1:{20000 + i}" for i, n in
                 enumerate([*manifest.components, *manifest.sinks])}
    return render_stack(manifest, run_dir, addresses=addresses, time_scale=scale)


def test_a_community_rule_file_renders_scaled_and_reported(stack_copy: Path,
                                                           tmp_path: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rendered = _render_with_community_rules(stack_copy, tmp_path / "run", 60)
    # The rendered file passed promtool (render validates) and carries the scaled horizon.
    out = yaml.safe_load((tmp_path / "run" / "prometheus" / "rules" / "community.yml").read_text())
    exprs = {r["alert"]: r["expr"] for r in out["groups"][0]["rules"]}
    assert exprs["HostDiskWillFillIn24Hours"] == (
        'predict_linear(node_filesystem_avail_bytes{fstype!~"tmpfs"}[3m], 1440) <= 0')
    assert [str(h) for h in rendered.horizons if "community.yml" in str(h)] == [
        "stack/prometheus/rules/community.yml group community rule HostDiskWillFillIn24Hours: "
        "predict_linear horizon 86400 s scaled to 1440"]
    different = [(d.where.rsplit(" rule ", 1)[1], d.literal) for d in rendered.not_equivalent]
    assert different == [("HostRebooted", "600"), ("BackupTooOld", "3600")]
    assert str(rendered.not_equivalent[1]).startswith(
        "stack/prometheus/rules/community.yml group community rule BackupTooOld: the plain "
        "number 3600 is compared with the time difference time() - "
        "backup_last_success_timestamp_seconds")
    meaning = [str(w.message) for w in caught
               if issubclass(w.category, TimeCompressionMeaningWarning)]
    assert len(meaning) == 2
    assert all("does not behave as in production" in m for m in meaning)


def test_production_timing_changes_nothing_and_reports_nothing(stack_copy: Path,
                                                               tmp_path: Path) -> None:
    rendered = _render_with_community_rules(stack_copy, tmp_path / "run", 1)
    out = yaml.safe_load((tmp_path / "run" / "prometheus" / "rules" / "community.yml").read_text())
    assert out["groups"][0]["rules"][0]["expr"] == COMMUNITY_RULES["groups"][0]["rules"][0]["expr"]
    assert rendered.horizons == []
    assert rendered.not_equivalent == []
