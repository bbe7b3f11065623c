"""The stack manifest (stack/stack.yaml): components, ports, configs, readiness, dependencies."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from obsharness.errors import ManifestError

_COMPONENT_KEYS = {
    "role", "description", "port", "readiness", "config", "depends_on", "after",
    "binary", "image", "build", "process", "container", "optional", "only_alert_source",
    "config_tree",
}
_CONTAINER_KEYS = {"command", "env", "mounts", "data"}
_PROCESS_KEYS = {"program", "args", "env", "init", "unprivileged", "stop_signal"}
_SINK_KEYS = {"port", "path", "description"}
_SOURCE_KINDS = ("rules", "dashboards", "loki_rules", "rule_tests")
_SOURCE_KEYS = {"glob", "render", "jsonnet", "jpath", "name"}


# The manifest's log-agent components (a test keeps the two in step): pytest
# parametrizes log scenarios with them before any manifest is read.
LOG_AGENTS = ("promtail", "alloy")
# The apps' chaos API listens only when this variable holds a token. The
# harness's backends set a new one per run; deployments never set it.
CHAOS_TOKEN_ENV = "CHAOS_TOKEN"  # noqa: S105 - a variable name, not a secret


@dataclass(frozen=True)
class Command:
    """A command the process backend runs; argv[0] is a binary name it resolves."""

    argv: tuple[str, ...]
    stdin: str | None = None


@dataclass(frozen=True)
class ProcessSpec:
    """How the process backend runs a component.

    `program` is a binary name resolved by obsharness.binaries, "python" for
    the harness's own interpreter, or "node". Args, env values and init
    commands may use the placeholders {listen} {port} {config} {data_dir}
    {run_dir} {stack_dir} {db_password} {admin_password} {demo_password};
    env values also get service
    addresses rewritten like configs. `init` runs once on an empty data dir;
    `unprivileged` components run as an unprivileged user when the harness is
    root (PostgreSQL refuses root).
    """

    program: str
    args: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    init: tuple[Command, ...] = ()
    unprivileged: bool = False
    stop_signal: str = "SIGTERM"


@dataclass(frozen=True)
class BuildSpec:
    """An image the project builds: a context under stack/ and its Dockerfile."""

    context: str
    dockerfile: str = "Dockerfile"  # relative to the context


@dataclass(frozen=True)
class ContainerSpec:
    """How the component runs from its image (docker backend, compose, Ansible).

    Paths are the official images' documented ones. `command` replaces the
    image's CMD (empty: keep it); `mounts` maps a stack/ sub-path to the
    container path it is mounted on, read-only; `data` is the container path
    of the component's persistent volume. Env values may use {db_password},
    {admin_password} and {demo_password}; each backend fills them with a
    secret of its run, compose and Ansible with the deployment's.
    """

    command: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    mounts: dict[str, str] = field(default_factory=dict)
    data: str | None = None

    def env_with(self, secrets: dict[str, str]) -> dict[str, str]:
        """The environment with {db_password}-style placeholders replaced."""
        out = {}
        for key, raw in self.env.items():
            value = raw
            for placeholder, secret in secrets.items():
                value = value.replace(placeholder, secret)
            out[key] = value
        return out


@dataclass(frozen=True)
class Component:
    name: str
    role: str
    port: int
    readiness: str | Command  # an HTTP path, or a command that exits 0 when ready
    description: str = ""
    config: str | None = None
    # The folder rendered with the config (its templates, rules, provisioning): by
    # default the config's first path segment, stack/<component>/ of the reference
    # layout; a team's manifest names its own (monitoring/alertmanager).
    config_tree: str | None = None
    depends_on: tuple[str, ...] = ()
    # Start after these when they run, without needing them: a log agent tails
    # whichever apps a partial stack has.
    after: tuple[str, ...] = ()
    binary: str | None = None
    image: str | None = None
    build: BuildSpec | None = None
    process: ProcessSpec | None = None
    container: ContainerSpec | None = None
    # Optional components that cannot run are left out, and only the scenarios
    # that need them skip; a required one missing skips everything.
    optional: bool = False
    # Alertmanager only: this stack's Prometheus is its only source of alerts, so a
    # route no rule reaches is an error, not advice.
    only_alert_source: bool = False

    @property
    def starts_after(self) -> set[str]:
        return set(self.depends_on) | set(self.after)

    @property
    def config_dir(self) -> str | None:
        """The folder, relative to the manifest, that holds this component's config tree."""
        if self.config_tree:
            return self.config_tree.rstrip("/")
        return self.config.split("/", 1)[0] if self.config else None


@dataclass(frozen=True)
class Sink:
    """A receiver the harness provides in tests (webhook, SMTP)."""

    name: str
    port: int
    path: str = "/"
    description: str = ""


@dataclass(frozen=True)
class Source:
    """Where monitoring code of one kind comes from, in any of the shapes teams keep it:
    files matching a glob under stack/ (each document's shape read from its content), a
    command's output (`helm template`, `kustomize build`), or a jsonnet mixin."""

    kind: str  # rules | dashboards | loki_rules
    glob: str | None = None
    render: tuple[str, ...] = ()
    jsonnet: str | None = None
    jpath: tuple[str, ...] = ()
    name: str = ""

    def __str__(self) -> str:
        if self.glob:
            return self.name or self.glob
        if self.render:
            return self.name or " ".join(self.render)
        return self.name or f"jsonnet {self.jsonnet}"


# Without a `sources` entry of its kind, dashboards come from grafana/dashboards/*.json;
# rules always come from prometheus.yml's rule_files too, as Prometheus loads them.
DEFAULT_SOURCES = {"dashboards": (Source("dashboards", glob="grafana/dashboards/*.json"),)}


@dataclass(frozen=True)
class Manifest:
    path: Path
    components: dict[str, Component]
    sinks: dict[str, Sink]
    sources: dict[str, tuple[Source, ...]] = field(default_factory=dict)

    def sources_of(self, kind: str) -> tuple[Source, ...]:
        return self.sources.get(kind) or DEFAULT_SOURCES.get(kind) or ()

    @property
    def stack_dir(self) -> Path:
        return self.path.parent

    @property
    def project_dir(self) -> Path:
        """The repository the manifest belongs to (its reports/, its .cache/)."""
        return project_dir_of(self.path)

    def component(self, name: str) -> Component:
        try:
            return self.components[name]
        except KeyError:
            known = ", ".join(sorted(self.components))
            raise ManifestError(
                f"{self.path}: no component named {name!r}; the manifest has: {known}"
            ) from None

    def start_order(self) -> list[list[Component]]:
        """Components in dependency levels: every level only needs earlier ones."""
        remaining = dict(self.components)
        done: set[str] = set(self.sinks)
        levels: list[list[Component]] = []
        while remaining:
            level = [c for c in remaining.values() if c.starts_after <= done]
            if not level:
                cycle = _cycle_members(remaining)
                raise ManifestError(
                    f"{self.path}: dependency cycle among {', '.join(sorted(cycle))}; "
                    f"check their depends_on and after lists"
                )
            levels.append(sorted(level, key=lambda c: c.name))
            for c in level:
                done.add(c.name)
                del remaining[c.name]
        return levels

    def service_ports(self) -> dict[str, int]:
        """Service name -> container port, for components and sinks alike."""
        ports = {name: c.port for name, c in self.components.items()}
        ports.update({name: s.port for name, s in self.sinks.items()})
        return ports


def _cycle_members(blocked: dict[str, Component]) -> set[str]:
    """Of the components that cannot start, those on a cycle (not those merely behind one)."""
    cyclic = dict(blocked)
    while True:
        depended_on = {d for c in cyclic.values() for d in c.starts_after}
        leaves = [name for name in cyclic if name not in depended_on]
        if not leaves:
            return set(cyclic)
        for name in leaves:
            del cyclic[name]


def _check_keys(where: str, data: dict[str, Any], allowed: set[str], path: Path) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise ManifestError(
            f"{path}: {where} has unknown key(s) {', '.join(sorted(unknown))}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )


def _require(where: str, data: dict[str, Any], key: str, kind: type, path: Path) -> Any:
    value = data.get(key)
    if not isinstance(value, kind):
        raise ManifestError(
            f"{path}: {where}.{key} must be a {kind.__name__}, got {value!r}"
        )
    return value


def _component(name: str, raw: Any, path: Path) -> Component:
    where = f"components.{name}"
    if not isinstance(raw, dict):
        raise ManifestError(f"{path}: {where} must be a mapping")
    _check_keys(where, raw, _COMPONENT_KEYS, path)
    process = None
    if "process" in raw:
        praw = raw["process"]
        if not isinstance(praw, dict):
            raise ManifestError(f"{path}: {where}.process must be a mapping")
        _check_keys(f"{where}.process", praw, _PROCESS_KEYS, path)
        program = praw.get("program") or raw.get("binary")
        if not isinstance(program, str):
            raise ManifestError(f"{path}: {where} needs process.program or binary")
        process = ProcessSpec(
            program=program,
            args=tuple(str(a) for a in praw.get("args", [])),
            env={str(k): str(v) for k, v in (praw.get("env") or {}).items()},
            init=tuple(_command(f"{where}.process.init", c, path) for c in praw.get("init", [])),
            unprivileged=bool(praw.get("unprivileged", False)),
            stop_signal=str(praw.get("stop_signal", "SIGTERM")),
        )
    container = _container(where, raw.get("container"), path) if "container" in raw else None
    readiness = raw.get("readiness")
    ready: str | Command
    if isinstance(readiness, str) and readiness.startswith("/"):
        ready = readiness
    elif isinstance(readiness, dict) and set(readiness) == {"command"}:
        ready = _command(f"{where}.readiness", readiness["command"], path)
    else:
        raise ManifestError(
            f"{path}: {where}.readiness must be an HTTP path such as /-/ready or "
            f"{{command: [...]}}, got {readiness!r}"
        )
    return Component(
        name=name,
        role=_require(where, raw, "role", str, path),
        port=_require(where, raw, "port", int, path),
        readiness=ready,
        description=str(raw.get("description", "")),
        config=raw.get("config"),
        config_tree=_tree(where, raw, path),
        depends_on=tuple(raw.get("depends_on", [])),
        after=tuple(raw.get("after", [])),
        binary=raw.get("binary"),
        image=raw.get("image"),
        build=_build(where, raw["build"], path) if "build" in raw else None,
        process=process,
        container=container,
        optional=bool(raw.get("optional", False)),
        only_alert_source=bool(raw.get("only_alert_source", False)),
    )


def _build(where: str, raw: Any, path: Path) -> BuildSpec:
    if not isinstance(raw, dict) or not isinstance(raw.get("context"), str):
        raise ManifestError(f"{path}: {where}.build must be {{context, dockerfile}}")
    spec = BuildSpec(str(raw["context"]), str(raw.get("dockerfile", "Dockerfile")))
    if not (path.parent / spec.context / spec.dockerfile).is_file():
        raise ManifestError(f"{path}: {where}.build: no {spec.dockerfile} in stack/{spec.context}")
    return spec


def _container(where: str, raw: Any, path: Path) -> ContainerSpec:
    if not isinstance(raw, dict):
        raise ManifestError(f"{path}: {where}.container must be a mapping")
    _check_keys(f"{where}.container", raw, _CONTAINER_KEYS, path)
    mounts = {str(k): str(v) for k, v in (raw.get("mounts") or {}).items()}
    relative = [m for m in mounts.values() if not m.startswith("/")]
    if relative:
        raise ManifestError(
            f"{path}: {where}.container.mounts targets must be absolute: {relative}")
    # Absolute sources are host paths (the Docker socket); the rest live in stack/.
    absent = [m for m in mounts if not m.startswith("/") and not (path.parent / m).exists()]
    if absent:
        raise ManifestError(f"{path}: {where}.container.mounts sources not in stack/: {absent}")
    return ContainerSpec(
        command=tuple(str(a) for a in raw.get("command", [])),
        env={str(k): str(v) for k, v in (raw.get("env") or {}).items()},
        mounts=mounts,
        data=str(raw["data"]) if raw.get("data") else None,
    )


def _command(where: str, raw: Any, path: Path) -> Command:
    if isinstance(raw, dict) and isinstance(raw.get("argv"), list):
        stdin = raw.get("stdin")
        return Command(tuple(str(a) for a in raw["argv"]), str(stdin) if stdin else None)
    if isinstance(raw, list) and raw:
        return Command(tuple(str(a) for a in raw))
    raise ManifestError(f"{path}: {where} must be a list of arguments or {{argv, stdin}}")


def load_manifest(path: Path | str) -> Manifest:
    """Load and check stack.yaml; errors name the file and the offending key."""
    path = Path(path).resolve()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"stack manifest {path} does not exist") from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        at = f":{line + 1}" if line is not None else ""
        raise ManifestError(f"{path}{at}: not valid YAML: {exc}") from None
    except (OSError, UnicodeDecodeError, RecursionError) as exc:
        raise ManifestError(f"{path}: cannot be read ({type(exc).__name__}: {exc})") from None
    try:
        return _manifest(path, raw)
    except (TypeError, AttributeError, KeyError, ValueError, OSError) as exc:
        raise ManifestError(f"{path}: a key has a value of the wrong type ({exc}); "
                            "see stack/stack.yaml of obsharness for each key's shape") from None


def _manifest(path: Path, raw: Any) -> Manifest:
    if not isinstance(raw, dict) or raw.get("version") != 1:
        raise ManifestError(f"{path}: expected a mapping with 'version: 1'")
    sinks: dict[str, Sink] = {}
    for name, sraw in (raw.get("sinks") or {}).items():
        _check_keys(f"sinks.{name}", sraw, _SINK_KEYS, path)
        sinks[name] = Sink(
            name=name,
            port=_require(f"sinks.{name}", sraw, "port", int, path),
            path=str(sraw.get("path", "/")),
            description=str(sraw.get("description", "")),
        )
    components = {
        name: _component(name, craw, path) for name, craw in (raw.get("components") or {}).items()
    }
    known = set(components) | set(sinks)
    for comp in components.values():
        for key, names in (("depends_on", comp.depends_on), ("after", comp.after)):
            missing = [d for d in names if d not in known]
            if missing:
                raise ManifestError(
                    f"{path}: components.{comp.name}.{key} names unknown "
                    f"{', '.join(missing)}; known: {', '.join(sorted(known))}"
                )
        if comp.config and not (path.parent / comp.config).is_file():
            raise ManifestError(
                f"{path}: components.{comp.name}.config points at {comp.config}, "
                f"which does not exist under {path.parent}"
            )
    manifest = Manifest(path=path, components=components, sinks=sinks,
                        sources=_sources(raw.get("sources"), path))
    manifest.start_order()  # fail now on cycles, not at start-up
    return manifest


def _tree(where: str, raw: dict[str, Any], path: Path) -> str | None:
    tree = raw.get("config_tree")
    if tree is None:
        return None
    config = str(raw.get("config") or "")
    if not isinstance(tree, str) or not config.startswith(tree.rstrip("/") + "/"):
        raise ManifestError(f"{path}: {where}.config_tree must be a folder that holds its "
                            f"config {config!r}, got {tree!r}")
    return tree


def _sources(raw: Any, path: Path) -> dict[str, tuple[Source, ...]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ManifestError(f"{path}: sources must be a mapping of {', '.join(_SOURCE_KINDS)}")
    _check_keys("sources", raw, set(_SOURCE_KINDS), path)
    found: dict[str, tuple[Source, ...]] = {}
    for kind, entries in raw.items():
        if not isinstance(entries, list):
            raise ManifestError(f"{path}: sources.{kind} must be a list")
        found[kind] = tuple(_source(kind, i, entry, path) for i, entry in enumerate(entries))
    return found


def _source(kind: str, index: int, raw: Any, path: Path) -> Source:
    where = f"sources.{kind}[{index}]"
    if isinstance(raw, str):
        raw = {"glob": raw}
    if not isinstance(raw, dict):
        raise ManifestError(f"{path}: {where} must be a glob or a mapping")
    _check_keys(where, raw, _SOURCE_KEYS, path)
    given = [k for k in ("glob", "render", "jsonnet") if k in raw]
    if len(given) != 1:
        raise ManifestError(f"{path}: {where} needs exactly one of glob, render (a command) "
                            f"or jsonnet (a mixin file), got {given or 'none'}")
    render = raw.get("render")
    if render is not None and (not isinstance(render, list) or not render
                               or not all(isinstance(a, str) for a in render)):
        raise ManifestError(f"{path}: {where}.render must be a command as a list of "
                            f"arguments, such as [helm, template, charts/monitoring]")
    if kind in ("loki_rules", "rule_tests") and "glob" not in raw:
        what = "Loki ruler files" if kind == "loki_rules" else "promtool test files"
        raise ManifestError(f"{path}: {where}: {what} are named by a glob")
    jpath = raw.get("jpath") or []
    if not isinstance(jpath, list):
        raise ManifestError(f"{path}: {where}.jpath must be a list of folders")
    for key in ("glob", "jsonnet"):
        if key in raw and not isinstance(raw[key], str):
            raise ManifestError(f"{path}: {where}.{key} must be a string")
    if raw.get("jsonnet") and not (path.parent / raw["jsonnet"]).is_file():
        raise ManifestError(f"{path}: {where}.jsonnet points at {raw['jsonnet']}, which does "
                            f"not exist under {path.parent}")
    return Source(kind, glob=raw.get("glob"), render=tuple(render or ()),
                  jsonnet=raw.get("jsonnet"), jpath=tuple(str(j) for j in jpath),
                  name=str(raw.get("name", "")))


# Where a project keeps its manifest: a team's repository has obsharness.yaml at its
# root (written by `obsharness init`, pointing at the files where they are); the
# reference project keeps stack/stack.yaml beside the configs it deploys.
MANIFEST_NAMES = ("obsharness.yaml", "stack/stack.yaml")


def project_dir_of(manifest_path: Path) -> Path:
    """The repository root a manifest belongs to."""
    path = Path(manifest_path)
    return path.parent if path.name == "obsharness.yaml" else path.parent.parent


def find_manifest(start: Path) -> Path | None:
    """The nearest project manifest in start or its parents."""
    for folder in (start, *start.parents):
        for name in MANIFEST_NAMES:
            candidate = folder / name
            if candidate.is_file():
                return candidate
    return None


def default_manifest_path() -> Path:
    """The project's manifest: $OBSHARNESS_STACK, else obsharness.yaml or
    stack/stack.yaml found from the cwd upwards."""
    import os

    env = os.environ.get("OBSHARNESS_STACK")
    if env:
        return Path(env)
    here = Path.cwd().resolve()
    found = find_manifest(here)
    if found is not None:
        return found
    raise ManifestError(
        f"no obsharness.yaml or stack/stack.yaml found in {here} or its parents; run "
        f"`obsharness init` in your repository, run from the project root, or set "
        f"OBSHARNESS_STACK to the manifest's path"
    )
