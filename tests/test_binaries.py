"""Binary provisioning routes, the release download against a local HTTP server."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import lzma
import subprocess
import tarfile
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler
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
        zipped.writestr(f"loki-linux-{ARCH}", "#!/bin/sh\necho loki, version 3.7.6\n")
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


def test_release_without_pin_or_checksum_file_is_refused(tmp_path: Path) -> None:
    spec = _spec_with(None, None)
    assert spec.release is not None
    bare = dataclasses.replace(spec, release=dataclasses.replace(spec.release, checksums=None))
    with pytest.raises(RuntimeError, match="publishes no checksum file; refusing an unverified"):
        download_release(bare, tmp_path, base_url=f"http://127.0.0.1:{free_port()}")


# The release's own checksum file, the way each project publishes it.
def _sha256sums(folder: Path, name: str, entries: dict[str, bytes]) -> None:
    (folder / name).write_text("".join(f"{hashlib.sha256(data).hexdigest()}  {file}\n"
                                       for file, data in entries.items()))


def _prometheus_archive_name() -> str:
    spec = SPECS["prometheus"]
    assert spec.release is not None
    return f"prometheus-{spec.release.version}.linux-{ARCH}.tar.gz"


def test_release_is_verified_against_its_own_sha256sums(release_server: tuple[str, Path],
                                                        tmp_path: Path) -> None:
    url, folder = release_server
    data = _publish(folder, b"#!/bin/sh\necho prometheus, version 3\n")
    _sha256sums(folder, "sha256sums.txt", {"other.tar.gz": b"x", _prometheus_archive_name(): data})
    found = download_release(_spec_with(None, None), tmp_path / "cache", base_url=url)
    assert found.route.endswith("verified against the release's own sha256sums.txt")
    recorded = json.loads((tmp_path / "cache" / "bin" / "prometheus.source").read_text())
    assert recorded["sha256"] == hashlib.sha256(data).hexdigest()
    assert "sha256sums.txt" in recorded["route"]


def test_an_archive_the_checksum_file_contradicts_is_refused(
        release_server: tuple[str, Path], tmp_path: Path) -> None:
    url, folder = release_server
    _publish(folder, b"#!/bin/sh\necho tampered\n")
    _sha256sums(folder, "sha256sums.txt", {_prometheus_archive_name(): b"the real archive"})
    with pytest.raises(RuntimeError, match="sha256 mismatch"):
        download_release(_spec_with(None, None), tmp_path / "cache", base_url=url)
    assert not (tmp_path / "cache" / "bin" / "prometheus").exists()


@pytest.mark.parametrize(("listed", "refusal"), [
    (None, r"sha256sums.txt failed: 404.*refusing an unverified"),  # no checksum file
    ("prometheus-3.5.3.linux-riscv64.tar.gz",  # a file without the archive's name
     f"lists no digest for {_prometheus_archive_name()}"),
])
def test_a_download_the_checksum_file_cannot_vouch_for_is_refused(
        release_server: tuple[str, Path], tmp_path: Path, listed: str | None,
        refusal: str) -> None:
    url, folder = release_server
    data = _publish(folder, b"#!/bin/sh\n")
    if listed is not None:
        _sha256sums(folder, "sha256sums.txt", {listed: data})
    with pytest.raises(RuntimeError, match=refusal):
        download_release(_spec_with(None, None), tmp_path / "cache", base_url=url)
    assert not (tmp_path / "cache" / "bin" / "prometheus").exists()


def test_a_pinned_digest_the_published_one_contradicts_refuses(
        release_server: tuple[str, Path], tmp_path: Path) -> None:
    url, folder = release_server
    data = _publish(folder, b"#!/bin/sh\n")
    _sha256sums(folder, "sha256sums.txt", {_prometheus_archive_name(): data})
    with pytest.raises(RuntimeError, match="pinned sha256 .* disagrees with"):
        download_release(_spec_with(None, "f" * 64), tmp_path / "cache", base_url=url)


def test_an_archive_cut_short_is_refused(tmp_path: Path) -> None:
    data = _archive("prometheus-3.5.3.linux-amd64/prometheus", b"#!/bin/sh\n" * 5000)
    name = _prometheus_archive_name()
    sums = f"{hashlib.sha256(data).hexdigest()}  {name}\n".encode()

    class CutShort(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = sums if self.path.endswith("sha256sums.txt") else data
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            # The archive stops half way and the connection closes.
            self.wfile.write(body if body is sums else body[: len(body) // 2])
            self.close_connection = True

        def log_message(self, *_: Any) -> None:
            return

    with local_http_server(CutShort) as url, pytest.raises(RuntimeError, match=name):
        download_release(_spec_with(None, None), tmp_path / "cache", base_url=url)
    assert not (tmp_path / "cache" / "bin" / "prometheus").exists()


def test_grafana_is_unpacked_with_its_homepath_and_checked_by_its_sha256_file(
        release_server: tuple[str, Path], tmp_path: Path) -> None:
    url, folder = release_server
    spec = SPECS["grafana"]
    assert spec.release is not None
    version = spec.release.version
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for member, content, mode in (
                (f"grafana-v{version}/bin/grafana", b"#!/bin/sh\necho Version 13\n", 0o755),
                (f"grafana-v{version}/conf/defaults.ini", b"[paths]\n", 0o644),
                (f"grafana-v{version}/public/build/app.js", b"//\n", 0o644)):
            info = tarfile.TarInfo(member)
            info.size, info.mode = len(content), mode
            archive.addfile(info, io.BytesIO(content))
    data = buffer.getvalue()
    tarball = f"grafana-{version}.linux-{ARCH}.tar.gz"
    (folder / tarball).write_bytes(data)
    # Grafana publishes a lone digest beside each tarball.
    (folder / f"{tarball}.sha256").write_text(hashlib.sha256(data).hexdigest() + "\n")
    found = download_release(spec, tmp_path / "cache", base_url=url)
    assert found.route.endswith(f"verified against the release's own {tarball}.sha256")
    home = found.path.resolve().parent.parent  # what the process backend passes --homepath
    assert (home / "conf" / "defaults.ini").is_file()
    assert (home / "public" / "build" / "app.js").is_file()
    assert binaries._from_cache(spec, tmp_path / "cache") is not None


def test_a_failed_release_download_is_not_retried_within_the_hour_except_by_fetch(
        isolated: Path, monkeypatch: pytest.MonkeyPatch, release_server: tuple[str, Path],
) -> None:
    url, folder = release_server
    monkeypatch.setitem(SPECS, "prometheus", _spec_with(None, None))
    monkeypatch.setenv("OBSHARNESS_RELEASE_MIRROR", url)
    monkeypatch.setattr(binaries, "extract_debian_package", _no_debian)
    with pytest.raises(BinaryNotFoundError, match="sha256sums.txt failed: 404"):
        resolve("prometheus")
    data = _publish(folder, b"#!/bin/sh\n")
    _sha256sums(folder, "sha256sums.txt", {_prometheus_archive_name(): data})
    with pytest.raises(BinaryNotFoundError, match="min ago; `obsharness fetch prometheus`"):
        resolve("prometheus")
    assert resolve("prometheus", retry=True).route.startswith("official release")


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No PATH binaries, an empty cache, no env overrides."""
    empty = tmp_path / "emptybin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("OBSHARNESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(binaries.BINARY_DIR_ENV, raising=False)
    monkeypatch.delenv("OBSHARNESS_ABSENT", raising=False)
    # The release route asks a closed local port, never a host on the internet.
    monkeypatch.setenv("OBSHARNESS_RELEASE_MIRROR", f"http://127.0.0.1:{free_port()}")
    for spec in SPECS.values():
        monkeypatch.delenv(spec.env_var, raising=False)
    return tmp_path


def _no_debian(spec: Any, cache: Path) -> Any:
    raise RuntimeError("apt-get download prometheus failed: E: Unable to locate package")


def test_missing_binary_lists_every_route(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(binaries, "extract_debian_package", _no_debian)
    with pytest.raises(BinaryNotFoundError) as caught:
        resolve("prometheus")
    message = str(caught.value)
    assert message.startswith("prometheus: binary 'prometheus' not found. Tried:")
    for route in ("$OBSHARNESS_PROMETHEUS_BIN not set", "PATH has no prometheus",
                  "not in the binary cache", "$OBSHARNESS_BINARY_DIR not set",
                  "official release: no sha256 for prometheus",
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
    # Next time it comes from the cache, which still names where it came from.
    assert resolve("prometheus").route == f"binary cache, from {found.route}"


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


def _binary_dir(folder: Path, files: dict[str, bytes], listed: dict[str, bytes] | None = None,
                ) -> Path:
    """A local binary directory: `files` written, `listed` (default: files) in SHA256SUMS."""
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    sums = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n"
                   for name, data in (files if listed is None else listed).items())
    (folder / "SHA256SUMS").write_text(sums)
    return folder


LOKI_BYTES = b"#!/bin/sh\necho loki, version 3.7.6\n"


def test_binary_dir_unpacks_a_verified_xz_into_the_cache(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _binary_dir(isolated / "bin", {"loki.xz": lzma.compress(LOKI_BYTES)},
                         {"loki.xz": lzma.compress(LOKI_BYTES), "loki": LOKI_BYTES})
    monkeypatch.setenv(binaries.BINARY_DIR_ENV, str(folder))
    found = resolve("loki")
    assert found.route == f"local binary directory {folder}"
    assert found.path.read_bytes() == LOKI_BYTES
    assert found.path.stat().st_mode & 0o111
    assert found.path.is_relative_to(isolated / "cache")
    assert resolve("loki").route == f"binary cache, from local binary directory {folder}"


def test_binary_dir_takes_plain_binaries_too(isolated: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _binary_dir(isolated / "bin", {"promtail": b"#!/bin/sh\n"})
    monkeypatch.setenv(binaries.BINARY_DIR_ENV, str(folder))
    assert resolve("promtail").path.read_bytes() == b"#!/bin/sh\n"


@pytest.mark.parametrize(("files", "listed", "reason"), [
    ({"loki.xz": lzma.compress(LOKI_BYTES)}, {"loki.xz": b"other"}, "sha256 mismatch for .*loki.xz"),
    ({"loki.xz": lzma.compress(LOKI_BYTES)}, {}, "lists no digest for loki.xz"),
    ({"loki.xz": lzma.compress(LOKI_BYTES)},
     {"loki.xz": lzma.compress(LOKI_BYTES), "loki": b"something else"},
     "unpacks to a binary whose sha256 is not the one SHA256SUMS lists for loki"),
    ({"loki.xz": b"not xz at all"}, None, "not a valid .xz archive"),
    ({"promtail": b"x"}, None, r"has no loki\[.xz\] or loki-linux-amd64\[.xz\]"),
])
def test_binary_dir_refuses_what_it_cannot_verify(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, bytes],
    listed: dict[str, bytes] | None, reason: str,
) -> None:
    folder = _binary_dir(isolated / "bin", files, listed)
    monkeypatch.setenv(binaries.BINARY_DIR_ENV, str(folder))
    with pytest.raises(BinaryNotFoundError, match="local binary directory .*: .*" + reason):
        resolve("loki")
    assert not (isolated / "cache" / "bin" / "loki").exists()


def test_binary_dir_without_sha256sums_is_refused(isolated: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    folder = isolated / "bin"
    folder.mkdir()
    (folder / "loki").write_bytes(LOKI_BYTES)
    monkeypatch.setenv(binaries.BINARY_DIR_ENV, str(folder))
    with pytest.raises(BinaryNotFoundError, match="has no SHA256SUMS; refusing unverified"):
        resolve("loki")


def test_sha256sums_lines_are_read_as_sha256sum_writes_them(tmp_path: Path) -> None:
    sums = tmp_path / "SHA256SUMS"
    digest = "a" * 64
    sums.write_text(f"# built here\n{digest}  loki.xz\n{digest.upper()} *promtail\n\n")
    assert binaries.read_sha256sums(sums) == {"loki.xz": digest, "promtail": digest}
    sums.write_text("not a line\n")
    with pytest.raises(RuntimeError, match="SHA256SUMS:1: not a sha256sum line"):
        binaries.read_sha256sums(sums)


# `apt-cache madison` as Debian's suites answered it on 2026-11-30.
MADISON = """\
prometheus | 3.5.3+ds1-6 | http://deb.debian.org/debian forky/main amd64 Packages
prometheus | 3.5.3+ds1-6 | http://deb.debian.org/debian sid/main amd64 Packages
prometheus | 2.53.3+ds1-2 | http://deb.debian.org/debian trixie/main amd64 Packages
"""


def _madison(output: str) -> Any:
    def run(argv: list[str], **_: Any) -> Any:
        assert argv[0] == "apt-cache"
        assert argv[-2:] == ["madison", "prometheus"]
        return subprocess.CompletedProcess(argv, 0, output, "")
    return run


def test_the_newest_suite_with_the_pinned_line_is_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(binaries.subprocess, "run", _madison(MADISON))
    assert binaries._newest_pinned("prometheus", "prometheus", []) == ("3.5.3+ds1-6", "forky")
    # forky moved on to another line: sid still has 3.5.
    moved = MADISON.replace("3.5.3+ds1-6 | http://deb.debian.org/debian forky",
                            "3.6.0+ds1-1 | http://deb.debian.org/debian forky")
    monkeypatch.setattr(binaries.subprocess, "run", _madison(moved))
    assert binaries._newest_pinned("prometheus", "prometheus", []) == ("3.5.3+ds1-6", "sid")
    # No suite has it (trixie's 2.53 is another line): the caller falls back and warns.
    monkeypatch.setattr(binaries.subprocess, "run", _madison(MADISON.splitlines()[2] + "\n"))
    assert binaries._newest_pinned("prometheus", "prometheus", []) is None


def _cached(cache: Path, name: str, sidecar: str | None) -> None:
    (cache / "bin").mkdir(parents=True, exist_ok=True)
    binary = cache / "bin" / name
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    if sidecar is not None:
        binary.with_name(name + ".source").write_text(sidecar)


@pytest.mark.parametrize(("sidecar", "hit"), [
    ('{"route": "Debian package prometheus 3.5.3+ds1-6 (forky)", "version": "3.5.3+ds1"}', True),
    ('{"route": "Debian package prometheus", "version": "2.42.0+ds"}', False),  # older line
    ("Debian package prometheus\n", False),  # an earlier cache's plain-text sidecar
    (None, False),  # a cache from before sidecars: version unknown
])
def test_a_cached_pinned_binary_of_another_line_is_provisioned_again(
    tmp_path: Path, sidecar: str | None, hit: bool
) -> None:
    _cached(tmp_path, "prometheus", sidecar)
    found = binaries._from_cache(SPECS["prometheus"], tmp_path)
    assert (found is not None) == hit
    if found:
        assert found.route == "binary cache, from Debian package prometheus 3.5.3+ds1-6 (forky)"


def test_a_fallback_of_another_line_is_kept_a_day_then_the_suites_are_asked_again(
    tmp_path: Path
) -> None:
    import os

    _cached(tmp_path, "prometheus",
            '{"route": "Debian package prometheus", "version": "2.42.0+ds", "fallback": true}')
    found = binaries._from_cache(SPECS["prometheus"], tmp_path)
    assert found is not None  # no re-download on every start while no suite has the line
    sidecar = tmp_path / "bin" / "prometheus.source"
    day_ago = time.time() - binaries.APT_LISTS_MAX_AGE_S - 60
    os.utime(sidecar, (day_ago, day_ago))
    assert binaries._from_cache(SPECS["prometheus"], tmp_path) is None


def test_an_unpinned_cached_binary_is_taken_whatever_its_sidecar(tmp_path: Path) -> None:
    _cached(tmp_path, "promtail", "not json")
    found = binaries._from_cache(SPECS["promtail"], tmp_path)
    assert found is not None
    assert found.route == "binary cache"


def test_versions_follow_one_table() -> None:
    from obsharness.stack import containers
    from obsharness.stack.manifest import default_manifest_path, load_manifest
    from obsharness.versions import VERSIONS

    manifest = load_manifest(default_manifest_path())
    for name, pinned in VERSIONS.items():
        assert manifest.component(name).image == pinned.image, name
    assert VERSIONS["prometheus"].image == containers.PrometheusContainer.IMAGE
    assert VERSIONS["alertmanager"].image == containers.AlertmanagerContainer.IMAGE
    for name in ("prometheus", "promtool"):
        assert SPECS[name].pinned == "prometheus"
    for name in ("alertmanager", "amtool"):
        assert SPECS[name].pinned == "alertmanager"
    # The exporters too: the Debian route takes the newest suite with the images' line.
    assert SPECS["node_exporter"].pinned == "node-exporter"
    assert SPECS["postgres_exporter"].pinned == "postgres-exporter"
    assert VERSIONS["prometheus"].matches("3.5.3+ds1")
    assert not VERSIONS["prometheus"].matches("3.50.1")
    assert not VERSIONS["prometheus"].matches("2.53.5")


@pytest.mark.parametrize(("component", "says", "differs"), [
    ("node-exporter", "node_exporter, version 1.5.0 (branch: debian/sid, revision: 1.5.0-1+b6)",
     "1.5.0"),
    ("node-exporter", "node_exporter, version 1.11.1 (branch: HEAD)", None),
    ("postgres-exporter", "postgres_exporter, version 0.11.1 (branch: debian/sid)", "0.11.1"),
    ("postgres", "postgres (PostgreSQL) 15.2 (Debian 15.2-1)", None),  # the major is the line
    ("postgres", "postgres (PostgreSQL) 17.6 (Debian 17.6-0+deb13u1)", "17.6"),
    ("flask-app", "Python 3.11.7", None),  # nothing pinned
])
def test_a_binary_of_another_line_than_the_images_is_named_with_both_versions(
        tmp_path: Path, component: str, says: str, differs: str | None) -> None:
    from obsharness.versions import VERSIONS

    script = tmp_path / "tool"
    script.write_text(f"#!/bin/sh\necho '{says}'\n")
    script.chmod(0o755)
    message = binaries.version_mismatch(component, binaries.ResolvedBinary("t", script, "PATH"))
    if differs is None:
        assert message is None
    else:
        assert message is not None
        assert differs in message
        assert VERSIONS[component].image in message


def test_downloads_are_kept_across_checkouts_where_the_user_says(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("OBSHARNESS_DOWNLOAD_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert binaries.download_cache_dir() == tmp_path / "xdg" / "obsharness"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert binaries.download_cache_dir() == Path.home() / ".cache" / "obsharness"
    monkeypatch.setenv("OBSHARNESS_DOWNLOAD_CACHE", str(tmp_path / "dl"))
    assert binaries.download_cache_dir() == tmp_path / "dl"


def test_provisioned_binaries_are_per_user_and_shared_between_projects(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Two repositories that install obsharness resolve one cache outside both trees.
    monkeypatch.delenv("OBSHARNESS_CACHE", raising=False)
    monkeypatch.delenv("OBSHARNESS_DOWNLOAD_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    seen = set()
    for project in ("team-a", "team-b"):
        (tmp_path / project).mkdir()
        monkeypatch.chdir(tmp_path / project)
        seen.add(binaries.cache_dir())
    assert seen == {tmp_path / "xdg" / "obsharness" / "binaries"}
    monkeypatch.setenv("OBSHARNESS_CACHE", str(tmp_path / "mine"))
    assert binaries.cache_dir() == tmp_path / "mine"
