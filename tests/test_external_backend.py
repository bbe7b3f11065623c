"""The external backend, for real: the scenarios run against a stack this test
started and describes in an external YAML, as they would against a deployment."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from obsharness.errors import ManifestError
from obsharness.faults import ChaosClient, FaultError
from obsharness.sinks.smtp import SmtpSink
from obsharness.sinks.webhook import WebhookSink
from obsharness.stack.external import load_external
from obsharness.stack.manifest import Manifest, default_manifest_path, load_manifest
from obsharness.stack.process import ProcessStack
from tests.helpers import assert_all_gone

ROOT = Path(__file__).resolve().parent.parent


def test_external_config_errors_name_the_file(tmp_path: Path) -> None:
    manifest = load_manifest(default_manifest_path())
    bad = tmp_path / "external.yml"
    bad.write_text("components:\n  prometheus: http://127.0.0.1:1\n  tempo: http://x\n")
    with pytest.raises(ManifestError, match=f"{bad}: components tempo are not in the manifest"):
        load_external(bad, manifest)
    bad.write_text("components:\n  prometheus: http://127.0.0.1:1\n")
    with pytest.raises(ManifestError, match="components.alertmanager is required"):
        load_external(bad, manifest)
    bad.write_text("urls: {}\n")
    with pytest.raises(ManifestError, match="unknown key"):
        load_external(bad, manifest)


@pytest.mark.slow
def test_scenarios_run_against_a_described_stack(tmp_path: Path) -> None:
    manifest: Manifest = load_manifest(default_manifest_path())
    with WebhookSink() as webhook, SmtpSink() as smtp:
        deployed = ProcessStack(manifest, tmp_path / "deployed", time_scale=60,
                                sink_addresses={"alert-webhook": webhook.address,
                                                "mail-relay": smtp.address})
        with deployed:
            config = tmp_path / "external.yml"
            config.write_text(yaml.safe_dump({
                "time_scale": 60, "receivers_reachable": False,
                "components": {name: deployed.url(name) for name in deployed.components()}}))
            junit = tmp_path / "junit.xml"
            done = subprocess.run(
                [sys.executable, "-m", "pytest", "steps", "-p", "no:cacheprovider",
                 "--stack-backend=external", f"--external-config={config}",
                 f"--junitxml={junit}", f"--cucumberjson={tmp_path / 'c.json'}",
                 f"--run-dir={tmp_path / 'run'}", "-k",
                 "(stays_under and HighErrorRate) or resolved_notification_follows "
                 "or scrapes_every_target or (reaches_its_receivers and ServiceDown)"],
                cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
                # Staging's apps run with a chaos token; the gate is given the same one.
                env={**os.environ, "OBSHARNESS_CHAOS_TOKEN": str(deployed.chaos_token)})
            # Without the token, a fault is refused and the error names the variable ...
            with pytest.raises(FaultError, match=r"answered 403 .*OBSHARNESS_CHAOS_TOKEN"):
                ChaosClient("flask-app", deployed.url("flask-app")).inject(error_rate=0.5)
            # ... while a scenario that injects none runs as usual (a production gate).
            env = {k: v for k, v in os.environ.items() if k != "OBSHARNESS_CHAOS_TOKEN"}
            tokenless = subprocess.run(
                [sys.executable, "-m", "pytest", "steps", "-p", "no:cacheprovider", "-q",
                 "--stack-backend=external", f"--external-config={config}",
                 f"--run-dir={tmp_path / 'run2'}", f"--junitxml={tmp_path / 'j2.xml'}",
                 f"--cucumberjson={tmp_path / 'c2.json'}", "-k", "scrapes_every_target"],
                cwd=ROOT, capture_output=True, text=True, timeout=300, check=False, env=env)
            assert tokenless.returncode == 0, tokenless.stdout[-3000:]
            pids = deployed.pids()
    assert_all_gone(pids.values())
    outcomes = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        skipped = case.find("skipped")
        failed = case.find("failure") or case.find("error")
        outcomes[case.get("name")] = ("skipped: " + (skipped.get("message") or "")
                                      if skipped is not None else
                                      "failed" if failed is not None else "passed")
    assert done.returncode == 0, done.stdout[-4000:]
    passed = [n for n, o in outcomes.items() if o == "passed"]
    skipped = {n: o for n, o in outcomes.items() if o.startswith("skipped")}
    assert any("resolved" in n for n in passed), outcomes
    assert any("stays_under" in n for n in passed), outcomes
    assert any("scrapes_every_target" in n for n in passed), outcomes
    [crash] = [o for n, o in skipped.items() if "ServiceDown" in n]
    assert "external backend does not kill" in crash
