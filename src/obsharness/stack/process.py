"""The process backend: the stack as local processes from real binaries.

Every port is chosen free at start and everything listens on 127.0.0.1.
Components start level by level in dependency order (a level's processes
start together, then we wait for all of them), and stop in reverse order.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType

import requests

from obsharness.binaries import ResolvedBinary, resolve, version_mismatch
from obsharness.errors import (
    BinaryNotFoundError,
    BinaryVersionWarning,
    ComponentStartError,
    ComponentUnavailableError,
    ConfigError,
    ManifestError,
    PortInUseError,
)
from obsharness.ports import LOOPBACK, free_port, holder_of, is_free
from obsharness.report import evidence
from obsharness.stack.executor import ProcessExecutor, tail
from obsharness.stack.manifest import CHAOS_TOKEN_ENV, Command, Component, Manifest
from obsharness.stack.prometheus_targets import wait_until_current, wait_until_rules_current
from obsharness.stack.render import RenderedStack, address_rewriter, render_stack

DEFAULT_START_TIMEOUT_S = 30.0


def components_needed(manifest: Manifest, only: list[str] | None) -> list[Component]:
    """The named components plus everything they depend on (all when only is None)."""
    if only is None:
        return list(manifest.components.values())
    wanted: set[str] = set()
    stack = list(only)
    while stack:
        name = stack.pop()
        if name in wanted or name in manifest.sinks:
            continue
        wanted.add(name)
        stack.extend(manifest.component(name).depends_on)
    return [c for c in manifest.components.values() if c.name in wanted]


def _resolve_one(component: str, program: str) -> ResolvedBinary:
    if program == "python":
        return ResolvedBinary("python", Path(sys.executable), "this interpreter")
    if program == "node":
        found = shutil.which("node")
        if found is None:
            raise ComponentUnavailableError(
                component=component, reason="Node.js (node) is not on PATH",
                how_to_get="install Node.js 20 (Debian: apt-get install nodejs)",
            )
        return ResolvedBinary("node", Path(found), "PATH")
    try:
        return resolve(program)
    except BinaryNotFoundError as exc:
        raise ComponentUnavailableError(
            component=component,
            reason=f"binary '{exc.binary}' not found (tried: {'; '.join(exc.attempts)})",
            how_to_get=exc.hint,
        ) from exc


def resolve_programs(components: list[Component]) -> dict[str, ResolvedBinary]:
    """Resolve every binary before anything starts; unavailable ones raise with how to get them.

    Keys are component names for the main program and "<component>:<binary>"
    for the binaries its init and readiness commands use.
    """
    resolved: dict[str, ResolvedBinary] = {}
    for comp in components:
        if comp.process is None:
            raise ComponentUnavailableError(
                component=comp.name, reason="the manifest gives it no process recipe",
                how_to_get="use the docker backend, or add a process section to stack.yaml",
            )
        resolved[comp.name] = _resolve_one(comp.name, comp.process.program)
        commands = list(comp.process.init)
        if isinstance(comp.readiness, Command):
            commands.append(comp.readiness)
        for command in commands:
            key = f"{comp.name}:{command.argv[0]}"
            if key not in resolved:
                resolved[key] = _resolve_one(comp.name, command.argv[0])
    return resolved


def _unprivileged_user() -> str | None:
    """The user that runs `unprivileged` components when we are root (else None)."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("OBSHARNESS_RUN_AS", "nobody")
    try:
        pwd.getpwnam(name)
    except KeyError:
        raise ComponentUnavailableError(
            component="postgres", reason=f"running as root and there is no user {name!r} to "
            f"drop privileges to", how_to_get="set OBSHARNESS_RUN_AS to an unprivileged user",
        ) from None
    return name


class ProcessStack:
    """A started process stack; also a context manager that always stops it."""

    backend = "process"

    def __init__(
        self,
        manifest: Manifest,
        run_dir: Path,
        *,
        time_scale: float,
        sink_addresses: Mapping[str, str] | None = None,
        fixed_ports: Mapping[str, int] | None = None,
        only: list[str] | None = None,
        start_timeout: float = DEFAULT_START_TIMEOUT_S,
        chaos_enabled: bool = True,
    ) -> None:
        """`chaos_enabled=False` runs the apps as deployments do: no chaos API at all."""
        self.manifest = manifest
        self.run_dir = run_dir.resolve()
        self.time_scale = time_scale
        self.sink_addresses = dict(sink_addresses or {})
        self.fixed_ports = dict(fixed_ports or {})
        self.start_timeout = start_timeout
        self._only = only
        self.selected = components_needed(manifest, only)
        self.ports: dict[str, int] = {}
        self.executors: dict[str, ProcessExecutor] = {}
        self._started: list[ProcessExecutor] = []
        self._init_commands: dict[str, list[tuple[list[str], str | None]]] = {}
        self._temp_dirs: list[Path] = []
        self._data_dirs: dict[str, Path] = {}
        self._stopped_on_purpose: set[str] = set()
        # Stopped to leave the field to an alternative (one log agent at a
        # time); restore() does not bring these back, use_only() does.
        self._parked: set[str] = set()
        self.unavailable: dict[str, ComponentUnavailableError] = {}
        # Grafana's admin password: per run, from the environment, never admin/admin.
        self.admin_password = secrets.token_hex(12)
        # Per-run database password: never a default credential, never in git.
        self.db_password = secrets.token_hex(12)
        self.demo_password = secrets.token_hex(12)
        # The apps' chaos API is off unless given a token: a new one per run.
        self.chaos_token: str | None = secrets.token_hex(16) if chaos_enabled else None
        self.rendered: RenderedStack
        self.start_s = 0.0

    # --- lifecycle ----------------------------------------------------------
    def __enter__(self) -> ProcessStack:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        began = time.monotonic()
        for comp in [c for c in self.selected if c.optional]:
            missing = [d for d in comp.depends_on if d in self.unavailable]
            try:
                if missing:  # e.g. Promtail without Loki
                    raise ComponentUnavailableError(
                        component=comp.name, reason=f"it needs {', '.join(missing)}",
                        how_to_get=str(self.unavailable[missing[0]].how_to_get),
                    )
                resolve_programs([comp])
            except ComponentUnavailableError as exc:
                self.unavailable[comp.name] = exc
        self.selected = [c for c in self.selected if c.name not in self.unavailable]
        named = [name for name in (self._only or []) if name in self.unavailable]
        if named:  # the caller asked for exactly these: a skip, never a stack without them
            raise self.unavailable[named[0]]
        programs = resolve_programs(self.selected)
        for comp in self.selected:  # one version table for both backends: say where not
            differs = version_mismatch(comp.name, programs[comp.name])
            if differs:
                warnings.warn(differs, BinaryVersionWarning, stacklevel=2)
        self._allocate_ports()
        addresses = {name: f"{LOOPBACK}:{port}" for name, port in self.ports.items()}
        missing_sinks = [
            dep for c in self.selected for dep in c.depends_on
            if dep in self.manifest.sinks and dep not in self.sink_addresses
        ]
        if missing_sinks:
            raise ManifestError(
                f"sink(s) {', '.join(sorted(set(missing_sinks)))} must be running before the "
                f"stack starts; pass their addresses as sink_addresses"
            )
        addresses.update(self.sink_addresses)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        # A partial stack (only=...) scrapes only what it runs.
        absent = frozenset(set(self.manifest.components) - {c.name for c in self.selected}
                           ) if self._only else frozenset()
        self._render_inputs = (addresses, absent)
        self.rendered = render_stack(
            self.manifest, self.run_dir, addresses=addresses, time_scale=self.time_scale,
            absent=absent,
        )
        rewrite = address_rewriter(addresses, self.manifest.service_ports())
        try:
            for comp in self.selected:
                self.executors[comp.name] = self._executor(comp, programs, rewrite)
            for level in self.manifest.start_order():
                executors = [self.executors[c.name] for c in level if c.name in self.executors]
                for executor in executors:
                    self._initialise(executor)
                self._start_level(executors)
        except BaseException:
            self.stop()  # a failed or interrupted start leaves nothing behind
            raise
        self.start_s = time.monotonic() - began
        self._write_state()

    def _allocate_ports(self) -> None:
        for comp in self.selected:
            fixed = self.fixed_ports.get(comp.name)
            if fixed is not None:
                if not is_free(fixed):
                    raise PortInUseError(component=comp.name, port=fixed, holder=holder_of(fixed))
                self.ports[comp.name] = fixed
            else:
                self.ports[comp.name] = free_port()

    def _executor(
        self, comp: Component, programs: dict[str, ResolvedBinary], rewrite: Callable[[str], str]
    ) -> ProcessExecutor:
        assert comp.process is not None
        program = programs[comp.name]
        port = self.ports[comp.name]
        user = _unprivileged_user() if comp.process.unprivileged else None
        if user is not None:
            # The unprivileged user cannot enter a root-only run dir (pytest's tmp
            # dirs are 0700): give it a private temp dir of its own.
            base = Path(tempfile.mkdtemp(prefix=f"obsharness-{comp.name}-"))
            self._temp_dirs.append(base)
            shutil.chown(base, user=user)
            data_dir, work_dir = base / "data", base
        else:
            data_dir = self.run_dir / "data" / comp.name
            work_dir = self.run_dir / "work" / comp.name
            data_dir.mkdir(parents=True, exist_ok=True)
            work_dir.mkdir(parents=True, exist_ok=True)
        self._data_dirs[comp.name] = data_dir
        for link, target in program.cwd_links.items():
            link_path = work_dir / link
            if link_path.is_symlink() or link_path.exists():
                link_path.unlink()
            link_path.symlink_to(target)
        values = {
            "host": LOOPBACK,
            "listen": f"{LOOPBACK}:{port}",
            "port": str(port),
            "config": str(self.rendered.configs.get(comp.name, "")),
            "data_dir": str(data_dir),
            "run_dir": str(self.run_dir),
            "stack_dir": str(self.manifest.stack_dir),
            "db_password": self.db_password,
            "admin_password": self.admin_password,
            "demo_password": self.demo_password,
            "grpc_port": str(free_port()),
            "binary_home": str(program.path.resolve().parent.parent),
        }

        def argv_of(command: Command) -> list[str]:
            binary = programs[f"{comp.name}:{command.argv[0]}"]
            return [str(binary.path), *(a.format(**values) for a in command.argv[1:])]

        self._init_commands[comp.name] = [
            (argv_of(c), c.stdin.format(**values) if c.stdin else None)
            for c in comp.process.init
        ]
        argv = [str(program.path), *self.rendered.argv(
            comp.name, [arg.format(**values) for arg in comp.process.args])]
        env = {k: rewrite(v.format(**values)) for k, v in comp.process.env.items()}
        env.setdefault("PORT", str(port))
        if comp.role == "app" and self.chaos_token:  # harness only: deployments leave it off
            env[CHAOS_TOKEN_ENV] = self.chaos_token
        readiness = comp.readiness
        return ProcessExecutor(
            comp.name,
            argv,
            log_path=self.run_dir / "logs" / f"{comp.name}.log",
            port=port,
            ready_url=(
                f"http://{LOOPBACK}:{port}{readiness}" if isinstance(readiness, str) else None
            ),
            ready_command=argv_of(readiness) if isinstance(readiness, Command) else None,
            env=env,
            cwd=work_dir,
            stop_signal=signal.Signals[comp.process.stop_signal],
            user=user,
        )

    def _initialise(self, executor: ProcessExecutor) -> None:
        """Run a component's init commands once (e.g. initdb), as the user it runs as."""
        data_dir = self._data_dirs[executor.name]
        if data_dir.exists() and any(data_dir.iterdir()):
            return  # initialised already (a restart after a fault)
        executor.log_path.parent.mkdir(parents=True, exist_ok=True)
        for argv, stdin in self._init_commands.get(executor.name, []):
            with executor.log_path.open("ab") as log:
                proc = subprocess.run(
                    argv, input=stdin.encode() if stdin else None, stdout=log,
                    stderr=subprocess.STDOUT, cwd=executor.cwd, user=executor.user,
                    env={**os.environ, **executor.env}, timeout=120, check=False,
                )
            if proc.returncode != 0:
                raise ComponentStartError(
                    component=executor.name,
                    reason=f"init command failed with code {proc.returncode}: {' '.join(argv)}",
                    log_path=executor.log_path, log_tail=tail(executor.log_path),
                )

    def _start_level(self, level: list[ProcessExecutor]) -> None:
        for executor in level:
            if not is_free(executor.port):
                raise PortInUseError(
                    component=executor.name, port=executor.port, holder=holder_of(executor.port)
                )
            executor.spawn()
            self._started.append(executor)
        self._wait_ready(level)

    def _wait_ready(self, level: list[ProcessExecutor]) -> None:
        pending = list(level)
        began = time.monotonic()
        deadline = began + self.start_timeout
        with requests.Session() as session:
            while pending:
                pending = [e for e in pending if not e.poll_ready(session)]
                if not pending:
                    break
                if time.monotonic() > deadline:
                    raise pending[0].timeout_error(time.monotonic() - began)
                time.sleep(0.02)

    def stop(self) -> None:
        """Stop in reverse start order; remove data dirs, keep configs and logs as evidence."""
        errors: list[BaseException] = []
        for executor in reversed(self._started):
            try:
                executor.stop()
            except BaseException as exc:  # noqa: BLE001 - keep stopping the others
                errors.append(exc)
        self._started.clear()
        shutil.rmtree(self.run_dir / "data", ignore_errors=True)
        shutil.rmtree(self.run_dir / "work", ignore_errors=True)
        for folder in self._temp_dirs:
            shutil.rmtree(folder, ignore_errors=True)
        self._temp_dirs.clear()
        state = self.run_dir / "stack.json"
        if state.exists():
            state.unlink()
        if errors:
            raise errors[0]

    def _write_state(self) -> None:
        state = {
            "backend": self.backend,
            "harness_pid": os.getpid(),
            "time_scale": self.time_scale,
            "start_s": round(self.start_s, 3),
            "components": {
                name: {
                    "pid": ex.pid,
                    "url": self.url(name),
                    "log": str(ex.log_path),
                    "ready_after_s": round(ex.ready_after_s or 0, 3),
                }
                for name, ex in self.executors.items()
            },
        }
        (self.run_dir / "stack.json").write_text(json.dumps(state, indent=2))

    # --- StackHandle ----------------------------------------------------------
    def url(self, component: str) -> str:
        if component in self.sink_addresses:
            return f"http://{self.sink_addresses[component]}"
        if component in self.unavailable:  # callers turn this into a skip naming the route
            raise self.unavailable[component]
        if component not in self.ports:
            raise ManifestError(
                f"component {component!r} is not part of this run; running: "
                f"{', '.join(sorted(self.ports))}"
            )
        return f"http://{LOOPBACK}:{self.ports[component]}"

    def components(self) -> list[str]:
        return [c.name for c in self.selected]

    def check_alive(self) -> None:
        for executor in self._started:
            if executor.name not in self._stopped_on_purpose | self._parked:
                executor.check_alive()

    def log_path(self, component: str) -> Path | None:
        executor = self.executors.get(component)
        return executor.log_path if executor else None

    def mark_down(self, component: str) -> None:
        """A component that died and is left down on purpose (`obsharness up`): no
        longer checked until restart_component brings it back."""
        self._stopped_on_purpose.add(component)

    def kill(self, component: str) -> None:
        """Crash a component (SIGKILL); restore() brings it back for the next scenario."""
        self.executors[component].kill()
        self._stopped_on_purpose.add(component)
        evidence.record("fault", f"{component} killed (SIGKILL)",
                        {"component": component, "settings": {"kill": True}, "at": time.time()})

    def stop_component(self, component: str) -> None:
        """Stop one component gracefully (a fault such as "database down")."""
        self.executors[component].stop()
        self._stopped_on_purpose.add(component)
        evidence.record("fault", f"{component} stopped",
                        {"component": component, "settings": {"stop": True}, "at": time.time()})

    def use_only(self, chosen: str, alternatives: list[str]) -> None:
        """Run `chosen` and park the other alternatives (two log agents would ship
        every line twice)."""
        for other in alternatives:
            if other != chosen and other in self.executors:
                self.executors[other].stop()
                self._parked.add(other)
        self._parked.discard(chosen)
        self.restart_component(chosen)

    def restore(self) -> None:
        """Restart what a fault stopped, so the next scenario starts from a whole stack."""
        for component in sorted(self._stopped_on_purpose):
            self.restart_component(component)

    def restart_component(self, component: str) -> None:
        """Start a stopped component again on the same port and data, and wait until ready."""
        executor = self.executors[component]
        self._stopped_on_purpose.discard(component)
        if executor.is_running():
            return
        executor.spawn()
        if executor not in self._started:
            self._started.append(executor)
        self._wait_ready([executor])

    def reload(self, components: Iterable[str]) -> list[str]:
        """Render stack/ again and take it in place: Alertmanager, and Prometheus started
        with --web.enable-lifecycle, through `POST /-/reload`; the others by a
        restart on the same port and data. A config the tools reject raises ConfigError
        (from promtool/amtool or the component's own answer) and leaves it running as it was.
        Returns the components restarted."""
        addresses, absent = self._render_inputs
        self.rendered = render_stack(self.manifest, self.run_dir, addresses=addresses,
                                     time_scale=self.time_scale, absent=absent)
        restarted: list[str] = []
        for name in components:
            executor = self.executors.get(name)
            if executor is None or name in self._parked:
                continue
            comp = self.manifest.component(name)
            args = comp.process.args if comp.process else []
            # Alertmanager always serves /-/reload; Prometheus with --web.enable-lifecycle.
            if comp.binary == "alertmanager" or (
                    comp.binary == "prometheus" and "--web.enable-lifecycle" in args):
                answer = requests.post(f"{self.url(name)}/-/reload", timeout=30)
                # Prometheus swaps its rule groups before it answers, and a new group
                # starts with the old one's lastEvaluation: only an evaluation that
                # began after the answer is surely the new group's own (one begun
                # between the POST and the swap ended a reload too early, once).
                since = time.time()
                if answer.status_code != 200:
                    raise ConfigError(component=name, path=self.rendered.configs.get(name, "?"),
                                      detail=f"refused at reload (HTTP {answer.status_code}): "
                                             f"{answer.text.strip()}",
                                      checked_with=f"{name} /-/reload")
                if comp.binary == "prometheus" and name in self.rendered.configs:
                    wait_until_current(self.url(name), self.rendered.configs[name])
                    # Each group evaluates within its interval: a pack's slow group
                    # (interval: 30m is 30 s at scale 60) must not time the reload out.
                    slowest_s = self.rendered.timing.slowest_evaluation_ms / 1000
                    wait_until_rules_current(self.url(name), self.rendered.configs[name], since,
                                             timeout=max(30.0, 2 * slowest_s + 10))
                continue
            executor.stop()
            self._stopped_on_purpose.discard(name)
            executor.spawn()
            if executor not in self._started:
                self._started.append(executor)
            self._wait_ready([executor])
            restarted.append(name)
        return restarted

    def freeze(self) -> None:
        """Stop every component's CPU use, state kept (while another parallel worker's
        scenario needs the machine); thaw() resumes them."""
        for executor in self._started:
            executor.freeze()

    def thaw(self) -> None:
        for executor in self._started:
            executor.thaw()

    def postgres_dsn(self, component: str = "postgres") -> str:
        """Connection string of the run's PostgreSQL, for checks that read the database."""
        return f"postgresql://app:{self.db_password}@{LOOPBACK}:{self.ports[component]}/app"

    def pids(self) -> dict[str, int]:
        return {name: ex.pid for name, ex in self.executors.items() if ex.pid is not None}
