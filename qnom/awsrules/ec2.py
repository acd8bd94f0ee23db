"""EC2: launch templates whose instances run containers that need the instance's credentials;
security groups within their quota of inbound rules, managed prefix lists counted by weight; routes
naming exactly one target; Elastic IPs associated only in a VPC with an internet gateway."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator

from phases.models import instance_architecture
from policy.resource_types import EC2_INSTANCE, EIP, LAUNCH_TEMPLATE, ROUTE, SECURITY_GROUP_INGRESS_RULE
from qnom import mocks
from qnom.awsrules import Request, known, rule

# `docker run` on Docker's default bridge network: every container request to the metadata
# service crosses one more network hop than a process on the instance.
_DOCKER_RUN = re.compile(r"\bdocker\s+run\b[^\n]*")
_HOST_NETWORK = re.compile(r"--(?:network|net)[= ]host\b")


def bridged_containers(user_data: str) -> list[str]:
    """`docker run` commands of a boot script that use the bridge network."""
    script = user_data.replace("\\\n", " ")
    return [command for command in _DOCKER_RUN.findall(script) if not _HOST_NETWORK.search(command)]


def _decoded(user_data: object) -> str | None:
    if not isinstance(user_data, str) or not known(user_data):
        return None
    try:
        return base64.b64decode(user_data, validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return user_data


@rule("ec2-container-metadata-hop-limit", LAUNCH_TEMPLATE,
      error="In a container environment, if the hop limit is 1, the IMDSv2 response does not return because "
            "going to the container is considered an additional network hop",
      # AWS EC2 User Guide, "Configure the Instance Metadata Service options" (instance metadata
      # options): with IMDSv2 required, a container on a bridge network gets no token, hence no
      # instance credentials, unless the PUT response hop limit is at least 2 ("In a container
      # environment, we recommend setting the hop limit to 2"). AWS accepts the request; the
      # instances then cannot reach any AWS API from the container.
      source="https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-options.html")
def _container_hop_limit(request: Request) -> Iterator[str]:
    options = request.inputs.get("metadataOptions") or {}
    if options.get("httpTokens") != "required":
        return  # IMDSv1 answers a container without a token
    hops = options.get("httpPutResponseHopLimit", 1)
    script = _decoded(request.inputs.get("userData"))
    if script is None or not isinstance(hops, (int, float)) or hops >= 2:
        return
    if bridged_containers(script):
        yield (f"In a container environment, if the hop limit is 1, the IMDSv2 response does not return because "
               f"going to the container is considered an additional network hop (httpPutResponseHopLimit "
               f"{hops:g} with IMDSv2 required, and the user data runs `docker run` on the bridge network)")


SECURITY_GROUP_RULE_QUOTA = 60
"""Default inbound rules per security group (Amazon VPC User Guide, "Amazon VPC quotas", Security groups)."""


def _rule_weight(record, region: str | None) -> int:
    """Rules one ingress rule counts as: a managed prefix list its weight, anything else one."""
    list_id = record.inputs.get("prefixListId")
    if not isinstance(list_id, str) or region is None:
        return 1
    names = (mocks.CLOUDFRONT_PREFIX_LIST, f"com.amazonaws.{region}.route53-healthchecks")
    weights = {mocks.prefix_list_id(region, name): mocks.prefix_list_weight(name) for name in names}
    return weights.get(list_id, 1)


@rule("ec2-security-group-rule-quota", SECURITY_GROUP_INGRESS_RULE,
      error="RulesPerSecurityGroupLimitExceeded: The maximum number of rules per security group has been reached.",
      # Amazon VPC User Guide, "AWS-managed prefix lists" > "AWS-managed prefix list weight": a
      # rule referencing a managed prefix list counts as the list's weight against the quota of
      # rules per security group (CloudFront's origin-facing list: 55; Route 53's health checkers': 25).
      source="https://docs.aws.amazon.com/vpc/latest/userguide/working-with-aws-managed-prefix-lists.html")
def _security_group_rule_quota(request: Request) -> Iterator[str]:
    groups = set(request.record.dependencies.get("securityGroupId", []))
    if not groups:
        return
    region = request.region
    siblings = [record for record in request.registered.values()
                if record.type == SECURITY_GROUP_INGRESS_RULE and record.urn != request.record.urn
                and groups & set(record.dependencies.get("securityGroupId", []))]
    total = sum(_rule_weight(record, region) for record in (*siblings, request.record))
    if total > SECURITY_GROUP_RULE_QUOTA:
        yield ("RulesPerSecurityGroupLimitExceeded: The maximum number of rules per security group has been "
               f"reached. (inbound rules weigh {total} here, the quota is {SECURITY_GROUP_RULE_QUOTA})")


ROUTE_TARGETS = {
    "carrierGatewayId": "carrier_gateway_id", "coreNetworkArn": "core_network_arn",
    "egressOnlyGatewayId": "egress_only_gateway_id", "gatewayId": "gateway_id", "instanceId": "instance_id",
    "localGatewayId": "local_gateway_id", "natGatewayId": "nat_gateway_id",
    "networkInterfaceId": "network_interface_id", "transitGatewayId": "transit_gateway_id",
    "vpcEndpointId": "vpc_endpoint_id", "vpcPeeringConnectionId": "vpc_peering_connection_id",
}
"""A route's target inputs (pulumi-aws name -> the provider's), in the provider's order."""


@rule("ec2-route-one-target", ROUTE,
      error="only one of `carrier_gateway_id,...` can be specified (or: one of `...` must be specified)",
      # The Terraform AWS provider's aws_route schema marks every target argument ExactlyOneOf the
      # others (internal/service/ec2/vpc_route.go, routeValidTargets); the plan fails before any
      # CreateRoute or ReplaceRoute call. The NAT path relies on it: phase 1's routes name the NAT
      # instance's interface, phase 2's the NAT gateway, never both.
      source="hashicorp/terraform-provider-aws internal/service/ec2/vpc_route.go")
def _route_one_target(request: Request) -> Iterator[str]:
    named = [name for key, name in ROUTE_TARGETS.items()
             if request.inputs.get(key) not in (None, "") or request.record.dependencies.get(key)]
    keys = ",".join(ROUTE_TARGETS.values())
    if not named:
        yield f'"{next(iter(ROUTE_TARGETS.values()))}": one of `{keys}` must be specified'
    elif len(named) > 1:
        yield f'"{named[0]}": only one of `{keys}` can be specified, but `{",".join(named)}` were specified.'


def _vpc_of_instance(request: Request, instance) -> str | None:
    subnet = request.source("subnetId", "aws:ec2/subnet:Subnet", instance)
    vpc = request.source("vpcId", "aws:ec2/vpc:Vpc", subnet) if subnet is not None else None
    return vpc.urn if vpc is not None else None


@rule("ec2-eip-needs-internet-gateway", EIP,
      error="Gateway.NotAttached: Network vpc-... is not attached to any internet gateway",
      # Amazon EC2 API Reference, "Error codes for the Amazon EC2 API" (Gateway.NotAttached): "If you
      # are trying to associate an Elastic IP address with a network interface or instance, ensure
      # that the internet gateway is attached to the relevant VPC." The association is made when the
      # address is created with `instance` (Terraform provider, internal/service/ec2/ec2_eip.go).
      source="https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html")
def _eip_needs_internet_gateway(request: Request) -> Iterator[str]:
    instance = request.source("instance", "aws:ec2/instance:Instance")
    vpc = _vpc_of_instance(request, instance) if instance is not None else None
    if vpc is None:
        return  # not associated with an instance this run created: nothing to judge
    gateways = [record for record in request.registered.values() if record.type == "aws:ec2/internetGateway:InternetGateway"
                and vpc in record.dependencies.get("vpcId", [])]
    if not gateways:
        yield (f"Gateway.NotAttached: Network {request.registered[vpc].name} is not attached to any internet gateway "
               f"(the Elastic IP {request.record.name} is associated with {instance.name} when it is created)")


@rule("ec2-instance-type-architecture", EC2_INSTANCE,
      error="InvalidParameterValue: The architecture '{type's}' of the specified instance type does not match the "
            "architecture '{image's}' of the specified AMI",
      # RunInstances refuses an image of another architecture than the instance type's (Graviton types boot
      # only arm64 images; AWS publishes one AL2023 parameter per architecture). Observed answer:
      # skypilot-org/skypilot#6315 (m6g.large with an x86_64 image).
      source="https://github.com/skypilot-org/skypilot/issues/6315")
def _instance_type_matches_the_image(request: Request) -> Iterator[str]:
    image = mocks.AMI_ARCHITECTURES.get(request.inputs.get("ami"))
    instance_type = request.inputs.get("instanceType")
    if image is None or not known(instance_type) or instance_architecture(instance_type) == image:
        return
    yield (f"InvalidParameterValue: The architecture '{instance_architecture(instance_type)}' of the specified "
           f"instance type does not match the architecture '{image}' of the specified AMI ({instance_type}, "
           f"image {request.inputs['ami']})")
