"""AWS's own API rules, enforced by the offline engine on every registration.

Pulumi's mocks accept any request; AWS does not. Each rule here is a constraint that AWS (or the
Terraform AWS provider that pulumi-aws bridges) enforces when the request reaches it, with the
error text AWS answers and the source of the constraint next to it. A rule sees one registration
(`RecordedResource`: type, camelCase inputs, options, the resources each input came from, its
provider) and everything registered before it: a resource's inputs resolve only after the
resources they come from are registered, which is the order in which AWS sees the requests.

`check(record, registered)` runs the rules of the record's type and returns the violations;
`qnom.engine` collects them over a whole program and `run_program` raises `AwsRuleViolation`.
The rules live in one module per service and register themselves with `@rule(...)`.
An input that is unknown in a preview (`[unknown]`) never trips a rule by itself: the rules judge
what the request is known to carry, as AWS would only at deployment time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from phases.settings import today_in
from qnom.engine import UNKNOWN, RecordedResource

PROVIDER_TYPE = "pulumi:providers:aws"


@dataclass(frozen=True)
class Violation:
    """One request AWS would refuse."""

    urn: str
    rule: str
    message: str
    """AWS's answer (its error text, with the request's own values filled in)."""

    def __str__(self) -> str:
        return f"{self.urn}: {self.message} [{self.rule}]"


class AwsRuleViolation(Exception):
    """A program made requests that AWS would refuse; `violations` lists each one."""

    def __init__(self, violations: Iterable[Violation]):
        self.violations = list(violations)
        super().__init__("AWS would refuse:\n" + "\n".join(f"  {violation}" for violation in self.violations))


@dataclass(frozen=True)
class Request:
    """What a rule sees: the new registration and everything registered before it."""

    record: RecordedResource
    registered: Mapping[str, RecordedResource]
    day: date | None = None
    """The run's plan date (`qnom:planDate`); None when the run leaves it to the program's default."""

    @property
    def inputs(self) -> dict[str, Any]:
        return self.record.inputs

    @property
    def region(self) -> str | None:
        """Region of the provider the request goes through."""
        return region_of(self.record, self.registered)

    def region_of(self, record: RecordedResource) -> str | None:
        return region_of(record, self.registered)

    def sources(self, prop: str, record: RecordedResource | None = None) -> list[RecordedResource]:
        """Registered resources the value of input `prop` (of `record`, default this one) comes from."""
        record = record or self.record
        return [self.registered[urn] for urn in record.dependencies.get(prop, []) if urn in self.registered]

    def source(self, prop: str, resource_type: str, record: RecordedResource | None = None) -> RecordedResource | None:
        """The one resource of `resource_type` that input `prop` comes from, if any."""
        return next((found for found in self.sources(prop, record) if found.type == resource_type), None)

    def plan_date(self, time_zone: str) -> date:
        """The day the program plans for: the run's `qnom:planDate`, or today in `time_zone` (the
        program's default, which reads today in its schedule's time zone)."""
        return self.day if self.day is not None else today_in(time_zone)


def region_of(record: RecordedResource, registered: Mapping[str, RecordedResource]) -> str | None:
    provider = record if record.type == PROVIDER_TYPE else registered.get(record.provider or "")
    if provider is None or provider.type != PROVIDER_TYPE:
        return None
    region = provider.inputs.get("region")
    return region if isinstance(region, str) else None


def known(value: Any) -> bool:
    """A value the request is known to carry (absent and `[unknown]` are not)."""
    return value is not None and value != UNKNOWN


Check = Callable[[Request], Iterable[str]]


@dataclass(frozen=True)
class Rule:
    id: str
    """Stable id, printed with each violation: `rds-replica-managed-password`."""
    types: tuple[str, ...]
    """Resource types whose registrations the rule checks."""
    error: str
    """AWS's error text (or the provider's), as documented or observed."""
    source: str
    """Where the constraint is documented: AWS doc URL and section, or provider file."""
    check: Check
    """Yields one message per problem in the request; nothing when AWS would accept it."""


RULES: dict[str, Rule] = {}
_BY_TYPE: dict[str, list[Rule]] = {}


def rule(rule_id: str, types: str | tuple[str, ...], *, error: str, source: str) -> Callable[[Check], Check]:
    """Registers the decorated check under `rule_id` for registrations of `types`."""
    types = (types,) if isinstance(types, str) else tuple(types)

    def register(check: Check) -> Check:
        if rule_id in RULES:
            raise ValueError(f"AWS rule {rule_id!r} is registered twice")
        RULES[rule_id] = Rule(rule_id, types, error, source, check)
        for resource_type in types:
            _BY_TYPE.setdefault(resource_type, []).append(RULES[rule_id])
        return check

    return register


def check(record: RecordedResource, registered: Mapping[str, RecordedResource],
          plan_date: date | None = None) -> list[Violation]:
    """Every rule the registration `record` breaks, given what was `registered` (by URN) before it
    and the run's plan date (None: today, as the program's default)."""
    rules = _BY_TYPE.get(record.type)
    if not rules:
        return []
    request = Request(record, registered, plan_date)
    return [Violation(record.urn, each.id, message) for each in rules for message in each.check(request)]


# The service modules register their rules on import.
from qnom.awsrules import autoscaling, cloudfront, cloudwatch, ec2, eks, elasticache, elb, opensearch, rds, wafv2  # noqa: E402,F401,E501
