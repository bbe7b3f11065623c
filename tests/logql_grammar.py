"""A recognizer of the part of LogQL's grammar the harness builds, for its tests.

Loki cannot run here, so the LogQL that `obsharness.logql` builds is checked
against this recognizer, itself held to inputs and outcomes taken from Loki's
own parser tests (tests/test_logql_grammar.py). The subset: a stream selector
with =, !=, =~, !~ matchers; line filters |=, !=, |~, !~, |>, !> on a Go string
literal or ip("..."); and `sum(count_over_time(<log query> [<duration>]))`.
Anything else is refused as outside the subset, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_SPACE = re.compile(r"\s*")
_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_MATCH_OP = re.compile(r"=~|!~|!=|=")
_FILTER_OP = re.compile(r"\|=|\|~|\|>|!=|!~|!>")
_DURATION = re.compile(r"(\d+(ms|s|m|h|d|w|y))+")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "a": "\a", "b": "\b",
            "f": "\f", "v": "\v"}


class LogQLSyntaxError(ValueError):
    """Refused, with the column (1-based) as Loki's `parse error at line 1, col N`."""

    def __init__(self, col: int, detail: str) -> None:
        super().__init__(f"parse error at line 1, col {col}: {detail}")
        self.col = col


@dataclass
class LogQuery:
    matchers: list[tuple[str, str, str]] = field(default_factory=list)
    filters: list[tuple[str, str]] = field(default_factory=list)
    count_window: str | None = None  # set for sum(count_over_time(... [w]))


class _Reader:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def skip(self) -> None:
        self.pos = _SPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]

    def take(self, pattern: re.Pattern[str] | str) -> str | None:
        self.skip()
        if isinstance(pattern, str):
            if self.text.startswith(pattern, self.pos):
                self.pos += len(pattern)
                return pattern
            return None
        found = pattern.match(self.text, self.pos)
        if not found:
            return None
        self.pos = found.end()
        return found.group(0)

    def need(self, pattern: re.Pattern[str] | str, what: str) -> str:
        got = self.take(pattern)
        if got is None:
            raise LogQLSyntaxError(self.pos + 1, f"syntax error: expecting {what}")
        return got

    def string(self) -> str:
        """A Go string literal: "..." with escapes, or `raw`."""
        self.skip()
        start = self.pos
        if self.text.startswith("`", start):
            end = self.text.find("`", start + 1)
            if end < 0:
                raise LogQLSyntaxError(start + 1, "literal not terminated")
            self.pos = end + 1
            return self.text[start + 1:end]
        if not self.text.startswith('"', start):
            raise LogQLSyntaxError(start + 1, "syntax error: expecting STRING")
        out, i = [], start + 1
        while i < len(self.text):
            char = self.text[i]
            if char == '"':
                self.pos = i + 1
                return "".join(out)
            if char == "\n":
                break
            if char == "\\":
                code = self.text[i + 1:i + 2]
                if code in _ESCAPES:
                    out.append(_ESCAPES[code])
                    i += 2
                    continue
                if code in ("x", "u", "U"):
                    size = {"x": 2, "u": 4, "U": 8}[code]
                    digits = self.text[i + 2:i + 2 + size]
                    if len(digits) == size and all(c in "0123456789abcdefABCDEF" for c in digits):
                        out.append(chr(int(digits, 16)))
                        i += 2 + size
                        continue
                raise LogQLSyntaxError(i + 1, "invalid char escape")
            out.append(char)
            i += 1
        raise LogQLSyntaxError(start + 1, "literal not terminated")


def _log_query(reader: _Reader, query: LogQuery) -> None:
    reader.need("{", "{")
    while True:
        name = reader.need(_NAME, "IDENTIFIER")
        op = reader.need(_MATCH_OP, "=, !=, =~ or !~")
        query.matchers.append((name, op, reader.string()))
        if reader.take("}"):
            break
        reader.need(",", ", or }")
    while True:
        op = reader.take(_FILTER_OP)
        if op is None:
            return
        if reader.take("ip("):
            value = reader.string()
            reader.need(")", ")")
            query.filters.append((op, f"ip({value})"))
        else:
            query.filters.append((op, reader.string()))


def parse(text: str) -> LogQuery:
    """The query, or LogQLSyntaxError naming the column where it goes wrong."""
    reader = _Reader(text)
    query = LogQuery()
    if reader.take("sum"):
        reader.need("(", "(")
        reader.need("count_over_time", "count_over_time")
        reader.need("(", "(")
        _log_query(reader, query)
        reader.need("[", "[")
        query.count_window = reader.need(_DURATION, "DURATION")
        reader.need("]", "]")
        reader.need(")", ")")
        reader.need(")", ")")
    else:
        _log_query(reader, query)
    reader.skip()
    if reader.pos != len(text):
        raise LogQLSyntaxError(reader.pos + 1, "syntax error: unexpected input (outside the "
                                               "subset this recognizer knows, or invalid)")
    if all(op in ("!=", "!~") or (op == "=~" and value in (".*", "")) or
           (op == "=" and value == "") for _, op, value in query.matchers):
        # Loki: "queries require at least one regexp or equality matcher that does not
        # have an empty-compatible value"
        raise LogQLSyntaxError(1, "queries require at least one regexp or equality matcher "
                                  "that does not have an empty-compatible value")
    return query
