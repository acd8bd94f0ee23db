"""The cost-optimised profile (`qnom:costProfile optimised`): the same capacity for less.

- Every instance type of the catalog maps to one with equal or more vCPUs and memory on AWS
  Graviton (arm64): EC2 for the API groups and workers (their launch templates then boot the arm64
  Amazon Linux 2023 image, so the app's container image must be published for linux/arm64),
  RDS, Aurora and ElastiCache. OpenSearch already runs on Graviton. A change of class is an
  in-place modification of a database or cache (a restart or failover, never a replacement); a
  group's new type and image roll in through its instance refresh.
- The API groups run a spot share: half the region's everyday minimum (rounded up) stays on
  demand, and everything above it runs on spot across several types of at least the API type's
  size (capacity-optimized pools, capacity rebalancing). The seed keeps spot for workloads that can
  lose an instance; an API group above that base is one: the base alone carries the seed's current
  load (two phase-1 instances run at 20% utilisation), and the load balancer stops routing to an
  instance two minutes before its spot interruption.
- Kubernetes (phases 3-4, `optimised_kubernetes`): the EKS system node group and the Karpenter
  service node pools move to Graviton twins of the same vCPUs and memory (`OPTIMISED_NODE_TYPES`);
  the service images must then be published for linux/arm64. The switch replaces the system node
  group and drifts the service nodes (components/kubernetes/cluster.py, karpenter.py).
"""

from __future__ import annotations

import copy
import math
from typing import Any, Literal

CostProfileName = Literal["standard", "optimised"]

# Kubernetes nodes ---------------------------------------------------------------------------
# EKS nodes run the AL2023 image of their own architecture (the node group's AMI type, Karpenter's
# `al2023@latest` alias), so the optimised profile moves them to Graviton (arm64). Every service
# image, and every chart's, must then be published for linux/arm64.

OPTIMISED_NODE_TYPES: dict[str, str] = {
    # The system node group: m5.large (2 vCPU, 8 GiB) -> m6g.large, $0.077 an hour in us-east-1
    # against m7g.large's $0.0816 (Amazon EC2 On-Demand Pricing, Linux).
    "m5.large": "m6g.large",
    # The service node pools: the same sizes on Graviton, one twin per catalog type. c6g is the
    # cheapest of c6g, c7g and c6gn at each size, so the sizing type c5.large becomes c6g.large.
    "c5.large": "c6g.large",
    "c5a.large": "c7g.large",
    "c6i.large": "c6gn.large",
    "c5.xlarge": "c6g.xlarge",
    "c5a.xlarge": "c7g.xlarge",
    "c6i.xlarge": "c6gn.xlarge",
    "m5.xlarge": "m6g.xlarge",
}
"""Catalog node type -> its Graviton twin (equal vCPUs and memory)."""
NODE_SIZES: dict[str, tuple[int, int, int]] = {
    # (vCPUs, memory GiB, EKS max pods). vCPUs and memory: Amazon EC2 Instance Types, "Specifications";
    # max pods: awslabs/amazon-eks-ami `templates/shared/runtime/eni-max-pods.txt` (ENIs x (IPs per
    # ENI - 1) + 2: 3 x 9 + 2 for large, 4 x 14 + 2 for xlarge).
    **dict.fromkeys(("c5.large", "c5a.large", "c6i.large", "c6g.large", "c7g.large", "c6gn.large"), (2, 4, 29)),
    **dict.fromkeys(("m5.large", "m6g.large"), (2, 8, 29)),
    **dict.fromkeys(("c5.xlarge", "c5a.xlarge", "c6i.xlarge", "c6g.xlarge", "c7g.xlarge", "c6gn.xlarge"), (4, 8, 58)),
    **dict.fromkeys(("m5.xlarge", "m6g.xlarge"), (4, 16, 58)),
}
"""Node type -> (vCPUs, memory GiB, max pods): what the services' baseline is sized with."""


OPTIMISED_TYPES: dict[str, str] = {
    # EC2, Graviton at the same vCPU and memory: t4g.medium 2 vCPU / 4 GiB, t4g.large 2 / 8,
    # m6g/m7g/m6gd/m7gd.large 2 / 8 (the workers' four spot pools stay four). The API's c5.xlarge
    # (-> c6g.xlarge) and the workers' m5.large (-> m6g.large) are node twins too, listed above.
    **OPTIMISED_NODE_TYPES,
    "t3.medium": "t4g.medium",
    "t3.large": "t4g.large",
    "m5a.large": "m6gd.large",
    "m6i.large": "m7g.large",
    "m6a.large": "m7gd.large",
    # RDS and Aurora PostgreSQL: Graviton at the same vCPU and memory.
    "db.t3.medium": "db.t4g.medium",
    "db.r5.large": "db.r6g.large",
    "db.r5.xlarge": "db.r6g.xlarge",
    # ElastiCache: Graviton nodes (the global datastore accepts R6g).
    "cache.t3.micro": "cache.t4g.micro",
    "cache.r5.large": "cache.r6g.large",
}
"""Standard type -> its cost-optimised equivalent, the Kubernetes nodes' included."""
STANDARD_TYPES = {value: key for key, value in OPTIMISED_TYPES.items()}
CHEAPEST_WORKER = "m6g.large"
"""The cheapest of the optimised workers' types (2 vCPU, 8 GiB on Graviton): on demand runs it."""

API_SPOT_TYPES: dict[str, list[str]] = {
    # The API type first, then Graviton types with at least its vCPUs and memory (more spot pools).
    "t4g.medium": ["t4g.medium", "c6g.large", "c7g.large"],
    "t4g.large": ["t4g.large", "m6g.large", "m7g.large"],
    "c6g.xlarge": ["c6g.xlarge", "c7g.xlarge", "c6gn.xlarge", "m6g.xlarge"],
}
"""An optimised API type -> the types its group may launch."""
API_ON_DEMAND_PERCENT_OF_MIN = 50
"""The optimised API groups' on-demand base, as a share of the region's everyday minimum (rounded up)."""


def api_on_demand_base(minimum: int, percent_of_min: int = API_ON_DEMAND_PERCENT_OF_MIN) -> int:
    """Instances an API group keeps on demand: `percent_of_min` of its everyday minimum, rounded up."""
    return math.ceil(minimum * percent_of_min / 100)


def optimised(instance_type: str) -> str:
    return OPTIMISED_TYPES.get(instance_type, instance_type)


def standard(instance_type: str) -> str:
    return STANDARD_TYPES.get(instance_type, instance_type)


def apply_profile(document: dict[str, Any], profile: CostProfileName) -> dict[str, Any]:
    """The phase document with the profile's instance types (a copy; `standard` changes nothing)."""
    if profile == "standard":
        return document
    document = copy.deepcopy(document)
    api_type = document["api"]["instance_type"] = optimised(document["api"]["instance_type"])
    if api_type in API_SPOT_TYPES:  # a type the profile does not know (an override) stays on demand
        document["api"]["spot"] = {"instance_types": API_SPOT_TYPES[api_type],
                                   "on_demand_percent_of_min": API_ON_DEMAND_PERCENT_OF_MIN}
    database = document["database"]
    database["instance_class"] = optimised(database["instance_class"])
    if database.get("aurora"):
        database["aurora"]["replica_instance_class"] = optimised(database["aurora"]["replica_instance_class"])
    document["cache"]["node_type"] = optimised(document["cache"]["node_type"])
    if document.get("workers"):
        document["workers"]["instance_types"] = worker_types(document["workers"]["instance_types"])
    if document.get("kubernetes"):
        document["kubernetes"] = optimised_kubernetes(document["kubernetes"])
    return document


def worker_types(types: list[str]) -> list[str]:
    """The workers' optimised types with the cheapest one first: on demand runs the first."""
    return sorted((optimised(name) for name in types), key=lambda name: name != CHEAPEST_WORKER)


def optimised_kubernetes(kubernetes: dict[str, Any]) -> dict[str, Any]:
    """The Kubernetes block with Graviton nodes: the system node group's type, and the service node
    pools' types with the sizing type's vCPUs, memory and max pods. A list moves only when every type
    in it has a twin (a list runs one architecture); a partial block (a phase file's) is left alone."""
    kubernetes = copy.deepcopy(kubernetes)
    system = kubernetes.get("system_nodes") or {}
    if system.get("instance_type") in OPTIMISED_NODE_TYPES:
        system["instance_type"] = optimised(system["instance_type"])
    service = kubernetes.get("service_nodes") or {}
    types, sizing = service.get("instance_types") or [], service.get("sizing_instance_type")
    if types and sizing and all(name in OPTIMISED_NODE_TYPES for name in [*types, sizing]):
        service["instance_types"] = [optimised(name) for name in types]
        service["sizing_instance_type"] = optimised(sizing)
        service["sizing_vcpus"], service["sizing_memory_gib"], service["sizing_max_pods"] = (
            NODE_SIZES[service["sizing_instance_type"]])
    return kubernetes
