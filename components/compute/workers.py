"""Queue workers of one region: a spot-heavy Auto Scaling group scaled on the queue's depth.

Creates, under the component:
- a security group with no inbound rule (workers pull from SQS; nothing calls them) and
  egress limited to HTTPS and the data tier's ports inside the VPC;
- an instance role and profile: SSM core, consuming the one queue it is given, reading the
  app configuration path and the database and cache secrets (and decrypting them through
  Secrets Manager), the object bucket's app prefix, and ECR pulls only when the image lives
  in a private ECR repository;
- a launch template: Amazon Linux 2023, IMDSv2 with hop limit 2 (the worker runs in a
  bridge-network container and needs the instance role), no public IP, encrypted gp3 root
  volume, detailed monitoring, user data from `templates/worker-user-data.sh.tpl` (it reads
  the same configuration as the API at every start, the queue URL included);
- the Auto Scaling group (it and the template through `components/compute/instance_group.py`) over
  the private subnets with a mixed instances policy (several instance types, an on-demand
  base, then the catalog's spot share, or spot alone when the environment profile says so;
  capacity-optimized spot pools, capacity rebalancing)
  and rolling instance refresh, created only after `boot_after` (the NAT routes, the
  configuration) and the role's policies;
- a target tracking policy holding the backlog per worker (visible messages divided by
  in-service workers) at the catalog's `messages_per_worker`.

The queue itself belongs to the data tier: its name comes in as an input, its URL reaches
the workers through the app configuration (`components/compute/app_config.py`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from components import defaults
from components.compute import userdata
from components import policy_documents as documents
from components.compute.app_config import AppAccess
from components.compute.instance_group import (
    GroupArgs,
    LaunchTemplateArgs,
    MixedInstances,
    create_group,
    create_launch_template,
)
from components.compute.instance_role import app_access_policies, create_instance_role
from phases import models

# The nested argument types of a metric-math target tracking policy.
_Tracking = aws.autoscaling.PolicyTargetTrackingConfigurationArgs
_CustomMetric = aws.autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationArgs
_Query = aws.autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationMetricArgs
_QueryStat = aws.autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationMetricMetricStatArgs
_QueryMetric = aws.autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationMetricMetricStatMetricArgs
_QueryDimension = (
    aws.autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationMetricMetricStatMetricDimensionArgs)


@dataclass(frozen=True)
class WorkersArgs:
    region: str
    """AWS region of the workers (its provider's region)."""
    vpc_id: pulumi.Input[str]
    """VPC of the security group."""
    vpc_cidr: str
    """The VPC's CIDR: workers may open the data tier's ports inside it, nowhere else."""
    private_subnet_ids: Sequence[pulumi.Input[str]]
    """Subnets of the instances, one per AZ."""
    spec: models.Workers
    """The phase's worker settings: instance types, capacity, spot share, messages per worker."""
    queue_name: pulumi.Input[str]
    """Name of the SQS queue the workers consume, in `region`: the IAM grant (by name, so known in a
    preview) and the dimension of its CloudWatch metrics."""
    image: str
    """Container image the workers run (`qnom:apiImage`: the API's image in worker mode)."""
    access: AppAccess
    """The app configuration path and the data the workers may reach (secrets, bucket); the same
    configuration as the API's. Its `send_queue_name` is not granted: workers consume."""
    command: Sequence[str] = ("worker",)
    """Arguments given to the image; default: `worker`."""
    queue_kms_key_arn: pulumi.Input[str] | None = None
    """Customer-managed KMS key of the queue, if any; default None (SQS-managed encryption)."""
    boot_after: Sequence[pulumi.Resource] = ()
    """What must exist before an instance boots: the private subnets' way to the internet
    (`Network.internet_egress`) and the app configuration's parameters. Default: nothing."""
    spot_only: bool = False
    """Run on spot alone, ignoring the phase's on-demand base and share (the environment profile's
    `spot_only`); default False: the phase's `on_demand_base` and `spot_percent`."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for instances and volumes, which the provider's default tags do not reach."""


class Workers(pulumi.ComponentResource):
    asg_name: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    launch_template_id: pulumi.Output[str]
    instance_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: WorkersArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("qnom:components:Workers", name, None, opts)
        self._name, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self)
        self._invoke = pulumi.InvokeOptions(parent=self)

        self.security_group = self._create_security_group()
        self.role, instance_profile, self.role_policies = self._create_instance_profile()
        self.launch_template = self._create_launch_template(instance_profile)
        self.group = self._create_group()
        self._create_queue_depth_scaling()

        self.asg_name = self.group.name
        self.security_group_id = self.security_group.id
        self.launch_template_id = self.launch_template.id
        self.instance_role_arn = self.role.arn
        self.register_outputs({
            "asg_name": self.asg_name,
            "security_group_id": self.security_group_id,
            "launch_template_id": self.launch_template_id,
            "instance_role_arn": self.instance_role_arn,
        })

    def _create_security_group(self) -> aws.ec2.SecurityGroup:
        name = f"{self._name}-instances"
        # No ingress rule at all: workers pull their work from SQS and nothing calls them.
        group = aws.ec2.SecurityGroup(name, aws.ec2.SecurityGroupArgs(
            vpc_id=self._args.vpc_id, description="QNom queue workers: no inbound traffic",
            tags={"Name": name},
        ), self._child)
        for key, rule in defaults.app_egress_rules(group.id, self._args.vpc_cidr).items():
            aws.vpc.SecurityGroupEgressRule(f"{name}-out-{key}", rule, self._child)
        return group

    def _create_instance_profile(self) -> tuple[aws.iam.Role, aws.iam.InstanceProfile, list[aws.iam.RolePolicy]]:
        args = self._args
        account_id = aws.get_caller_identity_output(opts=self._invoke).account_id
        consume = documents.to_json(documents.consume_queue_policy(args.queue_name, args.region, account_id,
                                                                   args.queue_kms_key_arn))
        access = dataclasses.replace(args.access, send_queue_name=None)
        return create_instance_role(
            self._name, "QNom queue workers: Session Manager, their own queue, the app's configuration and data",
            args.image, {"queue": consume, **app_access_policies(access, args.region, account_id)}, self._child)

    def _create_launch_template(self, profile: aws.iam.InstanceProfile) -> aws.ec2.LaunchTemplate:
        args = self._args
        user_data = userdata.encode(userdata.worker_user_data(
            image=args.image, command=args.command, region=args.region, config_path=args.access.config_path))
        # No instance type here: the group's overrides list the types it may launch.
        return create_launch_template(self._name, LaunchTemplateArgs(
            instance_profile_arn=profile.arn, security_group_id=self.security_group.id,
            root_volume_gb=args.spec.root_volume_gb, user_data=user_data,
            architecture=models.instance_architecture(args.spec.instance_types[0]), tags=args.tags,
        ), self._invoke, self._child)

    def _create_group(self) -> aws.autoscaling.Group:
        args, spec = self._args, self._args.spec
        # EC2 health checks: nothing calls a worker, so no load balancer checks it.
        return create_group(self._name, GroupArgs(
            min_size=spec.capacity.min, max_size=spec.capacity.max, desired_capacity=spec.capacity.desired,
            subnet_ids=args.private_subnet_ids,
            refresh_min_healthy_percent=spec.instance_refresh_min_healthy_percent,
            health_check_type="EC2",
            mixed_instances=_spot_mix(spec, args.spot_only),
            boot_after=[*args.boot_after, *self.role_policies], tags=args.tags,
        ), self.launch_template, self._child)

    def _create_queue_depth_scaling(self) -> aws.autoscaling.Policy:
        args = self._args
        return aws.autoscaling.Policy(f"{self._name}-queue-depth", aws.autoscaling.PolicyArgs(
            autoscaling_group_name=self.group.name,
            policy_type="TargetTrackingScaling",
            target_tracking_configuration=_Tracking(
                # Seed KPI: queue depth target 100 messages, held per worker, so the group
                # grows with the backlog instead of chasing one fixed depth.
                target_value=args.spec.messages_per_worker,
                customized_metric_specification=_CustomMetric(metrics=[
                    _metric("visible", "AWS/SQS", "ApproximateNumberOfMessagesVisible",
                            "QueueName", args.queue_name, "Sum"),
                    _metric("workers", "AWS/AutoScaling", "GroupInServiceInstances",
                            "AutoScalingGroupName", self.group.name, "Average"),
                    _Query(id="backlog_per_worker", expression="visible / workers",
                           label="Visible messages per in-service worker", return_data=True),
                ]),
            ),
        ), self._child)


def _spot_mix(spec: models.Workers, spot_only: bool) -> MixedInstances:
    """The phase's on-demand base and spot share, or spot alone.

    Spot alone is an on-demand base of 0 and 0% on demand above it: EC2 Auto Scaling then
    launches only spot instances and never falls back to on demand (Amazon EC2 Auto Scaling API
    Reference, InstancesDistribution: OnDemandPercentageAboveBaseCapacity is the on-demand share
    above OnDemandBaseCapacity, 20 meaning 20% on demand and 80% spot). The provider validates
    the share as 0-100 and the base as >= 0, and sends a 0 rather than dropping it
    (terraform-provider-aws internal/service/autoscaling/group.go, expandInstancesDistribution).
    The group's several instance types and capacity-optimized pools keep it running through
    interruptions.
    """
    if spot_only:
        return MixedInstances(instance_types=spec.instance_types, on_demand_base=0, spot_percent=100)
    return MixedInstances(instance_types=spec.instance_types, on_demand_base=spec.on_demand_base,
                          spot_percent=spec.spot_percent)


def _metric(query_id: str, namespace: str, metric_name: str, dimension: str, value: pulumi.Input[str],
            stat: str) -> _Query:
    """One input of the backlog expression, not returned on its own."""
    return _Query(id=query_id, return_data=False, metric_stat=_QueryStat(stat=stat, metric=_QueryMetric(
        namespace=namespace, metric_name=metric_name, dimensions=[_QueryDimension(name=dimension, value=value)],
    )))
