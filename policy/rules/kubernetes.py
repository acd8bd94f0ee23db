"""Rules for the Kubernetes tier: the EKS clusters (endpoint, secrets encryption, control plane
logs) and the services' workloads (non-root and locked-down containers, resources with a memory
limit, probes, a PodDisruptionBudget for every Deployment).
"""

from __future__ import annotations

from pulumi_policy import Severity

from policy.framework import Check, References, Registry
from policy.resource_types import EKS_CLUSTER, K8S_DEPLOYMENT, K8S_PDB
from policy.views import Resource, Stack, elements, lookup, plain, truthy

RULES = Registry()

REQUIRED_CONTROL_PLANE_LOGS = ("api", "audit", "authenticator")
"""Who called the API server, what they did, and how they authenticated: the logs an incident needs."""
OPEN_TO_ALL = ("0.0.0.0/0",)


def _containers(resource: Resource) -> list:
    return [plain(item) for item in elements(resource.require("spec.template.spec.containers"))]


# --------------------------------------------------------------------------- EKS clusters

@RULES.resource(
    id="eks-endpoint-not-open",
    description="EKS clusters keep the private endpoint on and open the public one only to listed networks.",
    severity=Severity.HIGH,
    resource_types=(EKS_CLUSTER,),
    references=References(checkov=("CKV_AWS_38", "CKV_AWS_39"), aws=("EKS.1",)),
)
def eks_endpoint(resource: Resource, check: Check):
    if truthy(resource.require("vpcConfig.endpointPrivateAccess")) is not True:
        yield "vpcConfig.endpointPrivateAccess is off: nodes and pods reach the API server over the internet"
    if truthy(resource.require("vpcConfig.endpointPublicAccess", True)) is not True:
        return
    cidrs = resource.require("vpcConfig.publicAccessCidrs") or list(OPEN_TO_ALL)
    open_to_all = [cidr for cidr in cidrs if cidr in OPEN_TO_ALL]
    if open_to_all:
        yield "vpcConfig.publicAccessCidrs lets the whole internet reach the public endpoint (0.0.0.0/0, the default)"


@RULES.resource(
    id="eks-secrets-encrypted",
    description="EKS clusters envelope-encrypt Kubernetes secrets with a customer-managed KMS key.",
    severity=Severity.HIGH,
    resource_types=(EKS_CLUSTER,),
    references=References(checkov=("CKV_AWS_58",), aws=("EKS.3",)),
)
def eks_secrets(resource: Resource, check: Check):
    config = resource.require("encryptionConfig")
    resources = (config or {}).get("resources") or []
    if "secrets" not in resources or not resource.has("encryptionConfig.provider.keyArn"):
        yield "encryptionConfig does not encrypt secrets with a KMS key: etcd holds them in plain text"


@RULES.resource(
    id="eks-control-plane-logs",
    description="EKS clusters send the api, audit and authenticator control plane logs to CloudWatch.",
    severity=Severity.MEDIUM,
    resource_types=(EKS_CLUSTER,),
    references=References(checkov=("CKV_AWS_37",), aws=("EKS.8",)),
)
def eks_logs(resource: Resource, check: Check):
    enabled = resource.require("enabledClusterLogTypes") or []
    missing = [kind for kind in REQUIRED_CONTROL_PLANE_LOGS if kind not in enabled]
    if missing:
        yield f"enabledClusterLogTypes lacks {', '.join(missing)}"


# --------------------------------------------------------------------------- workloads

@RULES.resource(
    id="k8s-containers-non-root",
    description=("Deployments run containers as non-root, with a read-only root filesystem, no privilege "
                 "escalation, every capability dropped and the RuntimeDefault seccomp profile."),
    severity=Severity.HIGH,
    resource_types=(K8S_DEPLOYMENT,),
    references=References(),
)
def non_root(resource: Resource, check: Check):
    pod = plain(resource.require("spec.template.spec.securityContext")) or {}
    for container in _containers(resource):
        context, name = container.get("securityContext") or {}, container.get("name")
        if not (context.get("runAsNonRoot", pod.get("runAsNonRoot")) is True):
            yield f"container {name!r} may run as root (runAsNonRoot is not true)"
        if context.get("readOnlyRootFilesystem") is not True:
            yield f"container {name!r} can write its root filesystem"
        if context.get("allowPrivilegeEscalation") is not False:
            yield f"container {name!r} allows privilege escalation"
        if "ALL" not in ((context.get("capabilities") or {}).get("drop") or []):
            yield f"container {name!r} keeps Linux capabilities (capabilities.drop lacks ALL)"
        seccomp = (context.get("seccompProfile") or pod.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            yield f"container {name!r} runs without a seccomp profile"


@RULES.resource(
    id="k8s-containers-resources",
    description="Deployments request CPU and memory for every container and limit its memory to the request.",
    severity=Severity.MEDIUM,
    resource_types=(K8S_DEPLOYMENT,),
    references=References(well_architected=("REL07-BP01",)),
)
def resources(resource: Resource, check: Check):
    for container in _containers(resource):
        name = container.get("name")
        requests = lookup(container, "resources.requests") or {}
        limit = lookup(container, "resources.limits.memory")
        missing = [kind for kind in ("cpu", "memory") if not requests.get(kind)]
        if missing:
            yield f"container {name!r} requests no {' or '.join(missing)}: the scheduler and the HPA cannot size it"
        if not limit:
            yield f"container {name!r} has no memory limit: one pod can starve its node"
        elif requests.get("memory") and limit != requests["memory"]:
            yield (f"container {name!r} may use {limit} of memory but reserves {requests['memory']}: "
                   "the node can run out of memory the scheduler counted as free")


@RULES.resource(
    id="k8s-containers-probes",
    description="Deployments give every container a liveness and a readiness probe.",
    severity=Severity.MEDIUM,
    resource_types=(K8S_DEPLOYMENT,),
    references=References(well_architected=("REL11-BP01",)),
)
def probes(resource: Resource, check: Check):
    for container in _containers(resource):
        missing = [kind for kind in ("livenessProbe", "readinessProbe") if not container.get(kind)]
        if missing:
            yield f"container {container.get('name')!r} has no {' or '.join(missing)}"


def _selects(budget: Resource, labels: dict) -> bool:
    wanted = plain(budget.get("spec.selector.matchLabels")) or {}
    return bool(wanted) and all(labels.get(key) == value for key, value in wanted.items())


@RULES.stack(
    id="k8s-deployment-has-pdb",
    description="Every Deployment's pods are covered by a PodDisruptionBudget in its namespace.",
    severity=Severity.MEDIUM,
    resource_types=(K8S_DEPLOYMENT, K8S_PDB),
    references=References(well_architected=("REL10-BP01",)),
)
def deployment_pdb(stack: Stack, check: Check):
    deployments = stack.of_type(K8S_DEPLOYMENT)
    if not deployments:
        check.not_applicable("no Deployment")
    budgets = stack.of_type(K8S_PDB)
    for deployment in deployments:
        namespace = deployment.get("metadata.namespace")
        labels = plain(deployment.get("spec.template.metadata.labels")) or {}
        if not any(budget.get("metadata.namespace") == namespace and _selects(budget, labels) for budget in budgets):
            yield (f"{deployment.name}: no PodDisruptionBudget selects its pods: a node drain may evict them all "
                   "at once", deployment.urn)
