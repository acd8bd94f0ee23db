"""The launch template and Auto Scaling group of an app instance group (the API tier, the workers).

Creates no component. `create_launch_template` creates the `aws.ec2.LaunchTemplate`
(`{name}-lt`): Amazon Linux 2023 of the types' architecture (public SSM parameter), the instance profile, IMDSv2 with hop
limit 2 (the app runs in a bridge-network container and needs the instance role), no public IP,
an encrypted gp3 root volume, detailed monitoring, the given user data, and tags for instances
and volumes. `create_group` creates the `aws.autoscaling.Group` (`{name}-asg`) over the private
subnets: one launch template, or a mixed instances policy (several types, an on-demand base,
then a spot share), rolling instance refresh, capacity rebalancing and the group metrics; the
running count is left to the autoscaler after creation, and the group waits for what its
instances need at boot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import defaults
from phases.models import Architecture


@dataclass(frozen=True)
class LaunchTemplateArgs:
    instance_profile_arn: pulumi.Input[str]
    """The instance role's profile."""
    security_group_id: pulumi.Input[str]
    """The instances' security group (on the primary interface)."""
    root_volume_gb: int
    """Size of the encrypted gp3 root volume."""
    user_data: str
    """The boot script, base64-encoded (`userdata.encode`)."""
    architecture: Architecture
    """Architecture of every type the template launches (`models.instance_architecture`): the image's."""
    instance_type: str | None = None
    """Instance type; default None: the group's mixed instances policy lists the types."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for instances and volumes, which the provider's default tags do not reach; default none."""


@dataclass(frozen=True)
class MixedInstances:
    instance_types: Sequence[str]
    """Types the group may launch, in on-demand priority order."""
    on_demand_base: int
    """Instances always on demand."""
    spot_percent: int
    """Share of spot instances above the base, in percent."""


@dataclass(frozen=True)
class GroupArgs:
    min_size: int
    """Minimum instance count."""
    max_size: int
    """Maximum instance count."""
    desired_capacity: int
    """Instance count at creation (the autoscaler owns it afterwards)."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Private subnets, one per AZ."""
    refresh_min_healthy_percent: int
    """Share of healthy capacity an instance refresh keeps."""
    health_check_type: str
    """`ELB` behind a target group, else `EC2`."""
    health_check_grace_seconds: int | None = None
    """Grace before the first health check; default None (AWS's default)."""
    target_group_arns: Sequence[pulumi.Input[str]] | None = None
    """Target groups the instances register with; default None: none."""
    mixed_instances: MixedInstances | None = None
    """Spot and on-demand mix; default None: the launch template's one type, all on demand."""
    boot_after: Sequence[pulumi.Resource] = ()
    """What must exist before an instance boots (the NAT routes, the configuration, the role's
    policies); default nothing."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the group itself, not propagated (the launch template tags instances); default none."""
    suspended_processes: Sequence[str] = ()
    """Auto Scaling processes suspended (`ScheduledActions` while the stack surges); default none."""


def create_launch_template(name: str, args: LaunchTemplateArgs, invoke: pulumi.InvokeOptions,
                           opts: pulumi.ResourceOptions) -> aws.ec2.LaunchTemplate:
    """The launch template `f"{name}-lt"`; `invoke` reads the AMI parameter through the group's provider."""
    # The parameter moves to each new AL2023 release; the next `pulumi up` then writes a
    # new template version and the instance refresh rolls the group onto the patched AMI.
    ami = aws.ssm.get_parameter_output(name=defaults.al2023_ami_parameter(args.architecture), opts=invoke)
    return aws.ec2.LaunchTemplate(f"{name}-lt", aws.ec2.LaunchTemplateArgs(
        image_id=ami.value,
        instance_type=args.instance_type,
        iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=args.instance_profile_arn),
        # The app container needs the instance role (SQS, S3, secrets) through IMDSv2.
        metadata_options=defaults.instance_metadata_options(defaults.CONTAINER_IMDS_HOP_LIMIT),
        network_interfaces=[defaults.private_network_interface(args.security_group_id)],
        block_device_mappings=[defaults.encrypted_root_volume(args.root_volume_gb)],
        monitoring=aws.ec2.LaunchTemplateMonitoringArgs(enabled=True),
        user_data=args.user_data,
        update_default_version=True,
        tag_specifications=[
            aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags={**args.tags, "Name": name})
            for kind in ("instance", "volume")
        ],
    ), opts)


def _mixed_instances_policy(template: aws.ec2.LaunchTemplate,
                            mix: MixedInstances) -> aws.autoscaling.GroupMixedInstancesPolicyArgs:
    return aws.autoscaling.GroupMixedInstancesPolicyArgs(
        instances_distribution=aws.autoscaling.GroupMixedInstancesPolicyInstancesDistributionArgs(
            on_demand_base_capacity=mix.on_demand_base,
            # Seed: workers 80% spot with on-demand fallback, i.e. 20% on-demand
            # above the always-on-demand base.
            on_demand_percentage_above_base_capacity=100 - mix.spot_percent,
            on_demand_allocation_strategy="prioritized",
            # Pools with the most spare capacity are interrupted least.
            spot_allocation_strategy="capacity-optimized",
        ),
        launch_template=aws.autoscaling.GroupMixedInstancesPolicyLaunchTemplateArgs(
            launch_template_specification=aws.autoscaling.
            GroupMixedInstancesPolicyLaunchTemplateLaunchTemplateSpecificationArgs(
                launch_template_id=template.id,
                version=template.latest_version.apply(str),
            ),
            overrides=[aws.autoscaling.GroupMixedInstancesPolicyLaunchTemplateOverrideArgs(instance_type=kind)
                       for kind in mix.instance_types],
        ),
    )


def create_group(name: str, args: GroupArgs, template: aws.ec2.LaunchTemplate,
                 opts: pulumi.ResourceOptions) -> aws.autoscaling.Group:
    """The Auto Scaling group `f"{name}-asg"` launching from `template`."""
    mix = args.mixed_instances
    return aws.autoscaling.Group(f"{name}-asg", aws.autoscaling.GroupArgs(
        min_size=args.min_size,
        max_size=args.max_size,
        desired_capacity=args.desired_capacity,
        vpc_zone_identifiers=list(args.subnet_ids),
        launch_template=None if mix else aws.autoscaling.GroupLaunchTemplateArgs(
            id=template.id, version=template.latest_version.apply(str)),
        mixed_instances_policy=_mixed_instances_policy(template, mix) if mix else None,
        target_group_arns=list(args.target_group_arns) if args.target_group_arns is not None else None,
        health_check_type=args.health_check_type,
        health_check_grace_period=args.health_check_grace_seconds,
        # A new template version (image, type, user data) rolls the group a few
        # instances at a time instead of waiting for scale-in to replace them.
        instance_refresh=aws.autoscaling.GroupInstanceRefreshArgs(
            strategy="Rolling",
            preferences=aws.autoscaling.GroupInstanceRefreshPreferencesArgs(
                min_healthy_percentage=args.refresh_min_healthy_percent),
        ),
        # Replaces a spot instance AWS flags as at risk before its interruption notice; set on an
        # all-on-demand group too, so a spot share later needs no group change.
        capacity_rebalance=True,
        # GroupInServiceInstances is also the divisor of the workers' backlog-per-worker metric.
        enabled_metrics=defaults.GROUP_METRICS,
        metrics_granularity="1Minute",
        tags=[aws.autoscaling.GroupTagArgs(key=key, value=value, propagate_at_launch=False)
              for key, value in sorted(args.tags.items())],
        # Updated in place: the provider suspends what the set gains and resumes what it loses
        # (internal/service/autoscaling/group.go, resourceGroupUpdate, "suspended_processes").
        suspended_processes=list(args.suspended_processes) or None,
    # The autoscaler (and the schedule) own the running count once the group exists. Instances
    # booting without a way out (NAT route) or before their grants and configuration exist fail
    # their boot, and the health check then replaces them in a loop: wait for all of it.
    ), pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
        ignore_changes=["desiredCapacity"], depends_on=list(args.boot_after))))
