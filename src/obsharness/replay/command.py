"""`obsharness replay [TEST_FILES...]`: the team's promtool tests, end to end.

Starts, for each alert test, a Prometheus and an Alertmanager of the stack's own
configs (no app: the series are the test's) with the harness's webhook and mail
receivers, replays the test through them and exits 1 on any difference. Writes
reports/replay.json, which the living documentation shows.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import sys
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import yaml

from obsharness import rule_sources, waiting
from obsharness.clients.alertmanager import AlertmanagerClient
from obsharness.clients.prometheus import PrometheusClient
from obsharness.errors import ObsharnessError, TimeCompressionMeaningWarning
from obsharness.replay import promtool_replay, rates
from obsharness.replay.targets import SD_DIR, ReplayServer
from obsharness.scenario import wait_for_targets
from obsharness.sinks.smtp import SmtpSink
from obsharness.sinks.webhook import WebhookSink
from obsharness.stack import secret_configs
from obsharness.stack.manifest import Manifest, default_manifest_path, load_manifest
from obsharness.stack.process import ProcessStack
from obsharness.timing import TimeScaler

PIPELINE = ("prometheus", "alertmanager")
# Pipelines at once: a Prometheus and an Alertmanager each, mostly idle between their
# compressed evaluations.
DEFAULT_PARALLEL = 8


def per_second_counters(prometheus: PrometheusClient) -> frozenset[str]:
    """The counters to serve slowed, from the rules the real Prometheus loaded; a counter
    read both per second and per window is named (replay/rates.py)."""
    found = rates.readings(rates.loaded_rules(prometheus.rules()))
    for metric, rules in sorted(found.conflicting.items()):
        warnings.warn(f"replay: {metric} is read per second (rate) and per window "
                      f"(increase) by {', '.join(sorted(rules))}: served as given, so its "
                      "rates run at the compressed clock's speed",
                      TimeCompressionMeaningWarning, stacklevel=2)
    return frozenset(found.scaled)


def default_test_files(manifest: Manifest) -> list[Path]:
    """The project's promtool tests: sources.rule_tests, else every *.test.yml beside
    the Prometheus config."""
    return rule_sources.rule_test_files(manifest)


def _pipeline_names(manifest: Manifest) -> list[str]:
    names = [c.name for c in manifest.components.values() if c.binary in PIPELINE]
    if {manifest.component(n).binary for n in names} != set(PIPELINE):
        raise ObsharnessError("a replay needs a Prometheus and an Alertmanager in the manifest")
    return names


@contextlib.contextmanager
def pipeline_for(manifest: Manifest, run_dir: Path, *, time_scale: float
                 ) -> Iterator[promtool_replay.Pipeline]:
    """A Prometheus and an Alertmanager of the stack's own configs, with receivers of
    their own: one replayed test cannot mix its series, inhibitions or notifications
    with another's."""
    names = _pipeline_names(manifest)
    prometheus_name = next(n for n in names if manifest.component(n).binary == "prometheus")
    am_name = next(n for n in names if manifest.component(n).binary == "alertmanager")
    am_config = secret_configs.config_path(manifest, manifest.component(am_name))
    with WebhookSink() as webhook, SmtpSink() as smtp:
        sinks = {"alert-webhook": webhook.address, "mail-relay": smtp.address}
        with ProcessStack(manifest, run_dir, time_scale=time_scale, sink_addresses=sinks,
                          only=names) as stack:
            prometheus = PrometheusClient(stack.url(prometheus_name))
            wait_for_targets(prometheus, set(stack.rendered.scrape_jobs), timeout=30)
            rendered = stack.rendered.configs[prometheus_name]
            config = yaml.safe_load(rendered.read_text()) or {}
            timing = stack.rendered.timing

            def mailed(alertname: str, since: float) -> list[str]:
                return [to for mail in smtp.received() if mail.received_at >= since
                        and (alertname in mail.subject or alertname in mail.text)
                        for to in mail.recipients]

            with ReplayServer(rendered.parent / SD_DIR) as server:
                yield promtool_replay.Pipeline(
                    prometheus, AlertmanagerClient(stack.url(am_name)), server, webhook,
                    mailed, TimeScaler(time_scale), timing.evaluation_interval_ms,
                    timing.group_wait_ms, timing.group_interval_ms,
                    promtool_replay.receivers_of(am_config),
                    {str(k): str(v) for k, v in ((config.get("global") or {}).get(
                        "external_labels") or {}).items()},
                    per_second_counters(prometheus), stack.run_dir, manifest.stack_dir)


def replay_files(files: Sequence[Path], *, time_scale: float, run_dir: Path,
                 manifest: Manifest, parallel: int = DEFAULT_PARALLEL,
                 ) -> list[promtool_replay.CaseResult]:
    """Each alert test through a pipeline of its own, `parallel` at a time."""
    cases = promtool_replay.load_cases(files)
    _pipeline_names(manifest)  # a clear error before anything starts

    def one(index: int) -> promtool_replay.CaseResult:
        case = cases[index]
        print(f"  ... replaying {case.title}", flush=True)
        with pipeline_for(manifest, run_dir / f"test-{index}", time_scale=time_scale) as pipe:
            return promtool_replay.run_case(case, pipe)

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        return list(pool.map(one, range(len(cases))))


def _refresh_report(reports_dir: Path) -> None:
    """The living documentation gains the replay's section (and its proof table the
    replayed column) when a run's results are there to rebuild it from."""
    from obsharness.report import diagrams, html
    from obsharness.report.results import RESULTS_FILE, RunResults

    if (reports_dir / RESULTS_FILE).is_file():
        html.write(RunResults.load(reports_dir), reports_dir, diagrams.all_diagrams())
        print(f"report: {reports_dir / 'index.html'} (with the replay's section)")


def cmd_replay(files: Sequence[str], *, time_scale: float, json_path: Path,
               parallel: int = DEFAULT_PARALLEL) -> int:
    manifest = load_manifest(default_manifest_path())
    paths = [Path(f) for f in files] or default_test_files(manifest)
    if not paths:
        print("no promtool test files (*.test.yml) to replay", file=sys.stderr)
        return 2
    waiting.set_progress(lambda line: print(f"  ... {line}", file=sys.stderr, flush=True))
    with tempfile.TemporaryDirectory(prefix="obsharness-replay-") as tmp:
        results = replay_files(paths, time_scale=time_scale, run_dir=Path(tmp),
                               manifest=manifest, parallel=parallel)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(promtool_replay.as_json(results), indent=2) + "\n")
    _refresh_report(json_path.parent)
    differences = [d for r in results for d in r.differences]
    for result in results:
        mark = "ok  " if not result.differences else "DIFF"
        routed = sorted({r for d in result.deliveries for r in d.receivers})
        print(f"{mark} {Path(result.file).name}: {result.test} ({result.checks} checks, "
              f"{result.seconds:.1f} s; delivered to {', '.join(routed) or 'no receiver'})")
        for difference in result.differences:
            print(f"       {difference}")
    print(f"{len(results)} alert tests replayed end to end, {len(differences)} "
          f"difference(s); written to {json_path}")
    return 1 if differences else 0
