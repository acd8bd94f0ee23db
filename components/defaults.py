"""Secure defaults shared by every component, so a phase file cannot forget them.

Holds the resource options that make resources safe: protection of stateful resources in prod,
customer-managed KMS keys with rotation, security groups that admit only named client groups,
and for EC2 instances: IMDSv2 only, no public address, encrypted root volumes, the AMI source,
the TLS policy of HTTPS listeners and the ports app instances may open towards the data tier,
bucket encryption, and the TLS and security-header floors of the CDN. Policy documents (trust
policies, grants, TLS-only statements) live in `components/policy_documents.py`. Creates one
kind of resource itself:
the client-only security groups (an `aws.ec2.SecurityGroup` and its
`aws.vpc.SecurityGroupIngressRule`s: one per client group, and one per app subnet of a
peered region).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from components import policy_documents
from phases.environment import EnvironmentProfile
from phases.models import Architecture


def stateful_options(child: pulumi.ResourceOptions, profile: EnvironmentProfile) -> pulumi.ResourceOptions:
    """Options for a resource that holds data: protected in prod, so `pulumi destroy` and a
    replacement both stop before the data goes."""
    return pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=profile.protect_stateful))


def assume_role_policy(service: str) -> pulumi.Output[str]:
    """IAM trust policy letting one AWS service principal assume a role, as JSON (the document
    itself is `policy_documents.trust_policy`)."""
    return policy_documents.to_json(policy_documents.trust_policy(service))


# Ports of the data stores: fixed for a store's lifetime (a new port replaces an ElastiCache group).
POSTGRES_PORT = 5432
REDIS_PORT = 6379
HTTPS_PORT = 443

# Windows in UTC, after the US evening peak; backups finish before maintenance starts.
DB_BACKUP_WINDOW = "03:00-04:00"
DB_MAINTENANCE_WINDOW = "sun:04:30-sun:05:30"
CACHE_SNAPSHOT_WINDOW = "02:00-03:00"
CACHE_MAINTENANCE_WINDOW = "sun:05:30-sun:06:30"

ENHANCED_MONITORING_INTERVAL_SECONDS = 60
PERFORMANCE_INSIGHTS_RETENTION_DAYS = 7  # the free tier of Performance Insights
ENHANCED_MONITORING_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
OPENSEARCH_TLS_POLICY = "Policy-Min-TLS-1-2-2019-07"


AL2023_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
"""AWS's public SSM parameter naming the current Amazon Linux 2023 x86_64 AMI of a region."""


def al2023_ami_parameter(architecture: Architecture) -> str:
    """The public SSM parameter of the current Amazon Linux 2023 AMI for `architecture`: AWS publishes one
    per architecture (`...-kernel-default-x86_64`, `...-kernel-default-arm64`), and an instance boots only
    an image of its type's architecture."""
    return AL2023_AMI_PARAMETER.removesuffix("x86_64") + architecture
CLOUDWATCH_AGENT_POLICY_ARN = "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"
"""What the CloudWatch agent needs to publish metrics (PutMetricData, DescribeTags)."""
SSM_CORE_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
"""Session Manager access instead of SSH: no key pairs, no port 22."""
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
"""TLS 1.3 and 1.2 only, forward-secret ciphers."""
APP_DATA_PORTS = {"postgres": POSTGRES_PORT, "redis": REDIS_PORT}
"""Ports app instances may reach inside their VPC and in the VPC of the region holding the writer
(over the peering); the data tier's groups decide who gets in."""
GROUP_METRICS = [
    "GroupMinSize", "GroupMaxSize", "GroupDesiredCapacity", "GroupInServiceInstances",
    "GroupPendingInstances", "GroupStandbyInstances", "GroupTerminatingInstances", "GroupTotalInstances",
]
"""Auto Scaling group metrics published every minute (free)."""
SESSION_SECRET_LENGTH = 64


def secret_recovery_days(profile: EnvironmentProfile) -> int:
    """Protected environments keep deleted secrets restorable for the profile's recovery
    window; dev deletes them at once, so a fixed secret name is free again after
    `pulumi destroy`."""
    return profile.recovery_window_days if profile.protect_stateful else 0


CONTAINER_IMDS_HOP_LIMIT = 2
"""Metadata response hop limit of instances whose processes run in Docker bridge-network
containers: the container's network namespace is one more hop, and with a limit of 1 the IMDSv2
token response is dropped there, so the SDK in the container finds no instance credentials.
AWS: "In a container environment, we recommend setting the hop limit to 2" (Amazon EC2 User
Guide, "Configure the instance metadata options", metadata response hop limit); Amazon Linux 2023
AMIs default to 2 "to support containerized workloads" (AL2023 User Guide, "IMDSv2"). IMDSv2 stays
required, so a plain GET from a proxied request (the SSRF path) still gets nothing."""


def instance_metadata_options(hop_limit: int = 1) -> aws.ec2.LaunchTemplateMetadataOptionsArgs:
    """IMDSv2 only, with `hop_limit` hops (default 1; `CONTAINER_IMDS_HOP_LIMIT` where a container
    needs the instance role): a proxied request cannot fetch the instance's credentials with a
    plain GET (the SSRF path IMDSv1 leaves open)."""
    return aws.ec2.LaunchTemplateMetadataOptionsArgs(
        http_endpoint="enabled",
        http_tokens="required",
        http_put_response_hop_limit=hop_limit,
        instance_metadata_tags="disabled",
    )


def encrypted_root_volume(size_gb: int) -> aws.ec2.LaunchTemplateBlockDeviceMappingArgs:
    """An encrypted gp3 root volume (account's default EBS key), deleted with the instance."""
    return aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
        device_name="/dev/xvda",  # the root device name of the Amazon Linux 2023 AMIs
        ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
            volume_size=size_gb,
            volume_type="gp3",
            encrypted="true",
            delete_on_termination="true",
        ),
    )


def private_network_interface(security_group_id: pulumi.Input[str]) -> aws.ec2.LaunchTemplateNetworkInterfaceArgs:
    """The primary interface, never with a public IP, whatever the subnet's default."""
    return aws.ec2.LaunchTemplateNetworkInterfaceArgs(
        device_index=0,
        associate_public_ip_address="false",
        delete_on_termination="true",
        security_groups=[security_group_id],
    )


def data_key_args(purpose: str, profile: EnvironmentProfile,
                  policy: pulumi.Input[str] | None = None) -> aws.kms.KeyArgs:
    """A customer-managed symmetric key for one purpose, rotated yearly by AWS, with `policy` as its
    key policy (`service_key_args`, `log_key_args` build one; None: AWS's default key policy, which
    lets IAM grant anything on the key).

    Keys are stateful: deleting one makes everything it encrypted unreadable, so callers
    create it with `stateful_options` and AWS waits the profile's window before deletion. A new
    policy is applied in place (PutKeyPolicy): the key and what it encrypted stay.
    """
    return aws.kms.KeyArgs(
        policy=policy,
        description=f"qnom {purpose}: encryption at rest",
        enable_key_rotation=True,
        deletion_window_in_days=profile.recovery_window_days,
        key_usage="ENCRYPT_DECRYPT",
        customer_master_key_spec="SYMMETRIC_DEFAULT",
    )


# --- Edge (CloudFront) and bucket defaults -------------------------------------------------

VIEWER_MINIMUM_TLS = "TLSv1.2_2021"
"""Oldest TLS policy CloudFront may negotiate with viewers when the stack has its own certificate."""
ORIGIN_TLS_PROTOCOLS = ["TLSv1.2"]
"""TLS versions CloudFront may use towards an HTTPS origin (TLSv1.2 is the highest it offers there)."""
HSTS_MAX_AGE_SECONDS = 31_536_000
"""Strict-Transport-Security max-age: one year, the value browsers' HSTS guidance asks for."""
ABORT_INCOMPLETE_UPLOAD_DAYS = 7
"""Parts of an abandoned multipart upload are billed until removed; a week covers any real upload."""


def bucket_encryption_rules() -> list:
    """Default encryption of a bucket: SSE-S3. CloudFront's OAC reads SSE-S3 objects without a KMS key
    policy, and CloudFront's standard logging cannot write to an SSE-KMS bucket without one."""
    return [aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
        apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
            sse_algorithm="AES256",
        ),
    )]


def bucket_kms_encryption_rules(kms_key_arn: pulumi.Input[str]) -> list:
    """Default encryption of a bucket with a customer-managed key, with an S3 Bucket Key (one data key
    per bucket and period instead of one KMS call per object; the encryption context is then the
    bucket's ARN)."""
    return [aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
        apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
            sse_algorithm="aws:kms", kms_master_key_id=kms_key_arn),
        bucket_key_enabled=True,
    )]


def client_only_security_group(
    name: str,
    description: str,
    vpc_id: pulumi.Input[str],
    port: int,
    client_security_groups: Mapping[str, pulumi.Input[str]],
    opts: pulumi.ResourceOptions,
    client_cidrs: Mapping[str, str] | None = None,
) -> aws.ec2.SecurityGroup:
    """A security group that admits only the given client groups, on one port.

    The only CIDR ingress is `client_cidrs` (rule name suffix -> CIDR): app subnets of another
    region reaching the store over an inter-region VPC peering, where AWS does not accept a
    reference to the other region's security group. No egress: without `egress` the provider
    removes the allow-all rule AWS adds to every new group, and a data store never opens
    connections. The group's description is fixed for its lifetime (AWS replaces a group whose
    description changes).
    """
    group = aws.ec2.SecurityGroup(name, aws.ec2.SecurityGroupArgs(
        vpc_id=vpc_id,
        description=description,
        tags={"Name": name},
    ), opts)
    # Rules are named by client, not by position: adding the workers in a later phase adds
    # a rule and leaves the API's untouched.
    for client, client_group_id in sorted(client_security_groups.items()):
        aws.vpc.SecurityGroupIngressRule(f"{name}-from-{client}", aws.vpc.SecurityGroupIngressRuleArgs(
            security_group_id=group.id,
            referenced_security_group_id=client_group_id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description=f"{client} on {port}",
        ), opts)
    # Named by region and subnet too: peering another region adds rules, it never renumbers them.
    for client, cidr in sorted((client_cidrs or {}).items()):
        aws.vpc.SecurityGroupIngressRule(f"{name}-from-{client}", aws.vpc.SecurityGroupIngressRuleArgs(
            security_group_id=group.id,
            cidr_ipv4=cidr,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description=f"{client} on {port} (VPC peering)",
        ), opts)
    return group


def app_egress_rules(security_group_id: pulumi.Input[str], vpc_cidr: str,
                     remote_vpc_cidrs: Mapping[str, str] | None = None,
                     ) -> dict[str, aws.vpc.SecurityGroupEgressRuleArgs]:
    """Egress of app instances (API and workers): HTTPS out, the data tier's ports in the VPC
    and, for a secondary region, in the VPC of each region in `remote_vpc_cidrs` (region ->
    VPC CIDR: the primary's, reached over the peering, where the writer and the cache live).

    HTTPS goes to 0.0.0.0/0 because the AWS APIs the instances call (SSM Session Manager,
    Secrets Manager, ECR, SQS) and the image registry are reached at their public
    endpoints through the NAT gateway, with no fixed addresses; the VPC has no interface
    endpoints for them (each would cost about $7/month per AZ). DNS, instance metadata and
    NTP go to link-local addresses that security groups do not filter.
    """
    rules = {"https": aws.vpc.SecurityGroupEgressRuleArgs(
        security_group_id=security_group_id, ip_protocol="tcp", from_port=443, to_port=443,
        cidr_ipv4="0.0.0.0/0", description="HTTPS to AWS APIs and the image registry",
    )}
    for name, port in APP_DATA_PORTS.items():
        rules[name] = aws.vpc.SecurityGroupEgressRuleArgs(
            security_group_id=security_group_id, ip_protocol="tcp", from_port=port, to_port=port,
            cidr_ipv4=vpc_cidr, description=f"{name} inside the VPC",
        )
    for region, cidr in sorted((remote_vpc_cidrs or {}).items()):
        for name, port in APP_DATA_PORTS.items():
            rules[f"{name}-{region}"] = aws.vpc.SecurityGroupEgressRuleArgs(
                security_group_id=security_group_id, ip_protocol="tcp", from_port=port, to_port=port,
                cidr_ipv4=cidr, description=f"{name} in {region}'s VPC (VPC peering)",
            )
    return rules


def service_key_args(purpose: str, profile: EnvironmentProfile, services: Sequence[str],
                     invoke: pulumi.InvokeOptions, *, any_region: bool = False) -> aws.kms.KeyArgs:
    """`data_key_args` with an explicit key policy: administered through IAM, used only through
    `services` (endpoint prefixes: "rds", "secretsmanager") in the key's region or, with
    `any_region`, in any region (what cross-region copies need: RDS read replicas and replicated
    secrets in other regions, ElastiCache global datastores)."""
    account_id = aws.get_caller_identity_output(opts=invoke).account_id
    region = aws.get_region_output(opts=invoke).region
    endpoints = [f"{service}.*.amazonaws.com" if any_region else pulumi.Output.concat(service, ".", region,
                                                                                      ".amazonaws.com")
                 for service in services]
    return data_key_args(purpose, profile, policy_documents.to_json(
        policy_documents.service_key_policy(account_id, endpoints)))


def log_key_args(purpose: str, profile: EnvironmentProfile, invoke: pulumi.InvokeOptions) -> aws.kms.KeyArgs:
    """`data_key_args` for a key encrypting the CloudWatch Logs log groups of one region."""
    account_id = aws.get_caller_identity_output(opts=invoke).account_id
    region = aws.get_region_output(opts=invoke).region
    return data_key_args(purpose, profile, policy_documents.to_json(policy_documents.log_key_policy(account_id, region)))
