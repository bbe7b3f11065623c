"""Filters that turn stack/ into what a host runs, so the roles hold no copy of it.

The configs are read from stack/ at deploy time; these filters change only
addresses (targets at their hosts, the team's receivers) and derive each
host's compose file from the manifest. The harness's render check imports
nothing from here: it compares what Ansible wrote against stack/ itself.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

SECRETS = {"{db_password}": "${OBS_DB_PASSWORD}", "{admin_password}": "${OBS_ADMIN_PASSWORD}",
           "{demo_password}": "${OBS_DEMO_PASSWORD}"}


def obs_config_sources(components: list[str], manifest: dict[str, Any]) -> list[str]:
    """The stack/ paths the host's containers mount (config files and trees)."""
    sources: set[str] = set()
    for name in components:
        mounts = (manifest["components"][name].get("container") or {}).get("mounts") or {}
        sources.update(src for src in mounts if not src.startswith("/"))
    return sorted(sources)


def obs_prometheus_targets(config: dict[str, Any],
                           service_hosts: dict[str, list[str]]) -> dict[str, Any]:
    """Every `component:port` target becomes one `address:port` per host running it."""
    result = copy.deepcopy(config)

    def expand(targets: list[str]) -> list[str]:
        out: list[str] = []
        for target in targets:
            name, _, port = target.rpartition(":")
            out.extend(f"{ip}:{port}" for ip in service_hosts.get(name, [name]))
        return out

    for section in [*result.get("scrape_configs", []),
                    *result.get("alerting", {}).get("alertmanagers", [])]:
        for static in section.get("static_configs", []):
            static["targets"] = expand(static.get("targets", []))
    return result


def obs_alertmanager_receivers(config: dict[str, Any], webhook_url: str,
                               smarthost: str) -> dict[str, Any]:
    """The team's own on-call webhook and mail relay instead of the test receivers."""
    result = copy.deepcopy(config)
    result.setdefault("global", {})["smtp_smarthost"] = smarthost
    for receiver in result.get("receivers", []):
        for webhook in receiver.get("webhook_configs", []):
            webhook["url"] = webhook_url
    return result


def _env(values: dict[str, str]) -> dict[str, str]:
    out = {}
    for key, raw in values.items():
        value = str(raw)
        for placeholder, variable in SECRETS.items():
            value = value.replace(placeholder, variable)
        out[key] = value
    return out


def obs_compose(manifest: dict[str, Any], components: list[str],
                service_hosts: dict[str, list[str]]) -> dict[str, Any]:
    """The host's compose project: its components, everything else by extra_hosts."""
    services: dict[str, Any] = {}
    volumes: dict[str, Any] = {}
    elsewhere = sorted(f"{name}:{ips[0]}" for name, ips in service_hosts.items()
                       if name not in components and ips)
    for name in components:
        comp = manifest["components"][name]
        container = comp.get("container") or {}
        service: dict[str, Any] = {"image": comp["image"], "restart": "unless-stopped",
                                   "ports": [f"{comp['port']}:{comp['port']}"]}
        if container.get("command"):
            service["command"] = list(container["command"])
        if container.get("env"):
            service["environment"] = _env(container["env"])
        mounts = [f"{src if src.startswith('/') else './' + src}:{target}:ro"
                  for src, target in (container.get("mounts") or {}).items()]
        if container.get("data"):
            volumes[f"{name}-data"] = {}
            mounts.append(f"{name}-data:{container['data']}")
        if mounts:
            service["volumes"] = mounts
        if elsewhere:
            service["extra_hosts"] = elsewhere
        services[name] = service
    compose: dict[str, Any] = {"name": "obsharness", "services": services}
    if volumes:
        compose["volumes"] = volumes
    return compose


def obs_builds(manifest: dict[str, Any], components: list[str]) -> list[dict[str, str]]:
    """The images this host builds from stack/apps: name, image, context, dockerfile."""
    builds = []
    for name in components:
        comp = manifest["components"][name]
        if comp.get("build"):
            builds.append({"name": name, "image": comp["image"],
                           "context": comp["build"]["context"],
                           "dockerfile": comp["build"].get("dockerfile", "Dockerfile")})
    return builds


def obs_build_files(build: dict[str, str], stack_dir: str) -> list[str]:
    """What the Dockerfile copies from its context, plus itself: the build context
    without node_modules, dist or caches."""
    context = Path(stack_dir) / build["context"]
    files = {build["dockerfile"]}
    for line in (context / build["dockerfile"]).read_text().splitlines():
        words = line.split()
        if not words or words[0].upper() not in ("COPY", "ADD"):
            continue
        args = [w for w in words[1:] if not w.startswith("--")]
        if any(w.startswith("--from") for w in words[1:]):
            continue  # from another build stage, not the context
        files.update(a.rstrip("/") for a in args[:-1])
    return sorted(files)


def obs_with_build_files(builds: list[dict[str, str]], stack_dir: str) -> list[list[Any]]:
    """(build, file) pairs for one copy loop over every app's build files."""
    return [[build, path] for build in builds for path in obs_build_files(build, stack_dir)]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "obs_build_files": obs_build_files,
            "obs_with_build_files": obs_with_build_files,
            "obs_config_sources": obs_config_sources,
            "obs_prometheus_targets": obs_prometheus_targets,
            "obs_alertmanager_receivers": obs_alertmanager_receivers,
            "obs_compose": obs_compose,
            "obs_builds": obs_builds,
        }
