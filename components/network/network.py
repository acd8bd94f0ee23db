"""Network of one region: VPC over three AZs with public, private (app) and isolated (data)
subnets, an internet gateway, the private subnets' way out (NAT gateways, or one NAT instance:
`components/network/nat_instance.py`), route tables, an S3 gateway endpoint, VPC flow logs to
CloudWatch Logs, and the VPC's default security group stripped of every rule.

The private (one per AZ) and isolated route table ids come out, so routes to a peered region's
VPC can be added later as separate `aws.ec2.Route` resources: an inline route on a table would
make Pulumi own the table's whole route list and rewrite it.

NAT: `NatGateways` (phase 2 on) puts a managed NAT gateway with its Elastic IP in the first AZ, or in
every AZ; `NatInstance` (the catalog's `egress: {nat: instance}`, phase 1) runs one small EC2 instance
in the first AZ's public subnet instead (about $7 a month against $36.50). The private routes keep
their names either way and only change target: a route's target is not ForceNew and an update is an
EC2 ReplaceRoute (Terraform provider, internal/service/ec2/vpc_route.go: resourceRouteUpdate), so
promotion to phase 2 re-points the routes to the new gateway, then deletes the instance and its own
Elastic IP (`{name}-nat-instance-{zone}`, never the gateway's `{name}-nat-{zone}`).

Deploy order: the NAT gateways wait for the internet gateway (AWS creates a public NAT gateway
only in a VPC with an internet gateway attached; the Terraform provider's `aws_nat_gateway` docs
recommend an explicit dependency on it); the NAT instance waits for the public route and the
public subnets' associations, so its first boot can reach the internet. `internet_egress` lists
what an instance in a private subnet needs before its traffic reaches the internet (the NAT
routes, the NAT instance and its address, the public route to the internet gateway and the
route table associations); the app groups wait for it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import policy_documents as documents
from components.network.nat_instance import NatInstanceArgs, create_nat_instance

TIERS = ("public", "private", "isolated")
SUBNET_PREFIX = 20  # nine /20s out of the /16 leave seven free for later tiers


def subnet_cidrs(vpc_cidr: str, zone_count: int) -> dict[str, list[str]]:
    """CIDRs per tier, in AZ order: tier i of AZ j takes /20 number i * zone_count + j."""
    blocks = list(ipaddress.ip_network(vpc_cidr).subnets(new_prefix=SUBNET_PREFIX))
    needed = len(TIERS) * zone_count
    if needed > len(blocks):
        raise ValueError(f"{vpc_cidr} has room for {len(blocks)} /{SUBNET_PREFIX} subnets, {needed} needed")
    return {tier: [str(blocks[t * zone_count + z]) for z in range(zone_count)] for t, tier in enumerate(TIERS)}


@dataclass(frozen=True)
class NatGateways:
    """Managed NAT gateways, each with its Elastic IP."""

    per_az: bool
    """True: one NAT gateway per AZ. False: one shared NAT gateway in the first AZ."""


@dataclass(frozen=True)
class NatInstance:
    """One NAT instance in the first AZ's public subnet, shared by every private subnet."""

    instance_type: str
    """EC2 type of the instance (the catalog's `egress.instance_type`, e.g. t4g.nano)."""


@dataclass(frozen=True)
class NetworkArgs:
    region: str
    """AWS region the network lives in (the provider's region)."""
    cidr: str
    """VPC CIDR, a private /16. Fixed for the VPC's lifetime: AWS replaces a VPC whose CIDR changes."""
    availability_zones: list[str]
    """AZ names to spread subnets over (three in every phase)."""
    nat: NatGateways | NatInstance
    """How the private subnets reach the internet: NAT gateways, or one NAT instance."""
    flow_log_retention_days: int
    """Retention of the flow log group, days."""
    log_key_arn: pulumi.Input[str] | None = None
    """KMS key encrypting the component's log groups (the region's log key, whose policy admits CloudWatch
    Logs); default None: CloudWatch Logs' own encryption."""


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    isolated_subnet_ids: list[pulumi.Output[str]]
    nat_gateway_ids: list[pulumi.Output[str]]
    nat_instance_id: pulumi.Output[str] | None
    flow_log_id: pulumi.Output[str]
    private_route_table_ids: list[pulumi.Output[str]]
    isolated_route_table_id: pulumi.Output[str]
    internet_egress: list[pulumi.Resource]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("qnom:components:Network", name, None, opts)
        self._name, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self)
        self._cidrs = subnet_cidrs(args.cidr, len(args.availability_zones))

        self.vpc = aws.ec2.Vpc(f"{name}-vpc", aws.ec2.VpcArgs(
            cidr_block=args.cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,  # RDS, OpenSearch and interface endpoints resolve through it
            tags={"Name": f"{name}-vpc"},
        ), self._child)
        self.vpc_id = self.vpc.id
        self._lock_default_security_group()
        self._subnets = {tier: self._create_subnets(tier) for tier in TIERS}
        self.public_subnet_ids = [subnet.id for subnet in self._subnets["public"]]
        self.private_subnet_ids = [subnet.id for subnet in self._subnets["private"]]
        self.isolated_subnet_ids = [subnet.id for subnet in self._subnets["isolated"]]
        self.internet_egress = []
        gateway = self._create_public_routes()
        match args.nat:
            case NatGateways():
                targets = self._create_nat_gateways(gateway)
                self.nat_gateway_ids, self.nat_instance_id = [target.id for target in targets], None
            case NatInstance():
                targets = [self._create_nat_instance(gateway, args.nat)]
                self.nat_gateway_ids, self.nat_instance_id = [], targets[0].id
        private_tables = self._create_private_routes(targets)
        isolated_table = self._create_isolated_routes()
        self.private_route_table_ids = [table.id for table in private_tables]
        self.isolated_route_table_id = isolated_table.id
        self._create_s3_endpoint([*private_tables, isolated_table])
        self.flow_log_id = self._create_flow_logs()

        self.register_outputs({
            "vpc_id": self.vpc_id,
            "public_subnet_ids": self.public_subnet_ids,
            "private_subnet_ids": self.private_subnet_ids,
            "isolated_subnet_ids": self.isolated_subnet_ids,
            "nat_gateway_ids": self.nat_gateway_ids,
            "nat_instance_id": self.nat_instance_id,
            "flow_log_id": self.flow_log_id,
            "private_route_table_ids": self.private_route_table_ids,
            "isolated_route_table_id": self.isolated_route_table_id,
        })

    def _lock_default_security_group(self) -> None:
        # Adopting the default group with no rules removes AWS's allow-all-within-group
        # rules, so nothing can fall back on it (CIS 5.4 / FSBP EC2.2).
        aws.ec2.DefaultSecurityGroup(f"{self._name}-default-sg", aws.ec2.DefaultSecurityGroupArgs(
            vpc_id=self.vpc.id, ingress=[], egress=[], tags={"Name": f"{self._name}-default-locked"},
        ), self._child)

    def _create_subnets(self, tier: str) -> list[aws.ec2.Subnet]:
        return [
            aws.ec2.Subnet(f"{self._name}-{tier}-{zone}", aws.ec2.SubnetArgs(
                vpc_id=self.vpc.id,
                cidr_block=cidr,
                availability_zone=zone,
                # Nothing gets a public IP by default; the ALB and NAT gateways bring their own.
                map_public_ip_on_launch=False,
                tags={"Name": f"{self._name}-{tier}-{zone}", "tier": tier},
            ), self._child)
            for zone, cidr in zip(self._args.availability_zones, self._cidrs[tier])
        ]

    def _associate_each(self, tables: list[aws.ec2.RouteTable], subnets: list[aws.ec2.Subnet],
                        tier: str) -> list[aws.ec2.RouteTableAssociation]:
        return [
            aws.ec2.RouteTableAssociation(f"{self._name}-{tier}-{zone}", aws.ec2.RouteTableAssociationArgs(
                route_table_id=table.id, subnet_id=subnet.id,
            ), self._child)
            for zone, table, subnet in zip(self._args.availability_zones, tables, subnets)
        ]

    def _create_public_routes(self) -> aws.ec2.InternetGateway:
        gateway = aws.ec2.InternetGateway(f"{self._name}-igw", aws.ec2.InternetGatewayArgs(
            vpc_id=self.vpc.id, tags={"Name": f"{self._name}-igw"},
        ), self._child)
        table = aws.ec2.RouteTable(f"{self._name}-public", aws.ec2.RouteTableArgs(
            vpc_id=self.vpc.id, tags={"Name": f"{self._name}-public"},
        ), self._child)
        route = aws.ec2.Route(f"{self._name}-public-internet", aws.ec2.RouteArgs(
            route_table_id=table.id, destination_cidr_block="0.0.0.0/0", gateway_id=gateway.id,
        ), self._child)
        self.internet_egress += [route, *self._associate_each(
            [table] * len(self._subnets["public"]), self._subnets["public"], "public")]
        return gateway

    def _create_nat_gateways(self, internet_gateway: aws.ec2.InternetGateway) -> list[aws.ec2.NatGateway]:
        # The shared gateway is the first AZ's, under the same name it keeps when the stack
        # moves to one per AZ: promotion adds gateways and never replaces this one.
        zones = self._args.availability_zones if self._args.nat.per_az else self._args.availability_zones[:1]
        gateways = []
        for zone, subnet in zip(zones, self._subnets["public"]):
            address = aws.ec2.Eip(f"{self._name}-nat-{zone}", aws.ec2.EipArgs(
                domain="vpc", tags={"Name": f"{self._name}-nat-{zone}"},
            ), self._child)
            # No input names the internet gateway, yet AWS needs it attached first (see above).
            gateways.append(aws.ec2.NatGateway(f"{self._name}-nat-{zone}", aws.ec2.NatGatewayArgs(
                allocation_id=address.id, subnet_id=subnet.id, tags={"Name": f"{self._name}-nat-{zone}"},
            ), pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(depends_on=[internet_gateway]))))
        return gateways

    def _create_nat_instance(self, internet_gateway: aws.ec2.InternetGateway, nat: NatInstance) -> aws.ec2.Instance:
        zones = self._args.availability_zones
        created = create_nat_instance(self._name, NatInstanceArgs(
            region=self._args.region,
            zone=zones[0],
            vpc_id=self.vpc.id,
            vpc_cidr=self._args.cidr,
            subnet_id=self._subnets["public"][0].id,
            private_cidrs=dict(zip(zones, self._cidrs["private"])),
            instance_type=nat.instance_type,
            internet_gateway=internet_gateway,
            # The public route and associations (already in `internet_egress`): the first boot
            # downloads the packet filter's service from the internet.
            boot_after=list(self.internet_egress),
        ), self._child)
        self.internet_egress += [created.instance, created.address]
        return created.instance

    def _private_route_args(self, table: aws.ec2.RouteTable,
                            target: aws.ec2.NatGateway | aws.ec2.Instance) -> aws.ec2.RouteArgs:
        # A route names exactly one target (the provider's ExactlyOneOf over the target arguments).
        if isinstance(target, aws.ec2.Instance):
            # The instance's primary interface, not `instance_id`, which the provider deprecates.
            return aws.ec2.RouteArgs(route_table_id=table.id, destination_cidr_block="0.0.0.0/0",
                                     network_interface_id=target.primary_network_interface_id)
        return aws.ec2.RouteArgs(route_table_id=table.id, destination_cidr_block="0.0.0.0/0",
                                 nat_gateway_id=target.id)

    def _create_private_routes(self, targets: list[aws.ec2.NatGateway | aws.ec2.Instance]) -> list[aws.ec2.RouteTable]:
        tables = []
        per_az = isinstance(self._args.nat, NatGateways) and self._args.nat.per_az
        for index, zone in enumerate(self._args.availability_zones):
            table = aws.ec2.RouteTable(f"{self._name}-private-{zone}", aws.ec2.RouteTableArgs(
                vpc_id=self.vpc.id, tags={"Name": f"{self._name}-private-{zone}"},
            ), self._child)
            target = targets[index] if per_az else targets[0]
            self.internet_egress.append(aws.ec2.Route(f"{self._name}-private-{zone}-nat",
                                                      self._private_route_args(table, target), self._child))
            tables.append(table)
        self.internet_egress += self._associate_each(tables, self._subnets["private"], "private")
        return tables

    def _create_isolated_routes(self) -> aws.ec2.RouteTable:
        # Data subnets have no route out: databases and caches never reach the internet.
        table = aws.ec2.RouteTable(f"{self._name}-isolated", aws.ec2.RouteTableArgs(
            vpc_id=self.vpc.id, tags={"Name": f"{self._name}-isolated"},
        ), self._child)
        self._associate_each([table] * len(self._subnets["isolated"]), self._subnets["isolated"], "isolated")
        return table

    def _create_s3_endpoint(self, tables: list[aws.ec2.RouteTable]) -> None:
        # A gateway endpoint is free and keeps S3 traffic (artifacts, backups) off the NAT bill.
        aws.ec2.VpcEndpoint(f"{self._name}-s3", aws.ec2.VpcEndpointArgs(
            vpc_id=self.vpc.id,
            service_name=f"com.amazonaws.{self._args.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[table.id for table in tables],
            tags={"Name": f"{self._name}-s3"},
        ), self._child)

    def _create_flow_logs(self) -> pulumi.Output[str]:
        log_group = aws.cloudwatch.LogGroup(f"{self._name}-flow-logs", aws.cloudwatch.LogGroupArgs(
            retention_in_days=self._args.flow_log_retention_days,
            kms_key_id=self._args.log_key_arn,
        ), self._child)
        role = aws.iam.Role(f"{self._name}-flow-logs", aws.iam.RoleArgs(
            assume_role_policy=documents.to_json(documents.trust_policy("vpc-flow-logs.amazonaws.com")),
        ), self._child)
        # The group by its auto-generated name, known in a preview (its ARN is not).
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        aws.iam.RolePolicy(f"{self._name}-flow-logs", aws.iam.RolePolicyArgs(
            role=role.id,
            policy=documents.to_json(documents.flow_log_delivery_policy(log_group.name, self._args.region,
                                                                        account_id)),
        ), self._child)
        flow_log = aws.ec2.FlowLog(f"{self._name}-flow-log", aws.ec2.FlowLogArgs(
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
        ), self._child)
        return flow_log.id
