"""The whole platform of one stack: one `Region` per region of the phase, and the global
pieces: the `Edge` (CloudFront, its WAF and static bucket) in every phase and, with a
domain, the `Dns` (Route 53 records, health checks, ACM certificates).

Global pieces hang directly under `Platform`; everything regional hangs under its `Region`.
Creates the API's session secret value (pulumi-random) here, once, so a session signed in
one region is valid in every other. The primary region's endpoints, names and secret ARNs
come out flat (None where the phase has no such resource), with the phase, the environment and
the read endpoints of every region; `components/stack_outputs.py` names them for the stack.

The primary region is built first: the secondary regions follow its data. Between the two,
Platform creates the global data pieces, each with the primary region's provider named
explicitly (a global piece has no `Region` to inherit one from): in phase 4 the ElastiCache
global datastore (`aws.elasticache.GlobalReplicationGroup`, `-cache-global`) led by the primary
region's existing cache group, which joins in place, and after the database cut-over the Aurora
global database (`aws.rds.GlobalCluster`, `-db-global`) built from the promoted Aurora cluster,
which joins in place too. What the secondaries need (the replica ARN they follow, the datastore
and global database ids, the cache AUTH token, the primary's VPC to peer with, and the writer,
queue and bucket their apps use) reaches them as Inputs through `SecondaryRegionArgs`. Each
secondary's VPC peering is requested under the secondary
`Region` and accepted under the primary one (`Region.accept_peering`), right after the
secondary is built; `peeringConnectionIds` names the connections by secondary region.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components import defaults
from components.edge.dns import Dns, DnsArgs, DnsRegion
from components.edge.edge import ApiOrigin, Edge, EdgeArgs
from components.observability.stack_monitoring import StackMonitoring, StackMonitoringArgs
from components.edge.origin_access import create_origin_secrets
from components.data.cache import DatastoreMembership
from components.data.database import AuroraSecondary
from components.region import PrimaryRegionArgs, Region, SecondaryRegionArgs, provider_name
from components.stack_outputs import STACK_OUTPUTS
from phases.settings import StackSettings

@dataclass(frozen=True)
class PlatformArgs:
    settings: StackSettings
    """The validated stack settings: phase, environment profile, domain."""


class Platform(pulumi.ComponentResource):
    regions: dict[str, Region]
    primary: Region
    phase_name: str
    environment: str
    region_names: list[str]
    vpc_ids: pulumi.Output[dict[str, str]]
    edge: Edge
    dns: Dns | None
    public_url: pulumi.Output[str]
    cdn_domain_name: pulumi.Output[str]
    cdn_distribution_id: pulumi.Output[str]
    static_bucket_name: pulumi.Output[str]
    alb_dns_names: pulumi.Output[dict[str, str]]
    health_check_ids: pulumi.Output[dict[str, str]] | None
    alb_dns_name: pulumi.Output[str]
    alb_zone_id: pulumi.Output[str]
    api_asg_name: pulumi.Output[str]
    api_target_group_arn: pulumi.Output[str]
    api_security_group_id: pulumi.Output[str]
    alb_security_group_id: pulumi.Output[str]
    api_listener: str
    worker_asg_name: pulumi.Output[str] | None
    db_writer_endpoint: pulumi.Output[str]
    db_primary_endpoint: pulumi.Output[str]
    db_reader_endpoints: pulumi.Output[list[str]]
    db_master_secret_arn: pulumi.Output[str]
    aurora_endpoint: pulumi.Output[str] | None
    aurora_reader_endpoint: pulumi.Output[str] | None
    aurora_master_secret_arn: pulumi.Output[str] | None
    cache_primary_endpoint: pulumi.Output[str]
    cache_reader_endpoint: pulumi.Output[str]
    cache_auth_secret_arn: pulumi.Output[str]
    queue_url: pulumi.Output[str] | None
    queue_arn: pulumi.Output[str] | None
    dlq_url: pulumi.Output[str] | None
    object_bucket_name: pulumi.Output[str]
    log_bucket_name: pulumi.Output[str]
    search_endpoint: pulumi.Output[str] | None
    search_master_secret_arn: pulumi.Output[str] | None
    db_reader_endpoints_by_region: dict[str, pulumi.Output[list[str]]]
    cache_endpoints_by_region: dict[str, pulumi.Output[str]]
    cache_global_datastore_id: pulumi.Output[str] | None
    aurora_global_cluster_id: pulumi.Output[str] | None
    peering_connection_ids: dict[str, pulumi.Output[str]] | None
    monitoring: StackMonitoring

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("qnom:components:Platform", name, None, opts)
        self._name, self._settings = name, args.settings
        self._child = child = pulumi.ResourceOptions(parent=self)
        phase = args.settings.phase
        settings = args.settings
        self.phase_name, self.environment = phase.name, settings.environment
        self.region_names = [region.name for region in phase.regions]
        session_secret = self._create_session_secret(name, child)
        # Before any region: every load balancer accepts them, and the edge sends one.
        self._origin_secrets = create_origin_secrets(name, settings.origin_secret_slot, child)
        # The regions' listeners need the certificates Dns validates, and Dns needs the
        # regions' load balancers: deferred outputs close the loop without a second pass.
        certificates = {spec.name: pulumi.deferred_output() for spec in phase.regions} if settings.domain else {}

        def certificate_of(region: str) -> pulumi.Output[str] | None:
            return certificates[region][0] if settings.domain else None

        # The primary database's master secrets are replicated to the secondary regions, each copy
        # encrypted with that region's database key, which the secondary Region creates later:
        # deferred outputs again (the keys depend on nothing of the primary's).
        db_keys = {spec.name: pulumi.deferred_output() for spec in phase.regions[1:]}
        self.primary = Region(phase.primary_region.name, PrimaryRegionArgs(
            spec=phase.primary_region, settings=settings, session_secret=session_secret.result,
            origin_secrets=self._origin_secrets,
            certificate_arn=certificate_of(phase.primary_region.name),
            db_secret_replicas={region: key for region, (key, _) in db_keys.items()}), child)
        cache_datastore = self._create_cache_global_datastore()
        aurora_global = self._create_aurora_global_database()
        self.cache_global_datastore_id = cache_datastore.global_replication_group_id if cache_datastore else None
        self.aurora_global_cluster_id = aurora_global.id if aurora_global else None
        self.regions = {phase.primary_region.name: self.primary}
        # What every secondary joins: one membership of each global piece, or none.
        cache_membership = DatastoreMembership(
            global_replication_group_id=cache_datastore.global_replication_group_id,
            auth_token=self.primary.cache.auth_token) if cache_datastore else None
        aurora_secondary = AuroraSecondary(
            global_cluster_id=aurora_global.id,
            engine_version=self.primary.database.aurora_engine_version) if aurora_global else None
        for index, spec in enumerate(phase.regions[1:]):
            self.regions[spec.name] = Region(spec.name, SecondaryRegionArgs(
                spec=spec, settings=settings, session_secret=session_secret.result,
                origin_secrets=self._origin_secrets,
                certificate_arn=certificate_of(spec.name),
                primary_data=self.primary.shared_data,
                primary_vpc_id=self.primary.vpc_id,
                db_replica_source_arn=self.primary.database.replica_arns[0],
                db_master_secret_arn=self.primary.database.master_secret_arn,
                db_master_secret_name=self.primary.database.master_secret_name,
                aurora_secondary=aurora_secondary,
                cache_datastore=cache_membership,
                # AWS copies an instance's automated backups to one destination Region: the first secondary.
                db_backup_source_arn=self.primary.database.primary_arn if index == 0 else None,
                failover_writer=settings.failover_region == spec.name,
            ), child)
            db_keys[spec.name][1](self.regions[spec.name].database.kms_key_arn)
            self.primary.accept_peering(spec, self.regions[spec.name].peering.connection_id)
        self.vpc_ids = pulumi.Output.all(**{name: region.vpc_id for name, region in self.regions.items()})
        self.alb_dns_names = pulumi.Output.all(**{name: region.api.alb_dns_name
                                                  for name, region in self.regions.items()})
        self._create_edge(settings, {name: resolve for name, (_, resolve) in certificates.items()}, child)
        self.monitoring = self._create_stack_monitoring(settings, child)
        self._expose_compute_tier(self.primary, args.settings.domain)
        self._expose_data_tier(self.primary)
        # Plain dicts of Outputs, so a preview shows every region's key even while the
        # endpoints themselves are still unknown.
        self.db_reader_endpoints_by_region = {
            name: region.database.read_endpoints for name, region in self.regions.items()}
        self.cache_endpoints_by_region = {
            name: region.serving_cache.reader_endpoint for name, region in self.regions.items()}
        # None in a single-region phase, so the export is left out there.
        self.peering_connection_ids = {
            name: region.peering.connection_id for name, region in self.regions.items() if region.peering} or None
        self.register_outputs(STACK_OUTPUTS.by_attribute(self))

    def _global_provider(self) -> aws.Provider:
        # CloudFront's certificate and web ACL live in us-east-1, whatever the primary region.
        us_east_1 = self.regions.get("us-east-1")
        return us_east_1.provider if us_east_1 else aws.Provider(
            provider_name("us-east-1"), aws.ProviderArgs(region="us-east-1"))

    def _create_edge(self, settings: StackSettings, resolve_certificates: dict, child: pulumi.ResourceOptions) -> None:
        phase, global_provider = settings.phase, self._global_provider()
        self.dns = None
        if settings.domain:
            cdn_name, resolve_cdn_name = pulumi.deferred_output()
            cdn_zone, resolve_cdn_zone = pulumi.deferred_output()
            self.dns = Dns("dns", DnsArgs(
                domain=settings.domain,
                zone_mode=settings.hosted_zone,
                routing=settings.routing,
                regions=[DnsRegion(spec.name, spec.weight, self.regions[spec.name].api.alb_dns_name,
                                   self.regions[spec.name].api.alb_zone_id, self.regions[spec.name].provider)
                         for spec in phase.regions],
                health_check=phase.api.health_check,
                cloudfront_domain_name=cdn_name,
                cloudfront_zone_id=cdn_zone,
                global_provider=global_provider,
                profile=settings.profile,
            ), child)
            for region, resolve in resolve_certificates.items():
                resolve(self.dns.regional_certificate_arns[region])
        self.edge = Edge("edge", EdgeArgs(
            cdn=phase.cdn,
            rate_limit_per_5min=phase.api.rate_limit_per_5min,
            profile=settings.profile,
            api_origins=[ApiOrigin(spec.name, self.regions[spec.name].api.alb_dns_name) for spec in phase.regions],
            provider=global_provider,
            health_path=phase.api.health_check.path,
            domain=settings.domain,
            certificate_arn=self.dns.cloudfront_certificate_arn if self.dns else None,
            origin_secrets=self._origin_secrets,
        ), child)
        if self.dns:
            resolve_cdn_name(self.edge.domain_name)
            resolve_cdn_zone(self.edge.hosted_zone_id)
        self.public_url = self.edge.url
        self.cdn_domain_name = self.edge.domain_name
        self.cdn_distribution_id = self.edge.distribution_id
        self.static_bucket_name = self.edge.static_bucket_name
        self.health_check_ids = pulumi.Output.all(**self.dns.health_check_ids) if self.dns else None

    def _create_stack_monitoring(self, settings: StackSettings, child: pulumi.ResourceOptions) -> StackMonitoring:
        """Budgets, cost anomalies and availability: global, so under Platform with the us-east-1 provider."""
        return StackMonitoring("monitoring", StackMonitoringArgs(
            stack_name=f"{settings.project}-{settings.stack}",
            environment=settings.environment,
            budget=settings.phase.budget,
            spec=settings.phase.monitoring,
            profile=settings.profile,
            provider=self._global_provider(),
            health_check_ids=self.dns.health_check_ids if self.dns else None,
            region_widgets={name: region.monitoring.widgets for name, region in self.regions.items()},
            request_counts={name: region.api.alb_arn_suffix for name, region in self.regions.items()},
            alert_email=settings.alert_email,
        ), child)

    @staticmethod
    def _create_session_secret(name: str, child: pulumi.ResourceOptions) -> random.RandomPassword:
        # Letters and digits only: the value travels through a shell and an env file.
        return random.RandomPassword(f"{name}-session-secret", random.RandomPasswordArgs(
            length=defaults.SESSION_SECRET_LENGTH, special=False,
        ), child)

    def _global_options(self) -> pulumi.ResourceOptions:
        # A global piece hangs under Platform, which has no provider of its own: the primary
        # region's provider is named explicitly, so the piece is managed from the primary region.
        return pulumi.ResourceOptions.merge(defaults.stateful_options(self._child, self._settings.profile),
                                            pulumi.ResourceOptions(provider=self.primary.provider))

    def _create_cache_global_datastore(self) -> aws.elasticache.GlobalReplicationGroup | None:
        settings = self._settings
        if not settings.cache_global_datastore:
            return None
        spec = settings.phase.cache
        # The primary region's group becomes the datastore's primary in place (AWS: a global
        # datastore can be set up on an existing cluster). Node type and engine version are
        # stated here because AWS manages them through the global group from now on (the
        # primary group ignores them); the values equal the primary's, so creation changes
        # nothing, and a later phase's resize goes through ModifyGlobalReplicationGroup.
        return aws.elasticache.GlobalReplicationGroup(f"{self._name}-cache-global",
                                                      aws.elasticache.GlobalReplicationGroupArgs(
            # AWS prefixes the suffix with a code of the primary's region to form the id.
            global_replication_group_id_suffix=f"{settings.project}-{settings.stack}-cache",
            primary_replication_group_id=self.primary.cache.replication_group_id,
            global_replication_group_description="qnom cache: one datastore for every region",
            cache_node_type=spec.node_type,
            engine_version=spec.engine_version,
            automatic_failover_enabled=spec.automatic_failover,
        ), self._global_options())

    def _create_aurora_global_database(self) -> aws.rds.GlobalCluster | None:
        settings = self._settings
        if not settings.aurora_global_database:
            return None
        # Built from the promoted Aurora cluster, which joins as the primary in place (engine,
        # version and encryption come from it). force_destroy is what the provider requires
        # beside source_db_cluster_identifier (it detaches members on delete); in prod the
        # resource is protected, so only a deliberate unprotect could ever delete it.
        return aws.rds.GlobalCluster(f"{self._name}-db-global", aws.rds.GlobalClusterArgs(
            global_cluster_identifier=f"{settings.project}-{settings.stack}-db",
            source_db_cluster_identifier=self.primary.database.aurora_arn,
            force_destroy=True,
            deletion_protection=settings.profile.deletion_protection,
        ), self._global_options())

    def _expose_compute_tier(self, region: Region, domain: str | None) -> None:
        api = region.api
        self.alb_dns_name = api.alb_dns_name
        self.alb_zone_id = api.alb_zone_id
        self.api_asg_name = api.asg_name
        self.api_target_group_arn = api.target_group_arn
        self.api_security_group_id = api.security_group_id
        self.alb_security_group_id = api.alb_security_group_id
        self.api_listener = (
            f"HTTPS :443 for {domain}; HTTP :80 redirects to HTTPS" if api.listener_protocol == "HTTPS"
            else "HTTP :80 forwards to the API: qnom:domain is not set, so no certificate and no TLS"
        )
        self.worker_asg_name = region.workers.asg_name if region.workers else None

    def _expose_data_tier(self, region: Region) -> None:
        database, cache, queue, search = region.database, region.cache, region.queue, region.search
        self.db_writer_endpoint = database.writer_endpoint
        self.db_primary_endpoint = database.endpoint
        self.db_reader_endpoints = database.reader_endpoints
        # The RDS instance's secret (what the export has always named); the Aurora cluster's own
        # secret after the cut-over is `aurora_master_secret_arn`. Apps read `Database.master_secret_arn`:
        # the writer's, whichever it is.
        self.db_master_secret_arn = database.rds_master_secret_arn
        self.aurora_endpoint = database.aurora_endpoint
        self.aurora_reader_endpoint = database.aurora_reader_endpoint
        self.aurora_master_secret_arn = database.aurora_master_secret_arn
        self.cache_primary_endpoint = cache.primary_endpoint
        self.cache_reader_endpoint = cache.reader_endpoint
        self.cache_auth_secret_arn = cache.auth_secret_arn
        self.queue_url = queue.queue_url if queue else None
        self.queue_arn = queue.queue_arn if queue else None
        self.dlq_url = queue.dlq_url if queue else None
        self.object_bucket_name = region.storage.bucket_name
        self.log_bucket_name = region.storage.log_bucket_name
        self.search_endpoint = search.endpoint if search else None
        self.search_master_secret_arn = search.master_secret_arn if search else None
