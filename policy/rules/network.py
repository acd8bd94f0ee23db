"""Resource rules for the network and for governance across every tier: security groups open to
the world, the VPC's default security group, subnets handing out public IPs, log retention,
IAM wildcards, and the tags every taggable resource carries.
"""

from __future__ import annotations

from pulumi_policy import Severity

from policy.framework import Check, References, Registry, Setting
from policy.views import ANY_AWS_TYPE, UNKNOWN, Resource, elements, json_document, listify, tag_support, truthy
from policy.resource_types import (
    DEFAULT_SECURITY_GROUP,
    IAM_ROLE_POLICY,
    LOG_GROUP,
    SECURITY_GROUP,
    SECURITY_GROUP_INGRESS_RULE,
    SUBNET,
)

RULES = Registry()

WORLD = ("0.0.0.0/0", "::/0")
REQUIRED_TAGS = ["environment", "phase", "service", "managed-by"]
ALLOWED_PORTS = Setting(
    name="allowedPorts", schema={"type": "array", "items": {"type": "integer"}}, default=[80, 443],
    description="TCP ports that may be open to 0.0.0.0/0 or ::/0 (only on an internet-facing load balancer).",
)


# --------------------------------------------------------------------------- security groups

def world_ingress(resource: Resource) -> list[tuple[str, str, int, int]]:
    """Ingress permissions of a security group or ingress rule open to the whole internet:
    (label, protocol, from port, to port). CIDRs computed from other resources (a VPC's range)
    are unknown in a preview and never the literal world range, so they are skipped."""
    found = []
    if resource.type == SECURITY_GROUP:
        for index, _ in enumerate(elements(resource.require("ingress"))):
            cidrs = (elements(resource.get(f"ingress.{index}.cidrBlocks"))
                     + elements(resource.get(f"ingress.{index}.ipv6CidrBlocks")))
            if any(cidr in WORLD for cidr in cidrs):
                found.append((f"ingress[{index}]", str(resource.require(f"ingress.{index}.protocol")),
                              resource.require(f"ingress.{index}.fromPort"),
                              resource.require(f"ingress.{index}.toPort")))
    elif resource.type == SECURITY_GROUP_INGRESS_RULE:
        if resource.get("cidrIpv4") in WORLD or resource.get("cidrIpv6") in WORLD:
            found.append(("rule", str(resource.require("ipProtocol")), resource.require("fromPort", 0),
                          resource.require("toPort", 65535)))
    return found


def only_allowed_ports(protocol: str, from_port, to_port, allowed: list[int]) -> bool:
    if protocol.lower() not in ("tcp", "6"):
        return False  # "-1" (all traffic), UDP or ICMP to the world is never needed by an ALB
    if from_port is None or to_port is None:
        return False
    low, high = int(from_port), int(to_port)
    return high - low < 65536 and all(port in allowed for port in range(low, high + 1))


@RULES.resource(
    id="sg-no-world-ingress-except-web",
    description="Security groups open nothing to 0.0.0.0/0 or ::/0 except TCP 80 and 443.",
    severity=Severity.CRITICAL,
    resource_types=(SECURITY_GROUP, SECURITY_GROUP_INGRESS_RULE),
    references=References(checkov=("CKV_AWS_24", "CKV_AWS_25"), aws=("EC2.18", "EC2.19")),
    settings=(ALLOWED_PORTS,),
)
def sg_world_ingress(resource: Resource, check: Check):
    allowed = [int(port) for port in check.config["allowedPorts"]]
    for label, protocol, from_port, to_port in world_ingress(resource):
        if not only_allowed_ports(protocol, from_port, to_port, allowed):
            yield f"{label} opens {protocol} {from_port}-{to_port} to the internet"


@RULES.resource(
    id="default-sg-no-rules",
    description="The VPC's default security group allows no traffic at all.",
    severity=Severity.HIGH,
    resource_types=(DEFAULT_SECURITY_GROUP,),
    references=References(checkov=("CKV2_AWS_12",), aws=("EC2.2",)),
)
def default_sg(resource: Resource, check: Check):
    for direction in ("ingress", "egress"):
        rules = elements(resource.require(direction))
        if rules:
            yield f"{direction} has {len(rules)} rule(s): anything left in the default group can use them"


@RULES.resource(
    id="subnet-no-auto-public-ip",
    description="Subnets never assign public IPs on launch.",
    severity=Severity.HIGH,
    resource_types=(SUBNET,),
    references=References(checkov=("CKV_AWS_130",), aws=("EC2.15",)),
)
def subnet_public_ip(resource: Resource, check: Check):
    if truthy(resource.require("mapPublicIpOnLaunch", False)) is True:
        yield "mapPublicIpOnLaunch is true: every instance launched here gets a public address"


# --------------------------------------------------------------------------- logs, IAM

@RULES.resource(
    id="log-group-retention",
    description=("CloudWatch log groups expire logs, keeping them at least the environment's retention "
                 "(dev 14, prod 365 days)."),
    severity=Severity.LOW,
    resource_types=(LOG_GROUP,),
    references=References(checkov=("CKV_AWS_66",), aws=("CloudWatch.16",)),
    settings=(Setting(name="minimumDays", schema={"type": ["integer", "null"], "minimum": 1}, default=None,
                      description="Fewest days kept; null: the environment profile's log_retention_days."),),
)
def log_retention(resource: Resource, check: Check):
    days = resource.require("retentionInDays", 0)
    minimum = int(check.config["minimumDays"] or check.context.profile.log_retention_days)
    if not days:
        yield "retentionInDays is not set: logs are kept (and billed) forever"
    elif int(days) < minimum:
        yield f"retentionInDays is {days}, below the required {minimum}"


def _statements(document) -> list[dict]:
    if not isinstance(document, dict):
        return []
    return [item for item in listify(document.get("Statement")) if isinstance(item, dict)]


@RULES.resource(
    id="iam-no-admin-wildcard",
    description='IAM role policies never allow every action ("*").',
    severity=Severity.CRITICAL,
    resource_types=(IAM_ROLE_POLICY,),
    references=References(checkov=("CKV_AWS_62", "CKV_AWS_63"), aws=("IAM.1",)),
)
def iam_wildcard(resource: Resource, check: Check):
    document = json_document(resource.require("policy"))
    for index, statement in enumerate(_statements(document)):
        if statement.get("Effect") != "Allow":
            continue
        if "*" in listify(statement.get("Action")):
            scope = "on every resource" if "*" in listify(statement.get("Resource")) else "on its resources"
            yield f"Statement[{index}] allows every action {scope}"


# --------------------------------------------------------------------------- tags

@RULES.resource(
    id="required-tags",
    description=("Every taggable resource carries environment, phase, service and managed-by tags "
                 "(its own tags over the provider's default tags)."),
    severity=Severity.LOW,
    resource_types=(ANY_AWS_TYPE,),
    references=References(),
    settings=(Setting(name="requiredTags", schema={"type": "array", "items": {"type": "string"}},
                      default=REQUIRED_TAGS, description="Tag keys every taggable resource must carry."),),
)
def required_tags(resource: Resource, check: Check):
    if not tag_support(resource.type).taggable:
        check.not_applicable("the resource type takes no tags")
    tags = resource.effective_tags()
    if tags is UNKNOWN:
        resource.require("tags")  # tags computed from outputs: known at deployment, not in preview
        return
    missing = [key for key in check.config["requiredTags"] if tags.get(key) in (None, "")]
    if missing:
        where = "" if tag_support(resource.type).default_tags else " (provider default tags do not reach this type)"
        yield f"missing tag(s) {', '.join(missing)}{where}"
    context = check.context
    expected = {"environment": context.environment, "phase": context.phase.name if context.phase else None}
    for key, value in expected.items():
        actual = tags.get(key)
        if value and isinstance(actual, str) and actual != value:
            yield f"tag {key}={actual!r} does not match the stack's {key} {value!r}"

