"""The stack's outputs, written once: export name, `Platform` attribute, type and meaning.

Creates no resource. `STACK_OUTPUTS` is the one table of them: `Platform` registers its outputs
from it, `__main__.py` exports them from it, and the README's output table is rendered from it
(`python -m components.stack_outputs`; a test keeps the README in step, and another checks each
type against `Platform`'s annotations). Export names are a contract that scripts and other stacks
(`pulumi.StackReference`) read: add entries freely, never rename one. An optional output is None
where the phase has no such resource, and the stack then leaves it out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StackOutput:
    """One stack output."""

    name: str
    """Export name (camelCase), as `pulumi stack output` shows it; never renamed."""
    attribute: str
    """The `Platform` attribute holding the value."""
    type: str
    """The value's type: string, list(string), map(string) or map(list(string)) (maps are keyed by
    region), "optional" when a phase may lack it."""
    description: str
    """What the value is, and when it is absent."""


@dataclass(frozen=True)
class StackOutputs:
    """The stack's outputs, in export order."""

    entries: tuple[StackOutput, ...]
    """Every output; names and attributes are unique."""

    def __post_init__(self) -> None:
        for field in ("name", "attribute"):
            values = [getattr(entry, field) for entry in self.entries]
            repeated = sorted({value for value in values if values.count(value) > 1})
            if repeated:
                raise ValueError(f"stack outputs: {field} repeated: {', '.join(repeated)}")

    def __iter__(self) -> Iterator[StackOutput]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def names(self) -> list[str]:
        """Export names, in export order."""
        return [entry.name for entry in self.entries]

    @property
    def attributes(self) -> dict[str, str]:
        """Export name -> `Platform` attribute."""
        return {entry.name: entry.attribute for entry in self.entries}

    def by_attribute(self, source: Any) -> dict[str, Any]:
        """`Platform` attribute -> its value on `source` (what `register_outputs` takes)."""
        return {entry.attribute: getattr(source, entry.attribute) for entry in self.entries}

    def by_name(self, source: Any) -> dict[str, Any]:
        """Export name -> the value of its attribute on `source` (what the stack exports)."""
        return {entry.name: getattr(source, entry.attribute) for entry in self.entries}

    def table(self) -> str:
        """Markdown table of the README: output, type, description."""
        lines = ["| output | type | description |", "|---|---|---|"]
        lines += [f"| `{entry.name}` | {entry.type} | {entry.description} |" for entry in self.entries]
        return "\n".join(lines) + "\n"


STACK_OUTPUTS = StackOutputs((
    # The stack's settings.
    StackOutput("phase", "phase_name", "string", "The phase's name: launch, growth, scale or global."),
    StackOutput("environment", "environment", "string", "The environment profile: dev, staging or prod."),
    StackOutput("regions", "region_names", "list(string)", "The phase's regions, the primary first."),
    # Every region, and the edge.
    StackOutput("vpcIds", "vpc_ids", "map(string)", "Each region's VPC id."),
    StackOutput("publicUrl", "public_url", "string",
                "Where clients reach the API: `https://` and `qnom:domain`, else the distribution's own name."),
    StackOutput("cdnDomainName", "cdn_domain_name", "string", "The CloudFront distribution's cloudfront.net name."),
    StackOutput("cdnDistributionId", "cdn_distribution_id", "string",
                "The CloudFront distribution's id (for cache invalidations)."),
    StackOutput("staticBucketName", "static_bucket_name", "string",
                "The static-assets bucket CloudFront serves under `/static/*`."),
    StackOutput("albDnsNames", "alb_dns_names", "map(string)", "Each region's API load balancer DNS name."),
    StackOutput("healthCheckIds", "health_check_ids", "optional map(string)",
                "Each region's Route 53 health check id; absent without `qnom:domain`."),
    # The primary region's compute tier.
    StackOutput("albDnsName", "alb_dns_name", "string", "The primary region's API load balancer DNS name."),
    StackOutput("albZoneId", "alb_zone_id", "string",
                "That load balancer's Route 53 hosted zone id (for alias records)."),
    StackOutput("apiAsgName", "api_asg_name", "string", "The primary region's API Auto Scaling group."),
    StackOutput("apiTargetGroupArn", "api_target_group_arn", "string", "The API's target group in the primary region."),
    StackOutput("apiSecurityGroupId", "api_security_group_id", "string",
                "The API instances' security group (primary region)."),
    StackOutput("albSecurityGroupId", "alb_security_group_id", "string",
                "The load balancer's security group (primary region)."),
    StackOutput("apiListener", "api_listener", "string",
                "What the load balancer listens on: HTTPS 443 with a domain (HTTP 80 redirects), else plain HTTP 80."),
    StackOutput("workerAsgName", "worker_asg_name", "optional string",
                "The primary region's queue workers' Auto Scaling group; absent before phase 2."),
    # The primary region's data tier.
    StackOutput("dbWriterEndpoint", "db_writer_endpoint", "string",
                "The database writer: the RDS primary, the Aurora cluster after `qnom:databaseCutover`."),
    StackOutput("dbPrimaryEndpoint", "db_primary_endpoint", "string", "The RDS primary instance's endpoint."),
    StackOutput("dbReaderEndpoints", "db_reader_endpoints", "list(string)",
                "The primary region's read endpoints (empty in phase 1)."),
    StackOutput("dbMasterSecretArn", "db_master_secret_arn", "string",
                "The RDS primary's master user secret (rotated)."),
    StackOutput("auroraEndpoint", "aurora_endpoint", "optional string",
                "The Aurora cluster's writer endpoint; absent before phase 4."),
    StackOutput("auroraReaderEndpoint", "aurora_reader_endpoint", "optional string",
                "The Aurora cluster's reader endpoint; absent before phase 4."),
    StackOutput("auroraMasterSecretArn", "aurora_master_secret_arn", "optional string",
                "The Aurora cluster's own master secret after the cut-over; absent before it."),
    StackOutput("cachePrimaryEndpoint", "cache_primary_endpoint", "string",
                "The primary region's cache primary endpoint."),
    StackOutput("cacheReaderEndpoint", "cache_reader_endpoint", "string",
                "The primary region's cache reader endpoint."),
    StackOutput("cacheAuthSecretArn", "cache_auth_secret_arn", "string", "The cache's AUTH token secret."),
    StackOutput("queueUrl", "queue_url", "optional string", "The job queue; absent before phase 2."),
    StackOutput("queueArn", "queue_arn", "optional string", "The job queue's ARN; absent before phase 2."),
    StackOutput("dlqUrl", "dlq_url", "optional string", "The job queue's dead-letter queue; absent before phase 2."),
    StackOutput("objectBucketName", "object_bucket_name", "string", "The primary region's object bucket (SSE-KMS)."),
    StackOutput("logBucketName", "log_bucket_name", "string", "The object bucket's server access log bucket."),
    StackOutput("searchEndpoint", "search_endpoint", "optional string",
                "The OpenSearch domain's endpoint; absent before phase 3."),
    StackOutput("searchMasterSecretArn", "search_master_secret_arn", "optional string",
                "The OpenSearch master user's secret; absent before phase 3."),
    # Multi-region data.
    StackOutput("dbReaderEndpointsByRegion", "db_reader_endpoints_by_region", "map(list(string))",
                "Each region's own database read endpoints."),
    StackOutput("cacheEndpointsByRegion", "cache_endpoints_by_region", "map(string)",
                "Each region's serving cache reader endpoint."),
    StackOutput("cacheGlobalDatastoreId", "cache_global_datastore_id", "optional string",
                "The ElastiCache global datastore's id; absent outside a multi-region phase 4."),
    StackOutput("auroraGlobalClusterId", "aurora_global_cluster_id", "optional string",
                "The Aurora global database's id; absent before the phase-4 cut-over."),
    StackOutput("peeringConnectionIds", "peering_connection_ids", "optional map(string)",
                "Each secondary region's VPC peering connection (`pcx-` id) to the primary; absent with one region."),
))


if __name__ == "__main__":
    print(STACK_OUTPUTS.table(), end="")
