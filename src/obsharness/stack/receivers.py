"""Every notification a rendered Alertmanager sends goes to the harness's own sinks.

A team's config names its real endpoints: an on-call webhook, a mail relay, Slack,
PagerDuty. A test run must never page anyone nor send traffic off this machine, so the
rendered copy keeps each receiver's name, its routing and its email fields (the email
sink shows Alertmanager's own rendering of them) and points its integrations here:

- a webhook whose URL is not a manifest service goes to the webhook sink;
- an email's smarthost (its own, or the global one) becomes the mail sink, without the
  relay's credentials or TLS;
- every other integration (Slack, PagerDuty, Opsgenie...) becomes a webhook to the
  webhook sink with the integration's own send_resolved default, so the receiver still
  gets a notification a step can assert on; its message template is not rendered.

The deployable file itself is never edited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from obsharness.alertrouting import SEND_RESOLVED_DEFAULT

_SMTP_GLOBALS = ("smtp_auth_username", "smtp_auth_password", "smtp_auth_password_file",
                 "smtp_auth_secret", "smtp_auth_secret_file", "smtp_auth_identity",
                 "smtp_tls_config", "smtp_force_implicit_tls")
_EMAIL_TRANSPORT = ("smarthost", "auth_username", "auth_password", "auth_password_file",
                    "auth_secret", "auth_secret_file", "auth_identity", "tls_config",
                    "require_tls", "force_implicit_tls", "hello")


@dataclass(frozen=True)
class Redirect:
    receiver: str
    integration: str
    was: str  # where it pointed (a host, or the integration's name)

    def __str__(self) -> str:
        return f"receiver {self.receiver}: {self.integration} to {self.was} goes to the sink"


_LOCAL = frozenset({"127.0.0.1", "localhost", "::1"})


def host_of(address: str) -> str:
    return urlsplit(address if "//" in address else f"//{address}").hostname or ""


def redirect(data: dict[str, Any], *, webhook_url: str | None, smarthost: str | None,
             local_hosts: frozenset[str] = frozenset()) -> list[Redirect]:
    """Point every integration of the (address-rewritten) config at the sinks; returns
    what was redirected. An address on `local_hosts` (the run's own components and
    sinks) is kept; a config with no sink of a kind keeps that kind untouched."""
    hosts = _LOCAL | local_hosts

    def _local(address: str) -> bool:
        return host_of(address) in hosts

    done: list[Redirect] = []
    glob = data.get("global")
    if smarthost and isinstance(glob, dict) and glob.get("smtp_smarthost") \
            and not _local(str(glob["smtp_smarthost"])):
        done.append(Redirect("(global)", "smtp_smarthost", str(glob["smtp_smarthost"])))
        glob["smtp_smarthost"] = smarthost
        for key in _SMTP_GLOBALS:
            glob.pop(key, None)
        glob["smtp_require_tls"] = False
    if webhook_url and isinstance(glob, dict) and isinstance(glob.get("http_config"), dict):
        # Every integration without its own http_config would go through it (a proxy).
        done.append(Redirect("(global)", "http_config", "its proxy and credentials"))
        glob.pop("http_config")
    for receiver in data.get("receivers") or []:
        if isinstance(receiver, dict):
            done += _receiver(receiver, webhook_url, smarthost, _local)
    return done


def _receiver(receiver: dict[str, Any], webhook_url: str | None, smarthost: str | None,
              local: Callable[[str], bool]) -> list[Redirect]:
    name = str(receiver.get("name", ""))
    done: list[Redirect] = []
    hooks: list[dict[str, Any]] = []
    for key in [k for k in receiver if k.endswith("_configs")]:
        entries = receiver[key]
        if not isinstance(entries, list):
            continue
        if key == "email_configs":
            if smarthost:
                done += _emails(name, entries, smarthost, local)
        elif webhook_url is not None:
            moved = _moved(key, entries, local)
            done += [_redirect(name, key, entry) for entry in moved]
            hooks += [{"url": webhook_url, "send_resolved": _send_resolved(key, entry)}
                      for entry in moved]
            kept = [e for e in entries if all(e is not m for m in moved)]
            if kept:
                receiver[key] = kept
            else:
                receiver.pop(key)
    if hooks:
        receiver["webhook_configs"] = [*(receiver.get("webhook_configs") or []), *hooks]
    return done


def _send_resolved(key: str, entry: dict[str, Any]) -> bool:
    return bool(entry.get("send_resolved", SEND_RESOLVED_DEFAULT.get(key, True)))


def _moved(key: str, entries: list[Any], local: Callable[[str], bool]) -> list[dict[str, Any]]:
    """The entries that leave for the sink: every one but a webhook already local."""
    return [e for e in entries if isinstance(e, dict)
            and not (key == "webhook_configs" and local(str(e.get("url", ""))))]


def _redirect(name: str, key: str, entry: dict[str, Any]) -> Redirect:
    was = host_of(str(entry.get("url", ""))) if key == "webhook_configs" else ""
    return Redirect(name, key, was or key.removesuffix("_configs"))


def _emails(name: str, entries: list[Any], smarthost: str,
            local: Callable[[str], bool]) -> list[Redirect]:
    done = []
    for entry in entries:
        if not isinstance(entry, dict) or local(str(entry.get("smarthost", ""))):
            continue
        if entry.get("smarthost"):
            done.append(Redirect(name, "email_configs", str(entry["smarthost"])))
        for field in _EMAIL_TRANSPORT:
            entry.pop(field, None)
        entry["smarthost"] = smarthost
        entry["require_tls"] = False
    return done
