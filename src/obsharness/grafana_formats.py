"""Grafana's variable formats (`${var:csv}`, `${var:regex}`...) and its Prometheus
datasource's default formatting, as Grafana writes a variable into a query.

Grafana cannot run on these machines, so this copy is held to Grafana's own test
vectors (grafana/scenes formatRegistry and sceneInterpolator tests, the
Prometheus datasource's escaping tests), carried over as data in
tests/fixtures/grafana/format_cases.yaml.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

ALL = "$__all"
_LUCENE = re.compile(r'([!*+\-=<>\s&|()\[\]{}^~?:\\/"])')
_REGEX = re.compile(r"([\\^$*+?.()|\[\]{}/])")
_PROM_REGEX = re.compile(r"([$^*{}\[\]'+?.()|])")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_MOMENT = [("YYYY", "%Y"), ("MM", "%m"), ("DD", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S")]


@dataclass(frozen=True)
class VariableValue:
    """What a template variable holds when a panel's query is written."""

    name: str
    values: tuple[Any, ...]  # every option for All without a custom all value
    texts: tuple[str, ...] | None = None
    multi: bool = False
    include_all: bool = False
    is_all: bool = False
    all_value: str | None = None  # the variable's custom All value
    single: bool = True  # Grafana holds one plain value, not a list of selections

    @property
    def value(self) -> Any:
        """As Grafana passes it to a format: a plain value, or the list selected."""
        return self.values[0] if self.single and len(self.values) == 1 else list(self.values)


def _strict(text: str, safe: str = "") -> str:
    """encodeURIComponent, and Grafana's strict variant also encodes !'()*."""
    return quote(str(text), safe="-_.~" + safe)


def _lucene(value: Any) -> str:
    text = str(value)
    return text if _NUMBER.match(text) else _LUCENE.sub(r"\\\1", text)


def _regex(text: Any) -> str:
    return _REGEX.sub(r"\\\1", str(text))


def prometheus_regular_escape(text: str) -> str:
    """A single value in a Prometheus query: backslashes and single quotes escaped."""
    return text.replace("\\", "\\\\").replace("'", "\\\\'")


def prometheus_regex_escape(text: str) -> str:
    """A value in a regex matcher: escaped twice, once for the regex, once for PromQL."""
    return _PROM_REGEX.sub(r"\\\\\1", text.replace("\\", "\\\\\\\\"))


def prometheus_default(variable: VariableValue) -> str:
    """The Prometheus datasource's own formatting of a variable without a format."""
    value = variable.value
    if not variable.multi and not variable.include_all:
        return prometheus_regular_escape(str(value)) if isinstance(value, str) else \
            ",".join(map(str, value))
    if isinstance(value, str):
        return prometheus_regex_escape(value)
    escaped = [prometheus_regex_escape(str(v)) for v in value]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def _date(value: Any, args: Sequence[str]) -> str:
    moment = datetime.fromtimestamp(int(value) / 1000, UTC)
    fmt = ":".join(args) if args else "iso"
    if fmt == "seconds":
        return str(int(value) // 1000)
    if fmt == "iso":
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(value) % 1000:03d}Z"
    for token, directive in _MOMENT:
        fmt = fmt.replace(token, directive)
    return moment.strftime(fmt)


def _join(value: Any, sep: str) -> str:
    return sep.join(map(str, value)) if isinstance(value, list) else str(value)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _formatters(variable: VariableValue, args: Sequence[str]) -> dict[str, Any]:
    name, value = variable.name, variable.value
    texts = list(variable.texts) if variable.texts is not None else None

    def text() -> str:
        shown = texts if texts is not None else _listed(value)
        return " + ".join(map(str, shown))

    def lucene() -> str:
        if isinstance(value, list):
            if not value:
                return "__empty__"
            return "(" + " OR ".join(f'"{_lucene(v)}"' for v in value) + ")"
        return _lucene(value)

    def regex() -> str:
        if isinstance(value, list):
            escaped = [_regex(v) for v in value]
            return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"
        return _regex(value)

    def quoted(mark: str) -> str:
        return ",".join(mark + str(v).replace(mark, "\\" + mark) + mark for v in _listed(value))

    def custom_query_param() -> str:
        key = _strict(args[0]) if args else name
        prefix = args[1] if len(args) > 1 else ""
        return "&".join(f"{key}={_strict(prefix + str(v))}" for v in _listed(value))

    return {
        "lucene": lucene,
        "raw": lambda: _join(value, ","),
        "regex": regex,
        "pipe": lambda: _join(value, "|"),
        "distributed": lambda: ",".join([str(_listed(value)[0])] + [
            f"{name}={v}" for v in _listed(value)[1:]]),
        "csv": lambda: _join(value, ","),
        "html": lambda: html.escape(_join(value, ", "), quote=False),
        "json": lambda: json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        if isinstance(value, list) else str(value),
        "percentencode": lambda: _strict("{" + ",".join(map(str, value)) + "}"
                                         if isinstance(value, list) else str(value)),
        "singlequote": lambda: quoted("'"),
        "doublequote": lambda: quoted('"'),
        "sqlstring": lambda: ",".join("'" + str(v).replace("'", "''").replace('"', '\\"') + "'"
                                      for v in _listed(value)),
        "date": lambda: _date(value, args),
        "glob": lambda: "{" + ",".join(map(str, value)) + "}"
        if isinstance(value, list) and len(value) > 1 else _join(value, ","),
        "text": text,
        "textupper": lambda: text().upper(),
        "queryparam": lambda: "&".join(f"var-{name}={_strict(v)}" for v in _listed(value)),
        "uriencode": lambda: _strict(_join(value, ","), safe=";,/?:@&=+$#"),
        "join": lambda: _join(value, args[0] if args else ","),
        "customqueryparam": custom_query_param,
    }


class UnknownFormat(ValueError):
    """A `${var:format}` Grafana does not know; it writes the value unformatted."""


def format_value(variable: VariableValue, fmt: str | None = None,
                 args: Sequence[str] = ()) -> str:
    """`${name:fmt:args}` as Grafana writes it; no `fmt`: the Prometheus datasource's way."""
    if variable.is_all and variable.all_value is not None:
        # A custom All value is written as it is, whatever the format.
        if fmt == "queryparam":
            return f"var-{variable.name}={ALL}"
        if fmt == "text":
            return "All"
        return variable.all_value
    if fmt is None:
        return prometheus_default(variable)
    formatters = _formatters(variable, args)
    if fmt not in formatters:
        raise UnknownFormat(f"${{{variable.name}:{fmt}}}: Grafana has no format {fmt!r} "
                            f"(it knows {', '.join(sorted(formatters))})")
    return str(formatters[fmt]())
