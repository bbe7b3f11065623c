"""What the HTTP clients share: a session, a timeout, and errors that name the request."""

from __future__ import annotations

from typing import Any

import requests


class APIError(RuntimeError):
    """A component's API refused a request or could not be reached."""


class JsonHTTP:
    error: type[APIError] = APIError

    def __init__(self, base_url: str, *, timeout: float = 5.0,
                 auth: tuple[str, str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.auth = auth

    def _request(self, method: str, path: str, *, check_status: bool = True,
                 **kwargs: Any) -> requests.Response:
        url = f"{self.base_url}{path}"
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise self.error(f"{method} {url} failed: {exc}") from exc
        if check_status and response.status_code >= 400:
            raise self.error(
                f"{method} {url} answered {response.status_code}: {response.text[:300]}"
            )
        return response

    def _success_data(self, path: str, **params: Any) -> Any:
        """GET an API that wraps answers in {"status": "success", "data": ...}
        (Prometheus, Loki). Their errors (a bad query: 400) come with a body that says
        why, so the status code alone is not checked."""
        response = self._request("GET", path, params=params, check_status=False)
        try:
            body = response.json()
        except ValueError:
            raise self.error(
                f"GET {self.base_url}{path} answered {response.status_code} with non-JSON: "
                f"{response.text[:200]} (params {params})"
            ) from None
        if not isinstance(body, dict) or body.get("status") != "success":
            detail = (f"{body.get('errorType')}: {body.get('error')}"
                      if isinstance(body, dict) else str(body)[:200])
            raise self.error(f"GET {path} {params}: {detail}")
        return body["data"]

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        return response.json() if response.content else None
