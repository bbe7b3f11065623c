"""Walking the AST of promql-parser (a binding of a Rust implementation of PromQL)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# The attributes under which promql-parser's nodes hold their sub-expressions.
_CHILD_ATTRIBUTES = ("lhs", "rhs", "expr", "vector_selector", "param")


def children(node: Any) -> Iterator[Any]:
    """The direct sub-expressions of a node: operands, inner expressions, call arguments."""
    for attribute in _CHILD_ATTRIBUTES:
        child = getattr(node, attribute, None)
        if child is not None and not isinstance(child, str | float | int):
            yield child
    yield from getattr(node, "args", None) or []


def walk(node: Any) -> Iterator[Any]:
    """The node and every node below it, depth first."""
    yield node
    for child in children(node):
        yield from walk(child)
