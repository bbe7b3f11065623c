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

import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from obsharness import dashboard_sources, grafana_vars
from obsharness.clients.loki import LokiAPIError, LokiClient
from obsharness.clients.prometheus import PrometheusAPIError, PrometheusClient
from obsharness.config_files import load_yaml
from obsharness.dashboard_sources import Board
from obsharness.errors import ConfigError
from obsharness.grafana_formats import VariableValue
from obsharness.grafana_vars import REFERENCE, Datasource, expand
from obsharness.report import evidence
from obsharness.timing import parse_duration
from obsharness.toolchecks import run_tool

GRAPH_TYPES = {"timeseries", "stat", "gauge", "bargauge", "barchart", "histogram", "graph"}
# Grafana's global variables (docs: "Global variables"), its query-editor macros that
# datasources expand, and the names data links and field overrides use.
BUILTIN_VARIABLES = {
    "__auto", "__dashboard", "__from", "__to", "__interval", "__interval_ms", "__name",
    "__org", "__user", "__range", "__range_s", "__range_ms", "__rate_interval",
    "__rate_interval_ms", "__timezone", "__timeFilter", "timeFilter", "__timeFrom", "__timeTo",
    "__timeGroup", "__timeGroupAlias", "__unixEpochFilter", "__unixEpochFrom", "__unixEpochTo",
    "__unixEpochGroup", "__unixEpochGroupAlias", "__searchFilter", "__value", "__field",
    "__series", "__data", "__url", "__url_time_range", "__all", "__cell", "__schema",
    "__table", "__column",
}


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
    # "" for what Grafana fails on or draws wrong or empty; else the advice rule's id,
    # as dashboard-linter names them, allowlisted per dashboard and panel.
    advice: str = ""

    def __str__(self) -> str:
        query = f" (query: {self.query})" if self.query else ""
        rule = f" [advice {self.advice}]" if self.advice else ""
        return f"{self.dashboard}: panel '{self.panel}': {self.message}{query}{rule}"


_SCALAR = (str, int, float, bool, type(None))
# Where a dashboard's checks look, and the JSON types Grafana needs there.
_PANEL_FIELDS: dict[str, tuple[type, ...]] = {
    "targets": (list, type(None)), "gridPos": (dict, type(None)),
    "fieldConfig": (dict, type(None)), "datasource": (str, dict, type(None)),
    "panels": (list, type(None)), "title": _SCALAR, "id": _SCALAR, "type": _SCALAR}
_VARIABLE_FIELDS: dict[str, tuple[type, ...]] = {
    "name": _SCALAR, "type": _SCALAR, "datasource": (str, dict, type(None)),
    "current": (dict, type(None)), "query": (str, dict, type(None), int, float),
    "regex": _SCALAR, "definition": _SCALAR}


def _shape_problem(data: dict[str, Any]) -> str | None:
    """The first place a dashboard has a JSON type Grafana cannot read there."""
    def fields(node: Any, where: str, spec: dict[str, tuple[type, ...]]) -> str | None:
        if not isinstance(node, dict):
            return f"{where} is a {type(node).__name__}, not an object"
        for key, kinds in spec.items():
            if not isinstance(node.get(key), kinds):
                return f"{where}.{key} is a {type(node.get(key)).__name__}"
        return None

    def listed(node: Any, where: str) -> str | None:
        return None if isinstance(node, (list, type(None))) else \
            f"{where} is a {type(node).__name__}, not a list"

    problem = listed(data.get("panels"), "panels")
    for i, panel in enumerate(data.get("panels") or [] if not problem else []):
        problem = problem or fields(panel, f"panels[{i}]", _PANEL_FIELDS)
        for j, inner in enumerate((panel.get("panels") or []) if not problem else []):
            problem = problem or fields(inner, f"panels[{i}].panels[{j}]", _PANEL_FIELDS)
        for j, target in enumerate((panel.get("targets") or []) if not problem else []):
            if not isinstance(target, dict):
                problem = problem or f"panels[{i}].targets[{j}] is not an object"
        if not problem and not isinstance(((panel.get("fieldConfig") or {}).get("defaults")),
                                          (dict, type(None))):
            problem = f"panels[{i}].fieldConfig.defaults is not an object"
    templating = data.get("templating")
    if not problem and not isinstance(templating, (dict, type(None))):
        problem = "templating is not an object"
    variables = (templating or {}).get("list") if not problem else None
    problem = problem or listed(variables, "templating.list")
    for i, variable in enumerate(variables or [] if not problem else []):
        problem = problem or fields(variable, f"templating.list[{i}]", _VARIABLE_FIELDS)
    inputs = data.get("__inputs")
    problem = problem or listed(inputs, "__inputs")
    if not problem and not all(isinstance(i, dict) for i in inputs or []):
        problem = "an entry of __inputs is not an object"
    return problem


def checked(board: Board) -> Board:
    """A board whose JSON types are those Grafana reads (else its file and the place)."""
    if problem := _shape_problem(board.data):
        raise ConfigError(component="grafana", path=board.origin.file, line=board.origin.line,
                          checked_with="dashboard JSON shape",
                          detail=f"{problem}: Grafana cannot show it"
                          + (f" (in {board.origin.where})" if board.origin.where else ""))
    return board


def boards_of(path: Path | Board) -> list[Board]:
    """The dashboards of a file in any shape (or the board itself), shape-checked."""
    if isinstance(path, Board):
        return [checked(path)]
    return [checked(b) for b in dashboard_sources.boards_in_file(path)[0]]


def load(path: Path) -> dict[str, Any]:
    """The one dashboard of a file, as the classic model Grafana migrates it to."""
    found = boards_of(path)
    if len(found) != 1:
        raise ConfigError(component="grafana", path=path,
                          detail=f"holds {len(found)} dashboards where one was expected")
    return found[0].data


def provisioned_datasources(provisioning_dir: Path) -> list[Datasource]:
    """Every datasource in provisioning/datasources/*.yml (uid, name, type, default)."""
    return grafana_vars.provisioned(provisioning_dir)


NO_PROVISIONING = ("no Grafana datasource provisioning in this repository ({folder}): the "
                   "dashboards' datasources are assumed to exist as they name them, one "
                   "default per type; provision them there to have every reference checked")


def _datasource_refs(node: Any) -> Iterator[tuple[str, str]]:
    """(type, uid) of every datasource a dashboard names, and the types its datasource
    variables ask for (uid '')."""
    if isinstance(node, dict):
        ref = node.get("datasource")
        if isinstance(ref, dict) and ref.get("type"):
            yield str(ref["type"]), str(ref.get("uid") or "")
        if node.get("type") == "datasource" and isinstance(node.get("query"), str):
            yield str(node["query"]), ""
        for value in node.values():
            yield from _datasource_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _datasource_refs(item)


def datasources_for(provisioning_dir: Path, boards: Sequence[Board]
                    ) -> tuple[list[Datasource], str | None]:
    """The provisioned datasources; where the repository provisions none (a team whose
    datasources live in Grafana itself), the ones its dashboards name, with advice that
    says so: an unknown is not a finding."""
    provisioned = provisioned_datasources(provisioning_dir)
    if provisioned or (provisioning_dir / "datasources").is_dir():
        return provisioned, None
    assumed: dict[str, Datasource] = {}
    for board in boards:
        for kind, uid in _datasource_refs(board.data):
            if uid and not uid.startswith("$") and uid not in assumed:
                assumed[uid] = Datasource(uid, uid, kind)
            default = f"assumed-{kind}"
            if default not in assumed:
                assumed[default] = Datasource(default, default, kind, is_default=True)
    return list(assumed.values()), NO_PROVISIONING.format(folder=provisioning_dir)


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in collapsed rows."""
    for panel in dashboard.get("panels") or []:
        yield panel
        yield from panel.get("panels") or []


def queries(path: Path, dashboard: Mapping[str, Any],
            datasources: Sequence[Datasource] | None = None) -> list[PanelQuery]:
    """Every panel target's query; with `datasources`, each names the datasource Grafana
    would send it to (variables resolved, a target's own or its panel's)."""
    found = []
    variables = grafana_vars.variables_by_name(dashboard)
    inputs = grafana_vars.inputs_of(dashboard)
    for panel in panels(dashboard):
        panel_ds = panel.get("datasource") or {}
        for target in panel.get("targets") or []:
            ref = target.get("datasource") or panel.get("datasource")
            kind, uid = _raw_ref(ref or panel_ds)
            if datasources is not None:
                try:
                    chosen = grafana_vars.resolve_datasource(ref, variables, datasources, inputs)
                except grafana_vars.ExportedForSharing:
                    chosen = grafana_vars.Resolution(None)
                if chosen.datasource is not None:
                    kind, uid = chosen.datasource.type, chosen.datasource.uid
            found.append(PanelQuery(path, str(panel.get("title")), kind, uid,
                                    str(target.get("expr", ""))))
    return found


def _raw_ref(ref: Any) -> tuple[str, str]:
    if isinstance(ref, dict):
        return str(ref.get("type", "")), str(ref.get("uid", ""))
    return "", str(ref or "")


def variables_used(text: str) -> set[str]:
    return {next(g for g in m.groups() if g) for m in REFERENCE.finditer(text)}


def static_problems(path: Path | Board, datasources: Sequence[Datasource]) -> list[Problem]:
    """Everything that can be wrong with a dashboard (every dashboard of a file in any
    shape) without running a query: errors, and advice marked as such."""
    return [p for board in boards_of(path) for p in _board_problems(board, datasources)]


def _board_problems(board: Board, datasources: Sequence[Datasource]) -> list[Problem]:
    dashboard, label = board.data, board.label
    variables = (dashboard.get("templating") or {}).get("list") or []
    defined = {v.get("name") for v in variables}
    found = [Problem(label, panel, query, message, advice) for panel, query, message, advice in (
        *_dashboard_problems(board),
        *((*p, "") for p in _variable_problems(dashboard, datasources)),
        *_panel_problems(dashboard),
        *((*p, "") for p in _datasource_problems(dashboard, datasources)),
    )]
    checked_queries = queries(label, dashboard, datasources)
    for query in checked_queries:
        undefined = variables_used(query.expr) - defined - BUILTIN_VARIABLES
        if undefined:
            found.append(Problem(label, query.panel, query.expr,
                                 f"undefined template variable(s) {', '.join(sorted(undefined))}"))
    if board.library_panels:  # their queries live in Grafana's database, not in the file
        found.append(Problem(label, "(dashboard)", "", (
            f"library panel(s) {', '.join(board.library_panels)}: their queries are kept in "
            f"Grafana, so only a running Grafana can check them"), "library-panel"))
    evidence.record("check", f"{label} ({board.shape}): {len(list(panels(dashboard)))} panels, "
                    f"{len(checked_queries)} queries, {len(found)} finding(s)",
                    [f"{q.panel}: {q.expr}" for q in checked_queries])
    return found


def _datasource_problems(dashboard: Mapping[str, Any], datasources: Sequence[Datasource]
                         ) -> Iterator[tuple[str, str, str]]:
    """Each panel's datasource must exist as Grafana resolves it, and its targets' must
    agree with it unless the panel is Mixed. An export's `${DS_...}` is one problem."""
    variables, inputs = grafana_vars.variables_by_name(dashboard), grafana_vars.inputs_of(dashboard)
    exported: dict[str, int] = {}
    for variable in variables.values():  # query variables name the input too
        ref = variable.get("datasource")
        text = str(ref.get("uid") or "") if isinstance(ref, dict) else str(ref or "")
        name = grafana_vars.variable_name(text)
        if name in inputs and name not in variables:
            exported[name] = exported.get(name, 0) + 1
    for panel in panels(dashboard):
        targets = panel.get("targets") or []
        if not targets:
            continue  # rows, text panels: no query, no datasource to check
        title = str(panel.get("title"))
        try:
            own = grafana_vars.resolve_datasource(panel.get("datasource"), variables,
                                                  datasources, inputs)
        except grafana_vars.ExportedForSharing as exc:
            exported[str(exc.args[0])] = exported.get(str(exc.args[0]), 0) + 1
            continue
        if own.problem and panel.get("datasource") is not None:
            yield title, "", own.problem
            continue
        for target in targets:
            if target.get("datasource") is None:
                continue
            try:
                theirs = grafana_vars.resolve_datasource(target["datasource"], variables,
                                                         datasources, inputs)
            except grafana_vars.ExportedForSharing as exc:
                exported[str(exc.args[0])] = exported.get(str(exc.args[0]), 0) + 1
                continue
            expr = str(target.get("expr", ""))
            if theirs.problem:
                yield title, expr, theirs.problem
            elif (panel.get("datasource") is not None and not own.mixed and own.datasource
                  and theirs.datasource and theirs.datasource.uid != own.datasource.uid):
                yield title, expr, (
                    f"target {target.get('refId', '?')} names datasource "
                    f"'{theirs.datasource.uid}' but its panel's is '{own.datasource.uid}': "
                    f"Grafana sends a target to the panel's datasource unless the panel is Mixed")
    if exported:
        names = ", ".join(f"${{{n}}}" for n in sorted(exported))
        kinds = sorted({d.type for d in datasources})
        yield "(dashboard)", "", (
            f"exported for sharing: {sum(exported.values())} reference(s) to {names}, inputs "
            f"that only Grafana's import dialog fills and file provisioning never does. Replace "
            f"each with a provisioned uid ({', '.join(sorted(d.uid for d in datasources))}) or "
            f"with a datasource variable (templating type datasource, query one of "
            f"{', '.join(kinds)}), then provision it")


def _dashboard_problems(board: Board) -> Iterator[tuple[str, str, str, str]]:
    schema = board.schema_version
    if board.resource is None or "schemaVersion" in board.data:
        if schema is not None and (not isinstance(schema, int) or isinstance(schema, bool)):
            yield "(dashboard)", "", f"schemaVersion must be an integer, got {schema!r}", ""
        elif isinstance(schema, int) and schema < dashboard_sources.MIN_SCHEMA_VERSION:
            yield "(dashboard)", "", (
                f"schemaVersion {schema} is older than Grafana migrates (its migrations start "
                f"at {dashboard_sources.MIN_SCHEMA_VERSION}): re-export it from a Grafana that "
                f"still reads it"), ""
    if not board.data.get("title"):
        yield "(dashboard)", "", ("missing title: Grafana refuses to save a dashboard "
                                  "without one"), ""
    if not board.data.get("uid"):
        yield "(dashboard)", "", ("no uid: Grafana's file provisioning makes one up, so links "
                                  "to the dashboard change between installs"), "dashboard-uid"


def _variable_problems(dashboard: Mapping[str, Any], datasources: Sequence[Datasource]
                       ) -> Iterator[tuple[str, str, str]]:
    variables, inputs = grafana_vars.variables_by_name(dashboard), grafana_vars.inputs_of(dashboard)
    for name, variable in variables.items():
        if variable.get("type") == "datasource":
            chosen = grafana_vars.resolve_datasource(
                {"uid": f"${{{name}}}"}, variables, datasources, inputs)
        elif variable.get("type") == "query" and variable.get("datasource") is not None:
            try:
                chosen = grafana_vars.resolve_datasource(variable["datasource"], variables,
                                                         datasources, inputs)
            except grafana_vars.ExportedForSharing:
                continue  # reported once for the dashboard
        else:
            continue
        if chosen.problem:
            yield f"(variable {name})", str(variable.get("definition", "")), chosen.problem


_FIXED_RATE_RANGE = re.compile(r"\b(?:rate|irate|increase)\s*\([^\[]*\[\s*\d+[smhdwy]\s*\]")


def _panel_problems(dashboard: Mapping[str, Any]) -> Iterator[tuple[str, str, str, str]]:
    """Advice only, as dashboard-linter gives it: Grafana draws each of these panels
    (it gives a panel without gridPos a default place and duplicate ids new ones)."""
    seen_ids: dict[Any, str] = {}
    for panel in panels(dashboard):
        title = str(panel.get("title"))
        if panel.get("id") is not None and panel.get("id") in seen_ids:
            other = seen_ids[panel.get("id")]
            yield title, "", f"panel id {panel.get('id')} is also used by '{other}'", "panel-ids"
        seen_ids[panel.get("id")] = title
        grid = panel.get("gridPos")
        if grid is not None and not all(isinstance(grid.get(k), int) for k in "xywh"):
            yield title, "", f"gridPos needs integer x, y, w, h, got {grid}", "grid-position"
        if panel.get("type") == "row":
            continue
        if not panel.get("title"):
            yield title, "", "a panel without a title", "panel-title"
        unit = ((panel.get("fieldConfig") or {}).get("defaults") or {}).get("unit")
        if panel.get("type") in GRAPH_TYPES and not unit and not panel.get("yaxes"):
            yield title, "", "a graph without a unit (fieldConfig.defaults.unit)", "panel-units"
        for target in panel.get("targets") or []:
            expr = str(target.get("expr") or "")
            if _FIXED_RATE_RANGE.search(expr):
                yield title, expr, ("a fixed rate() range: $__rate_interval keeps it at least "
                                    "four scrape intervals at every zoom"), "rate-interval"


# Values that make an expression parseable: a regex for multi-value variables.
PARSE_VALUES = {"__rate_interval": "1m", "__interval": "1m", "__range": "1h", "__auto": "1m",
                "__interval_ms": "60000", "__range_s": "3600", "__range_ms": "3600000",
                "__rate_interval_ms": "60000"}


_PANEL_ERROR = re.compile(r'group "q(?P<index>\d+)", rule \d+, "panel_check": (?P<error>.*)$')


def promql_problems(all_queries: Iterable[PanelQuery]) -> list[Problem]:
    """Parse every Prometheus query with promtool (the real parser): one rule group per
    query in one file, one promtool run, its errors mapped back to their panels."""
    queries = [q for q in all_queries if q.datasource_type == "prometheus"]
    if not queries:
        return []
    groups = [{"name": f"q{index}", "rules": [{"record": "panel_check", "expr": expand(
        query.expr, {**PARSE_VALUES, **_regex_values(query.expr)})}]}
        for index, query in enumerate(queries)]
    with tempfile.TemporaryDirectory(prefix="obsharness-dash-") as tmp:
        rule_file = Path(tmp) / "panels.yml"
        rule_file.write_text(yaml.safe_dump({"groups": groups}))
        result = run_tool("promtool", ["check", "rules", str(rule_file)])
    if result.ok:
        return []
    problems = []
    for line in result.output.splitlines():
        found = _PANEL_ERROR.search(line)
        if found:
            query = queries[int(found["index"])]
            problems.append(Problem(query.dashboard, query.panel, query.expr,
                                    f"PromQL does not parse: {found['error'].strip()}"))
    if not problems:  # promtool refused the file as a whole: say so in its words
        detail = result.output.strip().splitlines()[-2:] or ["no output"]
        problems.append(Problem(queries[0].dashboard, "", "",
                                f"promtool could not check the panels' PromQL: "
                                f"{' '.join(detail)}"))
    return problems


def _regex_values(expr: str) -> dict[str, str]:
    return {name: ".+" for name in variables_used(expr) if name not in PARSE_VALUES}


# Grafana's built-in variables, with values that make a panel query runnable.
def builtin_values(rate_interval: str) -> dict[str, str]:
    return {"__rate_interval": rate_interval, "__interval": rate_interval,
            "__interval_ms": "60000", "__range": "1h", "__range_s": "3600",
            "__range_ms": "3600000", "__auto": rate_interval,
            "__rate_interval_ms": str(parse_duration(rate_interval))}


def variable_problems(path: Path, resolved: grafana_vars.Resolved) -> list[Problem]:
    """A variable that resolves to nothing is a problem of its own, named once."""
    return [Problem(path, f"(variable {name})", "", why) for name, why in resolved.problems.items()]


def _expansions(query: PanelQuery, resolved: Mapping[Path, grafana_vars.Resolved] | None,
                services: Sequence[str], interval: str) -> Iterator[tuple[str, str]]:
    """(service, runnable query) for each service the query shows (one, "", if it has no
    $service), variables resolved. A query on a variable that has its own problem, or
    reads a datasource this check does not ask, or is undefined, is not run."""
    board = (resolved or {}).get(query.dashboard)
    used = variables_used(query.expr)
    if board and used & (set(board.problems) | set(board.unchecked)):
        return
    values: dict[str, str | VariableValue] = {
        **(board.variables if board else {}), **builtin_values(interval)}
    for service in services if "service" in used and services else [""]:
        expr = expand(query.expr, {**values, **({"service": service} if service else {})})
        if not variables_used(expr):  # an undefined variable: the static check names it
            yield service, expr


def live_problems(prometheus: PrometheusClient, all_queries: Iterable[PanelQuery],
                  services: Iterable[str], rate_interval: str,
                  resolved: Mapping[Path, grafana_vars.Resolved] | None = None) -> list[Problem]:
    """Each Prometheus panel query, variables resolved as Grafana resolves them and
    `$service` expanded for every service, must return data. A query whose variable
    could not be resolved is not run (its variable is the problem); "returns no data"
    is said only of a query whose every variable had a value."""
    problems = []
    service_list = list(services)
    for query in all_queries:
        if query.datasource_type != "prometheus":
            continue
        for service, expr in _expansions(query, resolved, service_list, rate_interval):
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


def _resolve_all(files: Sequence[Path | Board], datasources: Sequence[Datasource],
                 prometheus: PrometheusClient | None, loki: LokiClient | None,
                 rate_interval: str) -> tuple[dict[Path, grafana_vars.Resolved], list[Problem],
                                              list[PanelQuery]]:
    """Every dashboard's variables resolved in order against the running stack, the
    variables' own problems, and every panel query."""
    problems: list[Problem] = []
    resolved: dict[Path, grafana_vars.Resolved] = {}
    every_query: list[PanelQuery] = []
    for board in (b for f in files for b in boards_of(f)):
        label = board.label
        resolved[label] = grafana_vars.resolve_variables(
            board.data, datasources, prometheus=prometheus, loki=loki,
            builtins=builtin_values(rate_interval))
        problems += variable_problems(label, resolved[label])
        every_query += queries(label, board.data, datasources)
        if resolved[label].unchecked:  # said, not silently dropped
            evidence.record("check", f"{label}: panels on variables not checked here",
                            resolved[label].unchecked)
    return resolved, problems, every_query


def live_report(prometheus: PrometheusClient, files: Sequence[Path | Board],
                datasources: Sequence[Datasource], services: Sequence[str],
                rate_interval: str, loki: LokiClient | None = None) -> list[str]:
    """The live check of every dashboard's Prometheus panels, as Grafana would draw them
    now: variables resolved in order against the running stack. Summarised."""
    resolved, problems, every_query = _resolve_all(files, datasources, prometheus, loki,
                                                   rate_interval)
    problems += live_problems(prometheus, every_query, services, rate_interval, resolved)
    return summarise(problems)


def loki_live_report(loki: LokiClient, prometheus: PrometheusClient | None,
                     files: Sequence[Path | Board], datasources: Sequence[Datasource],
                     services: Sequence[str], since_ns: int) -> list[str]:
    """The same for every Loki panel, against the running Loki. Summarised."""
    resolved, problems, every_query = _resolve_all(files, datasources, prometheus, loki, "1m")
    problems += live_loki_problems(loki, every_query, services, since_ns, resolved=resolved)
    return summarise(problems)


def summarise(problems: Sequence[Problem], examples: int = 3) -> list[str]:
    """One line per dashboard and cause, with a count and a few panels: a catalogue
    dashboard with one wrong datasource must not print two hundred lines."""
    groups: dict[tuple[Path, str], list[Problem]] = {}
    for problem in problems:
        groups.setdefault((problem.dashboard, problem.message), []).append(problem)
    lines = []
    for (dashboard, cause), members in groups.items():
        panels_hit = list(dict.fromkeys(m.panel for m in members))
        shown = ", ".join(f"'{p}'" for p in panels_hit[:examples])
        more = f" and {len(panels_hit) - examples} more" if len(panels_hit) > examples else ""
        query = members[0].query
        example = f"; e.g. {query[:200]}" if query else ""
        lines.append(f"{dashboard}: {cause} [{len(members)}x: {shown}{more}{example}]")
    return lines


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
                       services: Iterable[str], since_ns: int, interval: str = "1m",
                       resolved: Mapping[Path, grafana_vars.Resolved] | None = None,
                       ) -> list[Problem]:
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
        for service, expr in _expansions(query, resolved, service_list, interval):
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


# The advice allowlist, under stack/ (dashboard-linter's exclusions shape).
ADVICE_ALLOWLIST = Path("grafana") / "dashboard-lint.yml"


def judged(boards: Sequence[Board], datasources: Sequence[Datasource], stack_dir: Path
           ) -> tuple[list[Problem], list[Problem]]:
    """Every dashboard's static problems as (errors, advice the allowlist does not name):
    what the static scenario and `obsharness check` both decide."""
    problems = [p for board in boards for p in static_problems(board, datasources)]
    return split(problems, exclusions(stack_dir / ADVICE_ALLOWLIST))


def split(problems: Sequence[Problem], allowed: Sequence[Exclusion] = ()
          ) -> tuple[list[Problem], list[Problem]]:
    """(errors, advice not allowlisted)."""
    errors = [p for p in problems if not p.advice]
    advice = [p for p in problems if p.advice and not any(e.covers(p) for e in allowed)]
    return errors, advice


@dataclass(frozen=True)
class Exclusion:
    """An allowlisted piece of advice: a rule, for a dashboard (uid, title or file name)
    and optionally one panel, with the team's reason."""

    rule: str
    dashboard: str
    panel: str
    reason: str

    def covers(self, problem: Problem) -> bool:
        if self.rule not in (problem.advice, "*"):
            return False
        name = str(problem.dashboard)
        return (self.dashboard in ("*", "") or self.dashboard in name) and \
            (not self.panel or self.panel == problem.panel)


def exclusions(path: Path) -> list[Exclusion]:
    """The advice allowlist (dashboard-linter's shape: `exclusions: {rule: [{dashboard,
    panel, reason}]}`); absent is empty, an entry without a reason is an error."""
    if not path.is_file():
        return []
    raw = load_yaml(path, "grafana") or {}
    found = []
    for rule, entries in ((raw.get("exclusions") or {}) if isinstance(raw, dict) else {}).items():
        for entry in entries or []:
            if not isinstance(entry, dict) or not entry.get("reason"):
                raise ConfigError(component="grafana", path=path,
                                  detail=f"exclusion of {rule} needs a mapping with a reason, "
                                  f"got {entry!r}", checked_with="dashboard advice allowlist")
            found.append(Exclusion(str(rule), str(entry.get("dashboard", "")),
                                   str(entry.get("panel", "")), str(entry["reason"])))
    return found
