"""`obsharness up`: the stack for a human, on 127.0.0.1, until Ctrl-C.

Starts the receivers and the stack like the scenarios do (production timing by
default), prints every URL, and stops everything on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

from obsharness import waiting
from obsharness.backends import choose_backend
from obsharness.clients.prometheus import PrometheusClient
from obsharness.errors import ObsharnessError
from obsharness.scenario import wait_for_targets
from obsharness.sinks.smtp import SmtpSink
from obsharness.sinks.webhook import WebhookSink
from obsharness.stack.manifest import default_manifest_path, load_manifest
from obsharness.stack.process import ProcessStack


def _stop_on_sigterm(stop: threading.Event) -> None:
    signal.signal(signal.SIGTERM, lambda *_: stop.set())


def cmd_up(backend: str, time_scale: float, run_dir: Path, *,
           stop: threading.Event | None = None) -> int:
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
        stack = ProcessStack(manifest, run_dir, time_scale=time_scale,
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
            try:
                while not stop.wait(1.0):
                    stack.check_alive()
            except KeyboardInterrupt:
                pass
    print("stopped; nothing left running.")
    return 0
