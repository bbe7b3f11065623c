"""The reaper removes a SIGKILLed harness's containers and networks; a new run sweeps dead runs' leftovers.

The engine here is a stand-in speaking the subset of Docker's Engine API that
docker-py uses for list/inspect/remove (tests/ only; `make docker-smoke`
proves the same against Debian's real dockerd).
"""

from __future__ import annotations

import json
import os
import signal
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from obsharness.stack.reaper import PID_LABEL

API = "1.41"


class StandInEngine:
    """Containers and networks, each with labels; records every request."""

    def __init__(self, socket_path: Path) -> None:
        self.requests: list[tuple[str, str]] = []
        self.containers: dict[str, dict[str, Any]] = {}
        self.networks: dict[str, dict[str, Any]] = {}
        engine = self

        class Handler(BaseHTTPRequestHandler):
            def address_string(self) -> str:
                return "unix"

            def log_message(self, *_: object) -> None:
                pass

            def _send(self, code: int, body: Any = None) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                engine.requests.append(("GET", self.path))
                wanted = json.loads(parse_qs(url.query).get("filters", ["{}"])[0]).get("label", [])
                path = url.path.removeprefix(f"/v{API}")
                if path == "/version":
                    self._send(200, {"ApiVersion": API, "Version": "20.10.24"})
                elif path == "/containers/json":
                    self._send(200, [{"Id": cid, "Names": [f"/{c['Name']}"], "Labels": c["Labels"]}
                                     for cid, c in engine.matching(engine.containers, wanted)])
                elif path.startswith("/containers/") and path.endswith("/json"):
                    cid = path.split("/")[2]
                    container = engine.containers[cid]
                    self._send(200, {"Id": cid, "Name": f"/{container['Name']}",
                                     "Config": {"Labels": container["Labels"]}})
                elif path == "/networks":
                    self._send(200, [{"Id": nid, "Name": n["Name"], "Labels": n["Labels"]}
                                     for nid, n in engine.matching(engine.networks, wanted)])
                else:
                    self._send(404, {"message": f"no route {path}"})

            def do_DELETE(self) -> None:
                engine.requests.append(("DELETE", self.path))
                kind, ident = urlparse(self.path).path.removeprefix(f"/v{API}").split("/")[1:3]
                table = engine.containers if kind == "containers" else engine.networks
                self._send(204 if table.pop(ident, None) else 404)

        self.server = socketserver.ThreadingUnixStreamServer(str(socket_path), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @staticmethod
    def matching(table: dict[str, dict[str, Any]],
                 wanted: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        for ident, item in table.items():
            pairs = {f"{k}={v}" for k, v in item["Labels"].items()} | set(item["Labels"])
            if all(w in pairs for w in wanted):
                yield ident, item

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[tuple[StandInEngine, str]]:
    path = tmp_path / "docker.sock"
    stand_in = StandInEngine(path)
    try:
        yield stand_in, f"unix://{path}"
    finally:
        stand_in.close()


HARNESS = """
import os, sys, time
from obsharness.stack import reaper
print(os.getpid(), reaper.ensure_reaper(), flush=True)
time.sleep(120)
"""


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


def test_a_killed_harness_loses_its_containers_and_networks_but_no_others(
        engine: tuple[StandInEngine, str]) -> None:
    stand_in, host = engine
    harness = subprocess.Popen([sys.executable, "-c", HARNESS], stdout=subprocess.PIPE,
                               text=True, env={**os.environ, "DOCKER_HOST": host})
    assert harness.stdout is not None
    harness_pid, reaper_pid = map(int, harness.stdout.readline().split())
    mine = {PID_LABEL: str(harness_pid), "io.obsharness.run": "obsh-1"}
    other = {PID_LABEL: "1", "io.obsharness.run": "obsh-2"}  # a live run: never touched
    stand_in.containers.update({"c1": {"Name": "obsh-1-prometheus", "Labels": mine},
                                "c2": {"Name": "obsh-2-prometheus", "Labels": other}})
    stand_in.networks.update({"n1": {"Name": "obsh-1", "Labels": mine},
                              "n2": {"Name": "obsh-2", "Labels": other}})
    time.sleep(0.5)
    assert not [r for r in stand_in.requests if r[0] == "DELETE"], "removed while alive"

    harness.send_signal(signal.SIGKILL)
    harness.wait(timeout=10)
    deadline = time.monotonic() + 20
    while (stand_in.containers.keys() != {"c2"} or stand_in.networks.keys() != {"n2"}) \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    assert set(stand_in.containers) == {"c2"}, stand_in.requests
    assert set(stand_in.networks) == {"n2"}, stand_in.requests
    deadline = time.monotonic() + 10
    while not _gone(reaper_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(reaper_pid), "the reaper outlived its work"


def test_ensure_reaper_starts_one_reaper_per_process(engine: tuple[StandInEngine, str]) -> None:
    _, host = engine
    script = ("from obsharness.stack.reaper import ensure_reaper\n"
              "print(ensure_reaper() == ensure_reaper())\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "DOCKER_HOST": host}, timeout=60, check=True)
    assert done.stdout.strip() == "True"


def test_a_new_run_sweeps_what_dead_runs_left_and_spares_live_ones(
        engine: tuple[StandInEngine, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from obsharness.stack.docker import sweep_leftovers

    stand_in, host = engine
    monkeypatch.setenv("DOCKER_HOST", host)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    live = {PID_LABEL: str(os.getpid()), "io.obsharness.run": "obsh-live"}
    gone = {PID_LABEL: dead, "io.obsharness.run": "obsh-dead"}
    stand_in.containers.update({"c1": {"Name": "obsh-live-prometheus", "Labels": live},
                                "c2": {"Name": "obsh-dead-prometheus", "Labels": gone},
                                "c3": {"Name": "someone-elses", "Labels": {"app": "x"}}})
    stand_in.networks.update({"n1": {"Name": "obsh-live", "Labels": live},
                              "n2": {"Name": "obsh-dead", "Labels": gone}})

    assert sorted(sweep_leftovers()) == ["obsh-dead", "obsh-dead-prometheus"]
    assert set(stand_in.containers) == {"c1", "c3"}
    assert set(stand_in.networks) == {"n1"}
