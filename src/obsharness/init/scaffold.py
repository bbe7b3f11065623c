"""`obsharness init [DIR]`: scaffold a team's repository around the files it already has.

It writes a manifest pointing at those files (never a copy of them), the harness's own
Prometheus config, pytest.ini, CI files and starter features. Running it twice changes
nothing; a file the team has changed since init wrote it, or one init did not write,
is never overwritten: init says it kept it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from obsharness.init import manifest_text, starters, workflows
from obsharness.init.discover import Found, discover
from obsharness.stack import secret_configs
from obsharness.stack.manifest import load_manifest

STATE_FILE = f"{manifest_text.HARNESS_DIR}/.init-state.json"  # sha256 of what init wrote
MANIFEST = "obsharness.yaml"

PYTEST_INI = """\
# Written by `obsharness init`; edit freely. The obsharness pytest plugin (installed with
# the package) registers every step sentence, the features' tags and its warnings'
# policy (advice shown, other harness warnings errors; lines of your own win).
[pytest]
testpaths = obsharness
bdd_features_base_dir = obsharness/features/
tmp_path_retention_policy = failed
addopts =
    --strict-markers
    --cucumberjson=reports/cucumber.json
    --junitxml=reports/junit.xml
    -o junit_family=xunit2
    -ra
"""


@dataclass
class Outcome:
    found: Found
    lines: list[str] = field(default_factory=list)  # what happened to each file

    @property
    def written(self) -> list[str]:
        return [line.split(" ", 1)[1] for line in self.lines if line.startswith("wrote ")]


class _Writer:
    def __init__(self, root: Path) -> None:
        self.root = root
        state = root / STATE_FILE
        self.state: dict[str, str] = json.loads(state.read_text()) if state.is_file() else {}
        self.lines: list[str] = []

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        digest = hashlib.sha256(text.encode()).hexdigest()
        if path.exists():
            current = hashlib.sha256(path.read_bytes()).hexdigest()
            if current == digest:
                self.state[rel] = digest
                self.lines.append(f"unchanged {rel}")
                return
            if rel not in self.state:
                self.lines.append(f"kept {rel} (init did not write it)")
                return
            if current != self.state[rel]:
                self.lines.append(f"kept {rel} (changed since init wrote it)")
                return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        self.state[rel] = digest
        self.lines.append(f"wrote {rel}")

    def save(self) -> None:
        path = self.root / STATE_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.state, indent=2, sort_keys=True) + "\n")


def _pytest_config_elsewhere(root: Path) -> str | None:
    """The team's own pytest configuration, if it is in a file other than pytest.ini."""
    for name, marker in (("pyproject.toml", "[tool.pytest.ini_options]"),
                         ("tox.ini", "[pytest]"), ("setup.cfg", "[tool:pytest]")):
        path = root / name
        if path.is_file() and marker in path.read_text(encoding="utf-8", errors="replace"):
            return name
    return None


# What runs write into the repository: the report, and the harness's caches (the
# measured scrape needs, configs extracted from Secrets). Binaries go to a per-user cache.
RUN_OUTPUT = ("reports/", ".cache/obsharness/")
GITIGNORE = "# Written by `obsharness init`: what obsharness runs write.\n" + \
    "".join(f"{entry}\n" for entry in RUN_OUTPUT)


def _ignore_run_output(root: Path, out: _Writer) -> None:
    """A .gitignore naming the run output where the repository has none; the team's own
    is never edited, only named with the lines it lacks."""
    path = root / ".gitignore"
    if not path.exists():
        out.write(".gitignore", GITIGNORE)
        return
    if out.state.get(".gitignore"):
        out.write(".gitignore", GITIGNORE)  # init's own: unchanged or kept, as any file
        return
    have = {line.strip() for line in path.read_text(errors="replace").splitlines()}
    missing = [e for e in RUN_OUTPUT if e not in have and e.rstrip("/") not in have]
    if missing:
        out.lines.append(f"kept .gitignore (add {' and '.join(missing)} to it: obsharness "
                         "runs write there)")


def init(root: Path) -> Outcome:
    root = root.resolve()
    found = discover(root)
    out = _Writer(root)
    # A plain config first; else the Secret kube-prometheus and Helm charts keep it in.
    kept = [*found.alertmanager, *found.alertmanager_secrets]
    alertmanager = kept[0] if kept else manifest_text.ALERTMANAGER_FALLBACK
    if not kept:
        out.write(manifest_text.ALERTMANAGER_FALLBACK, manifest_text.ALERTMANAGER_STARTER)
    out.write(manifest_text.PROMETHEUS_CONFIG, manifest_text.prometheus_config(root, found))
    out.write(MANIFEST, manifest_text.manifest(root, found, alertmanager))
    # The features follow the manifest as it is now: the team's edits included.
    manifest = load_manifest(root / MANIFEST)
    features = f"{manifest_text.HARNESS_DIR}/features"
    out.write(f"{features}/static.feature", starters.static_feature(
        bool(found.rule_tests), bool(found.dashboards)))
    config = secret_configs.config_path(manifest, manifest.component("alertmanager"))
    out.write(f"{features}/routing.feature", starters.routing_feature(manifest, config))
    out.write(f"{features}/timing.feature", starters.timing_feature(manifest))
    out.write(f"{manifest_text.HARNESS_DIR}/test_obsharness.py", starters.TEST_MODULE)
    elsewhere = _pytest_config_elsewhere(root)
    if elsewhere:
        # A pytest.ini would silently take precedence over the team's own settings.
        out.lines.append(f"kept {elsewhere} (pytest is configured there: add "
                         f"testpaths = obsharness and bdd_features_base_dir = "
                         f"obsharness/features/ to it)")
    else:
        out.write("pytest.ini", PYTEST_INI)
    out.write(".github/workflows/obsharness.yml", workflows.GITHUB)
    out.write(f"{manifest_text.HARNESS_DIR}/ci/obsharness.gitlab-ci.yml", workflows.GITLAB)
    out.write(".gitlab-ci.yml", workflows.GITLAB_ENTRY)
    _ignore_run_output(root, out)
    out.save()
    return Outcome(found, out.lines)
