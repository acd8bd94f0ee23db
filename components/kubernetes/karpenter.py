"""Node autoscaling for the services: Karpenter, installed by Helm, with EKS Pod Identity.

Karpenter rather than Cluster Autoscaler: Cluster Autoscaler grows node groups of one instance
shape each, so the seed's spot policy would need a node group per type and capacity kind;
Karpenter launches from EC2 Fleet across every listed type and both capacity kinds, picks the
cheapest spot pools that fit the pending pods, falls back to on demand when spot has no capacity,
and consolidates under-used nodes (karpenter.sh, "Concepts: NodePools", "Disruption").

Creates: the controller's IAM role and inline policy, its Pod Identity association
(`kube-system/karpenter`), the Helm release (pinned chart, on the system nodes), the
`EC2NodeClass` (AL2023, the region's app subnets, the cluster security group, IMDSv2 with one hop,
encrypted gp3 root volume) and the NodePools of the spot policy:
- prod and dev: the seed's worker split (80% spot, on-demand fallback). Two NodePools share the
  `qnom.io/capacity-spread` label's values 1-5: `spot` owns 1-4 (spot first, on demand when spot
  has none), `on-demand` owns 5, and every service spreads its pods evenly over the label
  (`services.py`), so four pods in five run on spot (the "Split between On-Demand & Spot"
  pattern of AWS's Karpenter blueprints).
- staging (profile `spot_only`): one `spot` NodePool owning all five values, spot only, no
  fallback (seed: `staging: { percentage: 100, fallback: 'none' }`).

The pools launch the catalog's instance types, one architecture per list (`phases/models.py`); the
cost-optimised profile lists Graviton twins and adds a `kubernetes.io/arch: arm64` requirement, and
the node class's `al2023@latest` alias resolves to the image of each launched type's architecture
(karpenter.sh, "NodeClasses": amiSelectorTerms alias). Switching `qnom:costProfile` changes the
pools' requirements in place; Karpenter then finds the running nodes drifted and replaces them
within the pools' disruption rules and the services' PodDisruptionBudgets (karpenter.sh,
"Disruption": drift), so every service image must be published for linux/arm64 before the switch.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as kubernetes

from components import policy_documents as documents
from components.kubernetes.helm import helm_release
from phases.models import Kubernetes as KubernetesSpec
from phases.models import instance_architecture

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "karpenter"
NODE_CLASS = "services"
SPREAD_LABEL = "qnom.io/capacity-spread"
SPREAD_VALUES = ("1", "2", "3", "4", "5")
ROLE_LABEL = "qnom.io/pool"
SERVICES_POOL = "services"
ARCH_LABEL = "kubernetes.io/arch"
# instance_architecture's names -> the node label's values (Kubernetes well-known labels: GOARCH).
NODE_ARCH = {"x86_64": "amd64", "arm64": "arm64"}


def spread_values(spot_percent: int, spot_only: bool) -> dict[str, tuple[str, ...]]:
    """The capacity-spread values each NodePool owns: spot's share of five, the rest on demand."""
    if spot_only:
        return {"spot": SPREAD_VALUES}
    spot = round(len(SPREAD_VALUES) * spot_percent / 100)
    pools = {"spot": SPREAD_VALUES[:spot], "on-demand": SPREAD_VALUES[spot:]}
    return {pool: values for pool, values in pools.items() if values}


def capacity_types(pool: str, spot_only: bool) -> list[str]:
    """What a pool may launch: Karpenter prefers spot where a pool allows both, and falls back to on
    demand when spot has no capacity (karpenter.sh, "NodePools": capacity type); a spot-only profile
    has no fallback (seed: staging, fallback none)."""
    if pool == "on-demand":
        return ["on-demand"]
    return ["spot"] if spot_only else ["spot", "on-demand"]


def controller_policy(region: str, account_id: pulumi.Input[str], cluster_arn: pulumi.Input[str],
                      node_role_arn: pulumi.Input[str]) -> dict:
    """What the controller does (karpenter.sh, "Getting Started": the controller policy), condensed:
    launch and tag instances and launch templates, end only what it launched, pass the node role."""
    owned = {"StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}}
    return {
        "Version": documents.VERSION,
        "Statement": [
            {"Sid": "Launch", "Effect": "Allow",
             "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate", "ec2:CreateTags"],
             "Resource": "*", "Condition": {"StringEquals": {"aws:RequestedRegion": region}}},
            {"Sid": "EndOwned", "Effect": "Allow", "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
             "Resource": "*", "Condition": owned},
            {"Sid": "Read", "Effect": "Allow",
             "Action": ["ec2:DescribeAvailabilityZones", "ec2:DescribeImages", "ec2:DescribeInstances",
                        "ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes",
                        "ec2:DescribeLaunchTemplates", "ec2:DescribeSecurityGroups", "ec2:DescribeSpotPriceHistory",
                        "ec2:DescribeSubnets", "pricing:GetProducts"],
             "Resource": "*"},
            {"Sid": "AmiParameters", "Effect": "Allow", "Action": "ssm:GetParameter",
             "Resource": f"arn:aws:ssm:{region}::parameter/aws/service/*"},
            {"Sid": "Cluster", "Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": cluster_arn},
            {"Sid": "PassNodeRole", "Effect": "Allow", "Action": "iam:PassRole", "Resource": node_role_arn,
             "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}},
            {"Sid": "InstanceProfiles", "Effect": "Allow",
             "Action": ["iam:CreateInstanceProfile", "iam:TagInstanceProfile", "iam:AddRoleToInstanceProfile",
                        "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile", "iam:GetInstanceProfile",
                        "iam:ListInstanceProfiles"],
             "Resource": pulumi.Output.concat("arn:aws:iam::", account_id, ":instance-profile/*")},
        ],
    }


def pod_identity_trust() -> dict:
    # EKS Pod Identity: the agent assumes the role for the pod and tags the session (Amazon EKS
    # User Guide, "Create IAM role with trust policy required by EKS Pod Identity").
    return {"Version": documents.VERSION, "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
    }]}


def create_karpenter(name: str, cluster: aws.eks.Cluster, node_role: aws.iam.Role, region: str,
                     spec: KubernetesSpec, spot_only: bool, subnet_ids: list[pulumi.Input[str]],
                     child: pulumi.ResourceOptions, k8s: pulumi.ResourceOptions,
                     after: list[pulumi.Resource]) -> list[pulumi.Resource]:
    """Karpenter and its NodePools; returns the NodePools, which the services wait for."""
    account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=child.parent)).account_id
    role = aws.iam.Role(f"{name}-karpenter", aws.iam.RoleArgs(
        assume_role_policy=documents.to_json(pod_identity_trust()),
        description="QNom Karpenter controller (EKS Pod Identity)",
    ), child)
    policy = aws.iam.RolePolicy(f"{name}-karpenter", aws.iam.RolePolicyArgs(
        # ARNs from names, so the policy is known in a preview (AWS assigns neither ARN before creation).
        role=role.id, policy=documents.to_json(controller_policy(
            region, account_id, documents.eks_cluster_arn(cluster.name, region, account_id),
            documents.iam_role_arn(node_role.name, account_id))),
    ), child)
    association = aws.eks.PodIdentityAssociation(f"{name}-karpenter", aws.eks.PodIdentityAssociationArgs(
        cluster_name=cluster.name, namespace=NAMESPACE, service_account=SERVICE_ACCOUNT, role_arn=role.arn,
    ), child)
    release = helm_release(f"{name}-karpenter", "karpenter", spec.charts["karpenter"], NAMESPACE, {
        "settings": {"clusterName": cluster.name},
        "serviceAccount": {"name": SERVICE_ACCOUNT},
        "replicas": 2,
        # On the system node group: Karpenter must never run on a node it may take away.
        "nodeSelector": {ROLE_LABEL: "system"},
        "controller": {"resources": {"requests": {"cpu": "500m", "memory": "1Gi"},
                                     "limits": {"memory": "1Gi"}}},
    }, pulumi.ResourceOptions.merge(k8s, pulumi.ResourceOptions(depends_on=[*after, policy, association])))
    after_release = pulumi.ResourceOptions.merge(k8s, pulumi.ResourceOptions(depends_on=[release]))
    kubernetes.apiextensions.CustomResource(
        f"{name}-node-class", api_version="karpenter.k8s.aws/v1", kind="EC2NodeClass",
        metadata=kubernetes.meta.v1.ObjectMetaArgs(name=NODE_CLASS),
        spec={
            "role": node_role.name,
            "amiSelectorTerms": [{"alias": "al2023@latest"}],
            "subnetSelectorTerms": [{"id": subnet} for subnet in subnet_ids],
            "securityGroupSelectorTerms": [{"id": cluster.vpc_config.cluster_security_group_id}],
            # Pods get AWS credentials from Pod Identity, never from the node's metadata service.
            "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required",
                                "httpPutResponseHopLimit": 1, "httpProtocolIPv6": "disabled"},
            "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {
                "volumeSize": "40Gi", "volumeType": "gp3", "encrypted": True, "deleteOnTermination": True}}],
        }, opts=after_release)
    pools = []
    architecture = NODE_ARCH[instance_architecture(spec.service_nodes.instance_types[0])]
    # The catalog's x86_64 pools carry no architecture requirement (their types alone decide it, and
    # their plans stay as they were); Graviton pools state arm64, the node label a pod's selector
    # for an arm64-only image matches (karpenter.sh, "NodePools": well-known labels).
    arch = [{"key": ARCH_LABEL, "operator": "In", "values": [architecture]}] if architecture == "arm64" else []
    for pool, values in spread_values(spec.service_nodes.spot_percent, spot_only).items():
        capacity = capacity_types(pool, spot_only)
        pools.append(kubernetes.apiextensions.CustomResource(
            f"{name}-node-pool-{pool}", api_version="karpenter.sh/v1", kind="NodePool",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(name=pool),
            spec={
                "template": {
                    "metadata": {"labels": {ROLE_LABEL: SERVICES_POOL}},
                    "spec": {
                        "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": NODE_CLASS},
                        "requirements": [
                            {"key": "karpenter.sh/capacity-type", "operator": "In", "values": capacity},
                            {"key": "node.kubernetes.io/instance-type", "operator": "In",
                             "values": list(spec.service_nodes.instance_types)},
                            {"key": SPREAD_LABEL, "operator": "In", "values": list(values)},
                            *arch,
                        ],
                        "expireAfter": "720h",
                    },
                },
                "disruption": {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "5m"},
                # A ceiling: every service at the HPA's maximum.
                "limits": {"cpu": str(service_ceiling_cpu(spec))},
                "weight": 100 if pool == "spot" else 10,
            }, opts=after_release))
    return pools


def service_ceiling_cpu(spec: KubernetesSpec) -> int:
    """vCPUs of every service at the HPA's maximum replicas: the NodePools' limit."""
    millicores = sum(service.cpu_millicores for service in spec.services) * spec.hpa.max_replicas
    return -(-millicores // 1000)
