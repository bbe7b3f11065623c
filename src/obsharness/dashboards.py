"""Grafana dashboards checked without Grafana.

A dashboard whose panel queries a metric that does not exist is the most
common silent failure of a monitoring stack. Static checks run anywhere:
valid dashboard JSON, unique panel ids with a grid position, provisioned
datasource uids, defined template variables, a unit on every graph, and
PromQL that the real Prometheus parser (promtool) accepts. The live check
runs each Prometheus panel query, variables expanded per service, against a
running Prometheus and reports the panels that come back empty. Every
problem names the dashboard file, the panel title and the query.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from obsharness.clients.loki import LokiAPIError, LokiClient
from obsharness.clients.prometheus import PrometheusAPIError, PrometheusClient
from obsharness.errors import ConfigError
from obsharness.report import evidence
from obsharness.toolchecks import run_tool

GRAPH_TYPES = {"timeseries", "stat", "gauge", "bargauge", "barchart", "histogram"}
BUILTIN_VARIABLES = {"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s",
                     "__range_ms", "__dashboard", "__from", "__to", "__name", "__org",
                     "__user", "__all"}
_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")


@dataclass(frozen=True)
class PanelQuery:
    dashboard: Path
    panel: str
    datasource_type: str
    datasource_uid: str
    expr: str


@dataclass(frozen=True)
class Problem:
    dashboard: Path
    panel: str
    query: str
    message: str

    def __str__(self) -> str:
        query = f" (query: {self.query})" if self.query else ""
        return f"{self.dashboard}: panel '{self.panel}': {self.message}{query}"


def load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(component="grafana", path=path, line=exc.lineno, detail=exc.msg,
                          checked_with="JSON") from None
    if not isinstance(data, dict):
        raise ConfigError(component="grafana", path=path, detail="a dashboard is a JSON object")
    return data


def provisioned_datasources(provisioning_dir: Path) -> dict[str, str]:
    """uid -> type of every datasource in provisioning/datasources/*.yml."""
    found: dict[str, str] = {}
    for path in sorted((provisioning_dir / "datasources").glob("*.y*ml")):
        for source in (yaml.safe_load(path.read_text()) or {}).get("datasources") or []:
            found[str(source["uid"])] = str(source["type"])
    return found


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in collapsed rows."""
    for panel in dashboard.get("panels") or []:
        yield panel
        yield from panel.get("panels") or []


def queries(path: Path, dashboard: Mapping[str, Any]) -> list[PanelQuery]:
    found = []
    for panel in panels(dashboard):
        panel_ds = panel.get("datasource") or {}
        for target in panel.get("targets") or []:
            ds = target.get("datasource") or panel_ds
            found.append(PanelQuery(path, str(panel.get("title")), str(ds.get("type", "")),
                                    str(ds.get("uid", "")), str(target.get("expr", ""))))
    return found


def variables_used(text: str) -> set[str]:
    return {next(g for g in m.groups() if g) for m in _VARIABLE.finditer(text)}


def expand(expr: str, values: Mapping[str, str]) -> str:
    """Substitute Grafana variables ($x, ${x}, ${x:fmt}, [[x]]) with values."""
    def one(match: re.Match[str]) -> str:
        name = next(g for g in match.groups() if g)
        return values.get(name, match.group(0))

    return _VARIABLE.sub(one, expr)


def static_problems(path: Path, datasources: Mapping[str, str]) -> list[Problem]:
    """Everything that can be wrong with a dashboard without running a query."""
    dashboard = load(path)
    variables = (dashboard.get("templating") or {}).get("list") or []
    defined = {v.get("name") for v in variables}
    found = [Problem(path, panel, query, message) for panel, query, message in (
        *_dashboard_problems(dashboard),
        *_variable_problems(variables, datasources),
        *_panel_problems(dashboard),
    )]
    checked = queries(path, dashboard)
    for query in checked:
        found += [Problem(path, query.panel, query.expr, message)
                  for message in _query_problems(query, datasources, defined)]
    evidence.record("check", f"{path.name}: {len(list(panels(dashboard)))} panels, "
                    f"{len(checked)} queries, {len(found)} problem(s)",
                    [f"{q.panel}: {q.expr}" for q in checked])
    return found


def _dashboard_problems(dashboard: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    schema = dashboard.get("schemaVersion")
    if not isinstance(schema, int) or schema < 30:
        yield "(dashboard)", "", f"schemaVersion must be an integer >= 30, got {schema!r}"
    for key in ("uid", "title"):
        if not dashboard.get(key):
            yield "(dashboard)", "", f"missing {key}"


def _variable_problems(variables: list[dict[str, Any]],
                       datasources: Mapping[str, str]) -> Iterator[tuple[str, str, str]]:
    for variable in variables:
        uid = (variable.get("datasource") or {}).get("uid")
        if uid is not None and uid not in datasources:
            yield (f"(variable {variable.get('name')})", str(variable.get("definition", "")),
                   f"datasource uid '{uid}' is not provisioned")


def _panel_problems(dashboard: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    seen_ids: dict[Any, str] = {}
    for panel in panels(dashboard):
        title = str(panel.get("title"))
        if panel.get("id") in seen_ids:
            other = seen_ids[panel.get("id")]
            yield title, "", f"panel id {panel.get('id')} is also used by '{other}'"
        seen_ids[panel.get("id")] = title
        grid = panel.get("gridPos") or {}
        if not all(isinstance(grid.get(k), int) for k in ("x", "y", "w", "h")):
            yield title, "", f"gridPos needs integer x, y, w, h, got {grid}"
        unit = ((panel.get("fieldConfig") or {}).get("defaults") or {}).get("unit")
        if panel.get("type") in GRAPH_TYPES and not unit:
            yield title, "", "a graph needs a unit (fieldConfig.defaults.unit)"


def _query_problems(query: PanelQuery, datasources: Mapping[str, str],
                    defined: set[Any]) -> Iterator[str]:
    if query.datasource_uid not in datasources:
        yield (f"datasource uid '{query.datasource_uid}' is not provisioned "
               f"(provisioned: {', '.join(sorted(datasources))})")
    elif datasources[query.datasource_uid] != query.datasource_type:
        yield (f"datasource uid '{query.datasource_uid}' is a "
               f"{datasources[query.datasource_uid]}, not a {query.datasource_type}")
    undefined = variables_used(query.expr) - defined - BUILTIN_VARIABLES
    if undefined:
        yield f"undefined template variable(s) {', '.join(sorted(undefined))}"


# Values that make an expression parseable: a regex for multi-value variables.
PARSE_VALUES = {"__rate_interval": "1m", "__interval": "1m", "__range": "1h"}


def promql_problems(all_queries: Iterable[PanelQuery]) -> list[Problem]:
    """Parse every Prometheus query with promtool (the real parser), one rule file each."""
    problems = []
    with tempfile.TemporaryDirectory(prefix="obsharness-dash-") as tmp:
        for index, query in enumerate(q for q in all_queries if q.datasource_type == "prometheus"):
            expr = expand(query.expr, {**PARSE_VALUES, **_regex_values(query.expr)})
            rule_file = Path(tmp) / f"panel{index}.yml"
            rule_file.write_text(yaml.safe_dump(
                {"groups": [{"name": "panel", "rules": [{"record": "panel_check", "expr": expr}]}]}
            ))
            result = run_tool("promtool", ["check", "rules", str(rule_file)])
            if not result.ok:
                detail = result.output.splitlines()[-2:] if result.output else ["no output"]
                problems.append(Problem(query.dashboard, query.panel, query.expr,
                                        f"PromQL does not parse: {' '.join(detail).strip()}"))
    return problems


def _regex_values(expr: str) -> dict[str, str]:
    return {name: ".+" for name in variables_used(expr) if name not in PARSE_VALUES}


def live_problems(prometheus: PrometheusClient, all_queries: Iterable[PanelQuery],
                  services: Iterable[str], rate_interval: str) -> list[Problem]:
    """Each Prometheus panel query, expanded for every service it can show, must return data."""
    problems = []
    service_list = list(services)
    for query in all_queries:
        if query.datasource_type != "prometheus":
            continue
        per_service = "service" in variables_used(query.expr)
        for service in service_list if per_service else [""]:
            expr = expand(query.expr, {"__rate_interval": rate_interval, "service": service})
            try:
                empty = not prometheus.query(expr)
            except PrometheusAPIError as exc:
                problems.append(Problem(query.dashboard, query.panel, expr, f"query failed: {exc}"))
                continue
            if empty:
                who = f" for service {service}" if service else ""
                problems.append(Problem(query.dashboard, query.panel, expr,
                                        f"returns no data{who}"))
    return problems


_LOGQL_MATCHER = re.compile(r'([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')


def _selector_blocks(expr: str) -> Iterator[str]:
    """The `{...}` stream selectors of a LogQL query, skipping quoted text
    (line_format templates carry braces of their own)."""
    quote: str | None = None
    escaped = False
    start = -1
    for index, char in enumerate(expr):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = None
        elif char in "\"`":
            quote = char
        elif char == "{":
            start = index
        elif char == "}" and start >= 0:
            yield expr[start + 1:index]
            start = -1


def required_stream_labels(expr: str) -> set[str]:
    """Label names a LogQL query needs a stream to carry: its positive matchers.

    `label="x"` and `label=~"re"` (where re cannot match the empty string) only
    select streams that have the label; negative matchers select without it.
    """
    needed = set()
    for block in _selector_blocks(expr):
        for name, operator, value in _LOGQL_MATCHER.findall(block):
            if operator == "=" and value:
                needed.add(name)
            elif operator == "=~":
                try:
                    matches_empty = re.fullmatch(value, "") is not None
                except re.error:
                    matches_empty = False  # Loki will say what is wrong with it
                if not matches_empty:
                    needed.add(name)
    return needed


def live_loki_problems(loki: LokiClient, all_queries: Iterable[PanelQuery],
                       services: Iterable[str], since_ns: int,
                       interval: str = "1m") -> list[Problem]:
    """Each Loki panel query, expanded per service, against a running Loki.

    Three causes, each named: a label the log pipeline does not produce (the
    stream selector can never match), a query Loki refuses (its own parse
    error), and a query that returns nothing for a service under load.
    """
    problems = []
    service_list = list(services)
    in_loki = set(loki.labels())
    for query in all_queries:
        if query.datasource_type != "loki":
            continue
        absent = required_stream_labels(query.expr) - in_loki
        if absent:
            problems.append(Problem(
                query.dashboard, query.panel, query.expr,
                f"selects on label(s) {', '.join(sorted(absent))} that no stream in Loki "
                f"carries: the log pipeline does not produce them (labels in Loki: "
                f"{', '.join(sorted(in_loki))})"))
            continue
        per_service = "service" in variables_used(query.expr)
        for service in service_list if per_service else [""]:
            expr = expand(query.expr, {"__interval": interval, "__rate_interval": interval,
                                       "__auto": interval, "__range": interval,
                                       "service": service})
            try:
                size = loki.result_size(expr, start_ns=since_ns)
            except LokiAPIError as exc:
                problems.append(Problem(query.dashboard, query.panel, expr,
                                        f"Loki refused the query: {exc}"))
                break  # the same error for every service
            if not size:
                who = f" for service {service}" if service else ""
                problems.append(Problem(query.dashboard, query.panel, expr,
                                        f"returns no log lines{who}"))
    return problems


def dashboard_files(grafana_dir: Path) -> list[Path]:
    return sorted((grafana_dir / "dashboards").glob("*.json"))
