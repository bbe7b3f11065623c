"""A small client of Grafana's HTTP API: health, datasources, dashboards, queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from obsharness.clients.http import APIError, JsonHTTP


class GrafanaAPIError(APIError):
    """Grafana refused a request or could not be reached."""


@dataclass(frozen=True)
class QueryResult:
    ref_id: str
    status: int
    frames: int
    rows: int
    error: str | None


class GrafanaClient(JsonHTTP):
    error = GrafanaAPIError

    def __init__(self, base_url: str, *, user: str, password: str, timeout: float = 10.0) -> None:
        super().__init__(base_url, timeout=timeout, auth=(user, password))

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._json(method, path, **kwargs)

    def health(self) -> dict[str, Any]:
        """GET /api/health: {"commit", "database": "ok", "version"}."""
        return dict(self._call("GET", "/api/health"))

    def datasources(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/api/datasources"))

    def datasource_health(self, uid: str) -> tuple[str, str]:
        """GET /api/datasources/uid/<uid>/health -> (status, message), status "OK" when healthy."""
        body = self._call("GET", f"/api/datasources/uid/{uid}/health")
        return str(body.get("status")), str(body.get("message", ""))

    def search_dashboards(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/api/search", params={"type": "dash-db"}))

    def dashboard(self, uid: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/api/dashboards/uid/{uid}")["dashboard"])

    def query(self, datasource_uid: str, expr: str, *, ref_id: str = "A",
              since: str = "now-5m") -> QueryResult:
        """POST /api/ds/query: one query through Grafana's backend, as a panel runs it."""
        body = {
            "queries": [{"refId": ref_id, "datasource": {"uid": datasource_uid}, "expr": expr,
                         "intervalMs": 15000, "maxDataPoints": 100}],
            "from": since,
            "to": "now",
        }
        result = self._call("POST", "/api/ds/query", json=body)["results"].get(ref_id, {})
        frames = result.get("frames") or []
        rows = sum(len((f.get("data") or {}).get("values", [[]])[0] or []) for f in frames)
        return QueryResult(ref_id, int(result.get("status", 200)), len(frames), rows,
                           result.get("error"))
