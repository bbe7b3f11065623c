"""stack/docker-compose.yml and the manifest agree: services, images, ports, config files."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from obsharness.stack import compose
from obsharness.stack.manifest import CHAOS_TOKEN_ENV, default_manifest_path, load_manifest

MANIFEST = load_manifest(default_manifest_path())
COMPOSE_FILE = MANIFEST.stack_dir / "docker-compose.yml"


def test_the_committed_compose_file_is_the_generated_one() -> None:
    assert COMPOSE_FILE.read_text() == compose.render(MANIFEST), (
        "stack/docker-compose.yml is stale: run `obsharness compose`")


def test_compose_and_manifest_agree() -> None:
    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    assert set(services) == set(MANIFEST.components)
    published: list[str] = []
    for name, service in services.items():
        comp = MANIFEST.component(name)
        assert service["image"] == comp.image, name
        [port] = service["ports"]
        host, container = port.split(":")
        assert int(container) == comp.port, name
        assert int(host) == (3001 if name == "node-app" else comp.port), name
        published.append(host)
        mounts = {v.split(":")[0].removeprefix("./"): v.split(":")[1]
                  for v in service.get("volumes", []) if not v.split(":")[0].endswith("-data")}
        assert comp.container is not None
        assert mounts == comp.container.mounts, name
        for source in mounts:
            assert source.startswith("/") or (MANIFEST.stack_dir / source).exists(), source
    assert len(published) == len(set(published)), f"two services on one host port: {published}"


def test_promtail_never_runs_beside_alloy_by_default() -> None:
    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    assert services["promtail"]["profiles"] == ["promtail"]
    assert "profiles" not in services["alloy"]


def test_compose_builds_the_apps_from_their_dockerfiles() -> None:
    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    for name in ("flask-app", "node-app", "fastapi-app"):
        build = services[name]["build"]
        assert (Path(MANIFEST.stack_dir) / build["context"] / build["dockerfile"]).is_file()


def test_compose_has_no_default_secret_and_no_chaos_api() -> None:
    text = COMPOSE_FILE.read_text()
    services = yaml.safe_load(text)["services"]
    references = re.findall(r"\$\{(OBS_\w+)([^}]*)\}", text)
    assert {name for name, _ in references} == {
        "OBS_DB_PASSWORD", "OBS_ADMIN_PASSWORD", "OBS_DEMO_PASSWORD"}
    # `${X:?msg}` refuses to start without X; `${X:-default}` would deploy a default.
    assert all(rest.startswith(":?") for _, rest in references), references
    for name, service in services.items():
        assert CHAOS_TOKEN_ENV not in (service.get("environment") or {}), name
