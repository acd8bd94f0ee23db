"""The building blocks of the pack: rule definitions and their adapters.

A rule is plain data plus a check function. `ResourceRule` checks one resource at a time,
`StackRule` checks the whole stack (cross-resource relations, phase ceilings). `to_policy`
turns either into the `pulumi_policy` object the Pulumi CLI runs, so the offline runner and
`pulumi preview --policy-pack policy` execute exactly the same code. The views a check reads
(`Resource`, `Stack`, and how unknown values read) are `policy.views`; the stack's context is
`policy.context`. Imports go one way: views <- context <- framework <- rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from policy.context import ContextSource, PolicyContext
from policy.views import NotApplicable, Resource, Stack

# --------------------------------------------------------------------------- rules

@dataclass(frozen=True)
class References:
    """What a rule implements in other catalogues (only ids checked against their sources)."""

    checkov: tuple[str, ...] = ()
    aws: tuple[str, ...] = ()
    """AWS Security Hub controls of the Foundational Security Best Practices standard."""
    well_architected: tuple[str, ...] = ()
    """Well-Architected Framework best practices (reliability pillar)."""

    def as_tags(self) -> list[str]:
        return ([f"checkov:{item}" for item in self.checkov] + [f"aws-fsbp:{item}" for item in self.aws]
                + [f"well-architected:{item}" for item in self.well_architected])

    def as_dict(self) -> dict[str, list[str]]:
        return {"checkov": list(self.checkov), "awsFsbp": list(self.aws),
                "wellArchitected": list(self.well_architected)}


@dataclass(frozen=True)
class Setting:
    """One property of a rule's configuration (`--policy-pack-config`), with its default."""

    name: str
    schema: Mapping[str, Any]
    default: Any
    description: str


@dataclass(frozen=True)
class Check:
    """What a check function gets besides the resource: the stack's context and the rule's config."""

    context: PolicyContext
    config: Mapping[str, Any]

    @staticmethod
    def not_applicable(reason: str) -> NoReturn:
        raise NotApplicable(reason)


ResourceCheck = Callable[[Resource, Check], Iterable[str] | None]
StackCheck = Callable[[Stack, Check], Iterable[tuple[str, str | None]] | None]


@dataclass(frozen=True, kw_only=True)
class Rule:
    id: str
    description: str
    severity: Severity
    resource_types: tuple[str, ...]
    references: References
    settings: tuple[Setting, ...] = ()
    remediation: str | None = None

    kind = "rule"

    def applies_to(self, resource_type: str) -> bool:
        return any(resource_type == pattern or (pattern.endswith("*") and resource_type.startswith(pattern[:-1]))
                   for pattern in self.resource_types)

    def config(self, given: Mapping[str, Any] | None) -> dict[str, Any]:
        values = {setting.name: setting.default for setting in self.settings}
        values.update({key: value for key, value in (given or {}).items() if key != "enforcementLevel"})
        return values

    def config_schema(self) -> PolicyConfigSchema | None:
        if not self.settings:
            return None
        properties = {setting.name: {**setting.schema, "default": setting.default, "description": setting.description}
                      for setting in self.settings}
        return PolicyConfigSchema(properties=properties)


@dataclass(frozen=True, kw_only=True)
class ResourceRule(Rule):
    check: ResourceCheck
    kind = "resource"


@dataclass(frozen=True, kw_only=True)
class StackRule(Rule):
    check: StackCheck
    kind = "stack"


class Registry(list):
    """The rules of one module, in definition order; decorators add to it."""

    def resource(self, **fields: Any) -> Callable[[ResourceCheck], ResourceRule]:
        def register(function: ResourceCheck) -> ResourceRule:
            rule = ResourceRule(check=function, **fields)
            self.append(rule)
            return rule
        return register

    def stack(self, **fields: Any) -> Callable[[StackCheck], StackRule]:
        def register(function: StackCheck) -> StackRule:
            rule = StackRule(check=function, **fields)
            self.append(rule)
            return rule
        return register


# --------------------------------------------------------------------------- adapters

def _messages(result: Iterable[Any] | None) -> Iterator[Any]:
    yield from (result or ())


def to_policy(rule: Rule, *, context: ContextSource, enforcement: EnforcementLevel):
    """The pulumi_policy object for `rule`: what the Pulumi CLI and the offline runner both run."""
    common = dict(
        name=rule.id,
        description=rule.description,
        enforcement_level=enforcement,
        config_schema=rule.config_schema(),
        severity=rule.severity,
        tags=rule.references.as_tags(),
        remediation_steps=rule.remediation,
    )
    if isinstance(rule, ResourceRule):
        def validate_resource(args: ResourceValidationArgs, report_violation) -> None:
            if not rule.applies_to(args.resource_type):
                return
            resource = Resource.from_args(args)
            check = Check(context=context.for_resource(resource), config=rule.config(args.get_config()))
            try:
                for message in _messages(rule.check(resource, check)):
                    report_violation(message, None)
            except NotApplicable as reason:
                args.not_applicable(reason.reason)

        return ResourceValidationPolicy(validate=validate_resource, **common)

    def validate_stack(args: StackValidationArgs, report_violation) -> None:
        stack = Stack.from_args(args)
        check = Check(context=context.for_stack(stack), config=rule.config(args.get_config()))
        try:
            for message, urn in _messages(rule.check(stack, check)):
                report_violation(message, urn)
        except NotApplicable as reason:
            args.not_applicable(reason.reason)

    return StackValidationPolicy(validate=validate_stack, **common)
