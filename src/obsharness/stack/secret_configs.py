"""An Alertmanager config kept in a Kubernetes Secret (kube-prometheus' alertmanager-main,
a Helm chart's rendered output), read as the plain file it holds.

The Secret's `alertmanager.yaml` key (stringData, or base64 data) is written once into
the project's .cache/obsharness/extracted/<component>/, with every other key beside it
(templates the config loads by a relative glob). Every reader of the config, from amtool
to the routing tables, gets that file; a finding about it names the Secret and its key.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from typing import Any

import yaml

from obsharness import origins
from obsharness.config_files import read_text
from obsharness.errors import ConfigError
from obsharness.stack.manifest import Component, Manifest

CONFIG_KEYS = ("alertmanager.yaml", "alertmanager.yml")


def _secret(path: Path, component: str) -> dict[str, Any] | None:
    """The Secret document of a file, if the file is one (else None: a plain config)."""
    text = read_text(path, component)
    if "kind:" not in text or "Secret" not in text:
        return None
    try:
        docs = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    except yaml.YAMLError:
        return None  # the plain config's own reader names the YAML error
    secrets = [d for d in docs if d.get("kind") == "Secret"]
    # A chart's rendered output holds several: the one with the config key is it.
    return next((d for d in secrets if holds_config(d)), secrets[0] if secrets else None)


def holds_config(doc: dict[str, Any]) -> bool:
    """Whether a Secret document carries an Alertmanager config key (stringData or data)."""
    return doc.get("kind") == "Secret" and any(
        isinstance(doc.get(where), dict) and key in doc[where]
        for where in ("stringData", "data") for key in CONFIG_KEYS)


def _values(secret: dict[str, Any], path: Path, component: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            values[str(key)] = base64.b64decode(str(value), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ConfigError(component=component, path=path, checked_with="Secret",
                              detail=f"data.{key} is not base64 of UTF-8 text: {exc}") from None
    values.update({str(k): str(v) for k, v in (secret.get("stringData") or {}).items()})
    return values


def _key_line(path: Path, key: str) -> int | None:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip().startswith((f"{key}:", f'"{key}":', f"'{key}':")):
            return number
    return None


def _write_once(path: Path, text: str) -> None:
    """Every reader (and every xdist worker) asks for the extracted file; a file that
    already holds the text is left alone, and a new one replaces it whole, so amtool in
    another worker never reads it half written."""
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def config_path(manifest: Manifest, comp: Component) -> Path:
    """The component's config as a plain file: its own path, or the Secret's key."""
    path = manifest.stack_dir / (comp.config or "")
    if comp.binary != "alertmanager" or not path.is_file():
        return path
    secret = _secret(path, comp.name)
    if secret is None:
        return path
    values = _values(secret, path, comp.name)
    key = next((k for k in CONFIG_KEYS if k in values), None)
    if key is None:
        raise ConfigError(component=comp.name, path=path, checked_with="Secret",
                          detail=f"the Secret holds no {' or '.join(CONFIG_KEYS)} key "
                          f"(keys: {', '.join(sorted(values)) or 'none'})")
    folder = manifest.project_dir / ".cache" / "obsharness" / "extracted" / comp.name
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in values.items():
        if "/" not in name and name not in ("", ".", ".."):
            _write_once(folder / name, text)
    extracted = folder / key
    name = str((secret.get("metadata") or {}).get("name", ""))
    origins.register(extracted, [(1, origins.Origin(
        path, _key_line(path, key), shape="Secret", resource=f"{name} key {key}"))])
    return extracted


def siblings(extracted: Path, config: Path) -> list[Path]:
    """The Secret's other keys beside an extracted config (its templates)."""
    if extracted == config:
        return []
    return [p for p in sorted(extracted.parent.iterdir()) if p.is_file() and p != extracted]
