"""Backtesting: the rule manager's `for`/`keep_firing_for` agree with promtool on random
series (hypothesis), and `obsharness backtest` reads a real Prometheus whose history was
loaded with `promtool tsdb create-blocks-from openmetrics`."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from obsharness.backtest.engine import Firing, firings
from obsharness.binaries import resolve
from obsharness.ports import LOOPBACK, free_port
from obsharness.waiting import eventually

ROOT = Path(__file__).resolve().parents[1]


def test_for_and_keep_firing_for_as_the_rule_manager_counts_them() -> None:
    steps = [float(60 * k) for k in range(12)]
    on = [False, True, True, True, True, False, False, True, False, False, False, False]
    # for 2m: pending at 60, firing at 180 (180 - 60 >= 120), resolved at 300.
    assert firings(steps, on, for_s=120) == [Firing(180, 300)]
    # keep_firing_for 2m: still firing at 300 and 360 (first inactive 300), active again
    # at 420 (kept), inactive from 480: resolved at 600 (600 - 480 >= 120).
    assert firings(steps, on, for_s=120, keep_firing_for_s=120) == [Firing(180, 600)]
    assert firings(steps, [True] * 12, for_s=0) == [Firing(0, None)]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.booleans(), min_size=5, max_size=25), st.sampled_from([0, 60, 180]),
       st.sampled_from([0, 120]))
def test_backtest_agrees_with_promtool_on_when_the_alert_fires(
        active: list[bool], for_s: int, keep_s: int) -> None:
    steps = [float(60 * k) for k in range(len(active))]
    found = firings(steps, active, for_s=for_s, keep_firing_for_s=keep_s)

    def firing_at(t: float) -> bool:
        return any(f.start <= t and (f.end is None or t < f.end) for f in found)

    rule = {"alert": "Backtested", "expr": "x > 0", "for": f"{for_s}s"}
    if keep_s:
        rule["keep_firing_for"] = f"{keep_s}s"
    cases = [{"eval_time": f"{int(t)}s", "alertname": "Backtested",
              "exp_alerts": [{"exp_labels": {}}] if firing_at(t) else []} for t in steps]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "rules.yml").write_text(yaml.safe_dump(
            {"groups": [{"name": "g", "rules": [rule]}]}))
        (Path(tmp) / "t.test.yml").write_text(yaml.safe_dump({
            "rule_files": ["rules.yml"], "evaluation_interval": "1m",
            "tests": [{"interval": "1m", "input_series": [
                {"series": "x", "values": " ".join("1" if a else "0" for a in active)}],
                "alert_rule_test": cases}]}))
        done = subprocess.run([str(resolve("promtool").path), "test", "rules", "t.test.yml"],
                              cwd=tmp, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"{active} for {for_s}s keep {keep_s}s -> {found}:\n" \
                                 f"{done.stdout}{done.stderr}"


# --- a real Prometheus with history ----------------------------------------------------
@pytest.fixture
def history(tmp_path: Path) -> Iterator[tuple[str, float, float]]:
    """A Prometheus whose TSDB holds 3 hours of disk_free_ratio (one sample a minute) and
    the ALERTS history its rule really produced; yields (url, start, end)."""
    end = (time.time() // 60 - 5) * 60
    start = end - 3 * 3600
    lines = ["# TYPE disk_free_ratio gauge"]
    low = {(h, m) for h in ("db-1",) for m in range(60, 90)}  # 30 minutes under 0.1
    for minute in range(181):
        t = start + 60 * minute
        for host in ("db-1", "db-2"):
            value = 0.05 if (host, minute) in low else 0.5
            lines.append(f'disk_free_ratio{{instance="{host}"}} {value} {int(t)}')
    # What Prometheus itself recorded: firing from minute 70 (for: 10m) to 89.
    lines.append("# TYPE ALERTS gauge")
    for minute in range(70, 90):
        lines.append(f'ALERTS{{alertname="DiskAlmostFull",alertstate="firing",'
                     f'instance="db-1",severity="critical"}} 1 {int(start + 60 * minute)}')
    lines.append("# EOF")
    source = tmp_path / "history.om"
    source.write_text("\n".join(lines) + "\n")
    data = tmp_path / "tsdb"
    subprocess.run([str(resolve("promtool").path), "tsdb", "create-blocks-from", "openmetrics",
                    str(source), str(data)], check=True, capture_output=True, timeout=120)
    (tmp_path / "prometheus.yml").write_text("global: {scrape_interval: 1m}\n")
    port = free_port()
    with (tmp_path / "prometheus.log").open("w") as log:
        process = subprocess.Popen(
            [str(resolve("prometheus").path), f"--config.file={tmp_path / 'prometheus.yml'}",
             f"--storage.tsdb.path={data}", f"--web.listen-address={LOOPBACK}:{port}",
             "--storage.tsdb.retention.time=30d"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://{LOOPBACK}:{port}"
    try:
        eventually(lambda: requests.get(url + "/-/ready", timeout=2).status_code, lambda s: s == 200,
                   what="the history Prometheus ready", timeout=30)
        yield url, start, end
    finally:
        process.terminate()
        process.wait(timeout=10)


RULES = """\
groups:
  - name: disks
    rules:
      - alert: DiskAlmostFull
        expr: disk_free_ratio < 0.1
        for: 10m
        labels: {severity: critical}
"""


@pytest.mark.slow
def test_backtest_reads_a_real_history_and_compares_it_with_alerts(
        history: tuple[str, float, float], tmp_path: Path) -> None:
    url, start, _ = history
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    out, png = tmp_path / "backtest.json", tmp_path / "timeline.png"
    done = subprocess.run(
        [sys.executable, "-m", "obsharness.cli", "backtest", "--prometheus", url,
         "--range", "4h", "--rules", str(rules), "--json", str(out), "--png", str(png)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "DiskAlmostFull: would have fired 1 time(s) over 4h; agrees with the server's " \
           "ALERTS history" in done.stdout, done.stdout
    result = json.loads(out.read_text())["alerts"][0]
    assert result["alert"] == "DiskAlmostFull"
    assert result["agrees_with_alerts_history"] is True
    [firing] = result["firings"]
    assert firing["labels"] == {"instance": "db-1", "severity": "critical",
                                "alertname": "DiskAlmostFull"}
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + 70 * 60))
    # Firing from when it turned firing (pending from minute 60, for 10m), not pending.
    assert firing["start"] == stamp
    assert firing["end"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + 90 * 60))
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "DiskAlmostFull {instance=db-1, severity=critical}" in png.with_suffix(".svg").read_text()
