"""Mistakes in the log agents' configs (Promtail YAML, Alloy's River syntax):
a label dropped or a high-cardinality field promoted, the push URL changed."""

from __future__ import annotations

import re
from collections.abc import Iterator

from obsharness.mutation import yamltext
from obsharness.mutation.model import Maker, Mutant, make

# Fields that vary per request: promoted to a label, each makes a stream per value.
PROMOTION_CANDIDATES = ("request_id", "trace_id", "user_id", "route")
# Words of the log scenarios that can see each kind of mistake.
_TOPICS = {"push URL changed": ("access line in Loki",),
           "label dropped": ("low-cardinality set", "Loki panel"),
           "label promoted": ("low-cardinality set",)}
_URL_PORT = re.compile(r"(https?://[^/:\"\s]+:)(\d+)")


def is_promtail_config(node: yamltext.Node | None) -> bool:
    return yamltext.get(node, "clients") is not None and \
        yamltext.get(node, "scrape_configs") is not None


def promtail_mutants(path: str, text: str) -> Iterator[Mutant]:
    root = yamltext.compose(text)
    if not is_promtail_config(root):
        return

    def m(operator: str, description: str, mutated: str, *subjects: str) -> Mutant | None:
        return make("logs", operator, path, description, text, mutated,
                    (*subjects, *_TOPICS.get(operator, ())))

    found: list[Mutant | None] = []
    for client in yamltext.items(yamltext.get(root, "clients")):
        url = yamltext.get(client, "url")
        value = yamltext.scalar(url) or ""
        moved = _URL_PORT.sub(lambda g: g.group(1) + str(int(g.group(2)) + 1), value, count=1)
        if url is not None and moved != value:
            found.append(m("push URL changed", f"client url {value} -> {moved}",
                           yamltext.replace_scalar(text, url, moved), "loki"))
    for job in yamltext.items(yamltext.get(root, "scrape_configs")):
        for stage in yamltext.items(yamltext.get(job, "pipeline_stages")):
            labels = yamltext.get(stage, "labels")
            if isinstance(labels, yamltext.MappingNode):
                for key, _ in labels.value:
                    found.append(m("label dropped",
                                   f"labels stage: {key.value} no longer a label",
                                   yamltext.delete_key(text, labels, key.value), key.value))
    found.extend(_promtail_promotion(text, root, m))
    yield from (x for x in found if x is not None)


def _promtail_promotion(text: str, root: yamltext.Node | None, m: Maker
                        ) -> Iterator[Mutant | None]:
    """A per-request field promoted: extracted by the json stage and made a label."""
    for stages in (yamltext.get(job, "pipeline_stages")
                   for job in yamltext.items(yamltext.get(root, "scrape_configs"))):
        json_stage = labels = None
        for stage in yamltext.items(stages):
            json_stage = yamltext.get(stage, "json") or json_stage
            labels = yamltext.get(stage, "labels") or labels
        expressions = yamltext.get(json_stage, "expressions")
        if not isinstance(expressions, yamltext.MappingNode) or \
                not isinstance(labels, yamltext.MappingNode):
            continue
        present = {k.value for k, _ in labels.value}
        field = next((f for f in PROMOTION_CANDIDATES if f not in present), None)
        if field is None:
            continue
        if expressions.end_mark.line > labels.start_mark.line:
            continue  # the edits below keep the earlier node's marks valid only this way
        mutated = yamltext.add_key(yamltext.add_key(text, labels, field, ""),
                                   expressions, field, field)
        yield m("label promoted", f"{field} promoted to a label (one stream per value)",
                mutated, field)
        return


_ALLOY_URL = re.compile(r'(\burl\s*=\s*")([^"]+)(")')
_ALLOY_LABELS = re.compile(r"(stage\.labels\s*\{\s*values\s*=\s*\{)([^}]*)(\})")
_ALLOY_JSON = re.compile(r"(stage\.json\s*\{\s*expressions\s*=\s*\{)([^}]*)(\})")
_ALLOY_ENTRY = re.compile(r'\s*("?[\w.]+"?)\s*=\s*("[^"]*")\s*')


def alloy_mutants(path: str, text: str) -> Iterator[Mutant]:
    def m(operator: str, description: str, mutated: str, *subjects: str) -> Mutant | None:
        return make("logs", operator, path, description, text, mutated,
                    (*subjects, *_TOPICS.get(operator, ())))

    found: list[Mutant | None] = []
    for match in _ALLOY_URL.finditer(text):
        value = match.group(2)
        moved = _URL_PORT.sub(lambda g: g.group(1) + str(int(g.group(2)) + 1), value, count=1)
        if moved != value:
            found.append(m("push URL changed", f"url {value} -> {moved}",
                           text[:match.start(2)] + moved + text[match.end(2):], "loki"))
    for match in _ALLOY_LABELS.finditer(text):
        entries = [e for e in match.group(2).split(",") if e.strip()]
        for index, entry in enumerate(entries):
            name = entry.split("=")[0].strip().strip('"')
            kept = ",".join(e for i, e in enumerate(entries) if i != index).strip()
            found.append(m("label dropped", f"stage.labels: {name} no longer a label",
                           text[:match.start(2)] + kept + text[match.end(2):], name))
        present = {e.split("=")[0].strip().strip('"') for e in entries}
        field = next((f for f in PROMOTION_CANDIDATES if f not in present), None)
        json = _ALLOY_JSON.search(text)
        if field and json and json.end() < match.start():
            mutated = (text[:match.end(2)] + f', {field} = ""' + text[match.end(2):])
            mutated = (mutated[:json.end(2)] + f', {field} = "{field}"' + mutated[json.end(2):])
            found.append(m("label promoted",
                           f"{field} promoted to a label (one stream per value)", mutated, field))
    yield from (x for x in found if x is not None)
