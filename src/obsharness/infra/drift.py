"""Does what Ansible deploys equal stack/, modulo addresses?

The scenarios run renders of stack/ (loopback addresses, compressed time), so
a deployment whose files equal stack/ except for addresses deploys what the
scenarios proved. Each host's rendered folder is compared with stack/: YAML
as data after mapping addresses back to service names, everything else byte
for byte; the compose projects must hold exactly the manifest's deployed
components with the manifest's images and ports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from obsharness.stack.manifest import LOG_AGENTS, Manifest

# Not configs from stack/: the compose project, its secrets, app build contexts.
_HOST_OWN = {"compose.yml", ".env"}


@dataclass(frozen=True)
class Drift:
    host: str
    file: str
    detail: str

    def __str__(self) -> str:
        return f"{self.host}: {self.file}: {self.detail}"


def deployed_components(manifest: Manifest, log_agent: str) -> set[str]:
    """Every component but the log agents not chosen (two agents ship lines twice)."""
    return {name for name in manifest.components
            if name not in LOG_AGENTS or name == log_agent}


def address_map(manifest: Manifest, service_hosts: Mapping[str, list[str]],
                receivers: Mapping[str, str]) -> dict[str, str]:
    """Deployed address -> the stack/ address it stands for."""
    mapping = dict(receivers)
    for name, ips in service_hosts.items():
        if name in manifest.components:
            port = manifest.component(name).port
            mapping.update({f"{ip}:{port}": f"{name}:{port}" for ip in ips})
    return mapping


def normalise(value: Any, addresses: Mapping[str, str]) -> Any:
    """Addresses back to service names; lists that became one entry per host collapse."""
    if isinstance(value, dict):
        return {k: normalise(v, addresses) for k, v in value.items()}
    if isinstance(value, list):
        out: list[Any] = []
        for item in (normalise(v, addresses) for v in value):
            if not (isinstance(item, str) and item in out):
                out.append(item)
        return out
    if isinstance(value, str):
        for deployed, original in addresses.items():
            value = value.replace(deployed, original)
    return value


def first_difference(expected: Any, got: Any, path: str = "") -> str | None:
    """Where two documents first differ, as a dotted path with both values."""
    if isinstance(expected, dict) and isinstance(got, dict):
        return _dict_difference(expected, got, path)
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        found = (first_difference(a, b, f"{path}[{i}]")
                 for i, (a, b) in enumerate(zip(expected, got, strict=True)))
        return next((f for f in found if f), None)
    if expected != got:
        return f"{path or '(document)'}: stack/ has {expected!r}, deployed has {got!r}"
    return None


def _dict_difference(expected: dict[Any, Any], got: dict[Any, Any], path: str) -> str | None:
    for key in sorted(set(expected) | set(got), key=str):
        where = f"{path}.{key}" if path else str(key)
        if key not in got:
            return f"{where}: missing (stack/ has {expected[key]!r})"
        if key not in expected:
            return f"{where}: not in stack/ (deployed has {got[key]!r})"
        found = first_difference(expected[key], got[key], where)
        if found:
            return found
    return None


def _files(root: Path) -> Iterable[Path]:
    return (p for p in sorted(root.rglob("*")) if p.is_file())


def compare_configs(host: str, host_dir: Path, stack_dir: Path,
                    addresses: Mapping[str, str]) -> list[Drift]:
    """Every config the host received against its stack/ original."""
    drifts: list[Drift] = []
    for deployed in _files(host_dir):
        relative = deployed.relative_to(host_dir)
        if relative.parts[0] == "build" or str(relative) in _HOST_OWN:
            continue
        original = stack_dir / relative
        if not original.is_file():
            drifts.append(Drift(host, str(relative), "deployed but not in stack/"))
            continue
        if deployed.suffix in (".yml", ".yaml"):
            expected = yaml.safe_load(original.read_text())
            got = normalise(yaml.safe_load(deployed.read_text()), addresses)
            found = first_difference(expected, got)
        else:
            found = None if deployed.read_bytes() == original.read_bytes() else "content differs"
        if found:
            drifts.append(Drift(host, str(relative), found))
    return drifts


def missing_configs(host: str, host_dir: Path, stack_dir: Path,
                    sources: Iterable[str]) -> list[Drift]:
    """Files of the mounted stack/ trees that the host did not receive."""
    drifts = []
    for source in sources:
        tree = stack_dir / source
        for original in ([tree] if tree.is_file() else _files(tree)):
            relative = original.relative_to(stack_dir)
            if not (host_dir / relative).is_file():
                drifts.append(Drift(host, str(relative), "mounted by a container, not deployed"))
    return drifts


def compare_compose(host: str, compose: Mapping[str, Any], manifest: Manifest,
                    expected: Iterable[str]) -> list[Drift]:
    """The host's compose project against the manifest: services, images, ports."""
    services = compose.get("services") or {}
    drifts = [Drift(host, "compose.yml", f"{name} is placed here but not deployed")
              for name in sorted(set(expected) - set(services))]
    drifts += [Drift(host, "compose.yml", f"{name} is deployed but placed elsewhere")
               for name in sorted(set(services) - set(expected))]
    for name, service in services.items():
        if name not in manifest.components:
            drifts.append(Drift(host, "compose.yml", f"{name} is not a manifest component"))
            continue
        comp = manifest.component(name)
        if service.get("image") != comp.image:
            drifts.append(Drift(host, "compose.yml",
                                f"{name}: image {service.get('image')} != manifest {comp.image}"))
        ports = [str(p).rsplit(":", 1)[-1] for p in service.get("ports", [])]
        if ports != [str(comp.port)]:
            drifts.append(Drift(host, "compose.yml",
                                f"{name}: ports {ports} != manifest [{comp.port}]"))
    return drifts


def check_deployment(rendered: Mapping[str, Path], inventory: Mapping[str, Any],
                     manifest: Manifest, receivers: Mapping[str, str]) -> list[Drift]:
    """The whole render check: per host configs and compose, and the union of hosts."""
    service_hosts = inventory["vars"].get("obs_service_hosts", {})
    addresses = address_map(manifest, service_hosts, receivers)
    drifts: list[Drift] = []
    everywhere: set[str] = set()
    for host, host_vars in inventory["hosts"].items():
        host_dir = rendered.get(host)
        if host_dir is None:
            drifts.append(Drift(host, "-", "Ansible rendered nothing for this host"))
            continue
        placed = list(host_vars.get("obs_components", []))
        compose = yaml.safe_load((host_dir / "compose.yml").read_text())
        drifts += compare_compose(host, compose, manifest, placed)
        everywhere |= set(compose.get("services") or {})
        drifts += compare_configs(host, host_dir, manifest.stack_dir, addresses)
        sources = {src for name in placed if name in manifest.components
                   for src in _stack_mounts(manifest, name)}
        drifts += missing_configs(host, host_dir, manifest.stack_dir, sources)
    wanted = deployed_components(manifest, str(inventory["vars"].get("obs_log_agent", "alloy")))
    for name in sorted(wanted - everywhere):
        drifts.append(Drift("all hosts", "compose.yml", f"{name} is deployed on no host"))
    return drifts


def _stack_mounts(manifest: Manifest, name: str) -> list[str]:
    """stack/ paths the component's container mounts (host paths left out)."""
    container = manifest.component(name).container
    return [src for src in (container.mounts if container else {}) if not src.startswith("/")]
