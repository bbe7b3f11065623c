"""`obsharness rules-elsewhere [--write]`: the rules that read series this stack cannot
have, each with the metric that is missing, as entries of the reach allowlist
(stack/prometheus/rules_elsewhere.yml). A team adding a 100-rule pack starts from a
generated list instead of typing 100 entries; each reason says what is missing and is
meant to be edited into why.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from obsharness import rule_reach
from obsharness.clients.prometheus import PrometheusClient
from obsharness.scenario import wait_for_targets
from obsharness.sinks.smtp import SmtpSink
from obsharness.sinks.webhook import WebhookSink
from obsharness.stack.manifest import Manifest, default_manifest_path, load_manifest
from obsharness.stack.process import ProcessStack
from obsharness.stack.render import rule_files_of


def entries(prometheus: PrometheusClient, rules: list[rule_reach.Rule],
            allowlist: dict[str, str]) -> list[dict[str, str]]:
    """One entry per rule that selects nothing here and is not allowed yet."""
    check = rule_reach.ReachCheck(prometheus, rules)
    found: dict[str, dict[str, str]] = {}
    for unreachable in rule_reach.unreachable_rules(prometheus, rules, allowlist):
        if unreachable.allowed_because or unreachable.rule.name in found:
            continue
        missing = check.missing_metrics(unreachable.rule)
        what = (f"reads {', '.join(missing)}, which no target of this stack exposes"
                if missing else f"selects nothing here: {unreachable.reason}")
        found[unreachable.rule.name] = {"rule": unreachable.rule.name,
                                        "reason": f"{what} (generated; say why)"}
    return list(found.values())


def write(path: Path, new: list[dict[str, str]]) -> None:
    """Adds the entries to the allowlist, keeping its comments and every entry it has."""
    text = path.read_text() if path.is_file() else ""
    data: dict[str, Any] = (yaml.safe_load(text) or {}) if text else {}
    kept = list(data.get("allow") or [])
    head = "".join(line for line in text.splitlines(keepends=True)
                   if line.startswith("#") or not line.strip())
    body = yaml.safe_dump({"allow": kept + new}, sort_keys=False, allow_unicode=True, width=100)
    path.write_text((head.rstrip() + "\n" if head.strip() else "") + body)


def _measure(manifest: Manifest, run_dir: Path) -> tuple[list[dict[str, str]], int]:
    with WebhookSink() as webhook, SmtpSink() as smtp, ProcessStack(
            manifest, run_dir, time_scale=60,
            sink_addresses={"alert-webhook": webhook.address, "mail-relay": smtp.address}
    ) as stack:
        prometheus = PrometheusClient(stack.url("prometheus"))
        wait_for_targets(prometheus, set(stack.rendered.scrape_jobs), timeout=60)
        time.sleep(3 * stack.rendered.timing.evaluation_interval_ms / 1000 + 1)
        rules = rule_reach.load_rules(rule_files_of(stack.rendered.configs["prometheus"]),
                                      stack.rendered.run_dir)
        allowlist = rule_reach.load_allowlist(manifest.stack_dir)
        return entries(prometheus, rules, allowlist), len(rules)


def cmd_rules_elsewhere(write_file: bool) -> int:
    manifest = load_manifest(default_manifest_path())
    with tempfile.TemporaryDirectory(prefix="obsharness-elsewhere-") as tmp:
        new, total = _measure(manifest, Path(tmp))
    path = manifest.stack_dir / rule_reach.ALLOWLIST
    for entry in new:
        print(f"  {entry['rule']}: {entry['reason']}")
    print(f"{len(new)} of {total} rules read series this stack does not have")
    if write_file and new:
        write(path, new)
        print(f"written to {path}: edit each reason into why the rule runs elsewhere")
    elif new:
        print("run with --write to add them to " + str(path), file=sys.stderr)
    return 0
