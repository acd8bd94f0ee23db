"""Cache of one region: an ElastiCache (Redis OSS or Valkey) replication group in every phase.

Creates: a customer-managed KMS key (data at rest, the auth token's secret); a security group
admitting only the client tiers on 6379 (and, in the primary region of a multi-region phase, the
peered regions' app subnets); a cache subnet group over the isolated subnets; a
parameter group for session storage (TTL-aware eviction); an auth token from pulumi-random
kept in Secrets Manager; a CloudWatch log group for the slow and engine logs; in prod a random
suffix that makes the final snapshot name unique; and the replication group (`-group`).

Why one replication group in every phase: a phase changes the resource's settings, never its
type, so no promotion drops the cache. What AWS changes in place (ModifyReplicationGroup,
IncreaseReplicaCount): the node type (online vertical scaling), the number of nodes, automatic
failover and Multi-AZ; the provider adds replicas before it switches failover on, so 1 -> 2
nodes with failover works in one update. What AWS can only do by building a new group, and so
is identical in every phase here: the replication group id, engine family (redis), cluster mode
(disabled), port, subnet group, at-rest encryption and its KMS key, transit encryption (not
modifiable on engines before 7.0.5), data tiering, network type. Joining a global datastore
(phase 4) needs R5/M5 nodes or newer of size large and above, which the phase validates.

Global datastore (phase 4). The primary region's group becomes the datastore's primary in place
(the platform's `aws.elasticache.GlobalReplicationGroup` names it; `StandaloneCacheArgs.global_primary`
here). AWS
then manages its node type, engine version and parameter group through the global group (it
attaches a `global-datastore-` copy of this parameter group), so those inputs are ignored on the
primary from phase 4 on and the global group carries node type and version. A secondary region's
member (`MemberCacheArgs`, a type of its own) is a new group, because membership is fixed when a
group is created: AWS takes engine, version, node type, parameter group, cluster mode and the
at-rest and in-transit encryption flags from the datastore, and the provider refuses them beside
`global_replication_group_id`, so the member passes none of them and no parameter group is
created for it. It does pass what is regional: its subnet group, security group and a KMS key of
its own region (KMS keys are regional; encryption itself is inherited from the encrypted primary),
and the primary's AUTH token (`DatastoreMembership.auth_token`), kept in a secret of its region, so a client holds one
token whichever region AWS promotes. AWS gives a member the primary's Multi-AZ and automatic
failover, which need two nodes; the member may have a different number of replicas (AWS: all
members have the same number of primary nodes, one here with cluster mode disabled). A member
takes no snapshots: it is a copy of the primary, whose snapshots hold the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components import defaults
from phases.environment import EnvironmentProfile
from phases.models import Cache as CacheSpec

AUTH_TOKEN_ROTATION = "ROTATE"


@dataclass(frozen=True, kw_only=True)
class _CacheGroupArgs:
    """What every replication group needs, whichever its mode: sizes and placement in its region."""

    spec: CacheSpec
    """The phase's `cache` block: engine, version, node type, failover, eviction policy."""
    node_count: int
    """Nodes in this region: one primary plus replicas (the region's `cache_nodes`)."""
    vpc_id: pulumi.Input[str]
    """VPC of the region."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Isolated (data) subnets, one per availability zone."""
    profile: EnvironmentProfile
    """Environment profile: protection, snapshot retention, final snapshots, log retention."""
    client_security_groups: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Security groups allowed to connect on 6379, by client name (`api`, `workers`). Default: none."""
    log_key_arn: pulumi.Input[str] | None = None
    """KMS key encrypting the slow log's log group (the region's log key); default None: CloudWatch Logs'
    own encryption."""
    client_cidrs: Mapping[str, str] = field(default_factory=dict)
    """CIDR blocks allowed to connect on 6379, by rule name (`us-west-2-private-0`): the app subnets of
    regions that reach this store over an inter-region VPC peering, where AWS accepts no security-group
    reference. Default: none."""


@dataclass(frozen=True, kw_only=True)
class StandaloneCacheArgs(_CacheGroupArgs):
    """A group of its own: the primary region's (which may lead the global datastore) and the
    secondary regions' own caches of phase 3. Engine, version, node type and parameters are its own."""

    global_primary: bool = False
    """The group is the primary of a global datastore: AWS manages its node type, version and parameters.
    Default false."""


@dataclass(frozen=True)
class DatastoreMembership:
    """A secondary region's place in the global datastore (phase 4): which datastore, and the token."""

    global_replication_group_id: pulumi.Input[str]
    """Global datastore the group joins as a secondary member at creation. Required."""
    auth_token: pulumi.Input[str]
    """The primary group's AUTH token, which the member carries (a member has no token of its own). Required."""


@dataclass(frozen=True, kw_only=True)
class MemberCacheArgs(_CacheGroupArgs):
    """A global datastore's secondary member: engine, version, node type and parameters come from the
    datastore, so there is nothing here to set them with (the provider's `global_replication_group_id`
    conflicts with each of them and forces a new group when it changes: internal/service/elasticache/
    replication_group.go), nor a way to lead the datastore it joins."""

    datastore: DatastoreMembership
    """The datastore the group joins and the primary's AUTH token. Required."""


CacheArgs = StandaloneCacheArgs | MemberCacheArgs
"""One region's cache: the mode is the type."""


class Cache(pulumi.ComponentResource):
    primary_endpoint: pulumi.Output[str]
    reader_endpoint: pulumi.Output[str]
    port: int
    auth_token: pulumi.Output[str]
    auth_secret_arn: pulumi.Output[str]
    auth_secret_name: pulumi.Output[str]
    replication_group_id: pulumi.Output[str]
    replication_group_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None):
        if not isinstance(args, (StandaloneCacheArgs, MemberCacheArgs)):
            raise TypeError(f"{name}: CacheArgs is StandaloneCacheArgs or MemberCacheArgs, got {type(args).__name__}")
        super().__init__("qnom:components:Cache", name, None, opts)
        self._name, self._args, self._spec = name, args, args.spec
        self._child = pulumi.ResourceOptions(parent=self)
        self._stateful = defaults.stateful_options(self._child, args.profile)

        # Used through ElastiCache (at rest, in any region: a global datastore's members) and
        # Secrets Manager (the AUTH token's secret).
        self._key = aws.kms.Key(f"{name}-key", defaults.service_key_args(
            "cache", args.profile, ["elasticache", "secretsmanager"], pulumi.InvokeOptions(parent=self),
            any_region=True), self._stateful)
        self._security_group = defaults.client_only_security_group(
            f"{name}-sg", "qnom cache: client tiers only", args.vpc_id, defaults.REDIS_PORT,
            args.client_security_groups, self._child,
            client_cidrs=args.client_cidrs)
        self._subnet_group = aws.elasticache.SubnetGroup(f"{name}-subnets", aws.elasticache.SubnetGroupArgs(
            subnet_ids=list(args.subnet_ids),
            description="qnom cache: isolated subnets",
        ), self._child)
        self._log_group = aws.cloudwatch.LogGroup(f"{name}-logs", aws.cloudwatch.LogGroupArgs(
            retention_in_days=args.profile.log_retention_days,
            kms_key_id=args.log_key_arn,
        ), self._child)
        match args:
            case StandaloneCacheArgs():
                self._parameter_group = self._create_parameter_group()
                self._auth_token, self._auth_secret = self._create_auth_token(self._generate_auth_token())
                self._group = self._create_replication_group(args)
            case MemberCacheArgs():
                # No parameter group and no token of its own: the datastore supplies the one, the
                # primary's token the other.
                self._auth_token, self._auth_secret = self._create_auth_token(args.datastore.auth_token)
                self._group = self._create_member_group(args)

        self.primary_endpoint = self._group.primary_endpoint_address
        self.reader_endpoint = self._group.reader_endpoint_address
        self.port = defaults.REDIS_PORT
        self.auth_token = pulumi.Output.secret(self._auth_token)
        self.auth_secret_arn = self._auth_secret.arn
        # Auto-named, so known in a preview where the ARN is not.
        self.auth_secret_name = self._auth_secret.name
        self.replication_group_id = self._group.id
        self.replication_group_arn = self._group.arn
        self.security_group_id = self._security_group.id
        self.kms_key_arn = self._key.arn

        self.register_outputs({
            "primary_endpoint": self.primary_endpoint,
            "reader_endpoint": self.reader_endpoint,
            "port": self.port,
            "auth_token": self.auth_token,
            "auth_secret_arn": self.auth_secret_arn,
            "auth_secret_name": self.auth_secret_name,
            "replication_group_id": self.replication_group_id,
            "replication_group_arn": self.replication_group_arn,
            "security_group_id": self.security_group_id,
            "kms_key_arn": self.kms_key_arn,
        })

    def _create_parameter_group(self) -> aws.elasticache.ParameterGroup:
        # Sessions are written with a TTL; evicting only keys that carry one keeps anything
        # written without a TTL (rate-limit counters, feature flags) when memory runs short.
        return aws.elasticache.ParameterGroup(f"{self._name}-params", aws.elasticache.ParameterGroupArgs(
            family=f"{self._spec.engine}{self._spec.major_version}",
            description="qnom cache: session storage",
            parameters=[aws.elasticache.ParameterGroupParameterArgs(
                name="maxmemory-policy", value=self._spec.maxmemory_policy)],
        ), self._child)

    def _generate_auth_token(self) -> pulumi.Output[str]:
        # AUTH tokens are 16-128 printable characters without @, " or /; letters and digits
        # keep clear of every client library's quoting.
        return random.RandomPassword(f"{self._name}-auth-token", random.RandomPasswordArgs(
            length=64, special=False,
        ), self._child).result

    def _create_auth_token(self, token: pulumi.Input[str]) -> tuple[pulumi.Input[str], aws.secretsmanager.Secret]:
        secret = aws.secretsmanager.Secret(f"{self._name}-auth-token", aws.secretsmanager.SecretArgs(
            description="qnom cache: AUTH token of the replication group",
            kms_key_id=self._key.arn,
            recovery_window_in_days=self._args.profile.recovery_window_days,
        ), self._stateful)
        aws.secretsmanager.SecretVersion(f"{self._name}-auth-token", aws.secretsmanager.SecretVersionArgs(
            secret_id=secret.id,
            secret_string=token,
        ), self._child)
        return token, secret

    def _create_replication_group(self, args: StandaloneCacheArgs) -> aws.elasticache.ReplicationGroup:
        spec, profile = self._spec, args.profile
        failover = spec.automatic_failover
        return aws.elasticache.ReplicationGroup(f"{self._name}-group", aws.elasticache.ReplicationGroupArgs(
            description="qnom cache",
            engine=spec.engine,
            engine_version=spec.engine_version,
            cluster_mode="disabled",
            node_type=spec.node_type,
            num_cache_clusters=args.node_count,
            automatic_failover_enabled=failover,
            # AWS accepts Multi-AZ only together with automatic failover.
            multi_az_enabled=failover,
            port=defaults.REDIS_PORT,
            subnet_group_name=self._subnet_group.name,
            security_group_ids=[self._security_group.id],
            parameter_group_name=self._parameter_group.name,
            at_rest_encryption_enabled=True,
            kms_key_id=self._key.arn,
            transit_encryption_enabled=True,
            auth_token=self._auth_token,
            # A new token is added beside the old one, both accepted until the next change, so the
            # apps re-read the secret without a refused connection (ElastiCache User Guide,
            # "Modifying the AUTH token on an existing cluster", ROTATE). The provider sends the
            # token with the strategy whenever either changes (terraform-provider-aws,
            # internal/service/elasticache/replication_group.go, resourceReplicationGroupUpdate;
            # authTokenUpdateStrategyValidate requires the token beside it).
            auth_token_update_strategy=AUTH_TOKEN_ROTATION,
            snapshot_retention_limit=profile.backup_retention_days,
            snapshot_window=defaults.CACHE_SNAPSHOT_WINDOW,
            maintenance_window=defaults.CACHE_MAINTENANCE_WINDOW,
            final_snapshot_identifier=self._final_snapshot_name(),
            auto_minor_version_upgrade=True,
            # Same reason as the database: a promotion resizes now, not in a later window.
            apply_immediately=True,
            log_delivery_configurations=self._log_delivery(),
        ), self._group_options(args))

    def _group_options(self, args: StandaloneCacheArgs) -> pulumi.ResourceOptions:
        if not args.global_primary:
            return self._stateful
        # Once the group leads a global datastore, AWS changes these through the global group
        # (ModifyGlobalReplicationGroup) and swaps in a `global-datastore-` parameter group; the
        # phase's values live on the global group from then on. Ignoring them here keeps Pulumi
        # from fighting AWS, and an ignored input can never force a replacement.
        return pulumi.ResourceOptions.merge(self._stateful, pulumi.ResourceOptions(
            ignore_changes=["engine", "engineVersion", "nodeType", "parameterGroupName"]))

    def _create_member_group(self, args: MemberCacheArgs) -> aws.elasticache.ReplicationGroup:
        failover = self._spec.automatic_failover
        return aws.elasticache.ReplicationGroup(f"{self._name}-group", aws.elasticache.ReplicationGroupArgs(
            description="qnom cache: global datastore member",
            global_replication_group_id=args.datastore.global_replication_group_id,
            num_cache_clusters=args.node_count,
            # AWS copies the primary's settings onto a member; stating the same keeps the
            # provider's view equal to AWS's.
            automatic_failover_enabled=failover,
            multi_az_enabled=failover,
            subnet_group_name=self._subnet_group.name,
            security_group_ids=[self._security_group.id],
            kms_key_id=self._key.arn,
            auth_token=self._auth_token,
            maintenance_window=defaults.CACHE_MAINTENANCE_WINDOW,
            auto_minor_version_upgrade=True,
            apply_immediately=True,
            log_delivery_configurations=self._log_delivery(),
        ), self._stateful)

    def _log_delivery(self) -> list[aws.elasticache.ReplicationGroupLogDeliveryConfigurationArgs]:
        return [
            aws.elasticache.ReplicationGroupLogDeliveryConfigurationArgs(
                destination=self._log_group.name, destination_type="cloudwatch-logs",
                log_format="json", log_type=log_type)
            for log_type in ("slow-log", "engine-log")
        ]

    def _final_snapshot_name(self) -> pulumi.Output[str] | None:
        if not self._args.profile.final_snapshot:
            return None
        suffix = random.RandomId(f"{self._name}-final-snapshot", random.RandomIdArgs(byte_length=4), self._child)
        return suffix.hex.apply(lambda value: f"{self._name}-final-{value}")
