"""Outputs written once: the stack's outputs come from `components/stack_outputs.py` (exports,
`Platform.register_outputs`, the README's table), and every component registers exactly its typed
output attributes."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import types
import typing

import pulumi
import pytest

import components
from components.platform import Platform
from components.stack_outputs import STACK_OUTPUTS, StackOutput, StackOutputs
from qnom.engine import PROJECT_DIR
from tests.support import build


def _own_hints(cls: type) -> dict[str, typing.Any]:
    """The class's own annotations, evaluated in its module (the base classes' do not resolve)."""
    namespace = vars(sys.modules[cls.__module__])
    return {name: eval(hint, namespace) if isinstance(hint, str) else hint  # noqa: S307 our own annotations
            for name, hint in cls.__dict__.get("__annotations__", {}).items()}


def _is_output_value(hint: typing.Any) -> bool:
    """Whether an annotation types a value the component exports (an Output, or plain data made of
    them), not a handle on a child resource or a wiring record."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return all(_is_output_value(arg) for arg in typing.get_args(hint) if arg is not type(None))
    origin = typing.get_origin(hint)
    if origin is pulumi.Output or hint in (str, int, bool, float):
        return True
    if origin in (list, dict):
        return _is_output_value(typing.get_args(hint)[-1])
    return False


def _type_name(hint: typing.Any) -> str:
    """The table's spelling of an annotation: Output[dict[str, str]] and dict[str, Output[str]] are map(string)."""
    args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    if len(args) < len(typing.get_args(hint)):
        return f"optional {_type_name(args[0])}"
    origin = typing.get_origin(hint)
    if origin is pulumi.Output:
        return _type_name(args[0])
    if origin is list:
        return f"list({_type_name(args[0])})"
    if origin is dict:
        return f"map({_type_name(args[1])})"
    return {str: "string"}[hint]


# --------------------------------------------------------------------------- the table

def test_the_table_types_and_names_every_platform_output():
    hints = _own_hints(Platform)
    outputs = {name: hint for name, hint in hints.items() if _is_output_value(hint)}
    assert sorted(entry.attribute for entry in STACK_OUTPUTS) == sorted(outputs)
    assert {entry.name: entry.type for entry in STACK_OUTPUTS} == {
        entry.name: _type_name(outputs[entry.attribute]) for entry in STACK_OUTPUTS}
    assert all(entry.description.endswith(".") for entry in STACK_OUTPUTS)


def test_export_names_are_the_contract():
    assert STACK_OUTPUTS.names[:3] == ["phase", "environment", "regions"]
    assert len(STACK_OUTPUTS) == 40
    assert STACK_OUTPUTS.attributes["regions"] == "region_names"
    assert STACK_OUTPUTS.attributes["dbWriterEndpoint"] == "db_writer_endpoint"


def test_a_repeated_name_or_attribute_is_refused():
    one = StackOutput("vpcIds", "vpc_ids", "map(string)", "Each region's VPC id.")
    with pytest.raises(ValueError, match="name repeated: vpcIds"):
        StackOutputs((one, StackOutput("vpcIds", "other", "string", "x.")))
    with pytest.raises(ValueError, match="attribute repeated: vpc_ids"):
        StackOutputs((one, StackOutput("vpcs", "vpc_ids", "string", "x.")))


def test_readme_output_table_is_rendered_from_the_table():
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    assert STACK_OUTPUTS.table() in readme
    assert "| `peeringConnectionIds` | optional map(string) |" in STACK_OUTPUTS.table()


@pytest.mark.parametrize(("environment", "phase", "absent"), [
    ("dev", 1, {"healthCheckIds", "workerAsgName", "auroraEndpoint", "auroraReaderEndpoint",
                "auroraMasterSecretArn", "queueUrl", "queueArn", "dlqUrl", "searchEndpoint",
                "searchMasterSecretArn", "cacheGlobalDatastoreId", "auroraGlobalClusterId", "peeringConnectionIds"}),
    ("prod", 4, {"auroraMasterSecretArn", "auroraGlobalClusterId"}),
])
def test_the_stack_exports_every_output_of_the_table(environment, phase, absent):
    outputs = build(environment, phase).outputs
    # None is not exported: exactly the optional outputs the phase lacks are missing.
    assert set(STACK_OUTPUTS.names) - set(outputs) == absent
    assert set(outputs) <= set(STACK_OUTPUTS.names)
    assert all(entry.type.startswith("optional ") for entry in STACK_OUTPUTS if entry.name in absent)
    assert outputs["regions"] == (["us-east-1"] if phase == 1 else ["us-east-1", "us-west-2", "eu-west-1"])
    assert outputs["phase"] == {1: "launch", 4: "global"}[phase]
    assert outputs["environment"] == environment


# --------------------------------------------------------------------------- every component

def _component_classes() -> dict[str, type]:
    """Every ComponentResource class of `components/`, by its type token's last part."""
    for module in pkgutil.walk_packages(components.__path__, "components."):
        importlib.import_module(module.name)
    found, pending = {}, [pulumi.ComponentResource]
    while pending:
        for cls in pending.pop().__subclasses__():
            pending.append(cls)
            if cls.__module__.startswith("components."):
                found[cls.__name__] = cls
    return found


def _optional(hint: typing.Any) -> bool:
    union = isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union
    return union and type(None) in typing.get_args(hint)


def test_every_component_registers_its_typed_outputs():
    # Prod phase 4 after the cut-over builds every component class in every mode. The engine
    # records the names each component registered with a value (None is dropped on the wire),
    # so an output may be missing only where its type allows None.
    run = build("prod", 4, databaseCutover=True).run
    classes, checked = _component_classes(), set()
    for urn, registered in run.component_outputs.items():
        token = urn.split("::")[2].split("$")[-1]
        if not token.startswith("qnom:components:"):
            continue  # the root stack
        cls = classes[token.removeprefix("qnom:components:")]
        checked.add(cls.__name__)
        hints = {name: hint for name, hint in _own_hints(cls).items() if _is_output_value(hint)}
        assert set(registered) <= set(hints), (urn, sorted(set(registered) - set(hints)))
        missing = {name for name in set(hints) - set(registered) if not _optional(hints[name])}
        assert missing == set(), (urn, sorted(missing))
    assert checked == {"Platform", "Region", "Network", "Peering", "ApiTier", "Workers", "AppConfig", "Queue",
                       "ObjectStorage", "Database", "Cache", "Search", "Edge", "Dns", "Kubernetes", "Monitoring",
                       "StackMonitoring"}
