"""Bad input never crashes the harness: every loader, fed truncated, wrongly typed,
deeply nested, huge and non-UTF-8 versions of a real file, either reads it or
raises a ConfigError (ManifestError for the manifest) that names the file and,
where known, the line. Never a traceback, never a hang.

Each loader is the harness's whole path for that file, as a run meets it:
validating and rendering the stack (promtool, amtool, the routing check, the
Alertmanager lint, time compression), the static dashboard checks, the manifest.
$OBSHARNESS_FUZZ_EXAMPLES sets the examples per loader (CI: a fixed 8).
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from obsharness import (
    alertrouting,
    am_lint,
    dashboards,
    loki_rules,
    origins,
    rule_reach,
    rule_sources,
)
from obsharness.errors import ConfigError, ObsharnessError
from obsharness.stack.manifest import ManifestError, load_manifest
from obsharness.stack.render import render_stack
from tests.conftest import STACK

EXAMPLES = int(os.environ.get("OBSHARNESS_FUZZ_EXAMPLES", "8"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])
ADDRESSES = {"prometheus": "127.0.0.1:9090", "alertmanager": "127.0.0.1:9093"}
WRONG = st.sampled_from([None, 0, -1, 3.5, True, "", "x", [], {}, [1, "a"], {"a": None},
                         "5m", "-1s", "${X}", "\u00e9\u0000"])


def _paths(node: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield at
    items = node.items() if isinstance(node, dict) else \
        enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        yield from _paths(child, (*at, key))


def _replace(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy = dict(node) if isinstance(node, dict) else list(node)
    copy[path[0]] = _replace(copy[path[0]], path[1:], value)  # type: ignore[index]
    return copy


def _nest(value: Any, depth: int, kind: str) -> Any:
    for _ in range(depth):
        value = [value] if kind == "list" else {"k": value}
    return value


@st.composite
def mutated(draw: st.DrawFn, seed: str, kind: str) -> bytes:
    """A real file (`kind` "yaml" or "json"), broken one of the ways real files break."""
    how = draw(st.sampled_from(["truncate", "retype", "retype", "nest", "huge", "bytes",
                                "garbage"]))
    dump: Callable[[Any], str] = json.dumps if kind == "json" else \
        (lambda d: yaml.safe_dump(d, allow_unicode=True, sort_keys=False))
    data = json.loads(seed) if kind == "json" else yaml.safe_load(seed)
    if how == "truncate":
        return seed.encode()[:draw(st.integers(0, max(0, len(seed.encode()) - 1)))]
    if how == "retype":
        paths = list(_paths(data))
        path = draw(st.sampled_from(paths))
        return dump(_replace(data, path, draw(WRONG))).encode()
    if how == "nest":
        path = draw(st.sampled_from(list(_paths(data))[:200]))
        depth = draw(st.sampled_from([50, 500, 3000]))
        return dump(_replace(data, path, _nest("x", depth, draw(st.sampled_from(
            ["list", "map"]))))).encode() if depth < 1000 else \
            (seed + "\n" + "[" * depth + "]" * depth).encode()
    if how == "huge":
        paths = [p for p in _paths(data) if p]
        path = draw(st.sampled_from(paths)) if paths else ()
        return dump(_replace(data, path, "y" * draw(st.sampled_from([10_000, 300_000]))
                             )).encode()
    if how == "bytes":
        cut = draw(st.integers(0, len(seed)))
        return seed.encode()[:cut] + b"\xff\xfe\x00" + seed.encode()[cut:]
    return draw(st.binary(max_size=200))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("fuzz") / "stack"
    shutil.copytree(STACK, target, ignore=shutil.ignore_patterns("__pycache__",
                                                                  "node_modules", "apps"))
    (target / "apps").symlink_to(STACK / "apps")
    return target


def _judge(path: Path, load: Callable[[], object], errors: tuple[type[Exception], ...]
           = (ConfigError,)) -> None:
    """`load` reads the broken file or raises a clear error naming it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # advice about a broken file is not the point here
        message = None
        try:
            load()
        except errors as exc:
            message = str(exc)
        except ObsharnessError as exc:
            pytest.fail(f"{type(exc).__name__} instead of a ConfigError for {path}: {exc}")
    if message is not None and path.name not in message:
        pytest.fail(f"the error does not name {path.name}: {message}")


@contextmanager
def _with(path: Path, content: bytes) -> Iterator[None]:
    original = path.read_bytes()
    path.write_bytes(content)
    try:
        yield
    finally:
        path.write_bytes(original)


def _render(stack: Path, tmp_path: Path) -> Callable[[], object]:
    def run() -> object:
        manifest = load_manifest(stack / "stack.yaml")
        return render_stack(manifest, tmp_path / "run", addresses=ADDRESSES, time_scale=60)
    return run


RULES = (STACK / "prometheus" / "rules" / "alerts.yml").read_text()
AM = (STACK / "alertmanager" / "alertmanager.yml").read_text()
DASHBOARD = (STACK / "grafana" / "dashboards" / "application.json").read_text()
MANIFEST = (STACK / "stack.yaml").read_text()
PROMTAIL = (STACK / "promtail" / "promtail.yml").read_text()


@FUZZ
@given(content=mutated(RULES, "yaml"))
def test_a_broken_rule_file(stack: Path, tmp_path: Path, content: bytes) -> None:
    path = stack / "prometheus" / "rules" / "alerts.yml"
    with _with(path, content):
        _judge(path, _render(stack, tmp_path))
        _judge(path, lambda: rule_reach.load_rules([path], stack))
        _judge(path, lambda: alertrouting.possible_alerts([path]))


@FUZZ
@given(content=mutated(AM, "yaml"))
def test_a_broken_alertmanager_config(stack: Path, tmp_path: Path, content: bytes) -> None:
    path = stack / "alertmanager" / "alertmanager.yml"
    with _with(path, content):
        _judge(path, _render(stack, tmp_path))
        _judge(path, lambda: alertrouting.check(path, []))
        _judge(path, lambda: am_lint.lint(path))


@FUZZ
@given(content=mutated(DASHBOARD, "json"))
def test_a_broken_dashboard(stack: Path, content: bytes) -> None:
    path = stack / "grafana" / "dashboards" / "application.json"
    datasources = dashboards.provisioned_datasources(stack / "grafana" / "provisioning")
    with _with(path, content):
        _judge(path, lambda: dashboards.static_problems(path, datasources))
        _judge(path, lambda: dashboards.queries(path, dashboards.load(path), datasources))


@FUZZ
@given(content=mutated(MANIFEST, "yaml"))
def test_a_broken_manifest(stack: Path, content: bytes) -> None:
    path = stack / "stack.yaml"
    with _with(path, content):
        _judge(path, lambda: load_manifest(path), (ConfigError, ManifestError))


@FUZZ
@given(content=mutated(PROMTAIL, "yaml"))
def test_a_broken_promtail_config(stack: Path, tmp_path: Path, content: bytes) -> None:
    path = stack / "promtail" / "promtail.yml"
    with _with(path, content):
        _judge(path, _render(stack, tmp_path))


@FUZZ
@given(content=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode),
                         st.just(b"\xff\xfe" * 1000), st.just(b"{" * 5000)))
def test_a_broken_alloy_config(stack: Path, tmp_path: Path, content: bytes) -> None:
    path = stack / "alloy" / "config.alloy"
    with _with(path, content):
        _judge(path, _render(stack, tmp_path))


# ---- monitoring code in the shapes teams keep it (tests/fixtures/team_shapes) ----------

TEAM = Path(__file__).parent / "fixtures" / "team_shapes"
CRD = (TEAM / "k8s" / "rules" / "node-rules.yaml").read_text()
CONFIGMAPS = (TEAM / "k8s" / "dashboards" / "configmaps.yaml").read_text()
V2 = (TEAM / "dashboards" / "node-v2.json").read_text()
LOKI_RULES = (TEAM / "loki" / "rules" / "team-logs.yml").read_text()


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.test_team_shapes import team_stack

    return team_stack(tmp_path_factory.mktemp("fuzz-team"), advice_taken=True)


def _sources(stack: Path) -> Callable[[], object]:
    def run() -> object:
        manifest = load_manifest(stack / "stack.yaml")
        folder = stack.parent / "extracted"
        try:
            return rule_sources.rule_set(manifest, folder)
        finally:
            origins.forget(folder)
    return run


@FUZZ
@given(content=mutated(CRD, "yaml"))
def test_a_broken_prometheus_rule_resource(team: Path, tmp_path: Path, content: bytes) -> None:
    path = team / "team" / "k8s" / "rules" / "node-rules.yaml"
    with _with(path, content):
        _judge(path, _sources(team))
        _judge(path, _render(team, tmp_path))


@FUZZ
@given(content=mutated(CONFIGMAPS, "yaml"))
def test_a_broken_configmap_list_of_dashboards(team: Path, content: bytes) -> None:
    path = team / "team" / "k8s" / "dashboards" / "configmaps.yaml"
    with _with(path, content):
        _judge(path, lambda: dashboards.static_problems(path, []))


@FUZZ
@given(content=mutated(V2, "json"))
def test_a_broken_v2_dashboard(team: Path, content: bytes) -> None:
    path = team / "team" / "dashboards" / "node-v2.json"
    datasources = dashboards.provisioned_datasources(team / "grafana" / "provisioning")
    with _with(path, content):
        _judge(path, lambda: dashboards.static_problems(path, datasources))


@FUZZ
@given(content=mutated(LOKI_RULES, "yaml"))
def test_a_broken_loki_rule_file(team: Path, tmp_path: Path, content: bytes) -> None:
    path = team / "team" / "loki" / "rules" / "team-logs.yml"
    with _with(path, content):
        _judge(path, lambda: loki_rules.read(path))
        _judge(path, _render(team, tmp_path))
