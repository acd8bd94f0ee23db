"""Secure defaults shared by every component, so a phase file cannot forget them.

Holds the resource options and policy documents that make resources safe: protection of
stateful resources in prod, IAM trust documents scoped to one AWS service, customer-managed
KMS keys with rotation, TLS-only policy statements, and security groups that admit only
named client groups. Creates one kind of resource itself: those client-only security groups
(an `aws.ec2.SecurityGroup` and its `aws.vpc.SecurityGroupIngressRule`s).
"""

from __future__ import annotations

import json
from typing import Sequence

import pulumi
import pulumi_aws as aws

from phases.environment import EnvironmentProfile


def stateful_options(child: pulumi.ResourceOptions, profile: EnvironmentProfile) -> pulumi.ResourceOptions:
    """Options for a resource that holds data: protected in prod, so `pulumi destroy` and a
    replacement both stop before the data goes."""
    return pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=profile.protect_stateful))


def assume_role_policy(service: str) -> str:
    """IAM trust policy letting one AWS service principal assume a role."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
        }],
    })


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


def data_key_args(purpose: str, profile: EnvironmentProfile) -> aws.kms.KeyArgs:
    """A customer-managed symmetric key for one purpose, rotated yearly by AWS.

    Keys are stateful: deleting one makes everything it encrypted unreadable, so callers
    create it with `stateful_options` and AWS waits the profile's window before deletion.
    """
    return aws.kms.KeyArgs(
        description=f"qnom {purpose}: encryption at rest",
        enable_key_rotation=True,
        deletion_window_in_days=profile.recovery_window_days,
        key_usage="ENCRYPT_DECRYPT",
        customer_master_key_spec="SYMMETRIC_DEFAULT",
    )


def deny_insecure_transport(resources: list[str], action: str) -> dict:
    """Policy statement refusing every request that does not arrive over TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": action,
        "Resource": resources,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def client_only_security_group(
    name: str,
    description: str,
    vpc_id: pulumi.Input[str],
    port: int,
    client_security_group_ids: Sequence[pulumi.Input[str]],
    opts: pulumi.ResourceOptions,
) -> aws.ec2.SecurityGroup:
    """A security group that admits only the given client groups, on one port.

    No CIDR ingress at all, and no egress: without `egress` the provider removes the
    allow-all rule AWS adds to every new group, and a data store never opens connections.
    The group's description is fixed for its lifetime (AWS replaces a group whose
    description changes).
    """
    group = aws.ec2.SecurityGroup(name, aws.ec2.SecurityGroupArgs(
        vpc_id=vpc_id,
        description=description,
        tags={"Name": name},
    ), opts)
    for index, client in enumerate(client_security_group_ids):
        aws.vpc.SecurityGroupIngressRule(f"{name}-from-{index}", aws.vpc.SecurityGroupIngressRuleArgs(
            security_group_id=group.id,
            referenced_security_group_id=client,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description=f"clients on {port}",
        ), opts)
    return group
