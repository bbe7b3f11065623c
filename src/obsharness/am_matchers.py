"""Alertmanager's matcher syntax, as Alertmanager 0.27+ reads a config's `matchers`.

Each string of a `matchers:` list may hold several matchers, in braces or not,
comma-separated. Alertmanager reads it with its UTF-8 parser (label names and
values quoted or not, Go string escapes in quotes, any Unicode outside quotes
but for the reserved characters) and, by default, falls back to the classic
parser when the UTF-8 one refuses the text. Both are written here from their
documented grammar; tests/ holds them to Alertmanager's own parser test cases
and to amtool.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

OPERATORS = ("=~", "!~", "!=", "=")
# Outside quotes these end an unquoted name or value (Alertmanager's lexer).
_RESERVED = set("{}!=~,\\\"'`")


class MatcherSyntaxError(ValueError):
    """Neither of Alertmanager's parsers accepts the text."""


@dataclass(frozen=True)
class Token:
    kind: str  # "{", "}", ",", "op", "string"
    text: str  # the operator, or the string's value (unquoted)
    start: int
    end: int


def _go_unquote(quoted: str, at: int) -> str:
    """A Go double-quoted string literal's value (strconv.Unquote), UTF-8 checked."""
    body = quoted[1:-1]
    out = bytearray()
    i = 0
    simple = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, '"': 34}
    while i < len(body):
        char = body[i]
        if char == "\n":
            raise MatcherSyntaxError(f"{at}: {quoted}: newline in a quoted string")
        if char != "\\":
            out += char.encode()
            i += 1
            continue
        code = body[i + 1] if i + 1 < len(body) else ""
        if code in simple:
            out.append(simple[code])
            i += 2
        elif code == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", body[i + 2:i + 4]):
            out.append(int(body[i + 2:i + 4], 16))
            i += 4
        elif code in "01234567" and code and re.fullmatch(r"[0-7]{3}", body[i + 1:i + 4]) \
                and int(body[i + 1:i + 4], 8) < 256:
            out.append(int(body[i + 1:i + 4], 8))
            i += 4
        elif code in ("u", "U"):
            width = 4 if code == "u" else 8
            digits = body[i + 2:i + 2 + width]
            if not re.fullmatch(rf"[0-9a-fA-F]{{{width}}}", digits) or \
                    int(digits, 16) > 0x10FFFF or 0xD800 <= int(digits, 16) <= 0xDFFF:
                raise MatcherSyntaxError(f"{at}: {quoted}: invalid input")
            out += chr(int(digits, 16)).encode()
            i += 2 + width
        else:
            raise MatcherSyntaxError(f"{at}: {quoted}: invalid input")
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise MatcherSyntaxError(f"{at}: {quoted}: invalid input") from None


def tokens(text: str) -> list[Token]:
    """Alertmanager's UTF-8 lexer: braces, commas, operators, quoted and bare strings."""
    found: list[Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "{},":
            found.append(Token(char, char, i, i + 1))
            i += 1
        elif char in "=!":
            op = text[i:i + 2] if text[i:i + 2] in OPERATORS else char if char == "=" else ""
            if not op:
                raise MatcherSyntaxError(f"{i}: {text[i:i + 2]}: expected one of '=~'")
            found.append(Token("op", op, i, i + len(op)))
            i += len(op)
        elif char == '"':
            j = i + 1
            while j < len(text) and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if j >= len(text):
                raise MatcherSyntaxError(f"{i}: {text[i:]}: unterminated quoted string")
            found.append(Token("string", _go_unquote(text[i:j + 1], i), i, j + 1))
            i = j + 1
        elif char in _RESERVED:
            raise MatcherSyntaxError(f"{i}: {char}: invalid input")
        else:
            j = i
            while j < len(text) and not text[j].isspace() and text[j] not in _RESERVED:
                j += 1
            found.append(Token("string", text[i:j], i, j))
            i = j
    return found


def parse_utf8(text: str) -> list[tuple[str, str, str]]:
    """(name, operator, value) of each matcher, as Alertmanager's UTF-8 parser reads them."""
    toks = tokens(text)
    braced = bool(toks) and toks[0].kind == "{"
    if braced:
        if toks[-1].kind != "}":
            raise MatcherSyntaxError(f"{len(text)}: end of input: expected close brace")
        toks = toks[1:-1]
    result: list[tuple[str, str, str]] = []
    i = 0
    while i < len(toks):
        name, op, value = ([*toks[i:i + 3], None, None, None])[:3]
        if name is None or name.kind != "string":
            what = name.text if name else "end of input"
            raise MatcherSyntaxError(f"{name.start if name else len(text)}: unexpected "
                                     f"{what}: expected label name")
        if op is None or op.kind != "op":
            raise MatcherSyntaxError(f"{name.end}: expected an operator after {name.text!r}")
        if value is None or value.kind != "string":
            raise MatcherSyntaxError(f"{op.end}: expected a label value after {op.text!r}")
        result.append((name.text, op.text, value.text))
        i += 3
        if i < len(toks):
            if toks[i].kind != ",":
                raise MatcherSyntaxError(f"{toks[i].start}: unexpected {toks[i].text}: "
                                         "expected a comma or close brace")
            i += 1
    return result


_CLASSIC = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*((?s:.*?))\s*$")


def _classic_value(raw: str, whole: str) -> str:
    quoted = raw.startswith('"')
    body = raw[1:] if quoted else raw
    out: list[str] = []
    escaped = False
    for index, char in enumerate(body):
        if escaped:
            escaped = False
            out.append("\n" if char == "n" else char if char in '"\\' else "\\" + char)
        elif char == "\\" and index < len(body) - 1:
            escaped = True
        elif char == '"':
            if not quoted or index < len(body) - 1:
                raise MatcherSyntaxError(f"matcher value contains unescaped double quote: {whole}")
            quoted = False
        else:
            out.append(char)
    if quoted:
        raise MatcherSyntaxError(f"matcher value contains unescaped double quote: {whole}")
    return "".join(out)


def _split_classic(text: str) -> list[str]:
    """Comma-separated outside quotes, braces stripped (the classic ParseMatchers)."""
    body = text.strip().removeprefix("{").removesuffix("}")
    parts, current, quoted, escaped = [], "", False, False
    for char in body:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            parts.append(current)
            current = ""
            continue
        current += char
    if current.strip():
        parts.append(current)
    return [p for p in parts if p.strip()]


def parse_classic(text: str) -> list[tuple[str, str, str]]:
    result = []
    for part in _split_classic(text):
        match = _CLASSIC.match(part)
        if not match:
            raise MatcherSyntaxError(f"bad matcher format: {part}")
        name, op, raw = match.groups()
        result.append((name, op, _classic_value(raw, part)))
    return result


# Alertmanager's --enable-feature flags that choose the matcher parser.
MODE_FLAGS = {"classic-mode": "classic", "utf8-strict-mode": "utf8"}


def mode_for(features: Iterable[str]) -> str:
    """"classic", "utf8" or Alertmanager's default "fallback", from its feature flags."""
    modes = {MODE_FLAGS[f] for f in features if f in MODE_FLAGS}
    return modes.pop() if len(modes) == 1 else "fallback"


def parse(text: str, mode: str = "fallback") -> list[tuple[str, str, str]]:
    """As Alertmanager parses a matchers string in `mode`: by default the UTF-8
    parser, the classic one where it refuses."""
    if mode == "classic":
        return parse_classic(text)
    if mode == "utf8":
        return parse_utf8(text)
    try:
        return parse_utf8(text)
    except MatcherSyntaxError as utf8_error:
        try:
            return parse_classic(text)
        except MatcherSyntaxError:
            raise utf8_error from None


def quote(text: str) -> str:
    """A name or value as a Go double-quoted string, which both parsers read back."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif ord(char) < 32 or ord(char) == 127:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def is_classic_name(name: str) -> bool:
    return re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name) is not None
