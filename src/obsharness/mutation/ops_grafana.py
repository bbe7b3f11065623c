"""Mistakes in Grafana provisioning and dashboards: a datasource uid, a panel's
metric, a template variable's query."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

from obsharness.mutation import promqltext, yamltext
from obsharness.mutation.model import Mutant, make

_LABEL_VALUES = re.compile(r"label_values\(\s*(?:(?P<metric>[^,()]+?)\s*,\s*)?(?P<label>\w+)\s*\)")
_GRAFANA_VARIABLE = re.compile(r"\$\{?__\w+\}?|\$\{?\w+(?::\w+)?\}?")


def is_datasource_provisioning(node: yamltext.Node | None) -> bool:
    return bool(yamltext.items(yamltext.get(node, "datasources")))


def datasource_mutants(path: str, text: str) -> Iterator[Mutant]:
    root = yamltext.compose(text)
    if not is_datasource_provisioning(root):
        return
    for source in yamltext.items(yamltext.get(root, "datasources")):
        uid = yamltext.get(source, "uid")
        value = yamltext.scalar(uid)
        name = yamltext.scalar(yamltext.get(source, "name")) or "?"
        if uid is not None and value:
            found = make("grafana", "datasource uid changed",
                         path, f"datasource {name}: uid {value} -> {promqltext.misspell(value)}",
                         text, yamltext.replace_scalar(text, uid, promqltext.misspell(value)),
                         (value, name, "only refer to what is"))
            if found:
                yield found


def _dump(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _panels(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in data.get("panels") or []:
        if isinstance(panel, dict):
            yield panel
            yield from (p for p in panel.get("panels") or [] if isinstance(p, dict))


def _metrics(expr: str) -> list[str]:
    # Grafana's variables are not PromQL: `[$__rate_interval]` and `$service`
    # become plain values for parsing only; the edit is made on the team's text.
    return promqltext.metric_names(_GRAFANA_VARIABLE.sub(
        lambda g: "5m" if g.group(0).startswith(("$__", "${__")) else "x", expr))


def dashboard_mutants(path: str, text: str) -> Iterator[Mutant]:
    """Mutants of a dashboard JSON (the file is re-serialised with two-space indents,
    as Grafana exports it; the diff is shown against the same serialisation)."""
    try:
        data = json.loads(text)
    except ValueError:
        return
    if not isinstance(data, dict) or not isinstance(data.get("panels"), list):
        return
    original = _dump(data)
    for index, panel in enumerate(_panels(data)):
        title = str(panel.get("title") or f"panel {index + 1}")
        source = panel.get("datasource")
        if isinstance(source, dict) and isinstance(source.get("uid"), str):
            uid = source["uid"]
            wrong = promqltext.misspell(uid)
            mutated = copy.deepcopy(data)
            target_panel = list(_panels(mutated))[index]
            target_panel["datasource"]["uid"] = wrong
            for target in target_panel.get("targets") or []:
                if isinstance(target.get("datasource"), dict) and \
                        target["datasource"].get("uid") == uid:
                    target["datasource"]["uid"] = wrong
            found = make("grafana", "panel datasource uid changed", path,
                         f"panel '{title}': datasource uid {uid} -> {wrong}",
                         original, _dump(mutated), (title, uid, "only refer to what is"))
            if found:
                yield found
        for t_index, target in enumerate(panel.get("targets") or []):
            expr = target.get("expr") if isinstance(target, dict) else None
            metrics = _metrics(expr) if isinstance(expr, str) else []
            if not metrics or not isinstance(expr, str):
                continue
            wrong = promqltext.misspell(metrics[0])
            mutated = copy.deepcopy(data)
            list(_panels(mutated))[index]["targets"][t_index]["expr"] = \
                promqltext.rename_metric(expr, metrics[0], wrong)
            found = make("grafana", "panel metric misspelt", path,
                         f"panel '{title}': {metrics[0]} -> {wrong}", original, _dump(mutated),
                         (title, metrics[0], "every prometheus panel"))
            if found:
                yield found
            break  # one per panel: the first query is what the panel is about
    yield from _variable_mutants(path, data, original)


def _variable_mutants(path: str, data: dict[str, Any], original: str) -> Iterator[Mutant]:
    for index, variable in enumerate((data.get("templating") or {}).get("list") or []):
        if not isinstance(variable, dict) or variable.get("type") != "query":
            continue
        query = variable.get("query")
        text = query.get("query") if isinstance(query, dict) else query
        if not isinstance(text, str) or not text:
            continue
        match = _LABEL_VALUES.search(text)
        if match:
            label = match.group("label")
            broken = text[:match.start("label")] + promqltext.misspell(label) + \
                text[match.end("label"):]
        else:
            metrics = _metrics(text)
            if not metrics:
                continue
            broken = promqltext.rename_metric(text, metrics[0], promqltext.misspell(metrics[0]))
        mutated = copy.deepcopy(data)
        changed = mutated["templating"]["list"][index]
        if isinstance(changed["query"], dict):
            changed["query"]["query"] = broken
        else:
            changed["query"] = broken
        if changed.get("definition") == text:
            changed["definition"] = broken
        name = str(variable.get("name"))
        found = make("grafana", "variable query broken", path,
                     f"variable ${name}: {text} -> {broken}", original, _dump(mutated),
                     (name, "every prometheus panel", "only refer to what is"))
        if found:
            yield found
