"""Mistakes in Prometheus alerting and recording rules."""

from __future__ import annotations

import re
from collections.abc import Iterator

from obsharness.mutation import promqltext, yamltext
from obsharness.mutation.model import Maker, Mutant, make
from obsharness.timing import parse_duration

_SEVERITY_SWAP = {"critical": "warning", "warning": "critical", "page": "ticket",
                  "ticket": "page", "info": "warning", "error": "warning"}


def groups_node(node: yamltext.Node | None) -> yamltext.Node | None:
    """The rule groups of a rule file, or of a PrometheusRule resource's spec (the
    Prometheus Operator's shape, kube-prometheus and Helm charts write rules so)."""
    if yamltext.scalar(yamltext.get(node, "kind")) == "PrometheusRule":
        return yamltext.get(yamltext.get(node, "spec"), "groups")
    return yamltext.get(node, "groups")


def is_rule_file(node: yamltext.Node | None) -> bool:
    groups = yamltext.items(groups_node(node))
    return bool(groups) and all(yamltext.get(g, "rules") is not None for g in groups)


def _longer(duration: str) -> str:
    seconds = (parse_duration(duration) * 10 or 600_000) // 1000
    return f"{int(seconds // 60)}m" if seconds % 60 == 0 else f"{int(seconds)}s"


def mutants(path: str, text: str) -> Iterator[Mutant]:
    root = yamltext.compose(text)
    if not is_rule_file(root):
        return
    for group in yamltext.items(groups_node(root)):
        rules_node = yamltext.get(group, "rules")
        for index, rule in enumerate(yamltext.items(rules_node)):
            alert = yamltext.scalar(yamltext.get(rule, "alert"))
            record = yamltext.scalar(yamltext.get(rule, "record"))
            name = alert or record
            expr_node = yamltext.get(rule, "expr")
            expr = yamltext.scalar(expr_node)
            if name is None or expr_node is None or expr is None:
                continue
            metrics = promqltext.metric_names(expr)
            # Recorded series feed the dashboards and the per-service measures.
            topic = ("every prometheus panel", "reports rate, errors") if record else ()
            subjects = (name, *metrics, *topic)

            def m(operator: str, description: str, mutated: str,
                  _name: str = name, _subjects: tuple[str, ...] = subjects) -> Mutant | None:
                return make("rules", operator, path, f"{_name}: {description}", text, mutated,
                            _subjects)

            found: list[Mutant | None] = [
                m("rule deleted", "rule deleted", yamltext.delete_item(text, rules_node, index))]
            if metrics:
                wrong = promqltext.misspell(metrics[0])
                found.append(m("metric name misspelt", f"{metrics[0]} -> {wrong}",
                               yamltext.replace_scalar(text, expr_node, promqltext.rename_metric(
                                   expr, metrics[0], wrong))))
            dropped = promqltext.drop_grouping_label(expr)
            if dropped:
                found.append(m("aggregation drops a label", dropped[1],
                               yamltext.replace_scalar(text, expr_node, dropped[0])))
            if record:
                wrong = promqltext.misspell(record)
                found.append(m("recording rule renamed", f"record {record} -> {wrong}",
                               yamltext.replace_scalar(text, yamltext.get(rule, "record"),
                                                       wrong)))
            if alert:
                found.extend(_alert_mutants(text, rule, expr_node, expr, m))
            yield from (x for x in found if x is not None)


def _alert_mutants(text: str, rule: yamltext.Node, expr_node: yamltext.Node, expr: str,
                   m: Maker) -> Iterator[Mutant | None]:
    scaled = promqltext.scale_threshold(expr)
    if scaled:
        yield m("threshold scaled", scaled[1], yamltext.replace_scalar(text, expr_node, scaled[0]))
    flipped = promqltext.flip_comparison(expr)
    if flipped:
        yield m("comparison flipped", flipped[1],
                yamltext.replace_scalar(text, expr_node, flipped[0]))
    for_node = yamltext.get(rule, "for")
    current = yamltext.scalar(for_node)
    if for_node is not None and current and re.fullmatch(r"(\d+[smhdwy])+", current):
        longer = _longer(current)
        yield m("for changed", f"for {current} -> {longer}",
                yamltext.replace_scalar(text, for_node, longer))
    elif for_node is None:
        yield m("for changed", "for (none) -> 1h", yamltext.add_key(text, rule, "for", "1h"))
    labels = yamltext.get(rule, "labels")
    if isinstance(labels, yamltext.MappingNode):
        for key, value in labels.value:
            label, current = key.value, yamltext.scalar(value)
            if current is None or "{{" in current:
                continue
            if label == "severity":
                other = _SEVERITY_SWAP.get(current.lower(), "critical")
                yield m("severity changed", f"severity {current} -> {other}",
                        yamltext.replace_scalar(text, value, other))
            else:
                wrong = promqltext.misspell(current) if current else "x"
                yield m("label changed", f"label {label} {current} -> {wrong}",
                        yamltext.replace_scalar(text, value, wrong))
