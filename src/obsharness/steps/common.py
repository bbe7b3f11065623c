"""Steps every flow shares: the stack is up, an app receives traffic."""

from __future__ import annotations

from pytest_bdd import given, parsers

from obsharness.pytest_plugin import ScenarioContext, TrafficPool


@given("the observability stack is running", target_fixture="scenario_ctx")
def stack_is_running(clean_stack: ScenarioContext) -> ScenarioContext:
    return clean_stack


@given(parsers.parse("{component} receives {rate:d} requests per second"))
def app_receives_traffic(component: str, rate: int, traffic: TrafficPool) -> None:
    traffic.start(component, rate)
