"""The seed's Gradual Scaling Playbook (`GradualScaler.scaleForGrowth`) as four weekly stack settings.

Pure functions over the catalog; creates nothing. Going from phase `current` to phase `target`, every
week runs the target phase (its instance and node types, its regions and services: what cannot be
half-changed) and ramps its capacity:

- API groups and caches at 25%, 50%, 75% and 100% of the step in weeks 1-4: the seed's
  `ceil(current * (1 + (scaleFactor - 1) * p))` with the target's size over the current one as the
  scale factor, i.e. `ceil(current + (target - current) * p)`, for each group's minimum and desired
  size and each region's cache nodes (a region the target adds starts from zero). The group's maximum
  is the target's from week 1, so autoscaling can absorb growth above the ramp;
- read replicas: the current phase's in week 1, one more in week 2 and two more in week 3 (the
  seed's `database + 1`, `database + 2`), never above the target's own count, so week 4 deletes none;
- week 4: the target phase as the catalog has it, and the seed's shard decision: shard when the target
  is sized for 100,000 users or more (the seed's phase 4, whose Aurora migration takes the writes
  over), else the writer and its replicas.

Floors keep each week a valid, guaranteed stack: at least two API instances per region (no single point
of failure; the policy pack holds prod to it), two cache nodes where the phase fails over, one read
replica in a secondary region (it reads from its own).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from phases.models import Phase, RegionSpec

STEPS = (0.25, 0.5, 0.75)
"""Weeks 1-3: the share of the step each one takes (week 4 is the target itself)."""
REPLICAS_ADDED = (0, 1, 2)
"""Weeks 1-3: read replicas added to the current phase's (seed: database + 1 in week 2, + 2 in week 3)."""
SHARD_FROM_USERS = 100_000
"""Seed: phase 4 (100,000+ users) is where one writer stops being enough."""
MIN_API = 2
"""No single point of failure (seed, Scaling Principles): two API instances per region at least."""


def _replicas(count: int) -> str:
    return f"writer + {count} read replica{'s' if count != 1 else ''}"


def _between(old: int, new: int, share: float) -> int:
    return math.ceil(old + (new - old) * share)


@dataclass(frozen=True)
class Week:
    number: int
    phase: int
    """The phase the week's stack runs (`qnom:phase`): the target's."""
    overrides: dict[str, Any]
    """`qnom:overrides` of the week (empty in week 4)."""
    database: str
    """What the seed's plan says of the database that week."""


def _region_week(old: RegionSpec | None, new: RegionSpec, share: float, replicas: int, failover: bool) -> dict:
    api_min, api_desired = (_between(old.api.min if old else 0, new.api.min, share),
                            _between(old.api.desired if old else 0, new.api.desired, share))
    api_min = min(max(api_min, MIN_API), new.api.min)
    cache = min(max(_between(old.cache_nodes if old else 0, new.cache_nodes, share), 2 if failover else 1),
                new.cache_nodes)
    if old is not None:
        read_replicas = min(old.db_read_replicas + replicas, new.db_read_replicas)
    else:
        read_replicas = min(1 + replicas, new.db_read_replicas)
    return {"api": {"min": api_min, "desired": max(api_min, min(api_desired, new.api.desired)), "max": new.api.max},
            "cache_nodes": cache, "db_read_replicas": read_replicas}


def gradual_weeks(current: Phase, target: Phase) -> list[Week]:
    """The four weeks from `current` to `target` (see the module docstring)."""
    old_regions = {region.name: region for region in current.regions}
    weeks = []
    for number, (share, replicas) in enumerate(zip(STEPS, REPLICAS_ADDED), start=1):
        regions = {region.name: _region_week(old_regions.get(region.name), region, share, replicas,
                                             target.cache.automatic_failover)
                   for region in target.regions}
        # Only what differs from the target: week 3 may already be at the target in some regions.
        overrides = {name: {key: value for key, value in values.items()
                            if value != _catalog_value(target, name, key)}
                     for name, values in regions.items()}
        overrides = {name: values for name, values in overrides.items() if values}
        writer = regions[target.primary_region.name]["db_read_replicas"]
        weeks.append(Week(number, target.number, {"regions": overrides} if overrides else {}, _replicas(writer)))
    shard = (target.users.min or 0) >= SHARD_FROM_USERS
    weeks.append(Week(4, target.number, {}, f"sharded: phase {target.number}'s Aurora migration takes the writes "
                                            "over from the one writer" if shard else
                      f"no shard: {_replicas(target.primary_region.db_read_replicas)}"))
    return weeks


def _catalog_value(phase: Phase, region: str, key: str) -> Any:
    spec = next(item for item in phase.regions if item.name == region)
    return spec.api.model_dump() if key == "api" else getattr(spec, key)
