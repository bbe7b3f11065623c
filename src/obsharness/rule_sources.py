"""Rule groups in every shape teams keep them, read by shape rather than by file name.

A rules source (stack.yaml `sources.rules`) is a glob, a command whose output is YAML
(`helm template`, `kustomize build`) or a jsonnet mixin. Each YAML document is read
for what it is:

- a plain rule file (`groups:`), with Thanos' and Mimir's own group fields dropped
  and reported, as `promtool check rules --ignore-unknown-fields` would read it;
- a Mimir/Cortex namespace file (`namespace:` and `groups:`, as mimirtool keeps them);
- a `PrometheusRule` (monitoring.coreos.com/v1, `spec.groups`), one or several per
  file, or the items of a `List`;
- a ConfigMap whose values are rule files (Helm charts of Prometheus keep them so).

Other Kubernetes resources in a command's output are not rules and are counted, not
read. Every extracted document becomes one plain rule file that promtool judges and the
rendered Prometheus loads; findings name the document it came from (obsharness.origins).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from obsharness import origins, yaml_docs
from obsharness.config_files import load_yaml
from obsharness.errors import ConfigError
from obsharness.origins import Origin
from obsharness.stack.manifest import Manifest, Source

# Fields Prometheus 3's rulefmt reads; a test keeps them equal to what promtool accepts.
GROUP_FIELDS = {"name", "interval", "query_offset", "limit", "rules", "labels"}
RULE_FIELDS = {"record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
# Fields other rulers add, and whose they are (named in the report).
KNOWN_EXTRA_FIELDS = {
    "partial_response_strategy": "Thanos",
    "source_tenants": "Mimir/Cortex",
    "evaluation_delay": "Mimir/Cortex",
    "align_evaluation_time_on_interval": "Mimir",
}
_PROMETHEUS_RULE_API = "monitoring.coreos.com/"


@dataclass
class RuleDocument:
    """The groups of one document (a plain file, a PrometheusRule, a ConfigMap key)."""

    origin: Origin
    groups: list[dict[str, Any]]
    group_origins: list[Origin]
    ignored: list[str] = field(default_factory=list)  # "line 4: partial_response_strategy (Thanos)"

    @property
    def rules(self) -> int:
        return sum(len(g.get("rules") or []) for g in self.groups)


@dataclass
class Found:
    """What one source yielded: its files, its rule documents, and what it did not read."""

    source: Source
    files: list[Path] = field(default_factory=list)
    documents: list[RuleDocument] = field(default_factory=list)
    not_rules: list[str] = field(default_factory=list)  # "Deployment x (document 3)"

    def shapes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for doc in self.documents:
            counts[doc.origin.shape] = counts.get(doc.origin.shape, 0) + 1
        return counts


def _refuse(origin: Origin, detail: str, component: str) -> ConfigError:
    return ConfigError(component=component, path=origin.file, line=origin.line,
                       detail=f"{detail}{f' (in {origin.where})' if origin.where else ''}",
                       checked_with="rule source shape")


def _groups(doc: yaml_docs.Doc, keys: tuple[str | int, ...], data: Any, origin: Origin,
            component: str, *, lenient: bool) -> RuleDocument:
    """The groups under `keys` of a document, shape-checked; with `lenient` (anything but
    a file Prometheus loads itself), fields only other rulers know are dropped."""
    if not isinstance(data, list):
        raise _refuse(origin, "`groups` is not a list", component)
    groups, group_origins, ignored = [], [], []
    for index, group in enumerate(data):
        where = (*keys, index)
        line = doc.line(*where) if doc.node is not None else origin.line
        if not isinstance(group, dict) or not isinstance(group.get("rules") or [], list):
            raise _refuse(Origin(origin.file, line, origin.document, origin.shape,
                                 origin.resource),
                          "a group must be a mapping with a list of rules", component)
        kept = dict(group)
        if lenient:
            for key in sorted(set(group) - GROUP_FIELDS):
                whose = KNOWN_EXTRA_FIELDS.get(key)
                ignored.append(f"line {doc.line(*where, key)}: group {group.get('name')!r} "
                               f"field {key}" + (f" ({whose})" if whose else ""))
                del kept[key]
        for rule in kept.get("rules") or []:
            if not isinstance(rule, dict):
                raise _refuse(Origin(origin.file, line, origin.document, origin.shape,
                                     origin.resource),
                              f"a rule of group {group.get('name')!r} is not a mapping",
                              component)
        groups.append(kept)
        group_origins.append(Origin(origin.file, line, origin.document, origin.shape,
                                    f"{origin.resource} group {group.get('name')!r}".strip()))
    return RuleDocument(origin, groups, group_origins, ignored)


def documents(docs: list[yaml_docs.Doc], file: Path, component: str = "prometheus", *,
              lenient: bool = True) -> tuple[list[RuleDocument], list[str]]:
    """The rule documents of a file's YAML documents, and what was not rules."""
    found: list[RuleDocument] = []
    skipped: list[str] = []
    multi = len(docs) > 1
    for doc in docs:
        for keys, data in _resources(doc.data, ()):
            origin_doc = doc.number if multi else None
            item = f" (List item {int(keys[-1]) + 1})" if keys else ''
            described = _describe(data)
            line = doc.line(*keys)
            source = f"{doc.source}: " if doc.source else ""
            shape = _shape(data)
            if shape is None:
                skipped.append(f"{source}{described} (document {doc.number})")
                continue
            name, groups_at = shape
            origin = Origin(file, line, origin_doc, name,
                            f"{source}{_resource_name(data)}{item}".strip())
            if name == "ConfigMap":
                held = _configmap(doc, keys, data, origin, component, lenient=lenient)
                if not held:
                    skipped.append(f"{source}{described} (document {doc.number}): no key "
                                   f"holds a rule file")
                found += held
                continue
            value: Any = data
            for key in groups_at:
                value = value.get(key) if isinstance(value, dict) else None
            found.append(_groups(doc, (*keys, *groups_at), value or [], origin, component,
                                 lenient=lenient))
    return found, skipped


def _resources(data: Any, keys: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...],
                                                                          Any]]:
    """The resources of a document: itself, or the items of a Kubernetes `List`."""
    if isinstance(data, dict) and str(data.get("kind", "")).endswith("List") \
            and isinstance(data.get("items"), list):
        for index, item in enumerate(data["items"]):
            yield from _resources(item, (*keys, "items", index))
    else:
        yield keys, data


def _shape(data: Any) -> tuple[str, tuple[str, ...]] | None:
    """(shape, path to its groups), or None for what is not rules."""
    if not isinstance(data, dict):
        return None
    kind = data.get("kind")
    resource = kind == "PrometheusRule" and str(data.get("apiVersion", "")).startswith(
        _PROMETHEUS_RULE_API)
    shapes: list[tuple[bool, tuple[str, tuple[str, ...]]]] = [
        (resource, ("PrometheusRule", ("spec", "groups"))),
        (kind == "ConfigMap" and isinstance(data.get("data"), dict), ("ConfigMap", ())),
        (kind is None and "groups" in data and isinstance(data.get("namespace"), str),
         ("Mimir namespace", ("groups",))),
        (kind is None and "groups" in data, ("rule file", ("groups",))),
    ]
    return next((shape for matches, shape in shapes if matches), None)


def _configmap(doc: yaml_docs.Doc, keys: tuple[str | int, ...], data: dict[str, Any],
               origin: Origin, component: str, *, lenient: bool) -> list[RuleDocument]:
    """Each value of a ConfigMap that is a rule file (other keys are left alone)."""
    found = []
    for key, text in sorted((data.get("data") or {}).items()):
        if not isinstance(text, str) or not str(key).endswith((".yml", ".yaml", ".rules")):
            continue
        try:
            inner = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise _refuse(Origin(origin.file, doc.line(*keys, "data", key), origin.document,
                                 "ConfigMap", f"{origin.resource} key {key}"),
                          f"the value is not YAML: {exc}", component) from None
        if isinstance(inner, dict) and "groups" in inner:
            key_origin = Origin(origin.file, doc.line(*keys, "data", key), origin.document,
                                "ConfigMap", f"{origin.resource} key {key}")
            inner_doc = yaml_docs.Doc(inner, None, doc.number)
            found.append(_groups(inner_doc, (), inner["groups"], key_origin, component,
                                 lenient=lenient))
    return found


def _resource_name(data: Any) -> str:
    if not isinstance(data, dict):
        return ""
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    name = str(meta.get("name", "")) if meta else ""
    namespace = str(meta.get("namespace", "")) if meta else ""
    if data.get("kind") is None and isinstance(data.get("namespace"), str):
        return str(data["namespace"])
    return f"{namespace}/{name}" if namespace and name else name


def _describe(data: Any) -> str:
    if isinstance(data, dict) and data.get("kind"):
        return f"{data['kind']} {_resource_name(data)}".strip()
    return f"a {type(data).__name__}"


# ---- reading each kind of source -------------------------------------------------


def read(source: Source, stack_dir: Path, component: str = "prometheus") -> Found:
    """Every rule document of a source."""
    found = Found(source)
    if source.glob:
        for path in sorted(stack_dir.glob(source.glob)):
            if path.is_file():
                found.files.append(path)
                docs, skipped = documents(yaml_docs.load_file(path, component), path, component)
                found.documents += docs
                found.not_rules += [f"{path.name}: {s}" for s in skipped]
    elif source.render:
        label = Path(f"<{' '.join(source.render)}>")
        text = run_render(source, stack_dir, component)
        docs, skipped = documents(yaml_docs.load_text(text, label, component), label, component)
        found.documents, found.not_rules = docs, skipped
    elif source.jsonnet:
        mixin = evaluate_mixin(source, stack_dir, component)
        label = stack_dir / source.jsonnet
        for field_name in ("prometheusAlerts", "prometheusRules"):
            part = mixin.get(field_name) or {}
            if not isinstance(part, dict) or not part.get("groups"):
                continue
            origin = Origin(label, None, None, "jsonnet mixin", field_name)
            doc = yaml_docs.Doc(part, None, 0)
            found.documents.append(_groups(doc, (), part["groups"], origin, component,
                                           lenient=True))
        found.files.append(label)
    return found


def run_render(source: Source, stack_dir: Path, component: str) -> str:
    """The command's standard output, run in stack/; a missing tool or a failure is said
    with the command's own message."""
    program = shutil.which(source.render[0])
    label = " ".join(source.render)
    if program is None:
        raise ConfigError(component=component, path=Path(f"<{label}>"),
                          detail=f"`{source.render[0]}` is not installed here, so the source "
                          f"{label!r} cannot be rendered; install it or drop the source from "
                          f"stack.yaml's sources", checked_with="rule source")
    try:
        proc = subprocess.run([program, *source.render[1:]], cwd=stack_dir, capture_output=True,
                              text=True, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        raise ConfigError(component=component, path=Path(f"<{label}>"),
                          detail="did not finish within 120 s", checked_with=label) from None
    if proc.returncode != 0:
        raise ConfigError(component=component, path=Path(f"<{label}>"),
                          detail=f"exit {proc.returncode}: {proc.stderr.strip()[-2000:]}",
                          checked_with=label)
    return proc.stdout


def evaluate_mixin(source: Source, stack_dir: Path, component: str) -> dict[str, Any]:
    """A jsonnet mixin's prometheusAlerts, prometheusRules and grafanaDashboards, evaluated
    by the jsonnet library (its errors kept), with the mixin's folder and `jpath` searched."""
    import _jsonnet  # type: ignore[import-untyped]  # the `jsonnet` package from PyPI

    assert source.jsonnet is not None
    path = (stack_dir / source.jsonnet).resolve()
    jpath = [str(path.parent), *(str((stack_dir / j).resolve()) for j in source.jpath)]
    snippet = (f"local m = import {json.dumps(path.name)};\n"
               "{[f]: std.get(m, f, {}) for f in "
               "['prometheusAlerts', 'prometheusRules', 'grafanaDashboards']}")
    try:
        out = _jsonnet.evaluate_snippet(str(path.parent / "<obsharness>"), snippet,
                                        jpathdir=jpath)
    except RuntimeError as exc:
        message = str(exc).strip()
        located = re.search(r"(?P<file>[^\s:]+\.(?:lib)?sonnet):(?P<line>\d+)", message)
        where = Path(located["file"]) if located else path
        raise ConfigError(component=component, path=where,
                          line=int(located["line"]) if located else None,
                          detail=message.splitlines()[0] if message else "jsonnet failed",
                          checked_with="jsonnet") from None
    result: dict[str, Any] = json.loads(out)
    return result


# ---- what Prometheus loads ------------------------------------------------------


def extract(manifest: Manifest, kind: str = "rules") -> list[Found]:
    return [read(s, manifest.stack_dir) for s in manifest.sources_of(kind)]


def write(found: list[Found], folder: Path) -> list[Path]:
    """One plain rule file per document under `folder`, each registered with its origin;
    the files Prometheus and promtool are given."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    number = 0
    for each in found:
        for doc in each.documents:
            if not doc.groups:
                continue
            number += 1
            slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{doc.origin.file.name}-"
                          f"{doc.origin.document or 0}-{doc.origin.resource}")[:80]
            target = folder / f"{number:03d}-{slug}.yml"
            text = yaml.safe_dump({"groups": doc.groups}, sort_keys=False, allow_unicode=True)
            target.write_text(f"# extracted by obsharness from {doc.origin}; do not edit\n"
                              + text, encoding="utf-8")
            starts = _group_lines(text, offset=1)
            origins.register(target, list(zip(starts, doc.group_origins, strict=False)))
            written.append(target)
    return written


def _group_lines(text: str, offset: int) -> list[int]:
    node = yaml.compose(text, Loader=yaml_docs.LOADER)
    groups = yaml_docs._child(node, "groups")
    if not isinstance(groups, yaml.SequenceNode):
        return []
    return [g.start_mark.line + 1 + offset for g in groups.value]


# ---- every rule file of a stack, and what no source loads -------------------------

EXTRACTED_DIR = "obsharness-sources"  # under the rendered Prometheus config's folder


@dataclass
class RuleSet:
    """The rule files of a stack: those prometheus.yml's rule_files load, and those the
    harness extracted from the manifest's rule sources."""

    plain: list[Path]
    extracted: list[Path]
    found: list[Found]

    @property
    def files(self) -> list[Path]:
        return [*self.plain, *self.extracted]

    def ignored_fields(self) -> list[str]:
        return [f"{doc.origin.file}: {item}" for each in self.found for doc in each.documents
                for item in doc.ignored]


def rule_test_files(manifest: Manifest) -> list[Path]:
    """promtool's unit tests of the rules: sources.rule_tests' globs where the manifest
    names them (a team keeps them beside its rules), else every *.test.yml under the
    Prometheus config's folder."""
    globs = [s.glob for s in manifest.sources_of("rule_tests") if s.glob]
    if globs:
        return sorted({p for g in globs for p in manifest.stack_dir.glob(g) if p.is_file()})
    config = prometheus_config(manifest)
    return sorted(config.parent.rglob("*.test.y*ml")) if config else []


def prometheus_config(manifest: Manifest) -> Path | None:
    comp = next((c for c in manifest.components.values() if c.binary == "prometheus"), None)
    return manifest.stack_dir / comp.config if comp and comp.config else None


def rule_set(manifest: Manifest, folder: Path) -> RuleSet:
    """Every rule file of the stack; extracted ones are written under `folder`."""
    from obsharness.stack.render import rule_files_of

    config = prometheus_config(manifest)
    plain = rule_files_of(config) if config else []
    found = extract(manifest)
    return RuleSet(plain, write(found, folder), found)


# What may hold monitoring code, by suffix; tests and fixtures of promtool are not sources.
_CODE_SUFFIXES = (".yml", ".yaml", ".json", ".jsonnet", ".libsonnet")


def _folder_of(base: Path, pattern: str) -> Path:
    """The part of a glob before its first wildcard."""
    parts = []
    for part in Path(pattern).parts[:-1]:
        if any(c in part for c in "*?["):
            break
        parts.append(part)
    return base.joinpath(*parts)


def unloaded(manifest: Manifest) -> list[str]:
    """Files under a folder a source reads that no source loads, each with why and what it
    holds: a PrometheusRule named *.yaml beside rule_files' `*.yml` is the usual one."""
    from obsharness.stack.render import rule_files_of

    folders: dict[Path, list[str]] = {}
    loaded: set[Path] = set()
    config = prometheus_config(manifest)
    if config is not None:
        raw = load_yaml(config, "prometheus")
        data: dict[str, Any] = raw if isinstance(raw, dict) else {}
        patterns = data.get("rule_files")
        for pattern in patterns if isinstance(patterns, list) else []:
            folder = _folder_of(config.parent, str(pattern))
            folders.setdefault(folder, []).append(
                f"rule_files {pattern!r} of {config.relative_to(manifest.stack_dir)}")
        loaded |= {p.resolve() for p in rule_files_of(config, data)}  # read once
        # promtool's unit tests live beside the rules: they are tests, not sources.
        loaded |= {p.resolve() for p in (config.parent / "tests").rglob("*") if p.is_file()}
    loaded |= {p.resolve() for p in rule_test_files(manifest)}
    for kind in ("rules", "dashboards", "loki_rules"):
        for source in manifest.sources_of(kind):
            if source.glob:
                folders.setdefault(_folder_of(manifest.stack_dir, source.glob), []).append(
                    f"sources.{kind} {source.glob!r}")
                loaded |= {p.resolve() for p in manifest.stack_dir.glob(source.glob)}
            if source.jsonnet:
                mixin = (manifest.stack_dir / source.jsonnet).parent
                loaded |= {p.resolve() for p in mixin.rglob("*")}  # the mixin's own imports
                loaded |= {p.resolve() for j in source.jpath
                           for p in (manifest.stack_dir / j).rglob("*")}
    findings = []
    for folder, readers in sorted(folders.items()):
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if not path.is_file() or path.suffix not in _CODE_SUFFIXES \
                    or path.resolve() in loaded:
                continue
            holds = sniff(path)
            if not holds.startswith(_MONITORING):
                continue  # a kustomization.yaml, a Service: nothing a source would read
            findings.append(f"{path.relative_to(manifest.stack_dir.parent)} is not loaded: "
                            f"{holds}, but no source reads it (this folder is read by "
                            f"{'; '.join(readers)}). Add it to stack.yaml's sources, match it "
                            f"with a glob, or move it out of the folder")
    return findings


# What sniff() says of a file that holds monitoring code a source could read (or that
# cannot be read at all, which is a finding of its own).
_MONITORING = ("it does not parse", "it holds a dashboard", "it holds jsonnet",
               "it holds monitoring code")
_MONITORING_KINDS = {"PrometheusRule", "rule groups", "ConfigMap", "ConfigMapList", "List",
                     "Dashboard", "GrafanaDashboard", "GrafanaManifest", "PrometheusRuleList"}


def sniff(path: Path) -> str:
    """What a file holds, in a few words, without failing on it."""
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            data = json.loads(text)
            return "it holds a dashboard" if isinstance(data, dict) and (
                "panels" in data or "rows" in data or "elements" in data.get("spec", {})
            ) else "it holds JSON"
        if path.suffix in (".jsonnet", ".libsonnet"):
            return "it holds jsonnet"
        kinds = [str(d.get("kind") or ("rule groups" if "groups" in d else "YAML"))
                 for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    except (OSError, ValueError, yaml.YAMLError, RecursionError, AttributeError):
        return "it does not parse"
    shown = ", ".join(dict.fromkeys(kinds)) or "nothing"
    what = "monitoring code" if set(kinds) & _MONITORING_KINDS else "no monitoring code"
    return f"it holds {what} ({shown})"
