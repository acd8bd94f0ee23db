"""How the load balancers admit CloudFront alone, and how CloudFront proves it is the caller.

Creates, through `create_origin_secrets` (called once by `Platform`, before any region): the two
origin secret values (`random.RandomPassword`, `{name}-origin-secret-a` and `-b`). The load
balancers' listeners accept a request only when it carries one of them in `ORIGIN_SECRET_HEADER`
(`listener_conditions`), CloudFront sends the one `qnom:originSecretSlot` names (`OriginSecrets.sent`)
and `Edge` keeps both in Secrets Manager. Two accepted values make a rotation free of downtime:
replace the secret CloudFront does not send (`pulumi up --replace` its URN), let the load balancers
accept the new value, then switch `qnom:originSecretSlot` to it; CloudFront's deployment finishes
while the old value is still accepted.

The security groups admit only AWS's managed prefix lists (`managed_prefix_list_id`): CloudFront's
origin-facing servers and, where Route 53 health-checks the load balancer, its health checkers.
Amazon VPC User Guide, "AWS-managed prefix lists": a managed list counts as its weight in rules of
every security group that references it (CloudFront's 55, Route 53's health checkers' 25), against
a default of 60 inbound rules per group (Amazon VPC quotas, "Security groups"). The two cannot share
one group, so the health checkers get a group of their own on the same load balancer.

`VIEWER_ADDRESS_HEADER` carries the viewer's address, written by a CloudFront Function on every API
request (overwriting whatever the viewer sent): the key of the regional rate limit, which a client
cannot forge because only CloudFront reaches the load balancers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

CLOUDFRONT_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"
"""CloudFront's origin-facing servers (Amazon CloudFront Developer Guide, "Use the CloudFront managed prefix list")."""
ORIGIN_SECRET_HEADER = "X-Origin-Verify"
"""Custom origin header carrying the origin secret (CloudFront Developer Guide, "Add custom headers to origin requests")."""
VIEWER_ADDRESS_HEADER = "X-Viewer-Address"
"""The viewer's IP address, set by the edge's viewer-request function; the regional rate limit's key."""
SLOTS = ("a", "b")
ORIGIN_SECRET_LENGTH = 48
DENIED_STATUS = "403"


def health_checkers_prefix_list(region: str) -> str:
    """Route 53 health checkers' managed prefix list of `region` (Route 53 Developer Guide,
    "IP address ranges of Amazon Route 53 servers"; VPC User Guide, "AWS-managed prefix lists")."""
    return f"com.amazonaws.{region}.route53-healthchecks"


def managed_prefix_list_id(name: str, opts: pulumi.InvokeOptions) -> pulumi.Output[str]:
    """Id of an AWS-managed prefix list in the region of `opts`' provider (ids differ by region)."""
    return aws.ec2.get_managed_prefix_list_output(name=name, opts=opts).id


@dataclass(frozen=True)
class OriginSecrets:
    values: Mapping[str, pulumi.Input[str]]
    """Both origin secrets by slot ("a", "b"); the load balancers accept either."""
    active: str
    """The slot CloudFront sends (`qnom:originSecretSlot`, default "a")."""

    @property
    def sent(self) -> pulumi.Input[str]:
        return self.values[self.active]

    @property
    def accepted(self) -> list[pulumi.Input[str]]:
        return [self.values[slot] for slot in SLOTS]


def create_origin_secrets(name: str, active: str, opts: pulumi.ResourceOptions) -> OriginSecrets:
    """The two origin secret values, created once for every region and the edge."""
    if active not in SLOTS:
        raise ValueError(f"origin secret slot: {active!r} is not one of {', '.join(SLOTS)}")
    # Letters and digits only: the value travels in an HTTP header and a listener rule condition,
    # which accepts up to 128 characters per value (ELB User Guide, "HTTP header conditions").
    values = {slot: random.RandomPassword(f"{name}-origin-secret-{slot}", random.RandomPasswordArgs(
        length=ORIGIN_SECRET_LENGTH, special=False,
    ), opts).result for slot in SLOTS}
    return OriginSecrets(values=values, active=active)


def listener_conditions(secrets: OriginSecrets) -> list[aws.lb.ListenerRuleConditionArgs]:
    """A listener rule's condition: the origin secret header equals either secret."""
    return [aws.lb.ListenerRuleConditionArgs(http_header=aws.lb.ListenerRuleConditionHttpHeaderArgs(
        http_header_name=ORIGIN_SECRET_HEADER, values=secrets.accepted))]


def denied_action() -> aws.lb.ListenerDefaultActionArgs:
    """What a listener answers a request without the origin secret: 403, nothing forwarded."""
    return aws.lb.ListenerDefaultActionArgs(
        type="fixed-response",
        fixed_response=aws.lb.ListenerDefaultActionFixedResponseArgs(
            content_type="text/plain", status_code=DENIED_STATUS, message_body="Forbidden"),
    )


VIEWER_ADDRESS_CODE = f"""\
function handler(event) {{
    var request = event.request;
    // Overwrites whatever the viewer sent under this name: the origin sees CloudFront's word only.
    request.headers['{VIEWER_ADDRESS_HEADER.lower()}'] = {{ value: event.viewer.ip }};
    return request;
}}
"""
"""Viewer-request CloudFront Function (runtime cloudfront-js-2.0): `event.viewer.ip` is the address
of the viewer's connection to CloudFront (CloudFront Developer Guide, "CloudFront Functions event
structure", viewer object); header names in the event are lower case."""
