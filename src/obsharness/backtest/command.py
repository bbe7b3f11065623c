"""`obsharness backtest --prometheus URL --range 7d [--rules GLOB] [--json FILE]
[--png FILE]`: how often each alerting rule would have fired over the server's
history, when and for how long; read only."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from obsharness.backtest import history, timeline
from obsharness.clients.prometheus import PrometheusClient
from obsharness.errors import ObsharnessError
from obsharness.timing import DurationError, parse_duration


def _rules(pattern: str | None, interval_s: float) -> list[history.AlertRule]:
    if pattern:
        paths = history.rule_paths(pattern)
        if not paths:
            raise ObsharnessError(f"--rules {pattern!r} matches no file")
        return history.load_rules(paths, interval_s)
    from obsharness import rule_sources
    from obsharness.stack.manifest import default_manifest_path, load_manifest

    manifest = load_manifest(default_manifest_path())
    with tempfile.TemporaryDirectory(prefix="obsharness-backtest-") as tmp:
        return history.load_rules(rule_sources.rule_set(manifest, Path(tmp)).files, interval_s)


def _duration_s(text: str) -> float:
    try:
        return parse_duration(text) / 1000
    except DurationError as exc:
        raise ObsharnessError(f"--range: {exc}") from None


def cmd_backtest(url: str, range_text: str, rules: str | None, json_path: Path | None,
                 png: Path | None, interval: str, end: float | None = None) -> int:
    end = end if end is not None else time.time()
    start = end - _duration_s(range_text)
    alert_rules = _rules(rules, _duration_s(interval))
    results = history.backtest(PrometheusClient(url), alert_rules, start, end)
    for result in results:
        agrees = {True: "; agrees with the server's ALERTS history",
                  False: "; DIFFERS from the server's ALERTS history", None: ""}[result.agrees]
        print(f"{result.rule.name}: would have fired {len(result.firings)} time(s) over "
              f"{range_text}{agrees}")
        for labelled in result.firings:
            firing = labelled.firing
            lasted = (f"for {format_span((firing.end or end) - firing.start)}"
                      + ("" if firing.end else ", still firing"))
            labels = {k: v for k, v in labelled.labels.items() if k != "alertname"}
            print(f"    {history.stamp(firing.start)} {lasted} {labels}")
    data = history.as_json(results)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(data, indent=2) + "\n")
    if png is not None:
        svg = timeline.draw(results, start, end, png)
        print(f"timeline: {png} (rows named in {svg})")
    return 0


def format_span(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return (f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s") if minutes or \
        hours else f"{secs}s"
