"""`qnom policy`: the CrossGuard pack run offline against the recorded plan.

Builds the plan with the engine, then hands every recorded resource to the pack's policies
exactly as the Pulumi engine would during `pulumi preview --policy-pack policy`:
`ResourceValidationArgs` with the resource's inputs and its provider, `StackValidationArgs`
with every resource, its options, parent and property dependencies. Values the preview does
not know ("[unknown]" in the plan) are handed over as the engine's unknown sentinel inside
`pulumi_policy`'s own proxy, so reading one raises `UnknownValueError` and the rule is
reported as "can't run during preview" (advisory), as the real engine does.

Enforcement: the stack's environment decides the default (prod mandatory, dev advisory);
a pack config file (`--policy-config`, the same JSON as `--policy-pack-config`) changes any
rule's level or settings.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from phases.settings import SettingsError, StackSettings, settings_from_config
from policy.context import FixedContext, PolicyContext
from policy.framework import Rule
from policy.views import urn_name, urn_types
from policy.pack import PACK_NAME, build_policies, default_enforcement
from policy.rules import BY_ID, RULES
from qnom.engine import UNKNOWN, ProgramRun, RecordedResource, run_program
from qnom.plan import load_config

SCHEMA = "qnom.policy/v1"
LEVELS = {level.value: level for level in EnforcementLevel}


# --------------------------------------------------------------------------- pack config

@dataclass(frozen=True)
class PackConfig:
    """Per-rule enforcement levels and settings, as `--policy-pack-config` gives them."""

    levels: dict[str, EnforcementLevel] = field(default_factory=dict)
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)

    def level(self, rule: Rule, default: EnforcementLevel) -> EnforcementLevel:
        level = self.levels.get(rule.id, self.levels.get("all", default))
        # Stack rules cannot remediate and resource rules here do not: a remediate level blocks like mandatory.
        return EnforcementLevel.MANDATORY if level == EnforcementLevel.REMEDIATE else level


class PolicyConfigError(SettingsError):
    """An invalid pack config (`--policy-config`): one message per problem, headed as a policy config error."""

    def __init__(self, problems: list[str]):
        super().__init__(problems)
        self.args = ("invalid policy config:\n" + "\n".join(f"  - {p}" for p in problems),)


def parse_pack_config(raw: Any, source: str = "policy config") -> PackConfig:
    """Validates a pack config document; every problem is reported at once (exit code 2)."""
    if raw is None:
        return PackConfig()
    if not isinstance(raw, Mapping):
        raise PolicyConfigError([f"{source}: expected an object keyed by rule id (or \"all\")"])
    problems, levels, settings = [], {}, {}
    allowed_levels = ", ".join(LEVELS)
    for key, value in raw.items():
        rule = BY_ID.get(key)
        if key != "all" and rule is None:
            problems.append(f"{source}.{key}: unknown rule; allowed keys: all or a rule id ({len(BY_ID)} rules)")
            continue
        level, properties = (value, {}) if isinstance(value, str) else (None, None)
        if isinstance(value, Mapping):
            properties = dict(value)
            level = properties.pop("enforcementLevel", None)
        if properties is None:
            problems.append(f"{source}.{key}: got {value!r}; allowed values: an enforcement level or an object")
            continue
        if level is not None:
            if not isinstance(level, str) or level not in LEVELS:
                problems.append(f"{source}.{key}.enforcementLevel: got {level!r}; allowed values: {allowed_levels}")
            else:
                levels[key] = LEVELS[level]
        if properties:
            known = {setting.name for setting in rule.settings} if rule else set()
            for name in sorted(set(properties) - known):
                problems.append(f"{source}.{key}.{name}: unknown setting; allowed keys: "
                                f"{', '.join(sorted(known | {'enforcementLevel'}))}")
            settings[key] = {name: item for name, item in properties.items() if name in known}
            problems += _setting_problems(rule, settings[key], f"{source}.{key}") if rule else []
    if problems:
        raise PolicyConfigError(problems)
    return PackConfig(levels=levels, settings=settings)


def _setting_problems(rule: Rule, given: Mapping[str, Any], source: str) -> list[str]:
    """Each given setting checked against the JSON Schema the pack declares for it (type, minimum,
    maximum, items), as the Pulumi engine checks `--policy-pack-config` against each policy's config
    schema before any policy runs (pulumi/pulumi pkg/resource/analyzer/config.go,
    validatePolicyPackConfig; Pulumi docs, "Configuring policy packs")."""
    problems = []
    for setting in rule.settings:
        if setting.name not in given:
            continue
        validator = Draft7Validator(dict(setting.schema))
        for error in sorted(validator.iter_errors(given[setting.name]), key=lambda item: list(item.absolute_path)):
            where = "".join(f"[{part}]" for part in error.absolute_path)
            problems.append(f"{source}.{setting.name}{where}: got {error.instance!r}; {_allowed_by(setting.schema)}")
    return problems


def _allowed_by(schema: Mapping[str, Any]) -> str:
    """The values a setting's schema allows, in words: `allowed values: integer, 1 to 35, or null`."""
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    numeric = [kind for kind in types if kind in ("integer", "number")]
    bounds = ""
    if numeric and "minimum" in schema and "maximum" in schema:
        bounds = f" from {schema['minimum']} to {schema['maximum']}"
    elif numeric and "minimum" in schema:
        bounds = f" of at least {schema['minimum']}"
    elif numeric and "maximum" in schema:
        bounds = f" of at most {schema['maximum']}"
    words = []
    for kind in types:
        if kind == "array":
            words.append(f"an array of {schema.get('items', {}).get('type', 'any')} values")
        elif kind in ("integer", "number"):
            words.append(f"{'an integer' if kind == 'integer' else 'a number'}{bounds}")
        else:
            words.append(kind)
    return "allowed values: " + " or ".join(words)


def read_pack_config(path: Path | None) -> PackConfig:
    if path is None:
        return PackConfig()
    if not path.is_file():
        raise PolicyConfigError([f"{path.name}: policy config not found at {path}"])
    try:
        return parse_pack_config(json.loads(path.read_text(encoding="utf-8")), path.name)
    except json.JSONDecodeError as error:
        raise PolicyConfigError([f"{path.name}: not valid JSON at line {error.lineno}, column {error.colno} "
                                 f"({error.msg})"]) from None
    except UnicodeDecodeError as error:
        raise PolicyConfigError([f"{path.name}: not UTF-8 text (byte {error.start}: {error.reason})"]) from None
    except OSError as error:
        raise PolicyConfigError([f"{path.name}: cannot read {path} ({error.strerror or error})"]) from None


# --------------------------------------------------------------------------- the engine's view of the plan

def engine_value(value: Any) -> Any:
    """A plan value back in the engine's wire form: "[unknown]" becomes the unknown sentinel."""
    if isinstance(value, str):
        return UNKNOWN_STRING_VALUE if value == UNKNOWN else value
    if isinstance(value, list):
        return [engine_value(item) for item in value]
    if isinstance(value, dict):
        return {key: engine_value(item) for key, item in value.items()}
    return value


def engine_props(inputs: Mapping[str, Any]):
    """Inputs as a policy reads them in the real engine: unknowns raise when read."""
    return unknown_checking_proxy(engine_value(dict(inputs)))


def _options(record: RecordedResource) -> PolicyResourceOptions:
    options = record.options
    aliases = [alias if isinstance(alias, str) else json.dumps(alias, sort_keys=True)
               for alias in options.get("aliases", [])]
    return PolicyResourceOptions(
        protect=bool(options.get("protect")),
        ignore_changes=list(options.get("ignoreChanges", [])),
        delete_before_replace=bool(options.get("deleteBeforeReplace")),
        aliases=aliases,
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=record.parent,
    )


@dataclass
class EngineView:
    """Per-resource props, options and providers, built once and shared by every policy."""

    run: ProgramRun
    props: dict[str, Any] = field(default_factory=dict)
    options: dict[str, PolicyResourceOptions] = field(default_factory=dict)
    providers: dict[str, PolicyProviderResource] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for record in self.run.resources:
            self.props[record.urn] = engine_props(record.inputs)
            self.options[record.urn] = _options(record)
            if record.type.startswith("pulumi:providers:"):
                self.providers[record.urn] = PolicyProviderResource(record.type, self.props[record.urn],
                                                                    record.urn, record.name)

    def resource_args(self, record: RecordedResource, config: Mapping[str, Any]) -> ResourceValidationArgs:
        return ResourceValidationArgs(record.type, self.props[record.urn], record.urn, record.name,
                                      self.options[record.urn], self.providers.get(record.provider or ""),
                                      dict(config), {})

    def stack_args(self, config: Mapping[str, Any]) -> StackValidationArgs:
        return StackValidationArgs(self.stack_resources, dict(config), {})

    @cached_property
    def stack_resources(self) -> list[PolicyResource]:
        resources = {record.urn: PolicyResource(record.type, self.props[record.urn], record.urn, record.name,
                                                self.options[record.urn], self.providers.get(record.provider or ""),
                                                None, [], {})
                     for record in self.run.resources}
        for record in self.run.resources:
            resource = resources[record.urn]
            resource.parent = resources.get(record.parent or "")
            urns = set(record.options.get("dependsOn", [])) | {urn for deps in record.dependencies.values()
                                                                 for urn in deps}
            resource.dependencies = [resources[urn] for urn in sorted(urns) if urn in resources]
            resource.property_dependencies = {key: [resources[urn] for urn in urns if urn in resources]
                                              for key, urns in record.dependencies.items()}
        return list(resources.values())


# --------------------------------------------------------------------------- running the pack

UNKNOWN_PREFIX = "can't run during preview: "
"""How the Pulumi engine words a check that read a value unknown in the preview (kept in the report)."""


@dataclass(frozen=True)
class Finding:
    rule: str
    enforcement: str
    severity: str
    message: str
    urn: str | None = None
    name: str | None = None
    type: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "enforcement": self.enforcement, "severity": self.severity,
                "message": self.message, "urn": self.urn, "name": self.name, "type": self.type}


@dataclass
class Outcome:
    rule: Rule
    enforcement: EnforcementLevel
    checked: int = 0
    violations: int = 0
    unknown: int = 0
    not_applicable: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.enforcement == EnforcementLevel.DISABLED:
            return "disabled"
        if self.violations:
            return "failed"
        if self.unknown:
            return "unknown in preview"
        if self.rule.kind == "stack":
            return "not applicable" if self.not_applicable or not self.checked else "passed"
        return "passed" if len(self.not_applicable) < self.checked else "not applicable"

    def as_dict(self) -> dict[str, Any]:
        rule = self.rule
        return {"id": rule.id, "kind": rule.kind, "description": rule.description,
                "severity": rule.severity.value, "enforcement": self.enforcement.value,
                "resourceTypes": list(rule.resource_types), "references": rule.references.as_dict(),
                "checked": self.checked, "violations": self.violations, "unknownInPreview": self.unknown,
                "status": self.status, "notApplicable": sorted(set(self.not_applicable))}


@dataclass
class PolicyReport:
    stack: str
    environment: str
    phase: dict[str, Any]
    enforcement: EnforcementLevel
    context: PolicyContext
    outcomes: list[Outcome] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    diagnostics: list[Finding] = field(default_factory=list)
    allow_unknown: bool = False
    """Whether a mandatory rule that cannot run in a preview (unknown values) still lets the stack pass."""

    @property
    def unknown_mandatory(self) -> list[Outcome]:
        """Mandatory rules with a check that could not run because a value is unknown until deployment:
        nothing proves they pass, so they fail the report unless `allow_unknown`."""
        return [outcome for outcome in self.outcomes
                if outcome.unknown and outcome.enforcement == EnforcementLevel.MANDATORY]

    @property
    def mandatory(self) -> list[Finding]:
        return [item for item in self.findings if item.enforcement == EnforcementLevel.MANDATORY.value]

    @property
    def advisory(self) -> list[Finding]:
        return [item for item in self.findings if item.enforcement == EnforcementLevel.ADVISORY.value]

    @property
    def passed(self) -> bool:
        return not self.mandatory and (self.allow_unknown or not self.unknown_mandatory)

    def failed_rules(self, enforcement: str | None = None) -> set[str]:
        return {item.rule for item in self.findings if enforcement is None or item.enforcement == enforcement}

    def document(self) -> dict[str, Any]:
        kinds = [outcome.rule.kind for outcome in self.outcomes]
        return {
            "schema": SCHEMA,
            "pack": PACK_NAME,
            "stack": self.stack,
            "environment": self.environment,
            "phase": self.phase,
            "enforcement": self.enforcement.value,
            "context": self.context.source,
            "rules": [outcome.as_dict() for outcome in self.outcomes],
            "violations": [item.as_dict() for item in self.findings],
            "diagnostics": [item.as_dict() for item in self.diagnostics],
            "summary": {
                "rules": len(self.outcomes),
                "resourceRules": kinds.count("resource"),
                "stackRules": kinds.count("stack"),
                "mandatoryViolations": len(self.mandatory),
                "advisoryViolations": len(self.advisory),
                "unknownInPreview": len(self.diagnostics),
                "mandatoryUnknown": len(self.unknown_mandatory),
                "allowUnknown": self.allow_unknown,
                "passed": self.passed,
            },
        }


def evaluate(run: ProgramRun, settings: StackSettings, config: PackConfig | None = None,
             allow_unknown: bool = False) -> PolicyReport:
    """Runs every policy of the pack against a recorded program run."""
    config = config or PackConfig()
    context = PolicyContext.from_settings(settings, source="offline plan")
    default = default_enforcement(settings.environment)
    policies = build_policies(FixedContext(context), default)
    view = EngineView(run)
    report = PolicyReport(stack=run.stack, environment=settings.environment,
                          phase={"number": settings.phase.number, "name": settings.phase.name},
                          enforcement=default, context=context, allow_unknown=allow_unknown)
    for rule, policy in zip(RULES, policies):
        outcome = Outcome(rule=rule, enforcement=config.level(rule, default))
        report.outcomes.append(outcome)
        if outcome.enforcement == EnforcementLevel.DISABLED:
            continue
        properties = rule.config(config.settings.get(rule.id))
        if isinstance(policy, ResourceValidationPolicy):
            for record in run.resources:
                if rule.applies_to(record.type):
                    outcome.checked += 1
                    _run(policy, view.resource_args(record, properties), outcome, report, record)
        else:
            outcome.checked = (sum(1 for record in run.resources if rule.applies_to(record.type))
                               if rule.resource_types else 1)
            _run(policy, view.stack_args(properties), outcome, report, None)
    return report


def _run(policy, args, outcome: Outcome, report: PolicyReport, record: RecordedResource | None) -> None:
    by_urn = report_names(record)

    def report_violation(message: str, urn: str | None = None) -> None:
        target = urn or (record.urn if record else None)
        name, kind = by_urn(target)
        outcome.violations += 1
        report.findings.append(Finding(rule=outcome.rule.id, enforcement=outcome.enforcement.value,
                                        severity=outcome.rule.severity.value, message=message,
                                        urn=target, name=name, type=kind))

    try:
        policy.validate(args, report_violation)
    except UnknownValueError as error:
        outcome.unknown += 1
        report.diagnostics.append(Finding(
            rule=outcome.rule.id, enforcement=EnforcementLevel.ADVISORY.value,
            severity=outcome.rule.severity.value, message=f"{UNKNOWN_PREFIX}{error.message}",
            urn=record.urn if record else None, name=record.name if record else None,
            type=record.type if record else None))
    except _NotApplicableError as reason:
        outcome.not_applicable.append(reason.reason or "not applicable")


def report_names(record: RecordedResource | None) -> Callable[[str | None], tuple[str | None, str | None]]:
    """Name and type of the resource a violation points at (stack rules may name any URN)."""

    def names(urn: str | None) -> tuple[str | None, str | None]:
        if urn is None:
            return None, None
        if record is not None and urn == record.urn:
            return record.name, record.type
        types = urn_types(urn)
        return urn_name(urn), types[-1] if types else None

    return names


def check_stack(stack: str, stack_file: Path | None = None, phase: str | int | None = None,
                policy_config: Path | None = None, plan_date: date | None = None,
                allow_unknown: bool = False) -> PolicyReport:
    """Validates the settings, builds the plan offline (as of `plan_date`, default the stack's
    own) and runs the pack (SettingsError: exit 2)."""
    config = load_config(stack, stack_file, phase, plan_date)
    pack_config = read_pack_config(policy_config)
    settings = settings_from_config(config, stack=stack)
    return evaluate(run_program(stack, config), settings, pack_config, allow_unknown)


def to_json(report: PolicyReport) -> str:
    return json.dumps(report.document(), sort_keys=True, indent=2) + "\n"
