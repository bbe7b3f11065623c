"""Prometheus rule files read once, shape-checked, for every part of the harness
that reads rules (the reach check, the routing check, time compression). A file
promtool refuses fails with promtool's own message; one promtool accepts is never
a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from obsharness import toolchecks
from obsharness.config_files import load_yaml
from obsharness.errors import ConfigError


def _refused(path: Path, what: str) -> ConfigError:
    toolchecks.check_rules([path])  # promtool's own message, where it refuses the file too
    return ConfigError(component="prometheus", path=path,
                       detail=f"promtool accepts this rule file, but obsharness cannot read "
                       f"it: {what}; please report it")


def document(path: Path) -> dict[str, Any]:
    """A rule file as a mapping ({} when empty), its groups and rules shape-checked."""
    raw = load_yaml(path, "prometheus")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _refused(path, f"the top level is a {type(raw).__name__}, not a mapping")
    found = raw.get("groups") or []
    if not isinstance(found, list):
        raise _refused(path, "`groups` is not a list")
    for group in found:
        if not isinstance(group, dict):
            raise _refused(path, f"a group is a {type(group).__name__}, not a mapping")
        rules = group.get("rules") or []
        if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
            raise _refused(path, f"the rules of group {group.get('name')!r} are not a list "
                           "of mappings")
        labels = [r.get("labels") for r in rules if r.get("labels") is not None]
        if not all(isinstance(v, dict) for v in labels):
            raise _refused(path, f"a rule's labels in group {group.get('name')!r} are not a "
                           "mapping")
    return raw


def groups(path: Path) -> list[dict[str, Any]]:
    """The groups of a rule file, each with `rules` a list of mappings."""
    found: list[dict[str, Any]] = document(path).get("groups") or []
    return found
