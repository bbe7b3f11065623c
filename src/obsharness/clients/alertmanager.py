"""A small client of the Alertmanager API (/api/v2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from obsharness.clients.http import APIError, JsonHTTP


class AlertmanagerAPIError(APIError):
    """Alertmanager refused a request or could not be reached."""


class AlertmanagerClient(JsonHTTP):
    error = AlertmanagerAPIError

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._json(method, f"/api/v2{path}", **kwargs)

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

    def create_silence(self, matchers: dict[str, str], *, minutes: float, comment: str,
                       created_by: str = "obsharness") -> str:
        """Silence alerts whose labels equal `matchers`; returns the silence id."""
        now = datetime.now(UTC)
        body = {
            "matchers": [{"name": k, "value": v, "isRegex": False, "isEqual": True}
                         for k, v in matchers.items()],
            "startsAt": now.isoformat(),
            "endsAt": (now + timedelta(minutes=minutes)).isoformat(),
            "createdBy": created_by,
            "comment": comment,
        }
        return str(self._call("POST", "/silences", json=body)["silenceID"])

    def expire_silences_by(self, created_by: str = "obsharness") -> int:
        """Expire every active silence this creator made; returns how many."""
        active = [s for s in self.silences()
                  if s.get("createdBy") == created_by and s["status"]["state"] == "active"]
        for silence in active:
            self.expire_silence(silence["id"])
        return len(active)

    def alert_state(self, alertname: str, labels: dict[str, str]) -> list[dict[str, Any]]:
        """Active, silenced and inhibited alerts with this name and labels, with their status."""
        wanted = {"alertname": alertname, **labels}
        return [a for a in self.alerts()
                if all(a["labels"].get(k) == v for k, v in wanted.items())]
