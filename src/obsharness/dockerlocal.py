"""The docker backend, proven where no image can be pulled.

`python -m obsharness.dockerlocal smoke` (run by `make test` as root when no
Docker engine is running yet): starts Debian's dockerd on a socket and data
root of its own (overlay2 storage; vfs where the kernel lacks overlayfs),
builds a Debian root with debootstrap, imports it as a base image, builds
the images under infra/local-images on it (Prometheus, Alertmanager, Loki
and Promtail around the binaries the provisioning chain resolved, so the
images run the versions the process backend runs; Loki and Promtail where
it has them), then runs the alerting smoke scenarios, and a log scenario
where Loki and Promtail images were built, with --stack-backend=docker
through testcontainers. dockerd is stopped and its data removed at the end,
whatever happened. Reports go to
reports/docker/ and say which images proved what.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from obsharness.backends import docker_engine_answers
from obsharness.binaries import (
    AM_ASSET_LINK,
    download_cache_dir,
    project_root,
    resolve,
    version_of,
)
from obsharness.errors import BinaryNotFoundError
from obsharness.versions import VERSIONS

BASE_IMAGE = "obsharness-local/debian:bookworm"
LOCAL_IMAGES = {
    "flask-app": ("obsharness-local/flask-app:0.1.0", "flask-app", "stack/apps"),
}
# Images around a binary the harness's provisioning chain resolved (Debian's
# newest suite with the pinned line; Loki and Promtail from the local binary
# directory on this project's machines): component -> (tag, folder under
# infra/local-images). Built only where the binary resolves.
BINARY_IMAGES = {
    name: (f"obsharness-local/{name}:{VERSIONS[name].version}", name)
    for name in ("prometheus", "alertmanager", "loki", "promtail")
}
# Without these the smoke cannot run at all; the others only drop their scenario.
REQUIRED_BINARY_IMAGES = ("prometheus", "alertmanager")
SMOKE_COMPONENTS = "flask-app,prometheus"
# What proves the backend: a container killed, its alert mailed, resolved, inhibited. A
# quiet threshold and a silence prove Alertmanager's logic, which the process
# backend's scenarios prove; their quiet periods were half the smoke's time.
SMOKE_SCENARIOS = ("(reaches_its_receivers and ServiceDown) or resolved_notification_follows "
                   "or inhibits_the_other")
LOG_SMOKE_COMPONENTS = "loki,promtail"
LOG_SMOKE_SCENARIOS = "(every_request_leaves_one_access_line and promtail)"


def why_not(root_ok: bool | None = None) -> str | None:
    """Why this machine cannot run the proof, or None when it can."""
    if not (root_ok if root_ok is not None else os.geteuid() == 0):
        return "not root: dockerd and debootstrap need root"
    for tool in ("dockerd", "debootstrap", "docker"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install docker.io debootstrap)"
    answers, detail = docker_engine_answers()
    if answers:
        return f"a Docker engine already runs ({detail}); the proof starts its own only"
    return None


def _mirror() -> str:
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.is_file():
        for line in sources.read_text().splitlines():
            if line.startswith("URIs:"):
                return line.split()[1]
    return "http://deb.debian.org/debian"


def storage_driver(filesystems: Path = Path("/proc/filesystems")) -> str:
    """overlay2 where the kernel has overlayfs (layers shared: an image around a binary
    builds in seconds); vfs elsewhere, which copies every layer whole (slow, but runs
    anywhere)."""
    try:
        known = filesystems.read_text().split()
    except OSError:
        return "vfs"
    return "overlay2" if "overlay" in known else "vfs"


@contextmanager
def dockerd(workdir: Path) -> Iterator[str]:
    """A private dockerd; yields its DOCKER_HOST. Stopped and its data removed after."""
    sock = workdir / "docker.sock"
    log = (workdir / "dockerd.log").open("w")
    process = subprocess.Popen(
        ["dockerd", f"--storage-driver={storage_driver()}", f"--data-root={workdir / 'data'}",
         f"--exec-root={workdir / 'exec'}", f"--pidfile={workdir / 'dockerd.pid'}",
         f"--host=unix://{sock}"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    host = f"unix://{sock}"
    try:
        deadline = time.monotonic() + 60
        while not docker_engine_answers(timeout=0.5, host=host)[0]:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dockerd did not start; see {workdir / 'dockerd.log'}:\n"
                                   + (workdir / "dockerd.log").read_text()[-2000:])
            time.sleep(0.3)
        yield host
    finally:
        _remove_all(host)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()
        # dockerd leaves its default bridge and a network-namespace mount behind;
        # the machine gets both back clean, and the temp dir can then be removed.
        subprocess.run(["ip", "link", "delete", "docker0"], capture_output=True, check=False)
        for mountpoint in reversed(_mounts_under(workdir)):
            subprocess.run(["umount", "-l", mountpoint], capture_output=True, check=False)


def _mounts_under(folder: Path) -> list[str]:
    prefix = str(folder.resolve())
    mounts = Path("/proc/mounts").read_text().splitlines() if Path("/proc/mounts").exists() else []
    return [line.split()[1] for line in mounts
            if len(line.split()) > 1 and line.split()[1].startswith(prefix)]


def _docker(host: str, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKER_HOST": host, "DOCKER_BUILDKIT": "0"}
    done: subprocess.CompletedProcess[str] = subprocess.run(  # type: ignore[call-overload]
        ["docker", *args], env=env, text=True, check=True, capture_output=True, **kwargs)
    return done


def _remove_all(host: str) -> None:
    """Every container of the private engine, whatever the tests left."""
    try:
        ids = _docker(host, "ps", "-aq").stdout.split()
        if ids:
            _docker(host, "rm", "-f", "-v", *ids)
    except (subprocess.CalledProcessError, OSError):
        pass


# A debootstrapped root is kept this long in the machine's download cache, as pip
# keeps its wheels: a week-old Debian base is as good for the smoke, and it saves
# the 35-55 s debootstrap takes on every run.
BASE_MAX_AGE_S = 7 * 24 * 3600


def base_rootfs(workdir: Path, cache: Path | None = None) -> tuple[Path, str]:
    """A tarball of a minimal Debian bookworm root: (path, how it was had)."""
    folder = (cache or download_cache_dir()) / "docker-base"
    key = hashlib.sha256(f"bookworm|minbase|{_mirror()}".encode()).hexdigest()[:12]
    tarball = folder / f"bookworm-minbase-{key}.tar"
    if tarball.exists() and time.time() - tarball.stat().st_mtime < BASE_MAX_AGE_S:
        age = (time.time() - tarball.stat().st_mtime) / 3600
        return tarball, f"from the download cache ({age:.0f} h old)"
    rootfs = workdir / "rootfs"
    subprocess.run(["debootstrap", "--variant=minbase", "bookworm", str(rootfs), _mirror()],
                   check=True, capture_output=True, timeout=900)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{tarball.name}.{os.getpid()}"
    subprocess.run(["tar", "-C", str(rootfs), "-cf", str(partial), "."], check=True,
                   timeout=600)
    partial.replace(tarball)  # whole or not at all, for a parallel or interrupted run
    shutil.rmtree(rootfs, ignore_errors=True)
    return tarball, "debootstrapped"


def build_images(host: str, workdir: Path, root: Path) -> dict[str, str]:
    """Base image from debootstrap, then the local images; returns component -> image."""
    began = time.monotonic()
    tarball, how = base_rootfs(workdir)
    with tarball.open("rb") as stream:
        _docker(host, "import", "-", BASE_IMAGE, stdin=stream, timeout=600)
    print(f"base image {BASE_IMAGE} ({how}): {time.monotonic() - began:.0f} s", flush=True)
    images = {}
    for component, (tag, folder, context) in LOCAL_IMAGES.items():
        began = time.monotonic()
        dockerfile = root / "infra" / "local-images" / folder / "Dockerfile"
        build_context = root / context if context else dockerfile.parent
        _docker(host, "build", "--network", "host", "-q", "-t", tag, "-f", str(dockerfile),
                str(build_context), timeout=900)
        images[component] = tag
        print(f"image {tag}: {time.monotonic() - began:.0f} s", flush=True)
    return images


def build_binary_images(host: str, workdir: Path, root: Path) -> tuple[dict[str, str],
                                                                       dict[str, str]]:
    """Images around binaries the harness verified; (component -> image, component -> why not)."""
    images: dict[str, str] = {}
    missing: dict[str, str] = {}
    for component, (tag, folder) in BINARY_IMAGES.items():
        try:
            binary = resolve(component)
        except BinaryNotFoundError as exc:
            missing[component] = str(exc)
            continue
        began = time.monotonic()
        context = workdir / f"context-{component}"
        context.mkdir()
        shutil.copy2(root / "infra" / "local-images" / folder / "Dockerfile", context)
        shutil.copy2(binary.path, context / component)
        if component == "alertmanager":  # Debian's build reads its templates from a folder
            assets = binary.cwd_links.get(AM_ASSET_LINK)
            if assets:
                shutil.copytree(assets, context / AM_ASSET_LINK)
            else:
                (context / AM_ASSET_LINK).mkdir()
        _docker(host, "build", "-q", "-t", tag, str(context), timeout=900)
        shutil.rmtree(context, ignore_errors=True)
        images[component] = tag
        print(f"image {tag} ({version_of(binary)}, via {binary.route}): "
              f"{time.monotonic() - began:.0f} s", flush=True)
    return images, missing


def smoke(reports: Path) -> int:
    reason = why_not()
    if reason:
        print(f"docker smoke skipped: {reason}", flush=True)
        return 0
    root = project_root()
    reports.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="obsharness-dockerd-") as tmp:
        workdir = Path(tmp)
        with dockerd(workdir) as host:
            started = time.monotonic()
            images = build_images(host, workdir, root)
            built, missing = build_binary_images(host, workdir, root)
            lacking = [n for n in REQUIRED_BINARY_IMAGES if n in missing]
            if lacking:
                raise RuntimeError(f"docker smoke: no {', '.join(lacking)} binary to build an "
                                   f"image from: {missing[lacking[0]]}")
            images.update(built)
            components, scenarios = SMOKE_COMPONENTS, SMOKE_SCENARIOS
            if not missing:
                components = f"{components},{LOG_SMOKE_COMPONENTS}"
                scenarios = f"{scenarios} or {LOG_SMOKE_SCENARIOS}"
            else:
                print(f"docker smoke: no log scenario, its images cannot be built: "
                      f"{'; '.join(missing.values())}", flush=True)
            images_file = workdir / "images.yml"
            images_file.write_text(yaml.safe_dump(images))
            env = {**os.environ, "DOCKER_HOST": host, "OBSHARNESS_IMAGES": str(images_file),
                   "TESTCONTAINERS_RYUK_DISABLED": "true"}
            junit = reports / "junit.xml"
            done = subprocess.run(
                [sys.executable, "-m", "pytest", "steps", "-p", "no:cacheprovider",
                 "--stack-backend=docker", f"--stack-only={components}",
                 f"--run-dir={reports / 'run'}", f"--junitxml={junit}",
                 f"--cucumberjson={reports / 'cucumber.json'}", "-k", scenarios],
                cwd=root, env=env, check=False)
            left = _docker(host, "ps", "-aq").stdout.split()
            reaped_s = killed_harness_is_reaped(host, images["prometheus"])
        summary = {"images": images, "images_missing": missing,
                   "scenarios": _outcomes(junit),
                   "pytest_exit": done.returncode, "containers_left": len(left),
                   "sigkilled_harness_reaped_s": reaped_s,
                   "build_and_run_s": round(time.monotonic() - started, 1)}
        (reports / "docker-smoke.json").write_text(json.dumps(summary, indent=1))
        print(json.dumps(summary, indent=1), flush=True)
    if left:
        print(f"docker smoke: {len(left)} container(s) were left running", file=sys.stderr)
        return 1
    if reaped_s is None:
        print("docker smoke: a SIGKILLed harness's container and network were not removed",
              file=sys.stderr)
        return 1
    return done.returncode


_KILLED_HARNESS = """
import os, sys, time
import docker
from obsharness.stack.containers import RUN_LABEL
from obsharness.stack.docker import create_run_network
from obsharness.stack.reaper import PID_LABEL
network = create_run_network("obsh-sigkill")
docker.from_env().containers.run(
    sys.argv[1], detach=True, network=network.name,
    labels={PID_LABEL: str(os.getpid()), RUN_LABEL: "obsh-sigkill"})
print("started", flush=True)
time.sleep(300)
"""


def killed_harness_is_reaped(host: str, image: str, timeout: float = 30.0) -> float | None:
    """Seconds until a SIGKILLed harness's container and network are gone; None if they stay."""
    from obsharness.stack.containers import RUN_LABEL  # testcontainers: only when it runs

    env = {**os.environ, "DOCKER_HOST": host}
    harness = subprocess.Popen([sys.executable, "-c", _KILLED_HARNESS, image],
                               stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert harness.stdout is not None
        if harness.stdout.readline().strip() != "started":
            return None
    finally:
        harness.kill()
        harness.wait(timeout=30)
    killed = time.monotonic()
    label = f"label={RUN_LABEL}=obsh-sigkill"
    while time.monotonic() - killed < timeout:
        if not (_docker(host, "ps", "-aq", "--filter", label).stdout.split()
                or _docker(host, "network", "ls", "-q", "--filter", label).stdout.split()):
            return round(time.monotonic() - killed, 2)
        time.sleep(0.2)
    return None


def _outcomes(junit: Path) -> dict[str, str]:
    import xml.etree.ElementTree as ET

    if not junit.is_file():
        return {}
    out = {}
    for case in ET.parse(junit).getroot().iter("testcase"):  # noqa: S314 - our own report
        kind = next((c.tag for c in case if c.tag in ("failure", "error", "skipped")), "passed")
        out[str(case.get("name"))] = kind
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m obsharness.dockerlocal")
    parser.add_argument("command", choices=["smoke", "why-not"])
    parser.add_argument("--reports", type=Path, default=Path("reports/docker"))
    args = parser.parse_args(argv)
    if args.command == "why-not":
        print(why_not() or "this machine can run the docker smoke proof")
        return 0
    return smoke(args.reports)


if __name__ == "__main__":
    sys.exit(main())
