"""Pydantic models of one growth phase: every number the components read.

The four YAML files beside this module are instances of `Phase`. Models are frozen and
refuse unknown keys, so a typo in a phase file or in `qnom:overrides` is an error, not a
silently ignored value. Cross-field rules live here, next to the fields they relate.
"""

from __future__ import annotations

import ipaddress
import math
import re
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PhaseName = Literal["launch", "growth", "scale", "global"]
RegionRole = Literal["primary", "secondary"]
AwsRegionName = Literal[
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1",
    "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1",
    "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "ap-south-1", "sa-east-1",
]
PriceClass = Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"]
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
# Graviton families carry a "g" after the generation digit (t4g, m6g, c7gn, r6gd). The
# launch templates boot the x86_64 Amazon Linux 2023 image, which cannot run on them.
_ARM_FAMILY = re.compile(r"^[a-z]+\d+[a-z]*g[a-z]*\.")
SeasonalWindowName = Literal["black-friday", "cyber-monday", "end-of-quarter"]
_BELOW_LARGE = ("nano", "micro", "small", "medium")
# AWS replicates an ElastiCache global datastore to at most two secondary regions.
GLOBAL_DATASTORE_MAX_SECONDARIES = 2


Architecture = Literal["x86_64", "arm64"]


def instance_architecture(instance_type: str) -> Architecture:
    """`arm64` for a Graviton type (a `g` after the generation: t4g, c6gn, m7g, r6g; and a1), else `x86_64`."""
    return "arm64" if _ARM_FAMILY.match(instance_type) or instance_type.startswith("a1.") else "x86_64"


class Model(BaseModel):
    """Base for every catalog model: immutable, and unknown keys are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class UserRange(Model):
    min: int = Field(ge=0, description="Fewest users the phase is sized for.")
    max: int | None = Field(default=None, ge=1, description="Most users; null means open-ended.")

    @model_validator(mode="after")
    def _ordered(self) -> UserRange:
        if self.max is not None and self.max <= self.min:
            raise ValueError(f"users.max ({self.max}) must be greater than users.min ({self.min})")
        return self


class Capacity(Model):
    """Instance counts of an auto scaling group."""

    min: int = Field(ge=0)
    desired: int = Field(ge=0)
    max: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> Capacity:
        if not self.min <= self.desired <= self.max:
            raise ValueError(
                f"min ({self.min}) <= desired ({self.desired}) <= max ({self.max}) must hold"
            )
        return self


class RegionSpec(Model):
    """One AWS region of the phase and what runs there."""

    name: AwsRegionName
    role: RegionRole
    weight: int = Field(ge=0, le=100, description="Share of traffic in weighted routing, percent.")
    cidr: str = Field(description="VPC CIDR; fixed for the region's lifetime (a change replaces the VPC).")
    api: Capacity
    db_read_replicas: int = Field(ge=0, le=5, description="RDS read replicas in this region (AWS: at most 5 per source).")
    cache_nodes: int = Field(ge=1, le=6, description="Cache nodes in this region: 1 primary + replicas.")

    @field_validator("cidr")
    @classmethod
    def _private_16(cls, value: str) -> str:
        network = ipaddress.ip_network(value, strict=True)
        if not network.is_private or network.prefixlen != 16:
            raise ValueError(f"cidr must be a private /16 network, got {value}")
        return value


class HealthCheck(Model):
    """Target health check; mirrors the seed's nginx `check` line."""

    path: str = Field(pattern=r"^/")
    interval_seconds: int = Field(ge=5, le=300)
    timeout_seconds: int = Field(ge=2, le=120)
    healthy_threshold: int = Field(ge=2, le=10)
    unhealthy_threshold: int = Field(ge=2, le=10)
    matcher: str = Field(pattern=r"^\d{3}(-\d{3})?$")

    @model_validator(mode="after")
    def _timeout_below_interval(self) -> HealthCheck:
        # The ALB rejects a target group whose health check timeout is not below its interval.
        if self.timeout_seconds >= self.interval_seconds:
            raise ValueError(
                f"timeout_seconds ({self.timeout_seconds}) must be less than "
                f"interval_seconds ({self.interval_seconds})"
            )
        return self


class StepPolicy(Model):
    """A simple CPU step: change capacity by `adjustment` when the alarm fires."""

    adjustment: int
    cooldown_seconds: int = Field(ge=0)
    cpu_threshold_percent: int = Field(ge=1, le=100)


class ScalingPolicies(Model):
    scale_up: StepPolicy
    scale_down: StepPolicy
    requests_per_target: int = Field(ge=1, description="ALBRequestCountPerTarget target value.")
    alarm_period_seconds: int = Field(ge=10, le=86400, description="CPU alarm period: 10, 30 or a multiple of 60.")
    alarm_evaluation_periods: int = Field(ge=1, le=1440, description="Periods the CPU must stay past a threshold.")
    predictive: bool = Field(
        default=False, description="A predictive (forecast and scale) policy on the request count; default false.")

    @field_validator("alarm_period_seconds")
    @classmethod
    def _cloudwatch_period(cls, value: int) -> int:
        # CloudWatch refuses any other period for a metric alarm.
        if value not in (10, 30) and value % 60:
            raise ValueError(f"must be 10, 30 or a multiple of 60, got {value}")
        return value

    @model_validator(mode="after")
    def _directions(self) -> ScalingPolicies:
        problems = []
        if self.scale_up.adjustment <= 0:
            problems.append(f"scale_up.adjustment ({self.scale_up.adjustment}) must be positive")
        if self.scale_down.adjustment >= 0:
            problems.append(f"scale_down.adjustment ({self.scale_down.adjustment}) must be negative")
        if self.scale_down.cpu_threshold_percent >= self.scale_up.cpu_threshold_percent:
            problems.append(
                f"scale_down.cpu_threshold_percent ({self.scale_down.cpu_threshold_percent}) must be "
                f"below scale_up.cpu_threshold_percent ({self.scale_up.cpu_threshold_percent})"
            )
        if self.alarm_period_seconds * self.alarm_evaluation_periods > 86400:
            # CloudWatch caps an alarm's evaluation range at one day.
            problems.append(
                f"alarm_period_seconds x alarm_evaluation_periods ({self.alarm_period_seconds} x "
                f"{self.alarm_evaluation_periods}) must be at most 86400 seconds"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _mixed_architectures(types: list[str]) -> dict[str, Architecture] | None:
    """Each type's architecture when `types` mixes x86_64 and arm64; None when they share one."""
    architectures = {name: instance_architecture(name) for name in types}
    return architectures if len(set(architectures.values())) > 1 else None


def _one_architecture(types: list[str]) -> list[str]:
    """A group launches every type from one template, whose image has one architecture."""
    architectures = _mixed_architectures(types)
    if architectures:
        raise ValueError(f"mixes x86_64 and arm64 types ({', '.join(f'{k}: {v}' for k, v in architectures.items())}); "
                         "the group's one launch template boots one image, of one architecture")
    return types


class ApiSpot(Model):
    """A spot share of the API groups above an on-demand base (the cost-optimised profile sets it)."""

    instance_types: list[str] = Field(
        min_length=2, description="Types the group may launch, the API's type first (on demand runs it); the others "
                                  "have at least its vCPUs and memory and widen the spot pools.")
    on_demand_percent_of_min: int = Field(
        ge=1, le=100, description="On-demand base as a share of the region's everyday minimum, rounded up; the "
                                  "capacity above it runs on spot.")

    @field_validator("instance_types")
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        return _one_architecture(value)


class ApiTier(Model):
    instance_type: str = Field(pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
    port: int = Field(ge=1024, le=65535, description="Port the API container listens on (seed upstreams: :3000).")
    idle_timeout_seconds: int = Field(ge=1, le=4000, description="ALB idle timeout (AWS range 1-4000).")
    health_check_grace_seconds: int = Field(ge=0, le=7200, description="ASG grace before ELB health counts.")
    root_volume_gb: int = Field(ge=8, le=16384, description="gp3 root volume; AL2023's snapshot is 8 GiB.")
    instance_refresh_min_healthy_percent: int = Field(ge=0, le=100)
    health_check: HealthCheck
    scaling: ScalingPolicies | None = Field(default=None, description="Null: fixed size, no policies.")
    rate_limit_per_5min: int | None = Field(
        default=None, ge=10, le=2_000_000_000,
        description="WAF rate-based rule limit per client IP; null: no web ACL (AWS minimum is 10).",
    )
    spot: ApiSpot | None = Field(
        default=None, description="Null (the catalog's): every API instance on demand. The cost-optimised "
                                  "profile sets a spot share above an on-demand base.")

    @model_validator(mode="after")
    def _spot_starts_with_the_type(self) -> ApiTier:
        if self.spot is not None and self.spot.instance_types[0] != self.instance_type:
            raise ValueError(f"spot.instance_types must start with instance_type ({self.instance_type}), "
                             f"got {self.spot.instance_types}")
        return self


class SeasonalWindow(Model):
    """A one-day surge; the schedule module knows how to date each name."""

    name: SeasonalWindowName
    factor: float = Field(gt=1, le=10)


class TrafficSchedule(Model):
    """Scheduled capacity of the primary region's API group (seed: Traffic Pattern Scaling)."""

    timezone: str = "America/New_York"
    business_hours_start: str = "07:00"
    off_hours_start: str = "20:00"
    business_hours_capacity: int = Field(ge=1)
    off_hours_capacity: int = Field(ge=1)
    weekend_factor: float = Field(gt=0, le=1)
    seasonal: list[SeasonalWindow] = Field(default_factory=list)
    surge_max: int = Field(ge=1, description="Explicit max size a seasonal window may raise the group to.")

    @field_validator("business_hours_start", "off_hours_start")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.match(value):
            raise ValueError(f"must be a 24-hour HH:MM time, got {value!r}")
        return value

    @field_validator("timezone")
    @classmethod
    def _iana_zone(cls, value: str) -> str:
        # Auto Scaling takes IANA names for recurrences; the program also needs the zone to
        # turn a window's local midnight into the UTC start time AWS expects.
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone such as America/New_York") from None
        return value

    @model_validator(mode="after")
    def _ordered_clock(self) -> TrafficSchedule:
        problems = []
        if self.business_hours_start >= self.off_hours_start:
            problems.append(f"business_hours_start ({self.business_hours_start}) must be before "
                            f"off_hours_start ({self.off_hours_start})")
        names = [window.name for window in self.seasonal]
        if len(set(names)) != len(names):
            problems.append(f"seasonal[].name must be unique, got {names}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def weekend_capacity(self) -> int:
        # The weekend never drops below the off-hours floor.
        return max(self.off_hours_capacity, math.ceil(self.business_hours_capacity * self.weekend_factor))

    def seasonal_capacity(self, window: SeasonalWindow, baseline: int) -> int:
        # Seasonal factors multiply the group's everyday size (its desired capacity).
        return math.ceil(baseline * window.factor)


class Workers(Model):
    """Queue workers: a spot-heavy mixed-instances group scaled on queue depth."""

    instance_types: list[str] = Field(min_length=2)
    capacity: Capacity
    on_demand_base: int = Field(ge=0)
    spot_percent: int = Field(ge=0, le=100, description="Spot share above the on-demand base.")
    messages_per_worker: int = Field(ge=1)
    root_volume_gb: int = Field(ge=8, le=16384, description="gp3 root volume; AL2023's snapshot is 8 GiB.")
    instance_refresh_min_healthy_percent: int = Field(ge=0, le=100)

    @field_validator("instance_types")
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        problems = [f"{name!r} is not an instance type" for name in value
                    if not re.match(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$", name)]
        if len(set(value)) != len(value):
            problems.append(f"must be unique, got {value}")
        if problems:
            raise ValueError("; ".join(problems))
        return _one_architecture(value)

    @model_validator(mode="after")
    def _sizes(self) -> Workers:
        problems = []
        # Queue-depth scaling divides the backlog by the in-service workers: with none the
        # metric has no value and the group could never scale out again.
        if self.capacity.min < 1:
            problems.append(f"capacity.min ({self.capacity.min}) must be >= 1 for queue-depth scaling")
        if self.on_demand_base > self.capacity.max:
            problems.append(f"on_demand_base ({self.on_demand_base}) must be <= capacity.max ({self.capacity.max})")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class AuroraMigration(Model):
    """Phase 4: Aurora PostgreSQL replicating from the RDS instance, Serverless v2 after cut-over.

    AWS builds an Aurora read replica of an RDS for PostgreSQL instance as a replica cluster
    whose only member is one reader, created with a provisioned class in AWS's documented
    procedure; Serverless v2 (`db.serverless`) readers join once the explicit cut-over has
    promoted the cluster to a standalone writer. The cluster's engine version is not a catalog
    value: AWS needs the source instance's version or a later minor of its major, so the
    component takes the source's actual version at deploy time (`engine_version_actual`).
    """

    replica_instance_class: str = Field(
        pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$",
        description="Provisioned class of the replica cluster's single instance (the writer after cut-over).",
    )
    min_acu: float = Field(ge=0.5, le=256)
    max_acu: float = Field(ge=1, le=256)
    readers: int = Field(ge=0, le=15, description="Serverless v2 readers added at cut-over (AWS: 15 per cluster).")

    @model_validator(mode="after")
    def _range(self) -> AuroraMigration:
        problems = []
        if self.min_acu > self.max_acu:
            problems.append(f"min_acu ({self.min_acu}) must be <= max_acu ({self.max_acu})")
        for field, value in (("min_acu", self.min_acu), ("max_acu", self.max_acu)):
            # Serverless v2 capacity moves in steps of half an Aurora capacity unit.
            if (value * 2) % 1:
                problems.append(f"{field} ({value}) must be a multiple of 0.5")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Database(Model):
    engine_version: str = Field(pattern=r"^\d+(\.\d+)?$")
    instance_class: str = Field(pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")
    multi_az: bool
    allocated_storage_gb: int = Field(ge=20, le=65536)
    max_allocated_storage_gb: int = Field(ge=20, le=65536)
    max_connections: int = Field(ge=10, le=262143)
    aurora: AuroraMigration | None = None

    @model_validator(mode="after")
    def _storage(self) -> Database:
        if self.max_allocated_storage_gb <= self.allocated_storage_gb:
            raise ValueError(
                f"max_allocated_storage_gb ({self.max_allocated_storage_gb}) must exceed "
                f"allocated_storage_gb ({self.allocated_storage_gb}) for storage autoscaling"
            )
        return self

    @property
    def major_version(self) -> str:
        return self.engine_version.split(".")[0]


class Cache(Model):
    engine: Literal["redis", "valkey"] = "redis"
    engine_version: str = Field(pattern=r"^\d+(\.\d+)?$")
    node_type: str = Field(pattern=r"^cache\.[a-z0-9]+\.[a-z0-9]+$")
    automatic_failover: bool
    global_datastore: bool = False
    maxmemory_policy: Literal["volatile-lru", "volatile-lfu", "volatile-ttl", "allkeys-lru", "allkeys-lfu"] = Field(
        default="volatile-lru",
        description="Eviction under memory pressure; sessions carry TTLs, so only expiring keys are evicted.",
    )

    @model_validator(mode="after")
    def _supported(self) -> Cache:
        problems = []
        if int(self.engine_version.split(".")[0]) < 7:
            problems.append(f"engine_version ({self.engine_version}) must be 7 or newer")
        family, size = self.node_type.split(".")[1:]
        # AWS: global datastores run on M5/R5 nodes or newer, never on burstable T nodes.
        if self.global_datastore and (family[0] not in "mr" or family in ("m3", "m4", "r3", "r4")):
            problems.append(f"global_datastore needs an M5/R5-or-newer node_type, got {self.node_type}")
        # AWS: and only in size large and above.
        elif self.global_datastore and size in _BELOW_LARGE:
            problems.append(f"global_datastore needs a node_type of size large or above, got {self.node_type}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def major_version(self) -> str:
        return self.engine_version.split(".")[0]


class Queue(Model):
    visibility_timeout_seconds: int = Field(ge=0, le=43200)
    message_retention_seconds: int = Field(ge=60, le=1209600)
    receive_wait_seconds: int = Field(ge=0, le=20, description="Long polling wait.")
    max_receive_count: int = Field(ge=1, le=1000, description="Receives before a message goes to the DLQ.")
    dlq_retention_seconds: int = Field(ge=60, le=1209600)

    @model_validator(mode="after")
    def _dlq_outlives_source(self) -> Queue:
        # SQS keeps a message's original enqueue time when it moves to the DLQ, so a DLQ that
        # retains less than its source deletes failed messages before anyone can look at them.
        if self.dlq_retention_seconds < self.message_retention_seconds:
            raise ValueError(
                f"dlq_retention_seconds ({self.dlq_retention_seconds}) must be >= "
                f"message_retention_seconds ({self.message_retention_seconds})"
            )
        return self


class Search(Model):
    engine_version: str = Field(pattern=r"^OpenSearch_\d+\.\d+$")
    instance_type: str = Field(pattern=r"\.search$")
    instance_count: int = Field(ge=1, le=80)
    dedicated_master_type: str = Field(pattern=r"\.search$")
    dedicated_master_count: int = Field(ge=3, le=5)
    volume_size_gb: int = Field(ge=10, le=16384)

    @model_validator(mode="after")
    def _zone_awareness(self) -> Search:
        # Three-AZ zone awareness needs data nodes in a multiple of three.
        if self.instance_count % 3:
            raise ValueError(f"instance_count ({self.instance_count}) must be a multiple of 3 for 3-AZ awareness")
        return self


class Cdn(Model):
    price_class: PriceClass
    static_default_ttl_seconds: int = Field(ge=0)
    static_max_ttl_seconds: int = Field(ge=0)
    origin_failover: bool = False

    @model_validator(mode="after")
    def _ttl(self) -> Cdn:
        if self.static_default_ttl_seconds > self.static_max_ttl_seconds:
            raise ValueError(
                f"static_default_ttl_seconds ({self.static_default_ttl_seconds}) must be <= "
                f"static_max_ttl_seconds ({self.static_max_ttl_seconds})"
            )
        return self


class Egress(Model):
    """How the private (app) subnets reach the internet (`egress` in the catalog)."""

    nat: Literal["gateway", "instance"] = Field(
        description="`gateway`: managed NAT gateways (one, or one per AZ where the environment says so); "
                    "`instance`: one NAT instance in the first AZ's public subnet (phase 1: ~$7 a month, not $36.50).")
    instance_type: str | None = Field(
        default=None, pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$",
        description="EC2 type of the NAT instance; required with `nat: instance`, refused with `nat: gateway`.")

    @model_validator(mode="after")
    def _instance_type_with_instance(self) -> Egress:
        if (self.nat == "instance") != (self.instance_type is not None):
            raise ValueError(f"egress.instance_type ({self.instance_type}) is required when egress.nat is "
                             f"instance and refused when it is gateway (egress.nat is {self.nat})")
        return self


class Surge(Model):
    """What surge mode (`qnom:surge`, the seed's Emergency Scaling Playbook) raises; see `Phase.surged()`."""

    kubernetes_min_replicas: int = Field(
        ge=1, description="Floor of the Kubernetes API deployment while surging (seed: --replicas=20).")
    cache_maxmemory_policy: Literal["volatile-lru", "volatile-lfu", "volatile-ttl", "allkeys-lru", "allkeys-lfu"] = Field(
        description="Cache eviction while surging: any key may go, so writes never fail for lack of memory.")
    db_max_connections: int = Field(ge=10, le=262143, description="Floor of max_connections while surging.")
    rate_limit_per_5min: int = Field(ge=10, le=2_000_000_000,
                                     description="Strict WAF limit per client per five minutes while surging.")


class ServiceSize(Model):
    """One microservice of the seed's "Service Decomposition" table and the paths it needs."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,40}[a-z0-9]$", description="Service, namespace and DNS name.")
    replicas: int = Field(ge=1, le=100, description="The table's replicas: the Deployment's first size and (but for the "
                                                      "API gateway, whose bounds are the seed HPA's) its HPA minimum.")
    cpu: str = Field(pattern=r"^[1-9]\d*m$", description="CPU request per pod in millicores.")
    memory: str = Field(pattern=r"^[1-9]\d*(Mi|Gi)$", description="Memory request (and limit) per pod.")
    calls: list[str] = Field(default_factory=list, description="Services this one calls (NetworkPolicy egress).")
    data: list[Literal["postgres", "redis"]] = Field(default_factory=list, description="Data stores it reaches.")

    @property
    def cpu_millicores(self) -> int:
        return int(self.cpu[:-1])

    @property
    def memory_mebibytes(self) -> int:
        return int(self.memory[:-2]) * (1024 if self.memory.endswith("Gi") else 1)


class ScalePolicy(Model):
    type: Literal["Percent", "Pods"]
    value: int = Field(ge=1)
    period_seconds: int = Field(ge=1, le=1800, description="Kubernetes caps an HPA policy's period at 1800 s.")


class ScaleBehavior(Model):
    stabilization_window_seconds: int = Field(ge=0, le=3600, description="Kubernetes caps the window at 3600 s.")
    policies: list[ScalePolicy] = Field(min_length=1)
    select_policy: Literal["Max", "Min", "Disabled"] = "Max"


class Hpa(Model):
    """The seed's "Container Orchestration" HorizontalPodAutoscaler (autoscaling/v2) of `api-deployment`."""

    min_replicas: int = Field(ge=1)
    max_replicas: int = Field(ge=1)
    cpu_utilization_percent: int = Field(ge=1, le=100)
    memory_utilization_percent: int = Field(ge=1, le=100)
    requests_per_second_per_pod: int = Field(ge=1, description="Pods metric http_requests_per_second, average value.")
    scale_up: ScaleBehavior
    scale_down: ScaleBehavior

    @model_validator(mode="after")
    def _ordered(self) -> Hpa:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas ({self.min_replicas}) must be <= max_replicas ({self.max_replicas})")
        return self


class HelmChart(Model):
    """A Helm chart pinned to one version: a chart repository (or an OCI registry) and the chart's name."""

    repository: str = Field(pattern=r"^(https|oci)://")
    chart: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$", description="Exact chart version: never a range.")


class NodeGroup(Model):
    """The EKS managed node group that runs the add-ons and the node autoscaler (on demand)."""

    instance_type: str = Field(pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
    capacity: Capacity


class ServiceNodes(Model):
    """Nodes the node autoscaler launches for the services, and the type their baseline is priced with."""

    instance_types: list[str] = Field(min_length=2, description="Types the node pools may launch (several: spot pools).")
    spot_percent: int = Field(ge=0, le=100, description="Spot share of the service nodes (seed: worker 80%).")
    sizing_instance_type: str = Field(description="The type the baseline is sized and priced with (one of instance_types).")
    sizing_vcpus: int = Field(ge=1, description="vCPUs of sizing_instance_type.")
    sizing_memory_gib: int = Field(ge=1, description="Memory of sizing_instance_type, GiB.")
    sizing_max_pods: int = Field(ge=1, le=250, description="EKS max pods of sizing_instance_type (VPC CNI: ENIs x IPs).")
    daemonset_cpu_millicores: int = Field(ge=0, description="CPU every node's DaemonSets request.")
    daemonset_memory_mebibytes: int = Field(ge=0, description="Memory every node's DaemonSets request.")

    @model_validator(mode="after")
    def _sizing_type_listed(self) -> ServiceNodes:
        problems = []
        if self.sizing_instance_type not in self.instance_types:
            problems.append(f"sizing_instance_type ({self.sizing_instance_type}) must be one of "
                            f"instance_types ({self.instance_types})")
        # One architecture per pool: the pods' images and the node pools' kubernetes.io/arch
        # requirement are for one of them, and a mixed list would price a type the pods cannot run on.
        architectures = _mixed_architectures(self.instance_types)
        if architectures:
            problems.append(f"instance_types must share one architecture, got {architectures}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Kubernetes(Model):
    """EKS in every region of the phase: the seed's microservices, their autoscaling and (phase 4) the mesh."""

    version: str = Field(pattern=r"^1\.\d{2}$", description="EKS Kubernetes minor version, in standard support.")
    control_plane_logs: list[Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]] = Field(
        min_length=1)
    system_nodes: NodeGroup
    service_nodes: ServiceNodes
    services: list[ServiceSize] = Field(min_length=1)
    hpa: Hpa
    charts: dict[str, HelmChart]
    mesh: bool = Field(default=False, description="Istio ambient mode: mutual TLS between the services.")

    @model_validator(mode="after")
    def _services(self) -> Kubernetes:
        problems = []
        names = [service.name for service in self.services]
        if len(set(names)) != len(names):
            problems.append(f"services[].name must be unique, got {names}")
        if "api-gateway" not in names:
            problems.append("services must hold api-gateway: the seed's HPA and playbook scale its api-deployment")
        for i, service in enumerate(self.services):
            unknown = sorted(set(service.calls) - set(names))
            if unknown:
                problems.append(f"services[{i}].calls names unknown services {unknown}")
            if service.replicas > self.hpa.max_replicas:
                problems.append(f"services[{i}].replicas ({service.replicas}) must be <= hpa.max_replicas "
                                f"({self.hpa.max_replicas})")
        needed = {"karpenter", "prometheus", "prometheus-adapter"} | (
            {"istio-base", "istiod", "istio-cni", "ztunnel"} if self.mesh else set())
        missing = sorted(needed - set(self.charts))
        if missing:
            problems.append(f"charts must pin {missing}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Budget(Model):
    """The phase's monthly budget and when it alerts (seed: "Cost Monitoring", its CostMonitor)."""

    monthly_usd: int = Field(ge=1)
    warning_ratio: float = Field(gt=0, le=1, description="Actual spend share of the monthly budget that warns (seed: 0.8).")
    forecast_ratio: float = Field(gt=0, le=2, description="Forecast share of the monthly budget that alerts.")
    daily_ratio: float = Field(gt=1, le=10, description="Share of the daily budget (monthly / 30) that is critical (seed: 1.5).")

    @property
    def daily_usd(self) -> float:
        # The seed's budget.daily; 30 days keeps the number the same in every month.
        return round(self.monthly_usd / 30, 2)


class Level(Model):
    """A KPI's target (warning) and critical levels (seed: "Key Performance Indicators")."""

    target: float
    critical: float


class Alert(Model):
    """One of the seed's dashboard alerts: a threshold held for a number of minutes."""

    threshold: float = Field(gt=0)
    minutes: int = Field(ge=1, le=1440, description="Minutes the condition must hold (one-minute periods).")


class ScalingLimit(Model):
    """The seed's ScalingLimit alert: the API group close to its ceiling."""

    instances: int = Field(ge=1, description="In-service instances that alert (seed: 45).")
    share_of_max: float = Field(gt=0, le=1, description="Share of the group's max used when that is lower.")
    minutes: int = Field(ge=1, le=1440)

    def threshold(self, group_max: int) -> float:
        return min(float(self.instances), round(group_max * self.share_of_max, 1))


class Monitoring(Model):
    """KPI levels and alert rules the alarms and the dashboard read."""

    response_time_ms: Level
    error_rate_percent: Level
    availability_percent: Level
    cpu_percent: Level
    memory_percent: Level
    connections_percent: Level
    queue_depth: Level
    cache_hit_rate_min_percent: float = Field(gt=0, le=100)
    replica_lag_seconds: int = Field(ge=1)
    free_storage_percent: int = Field(ge=1, le=90, description="Free share of allocated storage below which to alert.")
    high_response_time: Alert
    high_error_rate: Alert
    scaling_limit: ScalingLimit
    cost_per_request_usd: float = Field(gt=0, description="Seed business KPI: cost per request target.")
    anomaly_detection: bool = Field(description="Anomaly-detection alarms on request rate and p95 latency.")

    @model_validator(mode="after")
    def _levels(self) -> Monitoring:
        problems = []
        for field in ("response_time_ms", "error_rate_percent", "cpu_percent", "memory_percent",
                      "connections_percent", "queue_depth"):
            level = getattr(self, field)
            if level.target >= level.critical:
                problems.append(f"{field}.target ({level.target}) must be below {field}.critical ({level.critical})")
        if self.availability_percent.target <= self.availability_percent.critical:
            problems.append(f"availability_percent.target ({self.availability_percent.target}) must be above "
                            f"availability_percent.critical ({self.availability_percent.critical})")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Phase(Model):
    """One growth phase of the platform, as the seed sizes it."""

    number: int = Field(ge=1, le=4)
    name: PhaseName
    users: UserRange
    regions: list[RegionSpec] = Field(min_length=1)
    api: ApiTier
    schedule: TrafficSchedule | None = None
    workers: Workers | None = None
    database: Database
    cache: Cache
    queue: Queue | None = None
    search: Search | None = None
    cdn: Cdn
    egress: Egress
    kubernetes: Kubernetes | None = None
    budget: Budget
    surge: Surge | None = None
    monitoring: Monitoring

    @model_validator(mode="after")
    def _regions(self) -> Phase:
        problems = []
        roles = [region.role for region in self.regions]
        if roles.count("primary") != 1:
            problems.append(f"regions must have exactly one primary, found {roles.count('primary')}")
        elif roles[0] != "primary":
            problems.append("regions[0] must be the primary region")
        names = [region.name for region in self.regions]
        if len(set(names)) != len(names):
            problems.append(f"regions[].name must be unique, got {names}")
        weights = sum(region.weight for region in self.regions)
        if weights != 100:
            problems.append(f"regions[].weight must sum to 100, got {weights}")
        networks = [ipaddress.ip_network(region.cidr) for region in self.regions]
        for i, first in enumerate(networks):
            for second in networks[i + 1:]:
                if first.overlaps(second):
                    problems.append(f"regions[].cidr {first} and {second} overlap")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _replicas_and_failover(self) -> Phase:
        problems = []
        for i, region in enumerate(self.regions):
            if self.cache.automatic_failover and region.cache_nodes < 2:
                problems.append(
                    f"regions[{i}].cache_nodes ({region.cache_nodes}) must be >= 2 when "
                    "cache.automatic_failover is true"
                )
            if region.role == "secondary" and region.db_read_replicas < 1:
                problems.append(
                    f"regions[{i}].db_read_replicas must be >= 1: a secondary region reads from local replicas"
                )
        if self.cache.global_datastore and len(self.regions) < 2:
            problems.append("cache.global_datastore needs at least two regions")
        secondaries = len(self.regions) - 1
        if self.cache.global_datastore and secondaries > GLOBAL_DATASTORE_MAX_SECONDARIES:
            problems.append(
                f"cache.global_datastore replicates to at most {GLOBAL_DATASTORE_MAX_SECONDARIES} secondary regions "
                f"(AWS limit), got {secondaries}; switch it off or list fewer regions"
            )
        if secondaries and self.regions[0].db_read_replicas < 1:
            # Secondary regions replicate from the primary region's first replica (a cascaded
            # replica), never from the primary instance itself: see components/data/database.py.
            problems.append(
                f"regions[0].db_read_replicas ({self.regions[0].db_read_replicas}) must be >= 1 when there are "
                "secondary regions: their cross-region replicas follow the primary region's first replica"
            )
        if self.api.scaling is None and any(r.api.min != r.api.max for r in self.regions):
            problems.append("api.scaling is required when any regions[].api.min differs from max")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _schedule_within_capacity(self) -> Phase:
        if self.schedule is None:
            return self
        schedule, bounds = self.schedule, self.primary_region.api
        problems = []
        for field, size in (
            ("business_hours_capacity", schedule.business_hours_capacity),
            ("off_hours_capacity", schedule.off_hours_capacity),
            ("weekend capacity", schedule.weekend_capacity()),
        ):
            if not bounds.min <= size <= bounds.max:
                problems.append(
                    f"schedule.{field} ({size}) must be within regions[0].api min..max ({bounds.min}..{bounds.max})"
                )
        if schedule.off_hours_capacity > schedule.business_hours_capacity:
            problems.append("schedule.off_hours_capacity must be <= schedule.business_hours_capacity")
        if schedule.surge_max < bounds.max:
            problems.append(f"schedule.surge_max ({schedule.surge_max}) must be >= regions[0].api.max ({bounds.max})")
        for window in schedule.seasonal:
            size = schedule.seasonal_capacity(window, bounds.desired)
            if size > schedule.surge_max:
                problems.append(
                    f"schedule.seasonal[{window.name}] needs {size} instances, above schedule.surge_max "
                    f"({schedule.surge_max}); raise surge_max explicitly"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def primary_region(self) -> RegionSpec:
        return self.regions[0]

    def surged(self) -> Phase:
        """The phase in surge mode: the cache evicts any key, the database allows at least the surge's
        connections, the WAF limit is the stricter of the two, the Kubernetes API gateway's HPA keeps
        at least the playbook's pods. Sizes only: AWS changes each of them in
        place (parameter values, a rate-based rule's limit), so surge on and off replace nothing. The
        API groups' surge floor is `surge_size()`, applied by the API tier."""
        if self.surge is None:
            return self
        surge = self.surge
        limit = self.api.rate_limit_per_5min
        kubernetes = {}
        if self.kubernetes is not None:
            # The playbook's `kubectl scale deployment api-deployment --replicas=20`, held: with the HPA in
            # charge of the replicas, its minimum is what keeps 20 (an in-place HPA update).
            hpa = self.kubernetes.hpa
            kubernetes = {"kubernetes": self.kubernetes.model_dump() | {"hpa": hpa.model_dump() | {
                "min_replicas": max(hpa.min_replicas, surge.kubernetes_min_replicas)}}}
        return self.model_validate(self.model_dump() | kubernetes | {
            "cache": self.cache.model_dump() | {"maxmemory_policy": surge.cache_maxmemory_policy},
            "database": self.database.model_dump() | {
                "max_connections": max(self.database.max_connections, surge.db_max_connections)},
            "api": self.api.model_dump() | {
                "rate_limit_per_5min": min(limit, surge.rate_limit_per_5min) if limit else surge.rate_limit_per_5min},
        })

    def surge_size(self, region: RegionSpec) -> int:
        """Instances an API group holds while surging: the primary's explicit surge maximum (the one
        the seasonal windows and the database pools are sized for), a secondary's maximum."""
        if region.role == "primary" and self.schedule is not None:
            return self.schedule.surge_max
        return region.api.max

    @property
    def multi_region(self) -> bool:
        return len(self.regions) > 1
