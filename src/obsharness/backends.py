"""Which backend runs the stack, and why."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

BACKENDS = ("auto", "process", "docker", "external")
IMPLEMENTED = ("process", "docker", "external")


@dataclass(frozen=True)
class BackendChoice:
    name: str
    why: str
    unsupported_reason: str | None = None


def docker_engine_answers(timeout: float = 1.0, host: str | None = None) -> tuple[bool, str]:
    """Ping a Docker engine's unix socket: `host`, else DOCKER_HOST, else the default."""
    host = host or os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        return False, f"DOCKER_HOST={host} is not a unix socket; not probed"
    path = host.removeprefix("unix://")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            reply = sock.recv(256)
    except OSError as exc:
        return False, f"no Docker engine answers at {host} ({exc.strerror or exc})"
    if b" 200 " in reply.split(b"\r\n", 1)[0]:
        return True, f"Docker engine answers at {host}"
    return False, f"{host} answered {reply[:40]!r}, not a Docker engine"


def choose_backend(requested: str) -> BackendChoice:
    """The backend that runs, and why: auto prefers docker when an engine answers."""
    if requested not in BACKENDS:
        raise ValueError(f"unknown backend {requested!r}; choose one of {', '.join(BACKENDS)}")
    if requested == "process":
        return BackendChoice("process", "asked for with --stack-backend=process")
    if requested == "external":
        return BackendChoice("external", "asked for with --stack-backend=external")
    answers, detail = docker_engine_answers()
    if requested == "docker":
        if answers:
            return BackendChoice("docker", f"asked for; {detail}")
        return BackendChoice("docker", "asked for", unsupported_reason=(
            f"{detail}. Start a Docker engine (or set DOCKER_HOST), or use "
            "--stack-backend=process"))
    if answers:
        return BackendChoice("docker", f"auto: {detail}, so the stack runs from images")
    return BackendChoice("process", f"auto: {detail}; the process backend runs")
