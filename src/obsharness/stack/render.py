"""Render the stack's configs into a run directory.

The files under stack/ stay as deployed. A run gets copies in which service
addresses (`alertmanager:9093`) point at the backend's real addresses and,
when asked, every duration is compressed by the time scale. Sources are
checked with the tools' own validators first, so an error names the file a
person edits; rendered copies are checked again.
"""

from __future__ import annotations

import glob
import json
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from obsharness import (
    alertrouting,
    am_lint,
    am_matchers,
    config_files,
    dashboard_sources,
    loki_rules,
    origins,
    plain_durations,
    rule_sources,
    scrape_needs,
    toolchecks,
)
from obsharness.am_judge import component_features
from obsharness.binaries import resolve
from obsharness.errors import (
    BinaryNotFoundError,
    ConfigError,
    ManifestError,
    TimeCompressionFloorWarning,
    TimeCompressionMeaningWarning,
)
from obsharness.plain_durations import NotEquivalent, ScaledHorizon
from obsharness.replay import targets as replay_targets
from obsharness.rule_files import document as rule_document
from obsharness.stack import receivers, secret_configs
from obsharness.stack.manifest import Component, Manifest
from obsharness.timing import (
    MIN_INTERVAL_MS,
    DurationError,
    FloorApplied,
    TimeScaler,
    format_duration,
    parse_duration,
    promql_duration_ms,
    scale_promql,
)

DEFAULT_SCRAPE_INTERVAL_MS = 60_000  # Prometheus' default when the config sets none
DEFAULT_EVAL_INTERVAL_MS = 60_000
DEFAULT_GROUP_WAIT_MS = 30_000
DEFAULT_GROUP_INTERVAL_MS = 300_000
# Durations Prometheus takes on its command line: (default ms, floor in slowest
# scrape/evaluation intervals, why the floor). Unscaled, each kept production time
# in a compressed stack:
# - the lookback delta: a rule deleted on a reloaded stack answered for 5 wall minutes;
# - the resend delay: an alert firing at start-up reached Alertmanager a minute late,
#   and Alertmanager kept a vanished alert 4 wall minutes (4 resend delays);
# - the `for` state restored after a restart: its grace and outage tolerance.
PROMETHEUS_DURATION_FLAGS: dict[str, tuple[int, int, str]] = {
    "--query.lookback-delta": (
        300_000, 2, "a live series stays in view across two scrapes or evaluations"),
    "--rules.alert.resend-delay": (
        60_000, 1, "an alert is sent again no more often than it is evaluated"),
    "--rules.alert.for-grace-period": (
        600_000, 1, "the grace after a restart spans an evaluation"),
    "--rules.alert.for-outage-tolerance": (
        3_600_000, 1, "the tolerated outage spans an evaluation"),
}


@dataclass
class Timing:
    """The durations that matter for waiting on an alert, as rendered (ms)."""

    scrape_interval_ms: int = DEFAULT_SCRAPE_INTERVAL_MS
    evaluation_interval_ms: int = DEFAULT_EVAL_INTERVAL_MS
    group_wait_ms: int = DEFAULT_GROUP_WAIT_MS
    group_interval_ms: int = DEFAULT_GROUP_INTERVAL_MS
    alert_for_ms: dict[str, int] = field(default_factory=dict)
    alert_window_ms: dict[str, int] = field(default_factory=dict)
    slowest_evaluation_ms: int = 0  # of the groups with an interval of their own
    # Each scrape job's timeout as the team wrote it: a scrape that timed out below it
    # failed because of compression (quiet.py), not because the target would in production.
    production_timeout_ms: dict[str, int] = field(default_factory=dict)

    def floor_s(self, alert: str) -> float:
        """Least time from fault to notification the config allows:
        the rule's `for` + one scrape + one evaluation + group_wait."""
        total = (
            self.alert_for_ms[alert]
            + self.scrape_interval_ms
            + self.evaluation_interval_ms
            + self.group_wait_ms
        )
        return total / 1000

    def fire_deadline_s(self, alert: str) -> float:
        """Generous bound for a notification to arrive once the fault is in place.

        The window must fill enough to cross the threshold, `for` must pass, and
        an existing alert group may wait a whole group_interval.
        """
        ms = (
            self.alert_window_ms.get(alert, 0)
            + self.alert_for_ms[alert]
            + self.group_wait_ms
            + self.group_interval_ms
            + 4 * (self.scrape_interval_ms + self.evaluation_interval_ms)
        )
        return 1.5 * ms / 1000 + 5

    def quiet_period_s(self, alert: str) -> float:
        """How long a held condition certainly takes to notify: used to prove silence."""
        ms = (
            self.alert_window_ms.get(alert, 0)
            + self.alert_for_ms[alert]
            + self.group_wait_ms
            + 2 * (self.scrape_interval_ms + self.evaluation_interval_ms)
        )
        return ms / 1000

    def resolve_deadline_s(self, alert: str) -> float:
        ms = (
            self.alert_window_ms.get(alert, 0)
            + 2 * self.group_interval_ms
            + 4 * (self.scrape_interval_ms + self.evaluation_interval_ms)
        )
        return 1.5 * ms / 1000 + 5


@dataclass
class RenderedStack:
    run_dir: Path
    time_scale: float
    configs: dict[str, Path]
    timing: Timing
    floors: list[FloorApplied]
    scrape_jobs: list[str] = field(default_factory=list)
    # Plain-number durations: scaled with certainty, or left and reported.
    horizons: list[ScaledHorizon] = field(default_factory=list)
    not_equivalent: list[NotEquivalent] = field(default_factory=list)
    # Command-line flags the harness sets per component (Prometheus' scaled durations).
    flags: dict[str, dict[str, str]] = field(default_factory=dict)
    # The team's receivers' endpoints the sinks stand in for (stack/receivers.py).
    redirects: list[str] = field(default_factory=list)

    def argv(self, component: str, args: Sequence[str]) -> list[str]:
        """`args` with the harness's flags for `component` in place of the manifest's own."""
        flags = self.flags.get(component, {})
        kept: list[str] = []
        skip_value = False
        for arg in args:
            if skip_value:
                skip_value = False
                continue
            name = arg.split("=", 1)[0]
            if name in flags:
                skip_value = "=" not in arg
                continue
            kept.append(arg)
        return kept + [f"{name}={value}" for name, value in flags.items()]


def flag_value(args: Sequence[str], flag: str) -> str | None:
    """The value of `--flag=v` or `--flag v` in an argument list (the last one wins)."""
    value = None
    for index, arg in enumerate(args):
        if arg.startswith(flag + "="):
            value = arg.split("=", 1)[1]
        elif arg == flag and index + 1 < len(args):
            value = args[index + 1]
    return value


class _LiteralDumper(yaml.SafeDumper):
    """Keeps multi-line PromQL readable in rendered files."""


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_LiteralDumper.add_representer(str, _str_presenter)


def _load_yaml(path: Path, component: str) -> Any:
    return config_files.load_yaml(path, component)


def _write_yaml(path: Path, data: Any, source: Path, scale: float) -> None:
    header = (
        f"# Rendered by obsharness from {source} (time scale {scale:g}).\n"
        f"# Do not edit: change the source and run again.\n"
    )
    body = yaml.dump(data, Dumper=_LiteralDumper, sort_keys=False, width=1000)
    path.write_text(header + body)


def address_rewriter(
    addresses: Mapping[str, str], ports: Mapping[str, int]
) -> Callable[[str], str]:
    """Replace `service:containerport` with the backend's `host:port` in any string."""
    patterns = [
        (re.compile(rf"(?<![\w.-]){re.escape(name)}:{port}(?!\d)"), addresses[name])
        for name, port in ports.items()
        if name in addresses
    ]

    def rewrite(text: str) -> str:
        for pattern, replacement in patterns:
            text = pattern.sub(replacement, text)
        return text

    return rewrite


def _map_strings(data: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(data, str):
        return fn(data)
    if isinstance(data, list):
        return [_map_strings(item, fn) for item in data]
    if isinstance(data, dict):
        return {key: _map_strings(value, fn) for key, value in data.items()}
    return data


class _Renderer:
    def __init__(self, manifest: Manifest, scaler: TimeScaler, rewrite: Callable[[str], str],
                 absent: frozenset[str] = frozenset(),
                 extracted: Sequence[rule_sources.Found] = ()):
        self.manifest = manifest
        self.scaler = scaler
        self.rewrite = rewrite
        self.absent = absent
        # The manifest's rule sources, read once for validation and rendering alike.
        self.extracted = list(extracted)
        self.timing = Timing()
        # What each job was measured to need (scrape_needs.py): its timeout's floor.
        self.scrape_needs = scrape_needs.load(manifest.stack_dir)
        self.global_timeout_ms: int | None = None
        self.scrape_jobs: list[str] = []
        self.horizons: list[ScaledHorizon] = []
        self.not_equivalent: list[NotEquivalent] = []
        self.local_hosts: frozenset[str] = frozenset()
        self.sinks: dict[str, str] = {}  # "webhook"/"smtp" -> its address in this run
        self.redirects: list[str] = []

    def _drop_absent_targets(self, data: dict[str, Any]) -> None:
        """A partial stack scrapes only what runs: a target of an absent component would
        be down, and its ServiceDown alert would never let a scenario start."""
        if not self.absent:
            return
        kept = []
        for job in data.get("scrape_configs") or []:
            statics = job.get("static_configs")
            if statics is None:
                kept.append(job)
                continue
            for static in statics:
                static["targets"] = [t for t in static.get("targets", [])
                                     if str(t).rsplit(":", 1)[0] not in self.absent]
            job["static_configs"] = [s for s in statics if s["targets"]]
            if job["static_configs"]:
                kept.append(job)
        data["scrape_configs"] = kept

    def _scale_key(
        self, block: dict[str, Any], key: str, where: str, *, floor_ms: int = 0, reason: str = ""
    ) -> int | None:
        if block.get(key) is None:
            return None  # absent, or null (promtool reads it as unset)
        try:
            production = parse_duration(str(block[key]))
        except DurationError as exc:
            file, _, inside = where.partition(" ")
            raise ConfigError(component="prometheus", path=file,
                              detail=f"{inside or 'the config'}: {key}: {exc}") from None
        ms = self.scaler.scale_ms(production, floor_ms=floor_ms, where=f"{where}.{key}",
                                  reason=reason)
        block[key] = format_duration(ms)
        return ms

    # --- Prometheus -------------------------------------------------------
    def prometheus_config(self, data: dict[str, Any], where: str) -> None:
        self._drop_absent_targets(data)
        glob = data.setdefault("global", {}) or {}
        data["global"] = glob
        reason = "an interval stays above what the tools can honour"
        scrape = self._scale_key(glob, "scrape_interval", f"{where} global",
                                 floor_ms=MIN_INTERVAL_MS, reason=reason)
        if scrape is None:
            scrape = self.scaler.scale_ms(DEFAULT_SCRAPE_INTERVAL_MS, floor_ms=MIN_INTERVAL_MS)
            glob["scrape_interval"] = format_duration(scrape)
        evaluation = self._scale_key(glob, "evaluation_interval", f"{where} global",
                                     floor_ms=MIN_INTERVAL_MS, reason=reason)
        if evaluation is None:
            evaluation = self.scaler.scale_ms(DEFAULT_EVAL_INTERVAL_MS, floor_ms=MIN_INTERVAL_MS)
            glob["evaluation_interval"] = format_duration(evaluation)
        glob_timeout = glob.get("scrape_timeout")
        self._scale_timeout(glob, scrape)
        self.global_timeout_ms = parse_duration(str(glob["scrape_timeout"])) \
            if glob.get("scrape_timeout") else None
        slowest = scrape
        for job in data.get("scrape_configs") or []:
            name = str(job.get("job_name"))
            self.scrape_jobs.append(name)
            job_where = f"{where} scrape_configs[{name}]"
            interval = self._scale_key(job, "scrape_interval", job_where,
                                       floor_ms=MIN_INTERVAL_MS, reason=reason) or scrape
            production_timeout = parse_duration(str(job.get("scrape_timeout") or
                                                    glob_timeout or "10s"))
            self.timing.production_timeout_ms[name] = production_timeout
            self._scale_timeout(job, interval)
            interval = self._keep_scrape_need(job, name, interval, job_where,
                                              production_timeout)
            slowest = max(slowest, interval)
        self.timing.scrape_interval_ms = slowest
        self.timing.evaluation_interval_ms = evaluation

    def _keep_scrape_need(self, job: dict[str, Any], name: str, interval_ms: int,
                          where: str, production_timeout_ms: int) -> int:
        """A job whose scrapes were measured slower than its compressed timeout keeps
        a timeout of SCRAPE_MARGIN times its need (never above its production timeout),
        and its interval rises with it where needed (scrape_needs.py); returns the
        job's interval."""
        need = scrape_needs.floor_ms(self.scrape_needs.get(name))
        timeout = parse_duration(str(job["scrape_timeout"])) if job.get("scrape_timeout") \
            else min(interval_ms, self.global_timeout_ms or 10_000)
        floor = min(need, production_timeout_ms)
        if self.scaler.scale == 1 or floor <= timeout:
            return interval_ms
        raised = max(interval_ms, floor)
        self.scaler.floors.append(FloorApplied(
            f"{where}.scrape_timeout", format_duration(production_timeout_ms), timeout, floor,
            f"job {name} was measured answering in {self.scrape_needs[name]:g} s; its "
            f"timeout keeps {scrape_needs.SCRAPE_MARGIN:g} times that"
            + (f", and its interval rises to {format_duration(raised)} with it"
               if raised > interval_ms else "")))
        job["scrape_timeout"] = format_duration(floor)
        if raised > interval_ms:
            job["scrape_interval"] = format_duration(raised)
        return raised

    def _scale_timeout(self, block: dict[str, Any], interval_ms: int) -> None:
        if "scrape_timeout" in block:
            ms = self.scaler.scale_ms(parse_duration(str(block["scrape_timeout"])))
            # Prometheus rejects a timeout longer than the interval.
            block["scrape_timeout"] = format_duration(min(ms, interval_ms))

    def rule_file(self, data: dict[str, Any], where: str) -> None:
        scrape = self.timing.scrape_interval_ms
        for group in data.get("groups") or []:
            group_where = f"{where} group {group.get('name')}"
            evaluation = self._scale_key(
                group, "interval", group_where, floor_ms=MIN_INTERVAL_MS,
                reason="an interval stays above what the tools can honour",
            ) or self.timing.evaluation_interval_ms
            self.timing.slowest_evaluation_ms = max(self.timing.slowest_evaluation_ms,
                                                    evaluation)
            for rule in group.get("rules") or []:
                name = rule.get("alert") or rule.get("record")
                rule_where = f"{group_where} rule {name}"
                if "expr" in rule:
                    before = str(rule["expr"])
                    rule["expr"] = scale_promql(
                        before, self.scaler, scrape_interval_ms=scrape, where=rule_where
                    )
                    self._plain_durations(rule, before, rule_where)
                    if "alert" in rule:
                        self.timing.alert_window_ms[name] = _longest_range_ms(str(rule["expr"]))
                reason = "`for` keeps at least one evaluation interval"
                for_ms = self._scale_key(rule, "for", rule_where, floor_ms=evaluation,
                                         reason=reason)
                self._scale_key(rule, "keep_firing_for", rule_where, floor_ms=evaluation,
                                reason=reason)
                if "alert" in rule:
                    self.timing.alert_for_ms[name] = for_ms or 0

    def _plain_durations(self, rule: dict[str, Any], source: str, where: str) -> None:
        """Durations written as plain numbers: scaled where certain, reported where not."""
        if self.scaler.scale == 1:
            return  # production timing: every number keeps its meaning
        rule["expr"], scaled = plain_durations.scale_predict_linear(
            str(rule["expr"]), self.scaler.scale)
        self.horizons += [ScaledHorizon(where, old, new) for old, new in scaled]
        self.not_equivalent += [
            NotEquivalent(where, literal, f"is compared with the time difference {what}")
            for literal, what in plain_durations.time_comparisons(source)]

    # --- Alertmanager -----------------------------------------------------
    def alertmanager_config(self, data: dict[str, Any], where: str) -> None:
        glob = data.get("global") or {}
        self._scale_key(glob, "resolve_timeout", f"{where} global")
        route = data.get("route") or {}
        self._route(route, f"{where} route", top=True)

    def _route(self, route: dict[str, Any], where: str, *, top: bool) -> None:
        wait = self._scale_key(route, "group_wait", where)
        interval = self._scale_key(
            route, "group_interval", where, floor_ms=MIN_INTERVAL_MS,
            reason="an interval stays above what the tools can honour",
        )
        self._scale_key(route, "repeat_interval", where, floor_ms=interval or MIN_INTERVAL_MS,
                        reason="repeat_interval is at least group_interval")
        if top:
            if wait is None:
                wait = self.scaler.scale_ms(DEFAULT_GROUP_WAIT_MS)
            if interval is None:
                interval = self.scaler.scale_ms(DEFAULT_GROUP_INTERVAL_MS,
                                                floor_ms=MIN_INTERVAL_MS)
            self.timing.group_wait_ms = wait
            self.timing.group_interval_ms = interval
        for index, child in enumerate(route.get("routes") or []):
            self._route(child, f"{where}.routes[{index}]", top=False)


_RANGE_IN_EXPR = re.compile(r"\[([\w.]+)(?::[\w.]*)?\]")


def _longest_range_ms(expr: str) -> int:
    windows = []
    for text in _RANGE_IN_EXPR.findall(expr):
        try:
            windows.append(promql_duration_ms(text))
        except DurationError:
            continue  # not a range (a label value in brackets): promtool judges the expr
    return max(windows, default=0)


def validate_sources(manifest: Manifest,
                     found: list[rule_sources.Found] | None = None) -> None:
    """Check the deployable configs under stack/ with promtool and amtool (and Loki's and
    Promtail's own validators where their binaries are at hand), and the routing tree
    against the alert rules, before anything starts."""
    configs = [
        (comp, secret_configs.config_path(manifest, comp))
        for comp in manifest.components.values()
        # Alloy's syntax is not YAML; `alloy fmt` checks it where the binary exists.
        if comp.config and comp.config.endswith((".yml", ".yaml"))
    ]
    # Prometheus first: the routing check needs the rule files it loads.
    configs.sort(key=lambda pair: pair[0].binary != "prometheus")
    with tempfile.TemporaryDirectory(prefix="obsharness-sources-") as tmp:
        try:
            _validate(manifest, configs, Path(tmp), found)
        finally:
            origins.forget(Path(tmp))


def _validate(manifest: Manifest, configs: list[tuple[Component, Path]], extracted: Path,
              found: list[rule_sources.Found] | None) -> None:
    rule_files: list[Path] = []
    for comp, source in configs:
        data = _load_yaml(source, comp.name)  # YAML errors first: they name the line
        if comp.binary == "prometheus":
            files = _rule_files(source, data)
            for rule_file in files:
                _load_yaml(rule_file, comp.name)
            toolchecks.check_prometheus_config(source)
            # Rules kept in other shapes: promtool judges every extracted document (its
            # message names the file, which origins maps back to the team's).
            written = rule_sources.write(
                rule_sources.extract(manifest) if found is None else found, extracted)
            if written:
                toolchecks.check_rules(written)
            rule_files += files + written
            # Loki's ruler sends to the same Alertmanager: its alerts are routed too.
            for loki_file in loki_rules.files(manifest):
                loki_rules.read(loki_file)
                rule_files.append(loki_file)
        elif comp.binary == "alertmanager":
            features = component_features(comp)
            mode = am_matchers.mode_for(features)
            alertrouting.check(source, rule_files, only_source=comp.only_alert_source,
                               mode=mode)
            toolchecks.check_alertmanager_config(source, features)
            am_lint.enforce(source, mode)
        elif comp.binary in toolchecks.OPTIONAL_VALIDATORS and _have(comp.binary):
            toolchecks.OPTIONAL_VALIDATORS[comp.binary](source)


def _have(binary: str) -> bool:
    """Whether an optional component's binary is at hand (never installed for a check)."""
    try:
        resolve(binary, allow_install=False)
    except BinaryNotFoundError:
        return False
    return True


def rule_files_of(config_path: Path, data: dict[str, Any] | None = None) -> list[Path]:
    """The rule files a Prometheus config loads (its rule_files globs, expanded); `data`
    is the config already read, if the caller has it."""
    return _rule_files(config_path, data if data is not None else
                       _load_yaml(config_path, "prometheus"))


def _rule_files(config_path: Path, data: dict[str, Any]) -> list[Path]:
    """As Prometheus expands them: relative to the config's folder, or absolute (a
    deployed config's /etc/prometheus/rules/*.yml). Go's filepath.Glob reads `**` as
    `*`, as glob.glob does and Path.glob does not."""
    files: list[Path] = []
    for pattern in (data or {}).get("rule_files") or []:
        text = str(pattern) if Path(str(pattern)).is_absolute() else \
            str(config_path.parent / str(pattern))
        matches = glob.glob(text)  # noqa: PTH207 - Go's semantics, see above
        files.extend(sorted(Path(m) for m in matches if Path(m).is_file()))
    return files


def render_stack(
    manifest: Manifest,
    run_dir: Path,
    *,
    addresses: Mapping[str, str],
    time_scale: float,
    validate: bool = True,
    absent: frozenset[str] = frozenset(),
) -> RenderedStack:
    """Render every component's config tree into run_dir/<config dir>/; `absent`
    components (a partial stack) are not scraped."""
    # Read once: a rules source may run helm or evaluate a mixin.
    found = rule_sources.extract(manifest)
    if validate:
        validate_sources(manifest, found)
    scaler = TimeScaler(time_scale)
    rewrite = address_rewriter(addresses, manifest.service_ports())
    renderer = _Renderer(manifest, scaler, rewrite, absent, found)
    renderer.local_hosts = frozenset(receivers.host_of(a) for a in addresses.values())
    renderer.sinks = _sink_addresses(manifest, rewrite)
    configs: dict[str, Path] = {}
    # Prometheus first: rule windows depend on its scrape interval.
    ordered = sorted(manifest.components.values(), key=lambda c: c.binary != "prometheus")
    for comp in ordered:
        if comp.config:
            configs[comp.name] = _render_component(comp, manifest, run_dir, renderer)
    if validate:
        for name, path in configs.items():
            comp = manifest.component(name)
            if comp.binary == "prometheus":
                toolchecks.check_prometheus_config(path)
            elif comp.binary == "alertmanager":
                toolchecks.check_alertmanager_config(path, component_features(comp))
    flags = {comp.name: _prometheus_flags(comp, renderer.timing, scaler)
             for comp in manifest.components.values()
             if comp.binary == "prometheus" and time_scale != 1}
    flags.update({comp.name: _duration_flags(comp, LOKI_RULER_DURATION_FLAGS, scaler)
                  for comp in manifest.components.values()
                  if comp.binary == "loki" and time_scale != 1})
    for floor in scaler.floors:
        warnings.warn(str(floor), TimeCompressionFloorWarning, stacklevel=2)
    for different in renderer.not_equivalent:
        warnings.warn(str(different), TimeCompressionMeaningWarning, stacklevel=2)
    return RenderedStack(run_dir, time_scale, configs, renderer.timing, list(scaler.floors),
                         renderer.scrape_jobs, renderer.horizons, renderer.not_equivalent, flags,
                         renderer.redirects)


def _sink_addresses(manifest: Manifest, rewrite: Callable[[str], str]) -> dict[str, str]:
    """The run's receivers: the webhook sink (the one with a path) and the SMTP sink."""
    found: dict[str, str] = {}
    for sink in manifest.sinks.values():
        if sink.port in (25, 465, 587, 1025, 2525):
            found.setdefault("smtp", rewrite(f"{sink.name}:{sink.port}"))
        else:
            found.setdefault("webhook", rewrite(f"http://{sink.name}:{sink.port}{sink.path}"))
    return found


def _prometheus_flags(comp: Component, timing: Timing, scaler: TimeScaler) -> dict[str, str]:
    """Prometheus' own durations, set on its command line: the component's value (else
    Prometheus' default) scaled like every other duration, each above its floor."""
    interval = max(timing.scrape_interval_ms, timing.evaluation_interval_ms,
                   timing.slowest_evaluation_ms)
    return _duration_flags(comp, {flag: (default_ms, floor_of * interval, reason) for
                                  flag, (default_ms, floor_of, reason) in
                                  PROMETHEUS_DURATION_FLAGS.items()}, scaler)


# Loki's ruler (Cortex's): its own evaluation, file polling and resend durations.
LOKI_RULER_DURATION_FLAGS: dict[str, tuple[int, int, str]] = {
    "-ruler.evaluation-interval": (60_000, 1_000, "an interval stays above a second"),
    "-ruler.poll-interval": (60_000, 1_000, "an interval stays above a second"),
    "-ruler.resend-delay": (60_000, 1_000, "an alert is sent again at most every second"),
}


def _duration_flags(comp: Component, table: Mapping[str, tuple[int, int, str]],
                    scaler: TimeScaler) -> dict[str, str]:
    """A component's duration flags (its own value, else the default) scaled, each
    above its floor in milliseconds."""
    args = list(comp.process.args if comp.process else
                comp.container.command if comp.container else ())
    flags = {}
    for flag, (default_ms, floor_ms, reason) in table.items():
        given = flag_value(args, flag)
        try:
            production = parse_duration(given) if given else default_ms
        except ValueError as exc:
            raise ManifestError(f"{comp.name}: {flag}={given} in the manifest is not a "
                                f"duration: {exc}") from None
        flags[flag] = format_duration(scaler.scale_ms(
            production, floor_ms=floor_ms, where=f"{comp.name} {flag}", reason=reason))
    return flags


def _provision_dashboards(manifest: Manifest, source_dir: Path, folder: Path) -> None:
    """Dashboards kept elsewhere or in other shapes (ConfigMaps, operator resources,
    mixins, v1 resources) are written where Grafana's file provider reads, as the
    classic JSON it reads. JSON files of the component's own folder are already there,
    copied as they are. Schema v2 is not: the classic file provider does not read it
    (the visualisation scenario says so for each)."""
    target = folder / "obsharness-sources"
    written = 0
    for board in dashboard_sources.boards(manifest).boards:
        file = board.origin.file
        if file.suffix == ".json" and file.resolve().is_relative_to(source_dir.resolve()):
            continue
        if not board.file_provisioned:
            continue
        target.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", board.uid or "dashboard")[:60]
        (target / f"{written:03d}-{name}.json").write_text(
            json.dumps(board.data, indent=1), encoding="utf-8")
        written += 1


def _render_component(
    comp: Component, manifest: Manifest, run_dir: Path, renderer: _Renderer
) -> Path:
    assert comp.config is not None
    assert comp.config_dir is not None
    source_dir = manifest.stack_dir / comp.config_dir
    target_dir = run_dir / comp.config_dir
    if target_dir.exists():
        shutil.rmtree(target_dir)
    # Unit tests of rules stay behind: they are run on the sources, uncompressed.
    shutil.copytree(source_dir, target_dir, ignore=shutil.ignore_patterns("tests", "*.test.yml"))
    if comp.binary == "grafana":
        _provision_dashboards(manifest, source_dir, target_dir / "dashboards")
    if comp.binary == "loki":
        # The ruler reads <rules directory>/<tenant>/*: the manifest points Loki there.
        # Its alerts are waited for like Prometheus' (their `for` and LogQL window).
        default_ms, floor_ms, reason = LOKI_RULER_DURATION_FLAGS["-ruler.evaluation-interval"]
        evaluation_ms = renderer.scaler.scale_ms(default_ms, floor_ms=floor_ms, reason=reason,
                                                 where=f"{comp.name} ruler evaluation interval")
        loki_rules.render(manifest, source_dir, target_dir, renderer.scaler, evaluation_ms,
                          loki_rules.AlertTiming(renderer.timing.alert_for_ms,
                                                 renderer.timing.alert_window_ms))
    source = secret_configs.config_path(manifest, comp)  # a Secret's key, extracted
    target = run_dir / comp.config
    for sibling in secret_configs.siblings(source, manifest.stack_dir / comp.config):
        shutil.copy(sibling, target.parent / sibling.name)  # the Secret's templates
    if source.suffix not in (".yml", ".yaml"):
        # Not YAML (Alloy's River syntax): only the addresses are rewritten.
        target.write_text(renderer.rewrite(config_files.read_text(source, comp.name)))
        return target
    data = _map_strings(_load_yaml(source, comp.name), renderer.rewrite)
    rel = source.relative_to(manifest.stack_dir.parent)
    if comp.binary == "prometheus":
        renderer.prometheus_config(data, str(rel))
        # Series replay's targets (empty until a replay runs); never waited for at start.
        data["scrape_configs"] = [*(data.get("scrape_configs") or []),
                                  replay_targets.scrape_config()]
        (target_dir / replay_targets.SD_DIR).mkdir(exist_ok=True)
        for rule_source in _rule_files(source, data):
            if not rule_source.resolve().is_relative_to(source_dir.resolve()):
                raise ConfigError(
                    component=comp.name, path=source, checked_with="obsharness render",
                    detail=f"rule_files loads {rule_source}, outside {source_dir}: the "
                    f"harness renders compressed copies of the files under the config's "
                    f"folder; name it relative to it, or as a rules source in stack.yaml")
            rule_target = target_dir / rule_source.resolve().relative_to(source_dir.resolve())
            # Shape-checked (or promtool's own message), read once.
            rules = _map_strings(rule_document(rule_source), renderer.rewrite)
            renderer.rule_file(rules, str(rule_source.relative_to(manifest.stack_dir.parent)))
            _write_yaml(rule_target, rules, rule_source, renderer.scaler.scale)
        # Rules kept in other shapes are loaded as the plain files the harness extracts.
        extracted = rule_sources.write(renderer.extracted,
                                       target_dir / rule_sources.EXTRACTED_DIR)
        for rule_target in extracted:
            rules = _map_strings(rule_document(rule_target), renderer.rewrite)
            renderer.rule_file(rules, origins.display(rule_target))
            _write_yaml(rule_target, rules, rule_target, renderer.scaler.scale)
        if extracted:
            data["rule_files"] = [*(data.get("rule_files") or []),
                                  f"{rule_sources.EXTRACTED_DIR}/*.yml"]
    elif comp.binary == "alertmanager":
        renderer.alertmanager_config(data, str(rel))
        # A team's receivers name real endpoints: a run pages no one, off this machine.
        renderer.redirects += [str(r) for r in receivers.redirect(
            data, webhook_url=renderer.sinks.get("webhook"), smarthost=renderer.sinks.get("smtp"),
            local_hosts=renderer.local_hosts)]
    _write_yaml(target, data, source, renderer.scaler.scale)
    return target
