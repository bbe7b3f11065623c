"""Mistakes in an Alertmanager configuration: routes, receivers, inhibitions."""

from __future__ import annotations

import re
from collections.abc import Iterator

from obsharness.mutation import yamltext
from obsharness.mutation.model import Maker, Mutant, make
from obsharness.mutation.promqltext import misspell

_MATCHER = re.compile(r'^\s*([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$')




def is_alertmanager_config(node: yamltext.Node | None) -> bool:
    return yamltext.get(node, "route") is not None and \
        yamltext.get(node, "receivers") is not None


def _routes(route: yamltext.Node | None, depth: int = 0, later: tuple[yamltext.Node, ...] = ()
            ) -> Iterator[tuple[yamltext.Node, int, tuple[yamltext.Node, ...]]]:
    """Every route with its depth and the siblings after it."""
    if route is None:
        return
    yield route, depth, later
    children = yamltext.items(yamltext.get(route, "routes"))
    for index, child in enumerate(children):
        yield from _routes(child, depth + 1, tuple(children[index + 1:]))


def _equalities(route: yamltext.Node) -> dict[str, str]:
    found = {}
    for item in yamltext.items(yamltext.get(route, "matchers")):
        match = _MATCHER.match(yamltext.scalar(item) or "")
        if match and match.group(2) == "=":
            found[match.group(1)] = match.group(3)
    match_node = yamltext.get(route, "match")
    if isinstance(match_node, yamltext.MappingNode):
        found.update({k.value: yamltext.scalar(v) or "" for k, v in match_node.value})
    return found


def _continue_changes_nothing(route: yamltext.Node, later: tuple[yamltext.Node, ...]) -> bool:
    """`continue: true` is equivalent by construction when no later sibling can match
    an alert this route matches: none is left, or each asks another value of a label
    this route fixes (severity="warning" after severity="critical")."""
    mine = _equalities(route)
    return all(any(label in mine and mine[label] != value
                   for label, value in _equalities(sibling).items()) for sibling in later)


def _terms(route: yamltext.Node) -> list[str]:
    """The values a route matches on (`node-app|fastapi-app` -> both): words the
    scenarios about those alerts use."""
    values: list[str] = []
    for item in yamltext.items(yamltext.get(route, "matchers")):
        match = _MATCHER.match(yamltext.scalar(item) or "")
        if match:
            values.extend(v.strip("^$()") for v in match.group(3).split("|"))
    for key in ("match", "match_re"):
        node = yamltext.get(route, key)
        if isinstance(node, yamltext.MappingNode):
            for _, value in node.value:
                values.extend(v.strip("^$()") for v in (yamltext.scalar(value) or "").split("|"))
    return [v for v in values if v]


def receiver_terms(root: yamltext.Node | None) -> dict[str, list[str]]:
    """Receiver -> the match values of every route (and its parents) sending to it."""
    found: dict[str, list[str]] = {}

    def walk(route: yamltext.Node, inherited: list[str]) -> None:
        terms = inherited + _terms(route)
        receiver = yamltext.scalar(yamltext.get(route, "receiver"))
        if receiver:
            found.setdefault(receiver, []).extend(terms)
        for child in yamltext.items(yamltext.get(route, "routes")):
            walk(child, terms)

    route = yamltext.get(root, "route")
    if route is not None:
        walk(route, [])
    return found


def _broken_matcher(matcher: str) -> str | None:
    match = _MATCHER.match(matcher)
    if not match or not match.group(3):
        return None
    label, op, value = match.groups()
    return f'{label}{op}"{misspell(value)}"'


def mutants(path: str, text: str) -> Iterator[Mutant]:
    root = yamltext.compose(text)
    if not is_alertmanager_config(root):
        return
    receivers = [yamltext.scalar(yamltext.get(r, "name"))
                 for r in yamltext.items(yamltext.get(root, "receivers"))]
    names = [r for r in receivers if r]

    terms = receiver_terms(root)

    def m(operator: str, description: str, mutated: str, *subjects: str) -> Mutant | None:
        # The receivers' alerts and how they are told (words the scenarios use).
        more = [t for s in subjects for t in terms.get(s, [])]
        topic = {"send_resolved off": ["resolved"], "inhibition equal changed": ["inhibits"],
                 "group_wait made long": ["reaches its receivers"]}.get(operator, [])
        return make("alertmanager", operator, path, description, text, mutated,
                    (*subjects, *more, *topic))

    found: list[Mutant | None] = []
    for route, depth, later in _routes(yamltext.get(root, "route")):
        found.extend(_route_mutants(text, route, depth, later, names, m))
    found.extend(_receiver_mutants(text, root, m))
    for index, rule in enumerate(yamltext.items(yamltext.get(root, "inhibit_rules"))):
        equal = yamltext.get(rule, "equal")
        labels = [yamltext.scalar(x) or "" for x in yamltext.items(equal)]
        if equal is not None and labels:
            changed = [misspell(labels[0]), *labels[1:]]
            found.append(m("inhibition equal changed",
                           f"inhibit rule {index + 1}: equal {labels} -> {changed}",
                           yamltext.replace(text, equal, "[" + ", ".join(changed) + "]")))
    yield from (x for x in found if x is not None)


def _route_mutants(text: str, route: yamltext.Node, depth: int,
                   later: tuple[yamltext.Node, ...], names: list[str],
                   m: Maker) -> Iterator[Mutant | None]:
    where = "root route" if depth == 0 else f"route at line {route.start_mark.line + 1}"
    receiver_node = yamltext.get(route, "receiver")
    receiver = yamltext.scalar(receiver_node)
    if receiver_node is not None and receiver and len(names) > 1:
        other = names[(names.index(receiver) + 1) % len(names)] if receiver in names \
            else names[0]
        yield m("receiver changed", f"{where}: receiver {receiver} -> {other}",
                yamltext.replace_scalar(text, receiver_node, other), receiver, other)
    for item in yamltext.items(yamltext.get(route, "matchers"))[:1]:
        broken = _broken_matcher(yamltext.scalar(item) or "")
        if broken:
            yield m("route matcher broken", f"{where}: {item.value} -> {broken}",
                    yamltext.replace_scalar(text, item, broken), receiver or "")
    for key in ("match", "match_re"):
        value = yamltext.get(route, key)
        if isinstance(value, yamltext.MappingNode) and value.value:
            label, first = value.value[0]
            current = yamltext.scalar(first) or ""
            yield m("route matcher broken",
                    f"{where}: {label.value}: {current} -> {misspell(current)}",
                    yamltext.replace_scalar(text, first, misspell(current)), receiver or "")
    if depth > 0:
        cont = yamltext.get(route, "continue")
        if cont is not None:
            flipped = "false" if (yamltext.scalar(cont) or "").lower() == "true" else "true"
            yield m("continue flipped", f"{where}: continue -> {flipped}",
                    yamltext.replace(text, cont, flipped), receiver or "")
        elif not _continue_changes_nothing(route, later):
            yield m("continue flipped", f"{where}: continue (false) -> true",
                    yamltext.add_key(text, route, "continue", "true"), receiver or "")
    wait = yamltext.get(route, "group_wait")
    if wait is not None:
        yield m("group_wait made long", f"{where}: group_wait {yamltext.scalar(wait)} -> 1h",
                yamltext.replace_scalar(text, wait, "1h"), receiver or "")
    elif depth == 0:
        yield m("group_wait made long", "root route: group_wait (30s) -> 1h",
                yamltext.add_key(text, route, "group_wait", "1h"))


def _receiver_mutants(text: str, root: yamltext.Node | None,
                      m: Maker) -> Iterator[Mutant | None]:
    for receiver in yamltext.items(yamltext.get(root, "receivers")):
        name = yamltext.scalar(yamltext.get(receiver, "name")) or "?"
        for kind, default_on in (("webhook_configs", True), ("email_configs", False),
                                 ("slack_configs", False), ("pagerduty_configs", True)):
            for config in yamltext.items(yamltext.get(receiver, kind)):
                resolved = yamltext.get(config, "send_resolved")
                on = (yamltext.scalar(resolved) or "").lower() == "true" \
                    if resolved is not None else default_on
                if on and resolved is not None:
                    yield m("send_resolved off", f"{name} {kind}: send_resolved true -> false",
                            yamltext.replace(text, resolved, "false"), name,
                            "email" if kind == "email_configs" else "webhook")
                elif on:
                    yield m("send_resolved off", f"{name} {kind}: send_resolved -> false",
                            yamltext.add_key(text, config, "send_resolved", "false"), name)
                for field in ("to", "url"):
                    node = yamltext.get(config, field)
                    value = yamltext.scalar(node)
                    if node is None or not value or "{{" in value:
                        continue
                    wrong = value.replace("@", "s@", 1) if field == "to" else \
                        re.sub(r"(/[^/]*)$", lambda g: g.group(1) + "x", value, count=1)
                    yield m("recipient changed", f"{name} {kind}: {field} {value} -> {wrong}",
                            yamltext.replace_scalar(text, node, wrong), name,
                            value if field == "to" else "webhook")
