"""The architecture, drawn from what runs: Mermaid diagrams generated from the
manifest, the configs under stack/ and the deployment code.

- global architecture: components, connections, ports and protocols, found in
  the configs (scrape targets, Alertmanager's receivers, Grafana's
  datasources, the log agents' push URL) and the apps' environment;
- deployment: hosts, containers, volumes and networks, from the inventory the
  Terraform inventory module produces (infra/ansible/inventory/example.yml,
  which a scenario proves equal) and the manifest's container recipes;
- data flows: the metrics, logs and alerts paths.

`obsharness diagrams` writes docs/architecture.md; a test fails when that
file and a fresh generation differ, or when a diagram names something the
manifest does not know.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from obsharness.stack.manifest import Manifest, default_manifest_path, load_manifest

_ADDRESS = re.compile(r"(?:https?://|@|^)(?P<host>[a-z][\w-]*):(?P<port>\d+)")


@dataclass(frozen=True, order=True)
class Edge:
    flow: str  # metrics, logs, alerts, app
    source: str
    target: str
    label: str


def _protocol(port: int) -> str:
    return {5432: "PostgreSQL", 25: "SMTP"}.get(port, "HTTP")


def _hosts_in(text: str, known: set[str]) -> list[tuple[str, int]]:
    found = []
    for match in _ADDRESS.finditer(text):
        if match["host"] in known:
            found.append((match["host"], int(match["port"])))
    return found


def _load(stack_dir: Path, relative: str) -> Any:
    path = stack_dir / relative
    return yaml.safe_load(path.read_text()) if path.is_file() else {}


def _targets(sections: list[dict[str, Any]]) -> list[str]:
    return [t for section in sections for static in section.get("static_configs", [])
            for t in static.get("targets", [])]


def _prometheus_edges(stack_dir: Path, known: set[str]) -> set[Edge]:
    config = _load(stack_dir, "prometheus/prometheus.yml")
    out = {Edge("metrics", "prometheus", host, f"scrapes /metrics :{port}")
           for target in _targets(config.get("scrape_configs", []))
           for host, port in _hosts_in(target, known)}
    managers = config.get("alerting", {}).get("alertmanagers", [])
    out |= {Edge("alerts", "prometheus", host, f"firing alerts HTTP :{port}")
            for target in _targets(managers) for host, port in _hosts_in(target, known)}
    return out


def _alertmanager_edges(stack_dir: Path, known: set[str]) -> set[Edge]:
    config = _load(stack_dir, "alertmanager/alertmanager.yml")
    smarthost = str(config.get("global", {}).get("smtp_smarthost", ""))
    out = {Edge("alerts", "alertmanager", host, f"email SMTP :{port}")
           for host, port in _hosts_in(smarthost, known)}
    urls = [str(w.get("url", "")) for r in config.get("receivers", [])
            for w in r.get("webhook_configs", [])]
    out |= {Edge("alerts", "alertmanager", host, f"webhook HTTP :{port}")
            for url in urls for host, port in _hosts_in(url, known)}
    return out


def _grafana_edges(stack_dir: Path, known: set[str]) -> set[Edge]:
    config = _load(stack_dir, "grafana/provisioning/datasources/datasources.yml")
    flows = {"prometheus": "metrics", "loki": "logs"}
    return {Edge(flows.get(host, "alerts"), "grafana", host, f"datasource HTTP :{port}")
            for source in config.get("datasources", [])
            for host, port in _hosts_in(str(source.get("url", "")), known)}


def _agent_edges(manifest: Manifest, known: set[str]) -> set[Edge]:
    out: set[Edge] = set()
    apps = [c.name for c in manifest.components.values() if c.role == "app"]
    for agent in (c for c in manifest.components.values() if c.role == "log-agent"):
        if not agent.config:
            continue
        text = (manifest.stack_dir / agent.config).read_text()
        urls = " ".join(re.findall(r"https?://\S+", text))
        out |= {Edge("logs", agent.name, host, f"pushes lines HTTP :{port}")
                for host, port in _hosts_in(urls, known)}
        out |= {Edge("logs", app, agent.name, "JSON lines on stdout") for app in apps}
    return out


def _env_edges(manifest: Manifest, known: set[str]) -> set[Edge]:
    return {Edge("app", comp.name, host, f"{_protocol(port)} :{port}")
            for comp in manifest.components.values() if comp.container
            for value in comp.container.env.values()
            for host, port in _hosts_in(value, known) if host != comp.name}


def edges(manifest: Manifest) -> list[Edge]:
    """Every connection the configs and the apps' environment make."""
    known = set(manifest.components) | set(manifest.sinks)
    found = (_prometheus_edges(manifest.stack_dir, known)
             | _alertmanager_edges(manifest.stack_dir, known)
             | _grafana_edges(manifest.stack_dir, known)
             | _agent_edges(manifest, known) | _env_edges(manifest, known))
    return sorted(found)


def _node(name: str, manifest: Manifest) -> str:
    if name in manifest.components:
        comp = manifest.components[name]
        return f'{_id(name)}["{name}<br/>:{comp.port} ({comp.role})"]'
    sink = manifest.sinks[name]
    return f'{_id(name)}[/"{name}<br/>:{sink.port} (receiver)"/]'


def _id(name: str) -> str:
    return name.replace("-", "_")


def architecture(manifest: Manifest, found: list[Edge]) -> str:
    groups = {
        "Application layer": [c.name for c in manifest.components.values()
                              if c.role in ("app", "database")],
        "Observability layer": [c.name for c in manifest.components.values()
                                if c.role not in ("app", "database")],
        "Receivers (the team's endpoints)": list(manifest.sinks),
    }
    lines = ["flowchart LR"]
    for title, names in groups.items():
        lines.append(f'  subgraph {_id(title.split()[0].lower())}["{title}"]')
        lines.extend(f"    {_node(n, manifest)}" for n in names)
        lines.append("  end")
    lines.extend(f'  {_id(e.source)} -->|"{e.label}"| {_id(e.target)}' for e in found)
    return "\n".join(lines)


def flow(manifest: Manifest, found: list[Edge], name: str) -> str:
    chosen = [e for e in found if e.flow == name]
    names = sorted({e.source for e in chosen} | {e.target for e in chosen})
    lines = ["flowchart LR", *(f"  {_node(n, manifest)}" for n in names)]
    lines.extend(f'  {_id(e.source)} -->|"{e.label}"| {_id(e.target)}' for e in chosen)
    return "\n".join(lines)


def deployment(manifest: Manifest, inventory_file: Path) -> str:
    inventory = yaml.safe_load(inventory_file.read_text())["all"]
    lines = ["flowchart TB", '  users(("users"))', '  admins(("admins"))',
             '  subgraph vpc["VPC (one public subnet), security group per host"]']
    for group in inventory["children"].values():
        for host, host_vars in group["hosts"].items():
            lines.append(f'    subgraph {_id(host)}["{host} ({host_vars["private_ip"]}), '
                         f'Docker compose project"]')
            for name in host_vars["obs_components"]:
                comp = manifest.component(name)
                volume = comp.container.data if comp.container and comp.container.data else None
                extra = f"<br/>volume {name}-data:{volume}" if volume else ""
                lines.append(f'      {_id(host)}_{_id(name)}["{name}: {comp.image}'
                             f'<br/>:{comp.port}{extra}"]')
            lines.append("    end")
    lines.append("  end")
    hosts = {name: host for group in inventory["children"].values()
             for host, v in group["hosts"].items() for name in v["obs_components"]}
    for name in ("node-app", "grafana"):
        if name in hosts:
            lines.append(f'  users -->|"HTTP :{manifest.component(name).port}"| '
                         f"{_id(hosts[name])}_{_id(name)}")
    for name in ("prometheus", "alertmanager"):
        if name in hosts:
            lines.append(f'  admins -->|"HTTP :{manifest.component(name).port}"| '
                         f"{_id(hosts[name])}_{_id(name)}")
    lines.append('  admins -->|"SSH :22 (admin_cidr only)"| vpc')
    return "\n".join(lines)


def all_diagrams(manifest: Manifest | None = None) -> dict[str, str]:
    manifest = manifest or load_manifest(default_manifest_path())
    found = edges(manifest)
    inventory = manifest.stack_dir.parent / "infra" / "ansible" / "inventory" / "example.yml"
    diagrams = {"Global architecture": architecture(manifest, found)}
    if inventory.is_file():
        diagrams["Deployment"] = deployment(manifest, inventory)
    diagrams.update({f"Data flow: {name}": flow(manifest, found, name)
                     for name in ("metrics", "logs", "alerts")})
    return diagrams


def markdown(diagrams: dict[str, str]) -> str:
    parts = ["# Architecture of the observability stack",
             "",
             "Generated by `obsharness diagrams` from `stack/stack.yaml`, the configs under",
             "`stack/` and `infra/ansible/inventory/example.yml`. Do not edit: `make validate`",
             "regenerates it and a test fails when it is stale.", ""]
    for title, source in diagrams.items():
        parts += [f"## {title}", "", "```mermaid", source, "```", ""]
    return "\n".join(parts)


def named_components(source: str) -> set[str]:
    """Every component or receiver name a generated diagram draws a node for."""
    return set(re.findall(r'\[/?"([\w-]+)(?:<br/>|: )', source))


def disagreements(drawn: dict[str, str], manifest: Manifest | None = None) -> list[str]:
    """Where the diagrams and the manifest disagree (empty: they agree)."""
    manifest = manifest or load_manifest(default_manifest_path())
    known = set(manifest.components) | set(manifest.sinks)
    found = []
    missing = known - named_components(drawn.get("Global architecture", ""))
    if missing:
        found.append(f"global architecture lacks {sorted(missing)}")
    for title, source in drawn.items():
        unknown = named_components(source) - known
        if unknown:
            found.append(f"{title} draws {sorted(unknown)}, which the manifest does not know")
    return found
