"""The seed's capacity model: from a number of users to the phase, the API instances per region, the
database connections and the queue throughput they need, and the seed KPI that binds first.

Pure functions over the phase catalog; creates nothing and runs no program. The numbers:

- requests per second at peak = users x requests per user per day / 86,400 x the peak factor.
  Defaults: 50 requests per user per day (seed KPI `requestsPerUser: { target: 50 }`, daily) and a
  peak factor of 5.0, the seed's largest seasonal factor (`blackFriday: 5.0`): the day the
  platform must still absorb.
- An API instance serves the API group's request-count target, `api.scaling.requests_per_target`
  (1000, the seed's `RequestCountScaling TargetValue`) per minute: AWS's target value for
  `ALBRequestCountPerTarget` is "the optimal average request ... count per instance during any
  one-minute interval" (Auto Scaling API reference, TargetTrackingConfiguration, TargetValue). The
  model takes that load to be where an instance runs at the seed's CPU target (`cpuUtilization:
  { target: 60 }`), so an instance at n requests a minute runs at 60% x n / 1000 CPU.
- Traffic splits over the regions by the phase's `regions[].weight` (the seed's
  traffic_distribution); instances per region = ceil(its share of the peak per minute / 1000).
- Database connections: every app instance at peak (each API group at the larger of what the load
  needs and its minimum, the phase's workers at their maximum) opens its pools at `DB_POOL_MAX` (components/compute/app_config.py), against the writer's
  `max_connections`; the seed KPI `activeConnections` is 80% (target) and 95% (critical) of it.
- Queue throughput: one queued job per `jobs_per_request` API requests (default 0.1, an
  assumption), against the seed's measured queue capacity of 10k messages a second ("Current
  Capacity": Queue 10k msg/s).
- The binding KPI is the one with the highest load over its target at peak: the API's CPU in the
  busiest region with its group at its maximum, the connections, or the queue.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from components.compute.app_config import CONNECTION_KPI, pool_size, pools_per_host
from phases.catalog import PHASE_FILES, phase_document
from phases.models import Phase

SECONDS_PER_DAY = 86_400
REQUESTS_PER_USER = 50
"""Seed KPI `business.requestsPerUser: { target: 50 }` (daily)."""
PEAK_FACTOR = 5.0
"""Seed Traffic Pattern Scaling, `seasonal.blackFriday: 5.0`: the largest peak over an average day."""
CPU_TARGET, CPU_CRITICAL = 60, 80
"""Seed KPI `scaling.cpuUtilization: { target: 60, critical: 80 }` (%)."""
CONNECTIONS_TARGET, CONNECTIONS_CRITICAL = round(CONNECTION_KPI * 100), 95
"""Seed KPI `scaling.activeConnections: { target: 80, critical: 95 }` (% of max_connections)."""
QUEUE_CAPACITY = 10_000
"""Seed "Current Capacity": Queue, 10k msg/s."""
JOBS_PER_REQUEST = 0.1
"""Assumption: one queued job for every ten API requests."""
DEFAULT_REQUESTS_PER_TARGET = 1000
"""Seed Auto-Scaling Rules, RequestCountScaling TargetValue: for a phase without scaling policies."""


def catalog_phases() -> list[Phase]:
    """The four phases of the catalog, without overrides."""
    return [Phase.model_validate(phase_document(number)) for number in sorted(PHASE_FILES)]


def recommended_phase(users: int, phases: list[Phase]) -> Phase:
    """The first phase whose user range holds `users` (the last one is open-ended)."""
    for phase in phases:
        if phase.users.max is None or users < phase.users.max:
            return phase
    return phases[-1]


def requests_per_target(phase: Phase) -> int:
    return phase.api.scaling.requests_per_target if phase.api.scaling else DEFAULT_REQUESTS_PER_TARGET


@dataclass(frozen=True)
class Kpi:
    name: str
    value: float
    target: float
    critical: float
    unit: str

    @property
    def load(self) -> float:
        """Value over target: 1.0 is at the target."""
        return self.value / self.target if self.target else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": round(self.value, 1), "target": self.target, "critical": self.critical,
                "unit": self.unit, "load": round(self.load, 3)}


@dataclass(frozen=True)
class CapacityEstimate:
    users: int
    requests_per_user: float
    peak_factor: float
    jobs_per_request: float
    phase: Phase
    requests_per_second: float
    instances_per_region: dict[str, int]
    provisioned_per_region: dict[str, dict[str, int]]
    db_connections: int
    max_connections: int
    queue_messages_per_second: float
    kpis: list[Kpi] = field(default_factory=list)

    @property
    def binding_kpi(self) -> Kpi:
        return max(self.kpis, key=lambda kpi: kpi.load)

    def assumptions(self) -> dict[str, Any]:
        return {
            "requestsPerUserPerDay": self.requests_per_user,
            "peakFactor": self.peak_factor,
            "requestsPerInstancePerMinute": requests_per_target(self.phase),
            "cpuTargetPercent": CPU_TARGET,
            "regionWeights": {region.name: region.weight for region in self.phase.regions},
            "dbPoolMax": pool_size(self.phase)[1],
            "poolsPerHost": pools_per_host(self.phase, False),
            "jobsPerRequest": self.jobs_per_request,
            "queueCapacityPerSecond": QUEUE_CAPACITY,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "users": self.users,
            "phase": self.phase.number,
            "phaseName": self.phase.name,
            "requestsPerSecond": round(self.requests_per_second, 1),
            "instancesPerRegion": self.instances_per_region,
            "provisionedPerRegion": self.provisioned_per_region,
            "dbConnections": self.db_connections,
            "maxConnections": self.max_connections,
            "queueMessagesPerSecond": round(self.queue_messages_per_second, 1),
            "kpis": [kpi.to_json() for kpi in self.kpis],
            "bindingKpi": self.binding_kpi.name,
            "assumptions": self.assumptions(),
        }


def estimate(users: int, *, requests_per_user: float = REQUESTS_PER_USER, peak_factor: float = PEAK_FACTOR,
             jobs_per_request: float = JOBS_PER_REQUEST, phase: Phase | None = None) -> CapacityEstimate:
    """The capacity `users` need, in `phase` (default: the recommended one)."""
    phase = phase or recommended_phase(users, catalog_phases())
    peak_per_second = users * requests_per_user / SECONDS_PER_DAY * peak_factor
    per_instance = requests_per_target(phase)
    weights = sum(region.weight for region in phase.regions)
    instances = {region.name: max(1, math.ceil(peak_per_second * 60 * region.weight / weights / per_instance))
                 for region in phase.regions}
    provisioned = {region.name: {"min": region.api.min, "desired": region.api.desired, "max": region.api.max}
                   for region in phase.regions}
    workers = phase.workers.capacity.max if phase.workers else 0
    pool_max = pool_size(phase)[1]
    # A group never runs below its minimum, and each instance's pools may fill up to DB_POOL_MAX.
    running = sum(max(instances[region.name], region.api.min) for region in phase.regions)
    connections = (running + workers) * pool_max * pools_per_host(phase, False)
    queue = peak_per_second * jobs_per_request if phase.queue else 0.0
    # The API's CPU in its busiest region once the group has reached its maximum.
    cpu = max(CPU_TARGET * peak_per_second * 60 * region.weight / weights / per_instance / region.api.max
              for region in phase.regions)
    kpis = [
        Kpi("cpuUtilization", cpu, CPU_TARGET, CPU_CRITICAL, "%"),
        Kpi("activeConnections", 100 * connections / phase.database.max_connections, CONNECTIONS_TARGET,
            CONNECTIONS_CRITICAL, "% of max_connections"),
        Kpi("queueThroughput", 100 * queue / QUEUE_CAPACITY, 100, 100, "% of 10k msg/s"),
    ]
    return CapacityEstimate(users, requests_per_user, peak_factor, jobs_per_request, phase, peak_per_second,
                            instances, provisioned, connections, phase.database.max_connections, queue, kpis)


def provisioned_capacity(phase: Phase) -> dict[str, Any]:
    """What a phase provisions, per region: the numbers a promotion's capacity delta compares."""
    regions = {}
    for region in phase.regions:
        primary = region.role == "primary"
        entry: dict[str, Any] = {
            "apiInstanceType": phase.api.instance_type,
            "apiMin": region.api.min, "apiMax": region.api.max,
            "apiRequestsPerMinute": region.api.max * requests_per_target(phase),
            "dbReadReplicas": region.db_read_replicas,
            "cacheNodes": region.cache_nodes,
            "cacheNodeType": phase.cache.node_type,
        }
        if primary:
            entry |= {"dbInstanceClass": phase.database.instance_class, "dbMultiAz": phase.database.multi_az,
                      "dbMaxConnections": phase.database.max_connections}
            if phase.workers:
                entry |= {"workersMax": phase.workers.capacity.max}
            if phase.search:
                entry |= {"searchDataNodes": phase.search.instance_count, "searchInstanceType": phase.search.instance_type}
        regions[region.name] = entry
    return regions


def capacity_delta(before: Phase, after: Phase) -> dict[str, dict[str, dict[str, Any]]]:
    """Region -> quantity -> {"from", "to"} for every quantity that differs (absent: null)."""
    old, new = provisioned_capacity(before), provisioned_capacity(after)
    delta: dict[str, dict[str, dict[str, Any]]] = {}
    for region in [*old, *[name for name in new if name not in old]]:
        keys = [*old.get(region, {}), *[key for key in new.get(region, {}) if key not in old.get(region, {})]]
        changes = {key: {"from": old.get(region, {}).get(key), "to": new.get(region, {}).get(key)} for key in keys
                   if old.get(region, {}).get(key) != new.get(region, {}).get(key)}
        if changes:
            delta[region] = changes
    return delta
