"""Container Insights: the CloudWatch metrics of the cluster's nodes and workloads, for the alarms.

Creates the `amazon-cloudwatch-observability` managed add-on (the CloudWatch agent and Fluent Bit as
DaemonSets, publishing the `ContainerInsights` metrics: node CPU and memory, failed nodes, running
pods per service; Amazon CloudWatch User Guide, "Install the CloudWatch agent with the Amazon
CloudWatch Observability EKS add-on") on the system nodes, and its IAM role, assumed by the agent's
service account through EKS Pod Identity with AWS's managed `CloudWatchAgentServerPolicy`. The
alarms on those metrics belong to the region's `Monitoring` (components/observability/monitoring.py).
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components import defaults
from components import policy_documents as documents
from components.kubernetes.karpenter import pod_identity_trust

ADDON = "amazon-cloudwatch-observability"
SERVICE_ACCOUNT = "cloudwatch-agent"
"""The add-on's agent service account (in `amazon-cloudwatch`), the one its Pod Identity names."""


def create_container_insights(name: str, cluster: aws.eks.Cluster, child: pulumi.ResourceOptions,
                              after: list[pulumi.Resource]) -> aws.eks.Addon:
    role = aws.iam.Role(f"{name}-cloudwatch-agent", aws.iam.RoleArgs(
        assume_role_policy=documents.to_json(pod_identity_trust()),
        description="QNom Container Insights agent (EKS Pod Identity)",
    ), child)
    policy = aws.iam.RolePolicyAttachment(f"{name}-cloudwatch-agent", aws.iam.RolePolicyAttachmentArgs(
        role=role.name, policy_arn=defaults.CLOUDWATCH_AGENT_POLICY_ARN,
    ), child)
    # The add-on's pods run on nodes (DaemonSets): after the system nodes and the networking add-ons.
    return aws.eks.Addon(f"{name}-{ADDON}", aws.eks.AddonArgs(
        cluster_name=cluster.name,
        addon_name=ADDON,
        pod_identity_associations=[aws.eks.AddonPodIdentityAssociationArgs(
            role_arn=role.arn, service_account=SERVICE_ACCOUNT)],
        resolve_conflicts_on_create="OVERWRITE",
        resolve_conflicts_on_update="OVERWRITE",
    ), pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[*after, policy])))
