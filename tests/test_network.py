"""Network component through the offline engine: AZs, subnet tiers, NAT gateways per
environment and phase, phase 1's NAT instance, flow logs, the locked default security group,
providers per region."""

from __future__ import annotations

import ipaddress

import pytest

from components import defaults
from components.network.network import subnet_cidrs
from phases.models import instance_architecture
from qnom import mocks
from tests.support import build

SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
NAT_INSTANCE = "aws:ec2/instance:Instance"
EIP = "aws:ec2/eip:Eip"
ROUTE = "aws:ec2/route:Route"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


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
    ("dev", 2, 1), ("dev", 3, 1), ("prod", 2, 3), ("prod", 4, 3),
])
def test_nat_gateways_follow_cost_and_availability(environment, phase, nat_gateways):
    plan = build(environment, phase)
    primary = [gateway for gateway in plan.of_type(NAT) if plan.region_of(gateway) == "us-east-1"]
    assert len(primary) == nat_gateways
    # The shared gateway keeps its name when the stack moves to one per AZ.
    assert "us-east-1-network-nat-us-east-1a" in {gateway.name for gateway in primary}
    assert plan.of_type(NAT_INSTANCE) == []


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_phase_1_egresses_through_one_nat_instance(environment):
    plan = build(environment, 1)
    assert plan.of_type(NAT) == []
    [instance] = plan.of_type(NAT_INSTANCE)
    assert instance.name == "us-east-1-network-nat-instance-us-east-1a"
    inputs = instance.inputs
    assert inputs["instanceType"] == "t4g.nano"
    assert inputs["ami"] == mocks.ARM64_AMI_ID  # Graviton: the arm64 AL2023 image
    assert inputs["sourceDestCheck"] is False
    assert inputs["associatePublicIpAddress"] is False
    assert "keyName" not in inputs
    assert inputs["metadataOptions"]["httpTokens"] == "required"
    assert inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1
    assert inputs["rootBlockDevice"] == {"volumeSize": 8, "volumeType": "gp3", "encrypted": True,
                                         "deleteOnTermination": True}
    assert inputs["maintenanceOptions"] == {"autoRecovery": "default"}
    assert instance.options["ignoreChanges"] == ["ami"]
    # The first AZ's public subnet.
    assert instance.dependencies["subnetId"] == [plan.named("us-east-1-network-public-us-east-1a", SUBNET).urn]
    # Its address is its own Elastic IP, never the gateway's.
    address = plan.named("us-east-1-network-nat-instance-us-east-1a", EIP)
    assert address.inputs["domain"] == "vpc"
    assert address.dependencies["instance"] == [instance.urn]
    assert plan.named("us-east-1-network-igw").urn in address.options["dependsOn"]
    assert [eip.name for eip in plan.of_type(EIP)] == ["us-east-1-network-nat-instance-us-east-1a"]


def test_private_routes_target_the_nat_instance_interface_in_phase_1():
    plan = build("prod", 1)
    instance = plan.named("us-east-1-network-nat-instance-us-east-1a", NAT_INSTANCE)
    for zone in ("us-east-1a", "us-east-1b", "us-east-1c"):
        route = plan.named(f"us-east-1-network-private-{zone}-nat")
        assert route.inputs["destinationCidrBlock"] == "0.0.0.0/0"
        assert route.dependencies["networkInterfaceId"] == [instance.urn]
        assert "natGatewayId" not in route.inputs and "natGatewayId" not in route.dependencies


def test_nat_instance_admits_only_the_private_subnets():
    plan = build("dev", 1)
    group = plan.named("us-east-1-network-nat-instance-us-east-1a", "aws:ec2/securityGroup:SecurityGroup")
    instance = plan.named("us-east-1-network-nat-instance-us-east-1a", NAT_INSTANCE)
    assert instance.dependencies["vpcSecurityGroupIds"] == [group.urn]
    rules = [rule for rule in plan.of_type(INGRESS_RULE) if rule.dependencies["securityGroupId"] == [group.urn]]
    assert sorted((rule.inputs["ipProtocol"], rule.inputs["cidrIpv4"]) for rule in rules) == [
        ("-1", "10.10.48.0/20"), ("-1", "10.10.64.0/20"), ("-1", "10.10.80.0/20")]
    out = [rule for rule in plan.of_type(EGRESS_RULE) if rule.dependencies["securityGroupId"] == [group.urn]]
    assert sorted((rule.inputs["fromPort"], rule.inputs["cidrIpv4"]) for rule in out) == [
        (80, "0.0.0.0/0"), (443, "0.0.0.0/0")]


def test_nat_instance_boots_arm64_al2023_and_masquerades_for_the_vpc():
    plan = build("dev", 1)
    instance = plan.named("us-east-1-network-nat-instance-us-east-1a", NAT_INSTANCE)
    assert defaults.al2023_ami_parameter(instance_architecture("t4g.nano")) == (
        "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64")
    script = instance.inputs["userData"]
    assert "net.ipv4.ip_forward = 1" in script and "/etc/sysctl.d/" in script
    assert "-s 10.10.0.0/16 -j MASQUERADE" in script
    # Saved by iptables-services, so the rules survive a reboot; the package's reject rule goes first.
    assert script.index("iptables -F FORWARD") < script.index("service iptables save")
    assert "systemctl enable --now iptables" in script
    assert instance.inputs["userDataReplaceOnChange"] is True


def test_nat_instance_boots_after_the_public_route_and_the_app_groups_wait_for_it():
    plan = build("dev", 1)
    instance = plan.named("us-east-1-network-nat-instance-us-east-1a", NAT_INSTANCE)
    assert plan.named("us-east-1-network-public-internet", ROUTE).urn in instance.options["dependsOn"]
    group = plan.named("us-east-1-api-asg")
    waits = set(group.options["dependsOn"])
    assert {instance.urn, plan.named("us-east-1-network-nat-instance-us-east-1a", EIP).urn,
            plan.named("us-east-1-network-private-us-east-1a-nat", ROUTE).urn} <= waits


def test_nat_instance_reboots_on_a_failed_status_check():
    plan = build("prod", 1)
    alarm = plan.named("us-east-1-network-nat-instance-us-east-1a-status")
    assert alarm.inputs["metricName"] == "StatusCheckFailed_Instance"
    assert alarm.inputs["alarmActions"] == ["arn:aws:automate:us-east-1:ec2:reboot"]
    assert alarm.dependencies["dimensions"] == [plan.named("us-east-1-network-nat-instance-us-east-1a", NAT_INSTANCE).urn]


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
