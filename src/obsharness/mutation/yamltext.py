"""Small edits of a YAML file's text, located with the parser's node marks.

A mutant must read like a colleague's mistake: one line changed in the team's
file, comments and layout kept. So nothing is re-dumped: PyYAML's composed
nodes give each value's exact span, and the edit replaces, deletes or adds
lines there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import yaml

Node = yaml.Node
MappingNode = yaml.MappingNode


def compose(text: str) -> Node | None:
    """The node tree of a one-document YAML file; None when it does not parse."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    return node if isinstance(node, Node) else None


def get(node: Node | None, key: str) -> Node | None:
    """The value node of `key` in a mapping node, else None."""
    if not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key and isinstance(v, Node):
            return v
    return None


def key_node(node: Node, key: str) -> Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, _ in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return k
    return None


def items(node: Node | None) -> list[Node]:
    """The items of a sequence node ([] for anything else)."""
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def scalar(node: Node | None) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def mappings(node: Node | None) -> Iterator[yaml.MappingNode]:
    """Every mapping node in the tree, depth first."""
    if isinstance(node, yaml.MappingNode):
        yield node
        for _, value in node.value:
            yield from mappings(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from mappings(item)


def quote(value: str) -> str:
    """A double-quoted YAML scalar (JSON's string syntax is valid YAML)."""
    return json.dumps(value)


def replace(text: str, node: Node, new: str) -> str:
    """`new` (YAML source) in place of the node's own text."""
    start, end = node.start_mark.index, node.end_mark.index
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        # A block scalar's span runs to the next line's start: keep the line break.
        return text[:start] + new + "\n" + text[end:]
    return text[:start] + new + text[end:]


def replace_scalar(text: str, node: Node | None, value: str) -> str:
    """The scalar's value replaced, quoted as the original was when it can be."""
    if node is None:
        return text
    if isinstance(node, yaml.ScalarNode) and node.style == "|" and value.strip():
        return _replace_block(text, node, value)
    if isinstance(node, yaml.ScalarNode) and node.style is None and _plain_ok(value):
        return replace(text, node, value)
    if isinstance(node, yaml.ScalarNode) and node.style == "'" and "'" not in value \
            and "\n" not in value:
        return replace(text, node, f"'{value}'")
    return replace(text, node, quote(value))


def _replace_block(text: str, node: Node, value: str) -> str:
    """A literal block scalar rewritten as one, same header and indentation."""
    start = node.start_mark.index
    header_end = text.index("\n", start)
    header = text[start:header_end]
    body_start = header_end + 1
    first = text[body_start:].split("\n", 1)[0]
    indent = first[:len(first) - len(first.lstrip(" "))]
    lines = value[:-1].split("\n") if value.endswith("\n") else value.split("\n")
    body = "\n".join(indent + line if line else "" for line in lines)
    return replace(text, node, f"{header}\n{body}")


def _plain_ok(value: str) -> bool:
    """Whether the value reads back as the same string when written unquoted."""
    try:
        return bool(value) and yaml.safe_load(value) == value and "\n" not in value \
            and not value.startswith(("'", '"', "[", "{"))
    except yaml.YAMLError:
        return False


def _last_line(node: Node) -> int:
    """The last line (0-based) holding text of the node. A block collection's end
    mark is the next token (maybe lines below): its last child's line is asked."""
    if isinstance(node, yaml.MappingNode) and node.value and not node.flow_style:
        key, value = node.value[-1]
        return max(int(key.end_mark.line), _last_line(value))
    if isinstance(node, yaml.SequenceNode) and node.value and not node.flow_style:
        return _last_line(node.value[-1])
    end = node.end_mark
    if end.column == 0 and end.line > node.start_mark.line:
        return end.line - 1
    return end.line


def _line_start(text: str, line: int) -> int:
    if line <= 0:
        return 0
    pos = -1
    for _ in range(line):
        pos = text.index("\n", pos + 1)
    return pos + 1


def delete_item(text: str, sequence: Node | None, index: int) -> str:
    """Remove one item of a block sequence, with its `- ` line and nested lines."""
    if not isinstance(sequence, yaml.SequenceNode):
        return text
    item = items(sequence)[index]
    first = item.start_mark.line
    last = _last_line(item)
    following = items(sequence)[index + 1:]
    if following:
        last = min(last, following[0].start_mark.line - 1)
    lines = text.splitlines(keepends=True)
    if item.start_mark.line == sequence.start_mark.line and sequence.flow_style:
        raise ValueError("flow sequences are edited with replace()")
    return "".join(lines[:first] + lines[last + 1:])


def delete_key(text: str, mapping: Node, key: str) -> str:
    """Remove one key of a block mapping and its value's lines."""
    k = key_node(mapping, key)
    v = get(mapping, key)
    if k is None or v is None:
        return text
    lines = text.splitlines(keepends=True)
    first, last = k.start_mark.line, max(_last_line(v), k.start_mark.line)
    if lines[first][:k.start_mark.column].strip() not in ("", "-"):
        raise ValueError("the key shares its line with another")
    if lines[first][:k.start_mark.column].strip() == "-":
        # `- key: v` starts the item: the next key takes the dash.
        nxt = lines[last + 1] if last + 1 < len(lines) else ""
        indent = k.start_mark.column
        if nxt[:indent].strip() == "" and nxt.strip():
            lines[last + 1] = lines[first][:indent] + nxt[indent:]
    return "".join(lines[:first] + lines[last + 1:])


def add_key(text: str, mapping: Node, key: str, value: str) -> str:
    """A `key: value` line (value is YAML source) at the end of a block mapping."""
    if not isinstance(mapping, yaml.MappingNode) or not mapping.value or mapping.flow_style:
        raise ValueError("only block mappings with keys take a new key")
    indent = mapping.value[0][0].start_mark.column
    last = max(_last_line(v) for _, v in mapping.value)
    lines = text.splitlines(keepends=True)
    if last < len(lines) and not lines[last].endswith("\n"):
        lines[last] += "\n"
    pad = " " * indent
    block = "".join(f"{pad}{line.rstrip()}\n" for line in f"{key}: {value}".splitlines())
    return "".join(lines[:last + 1]) + block + "".join(lines[last + 1:])
