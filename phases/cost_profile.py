"""The cost-optimised profile (`qnom:costProfile optimised`): the same capacity on cheaper families.

Every instance type of the catalog maps to one with equal or more vCPUs and memory: AMD EC2 types
for the API groups and workers (the launch templates boot the x86_64 Amazon Linux 2023 image, so
Graviton EC2 types would need an arm64 image), and Graviton (arm64) classes for RDS, Aurora and
ElastiCache, whose engines AWS runs for us. OpenSearch already runs on Graviton. A change of class
is an in-place modification of a database or cache (a restart or failover, never a replacement).
"""

from __future__ import annotations

import copy
from typing import Any, Literal

CostProfileName = Literal["standard", "optimised"]

OPTIMISED_TYPES: dict[str, str] = {
    # EC2: AMD EPYC twins at the same vCPU and memory (t3a: 2 vCPU/4 GiB and 8 GiB; c6a.xlarge 4/8).
    "t3.medium": "t3a.medium",
    "t3.large": "t3a.large",
    "c5.xlarge": "c6a.xlarge",
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
CHEAPEST_WORKER = "m6a.large"
"""The cheapest of the catalog's worker types (2 vCPU, 8 GiB on AMD)."""


def optimised(instance_type: str) -> str:
    return OPTIMISED_TYPES.get(instance_type, instance_type)


def standard(instance_type: str) -> str:
    return STANDARD_TYPES.get(instance_type, instance_type)


def apply_profile(document: dict[str, Any], profile: CostProfileName) -> dict[str, Any]:
    """The phase document with the profile's instance types (a copy; `standard` changes nothing)."""
    if profile == "standard":
        return document
    document = copy.deepcopy(document)
    document["api"]["instance_type"] = optimised(document["api"]["instance_type"])
    database = document["database"]
    database["instance_class"] = optimised(database["instance_class"])
    if database.get("aurora"):
        database["aurora"]["replica_instance_class"] = optimised(database["aurora"]["replica_instance_class"])
    document["cache"]["node_type"] = optimised(document["cache"]["node_type"])
    if document.get("workers"):
        document["workers"]["instance_types"] = worker_types(document["workers"]["instance_types"])
    return document


def worker_types(types: list[str]) -> list[str]:
    """The workers' types with the cheapest same-size one first: on demand runs the first."""
    return sorted(types, key=lambda name: name != CHEAPEST_WORKER)
