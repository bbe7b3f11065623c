"""Mistakes in code that is part of the stack: the apps' instrumentation, the
Terraform firewall, the Ansible filters. Textual and pattern based: a file
where a pattern does not apply gets no mutant of that kind."""

from __future__ import annotations

import re
from collections.abc import Iterator

from obsharness.mutation.model import Mutant, make

_LABELS_CALL = re.compile(r"\.labels\((?P<args>[^()]*(?:\([^()]*\)[^()]*)*)\)")
_LOG_TYPE_CALL = re.compile(
    r"""(\w+\(\s*["'](?:debug|info|warn|warning|error)["']\s*,\s*)(["'])(\w+)\2"""
    r"""(?:\s*,\s*(["'`])([^"'`$]*))?""")
_OTHER_LOG_TYPE = {"access": "performance", "error": "access", "performance": "access",
                   "security": "access"}
_HEADER_ENTRY = re.compile(r"""\s*,?\s*["']x-request-id["']\s*:\s*[^,}\n]+,?""", re.I)
_HEADER_SET = re.compile(r"""^(\s*).*(?:headers\[["']x-request-id["']\]\s*=|\.set\(\s*["']"""
                         r"""x-request-id["']|\.setHeader\(\s*["']x-request-id["']).*$""",
                         re.I | re.M)


def _split_args(args: str) -> list[tuple[int, int]]:
    """Spans of the top-level comma-separated arguments."""
    spans, depth, start = [], 0, 0
    for i, ch in enumerate(args):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            spans.append((start, i))
            start = i + 1
    spans.append((start, len(args)))
    return spans


# What a scenario that can see the mistake talks about, per operator.
_APP_SUBJECTS = {
                 "log type changed": ("Loki", "log_type"),
                 "request id not propagated": ("request id", "X-Request-ID")}


def _service_of(path: str) -> str | None:
    """stack/apps/node_app/server.js -> node-app (the manifest's naming)."""
    parts = path.split("/")
    return parts[2].replace("_", "-") if len(parts) > 3 and parts[2].endswith("_app") else None


def app_mutants(path: str, text: str) -> Iterator[Mutant]:
    service = _service_of(path)

    def m(operator: str, description: str, mutated: str, *subjects: str) -> Mutant | None:
        return make("apps", operator, path, description, text, mutated,
                    (service or "", *_APP_SUBJECTS.get(operator, ()), *subjects))

    found: list[Mutant | None] = []
    for call in _LABELS_CALL.finditer(text):
        args = call.group("args")
        for start, end in _split_args(args):
            arg = args[start:end].strip()
            if "status" in arg.lower() and not arg.startswith(("'", '"')):
                begin = call.start("args") + start + (len(args[start:end]) -
                                                      len(args[start:end].lstrip()))
                stop = begin + len(arg)
                value = arg.split("=", 1)[0] + '="200"' if re.match(r"\w+\s*=", arg) \
                    else '"200"'
                line = text.count("\n", 0, begin) + 1
                # A counted request (`.inc()`) is seen by the per-service measures and
                # the error alerts; a series created at zero (`.inc(0)` or none) by the
                # panels, first on a fresh process, before a fault creates it.
                counted = text[call.end():call.end() + 6] == ".inc()"
                hints = ("reports rate, errors", "HighErrorRate") if counted else \
                    ("every prometheus panel",)
                found.append(m("status label constant",
                               f"line {line}: status label {arg} -> {value}",
                               text[:begin] + value + text[stop:], "status", *hints))
    for call in _LOG_TYPE_CALL.finditer(text):
        kind = call.group(3)
        if kind in _OTHER_LOG_TYPE:
            other = _OTHER_LOG_TYPE[kind]
            line = text.count("\n", 0, call.start()) + 1
            # The line's message (up to a placeholder) names the scenario that reads it.
            message = (call.group(5) or "").strip()
            found.append(m("log type changed", f"line {line}: log type {kind} -> {other}",
                           text[:call.start(3)] + other + text[call.end(3):], "log_type", kind,
                           message))
    for entry in _HEADER_ENTRY.finditer(text):
        line = text.count("\n", 0, entry.start()) + 1
        removed = entry.group(0)
        keep = "," if removed.strip().startswith(",") and removed.rstrip().endswith(",") else ""
        found.append(m("request id not propagated",
                       f"line {line}: x-request-id header no longer sent",
                       text[:entry.start()] + keep + text[entry.end():], "request_id"))
    for setter in _HEADER_SET.finditer(text):
        line = text.count("\n", 0, setter.start()) + 1
        filler = f"{setter.group(1)}pass" if path.endswith(".py") else ""
        found.append(m("request id not propagated",
                       f"line {line}: X-Request-ID no longer returned",
                       text[:setter.start()] + filler + text[setter.end():], "request_id"))
    yield from (x for x in found if x is not None)


_CIDR_LIST = re.compile(r'\[\s*(?:var\.\w*cidr\w*|"\d+\.\d+\.\d+\.\d+/\d+")\s*\]')
_CIDR_ONE = re.compile(r'(\bcidr_ipv4\s*=\s*)(?!"0\.0\.0\.0/0")(\S[^\n#]*)')
_PORT = re.compile(r"(\b(?:port|from_port|to_port)\s*=\s*)(\d+)\b")
_WORLD = '["0.0.0.0/0"]'


def terraform_mutants(path: str, text: str) -> Iterator[Mutant]:
    def m(operator: str, description: str, mutated: str, *subjects: str) -> Mutant | None:
        return make("infra", operator, path, description, text, mutated, subjects)

    found: list[Mutant | None] = []
    for match in _CIDR_LIST.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        found.append(m("firewall sources widened",
                       f"line {line}: {match.group(0)} -> {_WORLD} (the world)",
                       text[:match.start()] + _WORLD + text[match.end():]))
        if "user_cidrs" in text and "user" not in match.group(0):
            found.append(m("firewall sources widened",
                           f"line {line}: {match.group(0)} -> var.user_cidrs (the users)",
                           text[:match.start()] + "var.user_cidrs" + text[match.end():]))
    for match in _CIDR_ONE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        found.append(m("firewall sources widened",
                       f"line {line}: cidr_ipv4 {match.group(2).strip()} -> \"0.0.0.0/0\"",
                       text[:match.start(2)] + '"0.0.0.0/0"' + text[match.end(2):]))
    for match in _PORT.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        new = str(int(match.group(2)) + 1)
        found.append(m("port changed", f"line {line}: {match.group(0)} -> {new}",
                       text[:match.start(2)] + new + text[match.end(2):]))
    yield from (x for x in found if x is not None)


_DEEPCOPY = re.compile(r"^(\s*)(\w+) = copy\.deepcopy\([^)]*\)\s*$", re.M)


def ansible_filter_mutants(path: str, text: str) -> Iterator[Mutant]:
    """A filter meant to rewrite addresses that changes more: it drops one key of
    the config it copies."""
    for match in _DEEPCOPY.finditer(text):
        indent, name = match.group(1), match.group(2)
        line = text.count("\n", 0, match.start()) + 1
        inserted = (f"\n{indent}if isinstance({name}, dict) and {name}:\n"
                    f"{indent}    {name}.pop(sorted({name})[0])")
        found = make("infra", "ansible filter changes more than addresses", path,
                     f"line {line}: the copy of the config loses its first key",
                     text, text[:match.end()] + inserted + text[match.end():])
        if found:
            yield found
