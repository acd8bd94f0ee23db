"""API tier of one region: the public Application Load Balancer and the API's Auto Scaling group.

Creates, under the component:
- security groups: the load balancer's, admitting only CloudFront's origin-facing servers (AWS's
  managed prefix list) on the port CloudFront connects to (443 with a domain, else 80), with a
  domain a second one on the load balancer admitting Route 53's health checkers on 443
  (`{name}-alb-health`), and the instances' (the app port from the load balancer only;
  out: HTTPS, and the data tier's ports inside the VPC and, in a secondary region, in the
  primary region's VPC over the peering);
- an S3 bucket for the load balancer's access logs (SSE-S3, private, TLS only, versioned, expiring);
- the load balancer (least outstanding requests, invalid header fields dropped, deletion
  protection in prod), its target group with the seed's health check, and its listeners:
  with `qnom:domain` HTTPS 443 (the DNS layer's validated certificate) forwarding and HTTP 80
  redirecting to it; without a domain one plain HTTP 80 listener. With `origin_secrets` the
  forwarding listener answers 403 by default and forwards only requests carrying one of the origin
  secrets (`{name}-from-cloudfront`) and, with a domain, the health path (`{name}-health-checks`,
  Route 53's health checkers send no custom header);
- the session secret in Secrets Manager, holding the value the caller generated;
- the instance role and profile: SSM core, reading the app configuration path, the session,
  database and cache secrets (and decrypting them with their keys through Secrets Manager),
  the object bucket's app prefix, sending to the job queue (phase 2 on), and ECR pulls only
  when the image lives in a private ECR repository;
- a launch template: Amazon Linux 2023 of the API type's architecture (public SSM parameter), IMDSv2 with hop limit 2 (the
  API runs in a bridge-network container and needs the instance role), no public IP,
  encrypted gp3 root volume, detailed monitoring, user data from
  `templates/api-user-data.sh.tpl` (it reads the configuration at every start and runs the
  CloudWatch agent for memory use, with AWS's agent policy on the role);
- the Auto Scaling group (it and the template through `components/compute/instance_group.py`) over
  the private subnets of every AZ, with rolling instance refresh, created only after
  `boot_after` (the NAT routes, the configuration) and the role's policies; with `spec.spot` (the
  cost-optimised profile) a mixed instances policy: an on-demand base, spot above it;
- with `spec.scaling`: CPU step policies (+ their alarms) and request-count target tracking
  (after the listener), and with `spec.scaling.predictive` (phase 3 on) a predictive scaling
  policy (forecast and scale) on the request-count metric pair;
- with `schedule` (the primary region only): the traffic schedule's scheduled actions, dated
  from `plan_date`;
- with `surge_size` (`qnom:surge`): the group held at that size, its scheduled actions suspended;
- with `spec.rate_limit_per_5min`: a regional WAFv2 web ACL on the load balancer, logging (with
  `log_key_arn`) to an `aws-waf-logs-` log group with Authorization and Cookie redacted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from components import defaults
from components.compute import userdata
from components import policy_documents as documents
from components.compute import schedule as traffic
from components.compute.app_config import AppAccess
from components.data.buckets import create_private_bucket
from components.compute.instance_group import (
    GroupArgs,
    LaunchTemplateArgs,
    MixedInstances,
    create_group,
    create_launch_template,
)
from components.compute.instance_role import app_access_policies, create_instance_role
from components.edge import origin_access
from components.edge.waf import WafLogging, rate_limited_web_acl
from phases import models
from phases.cost_profile import api_on_demand_base
from phases.environment import EnvironmentProfile

ACCESS_LOG_PREFIX = "alb"
HTTP_PORT = 80
HTTPS_PORT = defaults.HTTPS_PORT


@dataclass(frozen=True)
class ApiTierArgs:
    region: str
    """AWS region of the tier (its provider's region)."""
    vpc_id: pulumi.Input[str]
    """VPC of the load balancer, target group and security groups."""
    vpc_cidr: str
    """The VPC's CIDR: instances may open the data tier's ports inside it, nowhere else."""
    public_subnet_ids: Sequence[pulumi.Input[str]]
    """Subnets of the load balancer, one per AZ."""
    private_subnet_ids: Sequence[pulumi.Input[str]]
    """Subnets of the instances, one per AZ."""
    spec: models.ApiTier
    """The phase's API settings: instance type, port, health check, scaling, rate limit."""
    capacity: models.Capacity
    """This region's min/desired/max instance counts."""
    profile: EnvironmentProfile
    """Environment profile: deletion protection, log retention, bucket force-destroy."""
    image: str
    """Container image the instances run (`qnom:apiImage`)."""
    session_secret: pulumi.Input[str]
    """Session-signing secret, generated once by the caller so every region accepts a session."""
    session_secret_name: str
    """Name of the Secrets Manager secret; fixed, so the boot script can read it by name."""
    access: AppAccess
    """The app configuration path and the data the instances may reach (secrets, bucket, queue)."""
    schedule: models.TrafficSchedule | None = None
    """Traffic schedule; default None: no scheduled actions (secondary regions, phase 1)."""
    plan_date: date | None = None
    """Day the schedule's seasonal windows are dated from (`StackSettings.plan_date`); needed with
    a schedule, default None."""
    domain: str | None = None
    """Public domain (`qnom:domain`); default None: plain HTTP, no certificate."""
    certificate_arn: pulumi.Input[str] | None = None
    """This region's validated ACM certificate for the domain (the DNS layer issues it);
    required with a domain, default None."""
    remote_data_cidrs: Mapping[str, str] = field(default_factory=dict)
    """VPC CIDRs of other regions whose data tier the instances write to, by region: a secondary
    region's primary (reached over the VPC peering). Default: none, the own VPC only."""
    boot_after: Sequence[pulumi.Resource] = ()
    """What must exist before an instance boots: the private subnets' way to the internet
    (`Network.internet_egress`) and the app configuration's parameters. Default: nothing."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for instances and volumes, which the provider's default tags do not reach."""
    surge_size: int | None = None
    """Instances the group holds while the stack surges (`qnom:surge`): its min and max at least this,
    its scheduled actions suspended. Default None: no surge."""
    log_key_arn: pulumi.Input[str] | None = None
    """The region's log key: the web ACL logs to a log group it encrypts. Default None: no ACL logs."""
    origin_secrets: origin_access.OriginSecrets | None = None
    """The origin secrets CloudFront sends; the forwarding listener requires one. Default None: the
    listener forwards every request the security group admits (CloudFront's servers only)."""


class ApiTier(pulumi.ComponentResource):
    alb_arn: pulumi.Output[str]
    alb_dns_name: pulumi.Output[str]
    alb_zone_id: pulumi.Output[str]
    target_group_arn: pulumi.Output[str]
    asg_name: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    alb_security_group_id: pulumi.Output[str]
    listener_arn: pulumi.Output[str]
    listener_protocol: str
    web_acl_arn: pulumi.Output[str] | None
    certificate_arn: pulumi.Output[str] | None
    session_secret_arn: pulumi.Output[str]
    access_log_bucket: pulumi.Output[str]
    launch_template_id: pulumi.Output[str]
    instance_role_arn: pulumi.Output[str]
    alb_arn_suffix: pulumi.Output[str]
    target_group_arn_suffix: pulumi.Output[str]
    scale_up_policy_arn: pulumi.Output[str] | None

    def __init__(self, name: str, args: ApiTierArgs, opts: pulumi.ResourceOptions | None = None):
        if args.domain and args.certificate_arn is None:
            raise ValueError(f"{name}: a domain needs the region's certificate_arn")
        if args.schedule and args.plan_date is None:
            raise ValueError(f"{name}: a schedule needs the plan_date its seasonal windows are dated from")
        super().__init__("qnom:components:ApiTier", name, None, opts)
        self._name, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self)
        # Invokes inherit the region's provider through the parent, like the children do.
        self._invoke = pulumi.InvokeOptions(parent=self)

        self.alb_sg, self.instance_sg = self._create_security_groups()
        self.secret = self._create_session_secret()
        self.logs, log_policy = self._create_access_log_bucket()
        self.alb = self._create_load_balancer(log_policy)
        self.target_group = self._create_target_group()
        self.listener = self._create_listeners()
        self.role, instance_profile, self.role_policies = self._create_instance_profile()
        self.launch_template = self._create_launch_template(instance_profile)
        self.group = self._create_group()
        self.scale_up_policy = self._create_scaling_policies()
        self.scheduled_actions = self._create_schedule()
        self.web_acl = self._create_web_acl()

        self.alb_arn = self.alb.arn
        self.alb_dns_name = self.alb.dns_name
        self.alb_zone_id = self.alb.zone_id
        self.target_group_arn = self.target_group.arn
        self.asg_name = self.group.name
        self.security_group_id = self.instance_sg.id
        self.alb_security_group_id = self.alb_sg.id
        self.listener_arn = self.listener.arn
        self.listener_protocol = "HTTPS" if args.domain else "HTTP"
        self.web_acl_arn = self.web_acl.arn if self.web_acl else None
        self.certificate_arn = args.certificate_arn if args.domain else None
        self.session_secret_arn = self.secret.arn
        self.access_log_bucket = self.logs.bucket
        self.launch_template_id = self.launch_template.id
        self.instance_role_arn = self.role.arn
        # CloudWatch names a load balancer and a target group by the ends of their ARNs.
        self.alb_arn_suffix = self.alb.arn_suffix
        self.target_group_arn_suffix = self.target_group.arn_suffix
        self.scale_up_policy_arn = self.scale_up_policy.arn if self.scale_up_policy else None
        self.register_outputs({
            "alb_arn": self.alb_arn,
            "alb_dns_name": self.alb_dns_name,
            "alb_zone_id": self.alb_zone_id,
            "target_group_arn": self.target_group_arn,
            "asg_name": self.asg_name,
            "security_group_id": self.security_group_id,
            "alb_security_group_id": self.alb_security_group_id,
            "listener_arn": self.listener_arn,
            "listener_protocol": self.listener_protocol,
            "web_acl_arn": self.web_acl_arn,
            "certificate_arn": self.certificate_arn,
            "session_secret_arn": self.session_secret_arn,
            "access_log_bucket": self.access_log_bucket,
            "launch_template_id": self.launch_template_id,
            "instance_role_arn": self.instance_role_arn,
            "alb_arn_suffix": self.alb_arn_suffix,
            "target_group_arn_suffix": self.target_group_arn_suffix,
            "scale_up_policy_arn": self.scale_up_policy_arn,
        })

    def _opts(self, **options) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(**options))

    # Network access ---------------------------------------------------------------------

    def _create_security_groups(self) -> tuple[aws.ec2.SecurityGroup, aws.ec2.SecurityGroup]:
        name, args = self._name, self._args
        # Descriptions force a replacement when they change: keep them fixed.
        alb_sg = aws.ec2.SecurityGroup(f"{name}-alb", aws.ec2.SecurityGroupArgs(
            vpc_id=args.vpc_id, description="QNom API load balancer: HTTP(S) from the internet",
            tags={"Name": f"{name}-alb"},
        ), self._child)
        instance_sg = aws.ec2.SecurityGroup(f"{name}-instances", aws.ec2.SecurityGroupArgs(
            vpc_id=args.vpc_id, description="QNom API instances: app port from the load balancer only",
            tags={"Name": f"{name}-instances"},
        ), self._child)
        # Only CloudFront's origin-facing servers, on the one port CloudFront connects to (HTTPS
        # with a domain, plain HTTP without one: components/edge/edge.py), so nobody bypasses the
        # CDN and its web ACL. The rule keeps its name; changing its source from a CIDR to a prefix
        # list replaces the rule, never the group (terraform-provider-aws,
        # internal/service/ec2/vpc_security_group_ingress_rule.go, ModifyPlan: "you cannot change
        # the rule's source type"). With a domain the port-80 rule goes: CloudFront never uses it.
        port = HTTPS_PORT if args.domain else HTTP_PORT
        cloudfront = origin_access.managed_prefix_list_id(origin_access.CLOUDFRONT_PREFIX_LIST, self._invoke)
        aws.vpc.SecurityGroupIngressRule(f"{name}-alb-in-{port}", aws.vpc.SecurityGroupIngressRuleArgs(
            security_group_id=alb_sg.id, ip_protocol="tcp", from_port=port, to_port=port,
            prefix_list_id=cloudfront, description=f"CloudFront origin-facing servers on {port}",
        ), self._child)
        self.health_sg = self._create_health_check_group() if args.domain else None
        aws.vpc.SecurityGroupEgressRule(f"{name}-alb-out-app", aws.vpc.SecurityGroupEgressRuleArgs(
            security_group_id=alb_sg.id, ip_protocol="tcp", from_port=args.spec.port, to_port=args.spec.port,
            referenced_security_group_id=instance_sg.id, description="requests and health checks to the API",
        ), self._child)
        aws.vpc.SecurityGroupIngressRule(f"{name}-instances-in-app", aws.vpc.SecurityGroupIngressRuleArgs(
            security_group_id=instance_sg.id, ip_protocol="tcp", from_port=args.spec.port, to_port=args.spec.port,
            referenced_security_group_id=alb_sg.id, description="from the load balancer only",
        ), self._child)
        for key, rule in defaults.app_egress_rules(instance_sg.id, args.vpc_cidr,
                                                    args.remote_data_cidrs).items():
            aws.vpc.SecurityGroupEgressRule(f"{name}-instances-out-{key}", rule, self._child)
        return alb_sg, instance_sg

    def _create_health_check_group(self) -> aws.ec2.SecurityGroup:
        # A group of its own: CloudFront's list (weight 55) and the health checkers' (25) would
        # exceed the 60 inbound rules of one group (components/edge/origin_access.py).
        name, args = self._name, self._args
        group = aws.ec2.SecurityGroup(f"{name}-alb-health", aws.ec2.SecurityGroupArgs(
            vpc_id=args.vpc_id, description="QNom API load balancer: Route 53 health checkers on HTTPS",
            tags={"Name": f"{name}-alb-health"},
        ), self._child)
        checkers = origin_access.managed_prefix_list_id(
            origin_access.health_checkers_prefix_list(args.region), self._invoke)
        aws.vpc.SecurityGroupIngressRule(f"{name}-alb-health-in-{HTTPS_PORT}", aws.vpc.SecurityGroupIngressRuleArgs(
            security_group_id=group.id, ip_protocol="tcp", from_port=HTTPS_PORT, to_port=HTTPS_PORT,
            prefix_list_id=checkers, description=f"Route 53 health checkers on {HTTPS_PORT}",
        ), self._child)
        return group

    # Secrets and logs -------------------------------------------------------------------

    def _create_session_secret(self) -> aws.secretsmanager.Secret:
        args = self._args
        stateful = defaults.stateful_options(self._child, args.profile)
        # A key of the stack's own (not the account's aws/secretsmanager key): its policy and
        # rotation are in the stack, and only the instance role is granted decrypt.
        self.secrets_key = aws.kms.Key(f"{self._name}-secrets-key", defaults.service_key_args(
            "api secrets", args.profile, ["secretsmanager"], self._invoke), stateful)
        secret = aws.secretsmanager.Secret(f"{self._name}-session-secret", aws.secretsmanager.SecretArgs(
            name=args.session_secret_name,
            description="Signs the API's session cookies (seed: Session Management, SESSION_SECRET)",
            kms_key_id=self.secrets_key.arn,
            recovery_window_in_days=defaults.secret_recovery_days(args.profile),
        ), stateful)
        aws.secretsmanager.SecretVersion(f"{self._name}-session-secret", aws.secretsmanager.SecretVersionArgs(
            secret_id=secret.id, secret_string=pulumi.Output.secret(args.session_secret),
        ), self._child)
        return secret

    def _create_access_log_bucket(self) -> tuple[aws.s3.Bucket, aws.s3.BucketPolicy]:
        name, profile = self._name, self._args.profile
        # Load balancer access logs can only be written with SSE-S3 (the default); SSE-KMS is
        # refused. Versioned: a deleted or overwritten log stays recoverable as a noncurrent
        # version for a day (S3.14 of AWS Foundational Security Best Practices). Versioning is
        # switched on in place (PutBucketVersioning); the bucket stays.
        bucket, _, _ = create_private_bucket(f"{name}-alb-logs", profile, self._child)
        aws.s3.BucketLifecycleConfiguration(f"{name}-alb-logs", aws.s3.BucketLifecycleConfigurationArgs(
            bucket=bucket.id,
            rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-access-logs", status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=f"{ACCESS_LOG_PREFIX}/"),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=profile.log_retention_days),
                # An expired log becomes a noncurrent version; drop it a day later.
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=1),
            )],
        ), self._child)
        # Every region the catalog allows predates August 2022, where log delivery writes as
        # the region's Elastic Load Balancing account rather than as a service principal.
        writer = aws.elb.get_service_account_output(opts=self._invoke).arn
        account_id = aws.get_caller_identity_output(opts=self._invoke).account_id
        policy = aws.s3.BucketPolicy(f"{name}-alb-logs", aws.s3.BucketPolicyArgs(
            bucket=bucket.id,
            policy=documents.to_json(documents.load_balancer_log_bucket_policy(
                bucket.arn, ACCESS_LOG_PREFIX, account_id, writer)),
        ), self._child)
        return bucket, policy

    # Load balancer ----------------------------------------------------------------------

    def _create_load_balancer(self, log_policy: aws.s3.BucketPolicy) -> aws.lb.LoadBalancer:
        args = self._args
        return aws.lb.LoadBalancer(f"{self._name}-alb", aws.lb.LoadBalancerArgs(
            load_balancer_type="application",
            internal=False,
            subnets=list(args.public_subnet_ids),
            # Adding the health checkers' group later updates the load balancer in place
            # (SetSecurityGroups).
            security_groups=[self.alb_sg.id, *([self.health_sg.id] if self.health_sg else [])],
            idle_timeout=args.spec.idle_timeout_seconds,
            drop_invalid_header_fields=True,
            enable_deletion_protection=args.profile.deletion_protection,
            access_logs=aws.lb.LoadBalancerAccessLogsArgs(
                bucket=self.logs.bucket, prefix=ACCESS_LOG_PREFIX, enabled=True),
        # The load balancer checks it can write to the bucket when logging is switched on.
        ), self._opts(depends_on=[log_policy]))

    def _create_target_group(self) -> aws.lb.TargetGroup:
        spec = self._args.spec
        check = spec.health_check
        return aws.lb.TargetGroup(f"{self._name}-tg", aws.lb.TargetGroupArgs(
            vpc_id=self._args.vpc_id,
            port=spec.port,
            protocol="HTTP",
            target_type="instance",
            # The ALB's counterpart of nginx's least_conn. No stickiness: sessions live in
            # Redis (seed: Session Management), so any instance can serve any request.
            load_balancing_algorithm_type="least_outstanding_requests",
            # Seed nginx check: interval=5000 rise=2 fall=3 timeout=4000, HEAD /health, 2xx/3xx.
            # ALB health checks always send GET.
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True,
                protocol="HTTP",
                port="traffic-port",
                path=check.path,
                interval=check.interval_seconds,
                timeout=check.timeout_seconds,
                healthy_threshold=check.healthy_threshold,
                unhealthy_threshold=check.unhealthy_threshold,
                matcher=check.matcher,
            ),
        ), self._child)

    def _create_listeners(self) -> aws.lb.Listener:
        name = self._name
        forward = [aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=self.target_group.arn)]
        # With origin secrets, what arrives without one gets a 403 and only the rules forward.
        default = [origin_access.denied_action()] if self._args.origin_secrets else forward
        if not self._args.domain:
            # No domain, so no certificate: the API is served over plain HTTP (dev).
            listener = aws.lb.Listener(f"{name}-http", aws.lb.ListenerArgs(
                load_balancer_arn=self.alb.arn, port=HTTP_PORT, protocol="HTTP", default_actions=default,
            ), self._child)
            self._require_origin_secret(listener)
            return listener
        # AWS refuses a pending certificate on a listener; the ARN comes from the DNS layer's
        # certificate validation, so this listener waits until ACM has issued it.
        https = aws.lb.Listener(f"{name}-https", aws.lb.ListenerArgs(
            load_balancer_arn=self.alb.arn, port=HTTPS_PORT, protocol="HTTPS",
            ssl_policy=defaults.TLS_POLICY, certificate_arn=self._args.certificate_arn, default_actions=default,
        ), self._child)
        self._require_origin_secret(https)
        # Same name as the plain listener of a stack without a domain, so setting a domain
        # later updates it in place.
        aws.lb.Listener(f"{name}-http", aws.lb.ListenerArgs(
            load_balancer_arn=self.alb.arn, port=HTTP_PORT, protocol="HTTP",
            default_actions=[aws.lb.ListenerDefaultActionArgs(
                type="redirect",
                redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                    protocol="HTTPS", port=str(HTTPS_PORT), status_code="HTTP_301"),
            )],
        ), self._child)
        return https

    def _require_origin_secret(self, listener: aws.lb.Listener) -> None:
        secrets = self._args.origin_secrets
        if secrets is None:
            return
        name = self._name
        forward = [aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=self.target_group.arn)]
        # ELB User Guide, "Listener rules", HTTP header conditions: values compare case-insensitively,
        # up to 128 characters each; both secrets fit one condition (three values at most).
        aws.lb.ListenerRule(f"{name}-from-cloudfront", aws.lb.ListenerRuleArgs(
            listener_arn=listener.arn, priority=10, actions=forward,
            conditions=origin_access.listener_conditions(secrets),
        ), self._child)
        if self._args.domain:
            # Route 53's HTTPS health checks cannot send a header: the health path alone is
            # answered without the secret (only CloudFront and the health checkers get this far).
            aws.lb.ListenerRule(f"{name}-health-checks", aws.lb.ListenerRuleArgs(
                listener_arn=listener.arn, priority=20, actions=forward,
                conditions=[aws.lb.ListenerRuleConditionArgs(path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(
                    values=[self._args.spec.health_check.path]))],
            ), self._child)

    # Instances --------------------------------------------------------------------------

    def _create_instance_profile(self) -> tuple[aws.iam.Role, aws.iam.InstanceProfile, list[pulumi.Resource]]:
        args = self._args
        account_id = aws.get_caller_identity_output(opts=self._invoke).account_id
        # The session secret by its name (fixed, so known in a preview); its key is granted through
        # Secrets Manager for this secret only, like the others'.
        policies = app_access_policies(args.access, args.region, account_id, own_secret_names=(self.secret.name,))
        role, profile, inline = create_instance_role(
            self._name, "QNom API instances: Session Manager, the app's configuration, secrets and data",
            args.image, policies, self._child)
        # The boot script's CloudWatch agent publishes memory use (PutMetricData, and DescribeTags for
        # the group-name dimension): AWS's managed policy for the agent (CloudWatch User Guide, "Create
        # IAM roles and users for use with the CloudWatch agent").
        agent = aws.iam.RolePolicyAttachment(f"{self._name}-instance-cwagent", aws.iam.RolePolicyAttachmentArgs(
            role=role.name, policy_arn=defaults.CLOUDWATCH_AGENT_POLICY_ARN,
        ), self._child)
        return role, profile, [*inline, agent]

    def _create_launch_template(self, profile: aws.iam.InstanceProfile) -> aws.ec2.LaunchTemplate:
        args = self._args
        script = userdata.api_user_data(
            image=args.image, port=args.spec.port, health_path=args.spec.health_check.path,
            region=args.region, config_path=args.access.config_path, session_secret_id=args.session_secret_name,
        )
        return create_launch_template(self._name, LaunchTemplateArgs(
            instance_profile_arn=profile.arn, security_group_id=self.instance_sg.id,
            root_volume_gb=args.spec.root_volume_gb, user_data=userdata.encode(script),
            instance_type=args.spec.instance_type, architecture=models.instance_architecture(args.spec.instance_type),
            tags=args.tags,
        ), self._invoke, self._child)

    def _create_group(self) -> aws.autoscaling.Group:
        args = self._args
        # On a seasonal window's day the group is declared with the window's bounds (see
        # components/compute/schedule.py), so an update that day does not undo the surge.
        size = traffic.group_size(args.capacity, args.schedule, args.plan_date)
        suspended: list[str] = []
        if args.surge_size is not None:
            # The seed's emergency playbook scales up at once: a minimum above the group's size makes
            # Auto Scaling raise the desired capacity to it (UpdateAutoScalingGroup API reference, MinSize).
            # The schedule would lower that floor at its next action, so its actions are suspended: AWS runs
            # none that fall due meanwhile, and after the surge only those still in the future (Auto Scaling
            # User Guide, "Suspend and resume Amazon EC2 Auto Scaling processes", ScheduledActions).
            size = models.Capacity(min=max(size.min, args.surge_size), desired=max(size.desired, args.surge_size),
                                   max=max(size.max, args.surge_size))
            suspended = ["ScheduledActions"] if args.schedule is not None else []
        return create_group(self._name, GroupArgs(
            min_size=size.min, max_size=size.max, desired_capacity=size.desired, suspended_processes=suspended,
            subnet_ids=args.private_subnet_ids,
            refresh_min_healthy_percent=args.spec.instance_refresh_min_healthy_percent,
            health_check_type="ELB", health_check_grace_seconds=args.spec.health_check_grace_seconds,
            target_group_arns=[self.target_group.arn], mixed_instances=self._spot_share(),
            boot_after=[*args.boot_after, *self.role_policies], tags=args.tags,
        ), self.launch_template, self._child)

    def _spot_share(self) -> MixedInstances | None:
        """The cost-optimised profile's mix: an on-demand base of a share of the everyday minimum, spot above it.

        Spot above the base only, never an on-demand share: Auto Scaling rounds a fractional on-demand share
        up, in favour of on demand (User Guide, "Auto Scaling groups with multiple instance types and
        purchase options", on-demand percentage), so a share of one instance above the base would buy
        nothing. The base follows the everyday minimum, not the schedule's surges: a seasonal window
        adds spot capacity. Switching a stack's profile updates the group in place: the provider sends
        the new launch template or mixed instances policy in UpdateAutoScalingGroup and starts an
        instance refresh (internal/service/autoscaling/group.go, resourceGroupUpdate)."""
        spot = self._args.spec.spot
        if spot is None:
            return None
        return MixedInstances(instance_types=spot.instance_types, spot_percent=100,
                              on_demand_base=api_on_demand_base(self._args.capacity.min, spot.on_demand_percent_of_min))

    # Scaling ----------------------------------------------------------------------------

    def _create_scaling_policies(self) -> aws.autoscaling.Policy | None:
        """The seed's CPU steps and request target; returns the scale-up step (None without scaling)."""
        scaling = self._args.spec.scaling
        if scaling is None:
            return None
        policies = {}
        # Simple scaling, because the seed's steps carry a cooldown, which AWS honours only
        # for simple scaling policies (step scaling uses instance warm-up instead).
        for direction, step, comparison, alarm, word in (
            ("up", scaling.scale_up, "GreaterThanThreshold", "cpu-high", "above"),
            ("down", scaling.scale_down, "LessThanThreshold", "cpu-low", "below"),
        ):
            policy = aws.autoscaling.Policy(f"{self._name}-scale-{direction}", aws.autoscaling.PolicyArgs(
                autoscaling_group_name=self.group.name,
                policy_type="SimpleScaling",
                adjustment_type="ChangeInCapacity",
                scaling_adjustment=step.adjustment,
                cooldown=step.cooldown_seconds,
            ), self._child)
            policies[direction] = policy
            aws.cloudwatch.MetricAlarm(f"{self._name}-{alarm}", aws.cloudwatch.MetricAlarmArgs(
                alarm_description=f"Average CPU of the API group {word} {step.cpu_threshold_percent}%: "
                                  f"scale {direction} by {abs(step.adjustment)}",
                namespace="AWS/EC2",
                metric_name="CPUUtilization",
                dimensions={"AutoScalingGroupName": self.group.name},
                statistic="Average",
                period=scaling.alarm_period_seconds,
                evaluation_periods=scaling.alarm_evaluation_periods,
                threshold=step.cpu_threshold_percent,
                comparison_operator=comparison,
                alarm_actions=[policy.arn],
            ), self._child)
        # With several policies AWS follows the one asking for the most capacity, so the
        # request target can hold instances the CPU step would remove, never the reverse.
        aws.autoscaling.Policy(f"{self._name}-requests", aws.autoscaling.PolicyArgs(
            autoscaling_group_name=self.group.name,
            policy_type="TargetTrackingScaling",
            target_tracking_configuration=aws.autoscaling.PolicyTargetTrackingConfigurationArgs(
                target_value=scaling.requests_per_target,
                predefined_metric_specification=aws.autoscaling.
                PolicyTargetTrackingConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type="ALBRequestCountPerTarget",
                    resource_label=self._request_count_label(),
                ),
            ),
        # The label names a target group of the load balancer, and a target group belongs to a load
        # balancer only once a listener forwards to it (AWS Auto Scaling API Reference,
        # PredefinedMetricSpecification.ResourceLabel; ELB User Guide, "Target groups for your
        # Application Load Balancers"): nothing in the inputs orders the policy after the listener.
        ), self._opts(depends_on=[self.listener]))
        if scaling.predictive:
            self._create_predictive_policy(scaling)
        return policies["up"]

    def _request_count_label(self) -> pulumi.Output[str]:
        """The request-count metrics' resource label: `<load balancer arn suffix>/<target group arn suffix>`."""
        return pulumi.Output.concat(self.alb.arn_suffix, "/", self.target_group.arn_suffix)

    def _create_predictive_policy(self, scaling: models.ScalingPolicies) -> None:
        """Forecast and scale ahead of the daily and weekly pattern, on the same request target.

        The ALBRequestCount pair is the group's total requests (load) and requests per target
        (scaling) of the load balancer's target group (Amazon EC2 Auto Scaling User Guide,
        "Predictive scaling for Amazon EC2 Auto Scaling"; API Reference,
        PredictiveScalingPredefinedMetricPair). Beside the target tracking and step policies, AWS
        keeps the larger capacity of a forecast and a dynamic policy, and never goes past max.
        """
        aws.autoscaling.Policy(f"{self._name}-predictive", aws.autoscaling.PolicyArgs(
            autoscaling_group_name=self.group.name,
            policy_type="PredictiveScaling",
            predictive_scaling_configuration=aws.autoscaling.PolicyPredictiveScalingConfigurationArgs(
                mode="ForecastAndScale",
                max_capacity_breach_behavior="HonorMaxCapacity",
                metric_specification=aws.autoscaling.PolicyPredictiveScalingConfigurationMetricSpecificationArgs(
                    target_value=scaling.requests_per_target,
                    predefined_metric_pair_specification=aws.autoscaling.
                    PolicyPredictiveScalingConfigurationMetricSpecificationPredefinedMetricPairSpecificationArgs(
                        predefined_metric_type="ALBRequestCount",
                        resource_label=self._request_count_label(),
                    ),
                ),
            ),
        # As for the target tracking policy: the label names a target group only once a listener forwards to it.
        ), self._opts(depends_on=[self.listener]))

    def _create_schedule(self) -> list[aws.autoscaling.Schedule]:
        args = self._args
        if args.schedule is None:
            return []
        return [
            aws.autoscaling.Schedule(f"{self._name}-{action.key}", aws.autoscaling.ScheduleArgs(
                autoscaling_group_name=self.group.name,
                scheduled_action_name=action.key,
                min_size=action.min_size,
                max_size=action.max_size,
                desired_capacity=action.desired_capacity,
                recurrence=action.recurrence,
                start_time=action.start_time,
                time_zone=action.time_zone,
            ), self._opts(
                # An in-place update re-sends the start time AWS computed at creation, which AWS
                # rejects once it is past ("Given start time is in the past": pulumi/pulumi-aws#2473,
                # hashicorp/terraform-provider-aws#38983), and a promotion changes the sizes: every
                # change replaces the action instead. Delete first: the replacement has the same
                # scheduled_action_name, so creating it first would collide with the old action,
                # and the old one's delete would then remove the new one.
                replace_on_changes=["*"], delete_before_replace=True,
            ))
            for action in traffic.scheduled_actions(args.schedule, args.capacity, args.plan_date)
        ]

    # Rate limiting ----------------------------------------------------------------------

    def _create_web_acl(self) -> aws.wafv2.WebAcl | None:
        limit = self._args.spec.rate_limit_per_5min
        if limit is None:
            return None
        name = self._name
        # Viewers arrive through CloudFront, so the source IP is an edge's, shared by thousands
        # of clients: count the viewer address the edge's function writes instead (not
        # X-Forwarded-For, whose first address the client chooses). Only CloudFront reaches the
        # load balancer, so the header is CloudFront's word.
        logging = WafLogging(self._args.profile.log_retention_days, self._args.log_key_arn) \
            if self._args.log_key_arn is not None else None
        acl = rate_limited_web_acl(f"{name}-waf", "REGIONAL", limit, "FORWARDED_IP", self._child, logging)
        aws.wafv2.WebAclAssociation(f"{name}-waf", aws.wafv2.WebAclAssociationArgs(
            resource_arn=self.alb.arn, web_acl_arn=acl.arn,
        ), self._child)
        return acl
