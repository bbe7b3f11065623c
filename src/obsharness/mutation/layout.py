"""Where a project's monitoring code is, for a mutation campaign: this repository's
reference layout (stack/stack.yaml beside infra/) or a team's repository, whose
obsharness.yaml at the root points at files wherever they are."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from obsharness.errors import MutationError
from obsharness.init.manifest_text import HARNESS_DIR
from obsharness.stack.manifest import MANIFEST_NAMES

# Never copied into a workspace nor mutated: history, environments, build output, what
# runs produce.
SKIPPED_PARTS = frozenset({".git", ".venv", ".venv-checkov", "venv", "node_modules", "dist",
                           "__pycache__", ".terraform", ".cache", "reports", ".pytest_cache",
                           ".mypy_cache", ".ruff_cache"})


@dataclass(frozen=True)
class Layout:
    project: Path
    manifest: Path  # relative to project: obsharness.yaml or stack/stack.yaml

    @property
    def reference(self) -> bool:
        return self.manifest == Path("stack/stack.yaml")

    @property
    def stack_prefix(self) -> str:
        """Paths the manifest names are relative to this folder of the project."""
        parent = self.manifest.parent.as_posix()
        return "" if parent == "." else f"{parent}/"

    @property
    def stack_dir(self) -> Path:
        return self.project / self.manifest.parent

    def patterns(self) -> tuple[str, ...]:
        """The files whose mutants a campaign may make, relative to the project."""
        if self.reference:
            return ("stack/**/*.yml", "stack/**/*.yaml", "stack/**/*.alloy", "stack/**/*.json",
                    "stack/apps/**/*.py", "stack/apps/**/*.js", "infra/terraform/**/*.tf",
                    "infra/ansible/filter_plugins/*.py")
        return ("**/*.yml", "**/*.yaml", "**/*.alloy", "**/*.json", "**/*.tf")

    def skipped(self, relative: Path) -> bool:
        parts = set(relative.parts)
        if parts & SKIPPED_PARTS:
            return True
        # A team's harness folder (init's HARNESS_DIR) holds the harness's own Prometheus
        # config and the generated features: not the team's monitoring code.
        return not self.reference and relative.parts[:1] == (HARNESS_DIR,)

    def copy_into(self, workspace: Path) -> None:
        """What the scenarios read, copied: stack/ and infra/ of the reference, the whole
        repository (what runs produce left out) of a team."""
        workspace.mkdir(parents=True)
        if self.reference:
            for folder in ("stack", "infra"):
                if (self.project / folder).is_dir():
                    _copy(self.project / folder, workspace / folder)
            return
        _copy(self.project, workspace)


# Big, generated or installed trees are linked into the workspace, not copied: the
# apps run from it. What runs produce is left out.
_LINKED = ("node_modules", "dist", ".terraform")
_LEFT_OUT = SKIPPED_PARTS - set(_LINKED)


def _copy(source: Path, target: Path) -> None:
    links: list[Path] = []

    def ignore(folder: str, names: list[str]) -> list[str]:
        linked = [n for n in names if n in _LINKED]
        links.extend(Path(folder) / n for n in linked)
        return linked + [n for n in names if n in _LEFT_OUT]

    shutil.copytree(source, target, ignore=ignore, symlinks=True, dirs_exist_ok=True)
    for link in links:
        (target / link.relative_to(source)).symlink_to(link)


def layout_of(project: Path) -> Layout:
    for name in MANIFEST_NAMES:
        if (project / name).is_file():
            return Layout(project, Path(name))
    raise MutationError(f"{project}: no obsharness.yaml nor stack/stack.yaml here; run "
                        "obsharness mutate from the project's root")
