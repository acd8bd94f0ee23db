"""Loads the phase catalog: `common.yaml` deep-merged with one phase file, then overrides.

Phases are addressed by number (1-4) or by name (launch, growth, scale, global).
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any, Mapping

import yaml

from phases.models import Phase

CATALOG_DIR = Path(__file__).resolve().parent
PHASE_FILES = {1: "launch", 2: "growth", 3: "scale", 4: "global"}
PHASE_NUMBERS = {name: number for number, name in PHASE_FILES.items()}


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Returns `base` with `override` merged in; mappings merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@cache
def _read_yaml(name: str) -> dict[str, Any]:
    with open(CATALOG_DIR / f"{name}.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def phase_document(number: int) -> dict[str, Any]:
    """The raw, merged document of a phase, before overrides and validation.

    A deep copy: the YAML files are read once and cached, and a caller that edits the
    document (overrides, tests) must not change what the next caller loads.
    """
    return copy.deepcopy(deep_merge(_read_yaml("common"), _read_yaml(PHASE_FILES[number])))


def load_phase(number: int, overrides: Mapping[str, Any] | None = None) -> Phase:
    """Validates and returns phase `number` with `overrides` deep-merged over it."""
    return Phase.model_validate(deep_merge(phase_document(number), overrides or {}))
