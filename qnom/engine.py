"""The offline engine: runs the real `__main__.py` in-process under Pulumi's mock runtime.

Records every registered resource with its inputs (as the engine would receive them,
secrets and unknowns marked), its options and its provider. Mocks accept anything, AWS does
not: every registration also goes through AWS's own API rules (`qnom.awsrules`), and a run
whose requests AWS would refuse raises `AwsRuleViolation` once the program has finished.
Each run happens on a fresh
thread, so Pulumi's context-local runtime state never leaks from one plan into the next.
No AWS credentials, no Pulumi CLI and no network are involved.
"""

from __future__ import annotations

import asyncio
import json
import runpy
import sys
import threading
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

from google.protobuf import json_format
from pulumi.runtime import set_mocks
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime import config as runtime_config
from pulumi.runtime import rpc
from pulumi.runtime.settings import get_project, get_root_resource, get_stack
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from phases.settings import PLAN_DATE_KEY, parse_plan_date
from qnom.collection import program_thresholds
from qnom.mocks import AwsMocks

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT_NAME = "qnom"
UNKNOWN = "[unknown]"
SECRET = "[secret]"
STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class RecordedResource:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    inputs: dict[str, Any]
    options: dict[str, Any]
    dependencies: dict[str, list[str]] = field(default_factory=dict)
    """Input property name -> URNs of the resources its value comes from."""


@dataclass(frozen=True)
class ProgramRun:
    stack: str
    resources: list[RecordedResource]
    outputs: dict[str, Any]
    violations: list[Any] = field(default_factory=list)
    """Requests AWS would refuse (`qnom.awsrules.Violation`), in registration order. Only a run
    made with `aws_rules=False` is returned with any: otherwise they raise."""
    component_outputs: dict[str, list[str]] = field(default_factory=dict)
    """Component URN -> the output names it registered (`register_outputs`) with a value: the
    engine drops an output whose value is None, as the real engine does."""

    def region_of(self, resource: RecordedResource) -> str | None:
        """Region of the resource's AWS provider (a provider's own region for a provider)."""
        provider = resource if resource.type == "pulumi:providers:aws" else self.by_urn.get(resource.provider or "")
        return provider.inputs.get("region") if provider and provider.type == "pulumi:providers:aws" else None

    def enclosing_region(self, resource: RecordedResource) -> str | None:
        """Name of the `Region` component the resource hangs under, if any."""
        parent = self.by_urn.get(resource.parent or "")
        while parent is not None:
            if parent.type == "qnom:components:Region":
                return parent.name
            parent = self.by_urn.get(parent.parent or "")
        return None

    @cached_property
    def by_urn(self) -> dict[str, RecordedResource]:
        return {resource.urn: resource for resource in self.resources}


def scrub(value: Any) -> Any:
    """Turns Pulumi's wire encoding into plan JSON: unknowns and secrets become markers."""
    if isinstance(value, str):
        return UNKNOWN if value == rpc.UNKNOWN else value
    if isinstance(value, list):
        return [scrub(item) for item in value]
    if isinstance(value, dict):
        signature = value.get(rpc._special_sig_key)
        if signature == rpc._special_secret_sig:
            return SECRET
        if signature == rpc._special_resource_sig:
            return value.get("urn")
        if signature in (rpc._special_asset_sig, rpc._special_archive_sig):
            return {key: scrub(item) for key, item in value.items() if key != rpc._special_sig_key}
        return {key: scrub(item) for key, item in value.items()}
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf carries every number as a double
    return value


def _struct_to_plain(struct) -> dict[str, Any]:
    return scrub(json_format.MessageToDict(struct)) if struct is not None else {}


def _alias(alias) -> Any:
    if alias.HasField("urn"):
        return alias.urn
    spec = alias.spec
    return {key: value for key, value in json_format.MessageToDict(spec).items()}


class RecordingMonitor(MockMonitor):
    """A mock monitor that also keeps every registration request's inputs and options, and
    checks each request against AWS's rules with everything registered before it."""

    def __init__(self, mocks: AwsMocks, plan_date: date | None = None):
        from qnom import awsrules  # the rules read RecordedResource from this module

        super().__init__(mocks)
        self.recorded: list[RecordedResource] = []
        self.violations: list[Any] = []
        self.component_outputs: dict[str, list[str]] = {}
        self._registered: dict[str, RecordedResource] = {}
        self._check = awsrules.check
        self._plan_date = plan_date
        self._lock = threading.Lock()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # As the real engine does: a child's URN type is its parent's whole type chain plus
        # its own type, and the root stack's type is left out.
        parent_type = parent.split("::")[2] if parent else STACK_TYPE
        qualified = type_ if parent_type == STACK_TYPE else f"{parent_type}${type_}"
        return "urn:pulumi:" + "::".join([get_stack(), get_project(), qualified, name])

    def RegisterResourceOutputs(self, request):
        with self._lock:
            self.component_outputs[request.urn] = sorted(request.outputs.fields)
        return super().RegisterResourceOutputs(request)

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type == STACK_TYPE:
            return response
        property_dependencies = {key: sorted(deps.urns) for key, deps in request.propertyDependencies.items()
                                 if deps.urns}
        implicit = {urn for urns in property_dependencies.values() for urn in urns}
        provider_urn = request.provider.rsplit("::", 1)[0] if request.provider else None
        record = RecordedResource(
            urn=response.urn,
            type=request.type,
            name=request.name,
            custom=request.custom,
            parent=request.parent or None,
            provider=provider_urn,
            inputs=_struct_to_plain(request.object),
            options={
                "protect": bool(request.protect) if request.HasField("protect") else False,
                "retainOnDelete": bool(request.retainOnDelete) if request.HasField("retainOnDelete") else False,
                "deleteBeforeReplace": request.deleteBeforeReplace,
                "ignoreChanges": sorted(request.ignoreChanges),
                "replaceOnChanges": sorted(request.replaceOnChanges),
                "dependsOn": sorted(set(request.dependencies) - implicit),
                "aliases": [_alias(alias) for alias in request.aliases],
            },
            dependencies=property_dependencies,
        )
        if request.type == "pulumi:providers:aws" and isinstance(record.inputs.get("region"), str):
            self.mocks.provider_regions[response.urn] = record.inputs["region"]
        with self._lock:
            self.violations += self._check(record, self._registered, self._plan_date)
            self._registered[record.urn] = record
            self.recorded.append(record)
        return response


def plan_date_of(config: dict[str, Any]) -> date | None:
    """The day a run plans for when its config sets `qnom:planDate` (the AWS rules judge start
    times against it); None leaves it to the program's default, today. A malformed value is
    the program's to refuse."""
    raw = config.get(PLAN_DATE_KEY)
    try:
        return parse_plan_date(raw) if raw not in (None, "") else None
    except ValueError:
        return None


def engine_config(values: dict[str, Any]) -> dict[str, str]:
    """Config values as the Pulumi engine hands them to a program: strings, objects as JSON."""
    def encode(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (dict, list)):
            return json.dumps(value)
        return str(value)

    return {key: encode(value) for key, value in values.items()}


RunCache = Callable[[str, dict[str, Any], Path, Callable[[], ProgramRun]], ProgramRun]
"""Given stack, config, program and a function that runs it, returns the run (perhaps an earlier one)."""
_run_cache: RunCache | None = None


def set_run_cache(cache: RunCache | None) -> None:
    """Lets a caller that plans the same settings many times (the test suite) reuse runs;
    None runs every request afresh, as the CLI does."""
    global _run_cache
    _run_cache = cache


def run_program(stack: str, config: dict[str, Any], program: Path | None = None, *,
                aws_rules: bool = True) -> ProgramRun:
    """Runs the Pulumi program for `stack` with `config` (namespaced keys) and records it.

    Raises whatever the program raises (SettingsError for invalid settings), then
    `AwsRuleViolation` when a request breaks an AWS rule. With `aws_rules=False` the
    violations are only listed on the run (`ProgramRun.violations`), for tools that report them.
    """
    from qnom.awsrules import AwsRuleViolation

    program = program or PROJECT_DIR / "__main__.py"
    if _run_cache is not None:
        run = _run_cache(stack, config, program, lambda: _execute(stack, config, program))
    else:
        run = _execute(stack, config, program)
    if aws_rules and run.violations:
        raise AwsRuleViolation(run.violations)
    return run


def _execute(stack: str, config: dict[str, Any], program: Path) -> ProgramRun:
    outcome: dict[str, Any] = {}
    thread = threading.Thread(target=_run_on_fresh_context, args=(stack, config, program, outcome),
                              name=f"qnom-plan-{stack}")
    with program_thresholds():
        thread.start()
        thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["run"]


def _run_on_fresh_context(stack: str, config: dict[str, Any], program: Path, outcome: dict) -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        mocks = AwsMocks()
        monitor = RecordingMonitor(mocks, plan_date_of(config))
        set_mocks(mocks, project=PROJECT_NAME, stack=stack, preview=True, monitor=monitor)
        runtime_config.set_all_config(engine_config(config))
        if str(program.parent) not in sys.path:
            sys.path.insert(0, str(program.parent))
        outputs: dict[str, Any] = {}

        def program_body() -> None:
            runpy.run_path(str(program), run_name="__main__")
            root = get_root_resource()
            encoded = _sync_await(rpc.serialize_properties(dict(getattr(root, "outputs", {})), {}))
            outputs.update(_struct_to_plain(encoded))

        _sync_await(run_pulumi_func(program_body))
        resources = sorted(monitor.recorded, key=lambda resource: resource.urn)
        outcome["run"] = ProgramRun(stack=stack, resources=resources, outputs=outputs,
                                    violations=list(monitor.violations),
                                    component_outputs=dict(sorted(monitor.component_outputs.items())))
    except BaseException as error:  # noqa: BLE001 handed back to the calling thread
        outcome["error"] = error
    finally:
        loop.close()
