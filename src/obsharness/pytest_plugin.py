"""pytest plugin: command-line options and the default fixtures.

Expensive things are session-scoped (the stack, the webhook receiver);
each scenario gets a cheap reset (faults cleared, alerts quiet, inbox empty).
This is the only module of the library that imports pytest.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

from obsharness import config_findings, origins, quiet, rule_sources, scrape_needs, waiting
from obsharness.am_judge import AlertmanagerJudge, component_features
from obsharness.backends import BACKENDS, BackendChoice, choose_backend
from obsharness.clients.alertmanager import AlertmanagerClient
from obsharness.clients.grafana import GrafanaClient
from obsharness.clients.loki import LokiClient
from obsharness.clients.prometheus import PrometheusClient
from obsharness.errors import (
    ComponentUnavailableError,
    ConfigError,
    ObsharnessError,
    warning_policy,
)
from obsharness.faults import ChaosClient
from obsharness.interrupts import unwind_on_sigterm
from obsharness.load import TrafficGenerator
from obsharness.ports import LOOPBACK
from obsharness.replay import targets as replay_targets
from obsharness.replay.session import Replay
from obsharness.replay.targets import ReplayServer
from obsharness.report import evidence
from obsharness.rule_sources import RuleSet
from obsharness.scenario import Quiescence, wait_for_targets
from obsharness.sinks.alertmanager_api import AlertmanagerApiSink
from obsharness.sinks.webhook import WebhookSink
from obsharness.stack.executor import tail
from obsharness.stack.external import ExternalConfig, ExternalStack, load_external
from obsharness.stack.handle import StackHandle
from obsharness.stack.manifest import LOG_AGENTS, Manifest, default_manifest_path, load_manifest
from obsharness.stack.process import ProcessStack
from obsharness.turns import Turns

if TYPE_CHECKING:  # aiosmtpd is imported only by a run that starts the mail receiver
    from obsharness.sinks.smtp import SmtpSink

DEFAULT_TIME_SCALE = 60.0

# Every sentence ships with the package: pytest loads these with the plugin, so a
# team's repository that installs obsharness has all of them, with no conftest of its own.
STEP_MODULES = (
    "obsharness.steps.common",
    "obsharness.steps.alerting",
    "obsharness.steps.config",
    "obsharness.steps.metrics",
    "obsharness.steps.practical_case",
    "obsharness.steps.visualisation",
    "obsharness.steps.logs",
    "obsharness.steps.infrastructure",
    "obsharness.steps.replay",
)
pytest_plugins = list(STEP_MODULES)

# The tags features use, registered here so that --strict-markers accepts them in any
# repository: pytest-bdd turns each tag into a marker.
MARKERS = {
    "slow": "starts real processes (a stack or a pytest subprocess)",
    "alerting": "the alerting flow",
    "metrics": "the metrics flow",
    "logs": "the logs flow",
    "browser": "scenarios that drive headless Chromium",
    "exclusive": "needs the machine's CPU to itself: in a parallel run it runs last, alone, "
                 "the other workers' stacks frozen",
    "visualisation": "the visualisation flow (dashboards)",
    "replay": "series replayed through the real pipeline (no app needed)",
    "static": "config checks with the tools' own validators",
    "infrastructure": "Terraform and Ansible stages",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("obsharness", "observability stack harness")
    group.addoption(
        "--stack-backend", choices=BACKENDS, default=os.environ.get("OBSHARNESS_BACKEND", "auto"),
        help="where the stack runs: auto (docker when an engine answers, else process), "
        "process, docker, external. Default: auto.",
    )
    group.addoption(
        "--time-scale", type=float,
        default=float(os.environ.get("OBSHARNESS_TIME_SCALE", DEFAULT_TIME_SCALE)),
        help=f"divide every duration in the rendered configs by N (1 = production timing). "
        f"Default: {DEFAULT_TIME_SCALE:g}.",
    )
    group.addoption(
        "--require-all", action="store_true", default=False,
        help="fail, instead of skip, scenarios whose components are unavailable (nightly CI).",
    )
    group.addoption(
        "--run-dir", default=os.environ.get("OBSHARNESS_RUN_DIR", "reports/run"),
        help="where rendered configs and component logs go. Default: reports/run.",
    )
    group.addoption(
        "--stack-only", default=os.environ.get("OBSHARNESS_STACK_ONLY", ""),
        metavar="COMPONENTS",
        help="start only these components (comma-separated) and what they depend on; "
        "targets of the others are not scraped. Default: the whole manifest.",
    )
    group.addoption(
        "--external-config", default=os.environ.get("OBSHARNESS_EXTERNAL"),
        help="YAML with the URLs of a deployed stack, for --stack-backend=external.",
    )
    group.addoption(
        "--lint-fatal", action="store_true",
        default=os.environ.get("OBSHARNESS_LINT_FATAL", "") not in ("", "0"),
        help="make promtool's rule lint (duplicate rules) an error, as promtool "
        "--lint-fatal does; by default each finding is a warning naming its file and rule.",
    )
    group.addoption(
        "--min-rule-coverage", type=float, default=None, metavar="SHARE",
        help="fail the run when less than this share (0..1) of the alerting rules was "
        "exercised by a scenario, a promtool test, a timing table or a replay "
        "(reports/rule-coverage.json).",
    )
    group.addoption(
        "--stack-port", action="append", default=[], metavar="COMPONENT=PORT",
        help="pin a component to a host port (repeatable); by default every port is free-chosen.",
    )


@dataclass(frozen=True)
class HarnessOptions:
    backend: str
    time_scale: float
    require_all: bool
    run_dir: Path
    fixed_ports: dict[str, int] = field(default_factory=dict)
    external_config: str | None = None
    only: list[str] | None = None


def parse_port_pins(pins: list[str]) -> dict[str, int]:
    ports: dict[str, int] = {}
    env = os.environ.get("OBSHARNESS_PORTS", "")
    for pin in [p for p in env.split(",") if p.strip()] + pins:
        name, sep, port = pin.partition("=")
        if not sep or not port.strip().isdigit():
            raise pytest.UsageError(f"--stack-port expects COMPONENT=PORT, got {pin!r}")
        ports[name.strip()] = int(port)
    return ports


def worker_id(config: pytest.Config) -> str | None:
    """'gw0', 'gw1'... in a pytest-xdist worker; None in a serial run or the controller."""
    workerinput = getattr(config, "workerinput", None)
    return str(workerinput["workerid"]) if workerinput else None


def parallel_workers(config: pytest.Config) -> int:
    """How many pytest-xdist workers this run asked for (0: serial)."""
    return int(getattr(config.option, "numprocesses", 0) or 0)


def _base_run_dir(config: pytest.Config) -> Path:
    """--run-dir as given: a serial run's, or the parent of every parallel worker's."""
    return Path(str(config.getoption("--run-dir"))).resolve()


def _options(config: pytest.Config) -> HarnessOptions:
    scale = float(config.getoption("--time-scale"))
    if scale < 1:
        raise pytest.UsageError(f"--time-scale must be >= 1 (1 = production timing), got {scale}")
    run_dir = _base_run_dir(config)
    worker = worker_id(config)
    return HarnessOptions(
        backend=str(config.getoption("--stack-backend")),
        time_scale=scale,
        require_all=bool(config.getoption("--require-all")),
        # Each parallel worker starts its own stack: its own configs, data and logs.
        run_dir=run_dir / worker if worker else run_dir,
        fixed_ports=parse_port_pins(list(config.getoption("--stack-port"))),
        external_config=config.getoption("--external-config"),
        only=[c.strip() for c in str(config.getoption("--stack-only")).split(",") if c.strip()]
        or None,
    )


class _live:  # noqa: N801 - a namespace
    """Progress lines that reach the terminal while pytest captures output (a worker's
    too: its standard error is the controller's terminal)."""

    writer: Callable[[str], None] | None = None

    @classmethod
    def say(cls, line: str) -> None:
        if cls.writer is not None:
            cls.writer(line)


def _live_writer(config: pytest.Config) -> Callable[[str], None]:
    capture = config.pluginmanager.getplugin("capturemanager")
    prefix = f"[{worker_id(config)}] " if worker_id(config) else ""

    def write(line: str) -> None:
        # pytest's capture of fd 2 is lifted for the line: print() to sys.__stderr__
        # alone is captured with the test's output and shown only after a failure.
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            sys.stderr.write(f"{prefix}{line}\n")
            sys.stderr.flush()
    return write


def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any,
                               scenario: Any) -> None:
    """With progress on: which scenario starts, in its own words."""
    del request
    _live.say(f"> {feature.name}: {scenario.name}")


def pytest_configure(config: pytest.Config) -> None:
    options = _options(config)  # bad options are usage errors before anything is collected
    for name, meaning in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {meaning}")
    # The harness's warning policy ahead of the project's own lines, which win over it.
    config.getini("filterwarnings")[:0] = warning_policy()
    # pytest-bdd writes its Cucumber JSON at the end without creating the folder: a
    # fresh repository has no reports/ yet.
    cucumber = getattr(config.option, "cucumber_json_path", None)
    if cucumber and not worker_id(config):
        Path(cucumber).parent.mkdir(parents=True, exist_ok=True)
    if parallel_workers(config) and not worker_id(config):
        _check_parallel(options)
    if os.environ.get("OBSHARNESS_PROGRESS") == "1":
        _live.writer = _live_writer(config)
        every = float(os.environ.get("OBSHARNESS_PROGRESS_EVERY_S", waiting.PROGRESS_EVERY_S))
        waiting.set_progress(lambda line: _live.say(f"  ... {line}"), every_s=every)
    from obsharness.report_plugin import ReportCollector

    # Workers collect their scenarios' results; the controller (or a serial run)
    # writes the one living document.
    reports_dir = _base_run_dir(config).parent
    config.pluginmanager.register(
        ReportCollector(config, reports_dir, options, worker=worker_id(config),
                        parallel=parallel_workers(config) > 0), "obsharness-report")
    # A CI runner that times out sends SIGTERM: tear the stack down as on Ctrl-C
    # instead of dying with children left behind.
    unwind_on_sigterm()


def _check_parallel(options: HarnessOptions) -> None:
    """What cannot be shared by parallel workers, each with its own stack."""
    if options.fixed_ports:
        raise pytest.UsageError(
            f"--stack-port pins {', '.join(sorted(options.fixed_ports))} to one port, but "
            "with -n every worker starts its own stack: pin ports in a serial run (-n 0)")
    if options.backend == "external":
        raise pytest.UsageError(
            "--stack-backend=external runs against one deployed stack that parallel workers "
            "would inject faults into at once: run it serially (-n 0)")


@pytest.fixture(scope="session")
def harness_options(pytestconfig: pytest.Config) -> HarnessOptions:
    return _options(pytestconfig)


@pytest.fixture(scope="session")
def _turns(pytestconfig: pytest.Config) -> Iterator[Turns | None]:
    worker = worker_id(pytestconfig)
    if not worker:
        yield None
        return
    turns = Turns(_base_run_dir(pytestconfig) / ".turns.lock", worker=int(worker[2:]),
                  workers=int(getattr(pytestconfig, "workerinput", {})["workercount"]))
    try:
        yield turns
    finally:
        turns.close()


@pytest.fixture(autouse=True)
def _parallel_turn(request: pytest.FixtureRequest, _turns: Turns | None) -> Iterator[None]:
    """Under pytest-xdist every test takes a shared turn of the machine; one tagged
    @exclusive (it needs the CPU to itself) runs while the other workers' stacks are
    frozen. Serial runs: nothing to do."""
    if _turns is None:
        yield
        return
    exclusive = request.node.get_closest_marker("exclusive") is not None
    waited = _turns.begin(exclusive=exclusive, while_waiting=_frozen_stacks)
    if exclusive:  # the report says what running alone cost
        request.node.user_properties.append(("waited_for_the_machine_s", f"{waited:.1f}"))
    try:
        yield
    finally:
        _turns.end()


# The stack of this worker once started: frozen while the worker waits for its turn.
_running_stacks: list[StackHandle] = []


@contextlib.contextmanager
def _frozen_stacks() -> Iterator[None]:
    for running in _running_stacks:
        running.freeze()
    try:
        yield
    finally:
        for running in _running_stacks:
            running.thaw()


@pytest.fixture(scope="session")
def stack_manifest() -> Manifest:
    return load_manifest(default_manifest_path())


@pytest.fixture(scope="session")
def rule_set(stack_manifest: Manifest, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[RuleSet]:
    """Every rule file of the stack: prometheus.yml's rule_files and the plain files
    extracted from the manifest's rule sources (PrometheusRule, mixins...)."""
    folder = tmp_path_factory.mktemp("rule-sources")
    try:
        yield rule_sources.rule_set(stack_manifest, folder)
    finally:
        origins.forget(folder)


@contextlib.contextmanager
def skip_if_unavailable(options: HarnessOptions) -> Iterator[None]:
    """Turn a component missing inside a step into a skip that names it and how to
    get it (a failure with --require-all)."""
    try:
        yield
    except ComponentUnavailableError as exc:
        _unavailable(options, exc)


def _unavailable(options: HarnessOptions, exc: ComponentUnavailableError) -> None:
    message = f"{exc.component} unavailable: {exc.reason}. How to get it: {exc.how_to_get}"
    if options.require_all:
        pytest.fail(f"--require-all: {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def backend_choice(harness_options: HarnessOptions) -> BackendChoice:
    choice = choose_backend(harness_options.backend)
    if choice.unsupported_reason:
        pytest.fail(f"backend {choice.name}: {choice.unsupported_reason}", pytrace=False)
    return choice


@pytest.fixture(scope="session")
def external_config(backend_choice: BackendChoice, harness_options: HarnessOptions,
                    stack_manifest: Manifest) -> ExternalConfig | None:
    if backend_choice.name != "external":
        return None
    try:
        return load_external(harness_options.external_config, stack_manifest)
    except ObsharnessError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def docker_network(backend_choice: BackendChoice) -> Iterator[Any]:
    """The docker backend's run network, made first: the receivers listen on its gateway."""
    if backend_choice.name != "docker":
        yield None
        return
    from obsharness.stack.docker import create_run_network

    network = create_run_network()
    try:
        yield network
    finally:
        network.remove()


@pytest.fixture(scope="session")
def sink_host(docker_network: Any) -> str:
    """Where the receivers listen: loopback, or the docker run network's gateway (a
    host-only bridge address) so that containers can reach them."""
    if docker_network is None:
        return LOOPBACK
    from obsharness.stack.docker import gateway_of

    return gateway_of(docker_network)


@pytest.fixture(scope="session")
def webhook_sink(stack_manifest: Manifest, sink_host: str,
                 external_config: ExternalConfig | None) -> Iterator[WebhookSink]:
    if external_config is not None and not external_config.receivers_reachable:
        # The deployed Alertmanager cannot reach this machine: read its decisions instead.
        api = AlertmanagerClient(external_config.urls["alertmanager"])
        with AlertmanagerApiSink(api) as polled:
            yield polled
        return
    spec = stack_manifest.sinks["alert-webhook"]
    with WebhookSink(path=spec.path, host=sink_host) as sink:
        yield sink


@pytest.fixture(scope="session")
def smtp_sink(sink_host: str, external_config: ExternalConfig | None) -> Iterator[SmtpSink]:
    from obsharness.sinks.smtp import SmtpSink

    reachable = external_config is None or external_config.receivers_reachable
    with SmtpSink(host=sink_host, reachable=reachable) as sink:
        yield sink


def _start(running: StackHandle, options: HarnessOptions, *, for_scenario: bool) -> None:
    try:
        running.start()
    except ComponentUnavailableError as exc:
        _unavailable(options, exc)
    except ConfigError as exc:
        if for_scenario:  # the @static scenario reports the config; the rest is not run
            pytest.skip(config_findings.not_run_reason(exc))
        pytest.fail(str(exc), pytrace=False)
    except ObsharnessError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def stack(
    harness_options: HarnessOptions, stack_manifest: Manifest, webhook_sink: WebhookSink,
    smtp_sink: SmtpSink, backend_choice: BackendChoice, docker_network: Any,
    external_config: ExternalConfig | None, request: pytest.FixtureRequest,
) -> Iterator[StackHandle]:
    """The whole stack on the chosen backend, started once per session and always stopped."""
    sinks = {"alert-webhook": webhook_sink.address, "mail-relay": smtp_sink.address}
    running: StackHandle
    if external_config is not None:
        running = ExternalStack(stack_manifest, external_config)
    elif backend_choice.name == "docker":
        from obsharness.stack.docker import DockerStack

        running = DockerStack(stack_manifest, harness_options.run_dir,
                              time_scale=harness_options.time_scale, sink_addresses=sinks,
                              network=docker_network, only=harness_options.only)
    else:
        running = ProcessStack(stack_manifest, harness_options.run_dir,
                               time_scale=harness_options.time_scale, sink_addresses=sinks,
                               fixed_ports=harness_options.fixed_ports, only=harness_options.only)
    first = getattr(request, "_pyfuncitem", None)
    _start(running, harness_options, for_scenario=first is not None and _is_scenario(first))
    _running_stacks.append(running)
    began = time.time()
    try:
        if external_config is None:
            wait_for_targets(PrometheusClient(running.url("prometheus")),
                             set(running.rendered.scrape_jobs), timeout=30)
        yield running
    finally:
        _running_stacks.remove(running)
        if external_config is None:
            # The longest scrape of each job, faults included: the next render keeps
            # each job's timeout above it (scrape_needs.py).
            with contextlib.suppress(ObsharnessError, OSError):
                scrape_needs.record(stack_manifest.stack_dir, scrape_needs.measure(
                    PrometheusClient(running.url("prometheus")), time.time() - began,
                    scrape_needs.rendered_jobs(running.rendered.configs["prometheus"])))
        running.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A step that finds its component unavailable (a kill on the external backend, an
    email the deployed relay cannot hand over) skips with the reason, or fails with
    --require-all."""
    try:
        return (yield)
    except ComponentUnavailableError as exc:
        _unavailable(_options(item.config), exc)
        raise
    except ConfigError as exc:
        if _is_scenario(item) and not config_findings.is_finding(exc):
            pytest.skip(config_findings.not_run_reason(exc))
        raise


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A scenario failing on the harness's own error (a config refused, a component that
    would not start) shows that error's message, which names file, line and the tool's
    words, not pytest's walk through fixtures and steps to it."""
    report = yield
    error = call.excinfo.value if call.excinfo is not None else None
    if report.failed and isinstance(error, ObsharnessError) and _is_scenario(item):
        report.longrepr = f"{type(error).__name__}: {error}"
    return report


def _is_scenario(item: pytest.Item) -> bool:
    """A pytest-bdd scenario (the library's own unit tests never turn errors into skips)."""
    from obsharness.report_plugin import scenario_template

    return scenario_template(item) is not None


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any],  # noqa: ARG001 - hook signature
                         request: pytest.FixtureRequest) -> Generator[None, object, object]:
    """A fixture that finds its component unavailable (a test's own stack with only=loki
    on a machine without Loki) skips the test the same way, never errors it."""
    try:
        return (yield)
    except ComponentUnavailableError as exc:
        _unavailable(_options(request.config), exc)
        raise
    except ConfigError as exc:
        item = getattr(request, "_pyfuncitem", None)
        if item is not None and _is_scenario(item):
            pytest.skip(config_findings.not_run_reason(exc))
        raise


@pytest.fixture(scope="session")
def prometheus(stack: StackHandle) -> PrometheusClient:
    return PrometheusClient(stack.url("prometheus"))


@pytest.fixture(scope="session")
def grafana(stack: StackHandle, harness_options: HarnessOptions) -> GrafanaClient:
    """Grafana's API; scenarios that need it skip (or fail with --require-all) without it."""
    if "grafana" in stack.unavailable:
        _unavailable(harness_options, stack.unavailable["grafana"])
    env = stack.manifest.component("grafana").process
    user = env.env.get("GF_SECURITY_ADMIN_USER", "admin") if env else "admin"
    return GrafanaClient(stack.url("grafana"), user=user, password=stack.admin_password)


@pytest.fixture(scope="session")
def loki(stack: StackHandle, harness_options: HarnessOptions) -> LokiClient:
    """Loki itself; log scenarios skip (or fail with --require-all) without it."""
    if "loki" in stack.unavailable:
        _unavailable(harness_options, stack.unavailable["loki"])
    return LokiClient(stack.url("loki"))


@pytest.fixture(params=LOG_AGENTS)
def log_agent(request: pytest.FixtureRequest, stack: StackHandle, harness_options: HarnessOptions,
              loki: LokiClient,  # noqa: ARG001 - a missing Loki is the first skip reason
              ) -> str:
    """Each log scenario runs once per agent, with only that agent shipping lines."""
    agent = str(request.param)
    if agent not in stack.components():
        _unavailable(harness_options, stack.unavailable.get(agent) or ComponentUnavailableError(
            component=agent, reason="not part of this run", how_to_get="run the full manifest"))
    stack.use_only(agent, list(LOG_AGENTS))
    # The report says which agent proved what.
    request.node.user_properties.append(("log_agent", agent))
    return agent


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> Iterator[None]:
    """After every other plugin: a step sentence no definition matches fails the
    collection, naming file and line; parallel workers order the tests longest first."""
    if worker_id(config):
        _group_by_shared_fixtures(items)  # before xdist reads the marks (--dist loadgroup)
    yield
    from obsharness.step_check import undefined_steps

    undefined = undefined_steps(items, session)
    if undefined:
        raise pytest.UsageError(
            f"{len(undefined)} step(s) match no step definition:\n  " + "\n  ".join(undefined))
    if worker_id(config):
        # Longest first, so no worker starts a long test while the others run out of
        # work. Every worker sorts the same way: xdist still sees identical collections.
        # Tests sharing a module-scoped fixture move together; the rest (every
        # scenario) one by one.
        from obsharness import durations

        order = durations.longest_first(
            items, durations.load(_durations_path(config)),
            # @exclusive tests last: by then the others run short tests, little is waited.
            last=lambda item: item.get_closest_marker("exclusive") is not None,
            group=_group_of, nodeid=_recorded_nodeid)
        items[:] = [items[i] for i in order]


_WIDER_SCOPES = ("class", "module", "package")


def _group_by_shared_fixtures(items: list[pytest.Item]) -> None:
    """Tests that share a module-scoped fixture (a stack started for a module) go to one
    worker, in order, as an xdist_group: spread over workers, each would start its own,
    and interleaved with other modules' tests it would be stopped and started again.
    Scenarios and other tests share only session fixtures and go one by one."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)  # pytest's record of what a test uses
        defs = info.name2fixturedefs.values() if info is not None else []
        if any(chain and chain[-1].scope in _WIDER_SCOPES for chain in defs):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


def _group_of(item: pytest.Item) -> str:
    mark = item.get_closest_marker("xdist_group")
    if mark is None:
        return item.nodeid
    return str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))


def _recorded_nodeid(item: pytest.Item) -> str:
    """The node id durations were recorded under: --dist=loadgroup appends '@group',
    after any parameters (which may hold an '@' of their own: oncall@example.com)."""
    nodeid = item.nodeid
    at = nodeid.rfind("@")
    return nodeid[:at] if at > nodeid.rfind("]") else nodeid


def _durations_path(config: pytest.Config) -> Path:
    """pytest-split's file of recorded durations (its --durations-path when given)."""
    given = config.getoption("durations_path", None)
    return Path(str(given)) if given else config.rootpath / ".test_durations"


@pytest.hookimpl(tryfirst=True)  # before pytest-bdd's own, whatever the plugins' load order
def pytest_bdd_apply_tag(tag: str, function: Callable[..., object]) -> Callable[..., object]:
    """@logs scenarios also need the log_agent fixture, so pytest parametrizes them per agent."""
    marked = getattr(pytest.mark, tag)(function)
    if tag == "logs":
        marked = pytest.mark.usefixtures("log_agent")(marked)
    return cast(Callable[..., object], marked)


@pytest.fixture(scope="session")
def alertmanager_judge(stack_manifest: Manifest, tmp_path_factory: pytest.TempPathFactory,
                       ) -> Iterator[AlertmanagerJudge]:
    """A private Alertmanager of the pinned version that answers behaviour tables
    (see obsharness.am_judge); started at the first table of the session."""
    with AlertmanagerJudge(features=component_features(stack_manifest.component("alertmanager")),
                           workdir=tmp_path_factory.mktemp("am-judge")) as judge:
        yield judge


@pytest.fixture(scope="session")
def alertmanager(stack: StackHandle) -> AlertmanagerClient:
    return AlertmanagerClient(stack.url("alertmanager"))


@pytest.fixture(scope="session")
def chaos_clients(stack: StackHandle, stack_manifest: Manifest) -> dict[str, ChaosClient]:
    return {
        name: ChaosClient(name, stack.url(name), token=stack.chaos_token)
        for name, comp in stack_manifest.components.items()
        if comp.role == "app" and name in stack.components()
    }


@pytest.fixture(scope="session")
def replay_server(stack: StackHandle, sink_host: str,
                  external_config: ExternalConfig | None) -> Iterator[ReplayServer]:
    """The scrape targets series replays are served from, found by the stack's
    Prometheus through a file_sd file beside its rendered config."""
    if external_config is not None:
        pytest.skip("a series replay feeds the harness's own Prometheus; the external "
                    "backend's Prometheus is only read")
    prometheus = next(c.name for c in stack.manifest.components.values()
                      if c.binary == "prometheus")
    sd_dir = stack.rendered.configs[prometheus].parent / replay_targets.SD_DIR
    with ReplayServer(sd_dir, host=sink_host) as server:
        yield server


@pytest.fixture
def replays() -> Iterator[list[Replay]]:
    """The replays of one scenario: their targets leave Prometheus when it ends."""
    running: list[Replay] = []
    try:
        yield running
    finally:
        for replay in running:
            replay.stop()


class TrafficPool:
    """Traffic generators of one scenario; all stopped when it ends."""

    def __init__(self, stack: StackHandle) -> None:
        self.stack = stack
        self.generators: dict[str, TrafficGenerator] = {}

    def start(self, component: str, rate_per_s: float) -> TrafficGenerator:
        self.stop(component)
        generator = TrafficGenerator(self.stack.url(component), rate_per_s=rate_per_s).start()
        self.generators[component] = generator
        return generator

    def stop(self, component: str | None = None) -> None:
        names = [component] if component else list(self.generators)
        for name in names:
            generator = self.generators.pop(name, None)
            if generator is not None:
                generator.stop()


@dataclass
class ScenarioContext:
    """Per-scenario state that steps share: when it began, what was injected."""

    started_at: float
    facts: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def traffic(stack: StackHandle) -> Iterator[TrafficPool]:
    pool = TrafficPool(stack)
    try:
        yield pool
    finally:
        pool.stop()


def settle_notifications(stack: StackHandle, prometheus: PrometheusClient,
                         alertmanager: AlertmanagerClient, webhook_sink: WebhookSink) -> None:
    """No alert active, and every alert notified firing notified resolved too. Until
    its resolution is flushed (within a group_interval), Alertmanager's notification
    log holds the alert as notified: the same alert firing again in the next scenario
    would not be notified before repeat_interval (a scenario failed on that, twice
    in a row, in a mutation campaign)."""
    timing = stack.rendered.timing
    Quiescence(prometheus, alertmanager, timing,
               quiet.load_exemptions(stack.manifest.stack_dir)).wait()
    left = webhook_sink.wait_resolved(
        timeout=(timing.group_wait_ms + timing.group_interval_ms) / 1000 + 2.0)
    if left:  # a receiver without send_resolved: nothing to see, the wait was its bound
        evidence.record("check", "notified firing, no resolution seen before the next "
                        "scenario", left)


@pytest.fixture
def clean_stack(
    stack: StackHandle,
    prometheus: PrometheusClient,
    alertmanager: AlertmanagerClient,
    chaos_clients: dict[str, ChaosClient],
    webhook_sink: WebhookSink,
    smtp_sink: SmtpSink,
) -> Iterator[ScenarioContext]:
    """Reset between scenarios: stack whole and alive, no faults, no silence, no alert
    active, empty inboxes."""
    stack.restore()
    stack.check_alive()
    # Without a token (a deployment whose chaos API is off) no fault can have been injected.
    faults = list(chaos_clients.values()) if stack.chaos_token else []
    for client in faults:
        client.clear()
    alertmanager.expire_silences_by("obsharness")
    settle_notifications(stack, prometheus, alertmanager, webhook_sink)
    webhook_sink.clear()
    smtp_sink.clear()
    context = ScenarioContext(started_at=time.time())
    try:
        yield context
    finally:
        with contextlib.suppress(ObsharnessError):
            stack.restore()
        for client in faults:
            with contextlib.suppress(ObsharnessError):
                client.clear()


@pytest.hookimpl(optionalhook=True)
def pytest_bdd_step_error(
    request: pytest.FixtureRequest, step: Any, **_: Any
) -> None:
    """Attach the evidence a failing step needs: component logs and notifications."""
    sections: list[str] = []
    if "stack" in request.fixturenames:
        with contextlib.suppress(pytest.FixtureLookupError, ObsharnessError):
            running: StackHandle = request.getfixturevalue("stack")
            for name in running.components():
                sections.append(f"--- {name} ({running.log_path(name)})\n"
                                f"{tail(running.log_path(name), 20)}")
    if "webhook_sink" in request.fixturenames:
        with contextlib.suppress(pytest.FixtureLookupError):
            sink: WebhookSink = request.getfixturevalue("webhook_sink")
            notes = [n.summary() for n in sink.notifications()] or ["none"]
            sections.append("--- webhook notifications\n" + "\n".join(notes))
    if sections:
        request.node.add_report_section(
            "call", f"obsharness evidence for step '{step.name}'", "\n".join(sections)
        )
