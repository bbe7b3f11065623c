"""Rendering stack/ into a run directory: addresses, time compression, validation."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import yaml

from obsharness.errors import (
    ConfigError,
    ManifestError,
    RouteForOtherSourcesWarning,
    TimeCompressionFloorWarning,
)
from obsharness.stack.manifest import Manifest, load_manifest
from obsharness.stack.render import render_stack

ADDRESSES = {
    "prometheus": "127.0.0.1:40001",
    "alertmanager": "127.0.0.1:40002",
    "flask-app": "127.0.0.1:40003",
    "alert-webhook": "127.0.0.1:40004",
    "mail-relay": "127.0.0.1:40005",
}


def test_render_rewrites_addresses_and_compresses_time(manifest: Manifest, tmp_path: Path) -> None:
    rendered = render_stack(manifest, tmp_path, addresses=ADDRESSES, time_scale=60)
    prom = yaml.safe_load((tmp_path / "prometheus" / "prometheus.yml").read_text())
    assert prom["global"]["scrape_interval"] == "250ms"
    assert prom["global"]["evaluation_interval"] == "250ms"
    targets = {j["job_name"]: j["static_configs"][0]["targets"] for j in prom["scrape_configs"]
               if "static_configs" in j}
    # Series replay's job: file_sd beside the rendered config, empty until a replay.
    replay = next(j for j in prom["scrape_configs"] if j["job_name"] == "obsharness-replay")
    assert replay["file_sd_configs"] == [{"files": ["obsharness-replay/*.json"],
                                          "refresh_interval": "1s"}]
    assert targets["flask-app"] == ["127.0.0.1:40003"]
    assert prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "127.0.0.1:40002"
    ]
    rule = yaml.safe_load((tmp_path / "prometheus" / "rules" / "alerts.yml").read_text())
    high = next(r for r in rule["groups"][0]["rules"] if r.get("alert") == "HighErrorRate")
    assert high["for"] == "2s"
    assert "[5s]" in high["expr"]
    assert '"5.."' in high["expr"]
    am = yaml.safe_load((tmp_path / "alertmanager" / "alertmanager.yml").read_text())
    assert am["route"]["group_wait"] == "500ms"
    assert am["route"]["group_interval"] == "5s"
    assert am["receivers"][0]["webhook_configs"][0]["url"] == "http://127.0.0.1:40004/alerts"
    # The rendered copy carries a header that says where it came from.
    assert (tmp_path / "alertmanager" / "alertmanager.yml").read_text().startswith(
        "# Rendered by obsharness from"
    )
    # Unit tests of the rules are not shipped with the compressed copy.
    assert not (tmp_path / "prometheus" / "tests").exists()
    timing = rendered.timing
    # Prometheus' own durations are durations too: / 60, set on its command line.
    assert rendered.argv("prometheus", ["--config.file=x"]) == [
        "--config.file=x", "--query.lookback-delta=5s", "--rules.alert.resend-delay=1s",
        "--rules.alert.for-grace-period=10s", "--rules.alert.for-outage-tolerance=1m"]
    assert timing.floor_s("HighErrorRate") == pytest.approx(2 + 0.25 + 0.25 + 0.5)
    assert timing.alert_window_ms["HighErrorRate"] == 5000
    assert rendered.floors == []


def test_time_scale_one_keeps_production_timing(manifest: Manifest, tmp_path: Path) -> None:
    rendered = render_stack(manifest, tmp_path, addresses=ADDRESSES, time_scale=1)
    assert rendered.timing.alert_for_ms["HighErrorRate"] == 120_000
    assert rendered.timing.scrape_interval_ms == 15_000
    assert rendered.timing.floor_s("HighErrorRate") == 120 + 15 + 15 + 30
    assert rendered.argv("prometheus", ["--web.enable-lifecycle"]) == ["--web.enable-lifecycle"]


def test_extreme_scale_applies_floors_and_warns(manifest: Manifest, tmp_path: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rendered = render_stack(manifest, tmp_path, addresses=ADDRESSES, time_scale=1000)
    reasons = {f.reason for f in rendered.floors}
    assert "an interval stays above what the tools can honour" in reasons
    # 5m / 1000 = 300ms, but the scrape interval is floored at 100ms: 4 scrapes need 400ms.
    assert "a range window keeps at least 4 scrapes" in reasons
    assert any(issubclass(w.category, TimeCompressionFloorWarning) for w in caught)
    # The floors keep the semantics: the window still holds 4 scrapes.
    assert rendered.timing.scrape_interval_ms == 100
    assert rendered.timing.alert_window_ms["HighErrorRate"] == 400


def test_the_lookback_delta_outlasts_the_slowest_groups_interval(
        stack_copy: Path, tmp_path: Path) -> None:
    """A pack's group evaluated every 5m writes a sample every 5s at scale 60: a 5s
    lookback would lose its series between two evaluations. Kept at two, and said."""
    (stack_copy / "prometheus" / "rules" / "slow.yml").write_text(
        "groups:\n  - name: slow\n    interval: 5m\n    rules:\n"
        "      - record: job:up:sum\n        expr: sum by (job) (up)\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rendered = render_stack(load_manifest(stack_copy / "stack.yaml"), tmp_path / "run",
                                addresses=ADDRESSES, time_scale=60)
    [lookback] = [f for f in rendered.floors if "lookback-delta" in f.where]
    assert lookback.floor_ms == 10_000
    assert "two scrapes or evaluations" in lookback.reason
    assert "--query.lookback-delta=10s" in rendered.argv("prometheus", [])
    assert any("lookback-delta" in str(w.message) for w in caught)


def test_a_lookback_delta_the_manifest_sets_is_scaled_and_replaced(
        stack_copy: Path, tmp_path: Path) -> None:
    """A team's own `--query.lookback-delta 10m` (either spelling) is its production
    value: scaled, and given once."""
    path = stack_copy / "stack.yaml"
    path.write_text(path.read_text().replace(
        '"--web.enable-lifecycle"]', '"--web.enable-lifecycle", "--query.lookback-delta", "10m"]', 1))
    manifest = load_manifest(path)
    assert "10m" in manifest.component("prometheus").process.args  # type: ignore[union-attr]
    rendered = render_stack(manifest, tmp_path / "run", addresses=ADDRESSES, time_scale=60)
    args = ["--web.enable-lifecycle", "--query.lookback-delta", "10m"]
    argv = rendered.argv("prometheus", args)
    assert argv[:2] == ["--web.enable-lifecycle", "--query.lookback-delta=10s"]
    assert [a for a in argv if "lookback" in a] == ["--query.lookback-delta=10s"]
    assert "10m" not in rendered.argv("prometheus", ["--query.lookback-delta=10m"])
    assert rendered.argv("alertmanager", args) == args  # only Prometheus has one
    path.write_text(path.read_text().replace('"--query.lookback-delta", "10m"',
                                             '"--query.lookback-delta", "ten minutes"'))
    with pytest.raises(ManifestError, match="prometheus: --query.lookback-delta=ten minutes"):
        render_stack(load_manifest(path), tmp_path / "run2", addresses=ADDRESSES, time_scale=60)


def test_broken_rule_file_names_file_and_line(stack_copy: Path, tmp_path: Path) -> None:
    rules = stack_copy / "prometheus" / "rules" / "alerts.yml"
    rules.write_text(rules.read_text().replace("rate(http_requests_total[5m]))", "rate(http_requests_total[5m])"))
    broken = load_manifest(stack_copy / "stack.yaml")
    with pytest.raises(ConfigError) as caught:
        render_stack(broken, tmp_path / "run", addresses=ADDRESSES, time_scale=60)
    message = str(caught.value)
    lines = rules.read_text().splitlines()
    alert_at = lines.index("      - alert: HighErrorRate")
    expr_line = next(i for i in range(alert_at, len(lines)) if "expr:" in lines[i]) + 1
    assert message.startswith(f"prometheus: config file {rules}:{expr_line} is invalid")
    assert "promtool check config" in message
    assert "unclosed left parenthesis" in message
    assert "\n" not in message  # one paragraph


def test_bad_duration_in_rule_names_file(stack_copy: Path, tmp_path: Path) -> None:
    rules = stack_copy / "prometheus" / "rules" / "alerts.yml"
    rules.write_text(rules.read_text().replace("for: 2m", "for: two minutes"))
    with pytest.raises(ConfigError, match=r"alerts\.yml is invalid .*not a valid duration"):
        render_stack(load_manifest(stack_copy / "stack.yaml"), tmp_path / "run",
                     addresses=ADDRESSES, time_scale=60)


def test_yaml_syntax_error_names_file_and_line(stack_copy: Path, tmp_path: Path) -> None:
    am = stack_copy / "alertmanager" / "alertmanager.yml"
    am.write_text(am.read_text().replace("  group_wait: 30s\n", "  group_wait: [30s\n"))
    with pytest.raises(ConfigError, match=r"alertmanager\.yml:\d+ is invalid \(checked with YAML\)"):
        render_stack(load_manifest(stack_copy / "stack.yaml"), tmp_path / "run",
                     addresses=ADDRESSES, time_scale=60)


def test_wrong_receiver_name_names_file_and_line(stack_copy: Path, tmp_path: Path) -> None:
    am = stack_copy / "alertmanager" / "alertmanager.yml"
    text = am.read_text().replace("          receiver: api-team-critical",
                                  "          receiver: api-team")
    am.write_text(text)
    line = text.splitlines().index("          receiver: api-team") + 1
    with pytest.raises(ConfigError) as caught:
        render_stack(load_manifest(stack_copy / "stack.yaml"), tmp_path / "run",
                     addresses=ADDRESSES, time_scale=60)
    message = str(caught.value)
    assert message.startswith(f"alertmanager: config file {am}:{line} is invalid")
    assert 'receiver "api-team", which is not defined' in message
    assert not (tmp_path / "run").exists()  # nothing rendered, nothing started


def test_a_route_no_rule_reaches_is_advice_naming_file_and_line(
        stack_copy: Path, tmp_path: Path) -> None:
    """A typo or a route for another source's alerts: the stack still starts (the
    routing tables judge the typo by their receivers); the advice names the line."""
    am = stack_copy / "alertmanager" / "alertmanager.yml"
    text = am.read_text().replace("""- matchers: ['severity="warning"']""",
                                  """- matchers: ['severity="warn"']""")
    am.write_text(text)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if 'severity="warn"' in ln)
    with pytest.warns(RouteForOtherSourcesWarning) as caught:
        render_stack(load_manifest(stack_copy / "stack.yaml"), tmp_path / "run",
                     addresses=ADDRESSES, time_scale=60)
    [advice] = [str(w.message) for w in caught if w.category is RouteForOtherSourcesWarning]
    assert advice.startswith(f'{am}:{line}: the route {{severity="warn"}} (receiver '
                             "oncall-webhook) matches no alert the rules here produce"), advice


def test_unknown_receiver_at_the_root_is_caught(stack_copy: Path, tmp_path: Path) -> None:
    am = stack_copy / "alertmanager" / "alertmanager.yml"
    am.write_text(am.read_text().replace("  receiver: oncall-webhook", "  receiver: oncall-pager"))
    with pytest.raises(ConfigError, match=r'alertmanager\.yml:\d+ is invalid.*"oncall-pager"'):
        render_stack(load_manifest(stack_copy / "stack.yaml"), tmp_path / "run",
                     addresses=ADDRESSES, time_scale=60)


TRACING = """
tracing:
  endpoint: 127.0.0.1:4317
  client_type: grpc
  insecure: true
  sampling_fraction: 0.1
"""


def test_an_alertmanager_030_field_is_accepted(stack_copy: Path, tmp_path: Path) -> None:
    """Alertmanager's own example config has `tracing:` (0.30+); amtool of the pinned line
    knows it, so a team's config with it renders."""
    am = stack_copy / "alertmanager" / "alertmanager.yml"
    am.write_text(am.read_text() + TRACING)
    render_stack(load_manifest(stack_copy / "stack.yaml"), tmp_path / "run",
                 addresses=ADDRESSES, time_scale=60)
    rendered = yaml.safe_load((tmp_path / "run" / "alertmanager" / "alertmanager.yml").read_text())
    assert rendered["tracing"]["endpoint"] == "127.0.0.1:4317"


@pytest.mark.parametrize(("component", "binary", "config", "old", "new", "tool", "type_name"), [
    ("alertmanager", "amtool", "alertmanager/alertmanager.yml", "\nroute:\n",
     "\ntracingg:\n  endpoint: 127.0.0.1:4317\nroute:\n", "amtool check-config", "config.plain"),
    ("prometheus", "promtool", "prometheus/rules/alerts.yml", "        for: 2m\n",
     "        forr: 2m\n", "promtool check config", "rulefmt.Rule"),
    ("loki", "loki", "loki/loki.yml", "auth_enabled: false\n",
     "auth_enabled: false\nauth_enabledd: x\n", "loki -verify-config", "loki.ConfigWrapper"),
    ("promtail", "promtail", "promtail/promtail.yml", "positions:\n", "positionss:\n",
     "promtail -check-syntax", "config.plain"),
])
def test_an_unknown_field_keeps_the_tools_own_line(
    stack_copy: Path, tmp_path: Path, component: str, binary: str, config: str, old: str,
    new: str, tool: str, type_name: str,
) -> None:
    """The tool's own `line N: field X not found in type T`, in one paragraph, for each
    validator (Loki's and Promtail's where their binaries are at hand)."""
    from obsharness.binaries import resolve
    from obsharness.errors import BinaryNotFoundError

    try:
        resolve(binary, allow_install=component in ("prometheus", "alertmanager"))
    except BinaryNotFoundError as exc:
        pytest.skip(f"{binary} is not available here, so its validator cannot run: {exc.hint}")
    path = stack_copy / config
    text = path.read_text().replace(old, new, 1)
    path.write_text(text)
    wrong = next(ln for ln in new.splitlines() if ln.strip() and ln not in old.splitlines())
    bad = wrong.split(":")[0].strip()
    line = text.splitlines().index(wrong) + 1
    with pytest.raises(ConfigError) as caught:
        render_stack(load_manifest(stack_copy / "stack.yaml"), tmp_path / "run",
                     addresses=ADDRESSES, time_scale=60)
    message = str(caught.value)
    assert message.startswith(f"{component}: config file {path}:{line} is invalid"), message
    assert f"line {line}: field {bad} not found in type {type_name}" in message
    assert tool in message
    assert "\n" not in message


def test_absolute_rule_file_globs_are_expanded_as_prometheus_does(tmp_path: Path) -> None:
    """A deployed config names /etc/prometheus/rules/*.yml: read, never a crash."""
    from obsharness.stack.render import rule_files_of

    rules = tmp_path / "etc" / "rules"
    rules.mkdir(parents=True)
    (rules / "a.yml").write_text("groups: []\n")
    config = tmp_path / "prometheus.yml"
    config.write_text(f"rule_files:\n  - {rules}/*.yml\n  - relative/*.yml\n")
    assert rule_files_of(config) == [rules / "a.yml"]
