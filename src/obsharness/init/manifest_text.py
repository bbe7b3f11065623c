"""The manifest `obsharness init` writes: obsharness.yaml, pointing at the team's files
where they are, and the harness's own Prometheus config.

The team's prometheus.yml scrapes production (service discovery, real hosts): the harness
never runs it. Its rule_files become rule sources, its global intervals are kept, and
the Prometheus the harness starts scrapes itself and whatever a replay serves.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from obsharness.init.discover import Found

HARNESS_DIR = "obsharness"  # what init writes besides the manifest and CI files
PROMETHEUS_CONFIG = f"{HARNESS_DIR}/prometheus/prometheus.yml"
ALERTMANAGER_FALLBACK = f"{HARNESS_DIR}/alertmanager/alertmanager.yml"
PROMETHEUS_IMAGE = "prom/prometheus:v3.5.3"
ALERTMANAGER_IMAGE = "prom/alertmanager:v0.33.1"


def _intervals(root: Path, found: Found) -> dict[str, str]:
    """The team's own scrape and evaluation intervals (Prometheus' 1m defaults else)."""
    kept = {"scrape_interval": "1m", "evaluation_interval": "1m"}
    for rel in found.prometheus[:1]:
        data = yaml.safe_load((root / rel).read_text(encoding="utf-8")) or {}
        glob = data.get("global") if isinstance(data, dict) else None
        for key in kept:
            if isinstance(glob, dict) and glob.get(key):
                kept[key] = str(glob[key])
    return kept


def rule_globs(root: Path, found: Found) -> list[str]:
    """Rule sources: every rule file found, plus the rule_files globs of the team's
    prometheus.yml (a rule file added later is then read without a new `init`)."""
    globs: list[str] = []
    for rel in found.prometheus:
        data = yaml.safe_load((root / rel).read_text(encoding="utf-8")) or {}
        for pattern in (data.get("rule_files") or []) if isinstance(data, dict) else []:
            joined = PurePosixPath(rel).parent / str(pattern)
            if not PurePosixPath(str(pattern)).is_absolute():
                globs.append(str(joined))
    covered = [g for g in globs if any(True for _ in root.glob(g))]
    loose = [r for r in found.rules if not any(PurePosixPath(r).match(g) for g in covered)]
    return sorted(dict.fromkeys([*covered, *loose]))


def prometheus_config(root: Path, found: Found) -> str:
    config: dict[str, Any] = {
        "global": _intervals(root, found),
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": ["alertmanager:9093"]}]}]},
        # Rules come from obsharness.yaml's sources.rules, in whichever shape they are.
        "rule_files": [],
        "scrape_configs": [{"job_name": "prometheus",
                            "static_configs": [{"targets": ["prometheus:9090"]}]}],
    }
    return ("# Written by `obsharness init`: the Prometheus the harness starts. It evaluates\n"
            "# your rules (obsharness.yaml's sources.rules) with your global intervals and\n"
            "# sends alerts to the harness's Alertmanager, which runs your config. It never\n"
            "# scrapes production; replays serve the series your alerts read.\n"
            + yaml.safe_dump(config, sort_keys=False))


ALERTMANAGER_STARTER = """\
# Written by `obsharness init`: no Alertmanager config was found in this repository.
# Point components.alertmanager.config in obsharness.yaml at yours when you have one.
route:
  receiver: default
receivers:
  - name: default
    webhook_configs:
      - url: http://alert-webhook:9095/alerts
"""


def manifest(root: Path, found: Found, alertmanager: str) -> str:
    am_dir = str(PurePosixPath(alertmanager).parent)
    am_file = PurePosixPath(alertmanager).name
    sources: dict[str, list[str]] = {"rules": rule_globs(root, found)}
    if found.dashboards:
        sources["dashboards"] = found.dashboards
    if found.rule_tests:
        sources["rule_tests"] = found.rule_tests
    data: dict[str, Any] = {
        "version": 1,
        "sinks": {
            "alert-webhook": {"port": 9095, "path": "/alerts",
                              "description": "stands in for every receiver's endpoint"},
            "mail-relay": {"port": 25, "description": "SMTP relay Alertmanager hands its "
                                                      "emails to"},
        },
        "sources": sources,
        "components": {
            "alertmanager": {
                "role": "alerting", "port": 9093, "readiness": "/-/ready",
                "config": alertmanager, "config_tree": am_dir,
                "depends_on": ["alert-webhook", "mail-relay"],
                "binary": "alertmanager", "image": ALERTMANAGER_IMAGE,
                "process": {"args": ["--config.file={config}", "--storage.path={data_dir}",
                                     "--web.listen-address={listen}",
                                     "--web.external-url=http://{listen}",
                                     "--cluster.listen-address="]},
                "container": {"command": [f"--config.file=/etc/alertmanager/{am_file}",
                                          "--storage.path=/alertmanager"],
                              "mounts": {am_dir: "/etc/alertmanager"},
                              "data": "/alertmanager"},
            },
            "prometheus": {
                "role": "metrics", "port": 9090, "readiness": "/-/ready",
                "config": PROMETHEUS_CONFIG, "config_tree": f"{HARNESS_DIR}/prometheus",
                "depends_on": ["alertmanager"],
                "binary": "prometheus", "image": PROMETHEUS_IMAGE,
                "process": {"args": ["--config.file={config}", "--storage.tsdb.path={data_dir}",
                                     "--web.listen-address={listen}",
                                     "--web.external-url=http://{listen}",
                                     "--web.enable-lifecycle"]},
                "container": {"command": ["--config.file=/etc/prometheus/prometheus.yml",
                                          "--storage.tsdb.path=/prometheus",
                                          "--web.enable-lifecycle"],
                              "mounts": {f"{HARNESS_DIR}/prometheus": "/etc/prometheus"},
                              "data": "/prometheus"},
            },
        },
    }
    notes = ["# Written by `obsharness init` from the files this repository has; edit freely",
             "# (`obsharness init` never overwrites a file you changed). Paths are relative",
             "# to this file, and point at your files where they are: nothing is copied.",
             "# The reference of every key: obsharness's docs/bring-your-own-configs.md."]
    notes += _found_notes(found)
    return "\n".join(notes) + "\n" + yaml.safe_dump(data, sort_keys=False, width=100)


def _found_notes(found: Found) -> list[str]:
    lines = []
    configs = [*found.alertmanager, *found.alertmanager_secrets]
    for rel in configs[1:]:
        lines.append(f"# {rel} holds another Alertmanager config; components.alertmanager "
                     f"uses {configs[0]}.")
    for rel in [*found.loki, *found.log_agents]:
        lines.append(f"# {rel}: a Loki or log agent config; the log flow needs apps that "
                     "write logs, see docs/logs.md.")
    for entry in found.unreadable:
        lines.append(f"# not read: {entry}")
    return lines
