"""Every mutant of a project's monitoring code: the files are found by what
they are (a rule file, an Alertmanager config...), not by name, so a team's
own files under stack/ are mutated like the sample ones."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterable, Iterator
from pathlib import Path

from obsharness.errors import MutationError
from obsharness.mutation import (
    ops_alertmanager,
    ops_code,
    ops_grafana,
    ops_logagents,
    ops_prometheus,
    ops_rules,
    yamltext,
)
from obsharness.mutation.layout import Layout, layout_of
from obsharness.mutation.model import FLOWS, Mutant


def _files(layout: Layout) -> Iterator[Path]:
    root = layout.project
    for pattern in layout.patterns():
        for path in sorted(root.glob(pattern)):
            relative = path.relative_to(root)
            # promtool's test files are the tests, not the code under test.
            if path.is_file() and not layout.skipped(relative) and \
                    not ("tests" in relative.parts or path.name.endswith(_TEST_SUFFIXES)):
                yield path


_TEST_SUFFIXES = (".test.yml", ".test.yaml", "_test.yml", "_test.yaml")


def mutants_of_file(path: str, text: str) -> Iterator[Mutant]:
    """The mutants of one file, by its kind; none for a file of no known kind. A YAML
    anchor used twice yields its mutants once."""
    seen: set[str] = set()
    for mutant in _mutants_by_kind(path, text):
        if mutant.id not in seen:
            seen.add(mutant.id)
            yield mutant


def _mutants_by_kind(path: str, text: str) -> Iterator[Mutant]:
    if path.endswith((".yml", ".yaml")):
        node = yamltext.compose(text)
        if ops_rules.is_rule_file(node):
            yield from ops_rules.mutants(path, text)
        elif ops_alertmanager.is_alertmanager_config(node):
            yield from ops_alertmanager.mutants(path, text)
        elif ops_logagents.is_promtail_config(node):
            yield from ops_logagents.promtail_mutants(path, text)
        elif ops_prometheus.is_prometheus_config(node):
            yield from ops_prometheus.mutants(path, text)
        elif ops_grafana.is_datasource_provisioning(node):
            yield from ops_grafana.datasource_mutants(path, text)
    elif path.endswith(".alloy"):
        yield from ops_logagents.alloy_mutants(path, text)
    elif path.endswith(".json"):
        yield from ops_grafana.dashboard_mutants(path, text)
    elif path.endswith(".tf"):
        yield from ops_code.terraform_mutants(path, text)
    elif "/filter_plugins/" in path and path.endswith(".py"):
        yield from ops_code.ansible_filter_mutants(path, text)
    elif path.startswith("stack/apps/") and path.endswith((".py", ".js")):
        yield from ops_code.app_mutants(path, text)


def all_mutants(project: Path) -> list[Mutant]:
    """Every mutant of the project's monitoring code, in file order: stack/ and infra/ of
    the reference layout, the team's own files of a repository with obsharness.yaml."""
    found: list[Mutant] = []
    layout = layout_of(project)
    seen: set[Path] = set()
    loki = _loki_rule_files(layout)
    for file in _files(layout):
        if file in seen or file.name in ("package.json", "package-lock.json", "stack.yaml",
                                         "docker-compose.yml"):
            continue
        seen.add(file)
        rel = file.relative_to(project).as_posix()
        try:
            text = file.read_text()
        except (OSError, UnicodeDecodeError):
            continue
        mutants = list(mutants_of_file(rel, text))
        if file.resolve() in loki:  # LogQL rules: only Loki's ruler and the logs flow see them
            mutants = [dataclasses.replace(m, flow="logs") for m in mutants]
        found.extend(mutants)
    return found


def _loki_rule_files(layout: Layout) -> set[Path]:
    """The Loki ruler files the project's manifest names (its sources.loki_rules)."""
    from obsharness import loki_rules
    from obsharness.stack.manifest import load_manifest

    manifest = load_manifest(layout.project / layout.manifest)
    return {p.resolve() for p in loki_rules.files(manifest)}


def select(mutants: list[Mutant], only: Iterable[str] = (), max_mutants: int | None = None,
           seed: int = 0) -> list[Mutant]:
    """The mutants of the chosen flows; at most `max_mutants`, drawn with `seed` so a
    rerun picks the same ones, spread over the flows (round robin)."""
    chosen = set(only)
    unknown = chosen - set(FLOWS)
    if unknown:
        raise MutationError(f"--only: unknown flow(s) {', '.join(sorted(unknown))}; "
                         f"choose from {', '.join(FLOWS)}")
    pool = [m for m in mutants if not chosen or m.flow in chosen]
    if max_mutants is None or max_mutants >= len(pool):
        return pool
    rng = random.Random(seed)
    by_flow: dict[str, list[Mutant]] = {}
    for mutant in pool:
        by_flow.setdefault(mutant.flow, []).append(mutant)
    for group in by_flow.values():
        rng.shuffle(group)
    picked: list[Mutant] = []
    while len(picked) < max_mutants:
        for flow in FLOWS:
            if by_flow.get(flow) and len(picked) < max_mutants:
                picked.append(by_flow[flow].pop())
    order = {m.id: i for i, m in enumerate(pool)}
    return sorted(picked, key=lambda m: order[m.id])
