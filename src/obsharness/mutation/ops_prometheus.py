"""Mistakes in a Prometheus configuration: scrape jobs, targets, relabelling."""

from __future__ import annotations

import re
from collections.abc import Iterator

from obsharness.mutation import yamltext
from obsharness.mutation.model import Maker, Mutant, make
from obsharness.mutation.promqltext import misspell

_PORT = re.compile(r":(\d+)$")




def is_prometheus_config(node: yamltext.Node | None) -> bool:
    # Promtail's config has scrape_configs too, and clients.
    return yamltext.get(node, "scrape_configs") is not None and \
        yamltext.get(node, "clients") is None


def _other_port(target: str) -> str | None:
    match = _PORT.search(target)
    if not match:
        return None
    return target[:match.start(1)] + str(int(match.group(1)) + 1)


def _first_target(config: yamltext.Node) -> yamltext.Node | None:
    for static in yamltext.items(yamltext.get(config, "static_configs")):
        targets = yamltext.items(yamltext.get(static, "targets"))
        if targets:
            return targets[0]
    return None


def mutants(path: str, text: str) -> Iterator[Mutant]:
    root = yamltext.compose(text)
    if not is_prometheus_config(root):
        return

    def m(operator: str, description: str, mutated: str, *subjects: str) -> Mutant | None:
        topic = ("scrapes every target",) if operator != "alertmanager target changed" \
            else ("reaches its receivers",)
        return make("prometheus", operator, path, description, text, mutated,
                    (*subjects, *topic))

    found: list[Mutant | None] = []
    jobs = yamltext.get(root, "scrape_configs")
    for index, job in enumerate(yamltext.items(jobs)):
        name = yamltext.scalar(yamltext.get(job, "job_name")) or f"#{index + 1}"
        found.append(m("scrape job removed", f"job {name} removed",
                       yamltext.delete_item(text, jobs, index), name))
        target = _first_target(job)
        moved = _other_port(yamltext.scalar(target) or "") if target is not None else None
        if target is not None and moved:
            found.append(m("target port changed", f"job {name}: {target.value} -> {moved}",
                           yamltext.replace_scalar(text, target, moved), name))
        path_node = yamltext.get(job, "metrics_path")
        if path_node is not None:
            found.append(m("metrics_path changed",
                           f"job {name}: metrics_path {path_node.value} -> {path_node.value}s",
                           yamltext.replace_scalar(text, path_node, f"{path_node.value}s"), name))
        else:
            found.append(m("metrics_path changed", f"job {name}: metrics_path -> /metric",
                           yamltext.add_key(text, job, "metrics_path", "/metric"), name))
        found.extend(_relabel_mutants(text, job, name, m))
    for alerting in yamltext.items(yamltext.get(yamltext.get(root, "alerting"), "alertmanagers")):
        target = _first_target(alerting)
        moved = _other_port(yamltext.scalar(target) or "") if target is not None else None
        if target is not None and moved:
            found.append(m("alertmanager target changed",
                           f"alertmanager {target.value} -> {moved}",
                           yamltext.replace_scalar(text, target, moved), "alertmanager"))
    yield from (x for x in found if x is not None)


def _relabel_mutants(text: str, job: yamltext.Node, name: str,
                     m: Maker) -> Iterator[Mutant | None]:
    """A relabelling that drops a label: an existing rule's target label misspelt,
    or a `labeldrop` of a label the job sets."""
    for key in ("relabel_configs", "metric_relabel_configs"):
        for rule in yamltext.items(yamltext.get(job, key)):
            target = yamltext.get(rule, "target_label")
            value = yamltext.scalar(target)
            if target is not None and value and not value.startswith("__"):
                yield m("relabelling drops a label",
                        f"job {name}: {key} target_label {value} -> {misspell(value)}",
                        yamltext.replace_scalar(text, target, misspell(value)), name, value)
    labels: list[str] = []
    for static in yamltext.items(yamltext.get(job, "static_configs")):
        node = yamltext.get(static, "labels")
        if isinstance(node, yamltext.MappingNode):
            labels.extend(k.value for k, _ in node.value if not k.value.startswith("__"))
    if labels and yamltext.get(job, "metric_relabel_configs") is None:
        yield m("relabelling drops a label", f"job {name}: labeldrop {labels[0]}",
                yamltext.add_key(text, job, "metric_relabel_configs",
                                 f"\n  - action: labeldrop\n    regex: {labels[0]}"),
                name, labels[0])
