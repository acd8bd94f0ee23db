"""Registers the resources of a recorded plan with nothing of the project's code: the yardstick
that `qnom plan`'s own overhead is measured against (`make bench`).

    venv/bin/python scripts/bare_registration.py PLAN.json

Imports the SDK class of every resource type in the plan (the same `pulumi_aws`,
`pulumi_kubernetes` and `pulumi_random` modules the program imports), then constructs each resource through that class
(its inputs as the class's keyword arguments, nested values as plain dicts) under Pulumi's mock
runtime, with the same name, parent, provider and options as the plan records, in an order
where parents, providers and explicit dependencies come first. No settings, no
components, no invokes, no recording and no AWS rules: only what the SDK costs, under the garbage
collector thresholds the engine runs a program with (`qnom/collection.py`), so that the comparison
is like for like. Prints the number of resources registered.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qnom.collection import PROGRAM_THRESHOLDS  # noqa: E402  (no imports of its own)

# Like `python -m qnom`: the whole process under the thresholds, the SDK's imports included.
gc.set_threshold(*PROGRAM_THRESHOLDS)

import pulumi  # noqa: E402
from pulumi import _types  # noqa: E402
from pulumi.runtime import Mocks, set_mocks  # noqa: E402


class _EchoMocks(Mocks):
    def new_resource(self, args):
        return ("", dict(args.inputs))

    def call(self, args):
        return {}


def sdk_class(resource_type: str) -> type | None:
    """`aws:ec2/vpc:Vpc` -> `pulumi_aws.ec2.Vpc`, `pulumi:providers:aws` -> `pulumi_aws.Provider`;
    None for a component (registered as a plain `ComponentResource`)."""
    if resource_type.startswith("pulumi:providers:"):
        return importlib.import_module(f"pulumi_{resource_type.rsplit(':', 1)[1]}").Provider
    package, module_path, class_name = resource_type.split(":")
    if package == "kubernetes":
        return kubernetes_class(module_path, class_name)
    if package not in ("aws", "random"):
        return None
    module = module_path.split("/")[0]
    base = importlib.import_module(f"pulumi_{package}")
    return getattr(base if module == "index" else importlib.import_module(f"pulumi_{package}.{module}"), class_name)


def kubernetes_class(module_path: str, class_name: str) -> type:
    """`apps/v1` `Deployment` -> `pulumi_kubernetes.apps.v1.Deployment` (an API group's first label
    names the module: `networking.k8s.io/v1` -> `networking.v1`, `helm.sh/v3` -> `helm.v3`); a kind
    the SDK has no class for (a custom resource) -> `apiextensions.CustomResource`."""
    group, version = module_path.split("/")
    try:
        return getattr(importlib.import_module(f"pulumi_kubernetes.{group.split('.')[0]}.{version}"), class_name)
    except (ImportError, AttributeError):
        return importlib.import_module("pulumi_kubernetes.apiextensions").CustomResource


def keyword_arguments(cls: type, inputs: dict[str, Any]) -> dict[str, Any]:
    """The plan's inputs (engine names, `cidrBlock`) as the class's keyword arguments (`cidr_block`)."""
    module = importlib.import_module(cls.__module__)
    # `VpcArgs`; `BucketVersioningInitArgs` where the name `...Args` is taken by another type.
    args_type = getattr(module, f"{cls.__name__}InitArgs", None) or getattr(module, f"{cls.__name__}Args")
    python_names = {engine: python for python, engine in _types.input_type_py_to_pulumi_names(args_type).items()}
    return {python_names.get(key, key): value for key, value in inputs.items()}


def _decoded(value: Any) -> Any:
    """A provider's inputs reach the engine JSON-encoded (`defaultTags`, `"true"`): back to values."""
    try:
        return json.loads(value) if isinstance(value, str) else value
    except json.JSONDecodeError:
        return value


def registration_order(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_urn = {resource["urn"]: resource for resource in resources}
    ordered: list[dict[str, Any]] = []
    seen: set[str] = set()

    def visit(resource: dict[str, Any]) -> None:
        if resource["urn"] in seen:
            return
        seen.add(resource["urn"])
        for urn in [resource["parent"], resource["provider"], *resource["options"]["dependsOn"]]:
            if urn in by_urn:
                visit(by_urn[urn])
        ordered.append(resource)

    for resource in resources:
        visit(resource)
    return ordered


def register(resources: list[dict[str, Any]]) -> int:
    registered: dict[str, pulumi.Resource] = {}
    for resource in registration_order(resources):
        options = resource["options"]
        opts = pulumi.ResourceOptions(
            parent=registered.get(resource["parent"] or ""),
            provider=registered.get(resource["provider"] or ""),
            protect=options["protect"], retain_on_delete=options["retainOnDelete"],
            delete_before_replace=options["deleteBeforeReplace"], ignore_changes=options["ignoreChanges"],
            replace_on_changes=options["replaceOnChanges"],
            depends_on=[registered[urn] for urn in options["dependsOn"] if urn in registered])
        cls = sdk_class(resource["type"])
        if cls is None:
            registered[resource["urn"]] = pulumi.ComponentResource(resource["type"], resource["name"], None, opts)
            continue
        inputs = resource["inputs"]
        if resource["type"].startswith("pulumi:providers:"):
            inputs = {key: _decoded(value) for key, value in inputs.items()}
        if cls.__name__ == "CustomResource":
            registered[resource["urn"]] = cls(resource["name"], opts=opts, api_version=inputs["apiVersion"],
                                              kind=inputs["kind"], metadata=inputs.get("metadata"),
                                              spec=inputs.get("spec"))
            continue
        registered[resource["urn"]] = cls(resource["name"], opts=opts, **keyword_arguments(cls, inputs))
    return len(registered)


def main(plan_path: Path) -> int:
    document = json.loads(plan_path.read_text(encoding="utf-8"))
    asyncio.set_event_loop(asyncio.new_event_loop())
    set_mocks(_EchoMocks(), project=document["project"], stack=document["stack"], preview=True)
    count: dict[str, int] = {}

    def program() -> None:
        count["registered"] = register(document["resources"])

    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    _sync_await(run_pulumi_func(program))
    print(f"registered {count['registered']} resources")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
