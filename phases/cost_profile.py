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
"""

from __future__ import annotations

import copy
import math
from typing import Any, Literal

CostProfileName = Literal["standard", "optimised"]

OPTIMISED_TYPES: dict[str, str] = {
    # EC2, Graviton at the same vCPU and memory: t4g.medium 2 vCPU / 4 GiB, t4g.large 2 / 8,
    # c6g.xlarge 4 / 8, m6g/m7g/m6gd/m7gd.large 2 / 8 (the workers' four spot pools stay four).
    "t3.medium": "t4g.medium",
    "t3.large": "t4g.large",
    "c5.xlarge": "c6g.xlarge",
    "m5.large": "m6g.large",
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
"""Standard type -> its cost-optimised equivalent."""
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
    return document


def worker_types(types: list[str]) -> list[str]:
    """The workers' optimised types with the cheapest one first: on demand runs the first."""
    return sorted((optimised(name) for name in types), key=lambda name: name != CHEAPEST_WORKER)
