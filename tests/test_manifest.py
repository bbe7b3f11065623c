"""The manifest model and its error messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from obsharness.errors import ManifestError
from obsharness.stack.manifest import Command, Manifest, load_manifest
from obsharness.stack.process import components_needed


def test_real_manifest_orders_components_by_dependency(manifest: Manifest) -> None:
    levels = manifest.start_order()
    level_of = {c.name: index for index, level in enumerate(levels) for c in level}
    assert set(level_of) == set(manifest.components)
    for comp in manifest.components.values():
        for before in comp.starts_after - set(manifest.sinks):
            assert level_of[before] < level_of[comp.name], (before, comp.name)
    assert all(comp.starts_after <= set(manifest.sinks) for comp in levels[0])
    assert manifest.service_ports()["alert-webhook"] == manifest.sinks["alert-webhook"].port


def test_after_orders_a_start_without_pulling_a_component_in(stack_copy: Path) -> None:
    path = _write(stack_copy, "", "depends_on: [alertmanager]",
                  "depends_on: [alertmanager]\n    after: [postgres]")
    manifest = load_manifest(path)
    needed = {c.name for c in components_needed(manifest, ["prometheus"])}
    assert "postgres" not in needed
    assert "alertmanager" in needed
    level_of = {c.name: i for i, level in enumerate(manifest.start_order()) for c in level}
    assert level_of["postgres"] < level_of["prometheus"]
    unknown = _write(stack_copy, "", "after: [postgres]", "after: [tempo]")
    with pytest.raises(ManifestError, match=r"prometheus\.after names unknown tempo"):
        load_manifest(unknown)


def test_every_component_has_a_process_recipe_and_readiness(manifest: Manifest) -> None:
    for comp in manifest.components.values():
        assert comp.process is not None, comp.name
        assert isinstance(comp.readiness, Command) or comp.readiness.startswith("/"), comp.name


def _write(stack_copy: Path, text: str, old: str, new: str) -> Path:
    path = stack_copy / "stack.yaml"
    content = path.read_text()
    assert old in content
    path.write_text(content.replace(old, new, 1))
    return path


def test_unknown_key_is_named(stack_copy: Path) -> None:
    path = _write(stack_copy, "", "    role: metrics\n", "    role: metrics\n    prot: 1\n")
    with pytest.raises(ManifestError, match=r"components\.prometheus has unknown key\(s\) prot"):
        load_manifest(path)


def test_unknown_dependency_is_named(stack_copy: Path) -> None:
    path = _write(stack_copy, "", "depends_on: [alertmanager]",
                  "depends_on: [alertmanager, tempo]")
    with pytest.raises(ManifestError, match="depends_on names unknown tempo"):
        load_manifest(path)


def test_dependency_cycle_is_refused(stack_copy: Path) -> None:
    path = _write(stack_copy, "", "depends_on: [alert-webhook, mail-relay]",
                  "depends_on: [prometheus]")
    with pytest.raises(ManifestError, match="dependency cycle among alertmanager, prometheus"):
        load_manifest(path)


def test_missing_config_file_is_named(stack_copy: Path) -> None:
    (stack_copy / "alertmanager" / "alertmanager.yml").unlink()
    with pytest.raises(ManifestError, match="alertmanager/alertmanager.yml, which does not exist"):
        load_manifest(stack_copy / "stack.yaml")


def test_broken_yaml_names_the_line(stack_copy: Path) -> None:
    path = stack_copy / "stack.yaml"
    path.write_text(path.read_text() + "\n  bad: [unclosed\n")
    with pytest.raises(ManifestError, match=r"stack\.yaml:\d+: not valid YAML"):
        load_manifest(path)


def test_every_component_has_a_container_recipe_with_an_image(manifest: Manifest) -> None:
    for comp in manifest.components.values():
        assert comp.container is not None, comp.name
        assert comp.image, comp.name
        for source, target in comp.container.mounts.items():
            assert target.startswith("/"), (comp.name, target)
            assert source.startswith("/") or (manifest.stack_dir / source).exists()


def test_a_container_mount_of_a_missing_stack_path_is_named(stack_copy: Path) -> None:
    path = _write(stack_copy, "", "        loki/loki.yml: /etc/loki/local-config.yaml",
                  "        loki/missing.yml: /etc/loki/local-config.yaml")
    with pytest.raises(ManifestError, match=r"components\.loki\.container\.mounts sources not "
                                            r"in stack/: \['loki/missing.yml'\]"):
        load_manifest(path)


def test_a_build_without_its_dockerfile_is_named(stack_copy: Path) -> None:
    path = _write(stack_copy, "", "dockerfile: flask_app/Dockerfile", "dockerfile: nope/Dockerfile")
    with pytest.raises(ManifestError, match=r"flask-app\.build: no nope/Dockerfile in stack/apps"):
        load_manifest(path)


def test_a_config_tree_names_the_folder_rendered_with_the_config(tmp_path: Path) -> None:
    # A team's manifest at its repository root: the tree is the config's own folder.
    (tmp_path / "monitoring" / "alertmanager").mkdir(parents=True)
    (tmp_path / "monitoring" / "alertmanager" / "alertmanager.yml").write_text("route: {}\n")
    base = ("version: 1\ncomponents:\n  alertmanager:\n    role: alerting\n    port: 9093\n"
            "    readiness: /-/ready\n    config: monitoring/alertmanager/alertmanager.yml\n")
    (tmp_path / "obsharness.yaml").write_text(base + "    config_tree: monitoring/alertmanager\n")
    manifest = load_manifest(tmp_path / "obsharness.yaml")
    assert manifest.component("alertmanager").config_dir == "monitoring/alertmanager"
    assert manifest.project_dir == tmp_path
    (tmp_path / "obsharness.yaml").write_text(base + "    config_tree: dashboards\n")
    with pytest.raises(ManifestError, match="config_tree must be a folder that holds its "
                                            "config 'monitoring/alertmanager/alertmanager.yml'"):
        load_manifest(tmp_path / "obsharness.yaml")
