"""RDS and Aurora: read replicas of instances whose master password RDS manages, Aurora global
databases, minor versions that AWS upgrades behind the stack, zones on Multi-AZ instances, and
cross-Region copies of automated backups."""

from __future__ import annotations

from collections.abc import Iterator

from policy.resource_types import (
    KMS_KEY, RDS_BACKUP_REPLICATION, RDS_CLUSTER, RDS_CLUSTER_INSTANCE, RDS_GLOBAL_CLUSTER, RDS_INSTANCE)
from qnom.awsrules import Request, known, rule
from qnom.engine import RecordedResource

# Engines whose major version has two parts ("8.0"); PostgreSQL's has one ("16") since version 10.
_TWO_PART_MAJOR = ("mysql", "mariadb", "aurora-mysql")


def _managed_password_source(request: Request, record: RecordedResource, prop: str) -> RecordedResource | None:
    """The instance or cluster at the head of `record`'s replication chain that manages its master
    password in Secrets Manager, if any. A replica shares its source's credentials (physical
    replication), so a cascaded replica is refused for its chain's head too."""
    seen = set()
    source = next(iter(request.sources(prop, record)), None)
    while source is not None and source.urn not in seen:
        seen.add(source.urn)
        if source.inputs.get("manageMasterUserPassword") is True:
            return source
        upstream = "replicateSourceDb" if source.type == RDS_INSTANCE else "replicationSourceIdentifier"
        source = next(iter(request.sources(upstream, source)), None)
    return None


@rule("rds-replica-managed-password", (RDS_INSTANCE, RDS_CLUSTER),
      error="InvalidParameterValue: Creating read replicas for source instance with engine {engine} where "
            "ManageMasterUserPassword is enabled is not supported",
      # AWS RDS User Guide, "Password management with Amazon RDS and AWS Secrets Manager", Limitations:
      # "Creating a read replica when the source DB or DB cluster manages credentials with Secrets
      # Manager" is not supported (all engines but SQL Server); the error text as AWS answers
      # CreateDBInstanceReadReplica (terraform-aws-modules/terraform-aws-rds#512, #532).
      source="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-secrets-manager.html"
             "#rds-secrets-manager-limitations")
def _replica_of_managed_password(request: Request) -> Iterator[str]:
    prop = "replicateSourceDb" if request.record.type == RDS_INSTANCE else "replicationSourceIdentifier"
    if prop not in request.inputs:
        return
    source = _managed_password_source(request, request.record, prop)
    if source is not None:
        yield (f"InvalidParameterValue: Creating read replicas for source instance with engine "
               f"{source.inputs.get('engine', 'postgres')} where ManageMasterUserPassword is enabled is not "
               f"supported (source {source.name} sets manageMasterUserPassword)")


@rule("rds-read-replica-cluster-password", RDS_CLUSTER,
      error="InvalidParameterValue: ManageMasterUserPassword isn't supported for read replica",
      # CreateDBCluster with ReplicationSourceIdentifier takes the master user from its source;
      # the error as AWS answers it: hashicorp/terraform-provider-aws#40188.
      source="https://github.com/hashicorp/terraform-provider-aws/issues/40188")
def _replica_cluster_managing_password(request: Request) -> Iterator[str]:
    if "replicationSourceIdentifier" in request.inputs and "manageMasterUserPassword" in request.inputs:
        yield "InvalidParameterValue: ManageMasterUserPassword isn't supported for read replica"


@rule("rds-global-cluster-managed-password", (RDS_GLOBAL_CLUSTER, RDS_CLUSTER),
      error="Managing master user passwords with Secrets Manager isn't supported for DB clusters that are part "
            "of an Aurora global database",
      # AWS Aurora User Guide, "Password management with Amazon Aurora and AWS Secrets Manager",
      # "Limitations for Secrets Manager integration with Amazon Aurora" (the doc's text: no API
      # error text is documented).
      source="https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/rds-secrets-manager.html"
             "#rds-secrets-manager-limitations")
def _global_database_managed_password(request: Request) -> Iterator[str]:
    message = ("InvalidParameterCombination: Managing master user passwords with Secrets Manager isn't supported "
               "for DB clusters that are part of an Aurora global database")
    if request.record.type == RDS_GLOBAL_CLUSTER:
        for source in request.sources("sourceDbClusterIdentifier"):
            if source.inputs.get("manageMasterUserPassword") is True:
                yield f"{message} (source cluster {source.name} sets manageMasterUserPassword)"
    elif "globalClusterIdentifier" in request.inputs and request.inputs.get("manageMasterUserPassword") is True:
        yield f"{message} (the cluster joins a global database and sets manageMasterUserPassword)"


def pins_minor_version(engine: str, version: object) -> bool:
    """Whether `version` names a minor version ("16.8") rather than only a major one ("16")."""
    if not isinstance(version, str) or not known(version):
        return False
    return version.count(".") >= (2 if engine in _TWO_PART_MAJOR else 1)


def _upgraded_pin(engine: str, record: RecordedResource) -> str | None:
    version = record.inputs.get("engineVersion")
    if pins_minor_version(engine, version) and "engineVersion" not in record.options.get("ignoreChanges", []):
        return version
    return None


@rule("rds-minor-version-pinned", (RDS_INSTANCE, RDS_CLUSTER, RDS_CLUSTER_INSTANCE),
      error="InvalidParameterCombination: Cannot upgrade {engine} from {upgraded} to {pinned}",
      # With automatic minor upgrades AWS moves the engine to a newer minor version in a maintenance
      # window; the provider then stores the version AWS reports (`compareActualEngineVersion` in
      # internal/service/rds/engine_version.go keeps the configured value only when it is a prefix
      # of the actual one: "16" for "16.9", not "16.8"), so the next update asks AWS to go back to
      # the pinned version and ModifyDBInstance/ModifyDBCluster refuse it (e.g. "Cannot upgrade
      # aurora-postgresql from 16.8 to 16.6", anomalyco/sst#6156; terraform-aws-modules/
      # terraform-aws-rds-aurora#228). AutoMinorVersionUpgrade defaults to true.
      source="hashicorp/terraform-provider-aws internal/service/rds/engine_version.go")
def _pinned_minor_with_auto_upgrade(request: Request) -> Iterator[str]:
    record = request.record
    if record.inputs.get("autoMinorVersionUpgrade", True) is not True:
        return
    if record.type == RDS_CLUSTER_INSTANCE:
        # An Aurora cluster's version is the cluster's; its instances decide the automatic upgrade.
        cluster = request.source("clusterIdentifier", RDS_CLUSTER)
        if cluster is None:
            return
        engine, target = cluster.inputs.get("engine", ""), cluster
    elif record.type == RDS_CLUSTER and "autoMinorVersionUpgrade" not in record.inputs:
        return  # an Aurora cluster: checked with its instances
    else:
        engine, target = record.inputs.get("engine", ""), record
    pinned = _upgraded_pin(engine, target)
    if pinned is not None:
        yield (f"InvalidParameterCombination: Cannot upgrade {engine} from {pinned.split('.')[0]}.x to {pinned}: "
               f"{target.name} pins engineVersion {pinned!r} while AWS applies minor upgrades "
               f"(autoMinorVersionUpgrade), and engineVersion is not in ignoreChanges, so the next update "
               f"would ask AWS to downgrade it")


@rule("rds-aurora-replica-version", RDS_CLUSTER,
      error="InvalidParameterCombination: an Aurora read replica must run its source's engine version or later",
      # AWS Aurora User Guide, "Migrating data from an RDS for PostgreSQL DB instance to an Aurora
      # PostgreSQL DB cluster by using an Aurora read replica": the replica is created at a version
      # the source can replicate to (the source's minor version or a later one); ModifyDBCluster's
      # EngineVersion: "all replicas must be running an engine version that's the same or later".
      # The source upgrades its minor version on its own, so only its actual version at deploy time
      # is safe: a literal here is wrong as soon as AWS upgrades the source past it.
      source="https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/"
             "AuroraPostgreSQL.Migrating.html#AuroraPostgreSQL.Migrating.RDSPostgreSQL.Replica")
def _replica_version_from_source(request: Request) -> Iterator[str]:
    if "replicationSourceIdentifier" not in request.inputs:
        return
    version = request.inputs.get("engineVersion")
    sources = set(request.record.dependencies.get("replicationSourceIdentifier", []))
    from_source = sources & set(request.record.dependencies.get("engineVersion", []))
    if known(version) and not from_source:
        yield (f"InvalidParameterCombination: the Aurora read replica's engine version {version!r} is a fixed "
               f"literal; AWS requires the source's engine version or later, and the source takes minor "
               f"upgrades on its own: take engineVersion from the source's actual version")


@rule("rds-multi-az-availability-zone", RDS_INSTANCE,
      error="InvalidParameterCombination: Requesting a specific availability zone is not valid for Multi-AZ "
            "instances.",
      # AWS RDS API Reference, CreateDBInstance, AvailabilityZone: "You can't specify the
      # AvailabilityZone parameter if the DB instance is a Multi-AZ deployment."
      source="https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html")
def _zone_on_multi_az(request: Request) -> Iterator[str]:
    zone = request.inputs.get("availabilityZone")
    if request.inputs.get("multiAz") is True and known(zone):
        yield ("InvalidParameterCombination: Requesting a specific availability zone is not valid for Multi-AZ "
               f"instances. (availabilityZone {zone!r})")


@rule("rds-backup-replication-destination", RDS_BACKUP_REPLICATION,
      error="InvalidParameterValue: automated backups replicate to a destination Region other than the source's, "
            "an encrypted source needs a KmsKeyId of that destination Region, and the source needs backups",
      # RDS API reference, StartDBInstanceAutomatedBackupsReplication: the call is made in the destination
      # Region, and KmsKeyId is "the ARN for the KMS encryption key in the destination AWS Region"; RDS User
      # Guide, "Replicating automated backups to another AWS Region" (a destination "of your choice",
      # copying the source's snapshots and transaction logs, which exist only with a retention period).
      # No API error text is documented: the documented constraints.
      source="https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_StartDBInstanceAutomatedBackupsReplication.html")
def _backup_replication_destination(request: Request) -> Iterator[str]:
    destination = request.region
    for source in request.sources("sourceDbInstanceArn"):
        if request.region_of(source) == destination:
            yield (f"InvalidParameterValue: the source {source.name} is in {destination}: automated backups "
                   f"replicate to another Region")
        if not (source.inputs.get("backupRetentionPeriod") or 0) >= 1:
            yield f"InvalidParameterValue: the source {source.name} keeps no automated backups (backupRetentionPeriod)"
        if source.inputs.get("storageEncrypted") is True:
            keys = [key for key in request.sources("kmsKeyId") if key.type == KMS_KEY]
            if "kmsKeyId" not in request.inputs:
                yield f"InvalidParameterCombination: the source {source.name} is encrypted: a KmsKeyId is required"
            for key in keys:
                if request.region_of(key) != destination:
                    yield (f"InvalidParameterValue: KmsKeyId {key.name} is a key of {request.region_of(key)}, not of "
                           f"the destination Region {destination}")
