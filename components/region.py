"""One AWS region of the platform: its explicit AWS provider and everything regional.

Every regional resource hangs under its `Region` and uses the region's provider from
phase 1 on, so adding a region in a later phase only adds siblings. The primary region
also holds the data tier: `Database`, `Cache`, `ObjectStorage`, and per phase `Queue` and
`Search`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_aws as aws

from components.cache import Cache, CacheArgs
from components.database import Database, DatabaseArgs
from components.network import Network, NetworkArgs
from components.object_storage import ObjectStorage, ObjectStorageArgs
from components.queue import Queue, QueueArgs
from components.search import Search, SearchArgs
from phases.models import RegionSpec
from phases.settings import StackSettings

ZONE_COUNT = 3


def provider_name(region: str) -> str:
    return f"aws-{region}"


@dataclass(frozen=True)
class RegionArgs:
    spec: RegionSpec
    """The region's entry in the phase catalog (name, role, CIDR, capacities)."""
    settings: StackSettings
    """The validated stack settings (phase, environment profile, tags)."""


class Region(pulumi.ComponentResource):
    provider: aws.Provider
    availability_zones: list[str]
    network: Network
    vpc_id: pulumi.Output[str]
    database: Database | None
    cache: Cache | None
    queue: Queue | None
    storage: ObjectStorage | None
    search: Search | None

    def __init__(self, name: str, args: RegionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("qnom:components:Region", name, None, opts)
        settings, spec = args.settings, args.spec
        self.provider = self._create_provider(spec.name, settings)
        # Children inherit the provider through their parent, so nothing regional can land
        # in the default provider's region by accident.
        child = pulumi.ResourceOptions(parent=self, providers={"aws": self.provider})
        self.availability_zones = self._pick_zones()
        self.network = Network(f"{name}-network", NetworkArgs(
            region=spec.name,
            cidr=spec.cidr,
            availability_zones=self.availability_zones,
            nat_per_az=settings.nat_per_az,
            flow_log_retention_days=settings.profile.log_retention_days,
        ), child)
        self.vpc_id = self.network.vpc_id
        self.database = self.cache = self.queue = self.storage = self.search = None
        if spec.role == "primary":
            # Secondary regions get their cross-region replicas and caches from the
            # multi-region work, as new siblings: nothing here moves when they arrive.
            self._create_queue_and_storage(name, settings, child)
            # The compute tier goes here: its workers consume the queue, and its API and
            # worker security groups are the only clients the data stores admit.
            self._create_data_stores(name, spec, settings, child, client_security_group_ids=[])
        self.register_outputs({
            "vpc_id": self.vpc_id,
            "availability_zones": self.availability_zones,
        })

    def _create_queue_and_storage(self, name: str, settings: StackSettings, child: pulumi.ResourceOptions) -> None:
        """The data tier's parts that admit no network clients: the job queue (phase 2 on) and buckets."""
        phase, profile = settings.phase, settings.profile
        self.queue = Queue(f"{name}-queue", QueueArgs(spec=phase.queue, profile=profile),
                           child) if phase.queue else None
        self.storage = ObjectStorage(f"{name}-storage", ObjectStorageArgs(profile=profile), child)

    def _create_data_stores(self, name: str, spec: RegionSpec, settings: StackSettings,
                            child: pulumi.ResourceOptions,
                            client_security_group_ids: Sequence[pulumi.Input[str]]) -> None:
        """Database, cache and (phase 3 on) search, reachable only from `client_security_group_ids`."""
        phase, profile, isolated = settings.phase, settings.profile, self.network.isolated_subnet_ids
        self.database = Database(f"{name}-db", DatabaseArgs(
            spec=phase.database,
            read_replicas=spec.db_read_replicas,
            vpc_id=self.vpc_id,
            subnet_ids=isolated,
            availability_zones=self.availability_zones,
            profile=profile,
            client_security_group_ids=client_security_group_ids,
            cutover=settings.database_cutover,
        ), child)
        self.cache = Cache(f"{name}-cache", CacheArgs(
            spec=phase.cache,
            node_count=spec.cache_nodes,
            vpc_id=self.vpc_id,
            subnet_ids=isolated,
            profile=profile,
            client_security_group_ids=client_security_group_ids,
        ), child)
        self.search = Search(f"{name}-search", SearchArgs(
            spec=phase.search,
            domain_name=f"{settings.project}-{settings.stack}-search",
            vpc_id=self.vpc_id,
            subnet_ids=isolated,
            profile=profile,
            client_security_group_ids=client_security_group_ids,
        ), child) if phase.search else None

    @staticmethod
    def _create_provider(region: str, settings: StackSettings) -> aws.Provider:
        # Top-level on purpose: a provider's URN must never change (a new provider URN makes
        # every resource using it a replacement), so it does not depend on the component tree.
        return aws.Provider(provider_name(region), aws.ProviderArgs(
            region=region,
            default_tags=aws.ProviderDefaultTagsArgs(tags=settings.tags),
        ))

    def _pick_zones(self) -> list[str]:
        # Sorted and cut to three, so the same zones come back on every run: a subnet whose
        # availability_zone changes is replaced.
        zones = aws.get_availability_zones(
            state="available",
            filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
            opts=pulumi.InvokeOptions(provider=self.provider),
        )
        names = sorted(zones.names)
        if len(names) < ZONE_COUNT:
            raise pulumi.RunError(f"{self._name}: needs {ZONE_COUNT} availability zones, found {names}")
        return names[:ZONE_COUNT]
