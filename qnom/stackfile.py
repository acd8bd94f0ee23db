"""Reads a Pulumi stack file (`Pulumi.<stack>.yaml`) into the config the engine passes on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from phases.settings import SettingsError

SECURE_KEY = "secure"


def stack_file_path(project_dir: Path, stack: str) -> Path:
    return project_dir / f"Pulumi.{stack}.yaml"


def read_stack_config(path: Path) -> dict[str, Any]:
    """The `config:` map of a stack file. Encrypted values (`{secure: ...}`) stay opaque.

    Raises SettingsError when the file is missing or is not a stack file.
    """
    if not path.exists() or path.is_dir():
        raise SettingsError([f"{path.name}: stack file not found at {path}"])
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise SettingsError([f"{path.name}: not valid YAML ({error.__class__.__name__}: {error})"]) from None
    if not isinstance(document, dict):
        raise SettingsError([f"{path.name}: a stack file is a mapping with a 'config' key"])
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise SettingsError([f"{path.name}: config: must be a mapping of namespaced keys (qnom:phase: 2)"])
    bad_keys = [str(key) for key in config if not isinstance(key, str) or ":" not in key]
    if bad_keys:
        raise SettingsError([f"{path.name}: config.{key}: keys are namespaced, e.g. qnom:phase or aws:region"
                             for key in bad_keys])
    return {key: "[secret]" if isinstance(value, dict) and set(value) == {SECURE_KEY} else value
            for key, value in config.items()}
