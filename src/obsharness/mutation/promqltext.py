"""Edits of PromQL text: a threshold, a comparison, a metric name, a grouping.

The edits are textual (the team's expression stays as written) and only touch
code, never the inside of a quoted label value or regex.
"""

from __future__ import annotations

import re

import promql_parser

from obsharness.rule_reach import selectors_of

_COMPARISON = re.compile(r"(?<![=!<>~])(>=|<=|==|!=|>|<)(?![=~])(\s*(?:bool\s+)?)"
                         r"(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\b")
_COMPARISON_OP = re.compile(r"(?<![=!<>~])(>=|<=|>|<)(?![=~])")
_GROUPING = re.compile(r"\b(by|without)\s*\(([^()]*)\)")
_FLIPPED = {">": "<", ">=": "<=", "<": ">", "<=": ">="}


def _blanked(expr: str) -> str:
    """The expression with quoted strings and label-matcher braces blanked out
    (same length), so searches only see operators and names of code."""
    out = list(expr)
    quote: str | None = None
    depth = 0
    for i, ch in enumerate(expr):
        if quote:
            out[i] = " "
            if ch == "\\":
                continue
            if ch == quote and (i == 0 or expr[i - 1] != "\\"):
                quote = None
            continue
        if ch in "\"'`":
            quote = ch
            out[i] = " "
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
        elif depth:
            out[i] = " "
    return "".join(out)


def parses(expr: str) -> bool:
    try:
        promql_parser.parse(expr)
    except ValueError:
        return False
    return True


def _number(value: float) -> str:
    return f"{value:g}"


def scale_threshold(expr: str) -> tuple[str, str] | None:
    """The last comparison with a number made ten times less sensitive:
    `> 0.05` -> `> 0.5`, `< 0.99` -> `< 0.099`. (new expr, what changed)."""
    found = list(_COMPARISON.finditer(_blanked(expr)))
    if not found:
        return None
    match = found[-1]
    op, number = match.group(1), float(match.group(3))
    if op in (">", ">="):
        new = number * 10 if number else 1.0
    elif op in ("<", "<="):
        new = number / 10 if number else -1.0
    else:
        new = number + 1
    start, end = match.span(3)
    return expr[:start] + _number(new) + expr[end:], f"{op} {match.group(3)} -> {op} {_number(new)}"


def flip_comparison(expr: str) -> tuple[str, str] | None:
    """The first ordering comparison turned around (`>` -> `<`)."""
    match = _COMPARISON_OP.search(_blanked(expr))
    if not match:
        return None
    op = match.group(1)
    return (expr[:match.start()] + _FLIPPED[op] + expr[match.end():],
            f"{op} -> {_FLIPPED[op]}")


def misspell(name: str) -> str:
    """A plausible typo: the middle letter of the name's longest word dropped."""
    words = re.split(r"([_:])", name)
    index = max(range(0, len(words), 2), key=lambda i: (len(words[i]), -i))
    word = words[index]
    if len(word) < 2:
        return name + "x"
    middle = len(word) // 2
    words[index] = word[:middle] + word[middle + 1:]
    return "".join(words)


def metric_names(expr: str) -> list[str]:
    return [s.metric for s in selectors_of(expr) if s.metric]


def rename_metric(expr: str, old: str, new: str) -> str:
    """The first use of metric `old` (as a name, not inside a string) renamed."""
    blank = _blanked(expr)
    match = re.search(rf"(?<![\w:]){re.escape(old)}(?![\w:])", blank)
    if not match:
        return expr
    return expr[:match.start()] + new + expr[match.end():]


def drop_grouping_label(expr: str, prefer: str = "service") -> tuple[str, str] | None:
    """An aggregation that loses a label: `by (service, le)` -> `by (le)`,
    `by (service)` -> no grouping, `without (instance)` -> `without (instance, service)`."""
    blank = _blanked(expr)
    for match in _GROUPING.finditer(blank):
        labels = [label.strip() for label in expr[match.start(2):match.end(2)].split(",")
                  if label.strip()]
        if match.group(1) == "by":
            if not labels:
                continue
            gone = prefer if prefer in labels else labels[0]
            kept = [label for label in labels if label != gone]
            replacement = f"by ({', '.join(kept)})" if kept else ""
            new = expr[:match.start()] + replacement + expr[match.end():]
            return new, f"by ({', '.join(labels)}) -> {replacement or 'no grouping'}"
        added = prefer if prefer not in labels else "job"
        replacement = f"without ({', '.join([*labels, added])})"
        return (expr[:match.start()] + replacement + expr[match.end():],
                f"without ({', '.join(labels)}) -> {replacement}")
    return None
