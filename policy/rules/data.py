"""Resource rules for the data tier: RDS PostgreSQL, Aurora, ElastiCache, SQS, S3, OpenSearch,
Secrets Manager and KMS. Encryption at rest and in transit, no public exposure, backups,
deletion protection and final snapshots in prod, Multi-AZ and failover where the phase
promises them.

Read replicas (`replicateSourceDb` set) inherit encryption, credentials, backups and
deletion behaviour from their source, so rules about those apply to primaries only.
"""

from __future__ import annotations

import re

from pulumi_policy import Severity

from policy.framework import Check, References, Registry, Setting
from policy.views import UNKNOWN, Resource, Stack, elements, lookup, truthy
from policy.resource_types import (
    CACHE_REPLICATION_GROUP,
    KMS_KEY,
    OPENSEARCH_DOMAIN,
    RDS_CLUSTER,
    RDS_CLUSTER_INSTANCE,
    RDS_CLUSTER_PARAMETER_GROUP,
    RDS_INSTANCE,
    RDS_PARAMETER_GROUP,
    S3_BUCKET,
    S3_PUBLIC_ACCESS_BLOCK,
    S3_VERSIONING,
    RANDOM_PASSWORD,
    SECRET,
    SECRET_ROTATION,
    SECRET_VERSION,
    SQS_QUEUE,
)

RULES = Registry()

MINIMUM_DAYS = Setting(
    name="minimumDays", schema={"type": ["integer", "null"], "minimum": 1, "maximum": 35}, default=None,
    description="Fewest days of backups; null: the environment profile's backup_retention_days (dev 1, prod 7).",
)
TLS12_OPENSEARCH_POLICIES = ("Policy-Min-TLS-1-2-2019-07", "Policy-Min-TLS-1-2-PFS-2023-10")


def _replica(resource: Resource) -> bool:
    return resource.has("replicateSourceDb")


def _primary(resource: Resource, check: Check) -> None:
    if _replica(resource):
        check.not_applicable("read replica: it inherits this from its source instance")


def _global_member(resource: Resource, check: Check) -> None:
    # AWS builds a global datastore's secondary group from the datastore: encryption, engine
    # and node type come from the primary group, and the provider refuses them on a member.
    if resource.has("globalReplicationGroupId"):
        check.not_applicable("global datastore member: it inherits this from the datastore's primary group")


def _global_secondary_cluster(resource: Resource, check: Check) -> None:
    # A secondary cluster of an Aurora global database is a read-only copy of the primary
    # cluster: its credentials are the primary's, and the primary's snapshots hold the data.
    if resource.type == RDS_CLUSTER and resource.has("globalClusterIdentifier"):
        check.not_applicable("secondary cluster of a global database: the primary cluster carries this")


def _prod(check: Check) -> None:
    if not check.context.prod:
        check.not_applicable("dev profile: deletion protection and final snapshots are off on purpose")


def _profile_requires(check: Check, required: bool, what: str) -> None:
    """Not applicable when the stack's environment profile turns `what` off on purpose (dev, staging):
    the rule follows the profile's switch, not the environment's name."""
    if not required:
        check.not_applicable(f"{check.context.environment} profile: {what} off on purpose")


def _minimum_backup_days(check: Check) -> int:
    configured = check.config.get("minimumDays")
    return int(configured) if configured else check.context.profile.backup_retention_days


def _flag(resource: Resource, path: str, message: str, default=None):
    """A violation when the flag at `path` is not true (an unknown flag cannot be judged in preview)."""
    if truthy(resource.require(path, default)) is not True:
        yield message


# --------------------------------------------------------------------------- RDS instances

@RULES.resource(
    id="rds-storage-encrypted",
    description="RDS instances encrypt their storage at rest.",
    severity=Severity.HIGH,
    resource_types=(RDS_INSTANCE,),
    references=References(checkov=("CKV_AWS_16",), aws=("RDS.3",), well_architected=("REL09-BP02",)),
    remediation="Set storage_encrypted=True with a KMS key; it forces replacement, so set it at creation.",
)
def rds_storage_encrypted(resource: Resource, check: Check):
    value = resource.require("storageEncrypted")
    if value is None and _replica(resource):
        return  # a same-region replica is encrypted exactly like its source
    if truthy(value) is not True:
        yield "storageEncrypted is not true: data, backups and snapshots are stored unencrypted"


@RULES.resource(
    id="rds-not-publicly-accessible",
    description="RDS instances and Aurora cluster instances are never publicly accessible.",
    severity=Severity.CRITICAL,
    resource_types=(RDS_INSTANCE, RDS_CLUSTER_INSTANCE),
    references=References(checkov=("CKV_AWS_17",), aws=("RDS.2",)),
)
def rds_not_publicly_accessible(resource: Resource, check: Check):
    if truthy(resource.require("publiclyAccessible", False)) is True:
        yield "publiclyAccessible is true: the database gets a public DNS name and address"


@RULES.resource(
    id="rds-backup-retention",
    description="RDS primaries keep automated backups for the environment's retention (dev 1 day, prod 7).",
    severity=Severity.HIGH,
    resource_types=(RDS_INSTANCE,),
    references=References(aws=("RDS.11",), well_architected=("REL09-BP03",)),
    settings=(MINIMUM_DAYS,),
)
def rds_backup_retention(resource: Resource, check: Check):
    _primary(resource, check)
    days = resource.require("backupRetentionPeriod", 1)  # the RDS API keeps 1 day when unset
    minimum = _minimum_backup_days(check)
    if int(days) < minimum:
        yield f"backupRetentionPeriod is {days} day(s), below the required {minimum}"


@RULES.resource(
    id="rds-deletion-protection-prod",
    description="RDS primaries have deletion protection in prod.",
    severity=Severity.HIGH,
    resource_types=(RDS_INSTANCE,),
    references=References(checkov=("CKV_AWS_293",), aws=("RDS.8",)),
)
def rds_deletion_protection(resource: Resource, check: Check):
    _profile_requires(check, check.context.profile.deletion_protection, "deletion protection")
    _primary(resource, check)
    yield from _flag(resource, "deletionProtection",
                     "deletionProtection is not true: one API call deletes the database")


@RULES.resource(
    id="rds-final-snapshot-prod",
    description="RDS primaries take a named final snapshot when deleted in prod.",
    severity=Severity.HIGH,
    resource_types=(RDS_INSTANCE,),
    references=References(well_architected=("REL09-BP01",)),
)
def rds_final_snapshot(resource: Resource, check: Check):
    _profile_requires(check, check.context.profile.final_snapshot, "final snapshots")
    _primary(resource, check)
    if truthy(resource.require("skipFinalSnapshot", False)) is True:
        yield "skipFinalSnapshot is true: deleting the instance loses its data"
    elif not resource.has("finalSnapshotIdentifier"):
        # The provider refuses to delete an instance without one, blocking the destroy halfway.
        yield "finalSnapshotIdentifier is not set, although a final snapshot is required"


@RULES.resource(
    id="rds-multi-az-as-promised",
    description="RDS primaries run Multi-AZ when the phase promises it (phase 3 and 4).",
    severity=Severity.HIGH,
    resource_types=(RDS_INSTANCE,),
    references=References(checkov=("CKV_AWS_157",), aws=("RDS.5",), well_architected=("REL10-BP01", "REL11-BP02")),
)
def rds_multi_az(resource: Resource, check: Check):
    phase = check.context.phase
    if phase is None:
        check.not_applicable("phase unknown")
    if not phase.database.multi_az:
        check.not_applicable(f"phase {phase.number} ({phase.name}) runs a single-AZ database")
    _primary(resource, check)
    yield from _flag(resource, "multiAz",
                     f"multiAz is not true, but phase {phase.number} ({phase.name}) promises a Multi-AZ database")


@RULES.resource(
    id="rds-iam-authentication",
    description="RDS primaries accept IAM database authentication.",
    severity=Severity.MEDIUM,
    resource_types=(RDS_INSTANCE,),
    references=References(checkov=("CKV_AWS_161",), aws=("RDS.10",)),
)
def rds_iam_authentication(resource: Resource, check: Check):
    _primary(resource, check)
    yield from _flag(resource, "iamDatabaseAuthenticationEnabled", "iamDatabaseAuthenticationEnabled is not true")


@RULES.resource(
    id="rds-enhanced-monitoring",
    description="RDS primaries publish enhanced monitoring metrics.",
    severity=Severity.LOW,
    resource_types=(RDS_INSTANCE,),
    references=References(checkov=("CKV_AWS_118",), aws=("RDS.6",), well_architected=("REL06-BP01",)),
)
def rds_enhanced_monitoring(resource: Resource, check: Check):
    _primary(resource, check)
    interval = resource.require("monitoringInterval", 0)
    if not interval:
        yield "monitoringInterval is 0: enhanced monitoring is off"
    elif not resource.has("monitoringRoleArn"):
        yield "monitoringRoleArn is not set: RDS cannot publish enhanced monitoring metrics"


@RULES.resource(
    id="rds-logs-exported",
    description="RDS primaries export their engine logs to CloudWatch Logs.",
    severity=Severity.MEDIUM,
    resource_types=(RDS_INSTANCE,),
    references=References(checkov=("CKV_AWS_129",), aws=("RDS.9", "RDS.36")),
)
def rds_logs_exported(resource: Resource, check: Check):
    _primary(resource, check)
    exports = [item for item in elements(resource.require("enabledCloudwatchLogsExports")) if item is not UNKNOWN]
    engine = str(resource.require("engine", "") or "")
    if engine.startswith("postgres") and "postgresql" not in exports:
        yield f"enabledCloudwatchLogsExports {exports} does not include postgresql"
    elif not exports:
        yield "enabledCloudwatchLogsExports is empty"


@RULES.resource(
    id="rds-copy-tags-to-snapshots",
    description="RDS primaries copy their tags to snapshots.",
    severity=Severity.LOW,
    resource_types=(RDS_INSTANCE,),
    references=References(checkov=("CKV2_AWS_60",), aws=("RDS.17",)),
)
def rds_copy_tags(resource: Resource, check: Check):
    _primary(resource, check)
    yield from _flag(resource, "copyTagsToSnapshot",
                     "copyTagsToSnapshot is not true: snapshots lose cost and owner tags")


@RULES.resource(
    id="rds-auto-minor-version-upgrade",
    description="RDS instances take minor engine upgrades automatically.",
    severity=Severity.MEDIUM,
    resource_types=(RDS_INSTANCE, RDS_CLUSTER_INSTANCE),
    references=References(checkov=("CKV_AWS_226",), aws=("RDS.13",)),
)
def rds_minor_upgrades(resource: Resource, check: Check):
    if truthy(resource.require("autoMinorVersionUpgrade", True)) is not True:
        yield "autoMinorVersionUpgrade is false: security patches wait for a manual upgrade"


def _master_password_holders(stack: Stack) -> list[Resource]:
    """RDS primaries and Aurora clusters that carry their own master password: not read replicas,
    Aurora read replicas, secondary clusters of a global database or restored copies, whose
    credentials come from their source."""
    holders = []
    for resource in stack.of_type(RDS_INSTANCE, RDS_CLUSTER):
        if _replica(resource) or resource.has("snapshotIdentifier") or resource.has("replicationSourceIdentifier"):
            continue
        if resource.type == RDS_CLUSTER and resource.has("globalClusterIdentifier") \
                and not resource.has("masterPassword"):
            continue
        holders.append(resource)
    return holders


def _password_problems(stack: Stack, database: Resource) -> list[str]:
    prop = "password" if database.type == RDS_INSTANCE else "masterPassword"
    if truthy(database.get("manageMasterUserPassword", False)) is True:
        # AWS: "Creating read replicas for source instance with engine postgres where
        # ManageMasterUserPassword is enabled is not supported"; not supported for cross-Region read
        # replicas nor for clusters of an Aurora global database either (Aurora User Guide, "Password
        # management with Amazon Aurora and AWS Secrets Manager", limitations).
        return ["manageMasterUserPassword is true: AWS refuses read replicas, Aurora read replicas and "
                "global database clusters of such a database; use a stack-managed password in a rotated secret"]
    if not database.has(prop):
        return [f"{prop} is not set: the master password must come from the stack's own generated secret"]
    generators = [item for item in stack.dependencies(database, prop) if item.type == RANDOM_PASSWORD]
    if not generators:
        return [f"{prop} does not come from a random.RandomPassword of the stack: a literal password lives "
                "in the program and its history"]
    problems = []
    if database.type == RDS_INSTANCE and prop not in database.ignore_changes:
        problems.append("password is not in ignoreChanges: a `pulumi up` after a rotation sets the first "
                        "password again")
    versions = stack.dependents(generators[0], (SECRET_VERSION,), ["secretString"])
    if not versions:
        return problems + ["no Secrets Manager secret version holds the password: apps and the rotation "
                           "function have nothing to read"]
    for version in versions:
        if "secretString" not in version.ignore_changes:
            problems.append(f"{version.name}: secretString is not in ignoreChanges: the provider replaces the "
                            "version on any change and would put the first password back as current")
        for secret in (item for item in stack.dependencies(version, "secretId") if item.type == SECRET):
            key = secret.get("kmsKeyId")
            if key is None or key == "" or key == "alias/aws/secretsmanager":
                problems.append(f"{secret.name}: kmsKeyId is not a customer managed key")
            rotations = [rotation for rotation in stack.dependents(secret, (SECRET_ROTATION,), ["secretId"])
                         if rotation.has("rotationLambdaArn")]
            if not rotations:
                problems.append(f"{secret.name}: no rotation is configured (aws.secretsmanager.SecretRotation "
                                "with a rotation function)")
    return problems


@RULES.stack(
    id="rds-master-password-rotated-secret",
    description=("RDS primaries and Aurora writers take a master password the stack generates, kept in a "
                 "Secrets Manager secret encrypted with a customer managed key and rotated; never the "
                 "RDS-managed password, which AWS refuses on sources of read replicas and global databases."),
    severity=Severity.HIGH,
    resource_types=(RDS_INSTANCE, RDS_CLUSTER, SECRET, SECRET_VERSION, SECRET_ROTATION),
    references=References(checkov=("CKV2_AWS_57",)),
    remediation=("Generate the password with random.RandomPassword, store the connection JSON in a secret with "
                 "a customer managed key, attach AWS's rotation function with aws.secretsmanager.SecretRotation, "
                 "and ignore `password` on the instance and `secretString` on the version."),
)
def rds_master_password_secret(stack: Stack, check: Check):
    # An Aurora cluster's masterPassword is set at the cut-over, after creation: ignoring it would
    # keep it from ever being set on Pulumi CLIs before pulumi/pulumi#20278, and the provider never
    # reads a master password back from AWS, so a rotation leaves nothing for an update to undo.
    for database in _each_holder(stack, check):
        for problem in _password_problems(stack, database):
            yield f"{database.name}: {problem}", database.urn


def _each_holder(stack: Stack, check: Check) -> list[Resource]:
    holders = _master_password_holders(stack)
    if not holders:
        check.not_applicable("no RDS primary or Aurora writer")
    return holders


@RULES.resource(
    id="rds-performance-insights",
    description="RDS primaries have Performance Insights on.",
    severity=Severity.LOW,
    resource_types=(RDS_INSTANCE,),
    references=References(checkov=("CKV_AWS_353",), well_architected=("REL06-BP01",)),
)
def rds_performance_insights(resource: Resource, check: Check):
    _primary(resource, check)
    yield from _flag(resource, "performanceInsightsEnabled", "performanceInsightsEnabled is not true")


@RULES.resource(
    id="rds-postgres-force-ssl",
    description="PostgreSQL parameter groups refuse connections without TLS (rds.force_ssl = 1).",
    severity=Severity.HIGH,
    resource_types=(RDS_PARAMETER_GROUP, RDS_CLUSTER_PARAMETER_GROUP),
    references=References(checkov=("CKV2_AWS_69",)),
)
def rds_force_ssl(resource: Resource, check: Check):
    family = str(resource.require("family") or "")
    match = re.fullmatch(r"(?:aurora-)?postgres(?:ql)?(\d+)(?:\.\d+)?", family)
    if not match:
        check.not_applicable(f"family {family!r} is not PostgreSQL")
    for index, parameter in enumerate(elements(resource.require("parameters"))):
        if lookup(parameter, "name") == "rds.force_ssl":
            value = resource.require(f"parameters.{index}.value")
            if str(value) != "1":
                yield f"rds.force_ssl is {value!r}: clients may connect without TLS"
            return
    if int(match.group(1)) < 15:
        # PostgreSQL 15 and later default rds.force_ssl to 1; older families default to 0.
        yield f"{family} defaults rds.force_ssl to 0; set it to 1"


# --------------------------------------------------------------------------- Aurora clusters

@RULES.resource(
    id="aurora-storage-encrypted",
    description="Aurora (RDS) clusters encrypt their storage at rest.",
    severity=Severity.HIGH,
    resource_types=(RDS_CLUSTER,),
    references=References(checkov=("CKV_AWS_96",), aws=("RDS.27",), well_architected=("REL09-BP02",)),
)
def aurora_storage_encrypted(resource: Resource, check: Check):
    yield from _flag(resource, "storageEncrypted", "storageEncrypted is not true")


@RULES.resource(
    id="aurora-deletion-protection-prod",
    description="Aurora clusters have deletion protection in prod.",
    severity=Severity.HIGH,
    resource_types=(RDS_CLUSTER,),
    references=References(checkov=("CKV_AWS_139",), aws=("RDS.7",)),
)
def aurora_deletion_protection(resource: Resource, check: Check):
    _profile_requires(check, check.context.profile.deletion_protection, "deletion protection")
    yield from _flag(resource, "deletionProtection", "deletionProtection is not true")


@RULES.resource(
    id="aurora-backup-retention",
    description="Aurora clusters keep automated backups for the environment's retention (dev 1 day, prod 7).",
    severity=Severity.HIGH,
    resource_types=(RDS_CLUSTER,),
    references=References(checkov=("CKV_AWS_133",), well_architected=("REL09-BP03",)),
    settings=(MINIMUM_DAYS,),
)
def aurora_backup_retention(resource: Resource, check: Check):
    days = resource.require("backupRetentionPeriod", 1)
    minimum = _minimum_backup_days(check)
    if int(days) < minimum:
        yield f"backupRetentionPeriod is {days} day(s), below the required {minimum}"


@RULES.resource(
    id="aurora-final-snapshot-prod",
    description="Aurora clusters take a named final snapshot when deleted in prod.",
    severity=Severity.HIGH,
    resource_types=(RDS_CLUSTER,),
    references=References(well_architected=("REL09-BP01",)),
)
def aurora_final_snapshot(resource: Resource, check: Check):
    _profile_requires(check, check.context.profile.final_snapshot, "final snapshots")
    _global_secondary_cluster(resource, check)
    if truthy(resource.require("skipFinalSnapshot", False)) is True:
        yield "skipFinalSnapshot is true: deleting the cluster loses its data"
    elif not resource.has("finalSnapshotIdentifier"):
        yield "finalSnapshotIdentifier is not set, although a final snapshot is required"


@RULES.resource(
    id="aurora-iam-authentication",
    description="Aurora clusters accept IAM database authentication.",
    severity=Severity.MEDIUM,
    resource_types=(RDS_CLUSTER,),
    references=References(checkov=("CKV_AWS_162",), aws=("RDS.12",)),
)
def aurora_iam_authentication(resource: Resource, check: Check):
    yield from _flag(resource, "iamDatabaseAuthenticationEnabled", "iamDatabaseAuthenticationEnabled is not true")


@RULES.resource(
    id="aurora-copy-tags-to-snapshots",
    description="Aurora clusters copy their tags to snapshots.",
    severity=Severity.LOW,
    resource_types=(RDS_CLUSTER,),
    references=References(checkov=("CKV_AWS_313",), aws=("RDS.16",)),
)
def aurora_copy_tags(resource: Resource, check: Check):
    yield from _flag(resource, "copyTagsToSnapshot", "copyTagsToSnapshot is not true")


@RULES.resource(
    id="aurora-logs-exported",
    description="Aurora PostgreSQL clusters export the postgresql log to CloudWatch Logs.",
    severity=Severity.MEDIUM,
    resource_types=(RDS_CLUSTER,),
    references=References(checkov=("CKV_AWS_324",), aws=("RDS.37",)),
)
def aurora_logs_exported(resource: Resource, check: Check):
    exports = [item for item in elements(resource.require("enabledCloudwatchLogsExports")) if item is not UNKNOWN]
    engine = str(resource.require("engine", "") or "")
    if "postgres" in engine and "postgresql" not in exports:
        yield f"enabledCloudwatchLogsExports {exports} does not include postgresql"
    elif not exports:
        yield "enabledCloudwatchLogsExports is empty"


# --------------------------------------------------------------------------- ElastiCache

@RULES.resource(
    id="cache-encrypted-at-rest",
    description="ElastiCache replication groups encrypt data at rest.",
    severity=Severity.HIGH,
    resource_types=(CACHE_REPLICATION_GROUP,),
    references=References(checkov=("CKV_AWS_29",), aws=("ElastiCache.4",), well_architected=("REL09-BP02",)),
)
def cache_at_rest(resource: Resource, check: Check):
    _global_member(resource, check)
    yield from _flag(resource, "atRestEncryptionEnabled", "atRestEncryptionEnabled is not true")


@RULES.resource(
    id="cache-encrypted-in-transit",
    description="ElastiCache replication groups require TLS.",
    severity=Severity.HIGH,
    resource_types=(CACHE_REPLICATION_GROUP,),
    references=References(checkov=("CKV_AWS_30",), aws=("ElastiCache.5",)),
)
def cache_in_transit(resource: Resource, check: Check):
    _global_member(resource, check)
    if truthy(resource.require("transitEncryptionEnabled", False)) is not True:
        yield "transitEncryptionEnabled is not true"
    elif resource.require("transitEncryptionMode", "required") != "required":
        yield "transitEncryptionMode is preferred: clients may still connect in clear text"


@RULES.resource(
    id="cache-auth-enabled",
    description="ElastiCache replication groups authenticate clients (AUTH token or RBAC user groups).",
    severity=Severity.HIGH,
    resource_types=(CACHE_REPLICATION_GROUP,),
    references=References(checkov=("CKV_AWS_31",), aws=("ElastiCache.6",)),
)
def cache_auth(resource: Resource, check: Check):
    if not (resource.has("authToken") or resource.has("authTokenWo") or resource.has("userGroupIds")):
        yield "no authToken and no userGroupIds: any client in the security group can read sessions"


@RULES.resource(
    id="cache-failover-as-promised",
    description="ElastiCache replication groups fail over automatically across AZs when the phase promises it.",
    severity=Severity.HIGH,
    resource_types=(CACHE_REPLICATION_GROUP,),
    references=References(checkov=("CKV2_AWS_50",), aws=("ElastiCache.3",),
                          well_architected=("REL10-BP01", "REL11-BP02")),
)
def cache_failover(resource: Resource, check: Check):
    phase = check.context.phase
    if phase is None:
        check.not_applicable("phase unknown")
    if not phase.cache.automatic_failover:
        check.not_applicable(f"phase {phase.number} ({phase.name}) runs a single cache node")
    if truthy(resource.require("automaticFailoverEnabled", False)) is not True:
        yield f"automaticFailoverEnabled is not true, but phase {phase.number} ({phase.name}) promises failover"
    elif truthy(resource.require("multiAzEnabled", False)) is not True:
        yield "multiAzEnabled is not true: a replica may sit in the primary's AZ"


@RULES.resource(
    id="cache-snapshot-retention-prod",
    description="ElastiCache replication groups keep daily snapshots in prod.",
    severity=Severity.MEDIUM,
    resource_types=(CACHE_REPLICATION_GROUP,),
    references=References(aws=("ElastiCache.1",), well_architected=("REL09-BP03",)),
    settings=(Setting(name="minimumDays", schema={"type": "integer", "minimum": 1, "maximum": 35}, default=1,
                      description="Fewest days of snapshots kept in prod."),),
)
def cache_snapshots(resource: Resource, check: Check):
    _prod(check)
    _global_member(resource, check)  # a read-only copy: the primary group's snapshots hold the data
    days = resource.require("snapshotRetentionLimit", 0)
    if int(days) < int(check.config["minimumDays"]):
        yield f"snapshotRetentionLimit is {days}: fewer than {check.config['minimumDays']} day(s) of snapshots"


@RULES.resource(
    id="cache-auto-minor-version-upgrade",
    description="ElastiCache replication groups take minor engine upgrades automatically.",
    severity=Severity.MEDIUM,
    resource_types=(CACHE_REPLICATION_GROUP,),
    references=References(aws=("ElastiCache.2",)),
)
def cache_minor_upgrades(resource: Resource, check: Check):
    if truthy(resource.require("autoMinorVersionUpgrade", True)) is not True:
        yield "autoMinorVersionUpgrade is false"


# --------------------------------------------------------------------------- SQS

@RULES.resource(
    id="sqs-encrypted-at-rest",
    description="SQS queues encrypt messages at rest (SQS-managed keys or KMS).",
    severity=Severity.HIGH,
    resource_types=(SQS_QUEUE,),
    references=References(checkov=("CKV_AWS_27",), aws=("SQS.1",)),
)
def sqs_encrypted(resource: Resource, check: Check):
    if resource.has("kmsMasterKeyId"):
        return
    if truthy(resource.require("sqsManagedSseEnabled", False)) is not True:
        yield "neither sqsManagedSseEnabled nor kmsMasterKeyId is set"


# --------------------------------------------------------------------------- S3

@RULES.resource(
    id="s3-public-access-block-complete",
    description="S3 public access blocks turn on all four settings.",
    severity=Severity.CRITICAL,
    resource_types=(S3_PUBLIC_ACCESS_BLOCK,),
    references=References(checkov=("CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56"), aws=("S3.8",)),
)
def s3_public_access_block(resource: Resource, check: Check):
    off = [name for name in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
           if truthy(resource.require(name, False)) is not True]
    if off:
        yield f"{', '.join(off)} not true: the bucket can still be made public"


@RULES.resource(
    id="s3-versioning-enabled",
    description="S3 bucket versioning configurations keep versioning enabled (never suspended).",
    severity=Severity.MEDIUM,
    resource_types=(S3_VERSIONING,),
    references=References(checkov=("CKV_AWS_21",), aws=("S3.14",), well_architected=("REL09-BP01",)),
)
def s3_versioning(resource: Resource, check: Check):
    status = resource.require("versioningConfiguration.status")
    if status != "Enabled":
        yield f"versioning status is {status!r}: overwritten or deleted objects cannot be recovered"


@RULES.resource(
    id="s3-no-force-destroy-prod",
    description="S3 buckets in prod cannot be emptied by a destroy (forceDestroy off).",
    severity=Severity.HIGH,
    resource_types=(S3_BUCKET,),
    references=References(well_architected=("REL09-BP01",)),
)
def s3_force_destroy(resource: Resource, check: Check):
    _profile_requires(check, not check.context.profile.force_destroy_buckets, "keeping objects on destroy")
    if truthy(resource.require("forceDestroy", False)) is True:
        yield "forceDestroy is true: pulumi destroy deletes every object without asking"


# --------------------------------------------------------------------------- OpenSearch

@RULES.resource(
    id="opensearch-encrypted-at-rest",
    description="OpenSearch domains encrypt data at rest.",
    severity=Severity.HIGH,
    resource_types=(OPENSEARCH_DOMAIN,),
    references=References(checkov=("CKV_AWS_5",), aws=("Opensearch.1",)),
)
def opensearch_at_rest(resource: Resource, check: Check):
    yield from _flag(resource, "encryptAtRest.enabled", "encryptAtRest.enabled is not true")


@RULES.resource(
    id="opensearch-node-to-node-encryption",
    description="OpenSearch domains encrypt traffic between nodes.",
    severity=Severity.HIGH,
    resource_types=(OPENSEARCH_DOMAIN,),
    references=References(checkov=("CKV_AWS_6",), aws=("Opensearch.3",)),
)
def opensearch_node_to_node(resource: Resource, check: Check):
    yield from _flag(resource, "nodeToNodeEncryption.enabled", "nodeToNodeEncryption.enabled is not true")


@RULES.resource(
    id="opensearch-https-tls12",
    description="OpenSearch domains accept HTTPS only, with TLS 1.2 or later.",
    severity=Severity.HIGH,
    resource_types=(OPENSEARCH_DOMAIN,),
    references=References(checkov=("CKV_AWS_83", "CKV_AWS_228"), aws=("Opensearch.8",)),
)
def opensearch_https(resource: Resource, check: Check):
    if truthy(resource.require("domainEndpointOptions.enforceHttps", False)) is not True:
        yield "domainEndpointOptions.enforceHttps is not true"
    policy = resource.require("domainEndpointOptions.tlsSecurityPolicy")
    if policy not in TLS12_OPENSEARCH_POLICIES:
        yield f"tlsSecurityPolicy is {policy!r}; use one of {', '.join(TLS12_OPENSEARCH_POLICIES)}"


@RULES.resource(
    id="opensearch-in-vpc",
    description="OpenSearch domains live in the VPC, never on a public endpoint.",
    severity=Severity.CRITICAL,
    resource_types=(OPENSEARCH_DOMAIN,),
    references=References(checkov=("CKV_AWS_137",), aws=("Opensearch.2",)),
)
def opensearch_in_vpc(resource: Resource, check: Check):
    if not resource.has("vpcOptions.subnetIds"):
        yield "vpcOptions.subnetIds is empty: the domain gets a public endpoint"


@RULES.resource(
    id="opensearch-fine-grained-access",
    description="OpenSearch domains use fine-grained access control without anonymous access.",
    severity=Severity.HIGH,
    resource_types=(OPENSEARCH_DOMAIN,),
    references=References(checkov=("CKV2_AWS_52",), aws=("Opensearch.7",)),
)
def opensearch_fgac(resource: Resource, check: Check):
    if truthy(resource.require("advancedSecurityOptions.enabled", False)) is not True:
        yield "advancedSecurityOptions.enabled is not true"
    elif truthy(resource.require("advancedSecurityOptions.anonymousAuthEnabled", False)) is True:
        yield "advancedSecurityOptions.anonymousAuthEnabled is true"


@RULES.resource(
    id="opensearch-zone-awareness",
    description="OpenSearch domains spread at least three data nodes over three AZs.",
    severity=Severity.HIGH,
    resource_types=(OPENSEARCH_DOMAIN,),
    references=References(aws=("Opensearch.6",), well_architected=("REL10-BP01",)),
)
def opensearch_zones(resource: Resource, check: Check):
    if truthy(resource.require("clusterConfig.zoneAwarenessEnabled", False)) is not True:
        yield "clusterConfig.zoneAwarenessEnabled is not true"
    else:
        zones = resource.require("clusterConfig.zoneAwarenessConfig.availabilityZoneCount", 2)
        if int(zones) < 3:
            yield f"availabilityZoneCount is {zones}: an AZ outage can take half the shards"
    nodes = resource.require("clusterConfig.instanceCount", 1)
    if int(nodes) < 3:
        yield f"clusterConfig.instanceCount is {nodes}: fewer than three data nodes"


@RULES.resource(
    id="opensearch-dedicated-masters-prod",
    description="OpenSearch domains run three dedicated master nodes in prod.",
    severity=Severity.MEDIUM,
    resource_types=(OPENSEARCH_DOMAIN,),
    references=References(checkov=("CKV_AWS_318", "CKV2_AWS_59"), aws=("Opensearch.11",)),
)
def opensearch_masters(resource: Resource, check: Check):
    _prod(check)
    if truthy(resource.require("clusterConfig.dedicatedMasterEnabled", False)) is not True:
        yield "clusterConfig.dedicatedMasterEnabled is not true"
    else:
        count = resource.require("clusterConfig.dedicatedMasterCount", 3)
        if int(count) < 3:
            yield f"dedicatedMasterCount is {count}: a master election needs three"


@RULES.resource(
    id="opensearch-logs-published",
    description="OpenSearch domains publish their application (error) logs to CloudWatch Logs.",
    severity=Severity.MEDIUM,
    resource_types=(OPENSEARCH_DOMAIN,),
    references=References(checkov=("CKV_AWS_84",), aws=("Opensearch.4",), well_architected=("REL06-BP01",)),
    settings=(Setting(name="requiredLogTypes", schema={"type": "array", "items": {"type": "string"}},
                      default=["ES_APPLICATION_LOGS"], description="Log types that must be published."),),
)
def opensearch_logs(resource: Resource, check: Check):
    published = set()
    for option in elements(resource.require("logPublishingOptions")):
        enabled = lookup(option, "enabled")  # unset means enabled
        if enabled is None or truthy(enabled) is not False:
            published.add(lookup(option, "logType"))
    missing = [kind for kind in check.config["requiredLogTypes"] if kind not in published]
    if missing:
        yield f"logPublishingOptions does not publish {', '.join(missing)}"


# --------------------------------------------------------------------------- Secrets Manager, KMS

@RULES.resource(
    id="secret-cmk-encrypted",
    description="Secrets Manager secrets are encrypted with a customer managed KMS key.",
    severity=Severity.MEDIUM,
    resource_types=(SECRET,),
    references=References(checkov=("CKV_AWS_149",)),
)
def secret_cmk(resource: Resource, check: Check):
    key = resource.get("kmsKeyId")
    if key is None or key == "" or key == "alias/aws/secretsmanager":
        yield "kmsKeyId is not a customer managed key: key policy and rotation are out of the stack's control"


@RULES.resource(
    id="secret-recovery-window-prod",
    description="Secrets Manager secrets in prod keep a recovery window of at least 7 days.",
    severity=Severity.MEDIUM,
    resource_types=(SECRET,),
    references=References(),
)
def secret_recovery_window(resource: Resource, check: Check):
    _profile_requires(check, check.context.profile.protect_stateful, "secret recovery windows")
    days = resource.require("recoveryWindowInDays", 30)
    if int(days) < 7:
        yield f"recoveryWindowInDays is {days}: a deleted secret cannot be restored"


@RULES.resource(
    id="kms-key-rotation",
    description="Symmetric KMS keys rotate their key material yearly.",
    severity=Severity.MEDIUM,
    resource_types=(KMS_KEY,),
    references=References(checkov=("CKV_AWS_7",), aws=("KMS.4",)),
)
def kms_rotation(resource: Resource, check: Check):
    spec = resource.require("customerMasterKeySpec", "SYMMETRIC_DEFAULT")
    usage = resource.require("keyUsage", "ENCRYPT_DECRYPT")
    if spec != "SYMMETRIC_DEFAULT" or usage != "ENCRYPT_DECRYPT":
        check.not_applicable("only symmetric encryption keys support automatic rotation")
    yield from _flag(resource, "enableKeyRotation", "enableKeyRotation is not true")
