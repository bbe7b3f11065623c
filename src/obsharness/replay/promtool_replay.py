"""A team's promtool unit tests, replayed end to end through the running pipeline.

Each `alert_rule_test` of a test file is replayed from the test's own
`input_series` and `interval`: every expected alert must be firing in the real
Prometheus at its compressed `eval_time` (allowing one evaluation interval either
way), with exactly its `exp_labels`, and must reach the receivers the real
Alertmanager routes it to, with its `exp_annotations` as Prometheus rendered them.
`exp_alerts: []` must not fire. Exact timing stays promtool's proof; the replay
proves the whole path.

Each test goes through a pipeline of its own (replay/command.py): two tests' series,
inhibitions and notifications never mix.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from obsharness import rule_health
from obsharness.alertrouting import raw_config
from obsharness.clients.alertmanager import AlertmanagerClient
from obsharness.clients.http import APIError
from obsharness.clients.prometheus import PrometheusClient
from obsharness.errors import ConfigError
from obsharness.replay.notation import NotationError, Series, parse_series
from obsharness.replay.session import Replay
from obsharness.replay.targets import ReplayServer, group_targets
from obsharness.sinks.webhook import WebhookSink
from obsharness.timing import DurationError, TimeScaler, format_duration, parse_duration
from obsharness.waiting import WaitTimeout

DEFAULT_INTERVAL_MS = 60_000  # promtool's default evaluation_interval


@dataclass(frozen=True)
class AlertCheck:
    eval_ms: int
    alertname: str
    expected: tuple[tuple[tuple[str, str], ...], ...]  # label sets, sorted
    annotations: tuple[tuple[tuple[str, str], ...], ...]  # per expected alert


@dataclass
class Case:
    file: Path
    name: str
    interval_ms: int
    rows: list[Series]
    checks: list[AlertCheck]

    @property
    def metrics(self) -> set[str]:
        return {row.name for row in self.rows}

    @property
    def title(self) -> str:
        return f"{self.file.name}: {self.name}"


@dataclass
class Difference:
    file: str
    test: str
    alertname: str
    eval_time: str
    what: str

    def __str__(self) -> str:
        return f"{self.file}: test {self.test!r}, {self.alertname} at {self.eval_time}: {self.what}"


@dataclass
class Delivery:
    alertname: str
    labels: dict[str, str]
    receivers: list[str]  # where the real Alertmanager routed it
    delivered: list[str]  # where the webhook and mail receivers saw it arrive


@dataclass
class CaseResult:
    file: str
    test: str
    checks: int
    differences: list[Difference] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    seconds: float = 0.0


def _labels(raw: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), str(v)) for k, v in (raw or {}).items()))


def load_cases(files: Iterable[Path]) -> list[Case]:
    """The alert tests of promtool test files; a test without alert_rule_test is
    promtool's alone (recording rules, expressions) and is not replayed."""
    cases = []
    for path in files:
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(component="promtool tests", path=path, detail=str(exc),
                              checked_with="obsharness replay") from None
        try:
            default = parse_duration(str(data.get("evaluation_interval") or "1m"))
        except DurationError as exc:
            raise ConfigError(component="promtool tests", path=path,
                              detail=f"evaluation_interval: {exc}") from None
        for index, test in enumerate(data.get("tests") or []):
            if not test.get("alert_rule_test"):
                continue
            name = str(test.get("name") or f"tests[{index}]")
            try:
                cases.append(_case(path, name, test, default))
            except (NotationError, DurationError, KeyError, TypeError) as exc:
                raise ConfigError(component="promtool tests", path=path,
                                  detail=f"test {name!r}: {exc}",
                                  checked_with="obsharness replay") from None
    return cases


def _case(path: Path, name: str, test: Mapping[str, Any], default_ms: int) -> Case:
    interval = parse_duration(str(test["interval"])) if test.get("interval") else default_ms
    rows = [parse_series(str(s["series"]), str(s["values"]))
            for s in test.get("input_series") or []]
    group_targets(rows, prefix="check")  # what a scrape cannot serve is refused here
    checks = []
    for check in test["alert_rule_test"]:
        alerts = check.get("exp_alerts") or []
        checks.append(AlertCheck(
            parse_duration(str(check["eval_time"])), str(check["alertname"]),
            tuple(_labels(a.get("exp_labels")) for a in alerts),
            tuple(_labels(a.get("exp_annotations")) for a in alerts)))
    return Case(path, name, interval, rows, sorted(checks, key=lambda c: c.eval_ms))


@dataclass
class Pipeline:
    """The running stack a replay goes through."""

    prometheus: PrometheusClient
    alertmanager: AlertmanagerClient
    server: ReplayServer
    webhook: WebhookSink
    mailed: Callable[[str, float], list[str]]  # alertname, since -> recipients mailed
    scaler: TimeScaler
    evaluation_ms: int
    group_wait_ms: int
    group_interval_ms: int
    receivers: dict[str, dict[str, Any]]  # name -> receiver config
    external_labels: dict[str, str]
    per_second: frozenset[str] = frozenset()  # counters served slowed (replay/rates.py)
    run_dir: Path | None = None  # rendered copies, named as the stack's files they copy
    stack_dir: Path | None = None


def receivers_of(alertmanager_config: Path) -> dict[str, dict[str, Any]]:
    config = raw_config(alertmanager_config)
    return {str(r.get("name")): r for r in config.get("receivers") or []}


def _firing(pipeline: Pipeline, alertname: str, moment: float) -> set[tuple[tuple[str, str], ...]]:
    samples = pipeline.prometheus.query_at(
        f'ALERTS{{alertname="{alertname}",alertstate="firing"}}', moment)
    return {tuple(sorted((k, v) for k, v in s.labels.items()
                         if k not in ("__name__", "alertname", "alertstate")))
            for s in samples}


def _show(labels: Iterable[tuple[str, str]]) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in labels) + "}"


def run_case(case: Case, pipeline: Pipeline) -> CaseResult:
    began = time.time()
    result = CaseResult(str(case.file), case.name, len(case.checks))
    replay = Replay(pipeline.server, case.rows, case.interval_ms, pipeline.scaler,
                    name=case.title, per_second=pipeline.per_second)
    ei = pipeline.evaluation_ms / 1000
    routed: dict[tuple[str, tuple[tuple[str, str], ...]], set[str]] = {}
    rendered: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, str]] = {}
    watch = RouteWatch(pipeline.alertmanager).start()
    try:
        origin = replay.start()
        for check in case.checks:
            try:
                moments = _moments(replay, round(check.eval_ms / case.interval_ms), ei)
            except WaitTimeout as exc:
                result.differences.append(Difference(
                    str(case.file), case.name, check.alertname, format_duration(check.eval_ms),
                    f"this machine could not keep the replay's pace ({exc}); replay fewer "
                    "tests at once (--parallel) or at a lower --time-scale"))
                break
            expected = set(check.expected)
            seen = [_firing(pipeline, check.alertname, moment) for moment in moments]
            if expected not in seen:
                got = seen[1]
                result.differences.append(Difference(
                    str(case.file), case.name, check.alertname, format_duration(check.eval_ms),
                    f"expected firing {[_show(e) for e in sorted(expected)] or 'none'}, the "
                    f"real Prometheus had {[_show(g) for g in sorted(got)] or 'none'}"))
            for labels in expected & seen[1] if expected not in seen else expected:
                key = (check.alertname, labels)
                routed.setdefault(key, set())
                if key not in rendered:
                    rendered.update(_annotations(pipeline, check.alertname, labels))
            for labels, said in zip(check.expected, check.annotations, strict=True):
                shown = rendered.get((check.alertname, labels))
                for what in _annotation_differences(dict(said), shown, "Prometheus rendered"):
                    result.differences.append(Difference(
                        str(case.file), case.name, check.alertname,
                        format_duration(check.eval_ms), what))
        _check_deliveries(case, pipeline, routed, origin, result, watch)
        # Every replay also proves the rules evaluate cleanly on its data.
        for finding in rule_health.unhealthy(pipeline.prometheus, pipeline.run_dir,
                                              pipeline.stack_dir):
            result.differences.append(Difference(str(case.file), case.name, "rule health",
                                                 "end", finding))
    except WaitTimeout as exc:  # the first scrape never came, or a delivery wait ran out
        result.differences.append(Difference(
            str(case.file), case.name, "replay", "start",
            f"this machine could not keep the replay's pace ({exc}); replay fewer tests at "
            "once (--parallel) or at a lower --time-scale"))
    finally:
        watch.stop()
        replay.stop()
    result.seconds = time.time() - began
    return result


# Just before a sample's scrape: the state the last evaluation before it left.
BEFORE_S = 0.001


def _moments(replay: Replay, index: int, ei: float) -> list[float]:
    """When to read the alert's state for promtool's eval_time at sample `index`: after
    samples index-1, index and index+1 (one interval either way), and one evaluation
    after sample index's. Each is read where its slot begins on the replay's clock and
    where a scrape really served it: on a loaded machine a scrape comes late, so the
    state Prometheus produced for a sample lies between the two."""
    replay.wait_for_sample(index + 2)
    served = [replay.sample_wall(index + j + 1) - BEFORE_S for j in (-1, 0, 1)]
    slots = [replay.sample_slot(index + j + 1) - BEFORE_S for j in (-1, 0, 1)]
    # The state right after sample `index` comes first among equals in messages.
    return [served[1], served[0], served[2], served[1] + ei, *slots]


class RouteWatch:
    """Where the real Alertmanager routes each alert it holds, asked every 0.1 s while a
    test replays: an alert may reach it, and be resolved, between two checks."""

    def __init__(self, alertmanager: AlertmanagerClient) -> None:
        self.alertmanager = alertmanager
        self.seen: dict[tuple[tuple[str, str], ...], set[str]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="replay-routes", daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(0.1)

    def poll(self) -> None:
        try:
            held = self.alertmanager.alerts(active=True)
        except (APIError, OSError):
            return
        for alert in held:
            key = tuple(sorted(alert.get("labels", {}).items()))
            self.seen.setdefault(key, set()).update(
                str(r["name"]) for r in alert.get("receivers", []))

    def receivers(self, alertname: str, labels: Mapping[str, str]) -> set[str]:
        wanted = {"alertname": alertname, **labels}
        return {r for key, receivers in list(self.seen.items())
                if all(dict(key).get(k) == v for k, v in wanted.items()) for r in receivers}

    def start(self) -> RouteWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _check_deliveries(case: Case, pipeline: Pipeline,
                      routed: Mapping[tuple[str, tuple[tuple[str, str], ...]], set[str]],
                      origin: float, result: CaseResult, watch: RouteWatch) -> None:
    annotations = {(c.alertname, labels): dict(ann) for c in case.checks
                   for labels, ann in zip(c.expected, c.annotations, strict=True)}
    wait_s = (pipeline.group_wait_ms + pipeline.group_interval_ms) / 1000 + 2.0
    for alertname, labels in sorted(routed):
        wanted = dict(labels)
        delivered: set[str] = set()
        deadline = time.time() + wait_s
        receivers = watch.receivers(alertname, wanted)
        while not receivers and time.time() < deadline:
            # Firing in Prometheus: Alertmanager holds it once Prometheus has sent it.
            time.sleep(0.05)
            receivers = watch.receivers(alertname, wanted)
        webhook_targets = {r for r in receivers if pipeline.receivers.get(r, {}).get(
            "webhook_configs")}
        mail_targets = {str(e.get("to")) for r in receivers
                        for e in pipeline.receivers.get(r, {}).get("email_configs") or []}
        while True:
            # Arrived during this replay, whatever startsAt Alertmanager kept for the
            # label set (an earlier test's alert with the same labels may set it).
            matches = [m for m in pipeline.webhook.matches(alertname, status="firing",
                                                           labels=wanted)
                       if m.notification.received_at >= origin]
            delivered = {str(m.notification.payload.get("receiver")) for m in matches}
            mailed = set(pipeline.mailed(alertname, origin))
            if (webhook_targets <= delivered and mail_targets <= mailed) or time.time() > deadline:
                break
            time.sleep(0.05)
        result.deliveries.append(Delivery(alertname, wanted, sorted(receivers),
                                          sorted(delivered | {f"mail:{m}" for m in mailed})))
        eval_time = "delivery"
        if not receivers:
            result.differences.append(Difference(
                str(case.file), case.name, alertname, eval_time,
                f"{_show(labels)} fired, but the real Alertmanager held it for no receiver "
                "(never received, or already resolved when asked)"))
        for missing in sorted(webhook_targets - delivered):
            result.differences.append(Difference(
                str(case.file), case.name, alertname, eval_time,
                f"routed to {missing}, whose webhook never received {_show(labels)}"))
        for missing in sorted(mail_targets - mailed):
            result.differences.append(Difference(
                str(case.file), case.name, alertname, eval_time,
                f"routed to an email to {missing}, which never arrived"))
        said = annotations.get((alertname, labels)) or {}
        if said and matches:
            got = matches[0].alert.get("annotations", {})
            for what in _annotation_differences(said, got, "the notification says"):
                result.differences.append(Difference(
                    str(case.file), case.name, alertname, eval_time, what))


_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _annotations(pipeline: Pipeline, alertname: str, labels: tuple[tuple[str, str], ...]
                 ) -> dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, str]]:
    for alert in pipeline.prometheus.alerts():
        own = tuple(sorted((k, v) for k, v in alert.labels.items() if k != "alertname"))
        if alert.labels.get("alertname") == alertname and own == labels:
            return {(alertname, labels): dict(alert.annotations)}
    return {}


def _annotation_differences(expected: Mapping[str, str], got: Mapping[str, str] | None,
                            where: str) -> list[str]:
    """Each annotation's text must match with its numbers masked. The numbers are the
    value at one exact evaluation, promtool's proof: the replayed value moves on between
    the test's eval_time and the evaluation asked, and window functions extrapolate
    from samples the compressed clock places a little differently."""
    if not expected or got is None:
        return []
    found = []
    for key, text in expected.items():
        said = got.get(key)
        if said is None:
            found.append(f"annotation {key}: {where} none, the test expects {text!r}")
            continue
        if _NUMBER.sub("#", said) != _NUMBER.sub("#", text):
            found.append(f"annotation {key}: {where} {said!r}, the test expects {text!r}")
            continue
    return found


def as_json(results: Sequence[CaseResult]) -> dict[str, Any]:
    return {"tests": [asdict(r) for r in results],
            "differences": sum(len(r.differences) for r in results),
            "replayed": len(results)}
