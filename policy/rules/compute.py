"""Resource rules for the compute tier: launch templates and stand-alone instances (IMDSv2, EBS
encryption, no public IPs; launch templates: monitoring), Auto Scaling groups (ELB health checks, no single instance in
prod, several AZs), the Application Load Balancer and its listeners, and the WAF web ACL.
"""

from __future__ import annotations

import json

from pulumi_policy import Severity

from policy.framework import Check, References, Registry, Setting
from policy.views import Resource, elements, lookup, truthy
from policy.resource_types import ASG, EC2_INSTANCE, LAUNCH_TEMPLATE, LISTENER, LOAD_BALANCER, WEB_ACL

RULES = Registry()

TLS12_LISTENER_POLICIES = ("ELBSecurityPolicy-TLS13-1-2", "ELBSecurityPolicy-TLS-1-2", "ELBSecurityPolicy-FS-1-2")


def _imds_disabled(resource: Resource) -> bool:
    return resource.require("metadataOptions.httpEndpoint", "enabled") == "disabled"


def _application(resource: Resource, check: Check) -> None:
    kind = resource.require("loadBalancerType", "application")
    if kind != "application":
        check.not_applicable(f"{kind} load balancer: the rule is about HTTP load balancers")


def _attached_to_load_balancer(resource: Resource) -> bool:
    return any(resource.has(path) for path in ("targetGroupArns", "loadBalancers", "trafficSources"))


# --------------------------------------------------------------------------- launch templates

@RULES.resource(
    id="ec2-imdsv2-required",
    description="Launch templates and instances require IMDSv2 session tokens.",
    severity=Severity.HIGH,
    resource_types=(LAUNCH_TEMPLATE, EC2_INSTANCE),
    references=References(checkov=("CKV_AWS_79",), aws=("EC2.8", "EC2.170")),
)
def imdsv2(resource: Resource, check: Check):
    if _imds_disabled(resource):
        return
    tokens = resource.require("metadataOptions.httpTokens")
    if tokens != "required":
        yield f"metadataOptions.httpTokens is {tokens!r}: IMDSv1 lets an SSRF read the instance credentials"


MAX_IMDS_HOP_LIMIT = 2
"""One hop for the host, one more for a Docker bridge-network container that needs the instance
role: AWS recommends 2 in a container environment (Amazon EC2 User Guide, "Configure the instance
metadata options"). More would let the token travel beyond the instance's own containers."""


@RULES.resource(
    id="ec2-imds-hop-limit",
    description="Launch templates and instances keep the metadata response hop limit at 1, or 2 for containers.",
    severity=Severity.MEDIUM,
    resource_types=(LAUNCH_TEMPLATE, EC2_INSTANCE),
    references=References(checkov=("CKV_AWS_341",)),
)
def imds_hop_limit(resource: Resource, check: Check):
    if _imds_disabled(resource):
        check.not_applicable("instance metadata is disabled")
    # Unset, the AMI decides (Amazon Linux 2023 AMIs default to 2): the stack must say it.
    limit = resource.require("metadataOptions.httpPutResponseHopLimit")
    if not isinstance(limit, int) or not 1 <= limit <= MAX_IMDS_HOP_LIMIT:
        yield (f"metadataOptions.httpPutResponseHopLimit is {limit!r}, not 1 or {MAX_IMDS_HOP_LIMIT}: 2 lets a "
               "bridge-network container on the instance use the instance role, more lets the token travel further")


@RULES.resource(
    id="ec2-ebs-encrypted",
    description="Every EBS volume of a launch template or an instance is encrypted.",
    severity=Severity.HIGH,
    resource_types=(LAUNCH_TEMPLATE, EC2_INSTANCE),
    references=References(checkov=("CKV_AWS_8",)),
)
def ebs_encrypted(resource: Resource, check: Check):
    if resource.type == EC2_INSTANCE:
        yield from _instance_volumes_encrypted(resource)
        return
    mappings = elements(resource.require("blockDeviceMappings"))
    if not mappings:
        yield "no blockDeviceMappings: the root volume's encryption is left to the AMI and account default"
    for index, mapping in enumerate(mappings):
        if lookup(mapping, "ebs") is None:
            continue  # instance store or no-device entries carry no EBS volume
        if truthy(resource.require(f"blockDeviceMappings.{index}.ebs.encrypted")) is not True:
            yield f"blockDeviceMappings[{index}] ({lookup(mapping, 'deviceName')}) is not encrypted"


def _instance_volumes_encrypted(resource: Resource):
    # Unset, the root volume follows the AMI's snapshot and the account's default: the stack must say it.
    if truthy(resource.require("rootBlockDevice.encrypted", False)) is not True:
        yield "rootBlockDevice.encrypted is not true"
    for index, _ in enumerate(elements(resource.require("ebsBlockDevices"))):
        if truthy(resource.require(f"ebsBlockDevices.{index}.encrypted", False)) is not True:
            yield f"ebsBlockDevices[{index}] is not encrypted"


@RULES.resource(
    id="ec2-no-public-ip",
    description=("Launch templates and instances never assign public IP addresses (a NAT instance's "
                 "Elastic IP is `eip-nat-only`'s)."),
    severity=Severity.HIGH,
    resource_types=(LAUNCH_TEMPLATE, EC2_INSTANCE),
    references=References(checkov=("CKV_AWS_88",), aws=("EC2.9", "EC2.25")),
)
def no_public_ip(resource: Resource, check: Check):
    if resource.type == EC2_INSTANCE:
        if truthy(resource.require("associatePublicIpAddress", "false")) is True:
            yield "associatePublicIpAddress is true"
        return
    for index, _ in enumerate(elements(resource.require("networkInterfaces"))):
        if truthy(resource.require(f"networkInterfaces.{index}.associatePublicIpAddress", "false")) is True:
            yield f"networkInterfaces[{index}].associatePublicIpAddress is true"


@RULES.resource(
    id="ec2-detailed-monitoring",
    description="Launch templates enable detailed (one-minute) CloudWatch monitoring.",
    severity=Severity.LOW,
    resource_types=(LAUNCH_TEMPLATE,),
    references=References(checkov=("CKV_AWS_126",), well_architected=("REL06-BP01",)),
)
def detailed_monitoring(resource: Resource, check: Check):
    if truthy(resource.require("monitoring.enabled", False)) is not True:
        yield "monitoring.enabled is not true: scaling alarms see five-minute averages"


# --------------------------------------------------------------------------- Auto Scaling groups

@RULES.resource(
    id="asg-elb-health-check",
    description="Auto Scaling groups behind a load balancer replace instances the load balancer finds unhealthy.",
    severity=Severity.HIGH,
    resource_types=(ASG,),
    references=References(checkov=("CKV2_AWS_15",), aws=("AutoScaling.1",), well_architected=("REL11-BP03",)),
)
def asg_elb_health_check(resource: Resource, check: Check):
    if not _attached_to_load_balancer(resource):
        check.not_applicable("not attached to a load balancer")
    kind = str(resource.require("healthCheckType", "EC2"))
    if "ELB" not in kind.split(","):
        yield f"healthCheckType is {kind!r}: an instance failing /health stays in service"


@RULES.resource(
    id="asg-min-two-in-prod",
    description="Auto Scaling groups serving traffic keep at least two instances in prod (no single point of failure).",
    severity=Severity.HIGH,
    resource_types=(ASG,),
    references=References(well_architected=("REL10-BP01",)),
    settings=(Setting(name="minimum", schema={"type": "integer", "minimum": 1}, default=2,
                      description="Fewest instances a serving group may run in prod."),),
)
def asg_min_two(resource: Resource, check: Check):
    if not check.context.prod:
        check.not_applicable("dev profile")
    if not _attached_to_load_balancer(resource):
        check.not_applicable("not serving traffic (no load balancer): queue workers tolerate a single instance")
    minimum = int(check.config["minimum"])
    size = resource.require("minSize")
    if int(size) < minimum:
        yield f"minSize is {size}: fewer than {minimum} instances leaves a single point of failure"


@RULES.resource(
    id="asg-multi-az",
    description="Auto Scaling groups span at least two Availability Zones.",
    severity=Severity.HIGH,
    resource_types=(ASG,),
    references=References(aws=("AutoScaling.2",), well_architected=("REL10-BP01",)),
)
def asg_multi_az(resource: Resource, check: Check):
    subnets = elements(resource.require("vpcZoneIdentifiers"))
    zones = elements(resource.require("availabilityZones"))
    if max(len(subnets), len(zones)) < 2:
        yield "the group lives in fewer than two subnets or AZs"


@RULES.resource(
    id="asg-launch-template",
    description="Auto Scaling groups launch from launch templates, not launch configurations.",
    severity=Severity.MEDIUM,
    resource_types=(ASG,),
    references=References(checkov=("CKV_AWS_315",), aws=("AutoScaling.9",)),
)
def asg_launch_template(resource: Resource, check: Check):
    if resource.has("launchConfiguration"):
        yield "launchConfiguration is set: launch configurations cannot require IMDSv2 or use new instance types"
    elif not (resource.has("launchTemplate") or resource.has("mixedInstancesPolicy.launchTemplate")):
        yield "no launchTemplate and no mixedInstancesPolicy.launchTemplate"


@RULES.resource(
    id="asg-desired-capacity-ignored",
    description="Auto Scaling groups leave desiredCapacity to the autoscaler after creation (ignoreChanges).",
    severity=Severity.MEDIUM,
    resource_types=(ASG,),
    references=References(well_architected=("REL07-BP01",)),
)
def asg_desired_ignored(resource: Resource, check: Check):
    if not resource.has("desiredCapacity"):
        check.not_applicable("desiredCapacity is not set")
    if not {"desiredCapacity", "desired_capacity"} & set(resource.ignore_changes):
        yield "desiredCapacity is not in ignoreChanges: every deployment resets what the autoscaler decided"


# --------------------------------------------------------------------------- load balancers

@RULES.resource(
    id="alb-drop-invalid-headers",
    description="Application Load Balancers drop requests with invalid header fields.",
    severity=Severity.MEDIUM,
    resource_types=(LOAD_BALANCER,),
    references=References(checkov=("CKV_AWS_131",), aws=("ELB.4",)),
)
def alb_drop_invalid_headers(resource: Resource, check: Check):
    _application(resource, check)
    if truthy(resource.require("dropInvalidHeaderFields", False)) is not True:
        yield "dropInvalidHeaderFields is not true: malformed headers reach the API (request smuggling)"


@RULES.resource(
    id="alb-access-logs",
    description="Application Load Balancers write access logs to S3.",
    severity=Severity.MEDIUM,
    resource_types=(LOAD_BALANCER,),
    references=References(checkov=("CKV_AWS_91",), aws=("ELB.5",), well_architected=("REL06-BP01",)),
)
def alb_access_logs(resource: Resource, check: Check):
    _application(resource, check)
    if truthy(resource.require("accessLogs.enabled", False)) is not True or not resource.has("accessLogs.bucket"):
        yield "accessLogs is not enabled with a bucket"


@RULES.resource(
    id="alb-deletion-protection-prod",
    description="Load balancers have deletion protection in prod.",
    severity=Severity.MEDIUM,
    resource_types=(LOAD_BALANCER,),
    references=References(checkov=("CKV_AWS_150",), aws=("ELB.6",)),
)
def alb_deletion_protection(resource: Resource, check: Check):
    # The profile's switch, not the environment's name: staging is unprotected like dev.
    if not check.context.profile.deletion_protection:
        check.not_applicable(f"{check.context.environment} profile: deletion protection off on purpose")
    if truthy(resource.require("enableDeletionProtection", False)) is not True:
        yield "enableDeletionProtection is not true"


@RULES.resource(
    id="alb-desync-mitigation",
    description="Application Load Balancers use the defensive or strictest HTTP desync mitigation mode.",
    severity=Severity.MEDIUM,
    resource_types=(LOAD_BALANCER,),
    references=References(checkov=("CKV_AWS_328",), aws=("ELB.12",)),
)
def alb_desync(resource: Resource, check: Check):
    _application(resource, check)
    mode = resource.require("desyncMitigationMode", "defensive")
    if mode not in ("defensive", "strictest"):
        yield f"desyncMitigationMode is {mode!r}"


@RULES.resource(
    id="alb-multi-az",
    description="Load balancers span at least two Availability Zones.",
    severity=Severity.HIGH,
    resource_types=(LOAD_BALANCER,),
    references=References(aws=("ELB.13",), well_architected=("REL10-BP01",)),
)
def alb_multi_az(resource: Resource, check: Check):
    count = max(len(elements(resource.require("subnets"))), len(elements(resource.require("subnetMappings"))))
    if count < 2:
        yield f"the load balancer has {count} subnet(s): one AZ outage takes the API down"


@RULES.resource(
    id="alb-listener-tls12",
    description="HTTPS listeners negotiate TLS 1.2 or later.",
    severity=Severity.HIGH,
    resource_types=(LISTENER,),
    references=References(checkov=("CKV_AWS_103",)),
)
def listener_tls12(resource: Resource, check: Check):
    protocol = resource.require("protocol", "HTTP")
    if protocol not in ("HTTPS", "TLS"):
        check.not_applicable(f"{protocol} listener (HTTP redirects are checked by alb-http-redirects-to-https)")
    policy = resource.require("sslPolicy")
    if not policy or not str(policy).startswith(TLS12_LISTENER_POLICIES):
        yield f"sslPolicy is {policy!r}; use a TLS 1.2+ policy such as ELBSecurityPolicy-TLS13-1-2-2021-06"


# --------------------------------------------------------------------------- WAF

def _rate_limits(resource: Resource) -> list[int]:
    limits = []
    for index, _ in enumerate(elements(resource.require("rules"))):
        limit = resource.require(f"rules.{index}.statement.rateBasedStatement.limit")
        if limit is not None:
            limits.append(int(limit))
    raw = resource.require("ruleJson")
    if raw:
        for rule in json.loads(raw):
            limit = (rule.get("Statement") or {}).get("RateBasedStatement", {}).get("Limit")
            if limit is not None:
                limits.append(int(limit))
    return limits


@RULES.resource(
    id="waf-rate-limit-rule",
    description="The API's regional web ACL limits requests per client IP at the phase's rate (or stricter).",
    severity=Severity.HIGH,
    resource_types=(WEB_ACL,),
    references=References(well_architected=("REL05-BP02",)),
)
def waf_rate_limit(resource: Resource, check: Check):
    if resource.require("scope") != "REGIONAL":
        check.not_applicable("CloudFront web ACL")
    limits = _rate_limits(resource)
    if not limits:
        yield "no rate-based rule: a single client can exhaust the API"
        return
    phase = check.context.phase
    expected = phase.api.rate_limit_per_5min if phase else None
    if expected is not None and min(limits) > expected:
        yield f"rate limit {min(limits)} per 5 minutes is above the phase's {expected}"

