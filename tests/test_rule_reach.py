"""Rules that can never fire here, checked against a real Prometheus.

Fixture rules are in the shapes teams bring (a recording-rule chain, a rule
from a node_exporter pack on a stack without that exporter's filesystem
metrics, a Kubernetes rule in a VM stack, a label value that does not exist,
absent() rules), not the sample stack's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from obsharness import rule_reach
from obsharness.clients.prometheus import PrometheusClient
from obsharness.errors import ConfigError
from obsharness.scenario import wait_for_targets
from obsharness.sinks.smtp import SmtpSink
from obsharness.sinks.webhook import WebhookSink
from obsharness.stack.manifest import load_manifest
from obsharness.stack.process import ProcessStack
from tests.conftest import STACK

TEAM_RULES = {"groups": [{"name": "team", "rules": [
    {"record": "service:http_requests:rate5m_team",
     "expr": "sum by (service) (rate(http_requests_total[5m]))"},
    {"alert": "TeamTrafficDrop", "expr": "service:http_requests:rate5m_team < 1"},
    {"record": "job:disk_avail:sum",
     "expr": 'sum by (job) (node_filesystem_avail_bytes{fstype!="tmpfs"})'},
    {"alert": "DiskFillsUp", "expr": "predict_linear(job:disk_avail:sum[6h], 4*3600) < 0"},
    {"alert": "KubePodCrashLooping",
     "expr": "rate(kube_pod_container_status_restarts_total[15m]) > 0"},
    {"alert": "CheckoutErrors", "expr": 'http_requests_total{service="checkout"} > 0'},
    {"alert": "FlaskTargetGone", "expr": 'absent(up{job="flask-app"})'},
    {"alert": "PaymentsNeverScraped", "expr": 'absent_over_time(up{job="payments"}[5m])'},
]}]}


def test_selectors_come_from_the_ast() -> None:
    found = rule_reach.selectors_of(
        'sum(rate(a_total{x="1", y!~"2"}[5m] offset 1m)) / on() {__name__="b", z=~".+"} '
        'and absent(c) unless max_over_time(d[5m:1m])')
    assert [s.promql() for s in found] == ['a_total{x="1", y!~"2"}', 'b{z=~".+"}', "d"]
    assert rule_reach.selectors_of("sum(") == []  # promtool's to judge


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusClient]:
    manifest = load_manifest(STACK / "stack.yaml")
    with WebhookSink() as hook, SmtpSink() as mail, ProcessStack(
        manifest, tmp_path_factory.mktemp("reach"), time_scale=60, only=["prometheus",
                                                                         "flask-app"],
        sink_addresses={"alert-webhook": hook.address, "mail-relay": mail.address},
    ) as stack:
        client = PrometheusClient(stack.url("prometheus"))
        wait_for_targets(client, set(stack.rendered.scrape_jobs), timeout=30)
        yield client


def _rules(tmp_path: Path) -> list[rule_reach.Rule]:
    path = tmp_path / "stack" / "prometheus" / "rules" / "team.yml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(TEAM_RULES, sort_keys=False))
    return rule_reach.load_rules([path], tmp_path)


@pytest.mark.slow
def test_rules_that_cannot_fire_are_named_with_what_is_missing(
    prometheus: PrometheusClient, tmp_path: Path
) -> None:
    allow = {"KubePodCrashLooping": "runs on the Kubernetes clusters, not this VM stack"}
    found = rule_reach.unreachable_rules(prometheus, _rules(tmp_path), allow)
    by_rule = {u.rule.name: u for u in found}
    assert set(by_rule) == {"job:disk_avail:sum", "DiskFillsUp", "KubePodCrashLooping",
                            "CheckoutErrors"}
    assert by_rule["job:disk_avail:sum"].reason == (
        "no series of metric node_filesystem_avail_bytes (no target here exposes it; it "
        "comes from node_exporter's filesystem collector)")
    # The chain: the alert is unreachable because the rule it reads is.
    assert by_rule["DiskFillsUp"].reason.startswith(
        "job:disk_avail:sum is written by recording rule job:disk_avail:sum, which selects "
        "nothing here (no series of metric node_filesystem_avail_bytes")
    assert by_rule["CheckoutErrors"].reason == 'series exist, but none with service="checkout"'
    assert by_rule["KubePodCrashLooping"].allowed_because == (
        "runs on the Kubernetes clusters, not this VM stack")
    assert all(u.allowed_because is None for n, u in by_rule.items()
               if n != "KubePodCrashLooping")
    assert str(by_rule["CheckoutErrors"]).startswith(
        "stack/prometheus/rules/team.yml group team alert CheckoutErrors: "
        'http_requests_total{service="checkout"}: ')


def test_the_allowlist_reads_rules_and_files_and_refuses_entries_without_reason(
    tmp_path: Path
) -> None:
    (tmp_path / "prometheus").mkdir()
    assert rule_reach.load_allowlist(tmp_path) == {}
    allow = tmp_path / rule_reach.ALLOWLIST
    allow.write_text(yaml.safe_dump({"allow": [
        {"rule": "KubePodCrashLooping", "reason": "Kubernetes only"},
        {"file": "prometheus/rules/kubernetes.yml", "reason": "the whole pack is for k8s"}]}))
    assert rule_reach.load_allowlist(tmp_path) == {
        "KubePodCrashLooping": "Kubernetes only",
        "prometheus/rules/kubernetes.yml": "the whole pack is for k8s"}
    allow.write_text(yaml.safe_dump({"allow": [{"rule": "X"}]}))
    with pytest.raises(ConfigError, match=r"allow\[0\] needs `rule` or `file`, and a `reason`"):
        rule_reach.load_allowlist(tmp_path)


@pytest.mark.slow
def test_an_evaluated_recording_rule_is_held_to_its_label_values_too(
    prometheus: PrometheusClient, tmp_path: Path
) -> None:
    """Once Prometheus has evaluated a recorded series, a selector on it is asked like any
    other: a service that does not exist is named, chain or not."""
    from obsharness.waiting import eventually

    sample = rule_reach.load_rules([STACK / "prometheus" / "rules" / "recording.yml"], STACK)
    team = tmp_path / "stack" / "prometheus" / "rules" / "team.yml"
    team.parent.mkdir(parents=True)
    team.write_text(yaml.safe_dump({"groups": [{"name": "team", "rules": [
        {"alert": "CheckoutQuiet", "expr": 'service:http_requests:rate5m{service="checkout"} < 1'},
        {"alert": "FlaskQuiet", "expr": 'service:http_requests:rate5m{service="flask-app"} < 1'},
    ]}]}))
    rules = [*sample, *rule_reach.load_rules([team], tmp_path)]
    eventually(lambda: prometheus.query("service:http_requests:rate5m"), bool,
               what="the sample's recording rule evaluated", timeout=30)
    found = {u.rule.name: u.reason for u in rule_reach.unreachable_rules(prometheus, rules, {})
             if u.rule.name.endswith("Quiet")}
    assert found == {"CheckoutQuiet": 'series exist, but none with service="checkout"'}
