"""`obsharness up`: the stack for a human, on 127.0.0.1, until Ctrl-C.

Starts the receivers and the stack like the scenarios do (production timing by
default), or only some components (`--only`), prints every URL, and stops everything
on Ctrl-C or SIGTERM. A component that dies is said and left down while the rest keeps
running; `restart NAME` on standard input starts it again.
"""

from __future__ import annotations

import queue
import signal
import sys
import threading
from pathlib import Path

from obsharness import waiting
from obsharness.backends import choose_backend
from obsharness.clients.prometheus import PrometheusClient
from obsharness.errors import ComponentDiedError, ObsharnessError
from obsharness.scenario import wait_for_targets
from obsharness.sinks.smtp import SmtpSink
from obsharness.sinks.webhook import WebhookSink
from obsharness.stack.manifest import default_manifest_path, load_manifest
from obsharness.stack.process import ProcessStack


def _stop_on_sigterm(stop: threading.Event) -> None:
    signal.signal(signal.SIGTERM, lambda *_: stop.set())


def _read_commands(commands: queue.Queue[str]) -> None:
    """Lines typed while the stack runs (`restart NAME`), handed to the main loop. Without
    a readable input (a service, a test) there are no commands, and nothing else changes."""
    try:
        for line in sys.stdin:
            commands.put(line.strip())
    except (OSError, ValueError):
        return


def _watch(stack: ProcessStack, down: set[str]) -> None:
    """A component that dies is said, with its log's tail, and left down: the rest keeps
    running, as a person debugging it wants."""
    try:
        stack.check_alive()
    except ComponentDiedError as exc:
        down.add(exc.component)
        stack.mark_down(exc.component)
        print(f"{exc}\n{exc.component} is down; the rest keeps running. Type "
              f"`restart {exc.component}` and Enter to start it again.", flush=True)


def _obey(stack: ProcessStack, command: str, down: set[str]) -> None:
    verb, _, name = command.partition(" ")
    if verb != "restart" or not name:
        print(f"unknown command {command!r}; known: restart NAME", flush=True)
        return
    try:
        stack.restart_component(name.strip())
    except (ObsharnessError, KeyError) as exc:
        print(f"could not restart {name.strip()}: {exc}", flush=True)
        return
    down.discard(name.strip())
    print(f"{name.strip()} restarted: {stack.url(name.strip())}", flush=True)


def cmd_up(backend: str, time_scale: float, run_dir: Path, *,
           stop: threading.Event | None = None, only: list[str] | None = None,
           commands: queue.Queue[str] | None = None) -> int:
    choice = choose_backend(backend)
    print(f"backend: {choice.name} ({choice.why})", flush=True)
    if choice.name != "process":
        raise ObsharnessError(choice.unsupported_reason or f"backend {choice.name} cannot start")
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        _stop_on_sigterm(stop)
    waiting.set_progress(lambda line: print(f"  ... {line}", file=sys.stderr, flush=True))
    manifest = load_manifest(default_manifest_path())
    with WebhookSink() as webhook, SmtpSink() as smtp:
        stack = ProcessStack(manifest, run_dir, time_scale=time_scale, only=only or None,
                             sink_addresses={"alert-webhook": webhook.address,
                                             "mail-relay": smtp.address})
        with stack:
            print("waiting for every scrape target to be up ...", flush=True)
            wait_for_targets(PrometheusClient(stack.url("prometheus")),
                             set(stack.rendered.scrape_jobs), timeout=90)
            for name in stack.components():
                print(f"  {name:<18} {stack.url(name)}")
            print(f"  {'alert-webhook':<18} {webhook.url}  (receives Alertmanager's webhooks)")
            print(f"  {'mail-relay':<18} smtp://{smtp.address}  (receives its emails)")
            for name, why in stack.unavailable.items():
                print(f"  {name:<18} not running: {why.reason}. To get it: {why.how_to_get}")
            if stack.chaos_token:
                print(f"chaos API token of this run (curl -H 'Authorization: Bearer "
                      f"{stack.chaos_token}' <app>/chaos); demo login: demo / "
                      f"{stack.demo_password}")
            print(f"configs and logs: {stack.run_dir}. Ctrl-C stops everything.", flush=True)
            if commands is None:
                commands = queue.Queue()
                threading.Thread(target=_read_commands, args=(commands,), daemon=True).start()
            down: set[str] = set()
            try:
                while not stop.wait(0.5):
                    _watch(stack, down)
                    while not commands.empty():
                        _obey(stack, commands.get(), down)
            except KeyboardInterrupt:
                pass
    print("stopped; nothing left running.")
    return 0
