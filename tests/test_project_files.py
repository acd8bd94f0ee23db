"""`Pulumi.yaml` and the stack files against Pulumi's documented project-file rules.

The Pulumi CLI cannot run here, so these tests encode the rules of the project file
reference (https://www.pulumi.com/docs/iac/concepts/projects/project-file/) and of its
JSON schema: required `name` and `runtime`, python runtime options, config declarations
(`type` one of string/integer/boolean/array, `items` for arrays, `default` matching the
type, schemas only for the project's own namespace), and stack files holding values only.
"""

from __future__ import annotations

import re

import pytest
import yaml

from phases.settings import CONFIG_KEYS, NAMESPACE
from qnom.engine import PROJECT_DIR

SIMPLE_TYPES = {"string": str, "integer": int, "boolean": bool, "array": list}
DECLARATION_KEYS = {"type", "items", "description", "secret", "default", "value"}
PYTHON_RUNTIME_OPTIONS = {"toolchain", "virtualenv", "typechecker"}


def _load(name: str) -> dict:
    return yaml.safe_load((PROJECT_DIR / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def project() -> dict:
    return _load("Pulumi.yaml")


def test_name_and_runtime(project):
    assert project["name"] == "qnom"
    assert re.fullmatch(r"[A-Za-z0-9_.-]+", project["name"])
    runtime = project["runtime"]
    assert runtime["name"] == "python"
    assert set(runtime["options"]) <= PYTHON_RUNTIME_OPTIONS
    assert runtime["options"]["virtualenv"] == "venv"
    assert runtime["options"].get("toolchain", "pip") in {"pip", "uv"}  # virtualenv needs pip or uv


def test_config_declarations_follow_the_schema(project):
    for key, declaration in project["config"].items():
        namespace = key.split(":")[0] if ":" in key else project["name"]
        if not isinstance(declaration, dict):
            assert isinstance(declaration, (str, int, bool)), key
            continue
        assert set(declaration) <= DECLARATION_KEYS, key
        if namespace != project["name"]:
            # Schemas are only valid for the project's own keys; others may only set a value.
            assert set(declaration) <= {"value"}, key
            continue
        kind = declaration.get("type")
        if kind is not None:
            assert kind in SIMPLE_TYPES, key
            if kind == "array":
                assert "items" in declaration, key
            if "default" in declaration:
                assert isinstance(declaration["default"], SIMPLE_TYPES[kind]), key


def test_every_setting_is_declared_with_a_description(project):
    declared = {key.removeprefix(f"{NAMESPACE}:"): value for key, value in project["config"].items()
                if key.startswith(f"{NAMESPACE}:")}
    assert set(declared) == set(CONFIG_KEYS)
    for key, declaration in declared.items():
        assert declaration["description"].strip(), key
        assert declaration["description"] == CONFIG_KEYS[key], key


@pytest.mark.parametrize(("stack", "phase", "environment"), [("dev", "1", "dev"), ("prod", "2", "prod")])
def test_stack_files(project, stack, phase, environment):
    config = _load(f"Pulumi.{stack}.yaml")["config"]
    assert config["aws:region"] == "us-east-1"
    assert config["qnom:phase"] == phase
    assert config["qnom:environment"] == environment
    for key, value in config.items():
        assert ":" in key, key
        declaration = project["config"].get(key)
        if isinstance(declaration, dict) and "type" in declaration:
            assert isinstance(value, SIMPLE_TYPES[declaration["type"]]), f"{key} must be a {declaration['type']}"


def test_stack_files_hold_values_only():
    for stack in ("dev", "prod"):
        document = _load(f"Pulumi.{stack}.yaml")
        assert set(document) <= {"config", "secretsprovider", "encryptionsalt", "encryptedkey", "environment"}
