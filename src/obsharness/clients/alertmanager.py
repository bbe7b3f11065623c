"""A small client of the Alertmanager API (/api/v2)."""

from __future__ import annotations

from typing import Any

import requests


class AlertmanagerAPIError(RuntimeError):
    """Alertmanager refused a request or could not be reached."""


class AlertmanagerClient:
    def __init__(self, base_url: str, *, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.base_url}/api/v2{path}"
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise AlertmanagerAPIError(f"{method} {url} failed: {exc}") from exc
        if response.status_code >= 400:
            raise AlertmanagerAPIError(
                f"{method} {url} answered {response.status_code}: {response.text[:300]}"
            )
        return response.json() if response.content else None

    def alerts(self, *, active: bool = True, silenced: bool = True,
               inhibited: bool = True) -> list[dict[str, Any]]:
        params = {
            "active": str(active).lower(),
            "silenced": str(silenced).lower(),
            "inhibited": str(inhibited).lower(),
        }
        return list(self._call("GET", "/alerts", params=params))

    def status(self) -> dict[str, Any]:
        return dict(self._call("GET", "/status"))

    def silences(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/silences"))

    def expire_silence(self, silence_id: str) -> None:
        self._call("DELETE", f"/silence/{silence_id}")
