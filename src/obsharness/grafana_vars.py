"""Dashboard datasources and template variables, read the way Grafana reads them.

Dashboards from Grafana's catalogue pick their datasource through a
datasource variable (`"datasource": {"uid": "${ds_prometheus}"}` with a
variable of type `datasource`, query `prometheus`) and their hosts through
chained query variables (`label_values(node_uname_info{job="$job"}, instance)`).
Checking them means resolving what Grafana resolves:

- datasource references: a literal uid (or, in old dashboards, a name), a
  variable of type `datasource` (the provisioned datasources of its plugin
  type, filtered by its regex, the current value if it is one of them, else
  the type's default, else the first), Mixed, or Grafana's built-in ones;
- dashboards exported for sharing (`__inputs`, `${DS_PROMETHEUS}`): Grafana
  fills those only in its import dialog, which file provisioning never shows;
  that is one clear problem, with how to fix it;
- variables in order, each query expanded with the ones before it:
  `label_values(metric, label)`, `label_values(label)`, `label_names()`,
  `metrics(regex)`, `query_result(expr)` against Prometheus (and
  `label_values` against Loki); custom, constant, interval and textbox; the
  variable's regex; All and multi-value as Grafana's Prometheus datasource
  formats them (`(a|b)` with regex characters escaped, or the custom All).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from obsharness.clients.loki import LokiClient
from obsharness.clients.prometheus import PrometheusClient
from obsharness.grafana_formats import UnknownFormat, VariableValue, format_value

MIXED = {"-- Mixed --", "mixed"}
BUILT_IN = {"-- Grafana --", "grafana", "-- Dashboard --", "dashboard"}
_VARIABLE = re.compile(r"^\$\{(\w+)(?::\w+)?\}$|^\$(\w+)$|^\[\[(\w+)\]\]$")
_LABEL_VALUES = re.compile(
    r"^label_values\(\s*(?:(?P<selector>.+?)\s*,\s*)?(?P<label>[\w.]+)\s*\)$", re.S)
_LABEL_NAMES = re.compile(r"^label_names\(\s*(?P<selector>.*?)\s*\)$", re.S)
_METRICS = re.compile(r"^metrics\(\s*(?P<regex>.*?)\s*\)$", re.S)
_QUERY_RESULT = re.compile(r"^query_result\(\s*(?P<expr>.+)\s*\)$", re.S)


@dataclass(frozen=True)
class Datasource:
    uid: str
    name: str
    type: str
    is_default: bool = False


def provisioned(provisioning_dir: Path) -> list[Datasource]:
    """Every datasource in provisioning/datasources/*.yml, in file order."""
    found = []
    for path in sorted((provisioning_dir / "datasources").glob("*.y*ml")):
        for raw in (yaml.safe_load(path.read_text()) or {}).get("datasources") or []:
            found.append(Datasource(str(raw.get("uid", raw.get("name", ""))),
                                    str(raw.get("name", "")), str(raw["type"]),
                                    bool(raw.get("isDefault", False))))
    return found


class ExportedForSharing(Exception):
    """A `${DS_...}` of an `__inputs` export: only Grafana's import dialog fills it."""


@dataclass(frozen=True)
class Resolution:
    datasource: Datasource | None
    mixed: bool = False
    built_in: bool = False
    problem: str | None = None


def variable_name(text: str) -> str | None:
    match = _VARIABLE.match(text.strip())
    return next((g for g in match.groups() if g), None) if match else None


def _by_type(datasources: Sequence[Datasource], kind: str) -> list[Datasource]:
    return [d for d in datasources if d.type == kind]


def _regex_body(pattern: str) -> str:
    """A Grafana variable regex as Python reads it: `/body/flags` unwrapped, JavaScript's
    named groups `(?<name>` written `(?P<name>`."""
    body = pattern[1:pattern.rindex("/")] if pattern.startswith("/") and pattern.count("/") > 1 \
        else pattern
    return re.sub(r"\(\?<(\w+)>", r"(?P<\1>", body)


def _datasource_variable(variable: Mapping[str, Any], datasources: Sequence[Datasource]
                         ) -> Resolution:
    kind = str(variable.get("query") or "")
    candidates = _by_type(datasources, kind)
    pattern = str(variable.get("regex") or "").strip()
    if pattern:
        try:
            candidates = [d for d in candidates if re.search(_regex_body(pattern), d.name)]
        except re.error:
            return Resolution(None, problem=f"datasource variable ${variable.get('name')} has a "
                                            f"regex Python cannot read: {pattern}")
    if not candidates:
        return Resolution(None, problem=(
            f"datasource variable ${variable.get('name')} (type {kind or '?'}"
            f"{', regex ' + pattern if pattern else ''}) matches no provisioned datasource "
            f"(provisioned: {', '.join(f'{d.uid} ({d.type})' for d in datasources)})"))
    current = (variable.get("current") or {}).get("value")
    current = current[0] if isinstance(current, list) and current else current
    for candidate in candidates:  # the saved choice, if it is still one of them
        if current in (candidate.uid, candidate.name):
            return Resolution(candidate)
    default = next((d for d in candidates if d.is_default), None)
    return Resolution(default or candidates[0])


def resolve_datasource(ref: Any, variables: Mapping[str, Mapping[str, Any]],
                       datasources: Sequence[Datasource], inputs: Sequence[str] = ()
                       ) -> Resolution:
    """What a panel's or target's `datasource` names, as Grafana resolves it."""
    if ref is None or (isinstance(ref, dict) and not ref.get("uid")):
        # No datasource, or {"type": "prometheus"} alone: the default (of that type).
        kind = str(ref.get("type") or "") if isinstance(ref, dict) else ""
        same = _by_type(datasources, kind) if kind else list(datasources)
        chosen = next((d for d in same if d.is_default), same[0] if kind and same else None)
        return Resolution(chosen, problem=None if chosen else (
            f"no provisioned datasource of type {kind}" if kind else
            "no datasource given and none provisioned as the default"))
    text = str(ref.get("uid")) if isinstance(ref, dict) else str(ref)
    if text in MIXED or text in BUILT_IN:
        return Resolution(None, mixed=text in MIXED, built_in=text in BUILT_IN)
    name = variable_name(text)
    if name is None:
        return _literal(text, datasources)
    variable = variables.get(name)
    if variable is None:
        if name in inputs:
            raise ExportedForSharing(name)
        return Resolution(None, problem=f"datasource '{text}' names an undefined variable")
    if variable.get("type") != "datasource":
        return Resolution(None, problem=(f"datasource '{text}' names a {variable.get('type')} "
                                         f"variable, not a datasource variable"))
    return _datasource_variable(variable, datasources)


def _literal(text: str, datasources: Sequence[Datasource]) -> Resolution:
    for candidate in datasources:  # a uid, or a name as older dashboards wrote it
        if text in (candidate.uid, candidate.name):
            return Resolution(candidate)
    return Resolution(None, problem=(f"datasource uid '{text}' is not provisioned (provisioned: "
                                     f"{', '.join(sorted(d.uid for d in datasources))})"))


def variables_by_name(dashboard: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A dashboard's template variables by name, as references name them."""
    return {str(v.get("name")): v for v in (dashboard.get("templating") or {}).get("list") or []}


def inputs_of(dashboard: Mapping[str, Any]) -> list[str]:
    """The datasource inputs of a dashboard exported for sharing (DS_PROMETHEUS, ...)."""
    return [str(i.get("name")) for i in dashboard.get("__inputs") or []
            if i.get("type") == "datasource"]


# --- variables, resolved live ---------------------------------------------------------


@dataclass
class Resolved:
    """Every variable's options and the value a panel sees, in dashboard order."""

    options: dict[str, list[str]] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)  # as a query without a format sees it
    variables: dict[str, VariableValue] = field(default_factory=dict)  # for ${x:format}
    problems: dict[str, str] = field(default_factory=dict)  # variable -> why it has no value
    # Variables of a datasource this check was not given (Loki in a Prometheus check):
    # neither a problem nor resolved; the panels that use them are left out, and said so.
    unchecked: dict[str, str] = field(default_factory=dict)


class NotAskable(Exception):
    """The variable's datasource is one this check was not given a client for."""


def _query_text(variable: Mapping[str, Any]) -> str:
    query = variable.get("query")
    if isinstance(query, dict):
        query = query.get("query") or query.get("expr") or variable.get("definition")
    return str(query or variable.get("definition") or "").strip()


REFERENCE = re.compile(r"\$\{(\w+)(?::([^}]+))?\}|\$(\w+)|\[\[(\w+)(?::([^\]]+))?\]\]")


def expand(text: str, values: Mapping[str, str | VariableValue]) -> str:
    """Substitute Grafana variables ($x, ${x}, ${x:fmt:args}, [[x]], [[x:fmt]]) as Grafana
    writes them (grafana_formats); a plain string is written as it is; others stay."""
    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3) or match.group(4)
        spec = match.group(2) or match.group(5)
        value = values.get(name)
        if value is None:
            return match.group(0)
        if isinstance(value, str):
            return value
        if not spec:
            return format_value(value)
        fmt, *args = spec.split(":")
        try:
            return format_value(value, fmt, args)
        except UnknownFormat:  # Grafana logs it and falls back to glob
            return format_value(value, "glob")

    return REFERENCE.sub(one, text)


def _apply_regex(values: list[str], pattern: str) -> list[str]:
    """Grafana's variable regex: keep matches; a capture group (or `text`/`value`) is the value."""
    if not pattern:
        return values
    compiled = re.compile(_regex_body(pattern))
    kept = []
    for value in values:
        match = compiled.search(value)
        if not match:
            continue
        groups = match.groupdict()
        kept.append(groups.get("value") or groups.get("text") or
                    (match.group(1) if compiled.groups else value))
    return list(dict.fromkeys(kept))


def _prometheus_options(query: str, prometheus: PrometheusClient) -> list[str]:
    """A query variable's options, asked as Grafana's Prometheus datasource asks them."""
    if match := _LABEL_VALUES.match(query):
        return prometheus.label_values(match["label"], match["selector"] or None)
    if match := _LABEL_NAMES.match(query):
        return prometheus.label_names(match["selector"] or None)
    if match := _METRICS.match(query):
        pattern = re.compile(match["regex"] or ".*")
        return [n for n in prometheus.label_values("__name__") if pattern.search(n)]
    expr = match["expr"] if (match := _QUERY_RESULT.match(query)) else query
    lines = []
    for sample in prometheus.query(expr):  # query_result: one text line per series
        labels = dict(sample.labels)
        name = labels.pop("__name__", "")
        inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
        lines.append(f"{name}{{{inner}}} {sample.value:g} {sample.timestamp * 1000:.0f}")
    return lines


def _loki_options(query: str, loki: LokiClient) -> list[str]:
    match = _LABEL_VALUES.match(query)
    if match:
        return loki.label_values(match["label"], match["selector"] or None)
    if query.startswith("label_names"):
        return loki.labels()
    raise ValueError(f"a Loki variable query this check does not read: {query}")


def resolve_variables(dashboard: Mapping[str, Any], datasources: Sequence[Datasource], *,
                      prometheus: PrometheusClient | None, loki: LokiClient | None = None,
                      builtins: Mapping[str, str] | None = None) -> Resolved:
    """Every template variable, in order, each query expanded with the ones before it."""
    variables = (dashboard.get("templating") or {}).get("list") or []
    by_name = variables_by_name(dashboard)
    resolved = Resolved()
    known: dict[str, str | VariableValue] = dict(builtins or {})
    for variable in variables:
        name, kind = str(variable.get("name")), str(variable.get("type"))
        try:
            options = _options(variable, kind, known, by_name, datasources, prometheus, loki)
        except NotAskable as exc:
            resolved.unchecked[name] = str(exc)
            continue
        except Exception as exc:  # noqa: BLE001 - the datasource's own answer, kept for the report
            resolved.problems[name] = f"${name} could not be resolved: {exc}"
            continue
        if options is None:
            continue  # ad hoc filters and the like: nothing to substitute
        options = _apply_regex(options, str(variable.get("regex") or "")) if kind == "query" \
            else options
        resolved.options[name] = options
        if not options:
            query = expand(_query_text(variable), known)
            resolved.problems[name] = f"${name} resolves to no value ({kind} {query!r} returned " \
                                      f"nothing)"
            continue
        value = _value_for(variable, options)
        resolved.variables[name] = known[name] = value
        resolved.values[name] = format_value(value)
    return resolved


def _textbox(variable: Mapping[str, Any]) -> list[str]:
    current = (variable.get("current") or {}).get("value")
    return [str(current if current is not None else _query_text(variable))]


# Variables whose options are written in the dashboard itself.
_WRITTEN_OPTIONS = {
    "custom": lambda v: [part.split(" : ", 1)[-1].strip() for part in
                         re.split(r"(?<!\\),", _query_text(v)) if part.strip()],
    "constant": lambda v: [_query_text(v)],
    "interval": lambda v: [part.strip() for part in _query_text(v).split(",") if part.strip()],
    "textbox": _textbox,
}


def _options(variable: Mapping[str, Any], kind: str, known: Mapping[str, str | VariableValue],
             by_name: Mapping[str, Mapping[str, Any]], datasources: Sequence[Datasource],
             prometheus: PrometheusClient | None, loki: LokiClient | None) -> list[str] | None:
    if kind == "datasource":
        chosen = _datasource_variable(variable, datasources)
        if chosen.problem or chosen.datasource is None:
            raise ValueError(chosen.problem)
        return [chosen.datasource.uid]
    if kind in _WRITTEN_OPTIONS:
        return list(_WRITTEN_OPTIONS[kind](variable))
    if kind != "query":
        return None  # ad hoc filters and the like: nothing to substitute
    query = expand(_query_text(variable), known)
    source = resolve_datasource(variable.get("datasource"), by_name, datasources)
    kind_of_source = source.datasource.type if source.datasource else None
    if source.problem:
        raise ValueError(source.problem)
    if kind_of_source == "prometheus" and prometheus is not None:
        return _prometheus_options(query, prometheus)
    if kind_of_source == "loki" and loki is not None:
        return _loki_options(query, loki)
    raise NotAskable(f"${variable.get('name')} reads {kind_of_source or 'a Mixed or built-in'} "
                     f"datasource, which this check does not ask")


def _value_for(variable: Mapping[str, Any], options: list[str]) -> VariableValue:
    """The value a panel sees: All (custom or every option), the saved current, or the first."""
    current = (variable.get("current") or {}).get("value")
    currents = current if isinstance(current, list) else [current] if current else []
    name = str(variable.get("name"))
    multi, include_all = bool(variable.get("multi")), bool(variable.get("includeAll"))
    if include_all and (not currents or "$__all" in currents):
        custom = variable.get("allValue")
        return VariableValue(name, tuple(options), multi=multi, include_all=True, is_all=True,
                             all_value=str(custom) if custom else None, single=False)
    chosen = [c for c in currents if c in options]
    if chosen and multi:
        return VariableValue(name, tuple(chosen), multi=True, include_all=include_all,
                             single=False)
    return VariableValue(name, (chosen[0] if chosen else options[0],), multi=multi,
                         include_all=include_all)
