"""When the docker proof can run, and why it says it cannot."""

from __future__ import annotations

import os
import subprocess
import tarfile
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


def test_the_debootstrapped_base_is_kept_a_week_in_the_download_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_run = subprocess.run
    debootstraps = []

    def fake_debootstrap(cmd: list[str], **kwargs: object) -> object:
        if cmd[0] == "debootstrap":
            debootstraps.append(cmd)
            rootfs = Path(cmd[3])
            (rootfs / "etc").mkdir(parents=True)
            (rootfs / "etc" / "debian_version").write_text("12.13\n")
            return subprocess.CompletedProcess(cmd, 0)
        return real_run(cmd, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(dockerlocal.subprocess, "run", fake_debootstrap)
    cache = tmp_path / "cache"
    work = tmp_path / "work"
    work.mkdir()
    tarball, how = dockerlocal.base_rootfs(work, cache)
    assert how == "debootstrapped"
    with tarfile.open(tarball) as archive:
        assert "./etc/debian_version" in archive.getnames()
    again, how = dockerlocal.base_rootfs(work, cache)
    assert (again, how.split(" (")[0]) == (tarball, "from the download cache")
    assert len(debootstraps) == 1
    week_ago = tarball.stat().st_mtime - dockerlocal.BASE_MAX_AGE_S - 1
    os.utime(tarball, (week_ago, week_ago))
    assert dockerlocal.base_rootfs(work, cache)[1] == "debootstrapped"
    assert len(debootstraps) == 2
    assert not list(cache.glob("docker-base/.*"))  # no partial tarball left
