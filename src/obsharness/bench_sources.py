"""`make bench`'s sources measure: monitoring code at kube-prometheus' scale (a
multi-document file of PrometheusRules, a ConfigMapList of dashboards) read by shape,
judged by promtool and checked statically, in a copy of the stack."""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from obsharness import dashboard_sources, dashboards, origins, rule_sources, toolchecks
from obsharness.grafana_vars import provisioned
from obsharness.stack.manifest import load_manifest


def _write_team_code(stack: Path, resources: int, boards: int) -> None:
    rules = [{"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
              "metadata": {"name": f"rules-{i}", "namespace": "monitoring"},
              "spec": {"groups": [{"name": f"group-{i}-{j}", "rules": [
                  {"alert": f"Alert{i}x{j}x{k}", "expr": f'up{{job="job-{k}"}} == 0',
                   "for": "5m", "labels": {"severity": "warning"}} for k in range(8)]}
                  for j in range(3)]}} for i in range(resources)]
    (stack / "k8s").mkdir()
    (stack / "k8s" / "rules.yaml").write_text(yaml.safe_dump_all(rules))
    board = json.loads((stack / "grafana" / "dashboards" / "system.json").read_text())
    items = []
    for i in range(boards):
        one = copy.deepcopy(board)
        one["uid"] = f"kube-{i}"
        items.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"d-{i}"},
                      "data": {f"d-{i}.json": json.dumps(one)}})
    (stack / "k8s" / "dashboards.yaml").write_text(yaml.safe_dump(
        {"apiVersion": "v1", "kind": "ConfigMapList", "items": items}))
    manifest = yaml.safe_load((stack / "stack.yaml").read_text())
    manifest["sources"] = {**(manifest.get("sources") or {}), "rules": ["k8s/rules.yaml"],
                           "dashboards": ["grafana/dashboards/*.json", "k8s/dashboards.yaml"]}
    (stack / "stack.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))


def measure_sources(stack_dir: Path, resources: int = 40, boards: int = 33) -> dict[str, Any]:
    """Seconds to extract the rules, have promtool judge them, read the dashboards and
    check them statically, with the counts each step saw."""
    with tempfile.TemporaryDirectory(prefix="obsharness-bench-sources-") as tmp:
        stack = Path(tmp) / "stack"
        shutil.copytree(stack_dir, stack, ignore=shutil.ignore_patterns(
            "__pycache__", "node_modules", "apps"))
        (stack / "apps").symlink_to(stack_dir / "apps")  # the manifest's build contexts
        _write_team_code(stack, resources, boards)
        manifest = load_manifest(stack / "stack.yaml")
        began = time.monotonic()
        try:
            rule_set = rule_sources.rule_set(manifest, Path(tmp) / "extracted")
            extracted = time.monotonic()
            judged = toolchecks.check_rules(rule_set.files)
            promtool = time.monotonic()
        finally:
            origins.forget(Path(tmp) / "extracted")
        found = dashboard_sources.boards(manifest).boards
        read = time.monotonic()
        datasources = provisioned(stack / "grafana" / "provisioning")
        errors, _ = dashboards.split([p for b in found for p in
                                      dashboards.static_problems(b, datasources)])
        checked = time.monotonic()
    return {
        "rules": sum(d.rules for f in rule_set.found for d in f.documents),
        "rule_documents": len(rule_set.extracted), "promtool_ok": judged.ok,
        "dashboards": len(found), "dashboard_errors": len(errors),
        "rules_extract_s": round(extracted - began, 3),
        "promtool_check_s": round(promtool - extracted, 3),
        "dashboards_read_s": round(read - promtool, 3),
        "dashboards_static_s": round(checked - read, 3),
    }
