"""The whole platform of one stack: one `Region` per region of the phase.

Global pieces (CDN, DNS, global datastores) hang directly under `Platform`; everything
regional hangs under its `Region`. The data tier's endpoints, queue URLs, bucket names and
secret ARNs come out flat, from the primary region (None where the phase has no such store).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.region import Region, RegionArgs
from phases.settings import StackSettings

# Flat data-tier outputs: stack export name -> Platform attribute.
DATA_OUTPUTS = {
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
        self.regions = {
            spec.name: Region(spec.name, RegionArgs(spec=spec, settings=args.settings), child)
            for spec in phase.regions
        }
        self.primary = self.regions[phase.primary_region.name]
        self.vpc_ids = pulumi.Output.all(**{name: region.vpc_id for name, region in self.regions.items()})
        self._expose_data_tier(self.primary)
        self.register_outputs({
            "vpc_ids": self.vpc_ids,
            **{attribute: getattr(self, attribute) for attribute in DATA_OUTPUTS.values()},
        })

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
