"""One contract, three apps: each sample app runs as a real process and is held
to the same metrics, JSON logs, chaos API and login behaviour."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from obsharness import logs
from obsharness.errors import ComponentDiedError
from obsharness.stack.manifest import Manifest
from obsharness.stack.process import ProcessStack
from obsharness.waiting import eventually

pytestmark = pytest.mark.slow
APPS = ["flask-app", "node-app", "fastapi-app"]


@pytest.fixture(scope="module", params=APPS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ProcessStack, str]]:
    from obsharness.stack.manifest import load_manifest
    from tests.conftest import STACK

    manifest: Manifest = load_manifest(STACK / "stack.yaml")
    name = request.param
    with ProcessStack(manifest, tmp_path_factory.mktemp(name), time_scale=60, only=[name]) as stack:
        yield stack, name


def _url(app: tuple[ProcessStack, str], path: str) -> str:
    stack, name = app
    return stack.url(name) + path


def _chaos(app: tuple[ProcessStack, str], method: str,
           body: object = None) -> requests.Response:
    """/chaos with the run's token, as the harness's ChaosClient calls it."""
    stack, _ = app
    return requests.request(method, _url(app, "/chaos"), json=body, timeout=5,
                            headers={"Authorization": f"Bearer {stack.chaos_token}"})


def _log(app: tuple[ProcessStack, str]) -> Path:
    stack, name = app
    path = stack.log_path(name)
    assert path is not None
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"error_rate": 1.5}, "error_rate must be between 0 and 1, got 1.5"),
        ({"latency_ms": -1}, "latency_ms must be between 0 and 60000, got -1"),
        ({"cpu_burn": 2}, "cpu_burn must be between 0 and 1, got 2"),
        ({"eror_rate": 0.2}, "unknown chaos field(s)"),
        ({"error_rate": "high"}, "error_rate must be a number"),
        ({"crash": "yes"}, "crash must be true"),
        ([1, 2], "body must be a JSON object"),
    ],
)
def test_bad_chaos_is_refused_with_400(app: tuple[ProcessStack, str], body: object,
                                       message: str) -> None:
    response = _chaos(app, "POST", body)
    assert response.status_code == 400
    assert message in response.json()["error"]


CALM = {"error_rate": 0, "latency_ms": 0, "cpu_burn": 0, "scrape_failure_rate": 0}


def test_chaos_state_is_the_same_json_everywhere(app: tuple[ProcessStack, str]) -> None:
    assert _chaos(app, "GET").json() == CALM
    set_ = _chaos(app, "POST", {"error_rate": 0.2, "latency_ms": 0}).json()
    assert set_ == {**CALM, "error_rate": 0.2}
    assert _chaos(app, "DELETE").json() == CALM


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "Bearer ", "Basic x"])
def test_chaos_without_the_runs_token_is_refused_with_403(
    app: tuple[ProcessStack, str], authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    for method in ("GET", "POST", "DELETE"):
        refused = requests.request(method, _url(app, "/chaos"), json={"error_rate": 1},
                                   headers=headers, timeout=5)
        assert refused.status_code == 403, (method, refused.text)
        assert "Authorization: Bearer" in refused.json()["error"]
    assert _chaos(app, "GET").json() == CALM  # nothing was applied


def test_a_deployed_style_app_has_no_chaos_api_and_no_default_login(
    app: tuple[ProcessStack, str], tmp_path: Path
) -> None:
    """Run as deployments run it (no CHAOS_TOKEN, no DEMO_PASSWORD): /chaos is 404 even with
    the harness's token, and the old default password does not log in."""
    from obsharness.stack.manifest import load_manifest
    from tests.conftest import STACK

    stack, name = app
    with ProcessStack(load_manifest(STACK / "stack.yaml"), tmp_path, time_scale=60,
                      only=[name], chaos_enabled=False) as deployed:
        url = deployed.url(name)
        off = requests.post(url + "/chaos", json={"crash": True}, timeout=5,
                            headers={"Authorization": f"Bearer {stack.chaos_token}"})
        assert off.status_code == 404, off.text
        assert "chaos API is off" in off.json()["error"]
        login = requests.post(url + "/login", timeout=5,
                              json={"username": "demo", "password": "obsharness-demo"})
        assert login.status_code == 401
        assert requests.get(url + "/health", timeout=5).status_code == 200


def test_scrape_failure_rate_fails_exactly_that_share_of_scrapes_and_nothing_else(
    app: tuple[ProcessStack, str]
) -> None:
    _chaos(app, "POST", {"scrape_failure_rate": 0.5})
    try:
        scrapes = [requests.get(_url(app, "/metrics"), timeout=5).status_code for _ in range(10)]
        pages = [requests.get(_url(app, "/"), timeout=5).status_code for _ in range(5)]
    finally:
        _chaos(app, "DELETE")
    assert scrapes == [200, 503] * 5
    assert pages == [200] * 5
    assert requests.get(_url(app, "/metrics"), timeout=5).status_code == 200


def test_error_rate_is_applied_exactly(app: tuple[ProcessStack, str]) -> None:
    _chaos(app, "POST", {"error_rate": 0.2})
    try:
        statuses = [requests.get(_url(app, "/"), timeout=5).status_code for _ in range(50)]
    finally:
        _chaos(app, "DELETE")
    assert statuses.count(500) == 10
    assert statuses.count(200) == 40


def test_metrics_expose_the_contract(app: tuple[ProcessStack, str]) -> None:
    _, name = app
    requests.get(_url(app, "/"), timeout=5)
    body = requests.get(_url(app, "/metrics"), timeout=5).text
    for needle in (
        f'service="{name}"', 'route="/"', 'status="200"', 'status="500"',  # errors pre-created
        "http_request_duration_seconds_bucket", "process_cpu_seconds_total",
        "process_resident_memory_bytes", "app_active_users",
    ):
        assert needle in body, f"{name} /metrics lacks {needle}"


def test_every_pre_created_route_has_its_latency_series_too(
    app: tuple[ProcessStack, str]
) -> None:
    """A rule on a route's latency must find series before anyone called the route."""
    body = requests.get(_url(app, "/metrics"), timeout=5).text
    routes = set(re.findall(r'^http_requests_total\{[^}]*route="([^"]+)"', body, re.M))
    timed = set(re.findall(r'^http_request_duration_seconds_bucket\{[^}]*route="([^"]+)"', body,
                           re.M))
    assert routes, body[:500]
    assert routes <= timed, f"routes without latency series: {sorted(routes - timed)}"


def test_access_log_is_json_with_the_request_id(app: tuple[ProcessStack, str]) -> None:
    _, name = app
    began = time.time()
    response = requests.get(_url(app, "/"), headers={"X-Request-ID": f"contract-{name}"}, timeout=5)
    assert response.headers["X-Request-ID"] == f"contract-{name}"
    found = eventually(lambda: logs.matching(_log(app), since=began, request_id=f"contract-{name}",
                                             log_type="access"), bool,
                       what="the access line", timeout=5).value
    record = found[0]
    assert {"ts", "level", "service", "log_type", "route", "status", "duration_ms",
            "request_id"} <= set(record)
    assert (record["service"], record["route"], record["status"]) == (name, "/", 200)


def test_failed_login_is_a_security_line_and_success_counts_an_active_user(
    app: tuple[ProcessStack, str]
) -> None:
    began = time.time()
    bad = requests.post(_url(app, "/login"), json={"username": "demo", "password": "nope"},
                        timeout=5)
    assert bad.status_code == 401
    eventually(lambda: logs.matching(_log(app), since=began, log_type="security",
                                     event="login_failed", username="demo"),
               bool, what="a security line for the failed login", timeout=5)
    counted = requests.get(_url(app, "/metrics"), timeout=5).text
    failures = next(ln for ln in counted.splitlines() if ln.startswith("app_failed_logins_total{"))
    assert float(failures.rsplit(" ", 1)[1]) >= 1
    stack, _ = app
    good = requests.post(_url(app, "/login"),
                         json={"username": "demo", "password": stack.demo_password}, timeout=5)
    assert good.status_code == 200
    assert "app_active_users{" in requests.get(_url(app, "/metrics"), timeout=5).text
    metrics = requests.get(_url(app, "/metrics"), timeout=5).text
    line = next(ln for ln in metrics.splitlines() if ln.startswith("app_active_users{"))
    assert float(line.rsplit(" ", 1)[1]) == 1


def test_slow_request_writes_a_performance_line(app: tuple[ProcessStack, str]) -> None:
    began = time.time()
    _chaos(app, "POST", {"latency_ms": 1100})
    try:
        requests.get(_url(app, "/"), timeout=10)
    finally:
        _chaos(app, "DELETE")
    eventually(lambda: logs.matching(_log(app), since=began, log_type="performance", route="/"),
               bool, what="a performance line for the slow request", timeout=5)


def _cpu_seconds(app: tuple[ProcessStack, str]) -> float:
    text = requests.get(_url(app, "/metrics"), timeout=5).text
    line = next(ln for ln in text.splitlines() if ln.startswith("process_cpu_seconds_total"))
    return float(line.rsplit(" ", 1)[1])


def test_cpu_burn_burns_about_the_asked_fraction(app: tuple[ProcessStack, str]) -> None:
    """Half a core: 0.6 CPU seconds arrive in about 1.2 s on an idle machine. A busy
    CI machine can delay them (node-app's burner is a duty cycle on the wall clock;
    the Python apps' spin until their thread had its CPU share), so the test waits
    for the CPU seconds instead of timing them, and bounds the rate."""
    before = _cpu_seconds(app)
    began = time.monotonic()
    _chaos(app, "POST", {"cpu_burn": 0.5})
    try:
        burned = eventually(lambda: _cpu_seconds(app) - before, lambda b: b >= 0.6,
                            what="0.6 CPU seconds burned", timeout=15, interval=0.2).value
    finally:
        _chaos(app, "DELETE")
    elapsed = time.monotonic() - began
    assert burned / elapsed <= 0.85, (
        f"cpu_burn 0.5 used {burned:.2f} CPU seconds in {elapsed:.2f} s: more than asked")


def test_crash_exits_the_process(app: tuple[ProcessStack, str]) -> None:
    stack, name = app
    assert _chaos(app, "POST", {"crash": True}).status_code == 200
    eventually(stack.executors[name].is_running, lambda running: not running,
               what=f"{name} to exit", timeout=10)
    with pytest.raises(ComponentDiedError, match=f"{name}: exited with code 3"):
        stack.check_alive()


def test_node_app_propagates_the_request_id_to_fastapi(tmp_path: Path) -> None:
    from obsharness.stack.manifest import load_manifest
    from tests.conftest import STACK

    with ProcessStack(load_manifest(STACK / "stack.yaml"), tmp_path, time_scale=60,
                      only=["node-app"]) as stack:
        began = time.time()
        response = requests.get(stack.url("node-app") + "/api/items",
                                headers={"X-Request-ID": "trace-me"}, timeout=10)
        assert response.status_code == 200
        assert response.json()["source"] == "postgresql"
        for name in ("node-app", "fastapi-app"):
            path = stack.log_path(name)
            assert path is not None
            eventually(lambda p=path: logs.matching(p, since=began, request_id="trace-me",
                                                    route="/api/items", log_type="access"),
                       bool, what=f"{name}'s access line for request trace-me", timeout=5)


def test_the_contract_has_no_default_credential_and_no_open_chaos(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    from tests.conftest import STACK

    monkeypatch.syspath_prepend(str(STACK / "apps" / "contract"))
    contract = __import__("obs_contract")
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    monkeypatch.delenv("CHAOS_TOKEN", raising=False)
    users = contract.Users(contract.Metrics("contract-test", ()))
    for password in ("", "obsharness-demo", "demo", "change-me"):
        assert not users.login({"username": "demo", "password": password})
    assert contract.chaos_refusal("Bearer anything")[0] == 404
    monkeypatch.setenv("CHAOS_TOKEN", "t0ken")
    assert contract.chaos_refusal(None)[0] == 403
    assert contract.chaos_refusal("Bearer t0ken") is None
    sys.modules.pop("obs_contract", None)
