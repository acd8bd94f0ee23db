"""How many service nodes the services need at their minimum replicas: the baseline the phase is priced with.

Karpenter launches the service nodes for pending pods and consolidates under-used ones
(`WhenEmptyOrUnderutilized`), so at the HPAs' minimums the nodes settle at the packed size below; no
resource carries the number, it is what the phase's fixed cost assumes (README, "Kubernetes") and a
test pins it to the seed's table. Headroom above it is bought on demand, within a minute.

Formula, for the catalog's sizing instance type:
    pods' share of a node, CPU    = vCPUs x 1000 - kube-reserved CPU - DaemonSets' CPU
    pods' share of a node, memory = memory - kube-reserved memory - eviction threshold - DaemonSets' memory
    nodes = max(ceil(max(sum(minimum x cpu) / CPU share, sum(minimum x memory) / memory share)),
                the capacity-spread domains the spot split spreads every service over)
kube-reserved follows the Amazon EKS AMI's bootstrap (awslabs/amazon-eks-ami, nodeadm
`internal/kubelet/config.go`): CPU 6% of the first core, 1% of the second, 0.5% of cores three
and four, 0.25% above; memory 255 MiB + 11 MiB per pod the instance can hold; eviction at 100 MiB.
A service's minimum is its HPA's `minReplicas` (`hpa_minimum`).
"""

from __future__ import annotations

import math

from phases.models import Hpa, Kubernetes, ServiceSize

EVICTION_MEMORY_MI = 100
API_GATEWAY = "api-gateway"
_CPU_RESERVED_SHARES = ((1, 0.06), (1, 0.01), (2, 0.005))
_CPU_RESERVED_REST = 0.0025


def hpa_minimum(service: ServiceSize, hpa: Hpa) -> int:
    """The seed's HPA bounds are the API gateway's (min 3); every other service scales down to its
    table's replicas."""
    return hpa.min_replicas if service.name == API_GATEWAY else service.replicas


def reserved_cpu_millicores(vcpus: int) -> int:
    reserved, left = 0.0, vcpus
    for cores, share in _CPU_RESERVED_SHARES:
        used = min(cores, left)
        reserved += used * 1000 * share
        left -= used
    return math.ceil(reserved + left * 1000 * _CPU_RESERVED_REST)


def reserved_memory_mebibytes(max_pods: int) -> int:
    return 255 + 11 * max_pods


def pod_share(spec: Kubernetes) -> tuple[int, int]:
    """(millicores, MiB) of a sizing node left to the services' pods."""
    nodes = spec.service_nodes
    cpu = nodes.sizing_vcpus * 1000 - reserved_cpu_millicores(nodes.sizing_vcpus) - nodes.daemonset_cpu_millicores
    memory = (nodes.sizing_memory_gib * 1024 - reserved_memory_mebibytes(nodes.sizing_max_pods) - EVICTION_MEMORY_MI
              - nodes.daemonset_memory_mebibytes)
    return cpu, memory


def requested(spec: Kubernetes) -> tuple[int, int]:
    """(millicores, MiB) the services request at their HPAs' minimums."""
    cpu = sum(hpa_minimum(service, spec.hpa) * service.cpu_millicores for service in spec.services)
    memory = sum(hpa_minimum(service, spec.hpa) * service.memory_mebibytes for service in spec.services)
    return cpu, memory


def baseline_service_nodes(spec: Kubernetes, spread_domains: int) -> tuple[int, str]:
    """How many service nodes of the sizing type (and which type) the minimum replicas pack into,
    never fewer than the capacity domains every service is spread over."""
    (cpu, memory), (node_cpu, node_memory) = requested(spec), pod_share(spec)
    packed = math.ceil(max(cpu / node_cpu, memory / node_memory))
    return max(packed, spread_domains), spec.service_nodes.sizing_instance_type
