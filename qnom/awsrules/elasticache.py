"""ElastiCache: failover and Multi-AZ, AUTH tokens, and global datastores (node families, members)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from policy.resource_types import CACHE_GLOBAL_REPLICATION_GROUP, CACHE_REPLICATION_GROUP
from qnom.awsrules import Request, known, rule
from qnom.engine import RecordedResource

# AWS ElastiCache User Guide, "Global datastores: prerequisites and limitations": "Global datastores
# are supported on the following instance families in size large and above: M5, M6g, M7g, R5, R6g,
# R6gd, R7g, and C7gn."
GLOBAL_DATASTORE_FAMILIES = ("m5", "m6g", "m7g", "r5", "r6g", "r6gd", "r7g", "c7gn")
_BELOW_LARGE = ("nano", "micro", "small", "medium")
GLOBAL_DATASTORE_SOURCE = ("https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/"
                           "Redis-Global-Datastores-Getting-Started.html")
# The provider's ConflictsWith of global_replication_group_id (internal/service/elasticache/
# replication_group.go): a member takes these from the global datastore's primary.
MEMBER_CONFLICTS = ("numNodeGroups", "parameterGroupName", "engine", "engineVersion", "nodeType",
                    "securityGroupNames", "transitEncryptionEnabled", "transitEncryptionMode",
                    "atRestEncryptionEnabled", "snapshotArns", "snapshotName")
_SNAKE = re.compile(r"(?<!^)(?=[A-Z])")


def global_datastore_node_type_supported(node_type: str) -> bool:
    """`cache.r6g.large` yes, `cache.t3.micro` and `cache.r5.medium`-like sizes no."""
    parts = node_type.split(".")
    if len(parts) != 3 or parts[0] != "cache":
        return False
    return parts[1] in GLOBAL_DATASTORE_FAMILIES and parts[2] not in _BELOW_LARGE


def _global_primary(request: Request, member: RecordedResource) -> RecordedResource | None:
    """The primary replication group of the global datastore `member` joins."""
    datastore = request.source("globalReplicationGroupId", CACHE_GLOBAL_REPLICATION_GROUP, member)
    return request.source("primaryReplicationGroupId", CACHE_REPLICATION_GROUP, datastore) if datastore else None


@rule("elasticache-failover-two-nodes", CACHE_REPLICATION_GROUP,
      error="InvalidParameterCombination: When using automatic failover, there must be at least 2 cache "
            "clusters in the replication group.",
      # AWS's CreateReplicationGroup answer (hashicorp/terraform#25077); the provider checks it at
      # plan time too (replicationGroupValidateAutomaticFailoverNumCacheClusters in
      # internal/service/elasticache/replication_group.go).
      source="hashicorp/terraform-provider-aws internal/service/elasticache/replication_group.go")
def _failover_needs_two_nodes(request: Request) -> Iterator[str]:
    nodes = request.inputs.get("numCacheClusters")
    if request.inputs.get("automaticFailoverEnabled") is True and isinstance(nodes, (int, float)) and nodes < 2:
        yield ("InvalidParameterCombination: When using automatic failover, there must be at least 2 cache "
               f"clusters in the replication group. (numCacheClusters {nodes:g})")


@rule("elasticache-multi-az-failover", CACHE_REPLICATION_GROUP,
      error="automatic_failover_enabled must be true if multi_az_enabled is true",
      # The provider's CustomizeDiff replicationGroupValidateMultiAZAutomaticFailover
      # (internal/service/elasticache/replication_group.go); AWS: Multi-AZ needs automatic failover.
      source="hashicorp/terraform-provider-aws internal/service/elasticache/replication_group.go")
def _multi_az_needs_failover(request: Request) -> Iterator[str]:
    if request.inputs.get("multiAzEnabled") is True and request.inputs.get("automaticFailoverEnabled") is not True:
        yield "automatic_failover_enabled must be true if multi_az_enabled is true"


@rule("elasticache-auth-token-transit", CACHE_REPLICATION_GROUP,
      error="InvalidParameterValue: The AUTH token is only supported when encryption-in-transit is enabled",
      # AWS ElastiCache User Guide, "Authenticating with the Valkey and Redis OSS AUTH command":
      # AUTH requires in-transit encryption; the error as AWS answers it: aws/aws-cli#5007. A global
      # datastore member inherits in-transit encryption from the datastore's primary group.
      source="https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth.html")
def _auth_token_needs_transit(request: Request) -> Iterator[str]:
    if "authToken" not in request.inputs:
        return
    carrier = request.record
    if "globalReplicationGroupId" in request.inputs:
        carrier = _global_primary(request, request.record)
        if carrier is None:
            return
    if carrier.inputs.get("transitEncryptionEnabled") is not True:
        yield "InvalidParameterValue: The AUTH token is only supported when encryption-in-transit is enabled"


@rule("elasticache-global-member-conflicts", CACHE_REPLICATION_GROUP,
      error='"global_replication_group_id": conflicts with {argument}',
      source="hashicorp/terraform-provider-aws internal/service/elasticache/replication_group.go")
def _member_takes_settings_from_primary(request: Request) -> Iterator[str]:
    if "globalReplicationGroupId" not in request.inputs:
        return
    for name in MEMBER_CONFLICTS:
        if name in request.inputs:
            yield f'"global_replication_group_id": conflicts with {_SNAKE.sub("_", name).lower()}'


@rule("elasticache-global-datastore-regions", CACHE_REPLICATION_GROUP,
      error="a global datastore replicates its primary cluster to secondary clusters in up to two other AWS "
            "Regions",
      # AWS ElastiCache User Guide, "Global datastores: prerequisites and limitations": "You can set
      # up replication for a primary cluster from one AWS Region to a secondary cluster in up to two
      # other AWS Regions."
      source=GLOBAL_DATASTORE_SOURCE)
def _at_most_two_secondaries(request: Request) -> Iterator[str]:
    datastore = request.source("globalReplicationGroupId", CACHE_GLOBAL_REPLICATION_GROUP)
    if datastore is None:
        return
    primary = request.source("primaryReplicationGroupId", CACHE_REPLICATION_GROUP, datastore)
    members = [other for other in request.registered.values() if other.type == CACHE_REPLICATION_GROUP
               and datastore.urn in other.dependencies.get("globalReplicationGroupId", [])]
    if len(members) >= 2:
        yield (f"InvalidParameterValue: global datastore {datastore.name} already has {len(members)} secondary "
               "clusters; a primary replicates to secondary clusters in up to two other AWS Regions")
    elif primary is not None and request.region_of(primary) == request.region:
        yield (f"InvalidParameterValue: a secondary cluster of global datastore {datastore.name} must be in "
               f"another AWS Region than its primary ({request.region})")


@rule("elasticache-global-node-family", CACHE_GLOBAL_REPLICATION_GROUP,
      error="Global datastores are supported on the following instance families in size large and above: M5, "
            "M6g, M7g, R5, R6g, R6gd, R7g, and C7gn.",
      source=GLOBAL_DATASTORE_SOURCE)
def _global_node_family(request: Request) -> Iterator[str]:
    primary = request.source("primaryReplicationGroupId", CACHE_REPLICATION_GROUP)
    node_types = [request.inputs.get("cacheNodeType"), primary.inputs.get("nodeType") if primary else None]
    for node_type in {value for value in node_types if isinstance(value, str) and known(value)}:
        if not global_datastore_node_type_supported(node_type):
            yield ("InvalidParameterValue: Global datastores are supported on the following instance families "
                   f"in size large and above: M5, M6g, M7g, R5, R6g, R6gd, R7g, and C7gn. (node type {node_type})")
