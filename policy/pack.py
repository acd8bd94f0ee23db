"""The pack as the Pulumi CLI sees it: its name, its policies and their enforcement.

Enforcement: mandatory for prod and staging, advisory for dev. Staging is where a change is
rehearsed before prod, so what would stop prod's deployment stops staging's first; what staging
leaves off on purpose (protection, final snapshots) its profile makes not applicable instead. A
stack whose environment the pack cannot tell gets mandatory (the strict side). Any rule's level and settings can be changed through
the pack's config (`--policy-pack-config`, or the offline runner's `--policy-config`), e.g.
`{"required-tags": "advisory", "log-group-retention": {"minimumDays": 30}}`.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel

from policy.context import ContextSource
from policy.framework import to_policy
from policy.rules import RULES

PACK_NAME = "qnom-platform"
DESCRIPTION = ("QNom platform guardrails: encryption, no public exposure, backups, HA as the phase promises, "
               "cost ceilings.")


ENFORCEMENT: dict[str, EnforcementLevel] = {
    "dev": EnforcementLevel.ADVISORY,
    "staging": EnforcementLevel.MANDATORY,
    "prod": EnforcementLevel.MANDATORY,
}
"""Default enforcement per environment profile (every profile is listed: tests check it)."""


def default_enforcement(environment: str | None) -> EnforcementLevel:
    return ENFORCEMENT.get(environment or "", EnforcementLevel.MANDATORY)


def build_policies(context: ContextSource, enforcement: EnforcementLevel) -> list:
    """One pulumi_policy policy per rule, all at the stack's default enforcement level."""
    return [to_policy(rule, context=context, enforcement=enforcement) for rule in RULES]
