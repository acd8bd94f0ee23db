"""Elastic Load Balancing: secure listeners need a certificate; listener rules stay within the
match values AWS allows per condition and per rule."""

from __future__ import annotations

from collections.abc import Iterator

from policy.resource_types import LISTENER_RULE, LISTENERS
from qnom.awsrules import Request, rule


@rule("elb-secure-listener-certificate", LISTENERS,
      error="ValidationError: A certificate must be specified for HTTPS listeners",
      # AWS ELBv2 API Reference, CreateListener, Certificates: "[HTTPS and TLS listeners] The default
      # certificate for the listener. You must provide exactly one certificate."
      source="https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateListener.html")
def _certificate_on_secure_listener(request: Request) -> Iterator[str]:
    protocol = request.inputs.get("protocol")
    if protocol in ("HTTPS", "TLS") and "certificateArn" not in request.inputs:
        yield f"ValidationError: A certificate must be specified for {protocol} listeners"


MATCH_VALUES_PER_RULE = 5


@rule("elb-listener-rule-condition-values", LISTENER_RULE,
      error="ValidationError: A rule can only have '5' condition values",
      # ELB User Guide (Application Load Balancers), "Condition types for listener rules", condition
      # basics: up to five match evaluations per rule (aws/copilot-cli#4961 validates the same limit).
      source="https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html")
def _listener_rule_condition_values(request: Request) -> Iterator[str]:
    total = 0
    for condition in request.inputs.get("conditions") or []:
        for config in (condition or {}).values():
            values = config.get("values") if isinstance(config, dict) else None
            total += len(values) if isinstance(values, list) else 0
    if total > MATCH_VALUES_PER_RULE:
        yield f"ValidationError: A rule can only have '{MATCH_VALUES_PER_RULE}' condition values (got {total})"
