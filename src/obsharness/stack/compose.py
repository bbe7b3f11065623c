"""stack/docker-compose.yml, derived from the manifest, for people who run the
stack by hand (`docker compose -f stack/docker-compose.yml up`).

Ports are published as in the architecture, except the one collision: Grafana
and node-app both listen on 3000. Grafana keeps 3000 on the host (the port
people type for dashboards); node-app, the practical case's frontend, is
published on 3001. Inside the compose network both keep their port 3000.
Alloy is the log agent; Promtail (end of life) runs only with the `promtail`
profile, never beside Alloy by default. A test keeps this file and the
manifest in agreement; `obsharness compose` rewrites it.
"""

from __future__ import annotations

from typing import Any

import yaml

from obsharness.stack.manifest import Manifest

HOST_PORTS = {"node-app": 3001}  # the architecture's collision with Grafana on 3000
PROFILES = {"promtail": ["promtail"]}
# No default secrets: compose refuses to start until the environment sets each.
SECRETS = {"{db_password}": "${OBS_DB_PASSWORD:?set OBS_DB_PASSWORD}",
           "{admin_password}": "${OBS_ADMIN_PASSWORD:?set OBS_ADMIN_PASSWORD}",
           "{demo_password}": "${OBS_DEMO_PASSWORD:?set OBS_DEMO_PASSWORD}"}
HEADER = """\
# Generated from stack/stack.yaml by `obsharness compose`; do not edit by hand.
# The same stack the harness tests, for people: docker compose -f stack/docker-compose.yml up
# Grafana http://localhost:3000, node-app http://localhost:3001 (3000 inside the network),
# Prometheus :9090, Alertmanager :9093, Loki :3100. Alertmanager notifies alert-webhook:9095
# and mail-relay:25: point them at your own receivers (stack/alertmanager/alertmanager.yml).
# Secrets: OBS_DB_PASSWORD, OBS_ADMIN_PASSWORD and OBS_DEMO_PASSWORD from the environment;
# compose refuses to start without them (no defaults). The apps' chaos API stays off.
"""


def compose_for(manifest: Manifest) -> dict[str, Any]:
    services: dict[str, Any] = {}
    volumes: dict[str, Any] = {}
    for comp in (c for level in manifest.start_order() for c in level):
        spec = comp.container
        service: dict[str, Any] = {"image": comp.image}
        if comp.build:
            service["build"] = {"context": comp.build.context, "dockerfile": comp.build.dockerfile}
        if comp.name in PROFILES:
            service["profiles"] = PROFILES[comp.name]
        if spec and spec.command:
            service["command"] = list(spec.command)
        if spec and spec.env:
            service["environment"] = spec.env_with(SECRETS)
        service["ports"] = [f"{HOST_PORTS.get(comp.name, comp.port)}:{comp.port}"]
        mounts = [f"{src if src.startswith('/') else './' + src}:{target}:ro"
                  for src, target in (spec.mounts if spec else {}).items()]
        if spec and spec.data:
            volumes[f"{comp.name}-data"] = None
            mounts.append(f"{comp.name}-data:{spec.data}")
        if mounts:
            service["volumes"] = mounts
        needs = [d for d in (*comp.depends_on, *comp.after) if d in manifest.components]
        if needs:
            service["depends_on"] = needs
        service["restart"] = "unless-stopped"
        services[comp.name] = service
    return {"name": "obsharness", "services": services, "volumes": volumes}


def render(manifest: Manifest) -> str:
    return HEADER + yaml.safe_dump(compose_for(manifest), sort_keys=False, width=100)
