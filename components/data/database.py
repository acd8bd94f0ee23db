"""PostgreSQL of one region: an RDS primary with read replicas and, from phase 4, an Aurora
PostgreSQL cluster that replicates from it until an explicit cut-over. In a secondary region:
cross-region read replicas and, after the cut-over, an Aurora global database's secondary cluster.

Creates: a customer-managed KMS key (storage, Performance Insights, master secrets); a
security group admitting only the client tiers on 5432 (and, in the primary region of a
multi-region phase, the peered regions' app subnets); a DB subnet group over the isolated
subnets; a parameter group forcing TLS and setting the phase's connection limit; an IAM role
for enhanced monitoring; in prod a random suffix that makes final snapshot names unique;
the master password (`-master-password`, pulumi-random) and its Secrets Manager secret
(`-master`: the connection JSON AWS's rotation functions read, encrypted with the region's
key and replicated to the secondary regions with theirs); the secret's rotation: AWS's
PostgreSQL single-user rotation function from the Serverless Application Repository
(`-rotation`, a CloudFormation stack) in the private subnets, behind a security group of its
own (`-rotation-sg`) that the database admits; the RDS primary (`-primary`) and its read
replicas (`-replica-{i}`). With an Aurora migration in the phase: a cluster parameter group,
the Aurora cluster (`-aurora`) replicating from the primary, its one provisioned instance
(`-aurora-0`) and, after the cut-over, Serverless v2 readers (`-aurora-{i}`) and the
cluster's own master password and secret (`-aurora-master-password`, `-aurora-master`),
rotated by the same function.

The two modes are two args types: `WriterDatabaseArgs` (the primary region, everything above)
and `FollowerDatabaseArgs` (a secondary region). A secondary region gets the same key, security
group, subnet group, parameter group and monitoring role in its own region, no primary, no
password, secret or rotation (it reads the replica of the primary region's secret) and no
snapshot suffix, and read replicas (`-replica-{i}`) that replicate across regions from
`replica_source_arn`: the primary region's first replica. After the cut-over
(`FollowerDatabaseArgs.aurora_secondary`) it also gets a secondary cluster of the Aurora global
database (`-aurora`) with Serverless v2 readers (`-aurora-{i}`). With `backup_source_arn` (the first
secondary region, phase 3 on) it also holds the cross-Region copy of the writer's automated backups
(`-backup-copy`, `aws.rds.InstanceAutomatedBackupsReplication`, encrypted with the region's key). A region
failover (`promote_first_replica`) promotes its `-replica-0` to a standalone writer in place.

Why the stack, not RDS, manages the master password: AWS refuses `CreateDBInstanceReadReplica`
from a source whose master password RDS manages ("Creating read replicas for source instance
with engine postgres where ManageMasterUserPassword is enabled is not supported"), and the
RDS-managed password is not supported for cross-Region read replicas nor for DB clusters that
are part of an Aurora global database (Aurora User Guide, "Password management with Amazon
Aurora and AWS Secrets Manager", limitations). So the password comes from pulumi-random from
phase 1 on (no promotion changes it) and lives in a secret of the stack, rotated by AWS's own
function; after a rotation the password in AWS differs from the one in the stack's state,
which is why the instance's `password` and the secret version's `secret_string` are ignored
after creation.

Why secondaries replicate from a replica: AWS creates the Aurora read replica of phase 4 only
from an RDS for PostgreSQL instance that has no cross-Region read replica and no other Aurora
read replica; same-Region read replicas are allowed (Aurora User Guide, "Migrating data from an
RDS for PostgreSQL DB instance to an Aurora PostgreSQL DB cluster using an Aurora read replica",
overview: "You can't create an Aurora read replica if your RDS for PostgreSQL DB instance
already has an Aurora read replica or if it has a cross-Region read replica"). So the primary
keeps only same-Region replicas and nothing cross-region hangs off it. RDS for PostgreSQL 14.1+
supports cascaded replicas, across regions too: a same-region replica may be the source of a
cross-region one, in a chain of at most four instances spanning at most two regions (AWS RDS User
Guide, "Using cascading read replicas with RDS for PostgreSQL" and "Creating cross-Region
cascading read replicas with RDS for PostgreSQL"). The chain here is primary -> `-replica-0` ->
secondary replica: three levels.

Engine versions: the RDS primary names a major version ("16") and takes minor upgrades
automatically; the provider keeps a configured "16" when AWS reports "16.x"
(`compareActualEngineVersion` in the provider's internal/service/rds/engine_version.go), and a
catalog that pins a minor gets `engineVersion` ignored, because the provider stores the version
AWS upgraded to and the next update would try to downgrade it. AWS creates the Aurora read
replica only at the source's version or a later minor of the same major (the migration guide
above), so the replica cluster takes the source's `engine_version_actual` at deploy time, and,
as AWS upgrades the cluster's minor version too, ignores `engineVersion` afterwards. A secondary
cluster of the global database takes the primary cluster's actual version the same way.

Aurora global database: a cluster that is still a read replica of an RDS instance cannot be the
source of a global database, so nothing global exists before the cut-over. After it the cluster is
a standalone Aurora PostgreSQL 16 cluster, and AWS supports global databases for Aurora PostgreSQL
16 in us-east-1, us-west-2 and eu-west-1 with Serverless v2 instances (AWS Aurora User Guide,
"Supported Regions and DB engines for Aurora global databases"); the platform then creates the
`aws.rds.GlobalCluster` from the existing cluster (it joins in place) and each secondary region adds
a secondary cluster: only additions. The cross-region RDS replicas stay (protected): once the RDS
instance no longer takes writes they stop changing, so the regions' read endpoints move to the
Aurora secondary clusters; retiring the stale replicas is left to a later, explicit step that no
setting automates yet (deleting them in the cut-over step would remove a read path mid-change).

The phase changes only what AWS modifies in place (instance class, Multi-AZ, storage limits,
replica count, parameter values); engine, encryption, key, user name, database name, subnet
group and port are the same in every phase, so a promotion never replaces a database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components import defaults
from phases.environment import EnvironmentProfile
from phases.models import Database as DatabaseSpec

ENGINE = "postgres"
AURORA_ENGINE = "aurora-postgresql"
SERVERLESS_CLASS = "db.serverless"
DB_NAME = "qnom"  # fixed for the instance's lifetime: AWS replaces an instance whose db_name changes
MASTER_USERNAME = "qnom_admin"  # fixed too: a new master user name replaces the instance
LOG_EXPORTS = ["postgresql", "upgrade"]
SLOW_STATEMENT_MS = 1000
"""Statements running longer than this are logged with their duration (log_min_duration_statement)."""


def logging_parameters(parameter: type) -> list:
    """What PostgreSQL logs, in an instance or cluster parameter group (`parameter`: its args type):
    statements slower than `SLOW_STATEMENT_MS` and every connection. Both are dynamic parameters,
    applied without a reboot (Amazon RDS User Guide, "Parameters for PostgreSQL logging";
    Aurora User Guide, "Aurora PostgreSQL parameters": both are cluster-level too)."""
    return [parameter(name="log_min_duration_statement", value=str(SLOW_STATEMENT_MS), apply_method="immediate"),
            parameter(name="log_connections", value="1", apply_method="immediate")]

MASTER_PASSWORD_LENGTH = 40
MASTER_PASSWORD_SPECIALS = "!#$%&*()-_=+[]{}<>:?"
"""Specials of the master password: RDS refuses '/', '"', '@' and spaces in a master password
(RDS API reference, CreateDBInstance, MasterUserPassword)."""
ROTATION_EXCLUDED_CHARACTERS = "/@\"' \\"
"""What AWS's rotation function must leave out of the passwords it generates: RDS's forbidden
characters, and the quotes and backslash that break a connection string."""
ROTATION_APPLICATION_ID = (
    "arn:aws:serverlessrepo:us-east-1:297356227824:applications/SecretsManagerRDSPostgreSQLRotationSingleUser")
ROTATION_APPLICATION_VERSION = "1.1.671"
"""Pinned, so an `up` never picks up a new function unreviewed: the version aws-cdk-lib pins for
its `SecretRotationApplication.POSTGRES_ROTATION_SINGLE_USER` in the `aws` partition
(aws-cdk-lib/aws-secretsmanager/lib/secret-rotation.ts)."""
ROTATION_DAYS = 30
"""Days between rotations of a master secret (Secrets Manager rotation rules)."""


@dataclass(frozen=True, kw_only=True)
class _DatabaseSetArgs:
    """What every region's database set needs, whichever its mode: sizes and placement in its region."""

    spec: DatabaseSpec
    """The phase's `database` block: class, Multi-AZ, storage, connection limit, Aurora migration."""
    read_replicas: int
    """Read replicas in this region (the region's `db_read_replicas`)."""
    vpc_id: pulumi.Input[str]
    """VPC of the region."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Isolated (data) subnets, one per availability zone, in the order of `availability_zones`."""
    availability_zones: Sequence[str]
    """The region's availability zones; the primary starts in the first, replicas take the others."""
    profile: EnvironmentProfile
    """Environment profile: protection, deletion protection, final snapshots, backup retention."""
    client_security_groups: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Security groups allowed to connect on 5432, by client name (`api`, `workers`). Default: none."""
    client_cidrs: Mapping[str, str] = field(default_factory=dict)
    """CIDR blocks allowed to connect on 5432, by rule name (`us-west-2-private-0`): the app subnets of
    regions that reach this store over an inter-region VPC peering, where AWS accepts no security-group
    reference. Default: none."""


@dataclass(frozen=True, kw_only=True)
class WriterDatabaseArgs(_DatabaseSetArgs):
    """The primary region's database: the RDS primary and its same-region read replicas, its master
    secrets and their rotation, the Aurora migration and cut-over, and the global database's leader."""

    rotation_subnet_ids: Sequence[pulumi.Input[str]] = ()
    """Private subnets with a route to the NAT gateway, where the master secrets' rotation function
    runs (it calls the Secrets Manager API and connects to the database).
    Default none: no rotation function and no rotation."""
    secret_replicas: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Regions the master secrets are replicated to, each with the KMS key that encrypts its copy
    (that region's database key). Default: none."""
    cutover: bool = False
    """Promote the Aurora cluster to the writer (`qnom:databaseCutover`). Default false."""
    aurora_global: bool = False
    """The cut-over Aurora cluster leads an Aurora global database. Default false."""

    def __post_init__(self) -> None:
        # A cluster that is still a read replica of an RDS instance cannot be a global database's
        # source (see the module docstring): only a promoted cluster leads one.
        if self.aurora_global and (self.spec.aurora is None or not self.cutover):
            raise ValueError("aurora_global needs spec.aurora and cutover: only a promoted Aurora cluster "
                             "leads a global database")


@dataclass(frozen=True)
class AuroraSecondary:
    """A secondary region's place in the Aurora global database (after the cut-over)."""

    global_cluster_id: pulumi.Input[str]
    """The Aurora global database the region's secondary cluster joins. Required."""
    engine_version: pulumi.Input[str]
    """The actual engine version of the global database's primary cluster, which a secondary cluster
    must run. Required."""


@dataclass(frozen=True, kw_only=True)
class FollowerDatabaseArgs(_DatabaseSetArgs):
    """A secondary region's database: cross-region read replicas of the primary region's `-replica-0`
    (a cascaded replica; the replicas keep backups on for this) and, after the cut-over, a secondary
    cluster of the Aurora global database. No primary, password, secret or rotation of its own."""

    replica_source_arn: pulumi.Input[str]
    """ARN of the instance this region's replicas follow across regions. Required."""
    source_master_secret_arn: pulumi.Input[str]
    """ARN of the primary region's master secret of the writer, whose replica in this region holds
    the credentials. Required."""
    source_master_secret_name: pulumi.Input[str]
    """Name of that secret, which its replica in this region shares (the apps' IAM grants name it).
    Required."""
    aurora_secondary: AuroraSecondary | None = None
    """The global database the region joins with a secondary cluster. Default None: no cluster."""
    promote_first_replica: bool = False
    """Region failover (`qnom:failoverRegion`): `-replica-0` stops replicating and becomes the region's
    writer. Default False: every replica follows `replica_source_arn`."""
    backup_source_arn: pulumi.Input[str] | None = None
    """The writer whose automated backups (snapshots and transaction logs) RDS copies into this region,
    kept for the profile's backup retention. Default None: no copy."""

    def __post_init__(self) -> None:
        # The secondary cluster's capacity comes from the phase's Aurora block.
        if self.aurora_secondary is not None and self.spec.aurora is None:
            raise ValueError("aurora_secondary needs spec.aurora: a secondary cluster takes its capacity from it")
        if self.promote_first_replica and self.read_replicas < 1:
            raise ValueError("promote_first_replica needs read_replicas >= 1: the first replica becomes the writer")


DatabaseArgs = WriterDatabaseArgs | FollowerDatabaseArgs
"""One region's database: the mode is the type."""


class Database(pulumi.ComponentResource):
    endpoint: pulumi.Output[str] | None
    port: int
    reader_endpoints: pulumi.Output[list[str]]
    replica_arns: list[pulumi.Output[str]]
    read_endpoints: pulumi.Output[list[str]]
    master_secret_arn: pulumi.Output[str]
    master_secret_name: pulumi.Output[str]
    rds_master_secret_arn: pulumi.Output[str] | None
    primary_arn: pulumi.Output[str] | None
    security_group_id: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]
    aurora_arn: pulumi.Output[str] | None
    aurora_endpoint: pulumi.Output[str] | None
    aurora_reader_endpoint: pulumi.Output[str] | None
    aurora_engine_version: pulumi.Output[str] | None
    aurora_master_secret_arn: pulumi.Output[str] | None
    writer_endpoint: pulumi.Output[str] | None

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        if not isinstance(args, (WriterDatabaseArgs, FollowerDatabaseArgs)):
            raise TypeError(f"{name}: DatabaseArgs is WriterDatabaseArgs or FollowerDatabaseArgs, "
                            f"got {type(args).__name__}")
        super().__init__("qnom:components:Database", name, None, opts)
        self._name, self._args, self._spec = name, args, args.spec
        self._child = pulumi.ResourceOptions(parent=self)
        self._stateful = defaults.stateful_options(self._child, args.profile)
        # Used through RDS (storage, Performance Insights, snapshots) and Secrets Manager (the master
        # secrets, their rotation and their replicas in other regions), in any region: cross-region
        # replicas and replicated secrets reach it from the other regions' endpoints.
        self._key = aws.kms.Key(f"{name}-key", defaults.service_key_args(
            "database", args.profile, ["rds", "secretsmanager"], pulumi.InvokeOptions(parent=self),
            any_region=True), self._stateful)
        match args:
            case WriterDatabaseArgs():
                self._create_writer(args)
            case FollowerDatabaseArgs():
                self._create_follower(args)

        self.port = defaults.POSTGRES_PORT
        self.reader_endpoints = pulumi.Output.all(*[replica.address for replica in self._replicas])
        self.replica_arns = [replica.arn for replica in self._replicas]
        self.security_group_id = self._security_group.id
        self.kms_key_arn = self._key.arn
        self.aurora_arn = self._cluster.arn if self._cluster else None
        self.aurora_endpoint = self._cluster.endpoint if self._cluster else None
        self.aurora_reader_endpoint = self._cluster.reader_endpoint if self._cluster else None
        self.aurora_engine_version = self._cluster.engine_version_actual if self._cluster else None
        # Reads follow the writer: the RDS replicas until the cut-over, the Aurora readers after it
        # (the RDS instance and its replicas stop changing once Aurora takes the writes).
        self.read_endpoints = (pulumi.Output.all(self._cluster.reader_endpoint) if self._reads_from_cluster
                               else self.reader_endpoints)

        self.register_outputs({
            "endpoint": self.endpoint,
            "port": self.port,
            "reader_endpoints": self.reader_endpoints,
            "replica_arns": self.replica_arns,
            "read_endpoints": self.read_endpoints,
            "master_secret_arn": self.master_secret_arn,
            "master_secret_name": self.master_secret_name,
            "rds_master_secret_arn": self.rds_master_secret_arn,
            "primary_arn": self.primary_arn,
            "security_group_id": self.security_group_id,
            "kms_key_arn": self.kms_key_arn,
            "aurora_arn": self.aurora_arn,
            "aurora_endpoint": self.aurora_endpoint,
            "aurora_reader_endpoint": self.aurora_reader_endpoint,
            "aurora_engine_version": self.aurora_engine_version,
            "aurora_master_secret_arn": self.aurora_master_secret_arn,
            "writer_endpoint": self.writer_endpoint,
        })

    # The two modes ----------------------------------------------------------------------------

    def _create_writer(self, args: WriterDatabaseArgs) -> None:
        """The primary region's set: RDS primary, same-region replicas, secrets, rotation, Aurora."""
        self._rotation_group = self._create_rotation_security_group(args)
        clients = dict(args.client_security_groups)
        if self._rotation_group is not None:
            clients["rotation"] = self._rotation_group.id
        self._create_placement(clients)
        self._allow_rotation_to_database()
        self._snapshot_suffix = self._create_snapshot_suffix()
        self._rotation_function = self._create_rotation_function(args)
        password = self._create_password("master-password")
        primary = self._create_primary(password)
        master_secret = self._create_master_secret(
            args, "master", "qnom PostgreSQL: master user of the RDS instance", primary.address, password)
        # A same-region replica inherits engine, storage encryption and its key, user and
        # subnet group from the primary (AWS: do not pass a key for a same-region replica).
        self._replicas = self._create_replicas({"replicate_source_db": primary.identifier})
        promoted = self._spec.aurora is not None and args.cutover
        cluster_password = self._create_password("aurora-master-password") if promoted else None
        self._cluster = self._create_aurora_cluster(
            *self._aurora_writer(args, primary, cluster_password), version=primary.engine_version_actual,
        ) if self._spec.aurora is not None else None
        cluster_secret = self._create_master_secret(
            args, "aurora-master", "qnom PostgreSQL: master user of the Aurora cluster", self._cluster.endpoint,
            cluster_password) if promoted else None
        if self._cluster is not None:
            self._create_aurora_instances(self._writer_instance_classes(args))

        self.endpoint = primary.address
        self.primary_arn = primary.arn
        self.rds_master_secret_arn = master_secret.arn
        self.aurora_master_secret_arn = cluster_secret.arn if cluster_secret else None
        self.master_secret_arn = cluster_secret.arn if cluster_secret else master_secret.arn
        # Auto-named, so known in a preview where the ARN is not.
        self.master_secret_name = cluster_secret.name if cluster_secret else master_secret.name
        # Until the cut-over the RDS instance takes every write; afterwards the Aurora cluster.
        self.writer_endpoint = self._cluster.endpoint if promoted else primary.address
        self._reads_from_cluster = promoted

    def _create_follower(self, args: FollowerDatabaseArgs) -> None:
        """A secondary region's set: cross-region replicas and the global database's secondary cluster."""
        # No final snapshots here: the replicas and the secondary cluster hold copies of the primary
        # region's data, which keeps its own; so no snapshot-name suffix either.
        self._create_placement(dict(args.client_security_groups))
        # A cross-region replica names its source by ARN, is encrypted with a key of its own
        # region (KMS keys are regional; the provider: "set this to the destination KMS ARN") and
        # needs its own region's subnet group, or RDS picks the region's default one. Engine,
        # version, user and database name come from the source.
        self._replicas = self._create_replicas({
            "replicate_source_db": args.replica_source_arn,
            "kms_key_id": self._key.arn,
            "db_subnet_group_name": self._subnet_group.name,
        }, promoted=args.promote_first_replica)
        self._create_backup_copy(args)
        secondary = args.aurora_secondary
        self._cluster = self._create_aurora_cluster(
            *self._aurora_secondary(secondary), version=secondary.engine_version) if secondary else None
        if self._cluster is not None:
            # A secondary cluster holds readers only: Serverless v2, as many as the region's replicas.
            self._create_aurora_instances([SERVERLESS_CLASS] * args.read_replicas)

        # The region reads with the writer's credentials: the replica of its secret. A replica's ARN
        # is the primary's with its own region (Secrets Manager User Guide, "Replicate AWS Secrets
        # Manager secrets across Regions").
        region = self._region()
        secret_arn = pulumi.Output.from_input(args.source_master_secret_arn).apply(lambda arn: _in_region(arn, region))
        self.endpoint = self.primary_arn = self.rds_master_secret_arn = None
        self.master_secret_arn = secret_arn
        self.master_secret_name = args.source_master_secret_name
        # A secondary cluster reads with the primary cluster's credentials, replicated here the same way.
        self.aurora_master_secret_arn = secret_arn if self._cluster else None
        # A secondary region takes no writes, unless it is the one a region failover promoted.
        self.writer_endpoint = self._replicas[0].address if args.promote_first_replica else None
        self._reads_from_cluster = self._cluster is not None

    def _create_placement(self, clients: Mapping[str, pulumi.Input[str]]) -> None:
        """Security group, subnet group, parameter group and monitoring role: the same in both modes."""
        self._security_group = defaults.client_only_security_group(
            f"{self._name}-sg", "qnom PostgreSQL: client tiers only", self._args.vpc_id, defaults.POSTGRES_PORT,
            clients, self._child,
            client_cidrs=self._args.client_cidrs)
        self._subnet_group = aws.rds.SubnetGroup(f"{self._name}-subnets", aws.rds.SubnetGroupArgs(
            subnet_ids=list(self._args.subnet_ids),
            description="qnom PostgreSQL: isolated subnets",
        ), self._child)
        self._parameter_group = self._create_parameter_group()
        self._monitoring_role = self._create_monitoring_role()

    # Master credentials ---------------------------------------------------------------------

    def _create_rotation_security_group(self, args: WriterDatabaseArgs) -> aws.ec2.SecurityGroup | None:
        if not args.rotation_subnet_ids:
            return None
        name = f"{self._name}-rotation-sg"
        # No ingress: Secrets Manager invokes the function through Lambda, not over the network.
        group = aws.ec2.SecurityGroup(name, aws.ec2.SecurityGroupArgs(
            vpc_id=self._args.vpc_id, description="qnom PostgreSQL: master secret rotation function",
            tags={"Name": name},
        ), self._child)
        # The Secrets Manager API is reached at its public endpoint through the NAT gateway (the VPC
        # has no interface endpoint for it), so HTTPS goes to 0.0.0.0/0 as for the app instances.
        aws.vpc.SecurityGroupEgressRule(f"{name}-out-https", aws.vpc.SecurityGroupEgressRuleArgs(
            security_group_id=group.id, ip_protocol="tcp", from_port=443, to_port=443,
            cidr_ipv4="0.0.0.0/0", description="HTTPS to the Secrets Manager API",
        ), self._child)
        return group

    def _allow_rotation_to_database(self) -> None:
        if self._rotation_group is None:
            return
        name = f"{self._name}-rotation-sg"
        aws.vpc.SecurityGroupEgressRule(f"{name}-out-postgres", aws.vpc.SecurityGroupEgressRuleArgs(
            security_group_id=self._rotation_group.id, referenced_security_group_id=self._security_group.id,
            ip_protocol="tcp", from_port=defaults.POSTGRES_PORT, to_port=defaults.POSTGRES_PORT,
            description="PostgreSQL of the database it rotates",
        ), self._child)

    def _create_rotation_function(
            self, args: WriterDatabaseArgs) -> aws.serverlessrepository.CloudFormationStack | None:
        if self._rotation_group is None:
            return None
        # AWS's single-user rotation function for RDS PostgreSQL: it reads engine, host, port,
        # username, password and dbname from the secret, sets a new password with ALTER USER and
        # stores it as the next version (Secrets Manager User Guide, "Rotation function templates",
        # "Amazon RDS PostgreSQL single user"). One function rotates both master secrets. The
        # parameters are the application's own (functionName, endpoint, vpcSubnetIds,
        # vpcSecurityGroupIds, kmsKeyArn, excludeCharacters), as aws-cdk-lib's SecretRotation passes
        # them; it creates an IAM role and a Lambda permission, hence the two capabilities (the
        # provider's aws_serverlessapplicationrepository_cloudformation_stack documentation uses this
        # very application with them). Function and stack names are unique per account and region.
        physical = f"{pulumi.get_project()}-{pulumi.get_stack()}-{self._name}-rotation"
        return aws.serverlessrepository.CloudFormationStack(f"{self._name}-rotation",
                                                            aws.serverlessrepository.CloudFormationStackArgs(
            name=physical,
            application_id=ROTATION_APPLICATION_ID,
            semantic_version=ROTATION_APPLICATION_VERSION,
            capabilities=["CAPABILITY_IAM", "CAPABILITY_RESOURCE_POLICY"],
            parameters={
                "functionName": physical,
                "endpoint": f"https://secretsmanager.{self._region()}.amazonaws.com",
                "vpcSubnetIds": pulumi.Output.all(*args.rotation_subnet_ids).apply(",".join),
                "vpcSecurityGroupIds": self._rotation_group.id,
                "kmsKeyArn": self._key.arn,
                "excludeCharacters": ROTATION_EXCLUDED_CHARACTERS,
            },
        ), self._child)

    def _region(self) -> str:
        # An availability zone's name is its region's code followed by one letter.
        return self._args.availability_zones[0][:-1]

    def _create_password(self, suffix: str) -> random.RandomPassword:
        # Created once and never changed by a phase: a new value would reset the password of a
        # live database and of every copy replicating from it.
        return random.RandomPassword(f"{self._name}-{suffix}", random.RandomPasswordArgs(
            length=MASTER_PASSWORD_LENGTH, min_upper=2, min_lower=2, min_numeric=2, min_special=2,
            override_special=MASTER_PASSWORD_SPECIALS,
        ), self._child)

    def _create_master_secret(self, args: WriterDatabaseArgs, suffix: str, description: str,
                              host: pulumi.Input[str], password: random.RandomPassword) -> aws.secretsmanager.Secret:
        secret = aws.secretsmanager.Secret(f"{self._name}-{suffix}", aws.secretsmanager.SecretArgs(
            description=description,
            kms_key_id=self._key.arn,
            recovery_window_in_days=defaults.secret_recovery_days(args.profile),
            # Each secondary region reads its own copy, encrypted with its own database key;
            # rotation in this region propagates the new value to every replica (Secrets Manager
            # User Guide, "Replicate AWS Secrets Manager secrets across Regions").
            replicas=[aws.secretsmanager.SecretReplicaArgs(region=region, kms_key_id=key)
                      for region, key in sorted(args.secret_replicas.items())],
        ), self._stateful)
        # The JSON AWS's rotation functions expect (engine, host, port, username, password, dbname).
        # Rotation stores new versions that Pulumi never wrote; `secret_string` forces a new
        # version in the provider (aws_secretsmanager_secret_version: ForceNew), which would put the
        # first password back as current. Ignoring it after creation keeps `pulumi up` from undoing
        # a rotation.
        version = aws.secretsmanager.SecretVersion(f"{self._name}-{suffix}", aws.secretsmanager.SecretVersionArgs(
            secret_id=secret.id,
            secret_string=pulumi.Output.json_dumps({
                "engine": ENGINE, "host": host, "port": defaults.POSTGRES_PORT,
                "username": MASTER_USERNAME, "password": password.result, "dbname": DB_NAME,
            }),
        ), pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(ignore_changes=["secretString"])))
        if self._rotation_function is not None:
            aws.secretsmanager.SecretRotation(f"{self._name}-{suffix}", aws.secretsmanager.SecretRotationArgs(
                secret_id=secret.id,
                rotation_lambda_arn=self._rotation_function.outputs["RotationLambdaARN"],
                rotation_rules=aws.secretsmanager.SecretRotationRotationRulesArgs(
                    automatically_after_days=ROTATION_DAYS),
            ), pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(depends_on=[version])))
        return secret

    # Supporting resources -------------------------------------------------------------------

    def _create_parameter_group(self) -> aws.rds.ParameterGroup:
        # Both parameters are applied at the next reboot, which every class change in a
        # promotion brings; max_connections is static in PostgreSQL. Read replicas share
        # this group because a hot standby refuses to run with fewer connections than its
        # primary.
        return aws.rds.ParameterGroup(f"{self._name}-params", aws.rds.ParameterGroupArgs(
            family=f"{ENGINE}{self._spec.major_version}",
            description="qnom PostgreSQL: TLS only, connection limit of the phase",
            parameters=[
                aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1", apply_method="pending-reboot"),
                aws.rds.ParameterGroupParameterArgs(name="max_connections", value=str(self._spec.max_connections),
                                                    apply_method="pending-reboot"),
                *logging_parameters(aws.rds.ParameterGroupParameterArgs),
            ],
        ), self._child)

    def _create_monitoring_role(self) -> aws.iam.Role:
        role = aws.iam.Role(f"{self._name}-monitoring", aws.iam.RoleArgs(
            assume_role_policy=defaults.assume_role_policy("monitoring.rds.amazonaws.com"),
            description="qnom PostgreSQL: enhanced monitoring",
        ), self._child)
        aws.iam.RolePolicyAttachment(f"{self._name}-monitoring", aws.iam.RolePolicyAttachmentArgs(
            role=role.name, policy_arn=defaults.ENHANCED_MONITORING_POLICY_ARN,
        ), self._child)
        return role

    def _create_snapshot_suffix(self) -> random.RandomId | None:
        # Final snapshot names are unique per account and region; a fixed name would make the
        # second deletion (another stack, or a rebuilt one) fail on the first one's snapshot.
        if not self._args.profile.final_snapshot:
            return None
        return random.RandomId(f"{self._name}-final-snapshot", random.RandomIdArgs(byte_length=4), self._child)

    def _final_snapshot_name(self, resource: str) -> pulumi.Output[str] | None:
        if self._snapshot_suffix is None:
            return None
        return self._snapshot_suffix.hex.apply(lambda suffix: f"{self._name}-{resource}-final-{suffix}")

    def _instance_observability(self) -> dict:
        return {
            "performance_insights_enabled": True,
            "performance_insights_kms_key_id": self._key.arn,
            "performance_insights_retention_period": defaults.PERFORMANCE_INSIGHTS_RETENTION_DAYS,
            "monitoring_interval": defaults.ENHANCED_MONITORING_INTERVAL_SECONDS,
            "monitoring_role_arn": self._monitoring_role.arn,
        }

    def _create_primary(self, password: random.RandomPassword) -> aws.rds.Instance:
        spec, profile = self._spec, self._args.profile
        # AWS refuses an explicit availability zone on a Multi-AZ instance, and a Multi-AZ
        # failover moves the primary to its standby's zone. So the zone is pinned only while
        # the instance is single-AZ, and ignored afterwards: the old value stays in state and
        # never turns into a replacement.
        zone = None if spec.multi_az else self._args.availability_zones[0]
        return aws.rds.Instance(f"{self._name}-primary", aws.rds.InstanceArgs(
            engine=ENGINE,
            engine_version=spec.engine_version,
            instance_class=spec.instance_class,
            multi_az=spec.multi_az,
            availability_zone=zone,
            allocated_storage=spec.allocated_storage_gb,
            max_allocated_storage=spec.max_allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=self._key.arn,
            db_name=DB_NAME,
            username=MASTER_USERNAME,
            password=password.result,
            iam_database_authentication_enabled=True,
            port=defaults.POSTGRES_PORT,
            db_subnet_group_name=self._subnet_group.name,
            vpc_security_group_ids=[self._security_group.id],
            parameter_group_name=self._parameter_group.name,
            publicly_accessible=False,
            backup_retention_period=profile.backup_retention_days,
            backup_window=defaults.DB_BACKUP_WINDOW,
            maintenance_window=defaults.DB_MAINTENANCE_WINDOW,
            copy_tags_to_snapshot=True,
            delete_automated_backups=not profile.final_snapshot,
            deletion_protection=profile.deletion_protection,
            skip_final_snapshot=not profile.final_snapshot,
            final_snapshot_identifier=self._final_snapshot_name("primary"),
            enabled_cloudwatch_logs_exports=LOG_EXPORTS,
            auto_minor_version_upgrade=True,
            allow_major_version_upgrade=False,
            # A promotion is a planned change run in a planned window; deferring it to the
            # maintenance window would leave the stack reporting sizes it does not have yet.
            apply_immediately=True,
            **self._instance_observability(),
        ), pulumi.ResourceOptions.merge(self._stateful, pulumi.ResourceOptions(ignore_changes=self._primary_ignored())))

    def _primary_ignored(self) -> list[str]:
        # The zone: see above. The password: the rotation function changes it in AWS, and an
        # update must not set the first one again. The engine version only when the catalog pins
        # a minor: AWS's automatic minor upgrades then differ from it, the provider stores the
        # upgraded version and the next update would try a downgrade, which AWS refuses. A major
        # alone ("16") never drifts (the provider keeps it while AWS reports "16.x").
        ignored = ["availabilityZone", "password"]
        if "." in self._spec.engine_version:
            ignored.append("engineVersion")
        return ignored

    def _create_replicas(self, source: dict, promoted: bool = False) -> list[aws.rds.Instance]:
        zones, profile = self._args.availability_zones, self._args.profile
        # Region failover: the provider promotes a replica whose `replicate_source_db` is removed, in
        # place (PromoteReadReplica, keeping its backups), and refuses any other change of the source
        # ("cannot elect new source database for replication": internal/service/rds/instance.go,
        # resourceInstanceUpdate). Every other input stays as it was, so nothing is replaced.
        sources = [{key: value for key, value in source.items()
                    if not (promoted and index == 0 and key == "replicate_source_db")}
                   for index in range(self._args.read_replicas)]
        return [
            aws.rds.Instance(f"{self._name}-replica-{index}", aws.rds.InstanceArgs(
                **sources[index],
                instance_class=self._spec.instance_class,
                availability_zone=zones[(index + 1) % len(zones)],
                max_allocated_storage=self._spec.max_allocated_storage_gb,
                vpc_security_group_ids=[self._security_group.id],
                parameter_group_name=self._parameter_group.name,
                publicly_accessible=False,
                iam_database_authentication_enabled=True,
                # Backups on a replica let it be the source of a cascaded replica (the secondary
                # regions read from `-replica-0` instead of from the primary).
                backup_retention_period=profile.backup_retention_days,
                backup_window=defaults.DB_BACKUP_WINDOW,
                maintenance_window=defaults.DB_MAINTENANCE_WINDOW,
                copy_tags_to_snapshot=True,
                deletion_protection=profile.deletion_protection,
                # AWS takes no final snapshot of a read replica; the primary's backups hold the data.
                skip_final_snapshot=True,
                # A replica writes its own PostgreSQL log (its queries, its connections), which the
                # primary's export does not carry.
                enabled_cloudwatch_logs_exports=LOG_EXPORTS,
                auto_minor_version_upgrade=True,
                apply_immediately=True,
                **self._instance_observability(),
            ), self._stateful)
            for index in range(self._args.read_replicas)
        ]

    def _create_backup_copy(self, args: FollowerDatabaseArgs) -> None:
        """Cross-Region automated backup replication of the writer into this region: RDS copies every
        snapshot and transaction log as soon as it is ready, so the writer can be restored here to any
        point in the retention window when its region is lost (RDS User Guide, "Replicating automated
        backups to another AWS Region"; StartDBInstanceAutomatedBackupsReplication). AWS copies to one
        destination Region per instance, and the copy is encrypted with this region's key."""
        if args.backup_source_arn is None:
            return
        aws.rds.InstanceAutomatedBackupsReplication(
            f"{self._name}-backup-copy", aws.rds.InstanceAutomatedBackupsReplicationArgs(
                source_db_instance_arn=args.backup_source_arn,
                kms_key_id=self._key.arn,
                retention_period=args.profile.backup_retention_days,
            ), self._stateful)

    def _create_aurora_cluster(self, role: dict, options: pulumi.ResourceOptions, *,
                               version: pulumi.Input[str]) -> aws.rds.Cluster:
        """The region's Aurora cluster in the role the mode gives it (`role`: the role's own inputs).

        `version` is the one a new cluster starts at: its source's actual version at deploy time.
        AWS creates an Aurora read replica only at the source instance's version or a later minor
        of its major, and a global database's secondary cluster at its primary cluster's version.
        `engine_version_actual` is what the provider read from AWS (the minor AWS upgraded to), not
        the "16" the instance was created with. After creation the clusters ignore the version:
        AWS upgrades their minor version too, and the source keeps moving.
        """
        aurora, profile = self._spec.aurora, self._args.profile
        parameters = aws.rds.ClusterParameterGroup(f"{self._name}-aurora-params", aws.rds.ClusterParameterGroupArgs(
            family=f"{AURORA_ENGINE}{self._spec.major_version}",
            description="qnom Aurora PostgreSQL: TLS only",
            parameters=[aws.rds.ClusterParameterGroupParameterArgs(
                name="rds.force_ssl", value="1", apply_method="pending-reboot"),
                *logging_parameters(aws.rds.ClusterParameterGroupParameterArgs)],
        ), self._child)
        # A cluster stays encrypted with its region's database key and keeps its subnet group,
        # zones and engine in every step, so nothing here is ever replaced.
        return aws.rds.Cluster(f"{self._name}-aurora", aws.rds.ClusterArgs(
            engine=AURORA_ENGINE,
            engine_mode="provisioned",
            engine_version=version,
            serverlessv2_scaling_configuration=aws.rds.ClusterServerlessv2ScalingConfigurationArgs(
                min_capacity=aurora.min_acu, max_capacity=aurora.max_acu),
            storage_encrypted=True,
            kms_key_id=self._key.arn,
            availability_zones=list(self._args.availability_zones),
            db_subnet_group_name=self._subnet_group.name,
            vpc_security_group_ids=[self._security_group.id],
            db_cluster_parameter_group_name=parameters.name,
            port=defaults.POSTGRES_PORT,
            iam_database_authentication_enabled=True,
            enabled_cloudwatch_logs_exports=["postgresql"],
            backup_retention_period=profile.backup_retention_days,
            preferred_backup_window=defaults.DB_BACKUP_WINDOW,
            preferred_maintenance_window=defaults.DB_MAINTENANCE_WINDOW,
            copy_tags_to_snapshot=True,
            deletion_protection=profile.deletion_protection,
            apply_immediately=True,
            **role,
        ), options)

    def _aurora_writer(self, args: WriterDatabaseArgs, primary: aws.rds.Instance,
                       password: random.RandomPassword | None) -> tuple[dict, pulumi.ResourceOptions]:
        """The primary region's cluster: an Aurora read replica of the RDS instance until the cut-over."""
        cutover, profile = args.cutover, args.profile
        # AWS's documented migration: a cluster created with replication_source_identifier is
        # an Aurora read replica of the RDS instance; it takes master user, password and
        # database name from the source, so none of them is passed. Removing the identifier
        # (the cut-over) promotes the cluster in place to a standalone writer; the provider
        # runs that promotion before any other change of the same update.
        role = {
            "replication_source_identifier": None if cutover else primary.arn,
            # After promotion the cluster gets a master password and secret of its own (the RDS
            # instance's rotation keeps changing only the RDS instance's password). RDS-managed
            # passwords are not an option: AWS does not support them on a cluster of an Aurora
            # global database. The provider never reads a master password back from AWS, so a
            # rotation of the cluster's secret leaves no diff for a later update to undo; the
            # value is set once, here, with ModifyDBCluster after the promotion.
            "master_password": password.result if cutover else None,
            "skip_final_snapshot": not profile.final_snapshot,
            "final_snapshot_identifier": self._final_snapshot_name("aurora"),
        }
        ignored = ["engineVersion"]
        if args.aurora_global:
            # Joining a global database (GlobalCluster with this cluster as its source) is done by
            # AWS; the provider's documented pattern ignores the id AWS then reports on the cluster.
            ignored.append("globalClusterIdentifier")
        return role, pulumi.ResourceOptions.merge(self._stateful, pulumi.ResourceOptions(ignore_changes=ignored))

    def _aurora_secondary(self, secondary: AuroraSecondary) -> tuple[dict, pulumi.ResourceOptions]:
        """A secondary region's cluster: a read-only member of the Aurora global database."""
        # AWS refuses a master user, password or database name on a global database's secondary
        # cluster: the storage layer replicates them with everything else. AWS then reports the
        # primary cluster as the replication source, which the provider's docs say to ignore.
        # No final snapshot: the primary cluster holds the data.
        role = {"global_cluster_identifier": secondary.global_cluster_id, "skip_final_snapshot": True}
        # The version too: AWS upgrades every member of a global database together (the provider's
        # aws_rds_global_cluster documentation ignores engine_version on member clusters).
        return role, pulumi.ResourceOptions.merge(
            self._stateful, pulumi.ResourceOptions(ignore_changes=["engineVersion", "replicationSourceIdentifier"]))

    def _writer_instance_classes(self, args: WriterDatabaseArgs) -> list[str]:
        aurora = self._spec.aurora
        # A replica cluster of an RDS instance holds exactly one instance, a reader; AWS's
        # procedure creates it with a provisioned class, and AWS's Serverless v2 migration
        # path starts from a provisioned instance too. It becomes the writer at the cut-over.
        classes = [aurora.replica_instance_class]
        if args.cutover:
            classes += [SERVERLESS_CLASS] * aurora.readers
        return classes

    def _create_aurora_instances(self, instance_classes: list[str]) -> None:
        for index, instance_class in enumerate(instance_classes):
            aws.rds.ClusterInstance(f"{self._name}-aurora-{index}", aws.rds.ClusterInstanceArgs(
                cluster_identifier=self._cluster.id,
                engine=AURORA_ENGINE,
                instance_class=instance_class,
                db_subnet_group_name=self._subnet_group.name,
                publicly_accessible=False,
                auto_minor_version_upgrade=True,
                copy_tags_to_snapshot=True,
                apply_immediately=True,
                # Readers in tiers 0-1 scale with the writer, so a failover lands on warm capacity.
                promotion_tier=0 if index == 0 else 1,
                **self._instance_observability(),
            ), self._stateful)


def _in_region(arn: str, region: str) -> str:
    """`arn` with its region field replaced."""
    parts = arn.split(":")
    return ":".join(parts[:3] + [region] + parts[4:])
