"""A region's Kubernetes tier (phase 3 on): `{region}-k8s`, under the Region, with its AWS provider.

The recipe: the cluster and everything AWS holds for it (`cluster.py`), the Kubernetes provider
built from the cluster's outputs, Karpenter and its NodePools (`karpenter.py`), Prometheus and
prometheus-adapter (`observability.py`), Container Insights (`container_insights.py`), the services (`services.py`) with their AWS access (one
role, `-services`, with the API instances' grants: configuration path, secrets, bucket prefix, job
queue; each service's account assumes it through an EKS Pod Identity association) and, in phase 4,
the Istio ambient mesh (`mesh.py`). The same children in phases 3 and 4, plus the mesh's: promotion 3 -> 4
adds the mesh and labels the namespaces, and replaces nothing.

The cluster's security group (the one EKS creates and puts on every node) is the tier's client
group: the region's data stores admit it like the API's and the workers' groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as kubernetes

from components import defaults
from components import policy_documents as documents
from components.compute.app_config import AppAccess
from components.compute.instance_role import app_access_policies
from components.kubernetes import sizing
from components.kubernetes.cluster import create_cluster
from components.kubernetes.karpenter import SPREAD_VALUES, create_karpenter, pod_identity_trust
from components.kubernetes.container_insights import create_container_insights
from components.kubernetes.mesh import create_mesh
from components.kubernetes.observability import create_metrics
from components.kubernetes.services import ServicesArgs, create_services
from phases.environment import EnvironmentProfile
from phases.models import Kubernetes as KubernetesSpec

ZONES = 3
"""Zones of the region's app subnets, which every service spreads over."""


@dataclass(frozen=True)
class KubernetesArgs:
    spec: KubernetesSpec
    """The phase's `kubernetes` block: version, nodes, services, HPA, charts, mesh."""
    region: str
    """AWS region of the cluster (its provider's region)."""
    cluster_name: str
    """EKS cluster name, unique in the account and region; fixed for the cluster's life."""
    vpc_cidr: str
    """The region's VPC CIDR: the API gateway's callers and the region's data stores."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """The region's private (app) subnets, one per zone: control plane interfaces and nodes."""
    profile: EnvironmentProfile
    """Environment profile: key protection, log retention, spot only."""
    images: Mapping[str, str]
    """Image of each service of the catalog, by name."""
    config_path: str
    """SSM path of the app configuration the services read."""
    public_access_cidrs: tuple[str, ...] = ()
    """Networks allowed to the public API endpoint; default none: private endpoint only."""
    admin_role_arn: str | None = None
    """IAM role with cluster admin; default None: the principal running the deployment."""
    data_cidrs: Sequence[str] = ()
    """Other VPCs holding data the services write (a secondary region: the primary's). Default none."""
    log_key_arn: pulumi.Input[str] | None = None
    """The region's log key, encrypting the control plane's log group. Default None: AWS's own."""
    access: AppAccess | None = None
    """What the services may reach in AWS, as the API instances may (configuration path, secrets,
    bucket prefix, the job queue), granted through EKS Pod Identity. Default None: no AWS access."""


class Kubernetes(pulumi.ComponentResource):
    cluster_name: pulumi.Output[str]
    cluster_endpoint: pulumi.Output[str]
    cluster_security_group_id: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    provider: kubernetes.Provider
    baseline_service_nodes: int
    """Service nodes the catalog's replicas need (`sizing.py`): Karpenter's steady state, priced in the README."""
    service_node_type: str
    """The instance type the baseline is sized and priced with."""

    def __init__(self, name: str, args: KubernetesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("qnom:components:Kubernetes", name, None, opts)
        self._name, self._args, spec = name, args, args.spec
        self._child = pulumi.ResourceOptions(parent=self)
        subnets = list(args.subnet_ids)

        parts = create_cluster(name, args.cluster_name, args.region, spec, args.profile, subnets,
                               args.public_access_cidrs, args.admin_role_arn, self._child, args.log_key_arn)
        self.provider = kubernetes.Provider(f"{name}-provider", kubernetes.ProviderArgs(
            kubeconfig=pulumi.Output.secret(parts.kubeconfig),
            # Every object the stack declares is applied server-side, so a field another manager
            # owns (the HPA's replicas) is not fought over.
            enable_server_side_apply=True,
        ), self._child)
        k8s = pulumi.ResourceOptions(parent=self, provider=self.provider)
        system_ready = [parts.node_group, *parts.addons.values()]
        pools = create_karpenter(name, parts.cluster, parts.karpenter_node_role, args.region, spec,
                                 args.profile.spot_only, subnets, self._child, k8s, system_ready)
        metrics = create_metrics(name, spec, pulumi.ResourceOptions.merge(
            k8s, pulumi.ResourceOptions(depends_on=system_ready)))
        create_container_insights(name, parts.cluster, self._child, system_ready)
        mesh = create_mesh(name, spec, pulumi.ResourceOptions.merge(
            k8s, pulumi.ResourceOptions(depends_on=system_ready))) if spec.mesh else []
        self._grant_services_access(parts.cluster)
        create_services(name, ServicesArgs(
            services=spec.services,
            hpa=spec.hpa,
            images=args.images,
            region=args.region,
            config_path=args.config_path,
            vpc_cidr=args.vpc_cidr,
            data_cidrs=args.data_cidrs,
            data_ports={"postgres": defaults.POSTGRES_PORT, "redis": defaults.REDIS_PORT},
            spread_capacity=not args.profile.spot_only,
            mesh=spec.mesh,
        ), pulumi.ResourceOptions.merge(k8s, pulumi.ResourceOptions(depends_on=[*pools, *metrics, *mesh])))

        self.cluster_name = parts.cluster.name
        self.cluster_endpoint = parts.cluster.endpoint
        self.cluster_security_group_id = parts.cluster.vpc_config.cluster_security_group_id
        self.kubeconfig = pulumi.Output.secret(parts.kubeconfig)
        # Every service spreads over the zones, and (unless spot-only) over the five capacity domains.
        self.baseline_service_nodes, self.service_node_type = sizing.baseline_service_nodes(
            spec, max(ZONES, 0 if args.profile.spot_only else len(SPREAD_VALUES)))
        self.register_outputs({
            "cluster_name": self.cluster_name,
            "cluster_endpoint": self.cluster_endpoint,
            "cluster_security_group_id": self.cluster_security_group_id,
            "kubeconfig": self.kubeconfig,
            "baseline_service_nodes": self.baseline_service_nodes,
            "service_node_type": self.service_node_type,
        })

    def _grant_services_access(self, cluster: aws.eks.Cluster) -> None:
        """One role for the services, assumed through EKS Pod Identity by each service's account."""
        args = self._args
        if args.access is None:
            return
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self)).account_id
        role = aws.iam.Role(f"{self._name}-services", aws.iam.RoleArgs(
            assume_role_policy=documents.to_json(pod_identity_trust()),
            description="QNom Kubernetes services: the app configuration and data (EKS Pod Identity)",
        ), self._child)
        for suffix, policy in app_access_policies(args.access, args.region, account_id).items():
            aws.iam.RolePolicy(f"{self._name}-services-{suffix}", aws.iam.RolePolicyArgs(
                role=role.id, policy=policy), self._child)
        for service in args.spec.services:
            # The service's namespace and account carry its name (services.py).
            aws.eks.PodIdentityAssociation(f"{self._name}-{service.name}", aws.eks.PodIdentityAssociationArgs(
                cluster_name=cluster.name, namespace=service.name, service_account=service.name, role_arn=role.arn,
            ), self._child)
