"""A private Alertmanager that answers behaviour tables: routes, inhibition, groups,
silences and time intervals are Alertmanager's own answers, never a Python model's.

One process per test session (per xdist worker) on 127.0.0.1 and a free port,
of the pinned version and with the feature flags the manifest gives the stack's
Alertmanager. Each table loads the config under test by a reload, posts its
alerts (and silences) through the API and reads the answers back from
/api/v2/alerts (receivers, inhibitedBy, silencedBy) and /api/v2/alerts/groups
(group labels, mutedBy).

What the loaded copy changes, and why none of it changes an answer:
- every receiver's integrations become one webhook to the judge's own sink on
  127.0.0.1: a table never pages anybody, and a delivered notification shows
  that a flush ran (time intervals are only judged at a flush);
- group_wait 0s and short group/repeat intervals on every route, so that flush
  comes at once; timings take no part in routing, grouping, inhibition or
  silencing;
- `global` and `templates` are dropped: only integrations read them;
- one inhibit rule of its own, between two sentinel alerts posted after the
  table's alerts. Alertmanager's inhibitor reads new alerts in the background,
  in order: once the sentinel pair shows inhibited, every alert before it has
  been read, so an inhibition is never missed by asking too early (a reload
  starts an empty inhibitor). Sentinels are left out of every answer.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
import yaml

from obsharness import am_matchers, binaries
from obsharness.config_files import load_yaml
from obsharness.errors import ComponentStartError, ConfigError, ObsharnessError
from obsharness.ports import free_port
from obsharness.sinks.webhook import WebhookSink
from obsharness.stack.executor import ProcessExecutor, tail
from obsharness.stack.manifest import Component

LOOPBACK = "127.0.0.1"
_ROUTE_TIMINGS = {"group_wait": "0s", "group_interval": "100ms", "repeat_interval": "100ms"}
_KEPT = ("route", "inhibit_rules", "time_intervals", "mute_time_intervals")
SENTINEL = "obsharness_judge"
_ROUND = "obsharness_judge_round"
_SENTINEL_RULE = {"source_matchers": [f'{SENTINEL}="source"'],
                  "target_matchers": [f'{SENTINEL}="target"'], "equal": [_ROUND]}


class JudgeError(ObsharnessError):
    """The private Alertmanager could not give an answer."""


@dataclass(frozen=True)
class Group:
    receiver: str
    labels: dict[str, str]
    muted_by: tuple[str, ...] = ()

    def describe(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(self.labels.items())) or "(all in one)"
        return f"{self.receiver}: {{{shown}}}"


@dataclass(frozen=True)
class Answer:
    """What Alertmanager says about one posted alert."""

    labels: dict[str, str]
    receivers: tuple[str, ...]
    inhibited_by: tuple[dict[str, str], ...] = ()  # the labels of the inhibiting alerts
    silenced_by: tuple[str, ...] = ()  # silence ids
    groups: tuple[Group, ...] = ()
    state: str = "active"

    @property
    def muted_by(self) -> tuple[str, ...]:
        """Time intervals that muted it at the last flush, over all its groups."""
        return tuple(sorted({name for g in self.groups for name in g.muted_by}))


def sanitized(config: Mapping[str, Any], sink_url: str) -> dict[str, Any]:
    """The config as the judge loads it (see the module docstring)."""
    out: dict[str, Any] = {key: config[key] for key in _KEPT if key in config}
    out["route"] = _timed(dict(config.get("route") or {}))
    out["inhibit_rules"] = [*(config.get("inhibit_rules") or []), _SENTINEL_RULE]
    out["receivers"] = [
        {"name": r["name"],
         "webhook_configs": [{"url": sink_url, "send_resolved": False}]}
        for r in config.get("receivers") or [] if isinstance(r, Mapping) and "name" in r
    ]
    return out


def _timed(route: dict[str, Any]) -> dict[str, Any]:
    route.update(_ROUTE_TIMINGS)
    route["routes"] = [_timed(dict(child)) for child in route.get("routes") or []]
    if not route["routes"]:
        del route["routes"]
    return route


def features_of(args: Iterable[str]) -> list[str]:
    """The --enable-feature values of an Alertmanager command line."""
    found: list[str] = []
    items = list(args)
    for i, arg in enumerate(items):
        value = None
        if arg.startswith("--enable-feature="):
            value = arg.split("=", 1)[1]
        elif arg == "--enable-feature" and i + 1 < len(items):
            value = items[i + 1]
        if value:
            found += [v.strip() for v in value.split(",") if v.strip()]
    return found


def component_features(component: Component) -> list[str]:
    """The --enable-feature values the manifest gives its Alertmanager, on either backend."""
    args = [*(component.process.args if component.process else ()),
            *(component.container.command if component.container else ())]
    return features_of(args)


def silence_matchers(text: str, mode: str = "fallback") -> list[dict[str, Any]]:
    """A silence's matchers as the API takes them, read as Alertmanager reads them."""
    return [{"name": name, "value": value, "isRegex": op in ("=~", "!~"),
             "isEqual": op in ("=", "=~")} for name, op, value in am_matchers.parse(text, mode)]


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class AlertmanagerJudge:
    """Start with `with AlertmanagerJudge() as judge:`; ask with `judge.answer(...)`."""

    features: Sequence[str] = ()
    workdir: Path | None = None
    _sink: WebhookSink | None = None
    _proc: ProcessExecutor | None = None
    _loaded: str = ""
    _posted: list[dict[str, Any]] = field(default_factory=list)
    _silences: list[str] = field(default_factory=list)
    _own_dir: bool = False
    _round: int = 0
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def mode(self) -> str:
        """The matcher parser its feature flags choose (am_matchers.mode_for)."""
        return am_matchers.mode_for(self.features)

    @property
    def url(self) -> str:
        assert self._proc is not None, "start() first"
        return f"http://{LOOPBACK}:{self._proc.port}"

    def __enter__(self) -> AlertmanagerJudge:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _start(self, config_text: str) -> None:
        binary = binaries.resolve("alertmanager")
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="obsharness-am-judge-"))
            self._own_dir = True
        self.workdir.mkdir(parents=True, exist_ok=True)
        for link, target in binary.cwd_links.items():
            (self.workdir / link).unlink(missing_ok=True)
            (self.workdir / link).symlink_to(target)
        config_file = self.workdir / "alertmanager.yml"
        config_file.write_text(config_text)
        port = free_port()
        argv = [str(binary.path), f"--config.file={config_file}",
                f"--storage.path={self.workdir / 'data'}",
                f"--web.listen-address={LOOPBACK}:{port}", "--cluster.listen-address="]
        if self.features:
            argv.append("--enable-feature=" + ",".join(self.features))
        proc = ProcessExecutor("alertmanager (judge)", argv, log_path=self.workdir / "log.txt",
                               port=port, ready_url=f"http://{LOOPBACK}:{port}/-/ready",
                               cwd=self.workdir)
        self._proc = proc
        proc.spawn()
        deadline = time.monotonic() + 30
        while not proc.poll_ready(self.session):
            if time.monotonic() > deadline:
                raise proc.timeout_error(30)
            time.sleep(0.02)
        self._loaded = config_text

    def close(self) -> None:
        if self._proc is not None:
            self._proc.stop()
            self._proc = None
        if self._sink is not None:
            self._sink.stop()
            self._sink = None
        if self._own_dir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
        self.session.close()

    def load(self, config_path: Path) -> None:
        """Make the config at `config_path` the one the judge answers for."""
        raw = load_yaml(config_path, "alertmanager") or {}
        if not isinstance(raw, dict):
            raise ConfigError(component="alertmanager", path=config_path,
                              detail="the top level is not a mapping")
        if self._sink is None:
            self._sink = WebhookSink(host=LOOPBACK).start()
        text = yaml.safe_dump(sanitized(raw, self._sink.url), sort_keys=False)
        if self._proc is None:
            try:
                self._start(text)
            except ComponentStartError as exc:
                # Alertmanager refused the config at start: the config's finding, in
                # Alertmanager's own words, not a component that failed.
                self._proc = None
                refused = re.findall(r'msg="error loading configuration file" err="(.*)"',
                                     exc.log_tail or "")
                raise ConfigError(component="alertmanager", path=config_path,
                                  detail=refused[-1].replace('\\"', '"') if refused else str(exc),
                                  checked_with="a private Alertmanager's start") from None
            return
        if text == self._loaded:
            return  # the config of the previous table: no reload
        assert self.workdir is not None
        (self.workdir / "alertmanager.yml").write_text(text)
        reply = self.session.post(f"{self.url}/-/reload", timeout=10)
        if reply.status_code != 200:
            raise ConfigError(component="alertmanager", path=config_path,
                              detail=reply.text.strip() or tail(self.workdir / "log.txt"),
                              checked_with="a private Alertmanager's reload")
        self._loaded = text

    def _check_alive(self) -> None:
        assert self._proc is not None
        try:
            self._proc.check_alive()
        except ObsharnessError as exc:
            self._proc = None
            raise JudgeError(f"the judging Alertmanager died: {exc}") from None

    def reset(self) -> None:
        """Resolve the previous table's alerts and expire its silences."""
        past = _stamp(datetime.now(UTC) - timedelta(milliseconds=10))
        if self._posted:
            resolved = [{**a, "endsAt": past} for a in self._posted]
            self.session.post(f"{self.url}/api/v2/alerts", json=resolved,
                              timeout=10).raise_for_status()
            self._posted = []
        for silence in self._silences:
            self.session.delete(f"{self.url}/api/v2/silence/{silence}", timeout=10)
        self._silences = []
        if self._sink is not None:
            self._sink.clear()
        deadline = time.monotonic() + 5
        while self._get("/api/v2/alerts"):
            if time.monotonic() > deadline:
                raise JudgeError("the judging Alertmanager still lists the previous "
                                 "table's alerts 5 s after they were resolved")
            time.sleep(0.02)

    def _get(self, path: str) -> list[dict[str, Any]]:
        reply = self.session.get(f"{self.url}{path}", timeout=10)
        reply.raise_for_status()
        data: list[dict[str, Any]] = reply.json()
        return data

    def answer(self, config_path: Path, alerts: Sequence[Mapping[str, str]], *,
               silences: Sequence[str] = (), flush: bool = False,
               timeout: float = 10.0) -> list[Answer]:
        """Post `alerts` together (after `silences`) and read Alertmanager's answers.

        With `flush`, wait until each alert's groups were flushed, so that their
        time intervals (mutedBy) are judged at this wall-clock time.
        """
        self.load(config_path)
        self._check_alive()
        self.reset()
        now = datetime.now(UTC)
        for text in silences:
            body = {"matchers": silence_matchers(text, self.mode), "startsAt": _stamp(now),
                    "endsAt": _stamp(now + timedelta(hours=1)),
                    "createdBy": "obsharness", "comment": "a behaviour table's silence"}
            reply = self.session.post(f"{self.url}/api/v2/silences", json=body, timeout=10)
            if reply.status_code != 200:
                raise JudgeError(f"Alertmanager refused the silence {text!r}: {reply.text.strip()}")
            self._silences.append(reply.json()["silenceID"])
        # Started a minute ago, so that reset() can resolve them a moment ago.
        self._post([self._alert(a, now, timedelta(hours=1)) for a in alerts])
        self._barrier()
        deadline = time.monotonic() + timeout
        while True:
            answers = self._read(alerts)
            waiting = self._unflushed(answers) if flush else []
            if answers is not None and not waiting:
                return answers
            if time.monotonic() > deadline:
                self._check_alive()
                what = ("; ".join(waiting) if waiting else
                        "not every posted alert is listed by /api/v2/alerts")
                raise JudgeError(f"no answer from the judging Alertmanager within "
                                 f"{timeout:.0f} s: {what}")
            time.sleep(0.02)

    @staticmethod
    def _alert(labels: Mapping[str, str], now: datetime, life: timedelta) -> dict[str, Any]:
        return {"labels": dict(labels), "annotations": {},
                "startsAt": _stamp(now - timedelta(minutes=1)), "endsAt": _stamp(now + life)}

    def _post(self, alerts: list[dict[str, Any]]) -> None:
        reply = self.session.post(f"{self.url}/api/v2/alerts", json=alerts, timeout=10)
        if reply.status_code != 200:
            raise JudgeError(f"Alertmanager refused the alerts: {reply.text.strip()}")
        self._posted += alerts

    def _barrier(self) -> None:
        """Return once the inhibitor has read every alert posted so far.

        Both sentinels live only a moment (their own endsAt), so that they
        inhibit nothing by the time the answers are read, whatever the config's
        own inhibit rules match, and never displace a table's alert as the one
        source Alertmanager keeps per rule and `equal` labels (it keeps the one
        that ends last). A round gone before the inhibitor read it only makes
        the next round live longer.
        """
        for life in (0.05, 0.2, 1.0, 4.0):
            self._round += 1
            now = datetime.now(UTC)
            ends = time.monotonic() + life
            self._post([self._alert({"alertname": "ObsharnessJudgeSentinel", SENTINEL: side,
                                     _ROUND: str(self._round)}, now,
                                    timedelta(seconds=life))
                        for side in ("source", "target")])
            while time.monotonic() < ends:
                if self._sentinel_inhibited():
                    time.sleep(max(0.0, ends - time.monotonic()) + 0.01)
                    return
                time.sleep(0.005)
        raise JudgeError("the judging Alertmanager's inhibitor did not read the posted alerts "
                         "within 4 s")

    def _sentinel_inhibited(self) -> bool:
        for alert in self._get("/api/v2/alerts"):
            labels = alert["labels"]
            if labels.get(SENTINEL) == "target" and labels.get(_ROUND) == str(self._round):
                return bool(alert["status"].get("inhibitedBy"))
        return False

    def _read(self, alerts: Sequence[Mapping[str, str]]) -> list[Answer] | None:
        listed = self._get("/api/v2/alerts")
        by_labels = {_key(a["labels"]): a for a in listed}
        if any(_key(a) not in by_labels for a in alerts):
            return None
        labels_of = {a["fingerprint"]: dict(a["labels"]) for a in listed}
        groups: dict[tuple[tuple[str, str], ...], list[Group]] = {}
        for group in self._get("/api/v2/alerts/groups"):
            for member in group["alerts"]:
                groups.setdefault(_key(member["labels"]), []).append(Group(
                    group["receiver"]["name"], dict(group["labels"]),
                    tuple(member["status"].get("mutedBy") or ())))
        answers = []
        for alert in alerts:
            got = by_labels[_key(alert)]
            status = got["status"]
            answers.append(Answer(
                labels=dict(alert),
                receivers=tuple(r["name"] for r in got["receivers"]),
                inhibited_by=tuple(labels_of.get(fp, {"fingerprint": fp})
                                   for fp in status.get("inhibitedBy") or ()),
                silenced_by=tuple(status.get("silencedBy") or ()),
                groups=tuple(groups.get(_key(alert), ())),
                state=status.get("state", "")))
        return answers

    def _unflushed(self, answers: list[Answer] | None) -> list[str]:
        """Alerts whose groups have not been flushed yet: neither delivered nor muted."""
        if answers is None or self._sink is None:
            return ["not listed yet"]
        delivered = {(n.payload.get("receiver"), _key(a.get("labels", {})))
                     for n in self._sink.notifications() for a in n.alerts}
        waiting = []
        for answer in answers:
            if answer.state == "suppressed":
                continue  # inhibited or silenced: suppressed before any time interval is asked
            for receiver in answer.receivers:
                group = [g for g in answer.groups if g.receiver == receiver]
                if not group:
                    waiting.append(f"{answer.labels}: no group for {receiver} yet")
                elif not any(g.muted_by for g in group) and \
                        (receiver, _key(answer.labels)) not in delivered:
                    waiting.append(f"{answer.labels}: {receiver} neither notified nor muted")
        return waiting


def _key(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))
