"""The tools' validators on stack/, and proof that the rule unit tests can fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from obsharness import toolchecks
from obsharness.backends import BACKENDS, choose_backend
from tests.conftest import STACK


def test_rule_unit_tests_pass_on_the_deployable_rules() -> None:
    result = toolchecks.run_rule_tests(sorted((STACK / "prometheus" / "tests").glob("*.test.yml")))
    assert result.ok, result.output
    assert "SUCCESS" in result.output


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("for: 2m", "for: 1m"),  # fires too early: the 2m eval must see no alert
        ("for: 2m", "for: 3m"),  # fires too late
        ("> 0.05", "> 0.03"),  # 4% would fire
        ("> 0.05", "> 0.07"),  # 6% would not fire
    ],
)
def test_rule_unit_tests_catch_a_timing_or_threshold_change(
    stack_copy: Path, old: str, new: str
) -> None:
    rules = stack_copy / "prometheus" / "rules" / "alerts.yml"
    assert old in rules.read_text()
    rules.write_text(rules.read_text().replace(old, new))
    result = toolchecks.run_rule_tests(sorted((stack_copy / "prometheus" / "tests").glob("*.test.yml")))
    assert not result.ok, f"the rule tests did not notice {old!r} -> {new!r}"


def test_backend_choice_says_why(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert set(BACKENDS) == {"auto", "process", "docker", "external"}
    # No engine behind this socket: auto falls back to process and says why.
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/docker.sock")
    auto = choose_backend("auto")
    assert auto.name == "process"
    assert auto.why.startswith("auto: no Docker engine answers at unix://")
    docker = choose_backend("docker")
    assert docker.unsupported_reason is not None
    assert "Start a Docker engine" in docker.unsupported_reason
    assert choose_backend("external").name == "external"
    assert choose_backend("process").unsupported_reason is None
    with pytest.raises(ValueError, match="unknown backend 'kubernetes'"):
        choose_backend("kubernetes")


def test_auto_prefers_docker_when_an_engine_answers(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    """A stand-in engine socket that answers /_ping like dockerd (tests/ only)."""
    import socket
    import threading

    path = tmp_path / "docker.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(256)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
    try:
        choice = choose_backend("auto")
    finally:
        thread.join(timeout=5)
        server.close()
    assert choice.name == "docker"
    assert choice.why == f"auto: Docker engine answers at unix://{path}, so the stack runs from images"
