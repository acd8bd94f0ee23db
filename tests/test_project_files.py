"""`Pulumi.yaml` and the stack files, checked the way the Pulumi CLI checks them before a run.

The CLI cannot run here, so `cli_merge` below re-implements, rule for rule, what it does
before `pulumi preview`/`up` starts the program (pulumi/pulumi):
- loading the project (sdk/go/common/workspace/loaders.go): the JSON schema
  (sdk/go/common/workspace/project.json: a config entry is a string, integer, boolean, array
  or a declaration with only type/items/description/secret/default/value; `type` one of
  string, integer, boolean, array, object; an array declares `items`), the shorthand rewrite
  (`RewriteShorthandConfigValues`: a bare value is a default in the project's namespace, a
  value elsewhere), then `Project.Validate` (project.go: not both default and value, typed
  defaults match their type, other namespaces carry only a value);
- `ValidateStackConfigAndApplyProjectConfig` (pkg/workspace/config.go, mergeConfig): a key
  of the project's namespace with no stack value, no value and no default is missing and
  stops the run; defaults and values fill the rest; then every typed key's value must match
  its type (`ValidateConfigValue`: stack scalars are strings, so integers and booleans are
  checked on their text, objects and arrays keep their structure) and a `secret` key must be
  encrypted (`secure:`) in the stack file.
Each committed stack file and a minimal new stack (only what the README says a new stack
must set) go through it, and the merged values must then satisfy the program's settings.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from phases.settings import CONFIG_KEYS, NAMESPACE, REQUIRED_KEYS, project_config, settings_from_config
from qnom.engine import PROJECT_DIR

CONFIG_TYPES = ("string", "integer", "boolean", "array", "object")
DECLARATION_KEYS = {"type", "items", "description", "secret", "default", "value"}
PYTHON_RUNTIME_OPTIONS = {"toolchain", "virtualenv", "typechecker"}
MINIMAL_NEW_STACK = {"qnom:phase": "1", "qnom:environment": "dev"}
"""What the README's "First deployment" says a new stack must set; everything else has a default."""
STACK_FILES = {"dev": "Pulumi.dev.yaml", "prod": "Pulumi.prod.yaml", "staging": "Pulumi.staging.yaml",
               "eu": "examples/Pulumi.eu.yaml"}
"""The committed stack files by stack name: the project's own and the examples."""


class CliError(Exception):
    """The error the Pulumi CLI would print before running the program."""


def _load(name: str) -> dict:
    return yaml.safe_load((PROJECT_DIR / name).read_text(encoding="utf-8"))


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, bool)) and not isinstance(value, float)


def _check_items(key: str, items: Any) -> None:
    if not isinstance(items, dict) or "type" not in items:
        raise CliError(f"#/config/{key}/items: missing properties: 'type'")
    if items["type"] not in CONFIG_TYPES and not isinstance(items["type"], dict):
        raise CliError(f"#/config/{key}/items/type: value must be one of {CONFIG_TYPES}")
    if items["type"] == "array":
        if "items" not in items:
            raise CliError(f"#/config/{key}/items: missing properties: 'items'")
        _check_items(key, items["items"])


def load_project(document: dict) -> dict[str, dict]:
    """The project's config declarations as the CLI holds them after loading Pulumi.yaml."""
    name = document.get("name")
    if not isinstance(name, str) or not name:
        raise CliError("project is missing a non-empty string 'name' attribute")
    declarations: dict[str, dict] = {}
    for key, entry in (document.get("config") or {}).items():
        # Schema: a bare string/integer/boolean/array, or a declaration with known attributes.
        if isinstance(entry, dict):
            unknown = set(entry) - DECLARATION_KEYS
            if unknown:
                raise CliError(f"#/config/{key}: additionalProperties {sorted(unknown)} not allowed")
            if "type" in entry and entry["type"] not in CONFIG_TYPES:
                raise CliError(f"#/config/{key}/type: value must be one of {CONFIG_TYPES}")
            if "items" in entry:
                _check_items(key, entry["items"])
            declaration = dict(entry)
        elif _is_scalar(entry) or isinstance(entry, list):
            # RewriteShorthandConfigValues
            in_project = ":" not in key or key.startswith(f"{name}:")
            declaration = {"default" if in_project else "value": entry}
        else:
            raise CliError(f"#/config/{key}: expected string, integer, boolean, array or object")
        declarations[key] = declaration
    for key, declaration in declarations.items():  # Project.Validate
        if "default" in declaration and "value" in declaration:
            raise CliError(f"project config '{key}' cannot have both a 'default' and 'value' attribute")
        kind = declaration.get("type")
        if ":" not in key or key.startswith(f"{name}:"):
            if kind == "array" and "items" not in declaration:
                raise CliError(f"The configuration key '{key}' declares an array but does not specify the "
                               "underlying type via the 'items' attribute")
            if kind is not None and "default" in declaration and declaration["default"] is not None and \
                    not valid_value(kind, declaration.get("items"), declaration["default"]):
                raise CliError(f"The default value specified for configuration key '{key}' is not of the "
                               f"expected type '{type_name(kind, declaration.get('items'))}'")
        else:
            if kind is not None:
                raise CliError(f"Configuration key '{key}' is not namespaced by the project and should not define a type")
            if "default" in declaration:
                raise CliError(f"Configuration key '{key}' is not namespaced by the project and should not "
                               "define a default value. Did you mean to use the 'value' attribute instead of 'default'?")
            if "value" not in declaration:
                raise CliError(f"Configuration key '{key}' is namespaced and must provide an attribute 'value'")
    return declarations


def type_name(kind: str, items: dict | None) -> str:
    """InferFullTypeName."""
    return f"array<{type_name(items['type'], items.get('items'))}>" if items else kind


def valid_value(kind: str, items: dict | None, value: Any) -> bool:
    """ValidateConfigValue: `value` as the CLI holds it (stack scalars arrive as text)."""
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int) or (isinstance(value, float) and value == int(value)):
            return True
        return isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value) is not None
    if kind == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if kind == "object":
        return isinstance(value, dict)
    if not isinstance(value, list) or items is None:
        return False
    return all(valid_value(items["type"], items.get("items"), item) for item in value)


def _stack_value(raw: Any) -> tuple[Any, bool]:
    """A stack file value as config.Value holds it: (content, secure). Scalars become text."""
    if isinstance(raw, dict) and set(raw) == {"secure"}:
        return "[decrypted]", True
    if isinstance(raw, (dict, list)):
        return json.loads(json.dumps(raw)), False
    if isinstance(raw, bool):
        return ("true" if raw else "false"), False
    return ("" if raw is None else str(raw)), False


def _cli_value(value: Any) -> Any:
    """createConfigValue: a project default or value as the stack receives it."""
    if _is_scalar(value):
        return ("true" if value else "false") if isinstance(value, bool) else str(value)
    return json.loads(json.dumps(value))


def cli_merge(project_document: dict, stack_name: str, stack_config: dict) -> dict[str, Any]:
    """The stack's config after the CLI's project-config validation and merge, or CliError."""
    project_name = project_document["name"]
    declarations = load_project(project_document)
    stack: dict[str, tuple[Any, bool]] = {}
    for key, raw in (stack_config or {}).items():
        if not isinstance(key, str) or ":" not in key:
            raise CliError(f"could not parse {key!r} as a configuration key (configuration keys should be "
                           "of the form `<namespace>:<name>`)")
        stack[key] = _stack_value(raw)
    missing = []
    for key in sorted(declarations):
        declaration, full_key = declarations[key], key if ":" in key else f"{project_name}:{key}"
        if full_key in stack:
            continue
        if "value" in declaration or "default" in declaration:
            value = declaration["default"] if "default" in declaration else declaration["value"]
            stack[full_key] = (_cli_value(value), False)
        elif full_key.split(":")[0] == project_name:
            missing.append(key)
    if missing:
        listed = f"'{missing[0]}'" if len(missing) == 1 else \
            ", ".join(f"'{k}'" for k in missing[:-2]) + (", " if len(missing) > 2 else "") + \
            f"'{missing[-2]}' and '{missing[-1]}'"
        raise CliError(f"Stack '{stack_name}' is missing configuration value{'s' if len(missing) > 1 else ''} {listed}")
    for key in sorted(declarations):
        declaration, full_key = declarations[key], key if ":" in key else f"{project_name}:{key}"
        if "type" not in declaration:
            continue
        content, secure = stack.get(full_key, ("", False))
        if declaration.get("secret") and not secure:
            raise CliError(f"Stack '{stack_name}' with configuration key '{key}' must be encrypted as it's secret")
        if not valid_value(declaration["type"], declaration.get("items"), content):
            raise CliError(f"Stack '{stack_name}' with configuration key '{key}' must be of type "
                           f"'{type_name(declaration['type'], declaration.get('items'))}'")
    # What the program receives: text, objects and arrays as JSON (the engine's config bag).
    return {key: content if isinstance(content, str) else json.dumps(content) for key, (content, _) in stack.items()}


@pytest.fixture(scope="module")
def project() -> dict:
    return _load("Pulumi.yaml")


def test_name_and_runtime(project):
    assert project["name"] == "qnom" == NAMESPACE
    runtime = project["runtime"]
    assert runtime["name"] == "python"
    assert set(runtime["options"]) <= PYTHON_RUNTIME_OPTIONS
    assert runtime["options"]["virtualenv"] == "venv"
    assert runtime["options"].get("toolchain", "pip") in {"pip", "uv"}  # virtualenv needs pip or uv


def test_the_cli_loads_the_project_file(project):
    declarations = load_project(project)
    assert declarations["qnom:overrides"] == {
        "type": "object", "default": {}, "description": CONFIG_KEYS["overrides"]}


def test_every_setting_is_declared_as_the_settings_model_says(project):
    # Type, description and default of each key come from StackSettings; Pulumi.yaml repeats them.
    declared = {key: value for key, value in project["config"].items() if key.startswith(f"{NAMESPACE}:")}
    expected = project_config()
    assert declared == expected, "Pulumi.yaml's qnom: keys should read:\n" + yaml.safe_dump(
        expected, sort_keys=False, width=1000)
    assert set(expected) == {f"{NAMESPACE}:{key}" for key in CONFIG_KEYS}
    for key, declaration in declared.items():
        assert declaration["description"] and declaration["type"] in CONFIG_TYPES, key


@pytest.mark.parametrize(("key", "declaration"), [
    ("qnom:planDate", {"type": "string", "default": ""}),
    ("qnom:databaseCutover", {"type": "boolean", "default": False}),
    ("qnom:retireRegionalCaches", {"type": "boolean", "default": False}),
    ("qnom:overrides", {"type": "object", "default": {}}),
    ("qnom:routing", {"type": "string", "default": "latency"}),
    ("qnom:phase", {"type": "string"}),
])
def test_declarations_are_rendered_from_the_model(key, declaration):
    rendered = project_config()[key]
    assert {name: value for name, value in rendered.items() if name != "description"} == declaration
    assert rendered["description"] == CONFIG_KEYS[key.removeprefix(f"{NAMESPACE}:")]


def test_plan_date_is_declared_for_offline_planning(project):
    description = project["config"]["qnom:planDate"]["description"]
    assert "YYYY-MM-DD" in description and "qnom plan --date" in description and "today" in description


def test_only_the_required_settings_lack_a_default(project):
    # The CLI refuses a stack that leaves out a key with no default: exactly the keys the
    # program requires, and the ones the README tells a new stack to set.
    no_default = {key.removeprefix(f"{NAMESPACE}:") for key, declaration in project["config"].items()
                  if "default" not in declaration and "value" not in declaration}
    assert no_default == set(REQUIRED_KEYS) == {"phase", "environment"}
    assert set(MINIMAL_NEW_STACK) == {f"{NAMESPACE}:{key}" for key in REQUIRED_KEYS}
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    for key, value in MINIMAL_NEW_STACK.items():
        assert f"pulumi config set {key} {value}" in readme


@pytest.mark.parametrize(("stack", "config"), [
    ("dev", None), ("prod", None), ("staging", None), ("eu", None), ("fresh", MINIMAL_NEW_STACK),
])
def test_the_cli_accepts_each_stack_and_the_program_its_values(project, stack, config):
    config = config if config is not None else _load(STACK_FILES[stack])["config"]
    merged = cli_merge(project, stack, config)
    assert merged["qnom:overrides"] == json.dumps(config.get("qnom:overrides", {}))
    settings = settings_from_config(merged, stack=stack)
    assert settings.search_service_role == "create"
    assert settings.database_cutover is False and settings.retire_regional_caches is False


@pytest.mark.parametrize(("stack", "region", "phase", "environment"), [
    ("dev", "us-east-1", "1", "dev"), ("prod", "us-east-1", "2", "prod"), ("staging", "us-east-1", "2", "staging"),
    ("eu", "eu-west-1", "1", "dev"),
])
def test_committed_stack_files(stack, region, phase, environment):
    config = _load(STACK_FILES[stack])["config"]
    assert (config["aws:region"], config["qnom:phase"], config["qnom:environment"]) == (region, phase, environment)


def test_every_stack_file_is_checked():
    found = {path.relative_to(PROJECT_DIR).as_posix()
             for path in [*PROJECT_DIR.glob("Pulumi.*.yaml"), *PROJECT_DIR.glob("examples/Pulumi.*.yaml")]}
    assert found == set(STACK_FILES.values())


def test_stack_files_hold_values_only():
    for name in STACK_FILES.values():
        document = _load(name)
        assert set(document) <= {"config", "secretsprovider", "encryptionsalt", "encryptedkey", "environment"}


# The re-implementation refuses what the CLI refuses (so the tests above can fail) ----------

OLD_OVERRIDES = {"description": "no type, no default"}


@pytest.mark.parametrize(("change", "config", "error"), [
    ({"qnom:overrides": OLD_OVERRIDES}, MINIMAL_NEW_STACK,
     "Stack 's' is missing configuration value 'qnom:overrides'"),
    ({}, {"qnom:phase": "1"}, "Stack 's' is missing configuration value 'qnom:environment'"),
    ({"qnom:overrides": OLD_OVERRIDES}, {"qnom:domain": "a.b"},
     "Stack 's' is missing configuration values 'qnom:environment', 'qnom:overrides' and 'qnom:phase'"),
    ({}, {**MINIMAL_NEW_STACK, "qnom:databaseCutover": "yes"},
     "Stack 's' with configuration key 'qnom:databaseCutover' must be of type 'boolean'"),
    ({}, {**MINIMAL_NEW_STACK, "qnom:overrides": '{"api": {}}'},
     "Stack 's' with configuration key 'qnom:overrides' must be of type 'object'"),
    ({"qnom:domain": {"type": "string", "secret": True, "default": ""}}, {**MINIMAL_NEW_STACK, "qnom:domain": "a.b"},
     "Stack 's' with configuration key 'qnom:domain' must be encrypted as it's secret"),
    ({"qnom:size": {"type": "integer", "default": "big"}}, MINIMAL_NEW_STACK,
     "The default value specified for configuration key 'qnom:size' is not of the expected type 'integer'"),
    ({"qnom:zones": {"type": "array"}}, MINIMAL_NEW_STACK, "declares an array but does not specify"),
    ({"qnom:mode": {"type": "map"}}, MINIMAL_NEW_STACK, "#/config/qnom:mode/type"),
    ({"qnom:mode": {"type": "string", "required": True}}, MINIMAL_NEW_STACK, "not allowed"),
    ({"aws:region": {"type": "string", "value": "us-east-1"}}, MINIMAL_NEW_STACK,
     "Configuration key 'aws:region' is not namespaced by the project and should not define a type"),
    ({"aws:region": {"default": "us-east-1"}}, MINIMAL_NEW_STACK, "should not define a default value"),
])
def test_the_cli_rules_refuse(project, change, config, error):
    document = {**project, "config": {**project["config"], **change}}
    with pytest.raises(CliError, match=re.escape(error)):
        cli_merge(document, "s", config)


@pytest.mark.parametrize(("config", "merged"), [
    ({"qnom:databaseCutover": True}, {"qnom:databaseCutover": "true"}),
    ({"qnom:overrides": {"api": {"instance_type": "t3.xlarge"}}},
     {"qnom:overrides": '{"api": {"instance_type": "t3.xlarge"}}'}),
    ({"qnom:domain": {"secure": "v1:abc"}}, {"qnom:domain": "[decrypted]"}),
    ({}, {"qnom:routing": "latency", "qnom:openSearchServiceRole": "create", "qnom:overrides": "{}",
          "qnom:planDate": ""}),
])
def test_the_cli_rules_accept_and_fill_defaults(project, config, merged):
    result = cli_merge(project, "s", {**MINIMAL_NEW_STACK, **config})
    assert {key: result[key] for key in merged} == merged


def test_readme_settings_table_lists_every_key():
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `qnom:(\w+)` \|", section, flags=re.MULTILINE)
    assert sorted(listed) == sorted(key.removeprefix(f"{NAMESPACE}:") for key in project_config())
