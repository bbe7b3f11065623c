"""Provisioning of the native binaries the process backend runs.

Routes, in order: an explicit path in an environment variable, PATH, the
per-user binary cache, a local binary directory ($OBSHARNESS_BINARY_DIR: plain or
`.xz` binaries beside a SHA256SUMS file, for air-gapped teams), an official
release download (pinned version and sha256), and Debian's package
(`apt-get download` + `dpkg -x` into the cache; no system-wide install).
The first route that yields an executable wins; every route that fails says
why, and the final error lists them all.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import lzma
import os
import platform
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from glob import escape as glob_escape
from pathlib import Path

import requests

from obsharness.absent import ABSENT_ENV, absent_reason
from obsharness.errors import BinaryNotFoundError, BinaryVersionWarning
from obsharness.versions import VERSIONS

# Debian's Alertmanager reads its default templates from this absolute path.
DEBIAN_AM_ASSET_DIR = b"/usr/share/prometheus/alertmanager"
# Same length, relative: the patched binary reads them from ./<...>/amtmpl in its cwd.
PATCHED_AM_ASSET_DIR = b"./" * 14 + b"amtmpl"
AM_ASSET_LINK = "amtmpl"


@dataclass(frozen=True)
class Release:
    """An official release archive, verified before anything is unpacked.

    `checksums` is the checksum file the project publishes with the release (Loki's
    and Alloy's `SHA256SUMS`, Prometheus's `sha256sums.txt`, Grafana's `.sha256`
    beside each tarball); `sha256` (arch -> digest) pins a digest, the stronger
    route: a pinned value the published file contradicts refuses the download.
    Neither, no download. `unpack_tree` keeps the whole archive (Grafana needs its
    homepath beside the binary).
    """

    version: str
    url: str  # may use {version} {arch}
    member: str  # path of the binary inside the archive
    sha256: dict[str, str] = field(default_factory=dict)
    checksums: str | None = None  # may use {version} {arch} {url}
    unpack_tree: bool = False


@dataclass(frozen=True)
class BinarySpec:
    name: str
    component: str
    path_names: tuple[str, ...]
    debian_package: str | None
    debian_path: str | None
    release: Release | None
    how_to_get: str
    # Globs searched after PATH: Debian keeps PostgreSQL's server binaries off PATH.
    extra_dirs: tuple[str, ...] = ()
    # Key in obsharness.versions.VERSIONS: the release line this binary must be of
    # when the harness installs it (Debian's newest suites first).
    pinned: str | None = None
    # The package holding the binary in suites older than the pinned line's
    # (promtool was part of `prometheus` before it got a package of its own).
    debian_fallback_package: str | None = None

    @property
    def env_var(self) -> str:
        return f"OBSHARNESS_{self.name.upper().replace('-', '_')}_BIN"


_PROM_RELEASE_URL = (
    "https://github.com/prometheus/prometheus/releases/download/"
    "v{version}/prometheus-{version}.linux-{arch}.tar.gz"
)
_AM_RELEASE_URL = (
    "https://github.com/prometheus/alertmanager/releases/download/"
    "v{version}/alertmanager-{version}.linux-{arch}.tar.gz"
)
# Every release is checked against the checksum file its project publishes beside
# it, fetched over HTTPS from the same release. No digest is pinned here: this
# project cannot reach the release hosts to read them; a team that pins one (a
# reviewed value) gets a download refused when the published file disagrees.
_PROM_SUMS = "https://github.com/prometheus/prometheus/releases/download/v{version}/sha256sums.txt"
_AM_SUMS = "https://github.com/prometheus/alertmanager/releases/download/v{version}/sha256sums.txt"
PROMETHEUS_RELEASE_VERSION = VERSIONS["prometheus"].version
ALERTMANAGER_RELEASE_VERSION = VERSIONS["alertmanager"].version
GRAFANA_RELEASE_VERSION = VERSIONS["grafana"].version
LOKI_RELEASE_VERSION = VERSIONS["loki"].version
PROMTAIL_RELEASE_VERSION = VERSIONS["promtail"].version
ALLOY_RELEASE_VERSION = VERSIONS["alloy"].version

SPECS: dict[str, BinarySpec] = {
    "prometheus": BinarySpec(
        name="prometheus",
        component="prometheus",
        path_names=("prometheus",),
        debian_package="prometheus",
        debian_path="usr/bin/prometheus",
        pinned="prometheus",
        release=Release(
            PROMETHEUS_RELEASE_VERSION,
            _PROM_RELEASE_URL,
            "prometheus-{version}.linux-{arch}/prometheus",
            checksums=_PROM_SUMS,
        ),
        how_to_get="Run `make setup` (Debian package route), install Debian's 'prometheus' "
        "package, or set OBSHARNESS_PROMETHEUS_BIN to a prometheus binary.",
    ),
    "promtool": BinarySpec(
        name="promtool",
        component="prometheus",
        path_names=("promtool",),
        debian_package="promtool",
        debian_path="usr/bin/promtool",
        pinned="prometheus",
        debian_fallback_package="prometheus",
        release=Release(
            PROMETHEUS_RELEASE_VERSION,
            _PROM_RELEASE_URL,
            "prometheus-{version}.linux-{arch}/promtool",
            checksums=_PROM_SUMS,
        ),
        how_to_get="Run `make setup`, install Debian's 'prometheus' package, or set "
        "OBSHARNESS_PROMTOOL_BIN.",
    ),
    "alertmanager": BinarySpec(
        name="alertmanager",
        component="alertmanager",
        path_names=("alertmanager", "prometheus-alertmanager"),
        debian_package="prometheus-alertmanager",
        debian_path="usr/bin/prometheus-alertmanager",
        pinned="alertmanager",
        release=Release(
            ALERTMANAGER_RELEASE_VERSION,
            _AM_RELEASE_URL,
            "alertmanager-{version}.linux-{arch}/alertmanager",
            checksums=_AM_SUMS,
        ),
        how_to_get="Run `make setup`, install Debian's 'prometheus-alertmanager' package, "
        "or set OBSHARNESS_ALERTMANAGER_BIN.",
    ),
    "amtool": BinarySpec(
        name="amtool",
        component="alertmanager",
        path_names=("amtool",),
        debian_package="prometheus-alertmanager",
        debian_path="usr/bin/amtool",
        pinned="alertmanager",
        release=Release(
            ALERTMANAGER_RELEASE_VERSION,
            _AM_RELEASE_URL,
            "alertmanager-{version}.linux-{arch}/amtool",
            checksums=_AM_SUMS,
        ),
        how_to_get="Run `make setup`, install Debian's 'prometheus-alertmanager' package, "
        "or set OBSHARNESS_AMTOOL_BIN.",
    ),
    "grafana": BinarySpec(
        name="grafana",
        component="grafana",
        path_names=("grafana", "grafana-server"),
        debian_package=None,  # not in Debian
        debian_path=None,
        release=Release(
            GRAFANA_RELEASE_VERSION,
            "https://dl.grafana.com/oss/release/grafana-{version}.linux-{arch}.tar.gz",
            "grafana-v{version}/bin/grafana",
            checksums="{url}.sha256",
            unpack_tree=True,
        ),
        how_to_get="Let `make setup` download Grafana OSS from dl.grafana.com (verified "
        "against the tarball's own .sha256), point OBSHARNESS_GRAFANA_BIN at the bin/grafana "
        "of an unpacked tarball (its homepath is the folder above), or use the docker backend.",
    ),
    **{
        name: BinarySpec(
            name=name,
            component=name,
            path_names=(name, f"{name}-linux-amd64"),
            debian_package=None,  # not in Debian
            debian_path=None,
            release=Release(
                version,
                f"https://github.com/grafana/{repo}/releases/download/v{{version}}/"
                f"{name}-linux-{{arch}}.zip",
                f"{name}-linux-{{arch}}",
                checksums=f"https://github.com/grafana/{repo}/releases/download/"
                "v{version}/SHA256SUMS",
            ),
            how_to_get=f"Let `make setup` download {title} from its GitHub release (verified "
            f"against the release's own SHA256SUMS), set OBSHARNESS_{name.upper()}_BIN to the "
            "binary, or use the docker backend.",
        )
        for name, title, repo, version in (
            ("loki", "Loki 3.x", "loki", LOKI_RELEASE_VERSION),
            # Promtail reached end of life on 2026-03-02; Loki 3.6 is its last line.
            ("promtail", "Promtail 3.6 (its last line)", "loki", PROMTAIL_RELEASE_VERSION),
            ("alloy", "Grafana Alloy 1.x", "alloy", ALLOY_RELEASE_VERSION),
        )
    },
    "node_exporter": BinarySpec(
        name="node_exporter",
        component="node-exporter",
        path_names=("node_exporter", "prometheus-node-exporter"),
        debian_package="prometheus-node-exporter",
        debian_path="usr/bin/prometheus-node-exporter",
        pinned="node-exporter",
        release=Release(
            VERSIONS["node-exporter"].version,
            "https://github.com/prometheus/node_exporter/releases/download/v{version}/"
            "node_exporter-{version}.linux-{arch}.tar.gz",
            "node_exporter-{version}.linux-{arch}/node_exporter",
            checksums="https://github.com/prometheus/node_exporter/releases/download/"
            "v{version}/sha256sums.txt",
        ),
        how_to_get="Run `make setup`, install Debian's 'prometheus-node-exporter' package, or "
        "set OBSHARNESS_NODE_EXPORTER_BIN.",
    ),
    "postgres_exporter": BinarySpec(
        name="postgres_exporter",
        component="postgres-exporter",
        path_names=("postgres_exporter", "prometheus-postgres-exporter"),
        debian_package="prometheus-postgres-exporter",
        debian_path="usr/bin/prometheus-postgres-exporter",
        pinned="postgres-exporter",
        release=Release(
            VERSIONS["postgres-exporter"].version,
            "https://github.com/prometheus-community/postgres_exporter/releases/download/"
            "v{version}/postgres_exporter-{version}.linux-{arch}.tar.gz",
            "postgres_exporter-{version}.linux-{arch}/postgres_exporter",
            checksums="https://github.com/prometheus-community/postgres_exporter/releases/"
            "download/v{version}/sha256sums.txt",
        ),
        how_to_get="Run `make setup`, install Debian's 'prometheus-postgres-exporter' package, "
        "or set OBSHARNESS_POSTGRES_EXPORTER_BIN.",
    ),
    **{
        tool: BinarySpec(
            name=tool,
            component="postgres",
            path_names=(tool,),
            # The server needs its share/ and lib/ trees and a dozen shared
            # libraries: a system install, not a cache extraction.
            debian_package=None,
            debian_path=None,
            release=None,
            how_to_get="Install PostgreSQL: `apt-get install postgresql` (`make setup` does "
            f"when run as root), or set OBSHARNESS_{tool.upper()}_BIN.",
            extra_dirs=("/usr/lib/postgresql/*/bin",),
        )
        for tool in ("postgres", "initdb", "pg_isready")
    },
}


@dataclass(frozen=True)
class ResolvedBinary:
    """A usable binary and the route that produced it.

    `cwd_links` are names the process must find in its working directory
    (Debian's Alertmanager templates, when extracted outside /usr).
    """

    name: str
    path: Path
    route: str
    cwd_links: dict[str, Path] = field(default_factory=dict)


def project_root() -> Path:
    """$OBSHARNESS_ROOT, else the folder above $OBSHARNESS_STACK's stack/, else found upwards."""
    env = os.environ.get("OBSHARNESS_ROOT")
    if env:
        return Path(env)
    from obsharness.stack.manifest import find_manifest, project_dir_of

    manifest = os.environ.get("OBSHARNESS_STACK")
    if manifest:
        return project_dir_of(Path(manifest).resolve())
    here = Path.cwd().resolve()
    found = find_manifest(here)
    return project_dir_of(found) if found else here


def cache_dir() -> Path:
    """The binary cache: $OBSHARNESS_CACHE, else binaries/ of the per-user download cache.
    Per user, not per checkout: every repository that installs obsharness shares one
    provisioned Prometheus, and none of them carries binaries in its own tree."""
    env = os.environ.get("OBSHARNESS_CACHE")
    return Path(env) if env else download_cache_dir() / "binaries"


def download_cache_dir() -> Path:
    """Downloads kept across checkouts, as pip keeps its own: $OBSHARNESS_DOWNLOAD_CACHE,
    else $XDG_CACHE_HOME/obsharness, else ~/.cache/obsharness. Only what apt verifies
    goes there (its signed package lists, and the .deb files it checks against them):
    a fresh clone then spends seconds, not a minute, on Debian's packages."""
    env = os.environ.get("OBSHARNESS_DOWNLOAD_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "obsharness"


def _arch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


@contextlib.contextmanager
def _cache_lock(cache: Path) -> Iterator[None]:
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _links_file(binary: Path) -> Path:
    return binary.with_name(binary.name + ".links.json")


def _source_file(binary: Path) -> Path:
    return binary.with_name(binary.name + ".source")


def _from_cache(spec: BinarySpec, cache: Path) -> ResolvedBinary | None:
    candidate = cache / "bin" / spec.name
    if not _is_executable(candidate):
        return None
    links: dict[str, Path] = {}
    side = _links_file(candidate)
    if side.is_file():
        links = {k: Path(v) for k, v in json.loads(side.read_text()).items()}
    # The cache remembers the route that filled it (doctor names it) and the version.
    source = _source_file(candidate)
    try:
        recorded = json.loads(source.read_text()) if source.is_file() else {}
    except ValueError:
        recorded = {}  # a sidecar of another format: as good as none
    if not isinstance(recorded, dict):
        recorded = {}
    if spec.pinned and not VERSIONS[spec.pinned].matches(str(recorded.get("version", ""))):
        # Another release line: an older cache is provisioned again; a fallback taken
        # because no suite had the line is kept for a day, then the suites are asked again.
        fresh = time.time() - source.stat().st_mtime < APT_LISTS_MAX_AGE_S if (
            source.is_file()) else False
        if not (recorded.get("fallback") and fresh):
            return None
    route = f"binary cache, from {recorded['route']}" if recorded.get("route") else (
        "binary cache")
    return ResolvedBinary(spec.name, candidate, route, links)


# "node_exporter, version 1.11.1 (...)" (the Prometheus family), or PostgreSQL's
# "postgres (PostgreSQL) 15.18 (Debian ...)".
_VERSION = re.compile(r"(?:\bversion v?|\(PostgreSQL\) )(\d+\.\d+[^\s,()]*)")


def _install_into_cache(
    spec: BinarySpec, source: Path, cache: Path, route: str, links: dict[str, Path] | None = None,
    version: str | None = None, fallback: bool = False, sha256: str | None = None,
) -> ResolvedBinary:
    """Copy into the cache, recording the route and the version (the route's own word, else
    what `--version` says), and whether it is a fallback of another line."""
    target = cache / "bin" / spec.name
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    shutil.copy2(source, tmp)
    tmp.chmod(0o755)
    tmp.replace(target)
    if links:
        _links_file(target).write_text(json.dumps({k: str(v) for k, v in links.items()}))
    resolved = ResolvedBinary(spec.name, target, route, links or {})
    if version is None:
        found = _VERSION.search(version_of(resolved))
        version = found.group(1) if found else ""
    _record_source(target, route, version, fallback=fallback, sha256=sha256)
    return resolved


def _record_source(target: Path, route: str, version: str, *, fallback: bool = False,
                   sha256: str | None = None) -> None:
    """The cache's sidecar: the route that filled it (doctor names it), the version,
    whether it is a fallback of another line, the verified digest."""
    _source_file(target).write_text(json.dumps(
        {"route": route, "version": version, **({"fallback": True} if fallback else {}),
         **({"sha256": sha256} if sha256 else {})}))


BINARY_DIR_ENV = "OBSHARNESS_BINARY_DIR"


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_sha256sums(path: Path) -> dict[str, str]:
    """`sha256sum` output (`<hex>  <name>` or `<hex> *<name>`) as name -> digest."""
    sums: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or len(parts[0]) != 64:
            raise RuntimeError(f"{path}:{number}: not a sha256sum line: {line.strip()!r}")
        sums[parts[1].strip().lstrip("*")] = parts[0].lower()
    return sums


def from_binary_dir(spec: BinarySpec, cache: Path, folder: Path) -> ResolvedBinary:
    """Install a binary from a local folder of plain or `.xz` files, verified by SHA256SUMS.

    Every file taken must have its digest listed; an `.xz` archive is checked
    before unpacking and, where SHA256SUMS also lists the unpacked name, after.
    Raises RuntimeError with the reason when the route cannot be used.
    """
    sums_path = folder / "SHA256SUMS"
    if not sums_path.is_file():
        raise RuntimeError(f"{folder} has no SHA256SUMS; refusing unverified binaries")
    sums = read_sha256sums(sums_path)
    for name in spec.path_names:
        for packed in (False, True):
            file_name = f"{name}.xz" if packed else name
            source = folder / file_name
            if not source.is_file():
                continue
            expected = sums.get(file_name)
            if expected is None:
                raise RuntimeError(f"{sums_path} lists no digest for {file_name}")
            got = _sha256_of(source)
            if got != expected:
                raise RuntimeError(
                    f"sha256 mismatch for {source}: SHA256SUMS says {expected}, file is {got}"
                )
            route = f"local binary directory {folder}"
            if not packed:
                return _install_into_cache(spec, source, cache, route)
            with tempfile.TemporaryDirectory(dir=cache) as tmp:
                staged = Path(tmp) / spec.name
                try:
                    with lzma.open(source) as unpacked, staged.open("wb") as out:
                        shutil.copyfileobj(unpacked, out, 1 << 20)
                except lzma.LZMAError as exc:
                    raise RuntimeError(f"{source} is not a valid .xz archive: {exc}") from None
                inner = sums.get(name)
                if inner is not None and _sha256_of(staged) != inner:
                    raise RuntimeError(
                        f"{source} unpacks to a binary whose sha256 is not the one "
                        f"SHA256SUMS lists for {name}"
                    )
                return _install_into_cache(spec, staged, cache, route)
    wanted = " or ".join(f"{n}[.xz]" for n in spec.path_names)
    raise RuntimeError(f"{folder} has no {wanted}")


def _fetch(url: str, timeout: float) -> bytes:
    try:
        # Connect timeout fails fast where the release host is unreachable.
        response = requests.get(url, timeout=(timeout, 120))
        response.raise_for_status()
    except requests.RequestException as exc:
        raise RuntimeError(f"download of {url} failed: {exc}") from None
    expected = response.headers.get("Content-Length")
    # A compressed transfer is decoded, so its length is not the header's.
    if expected is not None and expected.isdigit() and not response.headers.get(
            "Content-Encoding") and int(expected) != len(response.content):
        raise RuntimeError(f"download of {url} was cut short: {len(response.content)} of "
                           f"{expected} bytes")
    return response.content


def published_digest(checksums_url: str, archive_name: str, timeout: float) -> str:
    """The archive's sha256 as the release's own checksum file states it: a
    `sha256sum` listing (SHA256SUMS, sha256sums.txt) or a lone digest (`<archive>.sha256`)."""
    text = _fetch(checksums_url, timeout).decode("utf-8", "replace")
    lines = [ln.split() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    if checksums_url.endswith(".sha256") and len(lines) == 1:
        digest = lines[0][0].lower()
        if len(digest) == 64 and all(c in "0123456789abcdef" for c in digest):
            return digest
        raise RuntimeError(f"{checksums_url} holds no sha256 digest: {text.strip()[:80]!r}")
    for parts in lines:
        if len(parts) == 2 and len(parts[0]) == 64 and parts[1].lstrip("*") == archive_name:
            return parts[0].lower()
    raise RuntimeError(f"{checksums_url} lists no digest for {archive_name}")


def download_release(
    spec: BinarySpec, cache: Path, *, base_url: str | None = None, timeout: float = 5.0
) -> ResolvedBinary:
    """Download the release archive, verify it, extract the binary (or the whole tree).

    The digest is the release's own checksum file's, checked against a pinned one
    where this module pins one. Raises RuntimeError with the reason when the route
    cannot be used; nothing unverified is ever unpacked.
    """
    release = spec.release
    if release is None:
        raise RuntimeError("no official release is defined")
    arch = _arch()
    pinned = release.sha256.get(arch)
    url = release.url.format(version=release.version, arch=arch)
    sums_url = release.checksums.format(version=release.version, arch=arch, url=url) if (
        release.checksums) else None
    mirror = base_url or os.environ.get("OBSHARNESS_RELEASE_MIRROR")
    if mirror:  # a flat folder: each archive and checksum file by its own name
        url = mirror.rstrip("/") + "/" + url.rsplit("/", 1)[1]
        if sums_url:
            sums_url = mirror.rstrip("/") + "/" + sums_url.rsplit("/", 1)[1]
    archive_name = url.rsplit("/", 1)[1]
    published, why_not = None, "the release publishes no checksum file"
    if sums_url:
        try:
            published = published_digest(sums_url, archive_name, timeout)
        except RuntimeError as exc:
            why_not = str(exc)
    if pinned and published and pinned != published:
        raise RuntimeError(f"the pinned sha256 of {archive_name} ({pinned}) disagrees with "
                           f"{sums_url} ({published}); refusing the download")
    digest = pinned or published
    if not digest:
        raise RuntimeError(f"no sha256 for {spec.name} {release.version} linux-{arch}: "
                           f"{why_not}; refusing an unverified download")
    if published and sums_url:
        verified = f"verified against the release's own {sums_url.rsplit('/', 1)[1]}"
    else:
        verified = f"verified against the pinned sha256 ({why_not})"
    data = _fetch(url, timeout)
    got = hashlib.sha256(data).hexdigest()
    if got != digest:
        raise RuntimeError(f"sha256 mismatch for {url}: expected {digest}, got {got} "
                           f"({len(data)} bytes; a download cut short or a changed file)")
    member = release.member.format(version=release.version, arch=arch)
    route = f"official release {release.version}, {verified}"
    if release.unpack_tree:
        return _install_tree(spec, cache, data, member, url, route, release.version, digest)
    extracted = _extract_member(data, member, url)
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / spec.name
        staged.write_bytes(extracted)
        return _install_into_cache(spec, staged, cache, route, version=release.version,
                                   sha256=digest)


def _install_tree(spec: BinarySpec, cache: Path, archive: bytes, member: str, url: str,
                  route: str, version: str, digest: str) -> ResolvedBinary:
    """Unpack a whole release tarball into the cache (Grafana's homepath: its public/ and
    conf/ beside bin/) and link the binary into cache/bin, so `grafana server` runs there."""
    home = cache / "opt" / f"{spec.name}-{version}"
    staging = home.with_name(home.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tarball:
            tarball.extractall(staging, filter="data")
    except (tarfile.TarError, OSError) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise RuntimeError(f"{url} could not be unpacked: {exc}") from None
    if not _is_executable(staging / member):
        shutil.rmtree(staging, ignore_errors=True)
        raise RuntimeError(f"{url} has no executable {member}")
    shutil.rmtree(home, ignore_errors=True)
    staging.replace(home)
    target = cache / "bin" / spec.name
    target.parent.mkdir(parents=True, exist_ok=True)
    link = target.with_suffix(".tmp")
    link.unlink(missing_ok=True)
    link.symlink_to(home / member)
    link.replace(target)
    _record_source(target, route, version, sha256=digest)
    return ResolvedBinary(spec.name, target, route)


def _extract_member(archive_bytes: bytes, member: str, url: str) -> bytes:
    """One file out of a release archive: Grafana's Loki line ships zips, the rest tarballs."""
    try:
        if url.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(archive_bytes)) as zipped:
                return zipped.read(member)
        with tarfile.open(fileobj=io.BytesIO(archive_bytes), mode="r:gz") as archive:
            extracted = archive.extractfile(member)
            if extracted is None:
                raise RuntimeError(f"{member} in {url} is not a regular file")
            return extracted.read()
    except (tarfile.TarError, zipfile.BadZipFile, KeyError) as exc:
        raise RuntimeError(f"{url} has no usable {member}: {exc}") from None


def _patch_debian_alertmanager(binary: Path, asset_dir: Path, out: Path) -> dict[str, Path]:
    """Make Debian's Alertmanager find its templates when extracted outside /usr.

    The Debian build hard-codes /usr/share/prometheus/alertmanager. Where that
    directory is absent, we write a copy of the binary in which the path is
    replaced by a relative path of the same length; the process backend links
    the extracted templates into the working directory under that name.
    """
    data = binary.read_bytes()
    system_templates = Path(DEBIAN_AM_ASSET_DIR.decode()) / "default.tmpl"
    if DEBIAN_AM_ASSET_DIR not in data or system_templates.is_file():
        shutil.copy2(binary, out)
        return {}
    out.write_bytes(data.replace(DEBIAN_AM_ASSET_DIR, PATCHED_AM_ASSET_DIR))
    out.chmod(0o755)
    return {AM_ASSET_LINK: asset_dir}


# Debian suites searched for a pinned release line, newest first. Their
# binaries need only libc and run on older Debian releases.
DEBIAN_SUITES = ("forky", "sid", "trixie")
DEBIAN_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
DEBIAN_MIRROR = "http://deb.debian.org/debian"
# A private package list older than this is fetched again.
APT_LISTS_MAX_AGE_S = 24 * 3600


def _debian_mirror() -> str:
    """The machine's Debian mirror when it has one (a local mirror answers where the
    public one may not), else Debian's."""
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.is_file():
        for line in sources.read_text().splitlines():
            if line.startswith("URIs:") and "debian" in line:
                return line.split()[1]
    return DEBIAN_MIRROR


def private_apt_options(cache: Path) -> list[str]:
    """apt options for a sources list and state of the project's own (Debian's newest
    suites), fetched once a day; the machine's apt sources are never touched."""
    base = cache / "apt"
    lists = base / "lists"
    (lists / "partial").mkdir(parents=True, exist_ok=True)
    (base / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    sources = base / "sources.list"
    text = "".join(f"deb [signed-by={DEBIAN_KEYRING}] {_debian_mirror()} {suite} main\n"
                   for suite in DEBIAN_SUITES)
    changed = not sources.is_file() or sources.read_text() != text
    if changed:
        sources.write_text(text)
    options = ["-o", f"Dir::Etc::sourcelist={sources}", "-o", "Dir::Etc::sourceparts=/dev/null",
               "-o", f"Dir::State::Lists={lists}", "-o", f"Dir::Cache={base / 'cache'}",
               "-o", "APT::Get::List-Cleanup=0", "-o", "APT::Sandbox::User=root",
               # Debian's container images turn apt's binary caches off (docker-clean):
               # each apt-cache and apt-get call then reparsed 65 MB of lists, 5 s.
               "-o", "Dir::Cache::pkgcache=pkgcache.bin",
               "-o", "Dir::Cache::srcpkgcache=srcpkgcache.bin"]
    stamp = base / "updated"
    if changed or not stamp.is_file() or time.time() - stamp.stat().st_mtime > APT_LISTS_MAX_AGE_S:
        if not DEBIAN_KEYRING.is_file():
            raise RuntimeError(
                f"{DEBIAN_KEYRING} is missing (apt-get install debian-archive-keyring)")
        proc = subprocess.run(["apt-get", *options, "update"], capture_output=True, text=True,
                              timeout=300, check=False)
        if proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(f"apt-get update of {', '.join(DEBIAN_SUITES)} failed: {detail[0]}")
        stamp.touch()
    return options


def _newest_pinned(package: str, pinned: str, options: list[str]) -> tuple[str, str] | None:
    """(version, suite) of the package in the newest suite that has the pinned line."""
    proc = subprocess.run(["apt-cache", *options, "madison", package], capture_output=True,
                          text=True, timeout=60, check=False)
    offers: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[0] == package:
            suite = parts[2].split()[1].split("/")[0] if len(parts[2].split()) > 1 else ""
            offers.setdefault(suite, parts[1])
    for suite in DEBIAN_SUITES:
        version = offers.get(suite)
        if version and VERSIONS[pinned].matches(version.split(":", 1)[-1]):
            return version, suite
    return None


def _download_and_extract(package: str, version: str | None, cache: Path,
                          options: list[str], debs: Path) -> Path:
    """`apt-get download` (with `options`) into `debs` and `dpkg -x` into the cache; the
    root folder. A .deb already in `debs` is checked by apt against the signed lists
    and kept; other versions of the package are removed."""
    debs.mkdir(parents=True, exist_ok=True)
    root = cache / "debian" / (f"{package}_{version}" if version else package)
    if root.is_dir() and any(root.iterdir()):
        return root
    wanted = f"{package}={version}" if version else package
    proc = subprocess.run(["apt-get", *options, "download", wanted], cwd=debs,
                          capture_output=True, text=True, timeout=300, check=False)
    prefix = f"{package}_{version.replace(':', '%3a')}_" if version else f"{package}_"
    found = sorted(debs.glob(f"{glob_escape(prefix)}*.deb"), key=lambda p: p.stat().st_mtime)
    for other in debs.glob(f"{glob_escape(package)}_*.deb"):
        if found and other != found[-1]:
            other.unlink()
    if proc.returncode != 0 or not found:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"`apt-get download {wanted}` failed: {detail[0]} "
                           f"(run `apt-get update` once if the package lists are empty)")
    staging = root.with_name(root.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    subprocess.run(["dpkg", "-x", str(found[-1]), str(staging)], check=True, timeout=300)
    staging.replace(root)
    return root


def extract_debian_package(spec: BinarySpec, cache: Path) -> ResolvedBinary:
    """The binary from Debian's package, `apt-get download` + `dpkg -x` into the cache.

    A pinned binary comes from the newest Debian suite that has its release line
    (a private sources list in the cache); where none has it, from the machine's own
    suites, with a BinaryVersionWarning naming both versions.
    """
    if not spec.debian_package or not spec.debian_path:
        raise RuntimeError("no Debian package is known")
    for tool in ("apt-get", "apt-cache", "dpkg"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not on PATH (not a Debian-like system)")
    package, version, suite, options = spec.debian_package, None, "", []
    fallback = False
    if spec.pinned:
        why_not = ""
        try:
            options = private_apt_options(download_cache_dir())
            chosen = _newest_pinned(package, spec.pinned, options)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            chosen, why_not = None, f": {exc}"
        if chosen:
            version, suite = chosen
        else:
            options, fallback = [], True
            package = spec.debian_fallback_package or spec.debian_package
            warnings.warn(
                f"{spec.name}: no Debian suite of {', '.join(DEBIAN_SUITES)} offers "
                f"{spec.debian_package} {VERSIONS[spec.pinned].line}.x{why_not}; taking the "
                f"machine's own {package}, whose version differs from the docker images' "
                f"{VERSIONS[spec.pinned].image}", BinaryVersionWarning, stacklevel=2)
    root = _download_and_extract(package, version, cache, options,
                                 download_cache_dir() / "debs" if options else cache / "debs")
    source = root / spec.debian_path
    if not _is_executable(source):
        raise RuntimeError(f"{package} has no executable {spec.debian_path}")
    route = f"Debian package {package}" + (f" {version} ({suite})" if version else "")
    if spec.name == "alertmanager":
        with tempfile.TemporaryDirectory() as tmp:
            staged = Path(tmp) / spec.name
            links = _patch_debian_alertmanager(
                source, root / DEBIAN_AM_ASSET_DIR.decode().lstrip("/"), staged
            )
            return _install_into_cache(spec, staged, cache, route, links, version=version,
                                       fallback=fallback)
    return _install_into_cache(spec, source, cache, route, version=version, fallback=fallback)


def _from_system(spec: BinarySpec, attempts: list[str]) -> ResolvedBinary | None:
    """PATH, then the spec's extra directories."""
    for candidate in spec.path_names:
        found = shutil.which(candidate)
        if found:
            return ResolvedBinary(spec.name, Path(found), "PATH")
    attempts.append(f"PATH has no {' or '.join(spec.path_names)}")
    for pattern in spec.extra_dirs:
        # Newest version first: /usr/lib/postgresql/16/bin before 15.
        for folder in sorted(Path("/").glob(pattern.lstrip("/")), reverse=True):
            for candidate in spec.path_names:
                if _is_executable(folder / candidate):
                    return ResolvedBinary(spec.name, folder / candidate, str(folder))
        attempts.append(f"no {spec.name} under {pattern}")
    return None


Route = Callable[[BinarySpec, Path], ResolvedBinary]


def _installing_routes(spec: BinarySpec, attempts: list[str]) -> list[tuple[str, Route]]:
    """The routes that install into the cache, in order, for what this spec has."""
    routes: list[tuple[str, Route]] = []
    binary_dir = os.environ.get(BINARY_DIR_ENV)
    if binary_dir:
        routes.append((f"local binary directory ${BINARY_DIR_ENV}",
                       partial(from_binary_dir, folder=Path(binary_dir))))
    else:
        attempts.append(f"${BINARY_DIR_ENV} not set")
    if spec.release:
        routes.append(("official release", download_release))
    if spec.debian_package:
        routes.append(("Debian package", extract_debian_package))
    return routes


# A release download that failed (no network, a refused digest) is not tried again
# for this long by the tests' own lookups: `obsharness fetch` (make setup) retries.
RELEASE_RETRY_S = 3600


def _failed_release_file(cache: Path, name: str) -> Path:
    return cache / "bin" / f"{name}.release-failed"


def _recent_release_failure(cache: Path, name: str) -> str | None:
    marker = _failed_release_file(cache, name)
    try:
        age = time.time() - marker.stat().st_mtime
    except OSError:
        return None
    if age > RELEASE_RETRY_S:
        return None
    return f"{marker.read_text().strip()} ({age / 60:.0f} min ago; `obsharness fetch {name}` " \
        "tries again now)"


def _install(spec: BinarySpec, cache: Path, routes: list[tuple[str, Route]],
             attempts: list[str], *, retry: bool) -> ResolvedBinary | None:
    """The first installing route that works; each failure is added to `attempts`."""
    marker = _failed_release_file(cache, spec.name)
    for label, route in routes:
        if label == "official release" and not retry:
            failed = _recent_release_failure(cache, spec.name)
            if failed:
                attempts.append(f"{label}: {failed}")
                continue
        try:
            found = route(spec, cache)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            attempts.append(f"{label}: {exc}")
            if label == "official release":
                marker.parent.mkdir(parents=True, exist_ok=True)
                marker.write_text(str(exc))
            continue
        marker.unlink(missing_ok=True)
        return found
    return None


def resolve(name: str, *, allow_install: bool = True, retry: bool = False) -> ResolvedBinary:
    """Find or provision binary `name`; BinaryNotFoundError lists every route tried.

    `retry` tries a release download that failed within the last hour again."""
    spec = SPECS[name]
    attempts: list[str] = []
    hidden = absent_reason(spec.component) or absent_reason(name)
    if hidden:
        raise BinaryNotFoundError(binary=name, component=spec.component, attempts=[hidden],
                                  hint=f"Unset ${ABSENT_ENV}. {spec.how_to_get}")
    explicit = os.environ.get(spec.env_var)
    if explicit:
        path = Path(explicit)
        if _is_executable(path):
            return ResolvedBinary(name, path, f"${spec.env_var}")
        # An explicit path that is wrong is a mistake to report, not to paper over.
        raise BinaryNotFoundError(
            binary=name, component=spec.component,
            attempts=[f"${spec.env_var}={explicit} is not an executable file"],
            hint=f"Point {spec.env_var} at the binary, or unset it. {spec.how_to_get}",
        )
    attempts.append(f"${spec.env_var} not set")
    installed = _from_system(spec, attempts)
    if installed:
        return installed
    cache = cache_dir()
    cached = _from_cache(spec, cache)
    if cached:
        return cached
    attempts.append(f"not in the binary cache {cache / 'bin'}")
    routes = _installing_routes(spec, attempts)
    if allow_install and routes:
        with _cache_lock(cache):
            cached = _from_cache(spec, cache)  # another process may have won the race
            if cached:
                return cached
            found = _install(spec, cache, routes, attempts, retry=retry)
            if found:
                return found
    elif routes:
        attempts.append("installing routes not allowed here")
    raise BinaryNotFoundError(
        binary=name, component=spec.component, attempts=attempts, hint=spec.how_to_get
    )


def version_of(binary: ResolvedBinary) -> str:
    """First line of `<binary> --version`, for doctor and the report."""
    try:
        proc = subprocess.run(
            [str(binary.path), "--version"], capture_output=True, text=True, timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown ({exc})"
    out = (proc.stdout or proc.stderr).strip().splitlines()
    return out[0] if out else "unknown"


_VERSIONS_SEEN: dict[tuple[str, float], str] = {}


def version_mismatch(component: str, binary: ResolvedBinary) -> str | None:
    """Why `binary` is not of the release line the version table pins for `component`
    (the line the docker backend's image runs), or None when it is or nothing is pinned."""
    pinned = VERSIONS.get(component)
    if pinned is None:
        return None
    try:
        key = (str(binary.path.resolve()), binary.path.stat().st_mtime)
    except OSError:
        return None
    if key not in _VERSIONS_SEEN:  # one `--version` per binary and process
        _VERSIONS_SEEN[key] = version_of(binary)
    found = _VERSION.search(_VERSIONS_SEEN[key])
    if found is None or pinned.matches(found.group(1)):
        return None
    return (f"{component}: the process backend runs {found.group(1)} ({binary.path}, via "
            f"{binary.route}), the docker backend {pinned.image}; findings that depend on "
            f"the version (an exporter's series, a server's behaviour) may differ between them")

