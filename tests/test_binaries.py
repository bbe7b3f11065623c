"""Binary provisioning routes, the release download against a local HTTP server."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import tarfile
import time
import zipfile
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from obsharness import binaries
from obsharness.binaries import (
    AM_ASSET_LINK,
    DEBIAN_AM_ASSET_DIR,
    SPECS,
    download_release,
    resolve,
)
from obsharness.errors import BinaryNotFoundError
from obsharness.ports import free_port
from tests.helpers import local_http_server

ARCH = binaries._arch()


def _archive(member: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo(member)
        info.size = len(content)
        info.mode = 0o755
        archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


@pytest.fixture
def release_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local stand-in of the release host, serving files from a folder."""
    folder = tmp_path / "mirror"
    folder.mkdir()

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, *_: Any) -> None:
            return

    with local_http_server(Handler) as url:
        yield url, folder


def _spec_with(archive: bytes | None, digest: str | None) -> binaries.BinarySpec:
    spec = SPECS["prometheus"]
    assert spec.release is not None
    sha = {ARCH: digest} if digest else {}
    return dataclasses.replace(spec, release=dataclasses.replace(spec.release, sha256=sha))


def _publish(folder: Path, content: bytes) -> bytes:
    spec = SPECS["prometheus"]
    assert spec.release is not None
    version = spec.release.version
    data = _archive(f"prometheus-{version}.linux-{ARCH}/prometheus", content)
    (folder / f"prometheus-{version}.linux-{ARCH}.tar.gz").write_bytes(data)
    return data


def test_release_download_verifies_and_installs(release_server: tuple[str, Path],
                                                tmp_path: Path) -> None:
    url, folder = release_server
    data = _publish(folder, b"#!/bin/sh\necho prometheus, version 3\n")
    spec = _spec_with(data, hashlib.sha256(data).hexdigest())
    found = download_release(spec, tmp_path / "cache", base_url=url)
    assert found.path == tmp_path / "cache" / "bin" / "prometheus"
    assert found.route.startswith("official release")
    assert found.path.read_bytes().startswith(b"#!/bin/sh")
    assert found.path.stat().st_mode & 0o111


def test_zip_release_of_loki_is_extracted(release_server: tuple[str, Path],
                                          tmp_path: Path) -> None:
    url, folder = release_server
    spec = SPECS["loki"]
    assert spec.release is not None
    assert spec.release.url.endswith(".zip")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr(f"loki-linux-{ARCH}", "#!/bin/sh\necho loki, version 3.7.0\n")
    data = buffer.getvalue()
    (folder / f"loki-linux-{ARCH}.zip").write_bytes(data)
    pinned = dataclasses.replace(
        spec, release=dataclasses.replace(spec.release, sha256={ARCH: hashlib.sha256(data).hexdigest()}))
    found = download_release(pinned, tmp_path / "cache", base_url=url)
    assert found.path.read_bytes().startswith(b"#!/bin/sh\necho loki")


def test_zip_without_the_binary_is_refused(release_server: tuple[str, Path],
                                           tmp_path: Path) -> None:
    url, folder = release_server
    spec = SPECS["alloy"]
    assert spec.release is not None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr("README.md", "no binary here")
    data = buffer.getvalue()
    (folder / f"alloy-linux-{ARCH}.zip").write_bytes(data)
    pinned = dataclasses.replace(
        spec, release=dataclasses.replace(spec.release, sha256={ARCH: hashlib.sha256(data).hexdigest()}))
    with pytest.raises(RuntimeError, match=f"no usable alloy-linux-{ARCH}"):
        download_release(pinned, tmp_path / "cache", base_url=url)


def test_release_download_refuses_a_wrong_digest(release_server: tuple[str, Path],
                                                 tmp_path: Path) -> None:
    url, folder = release_server
    _publish(folder, b"tampered")
    spec = _spec_with(None, "0" * 64)
    with pytest.raises(RuntimeError, match="sha256 mismatch"):
        download_release(spec, tmp_path / "cache", base_url=url)
    assert not (tmp_path / "cache" / "bin" / "prometheus").exists()


def test_release_download_fails_fast_when_unreachable(tmp_path: Path) -> None:
    spec = _spec_with(None, "0" * 64)
    began = time.monotonic()
    with pytest.raises(RuntimeError, match="download of .* failed"):
        download_release(spec, tmp_path, base_url=f"http://127.0.0.1:{free_port()}", timeout=2)
    assert time.monotonic() - began < 5


def test_release_without_pinned_digest_is_skipped(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="no pinned sha256"):
        download_release(_spec_with(None, None), tmp_path)


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No PATH binaries, an empty cache, no env overrides."""
    empty = tmp_path / "emptybin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("OBSHARNESS_CACHE", str(tmp_path / "cache"))
    for spec in SPECS.values():
        monkeypatch.delenv(spec.env_var, raising=False)
    return tmp_path


def test_missing_binary_lists_every_route(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_debian(spec: Any, cache: Path) -> Any:
        raise RuntimeError("apt-get download prometheus failed: E: Unable to locate package")

    monkeypatch.setattr(binaries, "extract_debian_package", no_debian)
    with pytest.raises(BinaryNotFoundError) as caught:
        resolve("prometheus")
    message = str(caught.value)
    assert message.startswith("prometheus: binary 'prometheus' not found. Tried:")
    for route in ("$OBSHARNESS_PROMETHEUS_BIN not set", "PATH has no prometheus",
                  "not in the project cache", "official release: no pinned sha256",
                  "Debian package: apt-get download prometheus failed"):
        assert route in message
    assert "make setup" in message
    assert "\n" not in message


def test_release_route_comes_before_debian(isolated: Path, monkeypatch: pytest.MonkeyPatch,
                                          release_server: tuple[str, Path]) -> None:
    url, folder = release_server
    data = _publish(folder, b"#!/bin/sh\n")
    monkeypatch.setitem(SPECS, "prometheus", _spec_with(data, hashlib.sha256(data).hexdigest()))
    monkeypatch.setenv("OBSHARNESS_RELEASE_MIRROR", url)
    monkeypatch.setattr(binaries, "extract_debian_package", pytest.fail)
    found = resolve("prometheus")
    assert found.route.startswith("official release")
    # Next time it comes from the cache.
    assert resolve("prometheus").route == "project cache"


def test_explicit_env_var_wins_and_a_wrong_one_is_an_error(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = isolated / "my-prometheus"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("OBSHARNESS_PROMETHEUS_BIN", str(fake))
    assert resolve("prometheus").path == fake
    monkeypatch.setenv("OBSHARNESS_PROMETHEUS_BIN", str(isolated / "nope"))
    with pytest.raises(BinaryNotFoundError, match="OBSHARNESS_PROMETHEUS_BIN=.* is not an executable"):
        resolve("prometheus")


def test_debian_alertmanager_is_patched_to_find_its_templates(tmp_path: Path) -> None:
    original = tmp_path / "prometheus-alertmanager"
    original.write_bytes(b"\x7fELF..." + DEBIAN_AM_ASSET_DIR + b"/default.tmpl\x00rest")
    out = tmp_path / "alertmanager"
    links = binaries._patch_debian_alertmanager(original, tmp_path / "assets", out)
    patched = out.read_bytes()
    assert len(patched) == len(original.read_bytes())
    assert DEBIAN_AM_ASSET_DIR not in patched
    assert b"./" * 14 + b"amtmpl/default.tmpl" in patched
    assert links == {AM_ASSET_LINK: tmp_path / "assets"}


def test_release_versions_match_the_manifest_images() -> None:
    """Process and docker backends run the same versions of the official components."""
    from obsharness.stack.manifest import default_manifest_path, load_manifest

    manifest = load_manifest(default_manifest_path())
    for name in ("prometheus", "alertmanager", "grafana", "loki", "promtail", "alloy"):
        release = SPECS[name].release
        assert release is not None
        image = manifest.component(name).image
        assert image is not None
        assert image.rsplit(":", 1)[1].lstrip("v") == release.version, name


def test_log_agents_of_the_plugin_are_the_manifest_log_agents() -> None:
    from obsharness.stack.manifest import LOG_AGENTS, default_manifest_path, load_manifest

    manifest = load_manifest(default_manifest_path())
    agents = [c.name for c in manifest.components.values() if c.role == "log-agent"]
    assert sorted(agents) == sorted(LOG_AGENTS)
