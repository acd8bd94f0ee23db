"""The whole platform of one stack: one `Region` per region of the phase.

Global pieces (CDN, DNS, global datastores) hang directly under `Platform`; everything
regional hangs under its `Region`. Creates the API's session secret value (pulumi-random)
here, once, so a session signed in one region is valid in every other. The primary
region's endpoints, names and secret ARNs come out flat (None where the phase has no such
resource); `STACK_OUTPUTS` names them for the stack.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_random as random

from components import defaults
from components.region import Region, RegionArgs
from phases.settings import StackSettings

# Stack export name -> Platform attribute. Export names are a contract: never rename one.
STACK_OUTPUTS = {
    "vpcIds": "vpc_ids",
    "albDnsName": "alb_dns_name",
    "albZoneId": "alb_zone_id",
    "apiAsgName": "api_asg_name",
    "apiTargetGroupArn": "api_target_group_arn",
    "apiSecurityGroupId": "api_security_group_id",
    "albSecurityGroupId": "alb_security_group_id",
    "apiListener": "api_listener",
    "workerAsgName": "worker_asg_name",
    "dbWriterEndpoint": "db_writer_endpoint",
    "dbPrimaryEndpoint": "db_primary_endpoint",
    "dbReaderEndpoints": "db_reader_endpoints",
    "dbMasterSecretArn": "db_master_secret_arn",
    "auroraEndpoint": "aurora_endpoint",
    "auroraReaderEndpoint": "aurora_reader_endpoint",
    "auroraMasterSecretArn": "aurora_master_secret_arn",
    "cachePrimaryEndpoint": "cache_primary_endpoint",
    "cacheReaderEndpoint": "cache_reader_endpoint",
    "cacheAuthSecretArn": "cache_auth_secret_arn",
    "queueUrl": "queue_url",
    "queueArn": "queue_arn",
    "dlqUrl": "dlq_url",
    "objectBucketName": "object_bucket_name",
    "logBucketName": "log_bucket_name",
    "searchEndpoint": "search_endpoint",
    "searchMasterSecretArn": "search_master_secret_arn",
}


@dataclass(frozen=True)
class PlatformArgs:
    settings: StackSettings
    """The validated stack settings: phase, environment profile, domain."""


class Platform(pulumi.ComponentResource):
    regions: dict[str, Region]
    primary: Region
    vpc_ids: pulumi.Output[dict[str, str]]
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

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("qnom:components:Platform", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        phase = args.settings.phase
        session_secret = self._create_session_secret(name, child)
        self.regions = {
            spec.name: Region(spec.name, RegionArgs(spec=spec, settings=args.settings,
                                                    session_secret=session_secret.result), child)
            for spec in phase.regions
        }
        self.primary = self.regions[phase.primary_region.name]
        self.vpc_ids = pulumi.Output.all(**{name: region.vpc_id for name, region in self.regions.items()})
        self._expose_compute_tier(self.primary, args.settings.domain)
        self._expose_data_tier(self.primary)
        self.register_outputs({attribute: getattr(self, attribute) for attribute in STACK_OUTPUTS.values()})

    @staticmethod
    def _create_session_secret(name: str, child: pulumi.ResourceOptions) -> random.RandomPassword:
        # Letters and digits only: the value travels through a shell and an env file.
        return random.RandomPassword(f"{name}-session-secret", random.RandomPasswordArgs(
            length=defaults.SESSION_SECRET_LENGTH, special=False,
        ), child)

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
        self.db_master_secret_arn = database.master_secret_arn
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
