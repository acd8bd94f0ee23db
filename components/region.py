"""One AWS region of the platform: its explicit AWS provider and everything regional.

Every regional resource hangs under its `Region` and uses the region's provider from
phase 1 on, so adding a region in a later phase only adds siblings. Creates the region's log
key (`{region}-logs-key`: KMS, encrypting every log group of the region) and its
`Network` and `ApiTier` (sized from the region's capacity; the traffic schedule only in
the primary region). The primary region also holds the job `Queue` and the `Workers`
consuming it (phase 2 on), `ObjectStorage`, the `Database`, the `Cache` and (phase 3 on)
`Search`, which admit only the API and worker security groups. From phase 3 every region also
holds its `Kubernetes` tier (`{region}-k8s`, `components/kubernetes/`), whose cluster security
group the region's data stores admit like the app tiers' groups.

Every region also holds its `AppConfig` (`{region}-app-config`): the SSM parameters the API and
worker boot scripts read (contract in `components/compute/app_config.py`): the primary's writer, the
region's own read endpoints and serving cache, and the primary's queue and bucket. The data
tier is built before the app tiers (they need its endpoints and secrets, and their groups wait
for the configuration); the data stores admit the app tiers' security groups through deferred
outputs, resolved once the app tiers exist.

A secondary region (phase 3 on) holds read copies of the primary's data, admitting only its own
API security group: a `Database` of cross-region read replicas (`{region}-db`) following the
primary region's first replica, and its own `Cache` (`{region}-cache`). From phase 4 it adds the
region's member of the global cache datastore beside that cache (`{region}-cache-global`): a
group joins a datastore only when it is created, so the phase-3 cache cannot join in place and
stays until `qnom:retireRegionalCaches` removes it in a later, separate step (the program cannot
see whether the members already run, so setting both in one step is the operator's to avoid; in
prod the old caches are protected, and Pulumi deletes nothing until they are deliberately
unprotected with `pulumi state unprotect`). After the database
cut-over its `Database` also holds the Aurora global database's secondary cluster. Whatever a
secondary follows in the primary region arrives as Inputs in `SecondaryRegionArgs`: the role is
the args type (`PrimaryRegionArgs | SecondaryRegionArgs`), checked against the catalog's role
before anything is registered.

Private path to the writer (phase 3 on): a secondary region's API writes to the primary's
database and cache, so its VPC peers with the primary's. The secondary holds the requester side
(`{region}-peering-{primary}`: the `Peering` connection and routes to the primary's CIDR in its
private tables) and its API instances may open 5432/6379 towards the primary's VPC CIDR. The
primary holds the accepter side of each peering (`{primary}-peering-{region}`, created by
`accept_peering` once the secondary exists: it needs the connection's id), with routes to the
secondary's CIDR in its private and isolated tables; its database and cache admit the
secondaries' private (app) subnet CIDRs, computed from the catalog, on their one port each.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Mapping

import pulumi
import pulumi_aws as aws

from components import defaults
from components.compute import app_config
from components.compute.api_tier import ApiTier, ApiTierArgs
from components.compute.app_config import AppAccess, AppConfig, AppConfigArgs, SharedData
from components.data.cache import Cache, DatastoreMembership, MemberCacheArgs, StandaloneCacheArgs
from components.data.database import DB_NAME, AuroraSecondary, Database, FollowerDatabaseArgs, WriterDatabaseArgs
from components.edge.origin_access import OriginSecrets
from components.network.network import NatGateways, NatInstance, Network, NetworkArgs, subnet_cidrs
from components.data.object_storage import BUCKET_KEYS, ObjectStorage, ObjectStorageArgs
from components.network.peering import AccepterPeeringArgs, Peering, RequesterPeeringArgs
from components.data.queue import Queue, QueueArgs
from components.data.search import Search, SearchArgs
from components.compute.workers import Workers, WorkersArgs
from components.kubernetes.kubernetes import Kubernetes, KubernetesArgs
from components.kubernetes.sizing import hpa_minimum
from components.observability.monitoring import (MonitoredCluster, MonitoredDatabase, MonitoredQueue, Monitoring,
                                                 MonitoringArgs)
from phases.models import RegionSpec
from phases.settings import SERVICE_IMAGE_FIELDS, StackSettings

ZONE_COUNT = 3


def provider_name(region: str) -> str:
    return f"aws-{region}"


@dataclass(frozen=True, kw_only=True)
class _RegionArgs:
    """What every region needs, whichever its role."""

    spec: RegionSpec
    """The region's entry in the phase catalog (name, role, CIDR, capacities)."""
    settings: StackSettings
    """The validated stack settings (phase, environment profile, tags)."""
    session_secret: pulumi.Input[str]
    """The API's session-signing secret, one value for every region."""
    certificate_arn: pulumi.Input[str] | None = None
    """The region's validated ACM certificate for the domain (from `Dns`); None without a domain."""
    origin_secrets: OriginSecrets | None = None
    """The origin secrets the load balancer requires (`create_origin_secrets`); None: not required."""


@dataclass(frozen=True, kw_only=True)
class PrimaryRegionArgs(_RegionArgs):
    """The primary region: the writer, the queue and workers, the bucket, search, and the accepter
    side of every peering."""

    db_secret_replicas: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """The secondary regions the database's master secrets are replicated to, each with that
    region's database key. Default: none."""

    def __post_init__(self) -> None:
        if self.spec.role != "primary":
            raise ValueError(f"PrimaryRegionArgs: {self.spec.name} is a {self.spec.role} region in the catalog")


@dataclass(frozen=True, kw_only=True)
class SecondaryRegionArgs(_RegionArgs):
    """A secondary region (phase 3 on): read copies of what the primary region writes, and the
    requester side of its peering with the primary. Whatever it follows arrives here as Inputs."""

    primary_data: SharedData
    """The primary region's writer, queue and bucket, which the region's apps use. Required."""
    primary_vpc_id: pulumi.Input[str]
    """The primary region's VPC, which the region's VPC peers with. Required."""
    db_replica_source_arn: pulumi.Input[str]
    """ARN of the primary region's first read replica, which the region's replicas follow. Required."""
    db_master_secret_arn: pulumi.Input[str]
    """The primary region's master secret of the writer, replicated here. Required."""
    db_master_secret_name: pulumi.Input[str]
    """Its name, which the replica here shares (the app roles' grants name it). Required."""
    aurora_secondary: AuroraSecondary | None = None
    """After the cut-over: the Aurora global database to join and its primary cluster's actual engine
    version. Default None: no secondary cluster."""
    cache_datastore: DatastoreMembership | None = None
    """Phase 4: the global cache datastore the region's member joins and the primary cache's AUTH
    token, which the member carries. Default None: no member."""
    db_backup_source_arn: pulumi.Input[str] | None = None
    """The primary region's writer, whose automated backups RDS copies into this region (the first
    secondary region). Default None: no copy here."""
    failover_writer: bool = False
    """Region failover (`qnom:failoverRegion` names this region): the region's first replica is promoted
    to the writer and its apps write there. Default False."""

    def __post_init__(self) -> None:
        if self.spec.role != "secondary":
            raise ValueError(f"SecondaryRegionArgs: {self.spec.name} is a {self.spec.role} region in the catalog")
        # The regional cache goes only once the datastore's member serves the region.
        if self.settings.retire_regional_caches and self.cache_datastore is None:
            raise ValueError(f"SecondaryRegionArgs: {self.spec.name} retires its regional cache "
                             "(qnom:retireRegionalCaches) without a cache_datastore to serve it")


RegionArgs = PrimaryRegionArgs | SecondaryRegionArgs
"""One region of the platform: the role is the type."""


class Region(pulumi.ComponentResource):
    provider: aws.Provider
    availability_zones: list[str]
    log_key: aws.kms.Key
    network: Network
    vpc_id: pulumi.Output[str]
    alb_dns_name: pulumi.Output[str]
    api_asg_name: pulumi.Output[str]
    api: ApiTier
    app_config: AppConfig
    shared_data: SharedData
    queue: Queue | None
    workers: Workers | None
    storage: ObjectStorage | None
    database: Database
    cache: Cache | None
    global_cache: Cache | None
    search: Search | None
    peering: Peering | None
    accepted_peerings: dict[str, Peering]
    kubernetes: Kubernetes | None
    monitoring: Monitoring

    def __init__(self, name: str, args: RegionArgs, opts: pulumi.ResourceOptions | None = None):
        if not isinstance(args, (PrimaryRegionArgs, SecondaryRegionArgs)):
            raise TypeError(f"{name}: RegionArgs is PrimaryRegionArgs or SecondaryRegionArgs, "
                            f"got {type(args).__name__}")
        super().__init__("qnom:components:Region", name, None, opts)
        self._name, self._args = name, args
        settings, spec = args.settings, args.spec
        self.provider = self._create_provider(spec.name, settings)
        # Children inherit the provider through their parent, so nothing regional can land
        # in the default provider's region by accident.
        self._child = pulumi.ResourceOptions(parent=self, providers={"aws": self.provider})
        self.availability_zones = self._pick_zones()
        self.log_key = self._create_log_key()
        self.network = Network(f"{name}-network", NetworkArgs(
            region=spec.name,
            cidr=spec.cidr,
            availability_zones=self.availability_zones,
            nat=(NatInstance(instance_type=settings.phase.egress.instance_type)
                 if settings.phase.egress.nat == "instance" else NatGateways(per_az=settings.nat_per_az)),
            flow_log_retention_days=settings.profile.log_retention_days,
            log_key_arn=self.log_key.arn,
        ), self._child)
        self.vpc_id = self.network.vpc_id
        self.queue = self.workers = self.storage = self.cache = self.search = None
        self.global_cache = self.peering = None
        self.accepted_peerings = {}
        match args:
            case PrimaryRegionArgs():
                resolve_clients = self._create_primary_side(args)
            case SecondaryRegionArgs():
                resolve_clients = self._create_secondary_side(args)
        self.app_config = self._create_app_config()
        self.api = self._create_api_tier()
        self.workers = self._create_workers()
        self.kubernetes = self._create_kubernetes()
        resolve_clients["api"](self.api.security_group_id)
        if "workers" in resolve_clients:
            resolve_clients["workers"](self.workers.security_group_id)
        if "kubernetes" in resolve_clients:
            resolve_clients["kubernetes"](self.kubernetes.cluster_security_group_id)
        self.monitoring = self._create_monitoring()
        self.alb_dns_name = self.api.alb_dns_name
        self.api_asg_name = self.api.asg_name
        self.register_outputs({
            "vpc_id": self.vpc_id,
            "availability_zones": self.availability_zones,
            "alb_dns_name": self.alb_dns_name,
            "api_asg_name": self.api_asg_name,
        })

    # The two roles ----------------------------------------------------------------------------

    def _create_primary_side(self, args: PrimaryRegionArgs) -> dict:
        """The writer's region: queue, bucket, data stores; it peers with every secondary."""
        phase = args.settings.phase
        self._peers = [region for region in phase.regions if region.name != args.spec.name]
        # The seed's traffic pattern is the primary region's.
        self._schedule, self._remote_data_cidrs = phase.schedule, {}
        self._has_workers = phase.workers is not None and phase.queue is not None
        # The data stores admit the app tiers' groups, which do not exist yet: see the docstring.
        self._clients, resolve_clients = self._deferred_clients()
        self.queue = self._create_queue()
        self.storage = ObjectStorage(f"{self._name}-storage", ObjectStorageArgs(profile=args.settings.profile),
                                     self._child)
        self._create_data_stores(args)
        self.shared_data = SharedData(
            region=args.spec.name,
            db_writer_endpoint=self.database.writer_endpoint,
            bucket_name=self.storage.bucket_name,
            queue_url=self.queue.queue_url if self.queue else None,
            queue_name=self.queue.queue_name if self.queue else None,
            cache_writer_endpoint=self.cache.primary_endpoint if args.settings.cache_global_datastore else None,
        )
        return resolve_clients

    def _create_secondary_side(self, args: SecondaryRegionArgs) -> dict:
        """A reading region: copies of the primary's data, its apps writing to the primary over the peering."""
        self._peers = [args.settings.phase.primary_region]
        # Secondaries scale on load; their API writes to the primary's database and cache, over the peering.
        self._schedule = None
        self._remote_data_cidrs = {peer.name: peer.cidr for peer in self._peers}
        self._has_workers = False
        self._clients, resolve_clients = self._deferred_clients()
        self.peering = self._request_peering(args)
        self._create_read_copies(args)
        self.shared_data = args.primary_data
        if args.failover_writer:
            # The region's apps write to the replica the failover promoted, inside their own VPC.
            self.shared_data = dataclasses.replace(args.primary_data, db_writer_endpoint=self.database.writer_endpoint)
        return resolve_clients

    def _create_api_tier(self) -> ApiTier:
        settings, spec = self._args.settings, self._args.spec
        return ApiTier(f"{self._name}-api", ApiTierArgs(
            region=spec.name,
            vpc_id=self.network.vpc_id,
            vpc_cidr=spec.cidr,
            public_subnet_ids=self.network.public_subnet_ids,
            private_subnet_ids=self.network.private_subnet_ids,
            spec=settings.phase.api,
            capacity=spec.api,
            profile=settings.profile,
            image=settings.api_image,
            session_secret=self._args.session_secret,
            # Secrets Manager is regional, so the same name serves every region.
            session_secret_name=f"{settings.project}/{settings.stack}/api/session-secret",
            schedule=self._schedule,
            plan_date=settings.plan_date,
            domain=settings.domain,
            certificate_arn=self._args.certificate_arn,
            remote_data_cidrs=self._remote_data_cidrs,
            access=self._app_access(send_to_queue=True),
            boot_after=self._boot_after(),
            tags=settings.tags,
            surge_size=settings.api_surge_size(spec),
            log_key_arn=self.log_key.arn,
            origin_secrets=self._args.origin_secrets,
        ), self._child)

    def _deferred_clients(self) -> tuple[dict[str, pulumi.Output[str]], dict]:
        """The app tiers' security group ids, by client name, as deferred outputs (and their resolvers)."""
        names = ["api"]
        if self._has_workers:
            names.append("workers")
        if self._args.settings.phase.kubernetes is not None:
            names.append("kubernetes")
        pairs = {client: pulumi.deferred_output() for client in names}
        return {client: pair[0] for client, pair in pairs.items()}, {client: pair[1] for client, pair in pairs.items()}

    def _create_app_config(self) -> AppConfig:
        settings, shared, database, cache = self._args.settings, self.shared_data, self.database, self.serving_cache
        return AppConfig(f"{self._name}-app-config", AppConfigArgs(
            path=app_config.config_path(settings.project, settings.stack),
            # Every region writes to the primary's writer; reads stay in the region.
            write_host=shared.db_writer_endpoint,
            read_hosts=database.read_endpoints,
            read_host_count=app_config.read_host_count(len(database.replica_arns)),
            db_port=defaults.POSTGRES_PORT,
            db_name=DB_NAME,
            pool=app_config.pool_size(settings.phase, settings.database_cutover),
            # A global datastore's member is read-only (ElastiCache User Guide, "Replication across
            # AWS Regions using global datastores"), and the seed's Redis session store writes on
            # every request: a member region writes to the primary region's cache.
            cache_host=shared.cache_writer_endpoint if self.global_cache else cache.primary_endpoint,
            cache_read_host=cache.reader_endpoint,
            cache_port=defaults.REDIS_PORT,
            cache_secret_arn=cache.auth_secret_arn,
            bucket_name=shared.bucket_name,
            db_secret_arn=database.master_secret_arn,
            queue_url=shared.queue_url,
        ), self._child)

    def _app_access(self, send_to_queue: bool) -> AppAccess:
        """What the region's app roles may reach: the secrets the configuration names, the bucket, the
        queue, by name (known in a preview, unlike their ARNs)."""
        database, cache, shared = self.database, self.serving_cache, self.shared_data
        return AppAccess(
            config_path=self.app_config.path,
            secret_names=[database.master_secret_name, cache.auth_secret_name],
            bucket_name=shared.bucket_name,
            primary_region=shared.region,
            bucket_keys=BUCKET_KEYS,
            send_queue_name=shared.queue_name if send_to_queue else None,
        )

    def _boot_after(self) -> list[pulumi.Resource]:
        return [*self.network.internet_egress, *self.app_config.parameters]

    def _peered_app_cidrs(self) -> dict[str, str]:
        """The peered regions' private (app) subnet CIDRs, by rule name (`us-west-2-private-0`).

        From the catalog, like the subnets themselves, so the primary's data stores know them
        before the secondary regions exist. CIDRs and not security groups: AWS does not accept a
        reference to another region's security group across an inter-region peering.
        """
        return {f"{peer.name}-private-{index}": cidr
                for peer in self._peers
                for index, cidr in enumerate(subnet_cidrs(peer.cidr, ZONE_COUNT)["private"])}

    def _private_route_tables(self) -> dict[str, pulumi.Output[str]]:
        return {f"private-{zone}": table_id
                for zone, table_id in zip(self.availability_zones, self.network.private_route_table_ids)}

    def _request_peering(self, args: SecondaryRegionArgs) -> Peering:
        """The requester side of the peering with the primary: the app subnets' way to the writer."""
        primary = args.settings.phase.primary_region
        return Peering(f"{self._name}-peering-{primary.name}", RequesterPeeringArgs(
            peer_region=primary.name,
            peer_cidr=primary.cidr,
            route_table_ids=self._private_route_tables(),
            vpc_id=self.vpc_id,
            peer_vpc_id=args.primary_vpc_id,
        ), self._child)

    def accept_peering(self, requester: RegionSpec, connection_id: pulumi.Input[str]) -> Peering:
        """The primary's side of a secondary's peering, with routes back from the app and data subnets.

        It hangs under this (the primary) Region and so uses this region's provider, where AWS
        requires an inter-region request to be accepted. Created after the secondary Region because
        it needs the connection's id: adding a region adds one such component, a sibling of the
        others, and nothing that exists changes parent or provider.
        """
        if not isinstance(self._args, PrimaryRegionArgs):
            raise TypeError(f"{self._name}: only the primary region accepts peerings")
        peering = Peering(f"{self._name}-peering-{requester.name}", AccepterPeeringArgs(
            peer_region=requester.name,
            peer_cidr=requester.cidr,
            # The isolated table too: the database and cache answer the secondary from there.
            route_table_ids={**self._private_route_tables(), "isolated": self.network.isolated_route_table_id},
            connection_id=connection_id,
        ), self._child)
        self.accepted_peerings[requester.name] = peering
        return peering

    def _create_queue(self) -> Queue | None:
        settings = self._args.settings
        if settings.phase.queue is None:
            return None
        return Queue(f"{self._name}-queue", QueueArgs(spec=settings.phase.queue, profile=settings.profile),
                     self._child)

    def _create_workers(self) -> Workers | None:
        settings, spec = self._args.settings, self._args.spec
        if not self._has_workers:
            return None
        return Workers(f"{self._name}-workers", WorkersArgs(
            region=spec.name,
            vpc_id=self.vpc_id,
            vpc_cidr=spec.cidr,
            private_subnet_ids=self.network.private_subnet_ids,
            spec=settings.phase.workers,
            queue_name=self.queue.queue_name,
            image=settings.api_image,
            access=self._app_access(send_to_queue=False),
            boot_after=self._boot_after(),
            spot_only=settings.profile.spot_only,
            tags=settings.tags,
        ), self._child)

    def _create_kubernetes(self) -> Kubernetes | None:
        """Phase 3 on: the region's EKS cluster and the seed's services, in the app subnets."""
        settings, spec = self._args.settings, self._args.spec
        if settings.phase.kubernetes is None:
            return None
        return Kubernetes(f"{self._name}-k8s", KubernetesArgs(
            spec=settings.phase.kubernetes,
            region=spec.name,
            cluster_name=self._cluster_name(),
            vpc_cidr=spec.cidr,
            subnet_ids=self.network.private_subnet_ids,
            profile=settings.profile,
            images={service: settings.service_image(service) for service in SERVICE_IMAGE_FIELDS},
            config_path=self.app_config.path,
            public_access_cidrs=settings.cluster_public_access_cidrs,
            admin_role_arn=settings.cluster_admin_role_arn,
            # A secondary region's services write to the primary's stores, over the peering.
            data_cidrs=list(self._remote_data_cidrs.values()),
            access=self._app_access(send_to_queue=True),
            log_key_arn=self.log_key.arn,
        ), self._child)

    def _cluster_name(self) -> str:
        # EKS names are per account and region, so every region's cluster carries the stack's name.
        return f"{self._args.settings.project}-{self._args.settings.stack}"

    def _create_monitoring(self) -> Monitoring:
        """The region's alert topics and alarms, on everything the region runs."""
        settings, spec = self._args.settings, self._args.spec
        phase, database = settings.phase, self.database

        def identifier(arn: pulumi.Output[str]) -> pulumi.Output[str]:
            # An RDS instance's ARN ends with its identifier: arn:aws:rds:<region>:<account>:db:<id>.
            return arn.apply(lambda value: value.split(":")[-1])

        databases = [MonitoredDatabase(identifier(database.primary_arn), "primary")] if database.primary_arn else []
        databases += [MonitoredDatabase(identifier(arn), "replica") for arn in database.replica_arns]
        return Monitoring(f"{self._name}-monitoring", MonitoringArgs(
            region=spec.name,
            spec=phase.monitoring,
            profile=settings.profile,
            api_group_name=self.api.asg_name,
            api_capacity=spec.api,
            alb_arn_suffix=self.api.alb_arn_suffix,
            scale_up_policy_arn=self.api.scale_up_policy_arn,
            database_max_connections=phase.database.max_connections,
            database_storage_gb=phase.database.allocated_storage_gb,
            databases=databases,
            cache_group_id=self.serving_cache.replication_group_id,
            cache_nodes=spec.cache_nodes,
            queue=MonitoredQueue(self.queue.queue_name, self.queue.dlq_name) if self.queue else None,
            search_domain_name=self.search.domain_name if self.search else None,
            search_volume_gb=phase.search.volume_size_gb if phase.search else 0,
            anomaly_detection=phase.monitoring.anomaly_detection,
            alert_email=settings.alert_email,
            kubernetes=MonitoredCluster(
                name=self._cluster_name(),
                minimum_pods={service.name: hpa_minimum(service, phase.kubernetes.hpa)
                              for service in phase.kubernetes.services},
            ) if self.kubernetes else None,
        ), self._child)

    def _client_security_groups(self) -> dict[str, pulumi.Output[str]]:
        """The app tiers the data stores admit, by name: the API, and the workers from phase 2."""
        return dict(self._clients)

    def _database_placement(self) -> dict:
        """What the region's database takes in either mode: sizes from the phase, placement and
        clients from this region."""
        settings, spec = self._args.settings, self._args.spec
        return dict(
            spec=settings.phase.database,
            read_replicas=spec.db_read_replicas,
            vpc_id=self.vpc_id,
            subnet_ids=self.network.isolated_subnet_ids,
            availability_zones=self.availability_zones,
            profile=settings.profile,
            client_security_groups=self._client_security_groups(),
        )

    def _cache_placement(self) -> dict:
        """What the region's caches take in either mode: sizes from the phase, placement and clients
        from this region."""
        settings, spec = self._args.settings, self._args.spec
        return dict(
            spec=settings.phase.cache,
            node_count=spec.cache_nodes,
            vpc_id=self.vpc_id,
            subnet_ids=self.network.isolated_subnet_ids,
            profile=settings.profile,
            client_security_groups=self._client_security_groups(),
            log_key_arn=self.log_key.arn,
        )

    def _create_data_stores(self, args: PrimaryRegionArgs) -> None:
        """Database, cache and (phase 3 on) search in the isolated subnets, reachable only from the app tiers."""
        settings = args.settings
        phase, profile, isolated = settings.phase, settings.profile, self.network.isolated_subnet_ids
        clients = self._client_security_groups()
        # The secondary regions' API instances write here too, from their app subnets over the peering.
        peered_clients = self._peered_app_cidrs()
        self.database = Database(f"{self._name}-db", WriterDatabaseArgs(
            **self._database_placement(),
            client_cidrs=peered_clients,
            cutover=settings.database_cutover,
            aurora_global=settings.aurora_global_database,
            # The rotation function runs in the app subnets: they route to the NAT gateway, which
            # it needs for the Secrets Manager API, and the database admits its security group.
            rotation_subnet_ids=self.network.private_subnet_ids,
            secret_replicas=args.db_secret_replicas,
        ), self._child)
        self.cache = Cache(f"{self._name}-cache", StandaloneCacheArgs(
            **self._cache_placement(), global_primary=settings.cache_global_datastore, client_cidrs=peered_clients,
        ), self._child)
        self.search = Search(f"{self._name}-search", SearchArgs(
            spec=phase.search,
            domain_name=f"{settings.project}-{settings.stack}-search",
            vpc_id=self.vpc_id,
            subnet_ids=isolated,
            profile=profile,
            client_security_groups=clients,
            log_key_arn=self.log_key.arn,
            create_service_linked_role=settings.search_service_role == "create",
        ), self._child) if phase.search else None

    def _create_read_copies(self, args: SecondaryRegionArgs) -> None:
        """A secondary region's database replicas and caches, reachable only from its API tier."""
        self.database = Database(f"{self._name}-db", FollowerDatabaseArgs(
            **self._database_placement(),
            replica_source_arn=args.db_replica_source_arn,
            source_master_secret_arn=args.db_master_secret_arn,
            source_master_secret_name=args.db_master_secret_name,
            aurora_secondary=args.aurora_secondary,
            promote_first_replica=args.failover_writer,
            backup_source_arn=args.db_backup_source_arn,
        ), self._child)
        if not args.settings.retire_regional_caches:
            self.cache = Cache(f"{self._name}-cache", StandaloneCacheArgs(**self._cache_placement()), self._child)
        if args.cache_datastore is not None:
            self.global_cache = Cache(f"{self._name}-cache-global", MemberCacheArgs(
                **self._cache_placement(), datastore=args.cache_datastore,
            ), self._child)

    def _create_log_key(self) -> aws.kms.Key:
        # One key for the region's log groups (flow logs, cache and search logs, the web ACL's): its
        # policy admits CloudWatch Logs of this region for this account's log groups only.
        profile = self._args.settings.profile
        return aws.kms.Key(f"{self._name}-logs-key", defaults.log_key_args(
            f"{self._name} logs", profile, pulumi.InvokeOptions(provider=self.provider)),
            defaults.stateful_options(self._child, profile))

    @property
    def serving_cache(self) -> Cache:
        """The cache the region's apps read from: the datastore's member once there is one."""
        return self.global_cache or self.cache

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
