"""When the docker proof can run, and why it says it cannot."""

from __future__ import annotations

from pathlib import Path

import pytest

from obsharness import dockerlocal


def test_not_root_is_a_reason() -> None:
    assert dockerlocal.why_not(root_ok=False) == "not root: dockerd and debootstrap need root"


def test_a_running_engine_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dockerlocal.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    monkeypatch.setattr(dockerlocal, "docker_engine_answers",
                        lambda: (True, "Docker engine answers at unix:///var/run/docker.sock"))
    reason = dockerlocal.why_not(root_ok=True)
    assert reason is not None
    assert reason.startswith("a Docker engine already runs")


def test_missing_tools_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dockerlocal.shutil, "which",
                        lambda tool: None if tool == "debootstrap" else f"/usr/bin/{tool}")
    assert dockerlocal.why_not(root_ok=True) == (
        "debootstrap is not installed (apt-get install docker.io debootstrap)")


def test_every_local_image_has_its_dockerfile() -> None:
    root = dockerlocal.project_root()
    for _, folder, context in dockerlocal.LOCAL_IMAGES.values():
        assert (root / "infra" / "local-images" / folder / "Dockerfile").is_file()
        if context:
            assert (root / context).is_dir()


def test_the_private_dockerd_uses_overlayfs_where_the_kernel_has_it(tmp_path: Path) -> None:
    from obsharness.dockerlocal import storage_driver

    listed = tmp_path / "filesystems"
    listed.write_text("nodev\tsysfs\n\text4\nnodev\toverlay\n")
    assert storage_driver(listed) == "overlay2"
    listed.write_text("nodev\tsysfs\n\text4\n")
    assert storage_driver(listed) == "vfs"
    assert storage_driver(tmp_path / "absent") == "vfs"
