"""Multi-document YAML with the line of every node kept, for files in Kubernetes' shapes
(several resources per file, `List`s, Helm output with its `# Source:` comments)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from obsharness.config_files import read_text
from obsharness.errors import ConfigError


@dataclass(frozen=True)
class Doc:
    """One YAML document: its data, its node (for lines), its number and, in Helm's
    output, the chart template it came from."""

    data: Any
    node: yaml.Node | None
    number: int
    source: str = ""

    def line(self, *keys: str | int) -> int | None:
        """The 1-based line of the node at keys (as far as it exists)."""
        return line_of(self.node, *keys)


def line_of(node: yaml.Node | None, *keys: str | int) -> int | None:
    found = node
    for key in keys:
        nxt = _child(found, key)
        if nxt is None:
            break
        found = nxt
    return found.start_mark.line + 1 if found is not None else None


def _child(node: yaml.Node | None, key: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(key, str):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                found: yaml.Node = v
                return found
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        item: yaml.Node = node.value[key]
        return item
    return None


# libyaml's loader where PyYAML has it: a kube-prometheus-sized file reads in a fraction.
LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_HELM_SOURCE = re.compile(r"^# Source: (?P<source>.+)$", re.MULTILINE)


def load_text(text: str, origin: Path, component: str) -> list[Doc]:
    """Every document of `text` (empty ones skipped), YAML errors naming origin and line."""
    try:
        nodes = list(yaml.compose_all(text, Loader=LOADER))
        datas = list(yaml.load_all(text, Loader=LOADER))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(component=component, path=origin,
                          line=mark.line + 1 if mark is not None else None,
                          detail=str(getattr(exc, "problem", None) or exc),
                          checked_with="YAML") from None
    except RecursionError:
        raise ConfigError(component=component, path=origin,
                          detail="nested too deeply to read") from None
    sources = [(m.start(), m["source"].strip()) for m in _HELM_SOURCE.finditer(text)]
    docs = []
    for number, (node, data) in enumerate(zip(nodes, datas, strict=True), start=1):
        if data is None:
            continue
        offset = _offset(text, node.start_mark.line)
        source = next((s for at, s in reversed(sources) if at <= offset), "")
        docs.append(Doc(data, node, number, source))
    return docs


def _offset(text: str, line: int) -> int:
    at = 0
    for _ in range(line):
        at = text.find("\n", at) + 1
    return at


def load_file(path: Path, component: str) -> list[Doc]:
    return load_text(read_text(path, component), path, component)
