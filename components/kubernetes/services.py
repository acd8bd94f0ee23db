"""The seed's microservices ("Service Decomposition") as Kubernetes workloads, one namespace each.

Per service: a Namespace (phase 4: ambient-enrolled, with a STRICT PeerAuthentication), a
ServiceAccount, a Deployment (the API gateway's is `api-deployment`, the name the seed's emergency
playbook scales), a Service, an autoscaling/v2 HorizontalPodAutoscaler, a PodDisruptionBudget and
NetworkPolicies.

Pods: non-root, read-only root filesystem (a memory-backed /tmp), every capability dropped, no
privilege escalation, seccomp RuntimeDefault, no service account token; liveness and readiness
probes on `/health`; CPU and memory requests from the catalog and a memory limit equal to the
request (a pod never takes memory the scheduler did not reserve; CPU is left unlimited so a
burst is not throttled while the HPA reacts); spread evenly over the zones and over the
capacity-spread label of the spot policy (`karpenter.py`).

The seed's HPA on `api-deployment` (min 3, max 100; CPU 70%, memory 80%, 1000 requests/s per pod;
its scale-up and scale-down behaviour); every other service gets the same metrics and behaviour
with its table's replicas as the minimum. Deployments under an HPA ignore `spec.replicas`
(the HPA owns it after creation). A PodDisruptionBudget lets a node drain evict one pod of a
service at a time, so capacity never drops by more than a pod.

NetworkPolicies (enforced by the VPC CNI): default deny in and out; DNS to CoreDNS; HTTPS out
(AWS APIs: SSM, Secrets Manager, SQS); each service's calls to the services it names, admitted
on their side; the data tier's ports (PostgreSQL, Redis) towards the VPCs that hold the data
stores; Prometheus's scrapes; the API gateway open to its VPC (the load balancer's subnets); in
phase 4 ztunnel's HBONE port and the ambient probe address.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import pulumi
import pulumi_kubernetes as kubernetes

from components.kubernetes import mesh, observability, sizing
from components.kubernetes.karpenter import ROLE_LABEL, SERVICES_POOL, SPREAD_LABEL
from phases.models import Hpa, ServiceSize

k8s_apps = kubernetes.apps.v1
k8s_core = kubernetes.core.v1
k8s_meta = kubernetes.meta.v1
k8s_hpa = kubernetes.autoscaling.v2
k8s_net = kubernetes.networking.v1
k8s_policy = kubernetes.policy.v1

PORT = 8080
"""The port every service listens on; its Service answers on 80."""
HEALTH_PATH = "/health"
API_GATEWAY = sizing.API_GATEWAY
API_DEPLOYMENT = "api-deployment"
API_HPA = "api-hpa"
RUN_AS_USER = 10001
ZONE_LABEL = "topology.kubernetes.io/zone"


def deployment_name(service: str) -> str:
    """The seed's playbook runs `kubectl scale deployment api-deployment`: the gateway keeps that name."""
    return API_DEPLOYMENT if service == API_GATEWAY else service


def hpa_name(service: str) -> str:
    return API_HPA if service == API_GATEWAY else f"{service}-hpa"


@dataclass(frozen=True)
class ServicesArgs:
    services: Sequence[ServiceSize]
    """The catalog's services (replicas, requests, calls, data stores)."""
    hpa: Hpa
    """The seed's HPA: the gateway's bounds, every service's metrics and behaviour."""
    images: Mapping[str, str]
    """Image of each service, by name (`qnom:apiGatewayImage` ...)."""
    region: str
    """AWS region of the cluster (the services' AWS_REGION)."""
    config_path: str
    """SSM path of the app configuration (`components/compute/app_config.py`), read at start."""
    vpc_cidr: str
    """The region's VPC: the API gateway's callers and the region's data stores."""
    data_cidrs: Sequence[str] = ()
    """Other VPCs holding data the services write (a secondary region: the primary's). Default none."""
    data_ports: Mapping[str, int] = field(default_factory=dict)
    """Port of each data store (`postgres`, `redis`)."""
    spread_capacity: bool = True
    """Spread pods over the capacity-spread label (the spot/on-demand split); False in a spot-only
    profile. Default True."""
    mesh: bool = False
    """Phase 4: enrol the namespaces in the ambient mesh and admit its ports. Default False."""


def create_services(name: str, args: ServicesArgs, k8s: pulumi.ResourceOptions) -> dict[str, k8s_apps.Deployment]:
    return {service.name: _create_service(f"{name}-{service.name}", service, args, k8s) for service in args.services}


def _labels(service: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": service, "app.kubernetes.io/part-of": "qnom"}


def _create_service(name: str, service: ServiceSize, args: ServicesArgs,
                    k8s: pulumi.ResourceOptions) -> k8s_apps.Deployment:
    namespace_labels = {"app.kubernetes.io/part-of": "qnom", "kubernetes.io/metadata.name": service.name}
    if args.mesh:
        namespace_labels[mesh.DATAPLANE_LABEL] = "ambient"
    namespace = k8s_core.Namespace(f"{name}-namespace", k8s_core.NamespaceInitArgs(
        metadata=k8s_meta.ObjectMetaArgs(name=service.name, labels=namespace_labels)), k8s)
    inside = pulumi.ResourceOptions.merge(k8s, pulumi.ResourceOptions(depends_on=[namespace]))
    def meta(object_name: str) -> k8s_meta.ObjectMetaArgs:
        return k8s_meta.ObjectMetaArgs(name=object_name, namespace=service.name, labels=_labels(service.name))

    k8s_core.ServiceAccount(f"{name}-account", k8s_core.ServiceAccountInitArgs(
        metadata=meta(service.name), automount_service_account_token=False), inside)
    deployment = k8s_apps.Deployment(f"{name}-deployment", k8s_apps.DeploymentInitArgs(
        metadata=meta(deployment_name(service.name)),
        spec=_deployment_spec(service, args),
    ), pulumi.ResourceOptions.merge(inside, pulumi.ResourceOptions(
        # The HPA owns the replica count once the Deployment exists.
        ignore_changes=["spec.replicas"])))
    k8s_core.Service(f"{name}-service", k8s_core.ServiceInitArgs(
        metadata=meta(service.name),
        spec=k8s_core.ServiceSpecArgs(
            selector=_labels(service.name),
            ports=[k8s_core.ServicePortArgs(name="http", port=80, target_port="http", protocol="TCP")]),
    ), inside)
    k8s_hpa.HorizontalPodAutoscaler(f"{name}-hpa", k8s_hpa.HorizontalPodAutoscalerInitArgs(
        metadata=meta(hpa_name(service.name)),
        spec=_hpa_spec(service, args.hpa),
    ), pulumi.ResourceOptions.merge(inside, pulumi.ResourceOptions(depends_on=[namespace, deployment])))
    k8s_policy.PodDisruptionBudget(f"{name}-pdb", k8s_policy.PodDisruptionBudgetInitArgs(
        metadata=meta(service.name),
        spec=k8s_policy.PodDisruptionBudgetSpecArgs(
            max_unavailable=1, selector=k8s_meta.LabelSelectorArgs(match_labels=_labels(service.name))),
    ), inside)
    for policy_name, spec in _network_policies(service, args).items():
        k8s_net.NetworkPolicy(f"{name}-netpol-{policy_name}", k8s_net.NetworkPolicyInitArgs(
            metadata=meta(policy_name), spec=spec), inside)
    if args.mesh:
        # Only mutual TLS reaches the service's pods (istio.io, "PeerAuthentication": mode STRICT).
        kubernetes.apiextensions.CustomResource(
            f"{name}-mtls-strict", api_version="security.istio.io/v1", kind="PeerAuthentication",
            metadata=meta("default"), spec={"mtls": {"mode": "STRICT"}}, opts=inside)
    return deployment


def _deployment_spec(service: ServiceSize, args: ServicesArgs) -> k8s_apps.DeploymentSpecArgs:
    labels = _labels(service.name)
    spread = [k8s_core.TopologySpreadConstraintArgs(
        max_skew=1, topology_key=ZONE_LABEL, when_unsatisfiable="DoNotSchedule",
        label_selector=k8s_meta.LabelSelectorArgs(match_labels=labels))]
    if args.spread_capacity:
        spread.append(k8s_core.TopologySpreadConstraintArgs(
            max_skew=1, topology_key=SPREAD_LABEL, when_unsatisfiable="DoNotSchedule",
            label_selector=k8s_meta.LabelSelectorArgs(match_labels=labels)))
    def probe(delay: int) -> k8s_core.ProbeArgs:
        return k8s_core.ProbeArgs(http_get=k8s_core.HTTPGetActionArgs(path=HEALTH_PATH, port="http"),
                                  initial_delay_seconds=delay, period_seconds=10, timeout_seconds=2,
                                  failure_threshold=3)

    container = k8s_core.ContainerArgs(
        name=service.name,
        image=args.images[service.name],
        ports=[k8s_core.ContainerPortArgs(name="http", container_port=PORT, protocol="TCP")],
        env=[k8s_core.EnvVarArgs(name="PORT", value=str(PORT)),
             k8s_core.EnvVarArgs(name="AWS_REGION", value=args.region),
             k8s_core.EnvVarArgs(name="QNOM_CONFIG_PATH", value=args.config_path)],
        resources=k8s_core.ResourceRequirementsArgs(
            requests={"cpu": service.cpu, "memory": service.memory},
            limits={"memory": service.memory}),
        liveness_probe=probe(15),
        readiness_probe=probe(5),
        security_context=k8s_core.SecurityContextArgs(
            run_as_non_root=True, run_as_user=RUN_AS_USER, allow_privilege_escalation=False,
            read_only_root_filesystem=True, capabilities=k8s_core.CapabilitiesArgs(drop=["ALL"]),
            seccomp_profile=k8s_core.SeccompProfileArgs(type="RuntimeDefault")),
        volume_mounts=[k8s_core.VolumeMountArgs(name="tmp", mount_path="/tmp")],
    )
    return k8s_apps.DeploymentSpecArgs(
        replicas=service.replicas,
        selector=k8s_meta.LabelSelectorArgs(match_labels=labels),
        strategy=k8s_apps.DeploymentStrategyArgs(
            type="RollingUpdate",
            rolling_update=k8s_apps.RollingUpdateDeploymentArgs(max_unavailable=0, max_surge="25%")),
        template=k8s_core.PodTemplateSpecArgs(
            metadata=k8s_meta.ObjectMetaArgs(labels=labels, annotations={
                "prometheus.io/scrape": "true", "prometheus.io/port": str(PORT), "prometheus.io/path": "/metrics"}),
            spec=k8s_core.PodSpecArgs(
                service_account_name=service.name,
                automount_service_account_token=False,
                node_selector={ROLE_LABEL: SERVICES_POOL},
                security_context=k8s_core.PodSecurityContextArgs(
                    run_as_non_root=True, run_as_user=RUN_AS_USER, run_as_group=RUN_AS_USER, fs_group=RUN_AS_USER,
                    seccomp_profile=k8s_core.SeccompProfileArgs(type="RuntimeDefault")),
                topology_spread_constraints=spread,
                containers=[container],
                volumes=[k8s_core.VolumeArgs(name="tmp", empty_dir=k8s_core.EmptyDirVolumeSourceArgs(
                    medium="Memory", size_limit="64Mi"))],
            ),
        ),
    )


def _hpa_spec(service: ServiceSize, hpa: Hpa) -> k8s_hpa.HorizontalPodAutoscalerSpecArgs:
    def behavior(rules) -> k8s_hpa.HPAScalingRulesArgs:
        return k8s_hpa.HPAScalingRulesArgs(
            stabilization_window_seconds=rules.stabilization_window_seconds,
            select_policy=rules.select_policy,
            policies=[k8s_hpa.HPAScalingPolicyArgs(type=policy.type, value=policy.value,
                                                   period_seconds=policy.period_seconds)
                      for policy in rules.policies])

    def utilization(resource: str, percent: int) -> k8s_hpa.MetricSpecArgs:
        return k8s_hpa.MetricSpecArgs(type="Resource", resource=k8s_hpa.ResourceMetricSourceArgs(
            name=resource, target=k8s_hpa.MetricTargetArgs(type="Utilization", average_utilization=percent)))

    minimum = sizing.hpa_minimum(service, hpa)
    return k8s_hpa.HorizontalPodAutoscalerSpecArgs(
        scale_target_ref=k8s_hpa.CrossVersionObjectReferenceArgs(
            api_version="apps/v1", kind="Deployment", name=deployment_name(service.name)),
        min_replicas=minimum,
        max_replicas=hpa.max_replicas,
        metrics=[
            utilization("cpu", hpa.cpu_utilization_percent),
            utilization("memory", hpa.memory_utilization_percent),
            k8s_hpa.MetricSpecArgs(type="Pods", pods=k8s_hpa.PodsMetricSourceArgs(
                metric=k8s_hpa.MetricIdentifierArgs(name=observability.REQUESTS_METRIC),
                target=k8s_hpa.MetricTargetArgs(type="AverageValue",
                                                average_value=str(hpa.requests_per_second_per_pod)))),
        ],
        behavior=k8s_hpa.HorizontalPodAutoscalerBehaviorArgs(
            scale_up=behavior(hpa.scale_up), scale_down=behavior(hpa.scale_down)),
    )


def _peer(namespace: str, pod_labels: Mapping[str, str] | None = None) -> k8s_net.NetworkPolicyPeerArgs:
    return k8s_net.NetworkPolicyPeerArgs(
        namespace_selector=k8s_meta.LabelSelectorArgs(match_labels={"kubernetes.io/metadata.name": namespace}),
        pod_selector=k8s_meta.LabelSelectorArgs(match_labels=dict(pod_labels)) if pod_labels else None)


def _tcp(*ports: int | str) -> list[k8s_net.NetworkPolicyPortArgs]:
    return [k8s_net.NetworkPolicyPortArgs(protocol="TCP", port=port) for port in ports]


def _network_policies(service: ServiceSize, args: ServicesArgs) -> dict[str, k8s_net.NetworkPolicySpecArgs]:
    pods = k8s_meta.LabelSelectorArgs(match_labels=_labels(service.name))
    everything = k8s_meta.LabelSelectorArgs()
    callers = [other.name for other in args.services if service.name in other.calls]
    ingress_from = [_peer(caller, _labels(caller)) for caller in callers]
    ingress_from.append(_peer(observability.NAMESPACE))
    if service.name == API_GATEWAY:
        ingress_from.append(k8s_net.NetworkPolicyPeerArgs(ip_block=k8s_net.IPBlockArgs(cidr=args.vpc_cidr)))
    ingress = [k8s_net.NetworkPolicyIngressRuleArgs(from_=ingress_from, ports=_tcp("http"))]
    if args.mesh:
        ingress.append(k8s_net.NetworkPolicyIngressRuleArgs(
            from_=[k8s_net.NetworkPolicyPeerArgs(ip_block=k8s_net.IPBlockArgs(cidr=mesh.PROBE_SOURCE))]))
        ingress.append(k8s_net.NetworkPolicyIngressRuleArgs(ports=_tcp(mesh.HBONE_PORT)))
    egress = [
        k8s_net.NetworkPolicyEgressRuleArgs(
            to=[_peer("kube-system", {"k8s-app": "kube-dns"})],
            ports=[k8s_net.NetworkPolicyPortArgs(protocol=protocol, port=53) for protocol in ("UDP", "TCP")]),
        k8s_net.NetworkPolicyEgressRuleArgs(
            to=[k8s_net.NetworkPolicyPeerArgs(ip_block=k8s_net.IPBlockArgs(cidr="0.0.0.0/0"))], ports=_tcp(443)),
    ]
    if service.calls:
        egress.append(k8s_net.NetworkPolicyEgressRuleArgs(
            to=[_peer(callee, _labels(callee)) for callee in service.calls], ports=_tcp(PORT)))
    if service.data:
        egress.append(k8s_net.NetworkPolicyEgressRuleArgs(
            to=[k8s_net.NetworkPolicyPeerArgs(ip_block=k8s_net.IPBlockArgs(cidr=cidr))
                for cidr in (args.vpc_cidr, *args.data_cidrs)],
            ports=_tcp(*(args.data_ports[store] for store in service.data))))
    if args.mesh:
        egress.append(k8s_net.NetworkPolicyEgressRuleArgs(ports=_tcp(mesh.HBONE_PORT)))
    return {
        "default-deny": k8s_net.NetworkPolicySpecArgs(pod_selector=everything, policy_types=["Ingress", "Egress"]),
        f"{service.name}-paths": k8s_net.NetworkPolicySpecArgs(
            pod_selector=pods, policy_types=["Ingress", "Egress"], ingress=ingress, egress=egress),
    }
