"""The AWS side of a region's cluster: everything EKS and IAM hold, created under `Kubernetes`.

Creates: the secrets KMS key (`-secrets-key`); the control plane log group, named as EKS writes
it, before the cluster (so the stack owns its retention); the cluster role; the EKS cluster;
access entries (API authentication mode, no aws-auth ConfigMap): the deploying principal as
cluster admin and Karpenter's node role as EC2 Linux nodes; the system node group and its role;
the managed add-ons; and the cluster's kubeconfig, built from its outputs for the Kubernetes
provider (an exec credential: `aws eks get-token`, nothing written to disk).

The system node group runs the AL2023 image of its instance type's architecture: x86_64 on the
catalog's m5.large, arm64 (`AL2023_ARM_64_STANDARD`) on the cost-optimised profile's Graviton
m6g.large. `instance_types` and `ami_type` force a new node group (terraform-provider-aws
internal/service/eks/node_group.go), so switching `qnom:costProfile` replaces it: Pulumi creates
the new group first (the provider names it uniquely, as no name is set), and its nodes carry the
same `qnom.io/pool: system` label; deleting the old group then drains its nodes one by one (Amazon
EKS User Guide, "Delete a managed node group from your cluster": preStop hooks, SIGTERM, the
grace period, and a forced termination after 5 minutes). Karpenter, CoreDNS, metrics-server and
Prometheus restart on the new nodes (two replicas each where they have two, so one keeps serving);
for those minutes the cluster runs both groups. Every image the system nodes run must be published
for the new architecture: the managed add-ons', the pinned charts' and the services' images.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import defaults
from components import policy_documents as documents
from phases.environment import EnvironmentProfile
from phases.models import Architecture, instance_architecture
from phases.models import Kubernetes as KubernetesSpec

# AWS managed policies of EKS nodes (Amazon EKS User Guide, "Amazon EKS node IAM role").
NODE_POLICY_ARNS = {
    "worker": "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "cni": "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "ecr": "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
    "ssm": defaults.SSM_CORE_POLICY_ARN,
}
CLUSTER_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
CLUSTER_ADMIN_POLICY_ARN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
# Managed add-ons, without a version: EKS installs the add-on's default version for the cluster's
# Kubernetes version (Amazon EKS API Reference, CreateAddon: addonVersion "If you don't specify a
# version, the default version is used"), a pairing AWS has tested; a cluster upgrade is the
# moment to move them. The VPC CNI enforces NetworkPolicies once enableNetworkPolicy is set
# (Amazon EKS User Guide, "Limit Pod traffic with Kubernetes network policies").
ADDONS = {
    "vpc-cni": {"enableNetworkPolicy": "true"},
    "kube-proxy": None,
    "eks-pod-identity-agent": None,
    "coredns": None,
    "metrics-server": None,
}
# The node group's image follows its instance type's architecture: EKS launches the AMI type's image
# on every node, and an arm64 image cannot boot an x86_64 type nor the reverse (Amazon EKS API
# Reference, CreateNodegroup: amiType; Amazon EKS User Guide, "Managed node groups": AMI types).
NODE_AMI_TYPES: dict[Architecture, str] = {"x86_64": "AL2023_x86_64_STANDARD", "arm64": "AL2023_ARM_64_STANDARD"}
# Add-ons whose pods need a node to run on: created once the system node group exists (the others
# run on every node as DaemonSets, and a node is Ready only once they do).
ADDONS_ON_NODES = ("coredns", "metrics-server")


def cluster_log_group_name(cluster_name: str) -> str:
    # EKS writes control plane logs to this group (Amazon EKS User Guide, "Send control plane logs
    # to CloudWatch Logs"); created first, it keeps the profile's retention instead of "never expire".
    return f"/aws/eks/{cluster_name}/cluster"


@dataclass(frozen=True)
class ClusterParts:
    """What the rest of the tier builds on."""

    cluster: aws.eks.Cluster
    node_group: aws.eks.NodeGroup
    karpenter_node_role: aws.iam.Role
    addons: dict[str, aws.eks.Addon]
    kubeconfig: pulumi.Output[str]


def create_cluster(name: str, cluster_name: str, region: str, spec: KubernetesSpec, profile: EnvironmentProfile,
                   subnet_ids: list[pulumi.Input[str]], public_access_cidrs: tuple[str, ...],
                   admin_role_arn: str | None, child: pulumi.ResourceOptions,
                   log_key_arn: pulumi.Input[str] | None = None) -> ClusterParts:
    stateful = defaults.stateful_options(child, profile)
    # The key is fixed for the cluster's life: EKS cannot remove or change envelope encryption once
    # it is on (Amazon EKS User Guide, "Encrypt Kubernetes secrets with KMS on existing clusters").
    # EKS encrypts and decrypts the secrets' data keys through its own endpoint with the cluster
    # role, and creates a grant for the cluster (Amazon EKS User Guide, "Encrypt Kubernetes secrets
    # with KMS"): use only through EKS in this region.
    key = aws.kms.Key(f"{name}-secrets-key", defaults.service_key_args(
        "kubernetes-secrets", profile, ["eks"], pulumi.InvokeOptions(parent=child.parent)), stateful)
    logs = aws.cloudwatch.LogGroup(f"{name}-control-plane", aws.cloudwatch.LogGroupArgs(
        name=cluster_log_group_name(cluster_name),
        retention_in_days=profile.log_retention_days,
        kms_key_id=log_key_arn,
    ), child)
    role = _role(f"{name}-cluster", "eks.amazonaws.com", "QNom EKS control plane",
                 {"cluster": CLUSTER_POLICY_ARN}, child)
    cluster = aws.eks.Cluster(f"{name}-cluster", aws.eks.ClusterArgs(
        # Fixed: the log group above carries it, and EKS replaces a cluster whose name changes.
        name=cluster_name,
        version=spec.version,
        role_arn=role.arn,
        vpc_config=aws.eks.ClusterVpcConfigArgs(
            subnet_ids=subnet_ids,
            endpoint_private_access=True,
            endpoint_public_access=bool(public_access_cidrs),
            public_access_cidrs=list(public_access_cidrs) or None,
        ),
        encryption_config=aws.eks.ClusterEncryptionConfigArgs(
            resources=["secrets"],
            provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn),
        ),
        enabled_cluster_log_types=list(spec.control_plane_logs),
        access_config=aws.eks.ClusterAccessConfigArgs(
            # Access entries only: no aws-auth ConfigMap to edit by hand. The creator gets no
            # implicit admin entry; the stack declares its admin below. (The bootstrap switch is
            # ForceNew, terraform-provider-aws internal/service/eks/cluster.go: fixed for good.)
            authentication_mode="API",
            bootstrap_cluster_creator_admin_permissions=False,
        ),
        # The stack installs the networking add-ons as managed add-ons; EKS's own unmanaged copies
        # would conflict with them (ForceNew in terraform-provider-aws internal/service/eks/cluster.go).
        bootstrap_self_managed_addons=False,
        # STANDARD: never billed for extended support; at the end of standard support EKS upgrades
        # the cluster instead (Amazon EKS User Guide, "Manage EKS extended support").
        upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
    ), pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[logs])))
    _admin_access(name, cluster, admin_role_arn, child)
    # Nodes join only once the cluster networking runs on them: without EKS's self-managed copies,
    # the VPC CNI, kube-proxy and the Pod Identity agent come first, CoreDNS and metrics-server after.
    networking = _addons(name, cluster, [addon for addon in ADDONS if addon not in ADDONS_ON_NODES], [], child)
    node_group = _system_node_group(name, cluster, spec, subnet_ids, list(networking.values()), child)
    on_nodes = _addons(name, cluster, list(ADDONS_ON_NODES), [node_group], child)
    karpenter_node_role = _role(f"{name}-karpenter-node", "ec2.amazonaws.com",
                                "QNom EKS service nodes launched by Karpenter", NODE_POLICY_ARNS, child)
    aws.eks.AccessEntry(f"{name}-karpenter-node", aws.eks.AccessEntryArgs(
        cluster_name=cluster.name, principal_arn=karpenter_node_role.arn, type="EC2_LINUX",
    ), child)
    return ClusterParts(cluster, node_group, karpenter_node_role, {**networking, **on_nodes},
                        kubeconfig(cluster, region))


def _role(name: str, service: str, description: str, policy_arns: dict[str, str],
          child: pulumi.ResourceOptions) -> aws.iam.Role:
    role = aws.iam.Role(name, aws.iam.RoleArgs(
        assume_role_policy=documents.to_json(documents.trust_policy(service)), description=description,
    ), child)
    for suffix, arn in policy_arns.items():
        aws.iam.RolePolicyAttachment(f"{name}-{suffix}", aws.iam.RolePolicyAttachmentArgs(
            role=role.name, policy_arn=arn), child)
    return role


def _admin_access(name: str, cluster: aws.eks.Cluster, admin_role_arn: str | None,
                  child: pulumi.ResourceOptions) -> None:
    # The Kubernetes provider acts as the deploying principal, so that principal must administer the
    # cluster: the configured role, or else whoever runs `pulumi up`. A role session's ARN is not
    # accepted as an access entry principal: its issuer role is. An entry is identified by its
    # principal (Amazon EKS API Reference, UpdateAccessEntry: principalArn is the URI's key), so a
    # new deployer replaces the entry; `qnom:clusterAdminRoleArn` keeps it fixed.
    principal: pulumi.Input[str] = admin_role_arn or ""
    if admin_role_arn is None:
        invoke = pulumi.InvokeOptions(parent=child.parent)
        caller = aws.get_caller_identity_output(opts=invoke)
        principal = aws.iam.get_session_context_output(arn=caller.arn, opts=invoke).issuer_arn
    entry = aws.eks.AccessEntry(f"{name}-admin", aws.eks.AccessEntryArgs(
        cluster_name=cluster.name, principal_arn=principal, type="STANDARD",
    ), child)
    aws.eks.AccessPolicyAssociation(f"{name}-admin", aws.eks.AccessPolicyAssociationArgs(
        cluster_name=cluster.name, principal_arn=entry.principal_arn, policy_arn=CLUSTER_ADMIN_POLICY_ARN,
        access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
    ), child)


def _system_node_group(name: str, cluster: aws.eks.Cluster, spec: KubernetesSpec,
                       subnet_ids: list[pulumi.Input[str]], after: list[pulumi.Resource],
                       child: pulumi.ResourceOptions) -> aws.eks.NodeGroup:
    role = _role(f"{name}-system-node", "ec2.amazonaws.com", "QNom EKS system nodes", NODE_POLICY_ARNS, child)
    # instance_types and ami_type are ForceNew (terraform-provider-aws internal/service/eks/node_group.go):
    # a cost profile switch replaces the group, create before delete. No node_group_name, so the
    # provider picks a unique one and the new group never collides with the old (module docstring).
    capacity = spec.system_nodes.capacity
    return aws.eks.NodeGroup(f"{name}-system", aws.eks.NodeGroupArgs(
        cluster_name=cluster.name,
        node_role_arn=role.arn,
        subnet_ids=subnet_ids,
        instance_types=[spec.system_nodes.instance_type],
        capacity_type="ON_DEMAND",
        ami_type=NODE_AMI_TYPES[instance_architecture(spec.system_nodes.instance_type)],
        scaling_config=aws.eks.NodeGroupScalingConfigArgs(
            min_size=capacity.min, desired_size=capacity.desired, max_size=capacity.max),
        update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
        labels={"qnom.io/pool": "system"},
    ), pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
        depends_on=after,
        # Like an Auto Scaling group's desired capacity: set at creation, then the node autoscaling's.
        ignore_changes=["scalingConfig.desiredSize"])))


def _addons(name: str, cluster: aws.eks.Cluster, addons: list[str], after: list[pulumi.Resource],
            child: pulumi.ResourceOptions) -> dict[str, aws.eks.Addon]:
    created = {}
    for addon in addons:
        configuration = ADDONS[addon]
        created[addon] = aws.eks.Addon(f"{name}-{addon}", aws.eks.AddonArgs(
            cluster_name=cluster.name,
            addon_name=addon,
            configuration_values=json.dumps(configuration) if configuration else None,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
        ), pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=after)))
    return created


def kubeconfig(cluster: aws.eks.Cluster, region: str) -> pulumi.Output[str]:
    """A kubeconfig for the cluster, as text: the endpoint and CA from the cluster's outputs and an
    exec credential (`aws eks get-token`, as `aws eks update-kubeconfig` writes it)."""
    def document(args: list) -> str:
        cluster_name, endpoint, authority = args
        user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
                         "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region,
                                  "--output", "json"]}}
        return json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": cluster_name,
            "clusters": [{"name": cluster_name,
                          "cluster": {"server": endpoint, "certificate-authority-data": authority}}],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
            "users": [{"name": cluster_name, "user": user}],
        })

    return pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority.data).apply(document)
