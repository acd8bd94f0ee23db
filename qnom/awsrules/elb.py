"""Elastic Load Balancing: secure listeners need a certificate."""

from __future__ import annotations

from collections.abc import Iterator

from policy.resource_types import LISTENERS
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
