"""The docker backend's container specifications, checked without any engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from obsharness.stack import containers
from obsharness.stack.docker import RUN_LABEL, image_for, image_overrides, specification_for
from obsharness.stack.manifest import Manifest, default_manifest_path, load_manifest
from obsharness.stack.render import render_stack

SECRETS = {"{db_password}": "s3cret-db", "{admin_password}": "s3cret-admin",
           "{demo_password}": "s3cret-demo"}


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return load_manifest(default_manifest_path())


@pytest.fixture(scope="module")
def rendered_dir(manifest: Manifest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("docker-run")
    names = {n: f"{n}:{c.port}" for n, c in manifest.components.items()}
    names.update({"alert-webhook": "172.18.0.1:40000", "mail-relay": "172.18.0.1:40001"})
    render_stack(manifest, run_dir, addresses=names, time_scale=60, validate=False)
    return run_dir


def test_the_prometheus_container_gets_its_own_durations_scaled(
        manifest: Manifest, tmp_path: Path) -> None:
    names = {n: f"{n}:{c.port}" for n, c in manifest.components.items()}
    rendered = render_stack(manifest, tmp_path, addresses=names, time_scale=60, validate=False)
    spec = specification_for(manifest.component("prometheus"), tmp_path,
                             image="prom/prometheus:v3.5.3", run_id="r1", secrets_=SECRETS,
                             rendered=rendered)
    own = manifest.component("prometheus").container.command  # type: ignore[union-attr]
    assert spec.command[:len(own)] == own
    assert spec.command[len(own):] == (
        "--query.lookback-delta=5s", "--rules.alert.resend-delay=1s",
        "--rules.alert.for-grace-period=10s", "--rules.alert.for-outage-tolerance=1m")


def test_every_component_has_a_complete_specification(manifest: Manifest,
                                                      rendered_dir: Path) -> None:
    for comp in manifest.components.values():
        spec = specification_for(comp, rendered_dir, image=image_for(comp, {}), run_id="r1",
                                 secrets_=SECRETS)
        assert spec.image == comp.image
        assert spec.aliases == (comp.name,)
        assert spec.labels[RUN_LABEL] == "r1"
        assert spec.port == comp.port
        assert all("{" not in v for v in spec.env.values()), spec.env
        for host, target in spec.mounts.items():
            assert target.startswith("/")
            assert Path(host).exists() or host.startswith("/var/run/docker.sock"), host
        assert spec.tmpfs == ()  # data lives and dies with the container's layer


def test_the_prometheus_specification(manifest: Manifest, rendered_dir: Path) -> None:
    spec = specification_for(manifest.component("prometheus"), rendered_dir,
                             image="prom/prometheus:v3.5.3", run_id="r1", secrets_=SECRETS)
    assert spec.command[0] == "--config.file=/etc/prometheus/prometheus.yml"
    assert spec.mounts == {str(rendered_dir / "prometheus"): "/etc/prometheus"}
    assert spec.readiness == "/-/ready"
    # Rendered for the docker backend: components by service name, receivers at the gateway.
    config = (rendered_dir / "prometheus" / "prometheus.yml").read_text()
    assert "flask-app:5000" in config
    am = (rendered_dir / "alertmanager" / "alertmanager.yml").read_text()
    assert "172.18.0.1:40000" in am


def test_postgres_gets_its_password_and_a_port_wait(manifest: Manifest, rendered_dir: Path) -> None:
    spec = specification_for(manifest.component("postgres"), rendered_dir, image="postgres:15.18",
                             run_id="r1", secrets_=SECRETS)
    assert spec.env["POSTGRES_PASSWORD"] == "s3cret-db"
    assert spec.readiness is None  # pg_isready is a command: wait for the port instead
    api = specification_for(manifest.component("fastapi-app"), rendered_dir, image="x",
                            run_id="r1", secrets_=SECRETS)
    assert api.env["DATABASE_URL"] == "postgresql://app:s3cret-db@postgres:5432/app"


def test_images_are_overridden_from_one_file(manifest: Manifest, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    images = tmp_path / "images.yml"
    images.write_text("prometheus: obsharness-local/prometheus:2.42\n")
    monkeypatch.setenv("OBSHARNESS_IMAGES", str(images))
    overrides = image_overrides()
    assert image_for(manifest.component("prometheus"), overrides) == \
        "obsharness-local/prometheus:2.42"
    assert image_for(manifest.component("alertmanager"), overrides) == "prom/alertmanager:v0.33.1"


@pytest.mark.parametrize("name", sorted(containers.CLASSES))
def test_the_standalone_classes_agree_with_the_manifest(manifest: Manifest, name: str) -> None:
    cls = containers.CLASSES[name]
    comp = manifest.component(name)
    assert comp.container is not None
    assert comp.image == cls.IMAGE
    assert comp.port == cls.PORT
    assert comp.readiness == cls.READINESS
    if comp.container.command:
        assert comp.container.command == cls.COMMAND


@pytest.mark.parametrize(("docker_host", "socket"), [
    (None, "/var/run/docker.sock"),
    ("unix:///tmp/obsharness-dockerd-x/docker.sock", "/tmp/obsharness-dockerd-x/docker.sock"),
    ("unix:///run/user/1000/docker.sock", "/run/user/1000/docker.sock"),  # rootless
    ("tcp://127.0.0.1:2375", "/var/run/docker.sock"),
])
def test_the_log_agent_mounts_the_socket_of_the_engine_it_runs_on(
    manifest: Manifest, rendered_dir: Path, monkeypatch: pytest.MonkeyPatch,
    docker_host: str | None, socket: str,
) -> None:
    if docker_host is None:
        monkeypatch.delenv("DOCKER_HOST", raising=False)
    else:
        monkeypatch.setenv("DOCKER_HOST", docker_host)
    spec = specification_for(manifest.component("promtail"), rendered_dir,
                             image="grafana/promtail:3.6.15", run_id="r1", secrets_=SECRETS)
    assert spec.mounts[socket] == "/var/run/docker.sock"
