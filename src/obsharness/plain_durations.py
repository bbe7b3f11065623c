"""Durations that PromQL carries as plain numbers, which time compression must not pass over.

Range selectors, subqueries and offsets are durations by grammar, and the
renderer scales them. A plain number is a duration only by what it means, so
it is found through the expression's structure (the AST of `promql-parser`, a
binding of a Rust implementation of the grammar), never by a regex:

- certain: the second argument of `predict_linear(v, t)` is seconds ahead.
  Left alone, `predict_linear(x[3h], 86400)` compressed 60x becomes
  `predict_linear(x[3m], 86400)`: it extrapolates 60 times farther relative
  to its window than production does. It is scaled with the window.
- not certain: a time difference compared with a number, such as
  `time() - x_timestamp_seconds > 3600`, `node_time_seconds -
  node_boot_time_seconds > 600` or `time() - timestamp(up) > 300`. Whether
  3600 should shrink depends on what produces the timestamp (a batch job that
  runs hourly in production runs on its own clock in a test), so the number is
  left as is and the rule is reported: its compressed behaviour is not
  production's.

Whatever parses here, promtool stays the judge of validity: an expression
this parser refuses is left to promtool and yields no finding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import promql_parser

from obsharness.promql_ast import walk
from obsharness.timing import split_literals

COMPARISONS = {">", "<", ">=", "<=", "==", "!="}
# Metric names whose values are points in time, in seconds since the epoch.
_TIME_VALUED = re.compile(r"(_timestamp_seconds|_time_seconds|_timestamp|_seconds_since_epoch)$")
_PREDICT = re.compile(r"\bpredict_linear\s*\(")


@dataclass(frozen=True)
class NotEquivalent:
    """A rule whose compressed behaviour differs from production, and why."""

    where: str
    literal: str
    why: str

    def __str__(self) -> str:
        return (f"{self.where}: the plain number {self.literal} {self.why}; left unscaled, so "
                f"the compressed rule does not behave as in production")


@dataclass(frozen=True)
class ScaledHorizon:
    where: str
    original: str
    scaled: str

    def __str__(self) -> str:
        return f"{self.where}: predict_linear horizon {self.original} s scaled to {self.scaled}"


def _unwrap(node: Any) -> Any:
    while isinstance(node, promql_parser.ParenExpr):
        node = node.expr
    return node


_ARITHMETIC = {"+": float.__add__, "-": float.__sub__, "*": float.__mul__}


def _number(node: Any) -> float | None:
    """The value of a plain number, or of arithmetic on plain numbers (`2 * 3600`)."""
    node = _unwrap(node)
    if isinstance(node, promql_parser.NumberLiteral):
        return float(node.val)
    if isinstance(node, promql_parser.UnaryExpr):
        inner = _number(node.expr)
        return None if inner is None else -inner
    if isinstance(node, promql_parser.BinaryExpr) and str(node.op) in (*_ARITHMETIC, "/"):
        left, right = _number(node.lhs), _number(node.rhs)
        if left is None or right is None:
            return None
        if str(node.op) == "/":
            return left / right if right else None
        return _ARITHMETIC[str(node.op)](left, right)
    return None


def _is_time_point(node: Any) -> bool:
    """Whether an operand is a point in time: a *_timestamp_seconds style metric, possibly
    inside aggregations or functions that keep its unit."""
    return any(isinstance(inner, promql_parser.VectorSelector) and inner.name
               and _TIME_VALUED.search(inner.name) for inner in walk(node))


def _calls_clock(node: Any) -> bool:
    return any(isinstance(inner, promql_parser.Call) and inner.func.name in ("time", "timestamp")
               for inner in walk(node))


def _is_time_difference(node: Any) -> bool:
    """`time() - x` (whatever x: a timestamp, since nothing else is subtracted from the
    clock), or the difference of two points in time such as `a_time_seconds - b_time_seconds`."""
    node = _unwrap(node)
    if not isinstance(node, promql_parser.BinaryExpr) or str(node.op) != "-":
        return False
    if _calls_clock(node.lhs) or _calls_clock(node.rhs):
        return True
    return _is_time_point(node.lhs) and _is_time_point(node.rhs)


def _literal_text(value: float) -> str:
    return f"{value:g}" if value != int(value) or abs(value) < 1e15 else repr(value)


def time_comparisons(expr: str) -> list[tuple[str, str]]:
    """(literal, the difference it is compared with) for each time difference compared with a
    plain number; [] when the expression does not parse (promtool will say why)."""
    try:
        tree = promql_parser.parse(expr)
    except ValueError:
        return []
    found = []
    for node in walk(tree):
        if not isinstance(node, promql_parser.BinaryExpr) or str(node.op) not in COMPARISONS:
            continue
        for side, other in ((node.lhs, node.rhs), (node.rhs, node.lhs)):
            if _number(other) is not None and _is_time_difference(side):
                found.append((" ".join(str(_unwrap(other)).split()),
                              " ".join(str(_unwrap(side)).split())))
    return found


def _literal_spans(expr: str) -> list[tuple[int, int]]:
    """Where string literals and comments are, so no rewrite touches them."""
    spans, offset = [], 0
    for is_literal, chunk in split_literals(expr):
        if is_literal:
            spans.append((offset, offset + len(chunk)))
        offset += len(chunk)
    return spans


def _call_arguments(expr: str, open_paren: int, literals: list[tuple[int, int]]
                    ) -> list[tuple[int, int]]:
    """Start and end of each top-level argument of the call whose '(' is at open_paren."""
    depth, start, args, index = 0, open_paren + 1, [], open_paren
    while index < len(expr):
        skip = next((end for begin, end in literals if begin == index), None)
        if skip is not None:
            index = skip
            continue
        char = expr[index]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                args.append((start, index))
                return args
        elif char == "," and depth == 1:
            args.append((start, index))
            start = index + 1
        index += 1
    return []  # unbalanced: promtool will say so


def scale_predict_linear(expr: str, scale: float) -> tuple[str, list[tuple[str, str]]]:
    """Divide the horizon of every predict_linear by `scale`; (new expr, [(old, new)])."""
    if scale == 1:
        return expr, []
    literals = _literal_spans(expr)
    inside = [range(begin, end) for begin, end in literals]
    edits: list[tuple[int, int, str, str]] = []
    for match in _PREDICT.finditer(expr):
        if any(match.start() in span for span in inside):
            continue
        args = _call_arguments(expr, match.end() - 1, literals)
        if len(args) != 2:
            continue
        begin, end = args[1]
        horizon = expr[begin:end].strip()
        try:
            scaled = _literal_text(float(horizon) / scale)
        except ValueError:  # an expression: divide it as it stands
            scaled = f"({horizon}) / {scale:g}"
        lead = len(expr[begin:end]) - len(expr[begin:end].lstrip())
        trail = len(expr[begin:end]) - len(expr[begin:end].rstrip())
        edits.append((begin + lead, end - trail, horizon, scaled))
    for begin, end, _, scaled in sorted(edits, reverse=True):
        expr = expr[:begin] + scaled + expr[end:]
    return expr, [(old, new) for _, _, old, new in edits]
