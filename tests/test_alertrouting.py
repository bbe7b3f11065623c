"""The Python routing tree and inhibition, cross-checked with amtool; table rule tests."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from obsharness import alertrouting, ruletests, toolchecks
from obsharness.errors import ConfigError, RouteForOtherSourcesWarning
from obsharness.stack.render import rule_files_of
from tests.conftest import STACK

AM = STACK / "alertmanager" / "alertmanager.yml"
RULES = rule_files_of(STACK / "prometheus" / "prometheus.yml")

CONTINUE_CONFIG = """
route:
  receiver: default
  routes:
    - matchers: ['team="a"']
      receiver: team-a
      continue: true
    - match_re: {severity: "crit.*"}
      receiver: pager
    - matchers: ['severity!="none"', 'service!~"db-.*"']
      receiver: catch-all
receivers: [{name: default}, {name: team-a}, {name: pager}, {name: catch-all}]
"""


@pytest.mark.parametrize(
    "labels",
    [
        {"team": "a", "severity": "critical"},
        {"team": "a", "severity": "none"},
        {"severity": "critical"},
        {"severity": "warning", "service": "web"},
        {"severity": "warning", "service": "db-main"},
        {},
    ],
)
def test_python_routing_agrees_with_amtool(tmp_path: Path, labels: dict[str, str]) -> None:
    config_path = tmp_path / "am.yml"
    config_path.write_text(CONTINUE_CONFIG)
    ours = alertrouting.load(config_path).receivers_for(labels)
    assert ours == toolchecks.amtool_routes(config_path, labels)


def test_continue_collects_several_receivers(tmp_path: Path) -> None:
    config_path = tmp_path / "am.yml"
    config_path.write_text(CONTINUE_CONFIG)
    assert alertrouting.load(config_path).receivers_for(
        {"team": "a", "severity": "critical"}) == ["team-a", "pager"]


def test_an_alert_matching_both_sides_does_not_inhibit_its_twin() -> None:
    config = alertrouting.load(AM)
    a = {"alertname": "ServiceDown", "service": "x"}
    b = {"alertname": "ServiceDown", "service": "x", "instance": "2"}
    assert config.inhibited([a, b]) == [False, False]


def test_matcher_parsing() -> None:
    assert alertrouting.parse_matcher('severity="critical"') == alertrouting.Matcher(
        "severity", "=", "critical")
    assert alertrouting.parse_matcher("service=~node-app|fastapi-app").op == "=~"
    with pytest.raises(ValueError, match="not a matcher"):
        alertrouting.parse_matcher("=oops")


KUBE_PROMETHEUS = Path(__file__).parent / "fixtures" / "alertmanager" / "kube-prometheus.yaml"


@pytest.mark.parametrize("labels", [
    {"alertname": "Watchdog", "severity": "none"},
    {"alertname": "InfoInhibitor", "severity": "none"},
    {"alertname": "KubePodCrashLooping", "severity": "critical", "namespace": "shop"},
    {"alertname": "CPUThrottlingHigh", "severity": "info"},
])
def test_kube_prometheus_routes_as_amtool_routes_them(labels: dict[str, str]) -> None:
    ours = alertrouting.load(KUBE_PROMETHEUS).receivers_for(labels)
    assert ours == toolchecks.amtool_routes(KUBE_PROMETHEUS, labels)


def test_routes_for_alerts_of_other_sources_are_advice_not_a_failure() -> None:
    """kube-prometheus's Watchdog and InfoInhibitor routes serve its own rules' alerts:
    with this stack's rules they reach nothing here, which is said, not failed."""
    with pytest.warns(RouteForOtherSourcesWarning) as caught:
        config = alertrouting.check(KUBE_PROMETHEUS, RULES)
    assert len(config.unreached) == 2
    assert "kube-prometheus.yaml:29: the route {alertname=\"Watchdog\"} (receiver Watchdog)" \
        in config.unreached[0]
    assert "{alertname=\"InfoInhibitor\"} (receiver null)" in config.unreached[1]
    assert "fine for alerts of other sources, else a typo" in str(caught[0].message)
    toolchecks.check_alertmanager_config(KUBE_PROMETHEUS)  # and amtool accepts it


def _kube_copy(tmp_path: Path, kept: str | None) -> Path:
    config = tmp_path / "alertmanager.yml"
    config.write_text(KUBE_PROMETHEUS.read_text())
    if kept is not None:
        (tmp_path / alertrouting.OTHER_SOURCES_FILE).write_text(kept)
    return config


def test_routes_kept_for_other_sources_are_listed_with_their_reason(tmp_path: Path) -> None:
    config = _kube_copy(tmp_path, (
        "routes:\n"
        "  - matchers: ['alertname = Watchdog']\n"
        "    reason: kube-prometheus's own rules raise Watchdog\n"
        "  - matchers: ['alertname=\"InfoInhibitor\"']\n"
        "    reason: kube-prometheus's own rules raise InfoInhibitor\n"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert alertrouting.check(config, RULES, only_source=True).unreached == []


def test_only_source_makes_an_unreached_route_an_error_naming_the_allowlist(
        tmp_path: Path) -> None:
    config = _kube_copy(tmp_path, "routes:\n  - matchers: ['alertname=Watchdog']\n"
                                  "    reason: raised by kube-prometheus's rules\n")
    with pytest.raises(ConfigError, match=r"alertmanager\.yml:\d+ .*InfoInhibitor.*only "
                                          r"source.*other-sources\.yml"):
        alertrouting.check(config, RULES, only_source=True)


def test_a_stale_or_malformed_allowlist_entry_is_said(tmp_path: Path) -> None:
    config = _kube_copy(tmp_path, "routes:\n  - matchers: ['team=\"gone\"']\n"
                                  "    reason: was removed\n")
    with pytest.warns(RouteForOtherSourcesWarning) as caught:
        alertrouting.check(config, RULES)
    assert any("other-sources.yml:2: the kept route {team=\"gone\"}" in str(w.message)
               for w in caught)
    _kube_copy(tmp_path, "routes:\n  - matchers: ['alertname=Watchdog']\n")
    with pytest.raises(ConfigError, match=r"other-sources\.yml:2 .*reason"):
        alertrouting.check(config, RULES)


def test_the_deployed_config_passes_the_routing_check() -> None:
    config = alertrouting.check(AM, RULES)
    assert set(config.receivers) == {"oncall-webhook", "oncall-critical", "api-team-critical"}


def test_a_table_that_states_the_wrong_timing_fails() -> None:
    series = [
        ('http_requests_total{service="x",status="200"}', "0+94x40"),
        ('http_requests_total{service="x",status="500"}', "0+6x40"),
    ]
    labels = {"severity": "critical", "team": "platform", "service": "x"}
    right, _ = ruletests.run_table(RULES, "15s", series,
                                   [ruletests.ExpectedAlert("2m15s", "HighErrorRate", labels)])
    assert right.ok, right.output
    wrong, generated = ruletests.run_table(RULES, "15s", series,
                                           [ruletests.ExpectedAlert("2m", "HighErrorRate", labels)])
    assert not wrong.ok
    assert "eval_time: 2m" in generated


def test_labels_cell_parsing() -> None:
    assert ruletests.parse_labels("a=1, b = two") == {"a": "1", "b": "two"}
    assert ruletests.parse_labels("none") is None
    with pytest.raises(ValueError, match="label=value"):
        ruletests.parse_labels("oops")


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=30, max_value=70).filter(lambda e: e != 50))
def test_high_error_rate_boundary_around_5_percent(errors_per_1000: int) -> None:
    """Per mille of errors around the threshold: promtool fires at 2m15s exactly when > 5%."""
    series = [
        ('http_requests_total{service="x",status="200"}', f"0+{1000 - errors_per_1000}x20"),
        ('http_requests_total{service="x",status="500"}', f"0+{errors_per_1000}x20"),
    ]
    labels = {"severity": "critical", "team": "platform", "service": "x"}
    fires = errors_per_1000 > 50
    expected = [ruletests.ExpectedAlert("2m", "HighErrorRate", None),
                ruletests.ExpectedAlert("2m15s", "HighErrorRate", labels if fires else None)]
    result, generated = ruletests.run_table(RULES, "15s", series, expected)
    assert result.ok, f"{errors_per_1000}/1000 errors:\n{result.output}\n{generated}"


@settings(max_examples=15, deadline=None)
@given(st.integers(min_value=1, max_value=12))
def test_high_latency_boundary_around_1s(slow_percent: int) -> None:
    """A share of requests in (1s, 1.5s], the rest in (0.1s, 0.5s]: p95 is above 1 s
    exactly when more than 5% are slow (histogram_quantile interpolates in the bucket)."""
    fast = 100 - slow_percent
    buckets = {"0.1": 0, "0.5": fast, "1": fast, "1.5": 100, "+Inf": 100}
    series = [(f'http_request_duration_seconds_bucket{{service="x",le="{le}"}}', f"0+{n}x30")
              for le, n in buckets.items()]
    labels = {"severity": "warning", "team": "platform", "service": "x"}
    fires = slow_percent > 5
    expected = [ruletests.ExpectedAlert("5m15s", "HighLatency", labels if fires else None)]
    result, generated = ruletests.run_table(RULES, "15s", series, expected)
    assert result.ok, f"{slow_percent}% slow:\n{result.output}\n{generated}"


def test_receivers_that_would_not_say_an_alert_resolved_are_named(tmp_path: Path) -> None:
    config = tmp_path / "am.yml"
    config.write_text(
        "route: {receiver: a}\n"
        "receivers:\n"
        "  - name: a\n"
        "    webhook_configs:\n"
        "      - url: http://x/hook\n"          # default true: fine
        "    email_configs:\n"
        "      - to: a@example.com\n"           # default false
        "  - name: b\n"
        "    slack_configs:\n"
        "      - api_url: http://x/slack\n"
        "        send_resolved: true\n"
        "    pagerduty_configs:\n"
        "      - routing_key: k\n"
        "        send_resolved: false\n")
    assert alertrouting.silent_on_resolve(config) == [
        f"{config}:7: receiver a email_configs[0]: send_resolved defaults to false",
        f"{config}:13: receiver b pagerduty_configs[0]: send_resolved is false"]
    stack = Path(__file__).resolve().parents[1] / "stack" / "alertmanager" / "alertmanager.yml"
    assert alertrouting.silent_on_resolve(stack) == []


def test_group_wait_is_inherited_down_the_routing_tree(tmp_path: Path) -> None:
    config = tmp_path / "am.yml"
    config.write_text(
        "route:\n  receiver: a\n  group_wait: 10s\n  routes:\n"
        "    - matchers: ['severity=\"critical\"']\n      receiver: b\n      continue: true\n"
        "      routes:\n        - matchers: ['team=\"db\"']\n          receiver: c\n"
        "          group_wait: 2m\n"
        "    - matchers: ['severity=~\"critical|warning\"']\n      receiver: d\n"
        "receivers: [{name: a}, {name: b}, {name: c}, {name: d}]\n")
    loaded = alertrouting.load(config)
    assert loaded.first_notification_waits({"severity": "critical", "team": "db"}) == {
        "c": "2m", "d": "10s"}
    assert loaded.first_notification_waits({"severity": "info"}) == {"a": "10s"}
    default = tmp_path / "default.yml"
    default.write_text("route: {receiver: a}\nreceivers: [{name: a}]\n")
    assert alertrouting.load(default).first_notification_waits({}) == {"a": "30s"}
