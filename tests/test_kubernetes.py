"""The Kubernetes tier (phase 3 on): the catalog's seed values, the EKS clusters, the services and
their HPAs, node autoscaling, the phase-4 mesh, promotion, and `qnom render k8s`.

Plans come from `tests.support.build` with default settings (the runs other tests build too).
"""

from __future__ import annotations

import dataclasses
import textwrap

import pytest
import yaml

from components.kubernetes import karpenter, sizing
from phases import cost_profile
from phases.catalog import load_phase
from phases.models import instance_architecture
from phases.settings import SettingsError
from qnom.commands.render import Manifest, validate
from qnom.engine import run_program
from tests.support import build, run_cli, settings_for

REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
CLUSTER = "aws:eks/cluster:Cluster"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
RELEASE = "kubernetes:helm.sh/v3:Release"
# Seed, "Service Decomposition": replicas, cpu, memory.
SEED_SERVICES = {
    "api-gateway": (4, "500m", "1Gi"),
    "auth-service": (3, "250m", "512Mi"),
    "user-service": (3, "500m", "1Gi"),
    "order-service": (5, "1000m", "2Gi"),
    "notification-service": (2, "250m", "512Mi"),
}
# Seed, "Container Orchestration": the api-hpa's behaviour.
SEED_BEHAVIOR = {
    "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
        {"type": "Percent", "value": 100, "periodSeconds": 15}, {"type": "Pods", "value": 4, "periodSeconds": 15}]},
    "scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Max", "policies": [
        {"type": "Percent", "value": 10, "periodSeconds": 60}]},
}
SEED_METRICS = [
    {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}},
    {"type": "Resource", "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 80}}},
    {"type": "Pods", "pods": {"metric": {"name": "http_requests_per_second"},
                              "target": {"type": "AverageValue", "averageValue": "1000"}}},
]


def _tier(plan, region: str = "us-east-1") -> list:
    return [r for r in plan.resources if r.name.startswith(f"{region}-k8s")]


def _of(plan, resource_type: str, name: str):
    return plan.named(name, resource_type)


# --------------------------------------------------------------------------- the catalog

@pytest.mark.parametrize("number", [3, 4])
def test_catalog_holds_the_seed_services_and_hpa(number):
    kubernetes = load_phase(number).kubernetes
    assert {s.name: (s.replicas, s.cpu, s.memory) for s in kubernetes.services} == SEED_SERVICES
    hpa = kubernetes.hpa
    assert (hpa.min_replicas, hpa.max_replicas, hpa.cpu_utilization_percent, hpa.memory_utilization_percent,
            hpa.requests_per_second_per_pod) == (3, 100, 70, 80, 1000)
    assert kubernetes.version == "1.34"
    assert kubernetes.mesh is (number == 4)


def test_baseline_service_nodes_follow_the_seed_requests():
    kubernetes = load_phase(3).kubernetes
    # At the HPAs' minimums (the gateway's seed HPA: 3): 3x0.5 + 3x0.25 + 3x0.5 + 5x1 + 2x0.25 vCPU;
    # 3x1 + 3x0.5 + 3x1 + 5x2 + 2x0.5 GiB.
    assert sizing.requested(kubernetes) == (9250, 18944)
    # c5.large: 2000m - 70m reserved - 150m DaemonSets; 4096 MiB - (255 + 11 x 29) - 100 - 200.
    assert sizing.pod_share(kubernetes) == (1780, 3222)
    assert sizing.baseline_service_nodes(kubernetes, 5) == (6, "c5.large")  # 18944 / 3222 = 5.9
    assert sizing.baseline_service_nodes(kubernetes, 8) == (8, "c5.large")  # never below the spread domains
    assert sizing.baseline_service_nodes(load_phase(4).kubernetes, 5) == (8, "c5.large")  # ztunnel, istio-cni


@pytest.mark.parametrize(("spot_percent", "spot_only", "pools"), [
    (80, False, {"spot": ("1", "2", "3", "4"), "on-demand": ("5",)}),
    (80, True, {"spot": ("1", "2", "3", "4", "5")}),
    (0, False, {"on-demand": ("1", "2", "3", "4", "5")}),
])
def test_spot_split(spot_percent, spot_only, pools):
    assert karpenter.spread_values(spot_percent, spot_only) == pools
    # Spot falls back to on demand, except where the profile runs spot alone (seed: staging, no fallback).
    assert karpenter.capacity_types("spot", spot_only) == (["spot"] if spot_only else ["spot", "on-demand"])


# --------------------------------------------------------------------------- phases 1 and 2: nothing

@pytest.mark.parametrize("environment", ["dev", "prod"])
@pytest.mark.parametrize("phase", [1, 2])
def test_phases_1_and_2_declare_no_kubernetes_resource(environment, phase):
    plan = build(environment, phase)
    tier = ("kubernetes:", "aws:eks/", "pulumi:providers:kubernetes", "qnom:components:Kubernetes")
    assert [r.name for r in plan.resources if r.type.startswith(tier)] == []


# --------------------------------------------------------------------------- the clusters

@pytest.mark.parametrize("phase", [3, 4])
def test_a_cluster_in_every_region_under_its_region_and_provider(phase):
    plan = build("prod", phase)
    clusters = plan.of_type(CLUSTER)
    assert sorted(plan.enclosing_region(c) for c in clusters) == sorted(REGIONS)
    for cluster in clusters:
        region = plan.enclosing_region(cluster)
        assert cluster.name == f"{region}-k8s-cluster" and plan.region_of(cluster) == region
        assert cluster.inputs["name"] == "qnom-prod" and cluster.inputs["version"] == "1.34"


def test_cluster_endpoint_encryption_logs_and_access():
    plan = build("prod", 3)
    cluster = _of(plan, CLUSTER, "us-east-1-k8s-cluster")
    assert cluster.inputs["vpcConfig"]["endpointPrivateAccess"] is True
    assert cluster.inputs["vpcConfig"]["endpointPublicAccess"] is False  # no qnom:clusterPublicAccessCidrs
    assert cluster.inputs["encryptionConfig"]["resources"] == ["secrets"]
    assert cluster.dependencies["encryptionConfig"] == [_of(plan, "aws:kms/key:Key", "us-east-1-k8s-secrets-key").urn]
    assert cluster.inputs["enabledClusterLogTypes"] == ["api", "audit", "authenticator", "controllerManager",
                                                         "scheduler"]
    assert cluster.inputs["accessConfig"] == {"authenticationMode": "API",
                                              "bootstrapClusterCreatorAdminPermissions": False}
    assert cluster.inputs["upgradePolicy"] == {"supportType": "STANDARD"}
    logs = _of(plan, "aws:cloudwatch/logGroup:LogGroup", "us-east-1-k8s-control-plane")
    assert logs.inputs["name"] == "/aws/eks/qnom-prod/cluster" and logs.inputs["retentionInDays"] == 365
    # Encrypted with the region's log key, like every log group of the stack.
    assert logs.dependencies["kmsKeyId"] == [_of(plan, "aws:kms/key:Key", "us-east-1-logs-key").urn]
    assert _of(plan, "aws:kms/key:Key", "us-east-1-k8s-secrets-key").options["protect"] is True
    entries = {r.name: r.inputs["type"] for r in plan.of_type("aws:eks/accessEntry:AccessEntry")
               if r.name.startswith("us-east-1")}
    assert entries == {"us-east-1-k8s-admin": "STANDARD", "us-east-1-k8s-karpenter-node": "EC2_LINUX"}


def test_managed_addons_and_network_policy_enforcement():
    plan = build("prod", 3)
    addons = {r.inputs["addonName"]: r for r in plan.of_type("aws:eks/addon:Addon") if r.name.startswith("us-east-1")}
    assert sorted(addons) == ["amazon-cloudwatch-observability", "coredns", "eks-pod-identity-agent", "kube-proxy",
                              "metrics-server", "vpc-cni"]
    assert addons["vpc-cni"].inputs["configurationValues"] == '{"enableNetworkPolicy": "true"}'
    nodes = _of(plan, "aws:eks/nodeGroup:NodeGroup", "us-east-1-k8s-system")
    assert addons["coredns"].options["dependsOn"] == addons["metrics-server"].options["dependsOn"] == [nodes.urn]
    # No self-managed networking: the node group waits for the managed DaemonSets its nodes need.
    assert nodes.options["dependsOn"] == sorted(addons[name].urn for name in (
        "eks-pod-identity-agent", "kube-proxy", "vpc-cni"))
    cluster = _of(plan, CLUSTER, "us-east-1-k8s-cluster")
    assert cluster.inputs["bootstrapSelfManagedAddons"] is False
    assert nodes.inputs["instanceTypes"] == ["m5.large"] and nodes.inputs["capacityType"] == "ON_DEMAND"
    assert nodes.inputs["scalingConfig"] == {"minSize": 2, "desiredSize": 2, "maxSize": 4}


def test_the_kubernetes_provider_is_built_from_the_cluster():
    plan = build("prod", 3)
    provider = plan.named("us-east-1-k8s-provider", "pulumi:providers:kubernetes")
    assert provider.inputs["kubeconfig"] == "[secret]"
    assert provider.dependencies["kubeconfig"] == [_of(plan, CLUSTER, "us-east-1-k8s-cluster").urn]
    deployment = _of(plan, DEPLOYMENT, "us-east-1-k8s-api-gateway-deployment")
    assert deployment.provider == provider.urn


def test_each_service_reads_the_app_configuration_through_pod_identity():
    plan = build("prod", 3)
    role = plan.named("us-east-1-k8s-services", "aws:iam/role:Role")
    associations = {r.inputs["namespace"]: r
                    for r in plan.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
                    if r.name.startswith("us-east-1") and r.inputs["namespace"] != "kube-system"}
    assert sorted(associations) == sorted(SEED_SERVICES)
    assert all(r.inputs["serviceAccount"] == namespace and r.dependencies["roleArn"] == [role.urn]
               for namespace, r in associations.items())
    grants = sorted(r.name for r in plan.of_type("aws:iam/rolePolicy:RolePolicy")
                    if r.name.startswith("us-east-1-k8s-services-"))
    assert grants == ["us-east-1-k8s-services-config", "us-east-1-k8s-services-objects",
                      "us-east-1-k8s-services-secrets", "us-east-1-k8s-services-send"]


def test_the_data_stores_admit_the_cluster_security_group():
    plan = build("prod", 3)
    cluster = _of(plan, CLUSTER, "us-east-1-k8s-cluster")
    for store in ("db", "cache", "search"):
        rule = plan.named(f"us-east-1-{store}-sg-from-kubernetes")
        assert rule.dependencies["referencedSecurityGroupId"] == [cluster.urn]
        assert rule.inputs["referencedSecurityGroupId"] == "[unknown]"


# --------------------------------------------------------------------------- the services

def test_deployments_are_the_seed_services():
    plan = build("prod", 3)
    found = {}
    for deployment in plan.of_type(DEPLOYMENT):
        if not deployment.name.startswith("us-east-1"):
            continue
        [container] = deployment.inputs["spec"]["template"]["spec"]["containers"]
        requests, limits = container["resources"]["requests"], container["resources"]["limits"]
        assert limits == {"memory": requests["memory"]}
        found[deployment.inputs["metadata"]["namespace"]] = (
            deployment.inputs["metadata"]["name"], deployment.inputs["spec"]["replicas"], requests["cpu"],
            requests["memory"], container["image"])
        assert deployment.options["ignoreChanges"] == ["spec.replicas"]
    assert found == {name: ("api-deployment" if name == "api-gateway" else name, replicas, cpu, memory,
                            f"public.ecr.aws/qnom/{name}:stable")
                     for name, (replicas, cpu, memory) in SEED_SERVICES.items()}


def test_pods_are_locked_down_probed_and_spread():
    deployment = _of(build("prod", 3), DEPLOYMENT, "us-east-1-k8s-order-service-deployment")
    spec = deployment.inputs["spec"]["template"]["spec"]
    [container] = spec["containers"]
    assert container["securityContext"] == {
        "runAsNonRoot": True, "runAsUser": 10001, "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}
    assert [c["topologyKey"] for c in spec["topologySpreadConstraints"]] == [
        "topology.kubernetes.io/zone", "qnom.io/capacity-spread"]
    assert spec["automountServiceAccountToken"] is False


def test_the_api_hpa_is_the_seeds():
    hpa = _of(build("prod", 3), HPA, "us-east-1-k8s-api-gateway-hpa").inputs
    assert hpa["apiVersion"] == "autoscaling/v2" and hpa["metadata"]["name"] == "api-hpa"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api-deployment"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 100)
    assert hpa["spec"]["metrics"] == SEED_METRICS
    assert hpa["spec"]["behavior"] == SEED_BEHAVIOR


def test_every_other_service_scales_from_its_table_replicas():
    plan = build("prod", 3)
    for name, (replicas, _, _) in SEED_SERVICES.items():
        if name == "api-gateway":
            continue
        spec = _of(plan, HPA, f"us-east-1-k8s-{name}-hpa").inputs["spec"]
        assert (spec["minReplicas"], spec["maxReplicas"]) == (replicas, 100)
        assert spec["metrics"] == SEED_METRICS and spec["behavior"] == SEED_BEHAVIOR


def test_disruption_budgets_and_network_policies():
    plan = build("prod", 3)
    budget = _of(plan, "kubernetes:policy/v1:PodDisruptionBudget", "us-east-1-k8s-auth-service-pdb").inputs["spec"]
    assert budget["maxUnavailable"] == 1
    policies = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in plan.of_type(
        "kubernetes:networking.k8s.io/v1:NetworkPolicy") if r.name.startswith("us-east-1-k8s-auth-service")}
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    paths = policies["auth-service-paths"]
    # Only the gateway calls auth-service; it reaches PostgreSQL and Redis in the VPC.
    assert paths["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "api-gateway"}
    data = paths["egress"][-1]
    assert data["to"] == [{"ipBlock": {"cidr": "10.10.0.0/16"}}]
    assert [port["port"] for port in data["ports"]] == [5432, 6379]
    # A secondary region's services also reach the primary's stores (over the peering).
    secondary = [r for r in plan.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
                 if r.name == "us-west-2-k8s-order-service-netpol-order-service-paths"][0].inputs["spec"]
    assert secondary["egress"][-1]["to"] == [{"ipBlock": {"cidr": "10.20.0.0/16"}},
                                             {"ipBlock": {"cidr": "10.10.0.0/16"}}]


def test_karpenter_metrics_and_charts_are_pinned_releases():
    plan = build("prod", 3)
    releases = {r.inputs["name"]: r.inputs for r in plan.of_type(RELEASE) if r.name.startswith("us-east-1")}
    assert {name: (spec["chart"], spec["version"]) for name, spec in releases.items()} == {
        "karpenter": ("oci://public.ecr.aws/karpenter/karpenter", "1.8.1"),
        "prometheus": ("prometheus", "27.42.0"),
        "prometheus-adapter": ("prometheus-adapter", "5.2.0"),
    }
    rule = releases["prometheus-adapter"]["values"]["rules"]["custom"][0]
    assert rule["name"] == {"matches": "^http_requests_total$", "as": "http_requests_per_second"}
    association = plan.named("us-east-1-k8s-karpenter", "aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert (association.inputs["namespace"], association.inputs["serviceAccount"]) == ("kube-system", "karpenter")
    pools = {r.inputs["metadata"]["name"]: r.inputs["spec"]["template"]["spec"]["requirements"]
             for r in plan.of_type("kubernetes:karpenter.sh/v1:NodePool") if r.name.startswith("us-east-1")}
    assert {name: (reqs[0]["values"], reqs[2]["values"]) for name, reqs in pools.items()} == {
        "spot": (["spot", "on-demand"], ["1", "2", "3", "4"]), "on-demand": (["on-demand"], ["5"])}


# --------------------------------------------------------------------------- phase 4 and promotion

def test_phase_4_adds_istio_ambient_with_strict_mutual_tls():
    plan = build("prod", 4)
    releases = [r for r in plan.of_type(RELEASE) if r.name.startswith("us-east-1") and "istio" in r.name
                or r.name == "us-east-1-k8s-ztunnel"]
    assert {r.inputs["name"]: r.inputs["version"] for r in releases} == {
        "istio-base": "1.28.0", "istiod": "1.28.0", "istio-cni": "1.28.0", "ztunnel": "1.28.0"}
    for service in SEED_SERVICES:
        strict = plan.named(f"us-east-1-k8s-{service}-mtls-strict")
        assert strict.inputs["kind"] == "PeerAuthentication" and strict.inputs["metadata"]["namespace"] == service
        assert strict.inputs["spec"] == {"mtls": {"mode": "STRICT"}}
        labels = plan.named(f"us-east-1-k8s-{service}-namespace").inputs["metadata"]["labels"]
        assert labels["istio.io/dataplane-mode"] == "ambient"
    # Prometheus joins the mesh to scrape the services; its namespace stays PERMISSIVE for the API server.
    assert plan.named("us-east-1-k8s-monitoring").inputs["metadata"]["labels"]["istio.io/dataplane-mode"] == "ambient"
    assert not [r for r in plan.resources if r.name == "us-east-1-k8s-monitoring-mtls-strict"]
    phase_3 = build("prod", 3)
    assert "istio.io/dataplane-mode" not in phase_3.named("us-east-1-k8s-user-service-namespace").inputs[
        "metadata"]["labels"]
    assert not [r for r in phase_3.resources if r.name.endswith("-mtls-strict")]


def test_promotion_2_to_3_only_adds_the_tier():
    before, after = build("prod", 2), build("prod", 3)
    old = {r.urn: r for r in before.resources}
    tier = [r for r in after.resources if "qnom:components:Kubernetes" in r.urn or r.name.endswith("-from-kubernetes")]
    assert tier and all(r.urn not in old for r in tier)
    # The data stores' groups stay as they were: the cluster's access arrives as new rules.
    for name in ("us-east-1-db-sg", "us-east-1-cache-sg"):
        [group] = [r for r in before.resources if r.name == name]
        assert after.run.by_urn[group.urn].inputs == group.inputs


def test_promotion_3_to_4_replaces_nothing_in_the_tier():
    before, after = build("prod", 3), build("prod", 4)
    new = after.run.by_urn
    tier = [r for r in before.resources if "qnom:components:Kubernetes" in r.urn]
    assert tier and all(r.urn in new for r in tier)
    changed = sorted(r.name for r in tier if r.inputs != new[r.urn].inputs)
    # The namespaces join the mesh (a label) and the services' policies admit its ports; in a secondary
    # region the services read the AUTH secret of the datastore member that now serves the region.
    assert all(name.endswith(("-namespace", "-paths", "-monitoring")) for name in changed
               if not name.endswith("-services-secrets")), changed
    assert [name for name in changed if name.endswith("-services-secrets")] == [
        "eu-west-1-k8s-services-secrets", "us-west-2-k8s-services-secrets"]
    cluster = [r for r in tier if r.type == CLUSTER]
    assert all(r.inputs == new[r.urn].inputs for r in cluster)
    from qnom.awsrules.force_new import promotion_hazards, replacements

    assert [h for h in promotion_hazards(before.run, after.run) if h.type == CLUSTER] == []
    # A renamed cluster would be a new control plane: the promotion check names it.
    renamed = dataclasses.replace(cluster[0], inputs={**cluster[0].inputs, "name": "qnom-prod-2"})
    assert [str(h) for h in replacements(cluster[0], renamed)] == [
        f"{cluster[0].name}.name: 'qnom-prod' -> 'qnom-prod-2'"]


# --------------------------------------------------------------------------- the component alone

def one_cluster_program(stack: str, region: str, spec: str, vpc_cidr: str, tag: str,
                        public_access_cidrs: tuple[str, ...]) -> str:
    """A program of one region's Kubernetes tier alone; `spec` is the Python expression of its catalog block."""
    return textwrap.dedent(f'''
        import pulumi
        import pulumi_aws as aws

        from components.kubernetes.kubernetes import Kubernetes, KubernetesArgs
        from phases.catalog import load_phase
        from phases.environment import PROFILES
        from tests.support import settings_for

        provider = aws.Provider("aws-{region}", aws.ProviderArgs(region="{region}"))
        Kubernetes("{region}-k8s", KubernetesArgs(
            spec={spec},
            region="{region}",
            cluster_name="qnom-{stack}",
            vpc_cidr="{vpc_cidr}",
            subnet_ids=["subnet-a", "subnet-b", "subnet-c"],
            profile=PROFILES["{stack}"],
            images={{name: f"public.ecr.aws/qnom/{{name}}:{tag}" for name in (
                "api-gateway", "auth-service", "user-service", "order-service", "notification-service")}},
            config_path="/qnom/{stack}/app",
            public_access_cidrs={public_access_cidrs!r},
            admin_role_arn="arn:aws:iam::123456789012:role/qnom-deployer",
            data_cidrs=["10.10.0.0/16"],
        ), pulumi.ResourceOptions(providers={{"aws": provider}}))
    ''')


STAGING_PROGRAM = one_cluster_program("staging", "us-west-2", "load_phase(3).kubernetes", "10.20.0.0/16", "test",
                                      ("203.0.113.0/24",))


@pytest.fixture(scope="module")
def staging_run(tmp_path_factory):
    program = tmp_path_factory.mktemp("k8s-staging") / "program.py"
    program.write_text(STAGING_PROGRAM)
    return run_program("staging", {"aws:region": "us-west-2"}, program=program)


def test_the_public_endpoint_opens_only_to_the_listed_networks(staging_run):
    [cluster] = [r for r in staging_run.resources if r.type == CLUSTER]
    assert cluster.inputs["vpcConfig"]["endpointPublicAccess"] is True
    assert cluster.inputs["vpcConfig"]["publicAccessCidrs"] == ["203.0.113.0/24"]
    assert cluster.inputs["vpcConfig"]["endpointPrivateAccess"] is True
    assert staging_run.region_of(cluster) == "us-west-2"


def test_the_configured_role_administers_the_cluster(staging_run):
    [admin] = [r for r in staging_run.resources if r.name == "us-west-2-k8s-admin" and r.type.endswith("AccessEntry")]
    assert admin.inputs["principalArn"] == "arn:aws:iam::123456789012:role/qnom-deployer"
    # Without the setting: the deploying principal (the plan's caller identity).
    prod = build("prod", 3).named("us-east-1-k8s-admin", "aws:eks/accessEntry:AccessEntry")
    assert prod.inputs["principalArn"] == "arn:aws:iam::123456789012:user/qnom-plan"


def test_staging_runs_the_services_on_spot_alone(staging_run):
    pools = {r.inputs["metadata"]["name"]: r.inputs["spec"]["template"]["spec"]["requirements"]
             for r in staging_run.resources if r.type == "kubernetes:karpenter.sh/v1:NodePool"}
    assert {name: (reqs[0]["values"], reqs[2]["values"]) for name, reqs in pools.items()} == {
        "spot": (["spot"], ["1", "2", "3", "4", "5"])}
    deployment = next(r for r in staging_run.resources if r.type == DEPLOYMENT)
    spread = deployment.inputs["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert [c["topologyKey"] for c in spread] == ["topology.kubernetes.io/zone"]
    # Nothing protected in staging, the secrets key included.
    key = next(r for r in staging_run.resources if r.name == "us-west-2-k8s-secrets-key")
    assert key.options["protect"] is False


# --------------------------------------------------------------------------- the cost-optimised profile: Graviton nodes

def test_the_optimised_profile_runs_the_nodes_on_graviton():
    kubernetes = settings_for("prod", 3, costProfile="optimised").phase.kubernetes
    assert kubernetes.system_nodes.instance_type == "m6g.large"
    nodes = kubernetes.service_nodes
    assert nodes.instance_types == ["c6g.large", "c7g.large", "c6gn.large", "m6g.large", "c6g.xlarge", "c7g.xlarge",
                                    "c6gn.xlarge", "m6g.xlarge"]
    # c6g.large: 2 vCPU, 4 GiB, 29 pods (eni-max-pods.txt), as c5.large: the same 6 (phase 4: 8) nodes.
    assert (nodes.sizing_instance_type, nodes.sizing_vcpus, nodes.sizing_memory_gib, nodes.sizing_max_pods) == (
        "c6g.large", 2, 4, 29)
    assert sizing.baseline_service_nodes(kubernetes, 5) == (6, "c6g.large")
    four = settings_for("prod", 4, costProfile="optimised").phase.kubernetes
    assert sizing.baseline_service_nodes(four, 5) == (8, "c6g.large")
    # The standard profile keeps the catalog's nodes.
    assert settings_for("prod", 3).phase.kubernetes.system_nodes.instance_type == "m5.large"


@pytest.mark.parametrize(("standard", "twin"), sorted(cost_profile.OPTIMISED_NODE_TYPES.items()))
def test_every_graviton_twin_has_equal_or_more_capacity(standard, twin):
    (cpu, memory, pods), (twin_cpu, twin_memory, twin_pods) = (cost_profile.NODE_SIZES[standard],
                                                               cost_profile.NODE_SIZES[twin])
    assert twin_cpu >= cpu and twin_memory >= memory and twin_pods == pods
    assert instance_architecture(standard) == "x86_64" and instance_architecture(twin) == "arm64"


@pytest.mark.parametrize(("chosen", "others"), [("m6g.large", ["m7g.large"]),
                                                ("c6g.large", ["c7g.large", "c6gn.large"])])
def test_the_system_and_sizing_twins_are_the_cheapest_of_their_size(chosen, others):
    from qnom.cost import rate

    for region in REGIONS:
        assert all(rate("ec2_instance_hour", chosen, region) < rate("ec2_instance_hour", other, region)
                   for other in others), region


def test_a_node_pool_list_runs_one_architecture():
    with pytest.raises(SettingsError) as error:
        settings_for("prod", 3, {"kubernetes": {"service_nodes": {"instance_types": ["c5.large", "c6g.large"]}}})
    assert ("instance_types must share one architecture, got {'c5.large': 'x86_64', 'c6g.large': 'arm64'}"
            in str(error.value))


OPTIMISED_PROGRAM = one_cluster_program(
    "prod", "us-east-1", 'settings_for("prod", 3, costProfile="optimised").phase.kubernetes', "10.10.0.0/16", "stable", ())


@pytest.fixture(scope="module")
def optimised_run(tmp_path_factory):
    program = tmp_path_factory.mktemp("k8s-optimised") / "program.py"
    program.write_text(OPTIMISED_PROGRAM)
    return run_program("prod", {"aws:region": "us-east-1"}, program=program)


def test_the_optimised_system_node_group_boots_the_arm64_image(optimised_run):
    [group] = [r for r in optimised_run.resources if r.type == "aws:eks/nodeGroup:NodeGroup"]
    assert group.inputs["instanceTypes"] == ["m6g.large"] and group.inputs["amiType"] == "AL2023_ARM_64_STANDARD"
    # No fixed name: the profile switch replaces the group (ForceNew), the new one created first.
    assert "nodeGroupName" not in group.inputs and "nodeGroupNamePrefix" not in group.inputs
    standard = build("prod", 3).named("us-east-1-k8s-system", "aws:eks/nodeGroup:NodeGroup")
    assert standard.inputs["amiType"] == "AL2023_x86_64_STANDARD" and "nodeGroupName" not in standard.inputs


def test_the_optimised_node_pools_launch_graviton_types_only(optimised_run):
    pools = {r.inputs["metadata"]["name"]: r.inputs["spec"]["template"]["spec"]["requirements"]
             for r in optimised_run.resources if r.type == "kubernetes:karpenter.sh/v1:NodePool"}
    assert sorted(pools) == ["on-demand", "spot"]
    for requirements in pools.values():
        by_key = {item["key"]: (item["operator"], item["values"]) for item in requirements}
        assert by_key["kubernetes.io/arch"] == ("In", ["arm64"])
        assert by_key["node.kubernetes.io/instance-type"] == ("In", [
            "c6g.large", "c7g.large", "c6gn.large", "m6g.large", "c6g.xlarge", "c7g.xlarge", "c6gn.xlarge",
            "m6g.xlarge"])
    # The standard profile's pools are as they were: no architecture requirement, the catalog's types.
    standard = _of(build("prod", 3), "kubernetes:karpenter.sh/v1:NodePool", "us-east-1-k8s-node-pool-spot")
    requirements = standard.inputs["spec"]["template"]["spec"]["requirements"]
    assert [item["key"] for item in requirements] == [
        "karpenter.sh/capacity-type", "node.kubernetes.io/instance-type", "qnom.io/capacity-spread"]
    assert requirements[1]["values"][0] == "c5.large"


# --------------------------------------------------------------------------- settings

def test_public_endpoint_cidrs_are_checked():
    settings = settings_for("prod", 3, clusterPublicAccessCidrs="203.0.113.0/24, 198.51.100.0/24")
    assert settings.cluster_public_access_cidrs == ("203.0.113.0/24", "198.51.100.0/24")
    with pytest.raises(SettingsError) as error:
        settings_for("prod", 3, clusterPublicAccessCidrs="0.0.0.0/0")
    assert "qnom:clusterPublicAccessCidrs: got '0.0.0.0/0': the cluster's API would be open" in str(error.value)
    with pytest.raises(SettingsError) as error:
        settings_for("prod", 3, clusterAdminRoleArn="arn:aws:iam::123456789012:user/alice")
    assert "qnom:clusterAdminRoleArn: got 'arn:aws:iam::123456789012:user/alice'; allowed values: an IAM role ARN" in str(
        error.value)


def test_a_service_without_an_image_setting_is_refused():
    services = [{"name": "api-gateway", "replicas": 4, "cpu": "500m", "memory": "1Gi"},
                {"name": "search-service", "replicas": 2, "cpu": "250m", "memory": "512Mi"}]
    with pytest.raises(SettingsError) as error:
        settings_for("prod", 3, {"kubernetes": {"services": services}})
    assert ("qnom:overrides.kubernetes.services: kubernetes.services ['search-service'] have no image setting"
            in str(error.value))


# --------------------------------------------------------------------------- qnom render k8s

@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("phase", ["1", "2", "3", "4"])
def test_render_writes_and_validates_every_object(capsys, tmp_path, stack, phase):
    result = run_cli(capsys, "render", "k8s", "--stack", stack, "--phase", phase, "--date", "2025-11-01",
                     "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    if phase in ("1", "2"):
        assert "declares no Kubernetes object" in result.stdout and not list(tmp_path.iterdir())
        return
    # Per region: 6 namespaces, 5 x (account, deployment, service, HPA, PDB, 2 policies); custom resources:
    # the node class, 2 node pools (phase 4: and 5 PeerAuthentications); releases: 3 (phase 4: 7).
    custom, helm = (3, 3) if phase == "3" else (8, 7)
    assert f"({3 * custom} custom resource, {3 * helm} helm release, 123 valid)" in result.stdout, result.stdout
    hpa = yaml.safe_load((tmp_path / "us-east-1" / "api-gateway" / "horizontalpodautoscaler-api-hpa.yaml").read_text())
    assert hpa["spec"]["behavior"] == SEED_BEHAVIOR


def test_render_json_follows_its_schema(capsys, tmp_path):
    import json

    import jsonschema

    from qnom.engine import PROJECT_DIR

    schema = json.loads((PROJECT_DIR / "docs" / "schemas" / "qnom.render-k8s.v1.schema.json").read_text())
    result = run_cli(capsys, "render", "k8s", "--stack", "prod", "--phase", "4", "--date", "2025-11-01",
                     "--out", str(tmp_path), "--json")
    document = json.loads(result.stdout)
    jsonschema.validate(document, schema)
    assert result.returncode == 0 and document["valid"] is True and document["kubernetesVersion"] == "1.34"
    hpa = next(item for item in document["objects"] if item["name"] == "api-hpa" and item["region"] == "us-east-1")
    assert (hpa["kind"], hpa["namespace"], hpa["status"], hpa["path"]) == (
        "HorizontalPodAutoscaler", "api-gateway", "valid", "us-east-1/api-gateway/horizontalpodautoscaler-api-hpa.yaml")


def test_a_bad_manifest_fails_with_the_object_and_the_schema_error():
    plan = build("prod", 3)
    deployment = _of(plan, DEPLOYMENT, "us-east-1-k8s-api-gateway-deployment")
    document = {**deployment.inputs, "spec": {**deployment.inputs["spec"], "replica": 3}}
    outcome = validate(Manifest("us-east-1", None, document, deployment), "1.34")
    assert outcome.status == "invalid"
    assert outcome.error == ("spec: Additional properties are not allowed ('replica' was unexpected) "
                             "(Kubernetes 1.34 schema)")
    assert outcome.manifest.label == ("Deployment api-gateway/api-deployment "
                                      "(us-east-1, us-east-1-k8s-api-gateway-deployment)")
    assert validate(Manifest("us-east-1", None, deployment.inputs, deployment), "1.34").status == "valid"
