"""Every rule of the pack, in report order: resource rules by tier, then stack rules."""

from __future__ import annotations

from policy.framework import ResourceRule, Rule, StackRule
from policy.rules import compute, data, edge, kubernetes, network, observability, security, stack

RULES: tuple[Rule, ...] = (*network.RULES, *compute.RULES, *data.RULES, *edge.RULES, *kubernetes.RULES,
                           *observability.RULES, *security.RULES, *stack.RULES)
RESOURCE_RULES: tuple[ResourceRule, ...] = tuple(rule for rule in RULES if isinstance(rule, ResourceRule))
STACK_RULES: tuple[StackRule, ...] = tuple(rule for rule in RULES if isinstance(rule, StackRule))
BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}

if len(BY_ID) != len(RULES):  # an id is the rule's stable name in configs and reports
    raise RuntimeError("duplicate policy rule id")
