"""What monitoring code a repository already has, wherever it keeps it.

Read by content, not by name: a plain monitoring folder, kube-prometheus-style manifests
(PrometheusRule, an Alertmanager config in a Secret, dashboards in ConfigMaps) and a Helm
chart's rendered output all hold the same kinds of document in different places. A file
that does not parse is listed as such, never fatal: `init` scaffolds around what it can
read and the static scenarios then name the rest with the tool's own message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from obsharness.stack import secret_configs

# Never looked into: version control, environments, caches, build output, and the
# harness's own files (what `init` writes is not the team's input).
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", ".venv", "venv", "node_modules", ".tox",
                          "__pycache__", ".cache", ".pytest_cache", ".mypy_cache",
                          ".ruff_cache", "reports", "dist", "build", ".terraform",
                          "obsharness"})
_SUFFIXES = (".yml", ".yaml", ".json")
MAX_BYTES = 5_000_000  # a file bigger than this is data, not monitoring code


@dataclass
class Found:
    """Paths relative to the repository root, in POSIX form, sorted."""

    rules: list[str] = field(default_factory=list)  # plain groups or PrometheusRule
    rule_tests: list[str] = field(default_factory=list)  # promtool unit tests
    alertmanager: list[str] = field(default_factory=list)  # plain configs
    alertmanager_secrets: list[str] = field(default_factory=list)  # in a Secret
    dashboards: list[str] = field(default_factory=list)
    prometheus: list[str] = field(default_factory=list)  # prometheus.yml-shaped
    loki: list[str] = field(default_factory=list)
    log_agents: list[str] = field(default_factory=list)  # Promtail YAML, Alloy River
    unreadable: list[str] = field(default_factory=list)  # "path: why"

    def sort(self) -> None:
        for name in self.__dataclass_fields__:
            getattr(self, name).sort()


def discover(root: Path) -> Found:
    found = Found()
    for path in _candidates(root):
        rel = path.relative_to(root).as_posix()
        if path.suffix == ".alloy":
            found.log_agents.append(rel)
            continue
        try:
            if path.stat().st_size > MAX_BYTES:
                continue
            docs = _documents(path)
        except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError, RecursionError) as exc:
            found.unreadable.append(f"{rel}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            continue
        for kind in dict.fromkeys(k for doc in docs if (k := _kind(doc))):
            getattr(found, kind).append(rel)
    found.sort()
    return found


def _candidates(root: Path) -> list[Path]:
    out = []
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if any(p in SKIPPED_DIRS or (p.startswith(".") and p != ".") for p in parts[:-1]):
            continue
        if path.is_file() and (path.suffix in _SUFFIXES or path.suffix == ".alloy"):
            out.append(path)
    return out


def _documents(path: Path) -> list[Any]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return [json.loads(text)]
    return [d for d in yaml.safe_load_all(text) if d is not None]


_RESOURCE_KINDS = {"PrometheusRule": "rules", "GrafanaDashboard": "dashboards",
                   "Dashboard": "dashboards"}


def _kind(doc: Any) -> str | None:
    """Which list of Found one document belongs to, if any."""
    if not isinstance(doc, dict):
        return None
    kind = doc.get("kind")
    if kind == "Secret":
        return "alertmanager_secrets" if secret_configs.holds_config(doc) else None
    if kind == "ConfigMap":
        return _configmap_kind(doc)
    if kind is not None:
        return _RESOURCE_KINDS.get(str(kind))
    return _plain_kind(doc)


def _is_rule_groups(doc: dict[str, Any]) -> bool:
    groups = doc.get("groups")
    return isinstance(groups, list) and all(isinstance(g, dict) and "rules" in g
                                            for g in groups)


def _is_dashboard(doc: dict[str, Any]) -> bool:
    inner = doc.get("dashboard")
    return "panels" in doc or "rows" in doc or (isinstance(inner, dict) and "panels" in inner)


# First match wins: a promtool test has rule_files too, Promtail has scrape_configs too.
_PLAIN_SHAPES: tuple[tuple[str, Callable[[dict[str, Any]], bool]], ...] = (
    ("rule_tests", lambda d: "rule_files" in d and "tests" in d),
    ("rules", _is_rule_groups),
    ("alertmanager", lambda d: "route" in d and "receivers" in d),
    ("dashboards", _is_dashboard),
    ("log_agents", lambda d: "clients" in d and "scrape_configs" in d),  # Promtail
    ("loki", lambda d: "schema_config" in d or ("ingester" in d and "server" in d)),
    ("prometheus", lambda d: "scrape_configs" in d or "rule_files" in d or "alerting" in d),
)


def _plain_kind(doc: dict[str, Any]) -> str | None:
    return next((kind for kind, shape in _PLAIN_SHAPES if shape(doc)), None)


def _configmap_kind(doc: dict[str, Any]) -> str | None:
    data = doc.get("data")
    if not isinstance(data, dict):
        return None
    for key, value in data.items():
        if not isinstance(value, str):
            continue
        if str(key).endswith(".json") and '"panels"' in value:
            return "dashboards"
        try:
            inner = yaml.safe_load(value)
        except yaml.YAMLError:
            continue
        if isinstance(inner, dict) and _plain_kind(inner) == "rules":
            return "rules"
    return None
