"""A team's receivers name real endpoints; the rendered copy sends everything to the sinks."""

from __future__ import annotations

from pathlib import Path

import yaml

from obsharness import toolchecks
from obsharness.stack.receivers import redirect

TEAM_CONFIG = """
global:
  smtp_smarthost: smtp.corp.example:587
  smtp_from: alertmanager@corp.example
  smtp_auth_username: alertmanager
  smtp_auth_password: not-a-real-password
  slack_api_url: https://hooks.slack.com/services/T000/B000/XXXX
  http_config:
    proxy_url: http://proxy.corp.example:3128
route:
  receiver: team-slack
  routes:
    - matchers: ['severity="critical"']
      receiver: oncall-critical
      continue: true
    - matchers: ['severity="critical"']
      receiver: audit
receivers:
  - name: team-slack
    slack_configs:
      - channel: '#alerts'
        title: '{{ .CommonLabels.alertname }}'
  - name: oncall-critical
    pagerduty_configs:
      - routing_key: not-a-real-key
    email_configs:
      - to: oncall@corp.example
        send_resolved: true
  - name: audit
    webhook_configs:
      - url: https://audit.corp.example/alerts
        send_resolved: false
      - url: http://127.0.0.1:9/already-local
"""

WEBHOOK = "http://127.0.0.1:19095/alerts"
SMTP = "127.0.0.1:19025"


def test_every_integration_of_a_team_config_goes_to_the_sinks_and_amtool_accepts_it(
        tmp_path: Path) -> None:
    data = yaml.safe_load(TEAM_CONFIG)
    done = redirect(data, webhook_url=WEBHOOK, smarthost=SMTP)
    receivers = {r["name"]: r for r in data["receivers"]}
    # Slack's send_resolved default is false, PagerDuty's true: Alertmanager's own defaults.
    assert receivers["team-slack"] == {"name": "team-slack", "webhook_configs": [
        {"url": WEBHOOK, "send_resolved": False}]}
    assert receivers["oncall-critical"]["webhook_configs"] == [
        {"url": WEBHOOK, "send_resolved": True}]
    assert "pagerduty_configs" not in receivers["oncall-critical"]
    email = receivers["oncall-critical"]["email_configs"][0]
    assert email["to"] == "oncall@corp.example"
    assert email["smarthost"] == SMTP
    assert receivers["audit"]["webhook_configs"] == [
        {"url": "http://127.0.0.1:9/already-local"}, {"url": WEBHOOK, "send_resolved": False}]
    glob = data["global"]
    assert glob["smtp_smarthost"] == SMTP
    assert "smtp_auth_password" not in glob
    assert "http_config" not in glob  # its proxy would carry the sink's traffic off-machine
    assert {str(d) for d in done} >= {
        "receiver team-slack: slack_configs to slack goes to the sink",
        "receiver audit: webhook_configs to audit.corp.example goes to the sink",
        "receiver (global): smtp_smarthost to smtp.corp.example:587 goes to the sink"}
    # No address off this machine is left anywhere in the rendered copy.
    text = yaml.safe_dump(data)
    assert "corp.example:" not in text
    assert "audit.corp.example" not in text
    # The real tool is the judge of the rewritten copy.
    path = tmp_path / "alertmanager.yml"
    path.write_text(text)
    toolchecks.check_alertmanager_config(path)


def test_a_config_already_pointing_at_the_runs_own_hosts_is_left_alone() -> None:
    data = yaml.safe_load("""
route: {receiver: hook}
receivers:
  - name: hook
    webhook_configs: [{url: "http://alertmanager-sink.internal:9095/alerts"}]
    email_configs: [{to: a@b.c, smarthost: "mail.internal:25"}]
""")
    before = yaml.safe_dump(data)
    assert redirect(data, webhook_url=WEBHOOK, smarthost=SMTP,
                    local_hosts=frozenset({"alertmanager-sink.internal", "mail.internal"})) == []
    assert yaml.safe_dump(data) == before
