"""Configuration of the app instances of one region: SSM String parameters the boot scripts read.

Creates, under the component, one `aws.ssm.Parameter` (type String, `{name}-{NAME}`) per value below, named
`/{project}/{stack}/app/{NAME}` in the region's own Parameter Store. Nothing secret is stored
here: the parameters name the secrets, and the boot scripts read those from Secrets Manager
with the instance role. Boot scripts are rendered with the path only, never with a value, so
no endpoint or name ever reaches a script's text.

App configuration contract (what the API and worker containers receive in their environment):
| variable | where it comes from |
|---|---|
| `DB_WRITE_HOST` | the writer: the primary region's `Database.writer_endpoint` (secondary regions too: they write over the VPC peering) |
| `DB_READ_HOST_1`, `DB_READ_HOST_2`, ... | the region's own `Database.read_endpoints`, round-robin; the writer while the region has none. Always at least two (the seed's `DatabaseManager` opens two read pools), one per read replica beyond that |
| `DB_PORT`, `DB_NAME` | 5432 and the database's fixed name |
| `DB_USER`, `DB_PASSWORD` | the `username`/`password` of the region's database master secret (`Database.master_secret_arn`), parameter `DB_SECRET_ID` |
| `DB_POOL_MIN`, `DB_POOL_MAX` | `pool_size()` below, from the phase catalog |
| `REDIS_HOST`, `REDIS_PORT`, `REDIS_TLS` | the cache that takes writes (sessions are written on every request): the region's own cache's primary endpoint, except for a member of the phase-4 global datastore, which is read-only, where it is the primary region's cache (over the VPC peering); 6379; `true` (in-transit encryption is on) |
| `REDIS_READ_HOST` | the region's serving cache's reader endpoint (`Region.serving_cache`): reads stay in the region |
| `REDIS_AUTH_TOKEN` | the serving cache's AUTH secret (`Cache.auth_secret_arn`), parameter `REDIS_AUTH_SECRET_ID` |
| `SESSION_SECRET` | the API's session secret, read by its fixed name (API only) |
| `QUEUE_URL` | the primary region's job queue (phase 2 on) |
| `OBJECT_BUCKET`, `OBJECT_PREFIX` | the primary region's object bucket and the only prefix the instance roles may use |
| `AWS_REGION` | the instance's region (from the boot script) |
The `*_SECRET_ID` parameters are read by the boot scripts and not handed to the containers.

Pool sizes (`pool_size`): the seed's connection KPI keeps active connections under 80% of the
limit, and every database instance has the phase's `max_connections` (the replicas share the
primary's parameter group). At most `instances` app instances are connected at once: every API
instance the phase may run in every region (the primary's surge maximum when it has a schedule)
plus the workers' maximum. Each opens one pool per host variable, so one database instance can
receive `pools_per_host` pools from one app instance: 3 while a region has no read replica (the
writer serves the write pool and both read pools), 2 with one replica or one reader endpoint
(after the Aurora cut-over), else 1. Hence
`DB_POOL_MAX = floor(0.8 * max_connections / (instances * pools_per_host))` and
`DB_POOL_MIN = min(2, DB_POOL_MAX)` (the seed's default minimum).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from phases.models import Phase

CONNECTION_KPI = 0.8
"""Seed KPI `activeConnections: { target: 80 }`: share of `max_connections` the pools may fill."""
SEED_POOL_MIN = 2
"""Seed: `min: process.env.DB_POOL_MIN || 2`."""
SEED_READ_POOLS = 2
"""Seed: the `DatabaseManager` opens pools on `DB_READ_HOST_1` and `DB_READ_HOST_2`."""
OBJECT_PREFIX = "app/"
"""The only prefix of the object bucket the app instances may read and write."""
SECRET_ID_SUFFIX = "_SECRET_ID"


def config_path(project: str, stack: str) -> str:
    """The Parameter Store path of a stack's app configuration (the same in every region)."""
    return f"/{project}/{stack}/app"


def instances_at_once(phase: Phase) -> int:
    """The most app instances connected to the database at the same time in the phase."""
    api = sum(region.api.max for region in phase.regions[1:])
    primary = phase.primary_region.api.max
    if phase.schedule is not None:
        primary = max(primary, phase.schedule.surge_max)
    workers = phase.workers.capacity.max if phase.workers else 0
    return primary + api + workers


def pools_per_host(phase: Phase, cutover: bool) -> int:
    """Pools one app instance can open to a single database instance (see the module docstring)."""
    fewest = 1 if cutover else min(region.db_read_replicas for region in phase.regions)
    if fewest == 0:
        return 1 + SEED_READ_POOLS
    return math.ceil(SEED_READ_POOLS / fewest)


def pool_size(phase: Phase, cutover: bool = False) -> tuple[int, int]:
    """(`DB_POOL_MIN`, `DB_POOL_MAX`) of the phase; refuses a phase whose limit leaves no connection."""
    budget = CONNECTION_KPI * phase.database.max_connections
    maximum = math.floor(budget / (instances_at_once(phase) * pools_per_host(phase, cutover)))
    if maximum < 1:
        raise ValueError(
            f"database.max_connections ({phase.database.max_connections}) leaves no connection per pool for "
            f"{instances_at_once(phase)} app instances; raise it or lower the instance maxima")
    return min(SEED_POOL_MIN, maximum), maximum


def read_host_count(replica_count: int) -> int:
    """How many `DB_READ_HOST_n` a region gets: the seed's two, or one per replica beyond that."""
    return max(SEED_READ_POOLS, replica_count)


@dataclass(frozen=True)
class AppAccess:
    """What an app instance role is granted besides its own queue: built by the `Region`.

    Everything is given by name, not by ARN: the physical names are known in a preview
    (auto-naming), the ARNs AWS makes of them are not, and the role's policies are built from
    these names so that they are known in a preview too."""

    config_path: str
    """The Parameter Store path of the app configuration (`config_path()`)."""
    secret_names: Sequence[pulumi.Input[str]]
    """Names of the secrets the instances read at boot, in the instances' region: the database master
    secret (a secondary region's replica of the primary's has the same name) and the cache AUTH
    secret. Their keys are granted through Secrets Manager for these secrets only."""
    bucket_name: pulumi.Input[str]
    """The object bucket (the primary region's), limited to `OBJECT_PREFIX`."""
    primary_region: str
    """The primary region, which holds the object bucket and the job queue: the KMS grant is limited
    to S3 there."""
    bucket_keys: bool
    """The object bucket uses S3 Bucket Keys (`ObjectStorage`'s `BUCKET_KEYS`): the KMS encryption
    context is then the bucket's ARN instead of the object's."""
    send_queue_name: pulumi.Input[str] | None = None
    """Name of the job queue the API sends to; default None (no queue in the phase, or workers)."""


@dataclass(frozen=True)
class AppConfigArgs:
    path: str
    """Parameter Store path (`config_path()`), without a trailing slash."""
    write_host: pulumi.Input[str]
    """The database writer's address (the primary region's, in every region)."""
    read_hosts: pulumi.Input[list[str]]
    """The region's own read endpoints (may be empty: the writer then serves reads)."""
    read_host_count: int
    """Number of `DB_READ_HOST_n` parameters (`read_host_count()`)."""
    db_port: int
    """`DB_PORT`."""
    db_name: str
    """`DB_NAME`."""
    pool: tuple[int, int]
    """(`DB_POOL_MIN`, `DB_POOL_MAX`) from `pool_size()`."""
    cache_host: pulumi.Input[str]
    """The primary endpoint address of the cache that takes the region's writes."""
    cache_read_host: pulumi.Input[str]
    """The reader endpoint address of the region's serving cache."""
    cache_port: int
    """`REDIS_PORT`."""
    cache_secret_arn: pulumi.Input[str]
    """ARN of the serving cache's AUTH secret (`REDIS_AUTH_SECRET_ID`)."""
    bucket_name: pulumi.Input[str]
    """`OBJECT_BUCKET`: the primary region's object bucket."""
    db_secret_arn: pulumi.Input[str] | None = None
    """ARN of the region's database master secret (`DB_SECRET_ID`); default None: not in the region yet."""
    queue_url: pulumi.Input[str] | None = None
    """`QUEUE_URL`; default None: the phase has no queue."""


class AppConfig(pulumi.ComponentResource):
    path: str
    parameters: list[aws.ssm.Parameter]
    parameter_names: pulumi.Output[list[str]]

    def __init__(self, name: str, args: AppConfigArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("qnom:components:AppConfig", name, None, opts)
        self._name = name
        self._child = pulumi.ResourceOptions(parent=self)
        self.path = args.path
        self.parameters = [self._parameter(args.path, key, value) for key, value in _values(args).items()]
        self.parameter_names = pulumi.Output.all(*[parameter.name for parameter in self.parameters])
        self.register_outputs({"path": self.path, "parameter_names": self.parameter_names})

    def _parameter(self, path: str, key: str, value: pulumi.Input) -> aws.ssm.Parameter:
        return aws.ssm.Parameter(f"{self._name}-{key}", aws.ssm.ParameterArgs(
            name=f"{path}/{key}",
            type="String",
            # `value` is always a secret in the provider's schema; these are not, and the plan shows them.
            insecure_value=pulumi.Output.from_input(value).apply(str),
            description=f"qnom app configuration: {key}",
        ), self._child)


def _values(args: AppConfigArgs) -> Mapping[str, pulumi.Input]:
    values: dict[str, pulumi.Input] = {"DB_WRITE_HOST": args.write_host}
    hosts = pulumi.Output.all(args.read_hosts, args.write_host).apply(lambda pair: list(pair[0]) or [pair[1]])
    for index in range(args.read_host_count):
        values[f"DB_READ_HOST_{index + 1}"] = hosts.apply(lambda names, i=index: names[i % len(names)])
    values.update({
        "DB_PORT": args.db_port,
        "DB_NAME": args.db_name,
        "DB_POOL_MIN": args.pool[0],
        "DB_POOL_MAX": args.pool[1],
        "REDIS_HOST": args.cache_host,
        "REDIS_READ_HOST": args.cache_read_host,
        "REDIS_PORT": args.cache_port,
        "REDIS_TLS": "true",
        f"REDIS_AUTH{SECRET_ID_SUFFIX}": args.cache_secret_arn,
        "OBJECT_BUCKET": args.bucket_name,
        "OBJECT_PREFIX": OBJECT_PREFIX,
    })
    if args.db_secret_arn is not None:
        values[f"DB{SECRET_ID_SUFFIX}"] = args.db_secret_arn
    if args.queue_url is not None:
        values["QUEUE_URL"] = args.queue_url
    return values


@dataclass(frozen=True)
class SharedData:
    """What every region's apps share with the primary region: the writer, the queue, the bucket."""

    region: str
    """The primary region (the bucket's region)."""
    db_writer_endpoint: pulumi.Input[str]
    """The primary region's `Database.writer_endpoint`."""
    bucket_name: pulumi.Input[str]
    """The primary region's object bucket."""
    queue_url: pulumi.Input[str] | None = None
    """The primary region's job queue; default None: the phase has none."""
    queue_name: pulumi.Input[str] | None = None
    """Its name (the IAM grants name it by name); default None."""
    cache_writer_endpoint: pulumi.Input[str] | None = None
    """The primary region's cache primary endpoint when it leads a global datastore, whose members in
    the other regions are read-only; default None: every region writes to its own cache."""
