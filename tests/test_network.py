"""Network component through the offline engine: AZs, subnet tiers, NAT gateways per
environment and phase, flow logs, the locked default security group, providers per region."""

from __future__ import annotations

import ipaddress

import pytest

from components.network.network import subnet_cidrs
from tests.support import build

SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"


def test_three_azs_with_three_tiers():
    plan = build("dev", 1)
    subnets = plan.of_type(SUBNET)
    assert len(subnets) == 9
    tiers = {}
    for subnet in subnets:
        tiers.setdefault(subnet.inputs["tags"]["tier"], set()).add(subnet.inputs["availabilityZone"])
    assert tiers == {tier: {"us-east-1a", "us-east-1b", "us-east-1c"} for tier in ("public", "private", "isolated")}
    assert all(subnet.inputs["mapPublicIpOnLaunch"] is False for subnet in subnets)


def test_subnet_cidrs_fit_the_vpc_without_overlap():
    plan = build("dev", 1)
    vpc = ipaddress.ip_network(plan.named("us-east-1-network-vpc").inputs["cidrBlock"])
    assert str(vpc) == "10.10.0.0/16"
    networks = [ipaddress.ip_network(s.inputs["cidrBlock"]) for s in plan.of_type(SUBNET)]
    assert all(network.subnet_of(vpc) and network.prefixlen == 20 for network in networks)
    assert len({str(network) for network in networks}) == 9
    assert subnet_cidrs("10.10.0.0/16", 3)["isolated"] == ["10.10.96.0/20", "10.10.112.0/20", "10.10.128.0/20"]


def test_subnet_cidrs_refuse_a_vpc_too_small():
    with pytest.raises(ValueError, match="room for 4 /20 subnets, 9 needed"):
        subnet_cidrs("10.0.0.0/18", 3)


@pytest.mark.parametrize(("environment", "phase", "nat_gateways"), [
    ("dev", 1, 1), ("dev", 2, 1), ("dev", 3, 1), ("prod", 1, 1), ("prod", 2, 3), ("prod", 4, 3),
])
def test_nat_gateways_follow_cost_and_availability(environment, phase, nat_gateways):
    plan = build(environment, phase)
    primary = [gateway for gateway in plan.of_type(NAT) if plan.region_of(gateway) == "us-east-1"]
    assert len(primary) == nat_gateways
    # The shared gateway keeps its name when the stack moves to one per AZ.
    assert "us-east-1-network-nat-us-east-1a" in {gateway.name for gateway in primary}


def test_each_private_route_uses_its_own_azs_nat_in_prod():
    plan = build("prod", 2)
    for zone in ("us-east-1a", "us-east-1b", "us-east-1c"):
        route = plan.named(f"us-east-1-network-private-{zone}-nat")
        assert route.inputs["destinationCidrBlock"] == "0.0.0.0/0"
        assert route.dependencies["natGatewayId"] == [plan.named(f"us-east-1-network-nat-{zone}", NAT).urn]


def test_isolated_subnets_have_no_route_out():
    plan = build("prod", 2)
    isolated_table = plan.named("us-east-1-network-isolated", "aws:ec2/routeTable:RouteTable")
    routes = [r for r in plan.of_type("aws:ec2/route:Route")
              if r.dependencies.get("routeTableId") == [isolated_table.urn]]
    assert routes == []


def test_flow_logs_capture_all_traffic_into_a_retained_log_group():
    for environment, retention in (("dev", 14), ("prod", 365)):
        plan = build(environment, 2)
        flow_log = plan.named("us-east-1-network-flow-log")
        log_group = plan.named("us-east-1-network-flow-logs", "aws:cloudwatch/logGroup:LogGroup")
        assert flow_log.inputs["trafficType"] == "ALL"
        assert flow_log.inputs["logDestinationType"] == "cloud-watch-logs"
        assert flow_log.dependencies["logDestination"] == [log_group.urn]
        assert flow_log.dependencies["vpcId"] == [plan.named("us-east-1-network-vpc").urn]
        assert log_group.inputs["retentionInDays"] == retention


def test_default_security_group_is_stripped_and_nothing_is_open_to_the_world():
    plan = build("prod", 3)
    defaults = plan.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert len(defaults) == 3
    assert all(group.inputs["ingress"] == [] and group.inputs["egress"] == [] for group in defaults)
    for resource in plan.resources:
        for rule in resource.inputs.get("ingress", []) or []:
            assert "0.0.0.0/0" not in rule.get("cidrBlocks", []), resource.urn


def test_s3_gateway_endpoint_serves_private_and_isolated_tables():
    plan = build("prod", 2)
    endpoint = plan.named("us-east-1-network-s3")
    assert endpoint.inputs["serviceName"] == "com.amazonaws.us-east-1.s3"
    assert endpoint.inputs["vpcEndpointType"] == "Gateway"
    assert len(endpoint.dependencies["routeTableIds"]) == 4


def test_every_regional_resource_uses_its_regions_provider():
    plan = build("prod", 3)
    providers = {r.inputs["region"]: r.urn for r in plan.of_type("pulumi:providers:aws")}
    assert sorted(providers) == ["eu-west-1", "us-east-1", "us-west-2"]
    regional = [r for r in plan.resources if r.type.startswith("aws:") and plan.enclosing_region(r)]
    assert len(regional) > 100
    for resource in regional:
        assert resource.provider == providers[plan.enclosing_region(resource)], resource.urn


def test_region_components_hang_under_platform():
    plan = build("prod", 3)
    platform = plan.named("platform", "qnom:components:Platform")
    regions = [r for r in plan.children_of(platform) if r.type == "qnom:components:Region"]
    assert [r.name for r in regions] == ["eu-west-1", "us-east-1", "us-west-2"]
    network = plan.named("us-east-1-network", "qnom:components:Network")
    assert network.urn == ("urn:pulumi:prod::qnom::qnom:components:Platform$qnom:components:Region"
                           "$qnom:components:Network::us-east-1-network")
