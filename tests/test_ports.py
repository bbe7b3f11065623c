"""The port allocator: never the same port twice, never where client connections land."""

from __future__ import annotations

import os
import socket

import pytest

from obsharness import ports
from obsharness.ports import LOOPBACK, ephemeral_range, free_port, holder_of, is_free


def test_free_ports_are_never_handed_out_twice() -> None:
    ports = [free_port() for _ in range(300)]
    assert len(set(ports)) == len(ports)


def test_free_ports_avoid_the_ephemeral_range_of_outgoing_connections() -> None:
    low, high = ephemeral_range()
    if low <= 21000 and high >= 64535:
        pytest.skip(f"this kernel gives outgoing connections ports {low}-{high}: none to avoid")
    ports = [free_port() for _ in range(50)]
    assert not [p for p in ports if low <= p <= high], (low, high)


def test_a_free_port_can_be_bound_and_then_is_reported_taken_with_its_holder() -> None:
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind((LOOPBACK, port))
        server.listen()
        assert not is_free(port)
        assert (holder_of(port) or "").startswith(f"pid {os.getpid()} (")
    assert is_free(port)


def test_a_port_another_harness_process_claimed_is_not_handed_out_until_it_exits() -> None:
    """Parallel workers each start a stack: a port one picked is never picked by another,
    and the claim dies with the process that made it."""
    import subprocess
    import sys

    code = ("import sys; from obsharness.ports import free_port; "
            "print(free_port(), flush=True); sys.stdin.read()")
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        assert is_free(port)  # nothing listens there yet: only the claim protects it
        assert not ports._Claims.claim(port)
    finally:
        child.communicate("", timeout=10)
    assert ports._Claims.claim(port)
