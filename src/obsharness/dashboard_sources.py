"""Grafana dashboards in every shape teams keep them, read by shape and handed to the
checks as the classic JSON model Grafana itself migrates them to.

- Classic JSON of any schemaVersion Grafana still migrates (its migrations start at 9):
  top-level `rows` with `span` become panels with a grid position (Grafana's
  migration 16), plain-string datasources stay names Grafana resolves.
- An HTTP API export (`{"dashboard": {...}, "meta": {...}}`).
- Kubernetes dashboard resources (`dashboard.grafana.app/v0alpha1|v1beta1`: classic
  JSON under `spec`) and schema v2 (`dashboard.grafana.app/v2alpha1|v2beta1`:
  `spec.elements`, `spec.layout`, `spec.variables`, a datasource on every query).
- ConfigMaps and ConfigMapLists for Grafana's sidecar (each `*.json` key a dashboard).
- grafana-operator `GrafanaDashboard` resources with inline `spec.json`.
- A jsonnet mixin's `grafanaDashboards`.

Library panels are kept and marked: their queries live in Grafana, not in the file.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obsharness import rule_sources, yaml_docs
from obsharness.config_files import load_json
from obsharness.errors import ConfigError
from obsharness.origins import Origin
from obsharness.stack.manifest import Manifest, Source

# Grafana's migrations (apps/dashboard/pkg/migration/schemaversion) start at 9.
MIN_SCHEMA_VERSION = 9
_RESOURCE_API = "dashboard.grafana.app/"
_OPERATOR_API = "grafana.integreatly.org/"


@dataclass
class Board:
    """One dashboard: where it came from, its shape, and its classic JSON model."""

    origin: Origin
    shape: str
    data: dict[str, Any]
    resource: dict[str, Any] | None = None  # a dashboard resource, provisioned as it is
    library_panels: list[str] = field(default_factory=list)
    schema_version: Any = None  # as the file gave it

    @property
    def label(self) -> Path:
        """How findings name it: the file, and inside it the document and resource."""
        return Path(str(self.origin))

    @property
    def uid(self) -> str:
        return str(self.data.get("uid") or "")

    @property
    def file_provisioned(self) -> bool:
        """Whether Grafana's classic file provider can load it: schema v2 only loads
        through Grafana's newer resource provisioning (Git Sync, on-prem file
        provisioning) or the operator's GrafanaManifest."""
        api = str((self.resource or {}).get("apiVersion") or "")
        return not api.removeprefix(_RESOURCE_API).startswith("v2")


@dataclass
class Skipped:
    origin: Origin
    reason: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.reason}"


def _shape_error(origin: Origin, detail: str) -> ConfigError:
    return ConfigError(component="grafana", path=origin.file, line=origin.line,
                       detail=f"{detail}{f' (in {origin.where})' if origin.where else ''}",
                       checked_with="dashboard shape")


def from_object(data: Any, origin: Origin, skipped: list[Skipped]) -> list[Board]:
    """The dashboards of one JSON/YAML object, whatever its shape."""
    if not isinstance(data, dict):
        raise _shape_error(origin, f"a dashboard is a JSON object, not a {type(data).__name__}")
    kind = data.get("kind")
    api = str(data.get("apiVersion") or "")
    if kind == "Dashboard" and api.startswith(_RESOURCE_API):
        return [_resource(data, origin, api.removeprefix(_RESOURCE_API))]
    if kind in ("GrafanaDashboard", "GrafanaManifest") and api.startswith(_OPERATOR_API):
        return _operator(data, origin, skipped)
    if kind == "ConfigMap":
        return _configmap(data, origin, skipped)
    if str(kind or "").endswith("List") and isinstance(data.get("items"), list):
        return [b for index, item in enumerate(data["items"])
                for b in from_object(item, _with(origin, "", f"items[{index}]"), skipped)]
    return _plain(data, origin, skipped)


def _plain(data: dict[str, Any], origin: Origin, skipped: list[Skipped]) -> list[Board]:
    """Classic JSON, an HTTP API export of it, or a resource that is not a dashboard."""
    if data.get("kind") is not None:
        skipped.append(Skipped(origin, f"a {data['kind']}, not a dashboard"))
        return []
    if isinstance(data.get("dashboard"), dict) and "meta" in data:
        return [_board(data["dashboard"], _with(origin, "API export", ""), "API export")]
    return [_board(data, origin, "classic")]


def _obj(value: Any) -> dict[str, Any]:
    """A JSON object, or {} for anything else (a team's file may have any type anywhere)."""
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _name(data: dict[str, Any]) -> str:
    meta = data.get("metadata")
    return str(meta.get("name") or "") if isinstance(meta, dict) else ""


def _resource(data: dict[str, Any], origin: Origin, version: str) -> Board:
    spec = data.get("spec")
    if not isinstance(spec, dict):
        raise _shape_error(origin, "a dashboard resource needs a `spec` object")
    where = _with(origin, f"Dashboard {version}", _name(data))
    if version.startswith("v2"):
        return _board(from_v2(spec, _name(data)), where, f"schema {version}", data)
    classic = dict(spec)
    classic.setdefault("uid", _name(data))
    return _board(classic, where, f"dashboard resource {version}", data)


def _operator(data: dict[str, Any], origin: Origin, skipped: list[Skipped]) -> list[Board]:
    """grafana-operator: a GrafanaDashboard's inline JSON, or the dashboard resource a
    GrafanaManifest wraps in `spec.template` (the operator's route for schema v2)."""
    spec = _obj(data.get("spec"))
    where = _with(origin, str(data["kind"]), _name(data))
    if data["kind"] == "GrafanaManifest":
        template = _obj(spec.get("template"))
        if template.get("kind") == "Dashboard":
            return from_object(template, where, skipped)
        skipped.append(Skipped(where, f"a GrafanaManifest of a {template.get('kind') or 'missing'}"
                                      f" template, not a dashboard"))
        return []
    if isinstance(spec.get("json"), str):
        inner = _json_text(spec["json"], where)
        return [_board(b.data, where, "GrafanaDashboard", b.resource)
                for b in from_object(inner, where, skipped)]
    fetched = [k for k in ("url", "grafanaCom", "configMapRef", "gzipJson", "jsonnet")
               if spec.get(k)]
    source = f"spec.{fetched[0]}" if fetched else "no spec.json"
    skipped.append(Skipped(where, f"its dashboard comes from {source}, which only the "
                                  f"operator fetches or renders: not checked here"))
    return []


def _configmap(data: dict[str, Any], origin: Origin, skipped: list[Skipped]) -> list[Board]:
    boards = []
    for key, text in sorted(_obj(data.get("data")).items()):
        if str(key).endswith(".json") and isinstance(text, str):
            where = _with(origin, "ConfigMap", f"{_name(data)} key {key}".strip())
            boards += [_board(b.data, where, f"ConfigMap ({b.shape})", b.resource)
                       for b in from_object(_json_text(text, where), where, skipped)]
    return boards


def _with(origin: Origin, shape: str, resource: str) -> Origin:
    shapes = " ".join(p for p in (origin.shape, shape) if p)
    resources = " ".join(p for p in (origin.resource, resource) if p)
    return Origin(origin.file, origin.line, origin.document, shapes, resources)


def _json_text(text: str, origin: Origin) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(component="grafana", path=origin.file, line=origin.line,
                          detail=f"the dashboard JSON does not parse at its line {exc.lineno}: "
                          f"{exc.msg} (in {origin.where})", checked_with="JSON") from None


def _board(data: dict[str, Any], origin: Origin, shape: str,
           resource: dict[str, Any] | None = None) -> Board:
    schema = data.get("schemaVersion")
    classic = migrate(data)
    library = [str((p.get("libraryPanel") or {}).get("name") or
                   (p.get("libraryPanel") or {}).get("uid")) for p in _all_panels(classic)
               if isinstance(p.get("libraryPanel"), dict)]
    return Board(origin, shape, classic, resource, library, schema)


def _all_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in _list(dashboard.get("panels")):
        if isinstance(panel, dict):
            found.append(panel)
            found += [p for p in _list(panel.get("panels")) if isinstance(p, dict)]
    return found


# ---- Grafana's own migrations, as far as the checks need them ----------------------

_GRID_COLUMNS = 24
_ROW_HEIGHT_PX = 250.0
_PANEL_HEIGHT_STEP = 38.0  # a grid cell (30 px) and its margin (8 px)


def _grid_height(height: Any) -> int:
    try:
        pixels = float(str(height).removesuffix("px")) if height is not None else _ROW_HEIGHT_PX
    except ValueError:
        pixels = _ROW_HEIGHT_PX
    return math.ceil(max(pixels, 90.0) / _PANEL_HEIGHT_STEP)


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """A copy with top-level `rows` turned into panels (Grafana's migration 16): each
    row's panels placed left to right by `span` (12 columns then, 24 now), rows kept as
    row panels when any is collapsed, titled or repeated, missing panel ids assigned."""
    rows = data.get("rows")
    if not isinstance(rows, list):
        return data
    board = copy.deepcopy(data)
    rows = board.pop("rows")
    panels: list[Any] = list(_list(board.get("panels")))
    ids: list[int] = [p["id"] for r in rows if isinstance(r, dict)
                      for p in _list(r.get("panels"))
                      if isinstance(p, dict) and isinstance(p.get("id"), int)]
    next_id = max(ids, default=0) + 1
    show_rows = any(isinstance(r, dict) and (r.get("collapse") or r.get("showTitle")
                                             or r.get("repeat")) for r in rows)
    y = 0
    for row in rows:
        if not isinstance(row, dict) or row.get("repeatIteration"):
            continue
        height = _grid_height(row.get("height"))
        collapsed = bool(row.get("collapse"))
        row_panel: dict[str, Any] | None = None
        if show_rows:
            row_panel = {"id": next_id, "type": "row", "title": row.get("title", ""),
                         "collapsed": collapsed, "panels": [],
                         "gridPos": {"x": 0, "y": y, "w": _GRID_COLUMNS, "h": 1}}
            next_id += 1
            y += 1
        x = 0
        for panel in _list(row.get("panels")):
            if not isinstance(panel, dict):
                continue
            if "id" not in panel:
                panel["id"] = next_id
                next_id += 1
            width = int(float(panel.pop("span", 4) or 4) * _GRID_COLUMNS / 12)
            if x + width > _GRID_COLUMNS:
                x, y = 0, y + height
            panel["gridPos"] = {"x": x, "y": y, "w": width,
                                "h": _grid_height(panel["height"]) if "height" in panel
                                else height}
            x += width
            if row_panel is not None and collapsed:
                row_panel["panels"].append(panel)
            else:
                panels.append(panel)
        if row_panel is not None:
            panels.append(row_panel)
        if row_panel is None or not collapsed:
            y += height
    board["panels"] = panels
    return board


# ---- schema v2 ------------------------------------------------------------------

_V2_VARIABLE_TYPES = {
    "QueryVariable": "query", "DatasourceVariable": "datasource", "CustomVariable": "custom",
    "ConstantVariable": "constant", "IntervalVariable": "interval", "TextVariable": "textbox",
    "AdhocVariable": "adhoc", "GroupByVariable": "groupby", "SwitchVariable": "switch",
}


def _v2_query(query: dict[str, Any], outer: dict[str, Any]) -> tuple[dict[str, Any] | None,
                                                                      dict[str, Any]]:
    """(datasource ref, query fields) of a v2 query: v2beta1 names the type in `group`
    and the uid in `datasource.name`; v2alpha1 the type in `kind` and a ref beside it."""
    spec = _obj(query.get("spec"))
    if query.get("kind") == "DataQuery":
        kind = str(query.get("group") or "")
        ds = _obj(query.get("datasource"))
        uid = ds.get("name")
        ref: dict[str, Any] | None = {"type": kind, **({"uid": uid} if uid else {})}
    else:
        kind = str(query.get("kind") or "")
        given = outer.get("datasource")
        ref = dict(given) if isinstance(given, dict) else ({"type": kind} if kind else None)
    return ref, dict(spec)


def from_v2(spec: dict[str, Any], name: str) -> dict[str, Any]:
    """A schema v2 dashboard as the classic model the checks read: one panel per element
    (placed as its layout places it), one target per query, one variable per variable."""
    positions = _v2_positions(spec.get("layout"))
    panels = []
    for key, element in _obj(spec.get("elements")).items():
        if not isinstance(element, dict):
            continue
        body = _obj(element.get("spec"))
        panel: dict[str, Any] = {"id": body.get("id"), "title": body.get("title", key)}
        if element.get("kind") == "LibraryPanel":
            panel["libraryPanel"] = body.get("libraryPanel") or {"name": key}
        viz = _obj(body.get("vizConfig"))
        panel["type"] = viz.get("group") or viz.get("kind") or ""
        viz_spec = _obj(viz.get("spec"))
        panel["fieldConfig"] = viz_spec.get("fieldConfig") or {}
        data = _obj(body.get("data"))
        queries = _obj(data.get("spec")).get("queries")
        targets = []
        for item in queries if isinstance(queries, list) else []:
            outer = _obj(_obj(item).get("spec"))
            query = _obj(outer.get("query"))
            ref, fields = _v2_query(query, outer)
            targets.append({**fields, "refId": outer.get("refId", ""), "datasource": ref,
                            **({"hide": True} if outer.get("hidden") else {})})
        panel["targets"] = targets
        if key in positions:
            panel["gridPos"] = positions[key]
        panels.append(panel)
    return {"uid": name, "title": spec.get("title", ""), "schemaVersion": 42,
            "panels": panels, "templating": {"list": [_v2_variable(v) for v in
                                                      _list(spec.get("variables"))
                                                      if isinstance(v, dict)]}}


def _v2_variable(variable: dict[str, Any]) -> dict[str, Any]:
    spec = dict(_obj(variable.get("spec")))
    kind = _V2_VARIABLE_TYPES.get(str(variable.get("kind")), str(variable.get("kind")))
    out: dict[str, Any] = {**spec, "type": kind}
    if kind == "datasource":
        out["query"] = spec.get("pluginId", "")
    query = spec.get("query")
    if kind in ("query", "adhoc", "groupby") and isinstance(query, dict):
        ref, fields = _v2_query(query, spec)
        out["datasource"] = ref
        out["query"] = fields.get("query") or fields.get("expr") or fields or \
            spec.get("definition", "")
    return out


def _v2_positions(layout: Any) -> dict[str, dict[str, int]]:
    """Element name -> gridPos, through grid, rows and tabs layouts (auto grids place
    their panels themselves: they get none, which the checks accept)."""
    found: dict[str, dict[str, int]] = {}
    if not isinstance(layout, dict):
        return found
    spec = _obj(layout.get("spec"))
    for item in _list(spec.get("items") or spec.get("rows") or spec.get("tabs")):
        if not isinstance(item, dict):
            continue
        body = _obj(item.get("spec"))
        element = _obj(body.get("element"))
        if element.get("name") and all(isinstance(body.get(k), int)
                                       for k in ("x", "y", "width", "height")):
            found[str(element["name"])] = {"x": body["x"], "y": body["y"],
                                           "w": body["width"], "h": body["height"]}
        found.update(_v2_positions(body.get("layout")))
    return found


# ---- files and sources --------------------------------------------------------------


def boards_in_file(path: Path) -> tuple[list[Board], list[Skipped]]:
    """Every dashboard of one file: JSON (one object) or YAML (documents, Lists)."""
    skipped: list[Skipped] = []
    if path.suffix == ".json":
        return from_object(load_json(path, "grafana"), Origin(path), skipped), skipped
    boards: list[Board] = []
    docs = yaml_docs.load_file(path, "grafana")
    for doc in docs:
        origin = Origin(path, doc.line(), doc.number if len(docs) > 1 else None)
        boards += from_object(doc.data, origin, skipped)
    return boards, skipped


@dataclass
class Boards:
    boards: list[Board] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    by_source: dict[str, int] = field(default_factory=dict)


def read(source: Source, stack_dir: Path, into: Boards) -> None:
    before = len(into.boards)
    if source.glob:
        for path in sorted(stack_dir.glob(source.glob)):
            if path.is_file():
                boards, skipped = boards_in_file(path)
                into.boards += boards
                into.skipped += skipped
    elif source.render:
        label = Path(f"<{' '.join(source.render)}>")
        text = rule_sources.run_render(source, stack_dir, "grafana")
        for doc in yaml_docs.load_text(text, label, "grafana"):
            origin = Origin(label, doc.line(), doc.number, "", doc.source)
            into.boards += from_object(doc.data, origin, into.skipped)
    elif source.jsonnet:
        mixin = rule_sources.evaluate_mixin(source, stack_dir, "grafana")
        label = stack_dir / source.jsonnet
        for name, dashboard in sorted(_obj(mixin.get("grafanaDashboards")).items()):
            origin = Origin(label, None, None, "jsonnet mixin", f"grafanaDashboards {name}")
            into.boards += from_object(dashboard, origin, into.skipped)
    into.by_source[str(source)] = len(into.boards) - before


def boards(manifest: Manifest) -> Boards:
    """Every dashboard the manifest's dashboard sources hold."""
    found = Boards()
    for source in manifest.sources_of("dashboards"):
        read(source, manifest.stack_dir, found)
    return found
