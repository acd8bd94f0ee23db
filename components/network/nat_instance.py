"""One NAT instance: the private subnets' way out when a NAT gateway costs more than the phase can carry.

Creates, under the `Network` that calls it (names `{network}-nat-instance-{zone}`): a security group
admitting any traffic from the private (app) subnets' CIDRs only (`aws.vpc.SecurityGroupIngressRule`
per subnet) and letting out HTTP and HTTPS only (`aws.vpc.SecurityGroupEgressRule`s); the
`aws.ec2.Instance` in the first AZ's public subnet (Amazon Linux 2023 of the type's architecture, from
AWS's public SSM parameter; IMDSv2 only with one hop; encrypted gp3 root volume; no key pair; no
public address of its own; source/destination check off; EC2 simplified automatic recovery); the
Elastic IP it sends from (`aws.ec2.Eip`); and a CloudWatch alarm that reboots it when its instance
status check fails.

The design follows the Amazon VPC User Guide, "NAT instances" (NAT instance basics; Create a NAT AMI
from Amazon Linux 2023; Security groups; Disable source/destination checks;
https://docs.aws.amazon.com/vpc/latest/userguide/VPC_NAT_Instance.html): an instance in a public subnet
with a public address, forwarding and masquerading what the private route tables send to it. One
instance is one point of failure in one AZ: a NAT gateway is AWS's answer when the phase can pay for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import defaults
from phases.models import instance_architecture

ROOT_VOLUME_GB = 8
"""The Amazon Linux 2023 AMIs' own root volume size: the smallest the instance may have."""
STATUS_CHECK_MINUTES = 3
"""Consecutive one-minute periods of a failed instance status check before the alarm reboots."""
EGRESS_PORTS = {"http": 80, "https": 443}
"""What the instance lets out, its own package downloads included: the app groups send HTTPS only
(`defaults.app_egress_rules`); the VPC User Guide's NAT security group allows HTTP and HTTPS out."""


def nat_user_data(vpc_cidr: str) -> str:
    """Boot script (cloud-init runs it once, at first boot) making the instance a NAT for `vpc_cidr`.

    The steps of "Create a NAT AMI" (Amazon VPC User Guide, NAT instances) for Amazon Linux 2023: IP
    forwarding in a sysctl.d file and the MASQUERADE rule saved by iptables-services, so both come back
    after a reboot or a recovery. The Elastic IP is associated only once the instance runs, so the
    package download retries until the instance can reach the repositories. The package's default
    FORWARD chain rejects forwarded packets: it is flushed before the rules are saved.
    """
    return "\n".join([
        "#!/bin/bash",
        "set -euo pipefail",
        "cat > /etc/sysctl.d/90-nat.conf <<'EOF'",
        "net.ipv4.ip_forward = 1",
        "net.ipv4.conf.all.send_redirects = 0",
        "EOF",
        "sysctl --system",
        "for attempt in $(seq 1 60); do dnf install -y iptables-services && break; sleep 10; done",
        "systemctl enable --now iptables",
        "interface=$(ip route show default | awk '{print $5; exit}')",
        f"iptables -t nat -A POSTROUTING -o \"$interface\" -s {vpc_cidr} -j MASQUERADE",
        "iptables -F FORWARD",
        "service iptables save",
        "",
    ])


@dataclass(frozen=True)
class NatInstanceArgs:
    region: str
    """AWS region (the provider's): the alarm's EC2 action names it."""
    zone: str
    """Availability zone of `subnet_id` (the first AZ); part of every resource's name."""
    vpc_id: pulumi.Input[str]
    """VPC of the instance and its security group."""
    vpc_cidr: str
    """VPC CIDR: the only sources the instance masquerades."""
    subnet_id: pulumi.Input[str]
    """Public subnet the instance runs in (its route table leads to the internet gateway)."""
    private_cidrs: Mapping[str, str]
    """Private (app) subnet CIDRs by AZ: the only sources the security group admits."""
    instance_type: str
    """EC2 type (the catalog's `egress.instance_type`); the AMI follows its architecture."""
    internet_gateway: pulumi.Resource
    """The VPC's internet gateway: AWS associates an Elastic IP only in a VPC with one attached."""
    boot_after: Sequence[pulumi.Resource] = ()
    """What must exist before the instance boots (the public route and its associations); default nothing."""


@dataclass(frozen=True)
class NatInstanceResources:
    """What `create_nat_instance` made: the route tables target `instance.primary_network_interface_id`."""

    instance: aws.ec2.Instance
    address: aws.ec2.Eip
    security_group: aws.ec2.SecurityGroup


def create_nat_instance(network: str, args: NatInstanceArgs, opts: pulumi.ResourceOptions) -> NatInstanceResources:
    """The NAT instance of the network named `network`, with `opts` (the network's child options)."""
    name = f"{network}-nat-instance-{args.zone}"
    group = _security_group(name, args, opts)
    instance = _instance(name, args, group, opts)
    # AWS refuses to associate an address in a VPC without an attached internet gateway
    # (Gateway.NotAttached); no input names the gateway, hence the explicit dependency (the
    # Terraform provider's aws_eip docs recommend it).
    address = aws.ec2.Eip(name, aws.ec2.EipArgs(
        domain="vpc", instance=instance.id, tags={"Name": name},
    ), pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[args.internet_gateway])))
    _reboot_alarm(name, args, instance, opts)
    return NatInstanceResources(instance=instance, address=address, security_group=group)


def _security_group(name: str, args: NatInstanceArgs, opts: pulumi.ResourceOptions) -> aws.ec2.SecurityGroup:
    # Without inline rules the provider removes the allow-all egress AWS adds to a new group;
    # the rules below are separate resources, named by subnet and port, so none renumbers.
    group = aws.ec2.SecurityGroup(name, aws.ec2.SecurityGroupArgs(
        vpc_id=args.vpc_id,
        description="NAT instance: any traffic from the private subnets, HTTP and HTTPS out",
        tags={"Name": name},
    ), opts)
    for zone, cidr in sorted(args.private_cidrs.items()):
        aws.vpc.SecurityGroupIngressRule(f"{name}-from-app-{zone}", aws.vpc.SecurityGroupIngressRuleArgs(
            security_group_id=group.id, ip_protocol="-1", cidr_ipv4=cidr,
            description=f"everything the private subnet in {zone} sends out",
        ), opts)
    for label, port in EGRESS_PORTS.items():
        aws.vpc.SecurityGroupEgressRule(f"{name}-{label}-out", aws.vpc.SecurityGroupEgressRuleArgs(
            security_group_id=group.id, ip_protocol="tcp", from_port=port, to_port=port, cidr_ipv4="0.0.0.0/0",
            description=f"{label.upper()} to the internet",
        ), opts)
    return group


def _instance(name: str, args: NatInstanceArgs, group: aws.ec2.SecurityGroup,
              opts: pulumi.ResourceOptions) -> aws.ec2.Instance:
    invoke = pulumi.InvokeOptions(parent=opts.parent)
    ami = aws.ssm.get_parameter_output(
        name=defaults.al2023_ami_parameter(instance_architecture(args.instance_type)), opts=invoke)
    return aws.ec2.Instance(name, aws.ec2.InstanceArgs(
        ami=ami.value,
        instance_type=args.instance_type,
        subnet_id=args.subnet_id,
        vpc_security_group_ids=[group.id],
        # The Elastic IP is its only public address (the public subnets never map one either).
        associate_public_ip_address=False,
        # A NAT sends and receives traffic that is neither from nor for itself (VPC User Guide,
        # NAT instances, "Disable source/destination checks").
        source_dest_check=False,
        metadata_options=aws.ec2.InstanceMetadataOptionsArgs(
            http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1,
            instance_metadata_tags="disabled",
        ),
        root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
            volume_size=ROOT_VOLUME_GB, volume_type="gp3", encrypted=True, delete_on_termination=True,
        ),
        # Simplified automatic recovery moves the instance to healthy hardware when a system status
        # check fails (Amazon EC2 User Guide, "Automatic instance recovery"); "default" turns it on
        # for a supported type such as t4g.
        maintenance_options=aws.ec2.InstanceMaintenanceOptionsArgs(auto_recovery="default"),
        monitoring=False,  # the status check metrics come every minute without detailed monitoring
        user_data=nat_user_data(args.vpc_cidr),
        # The script runs at first boot only: a changed script needs a new instance to take effect.
        user_data_replace_on_change=True,
        tags={"Name": name},
    ), pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
        depends_on=list(args.boot_after),
        # `ami` forces a new instance (Terraform provider, internal/service/ec2/ec2_instance.go): without
        # this, every AL2023 release behind the parameter would replace the NAT and cut the private
        # subnets off for minutes. A new image arrives with a deliberate replacement.
        ignore_changes=["ami"],
    )))


def _reboot_alarm(name: str, args: NatInstanceArgs, instance: aws.ec2.Instance,
                  opts: pulumi.ResourceOptions) -> None:
    # Automatic recovery covers the hardware (system status check); a hung kernel or a full disk
    # fails the instance status check, which a reboot clears. CloudWatch's EC2 actions
    # (arn:aws:automate:<region>:ec2:reboot) need the metric's InstanceId dimension (Amazon
    # CloudWatch User Guide, "Create alarms to stop, terminate, reboot, or recover an EC2 instance").
    aws.cloudwatch.MetricAlarm(f"{name}-status", aws.cloudwatch.MetricAlarmArgs(
        alarm_description="The NAT instance failed its instance status check: reboot it",
        namespace="AWS/EC2",
        metric_name="StatusCheckFailed_Instance",
        dimensions={"InstanceId": instance.id},
        statistic="Maximum",
        period=60,
        evaluation_periods=STATUS_CHECK_MINUTES,
        threshold=1,
        comparison_operator="GreaterThanOrEqualToThreshold",
        alarm_actions=[f"arn:aws:automate:{args.region}:ec2:reboot"],
    ), opts)
