"""What the pack knows about the stack it checks: environment, phase, and what the phase allows.

The pack reads the stack's own settings the way the program does (`phases.settings`): the
Pulumi CLI starts a policy pack with the stack's config in `PULUMI_CONFIG`, so `qnom:phase`,
`qnom:environment` and `qnom:overrides` reach it unchanged. When they do not (an old CLI,
`pulumi policy publish`), the AWS provider's default tags (`environment`, `phase`) stand in.

Two phases are kept apart on purpose:
- `phase` is the catalog phase alone: what the phase promises (Multi-AZ, failover) and allows
  (instance families, capacity ceilings). Overrides are what the pack reviews, so they never
  widen a promise or a ceiling.
- `effective` is the phase with the stack's `qnom:overrides`, i.e. what the program builds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from phases.catalog import PHASE_NUMBERS, load_phase
from phases.cost_profile import API_SPOT_TYPES, optimised
from phases.environment import PROFILES, EnvironmentProfile
from phases.models import Phase
from phases.settings import NAMESPACE, SettingsError, StackSettings, read_pulumi_config, settings_from_config
from policy.views import UNKNOWN, Resource, Stack, provider_default_tags


@dataclass(frozen=True)
class PolicyContext:
    environment: str | None = None
    """dev, staging or prod; None when neither the config nor the provider tags say."""
    phase: Phase | None = None
    """The catalog phase without overrides: promises and ceilings."""
    effective: Phase | None = None
    """The phase with the stack's overrides: what the program builds (None when only tags were found)."""
    domain: str | None = None
    source: str = "unknown"
    """Where the context came from: offline plan, stack config, provider tags, unknown."""

    @classmethod
    def from_settings(cls, settings: StackSettings, source: str) -> PolicyContext:
        return cls(environment=settings.environment, phase=load_phase(settings.phase.number),
                   effective=settings.phase, domain=settings.domain, source=source)

    @classmethod
    def from_tags(cls, tags: Mapping[str, Any] | Any) -> PolicyContext:
        if not isinstance(tags, Mapping):
            return cls()
        environment = tags.get("environment") if tags.get("environment") in PROFILES else None
        number = PHASE_NUMBERS.get(str(tags.get("phase", "")).lower())
        if environment is None and number is None:
            return cls()
        return cls(environment=environment, phase=load_phase(number) if number else None, source="provider tags")

    @property
    def prod(self) -> bool:
        """Prod's topology rules apply unless the stack is known to be dev (an unknown stack gets the strict
        rules). Staging keeps prod's topology, so they apply to it; what staging turns off on purpose
        (protection, final snapshots) the rules read from `profile`."""
        return self.environment != "dev"

    @property
    def profile(self) -> EnvironmentProfile:
        return PROFILES[self.environment or "prod"]

    def describe(self) -> str:
        phase = f"phase {self.phase.number} ({self.phase.name})" if self.phase else "phase unknown"
        return f"{self.environment or 'environment unknown'}, {phase}, from {self.source}"


class ContextSource(Protocol):
    def for_resource(self, resource: Resource) -> PolicyContext: ...

    def for_stack(self, stack: Stack) -> PolicyContext: ...


@dataclass(frozen=True)
class FixedContext:
    """One known context for every check (the offline runner, tests)."""

    context: PolicyContext

    def for_resource(self, resource: Resource) -> PolicyContext:
        return self.context

    def for_stack(self, stack: Stack) -> PolicyContext:
        return self.context


class StackConfigContext:
    """The context of the stack the Pulumi CLI runs the pack for."""

    def __init__(self, config: Mapping[str, Any] | None = None, stack: str | None = None):
        config = read_pulumi_config() if config is None else config
        self.context: PolicyContext | None = None
        self.problem: str | None = None
        if any(key in config for key in (f"{NAMESPACE}:phase", f"{NAMESPACE}:environment")):
            try:
                settings = settings_from_config(config, stack=stack or os.environ.get("PULUMI_STACK", "stack"))
                self.context = PolicyContext.from_settings(settings, source="stack config")
            except SettingsError as error:  # the program refuses these settings too, with the same message
                self.problem = str(error)

    @property
    def environment(self) -> str | None:
        return self.context.environment if self.context else None

    def for_resource(self, resource: Resource) -> PolicyContext:
        return self.context or PolicyContext.from_tags(provider_default_tags(resource.provider))

    def for_stack(self, stack: Stack) -> PolicyContext:
        if self.context:
            return self.context
        for provider in stack.providers():
            found = PolicyContext.from_tags(provider_default_tags(_as_provider(provider)))
            if found.environment or found.phase:
                return found
        return PolicyContext()


def _as_provider(resource: Resource):
    from pulumi_policy import PolicyProviderResource

    return PolicyProviderResource(resource.type, resource.props, resource.urn, resource.name)


# --------------------------------------------------------------------------- what a phase allows

def family(instance_type: str) -> str:
    """`t3.medium` -> `t3`, `db.r5.large` -> `db.r5`, `cache.t3.micro` -> `cache.t3`,
    `r6g.large.search` -> `r6g.search`, `db.serverless` -> `db.serverless`."""
    parts = instance_type.split(".")
    if parts[0] in ("db", "cache") and len(parts) == 3:
        return ".".join(parts[:2])
    if parts[-1] == "search" and len(parts) == 3:
        return f"{parts[0]}.search"
    return parts[0] if len(parts) == 2 and parts[0] not in ("db", "cache") else instance_type


def allowed_families(phase: Phase) -> dict[str, set[str]]:
    """Instance families a phase uses, per service (EC2, RDS, ElastiCache, OpenSearch)."""
    ec2_types = [phase.api.instance_type, *(phase.workers.instance_types if phase.workers else []),
                 *([phase.egress.instance_type] if phase.egress.instance_type else [])]
    ec2 = {family(kind) for kind in ec2_types}
    rds = {family(phase.database.instance_class)}
    if phase.database.aurora:
        rds.add("db.serverless")  # Aurora Serverless v2 instances use this class
    search = set()
    if phase.search:
        search = {family(phase.search.instance_type), family(phase.search.dedicated_master_type)}
    # The cost-optimised profile's equivalents are the same capacity on other families (phases/cost_profile.py).
    ec2 |= {family(optimised(kind)) for kind in ec2_types}
    ec2 |= {family(kind) for kind in API_SPOT_TYPES.get(optimised(phase.api.instance_type), [])}
    rds |= {family(optimised(phase.database.instance_class))}
    if phase.database.aurora:
        rds.add(family(optimised(phase.database.aurora.replica_instance_class)))
    cache = {family(phase.cache.node_type), family(optimised(phase.cache.node_type))}
    return {"ec2": ec2, "rds": rds, "elasticache": cache, "opensearch": search}


def api_ceiling(phase: Phase, region: str | None) -> int | None:
    """Most API instances a region's group may hold: its max, or for the primary the explicit
    surge size that seasonal windows may raise it to. None for a region outside the phase."""
    spec = next((item for item in phase.regions if item.name == region), None)
    if spec is None:
        return None
    if spec.role == "primary" and phase.schedule is not None:
        return max(spec.api.max, phase.schedule.surge_max)
    return spec.api.max


def region_spec(phase: Phase, region: str | None):
    return next((item for item in phase.regions if item.name == region), None)


def known_int(value: Any) -> int | None:
    if value is UNKNOWN or value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
