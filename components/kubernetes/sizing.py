"""How many service nodes the seed's minimum replicas need: the baseline the phase is priced with.

Karpenter launches the service nodes on demand, so no resource carries this number; it is the
size the phase's fixed cost assumes (README, "Kubernetes") and a test pins it to the seed's table.

Formula, for the catalog's sizing instance type:
    allocatable CPU    = vCPUs x 1000 - kube-reserved CPU
    allocatable memory = memory - kube-reserved memory - eviction threshold
    nodes = ceil(max(sum(replicas x cpu) / allocatable CPU,
                     sum(replicas x memory) / allocatable memory) / fill)
kube-reserved follows the Amazon EKS AMI's bootstrap (awslabs/amazon-eks-ami, nodeadm
`internal/kubelet/config.go`): CPU 6% of the first core, 1% of the second, 0.5% of cores three
and four, 0.25% above; memory 255 MiB + 11 MiB per pod the instance can hold; eviction at 100 MiB.
"""

from __future__ import annotations

import math

from phases.models import Kubernetes

EVICTION_MEMORY_MI = 100
_CPU_RESERVED_SHARES = ((1, 0.06), (1, 0.01), (2, 0.005))
_CPU_RESERVED_REST = 0.0025


def reserved_cpu_millicores(vcpus: int) -> int:
    reserved, left = 0.0, vcpus
    for cores, share in _CPU_RESERVED_SHARES:
        used = min(cores, left)
        reserved += used * 1000 * share
        left -= used
    return math.ceil(reserved + left * 1000 * _CPU_RESERVED_REST)


def reserved_memory_mebibytes(max_pods: int) -> int:
    return 255 + 11 * max_pods


def allocatable(spec: Kubernetes) -> tuple[int, int]:
    """(millicores, MiB) a sizing node offers to pods."""
    nodes = spec.service_nodes
    cpu = nodes.sizing_vcpus * 1000 - reserved_cpu_millicores(nodes.sizing_vcpus)
    memory = nodes.sizing_memory_gib * 1024 - reserved_memory_mebibytes(nodes.sizing_max_pods) - EVICTION_MEMORY_MI
    return cpu, memory


def requested(spec: Kubernetes) -> tuple[int, int]:
    """(millicores, MiB) the services request at their catalog replicas."""
    cpu = sum(service.replicas * service.cpu_millicores for service in spec.services)
    memory = sum(service.replicas * service.memory_mebibytes for service in spec.services)
    return cpu, memory


def baseline_service_nodes(spec: Kubernetes) -> tuple[int, str]:
    """How many service nodes of the sizing type (and which type) the catalog's replicas fill to
    `fill_percent`."""
    (cpu, memory), (node_cpu, node_memory) = requested(spec), allocatable(spec)
    fill = spec.service_nodes.fill_percent / 100
    return math.ceil(max(cpu / node_cpu, memory / node_memory) / fill), spec.service_nodes.sizing_instance_type
