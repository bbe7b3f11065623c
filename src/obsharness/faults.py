"""Fault injection into the sample apps through their chaos API.

The API is off in deployments (404) and, where the harness enables it,
demands the run's token as `Authorization: Bearer <token>` (403 otherwise).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from obsharness.errors import ObsharnessError
from obsharness.report import evidence


class FaultError(ObsharnessError):
    """An app refused a fault or could not be reached."""


@dataclass
class InjectedFault:
    component: str
    settings: dict[str, Any]
    at: float  # wall clock, seconds since the epoch


@dataclass
class ChaosClient:
    """POST/DELETE/GET /chaos on one app; remembers what was injected and when."""

    component: str
    base_url: str
    token: str | None = None
    timeout: float = 5.0
    history: list[InjectedFault] = field(default_factory=list)

    def _call(self, method: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        url = f"{self.base_url.rstrip('/')}/chaos"
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            response = requests.request(method, url, json=body, headers=headers,
                                        timeout=self.timeout)
        except requests.RequestException as exc:
            raise FaultError(f"{self.component}: {method} {url} failed: {exc}") from exc
        if response.status_code in (403, 404):
            raise FaultError(
                f"{self.component}: {method} {url} answered {response.status_code} "
                f"({response.text[:200].strip()}). Its chaos API is off unless the app runs "
                f"with CHAOS_TOKEN; the process and docker backends set one per run, and the "
                f"external backend sends $OBSHARNESS_CHAOS_TOKEN"
                + ("" if self.token else " (not set)")
            )
        if response.status_code == 400:
            raise FaultError(
                f"{self.component} rejected fault {body}: {response.json().get('error')}"
            )
        if response.status_code != 200:
            raise FaultError(
                f"{self.component}: {method} {url} answered {response.status_code}: "
                f"{response.text[:200]}"
            )
        return dict(response.json())

    def inject(self, **settings: Any) -> InjectedFault:
        self._call("POST", settings)
        fault = InjectedFault(self.component, settings, time.time())
        self.history.append(fault)
        evidence.record("fault", f"{self.component}: {settings}",
                        {"component": self.component, "settings": settings, "at": fault.at})
        return fault

    def clear(self) -> None:
        self._call("DELETE")
        self.history.append(InjectedFault(self.component, {}, time.time()))
        evidence.record("fault", f"{self.component}: faults cleared",
                        {"component": self.component, "settings": {}, "at": time.time()},
                        key=f"clear {self.component}")

    def current(self) -> dict[str, Any]:
        return self._call("GET")


_FAULT_PHRASES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^errors of (\d+(?:\.\d+)?)%$"), "error_rate"),
    (re.compile(r"^a latency of (\d+) ms$"), "latency_ms"),
    (re.compile(r"^a CPU burn of (\d+(?:\.\d+)?)%$"), "cpu_burn"),
    (re.compile(r"^scrape failures of (\d+(?:\.\d+)?)%$"), "scrape_failure_rate"),
    (re.compile(r"^a crash$"), "crash"),
]


def parse_fault(phrase: str) -> dict[str, Any]:
    """'errors of 10%' -> {"error_rate": 0.1}; 'a crash' -> {"crash": True}."""
    for pattern, key in _FAULT_PHRASES:
        match = pattern.match(phrase.strip())
        if not match:
            continue
        if key == "crash":
            return {"crash": True}
        number = float(match.group(1))
        return {key: int(number) if key == "latency_ms" else number / 100}
    raise FaultError(
        f"unknown fault {phrase!r}; say one of: 'errors of 10%', 'a latency of 1500 ms', "
        f"'a CPU burn of 95%', 'scrape failures of 50%', 'a crash'"
    )
