"""Replacement-forcing inputs between two runs of the program (a promotion, a cut-over).

A registration AWS accepts can still be a disaster as an update: when an input that the provider
marks ForceNew changes, Pulumi replaces the resource, and for a data store that is a new, empty
one. `REPLACEMENT_INPUTS` lists those inputs per type; `promotion_hazards(before, after)` compares
two `ProgramRun`s and returns every stateful (or replacement-checked) resource that the step would
replace or delete, and why.

A replacement-forcing input that is "[unknown]" in a preview (a computed id or ARN) compares
equal only as a marker, so for those the resources it comes from must be the same too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from policy.resource_types import STATEFUL
from qnom.engine import UNKNOWN, ProgramRun, RecordedResource

# Inputs whose change makes the provider build a new resource, per type: the ForceNew arguments of
# the Terraform AWS provider's schemas, which pulumi-aws bridges (its docs say "forces a new
# resource"), in hashicorp/terraform-provider-aws internal/service/<service>/<resource>.go
# (rds/instance.go, rds/cluster.go, rds/cluster_instance.go, rds/global_cluster.go,
# rds/subnet_group.go, rds/parameter_group.go, rds/cluster_parameter_group.go,
# elasticache/replication_group.go, elasticache/global_replication_group.go,
# elasticache/subnet_group.go, elasticache/parameter_group.go, s3/bucket.go, sqs/queue.go,
# opensearch/domain.go, kms/key.go, secretsmanager/secret.go, ec2/vpc_security_group.go).
# A few are listed conservatively where AWS refuses the change or it would break replication
# (replicateSourceDb, port, description). Every pulumi-aws v7 resource also takes `region`, which
# forces replacement. Nested inputs are written as dotted paths.
REPLACEMENT_INPUTS: dict[str, tuple[str, ...]] = {
    "aws:rds/instance:Instance": (
        "engine", "storageEncrypted", "kmsKeyId", "username", "dbName", "availabilityZone", "dbSubnetGroupName",
        "identifier", "identifierPrefix", "characterSetName", "ncharCharacterSetName", "timezone",
        "snapshotIdentifier", "customIamInstanceProfile", "replicateSourceDb", "port"),
    "aws:rds/cluster:Cluster": (
        "engine", "engineMode", "storageEncrypted", "kmsKeyId", "masterUsername", "databaseName",
        "dbSubnetGroupName", "availabilityZones", "clusterIdentifier", "clusterIdentifierPrefix",
        "clusterScalabilityType", "dbSystemId", "snapshotIdentifier", "sourceRegion", "port"),
    # Every argument: the resource has no update (rds/instance_automated_backups_replication.go).
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": (
        "sourceDbInstanceArn", "kmsKeyId", "retentionPeriod", "preSignedUrl"),
    "aws:rds/clusterInstance:ClusterInstance": (
        "engine", "clusterIdentifier", "identifier", "identifierPrefix", "availabilityZone", "dbSubnetGroupName",
        "customIamInstanceProfile"),
    "aws:elasticache/replicationGroup:ReplicationGroup": (
        "replicationGroupId", "engine", "clusterMode", "port", "subnetGroupName", "atRestEncryptionEnabled",
        "kmsKeyId", "transitEncryptionEnabled", "dataTieringEnabled", "networkType", "globalReplicationGroupId",
        "snapshotArns", "snapshotName", "securityGroupNames"),
    "aws:s3/bucket:Bucket": ("bucket", "bucketPrefix", "objectLockEnabled", "bucketNamespace"),
    "aws:sqs/queue:Queue": ("name", "namePrefix", "fifoQueue"),
    "aws:opensearch/domain:Domain": (
        "domainName", "encryptAtRest.enabled", "encryptAtRest.kmsKeyId", "nodeToNodeEncryption.enabled",
        "advancedSecurityOptions.enabled"),
    "aws:kms/key:Key": ("customerMasterKeySpec", "keyUsage", "multiRegion", "customKeyStoreId", "xksKeyId"),
    "aws:secretsmanager/secret:Secret": ("name", "namePrefix"),
    "aws:rds/subnetGroup:SubnetGroup": ("name", "namePrefix"),
    "aws:rds/parameterGroup:ParameterGroup": ("name", "namePrefix", "family", "description"),
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": ("name", "namePrefix", "family", "description"),
    "aws:elasticache/subnetGroup:SubnetGroup": ("name",),
    "aws:elasticache/parameterGroup:ParameterGroup": ("name", "family", "description"),
    "aws:ec2/securityGroup:SecurityGroup": ("name", "namePrefix", "vpcId", "description"),
    "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup": (
        "globalReplicationGroupIdSuffix", "primaryReplicationGroupId"),
    "aws:rds/globalCluster:GlobalCluster": (
        "globalClusterIdentifier", "sourceDbClusterIdentifier", "engine", "databaseName", "storageEncrypted"),
    # Every argument of random_password requires replacement: a new value would reset a live
    # database's master password (terraform-provider-random, password resource schema).
    "random:index/randomPassword:RandomPassword": (
        "length", "special", "upper", "lower", "numeric", "minUpper", "minLower", "minNumeric", "minSpecial",
        "overrideSpecial", "keepers"),
    # A new version would put the first master password back as current after a rotation.
    "aws:secretsmanager/secretVersion:SecretVersion": ("secretId", "secretString", "secretBinary"),
    "aws:serverlessrepository/cloudFormationStack:CloudFormationStack": ("name",),
    # A new EKS cluster is a new control plane: every workload, secret and access entry starts over
    # (terraform-provider-aws internal/service/eks/cluster.go: name, bootstrap_self_managed_addons and
    # access_config.bootstrap_cluster_creator_admin_permissions are ForceNew).
    "aws:eks/cluster:Cluster": ("name", "bootstrapSelfManagedAddons", "accessConfig.bootstrapClusterCreatorAdminPermissions"),
}
ALL_TYPES_FORCE = ("region",)
# Inputs whose removal the provider applies in place: an RDS read replica whose `replicate_source_db`
# is removed is promoted to a standalone instance (PromoteReadReplica); any other change of it fails
# ("cannot elect new source database for replication": rds/instance.go, resourceInstanceUpdate).
PROMOTED_BY_REMOVAL = {"aws:rds/instance:Instance": ("replicateSourceDb",)}

MISSING = object()


@dataclass(frozen=True)
class Hazard:
    """One resource a step would delete, move or replace."""

    urn: str
    name: str
    type: str
    reason: str
    """`disappears`, `moves`, or `replaced`."""
    input: str | None = None
    """The replacement-forcing input (dotted path) for `replaced`."""
    detail: str = ""
    """Old and new value of that input."""

    def __str__(self) -> str:
        if self.reason == "disappears":
            return f"{self.name} ({self.type}) disappears"
        if self.reason == "moves":
            return f"{self.name}: parent or provider changes"
        return f"{self.name}.{self.input}: {self.detail}"


def lookup(inputs: dict[str, Any], path: str) -> Any:
    """The value at a dotted `path` of `inputs`, or MISSING."""
    value: Any = inputs
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


def _has_unknown(value: Any) -> bool:
    if value == UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(_has_unknown(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_unknown(item) for item in value)
    return False


def _show(value: Any) -> str:
    return "(absent)" if value is MISSING else repr(value)


def replacements(before: RecordedResource, after: RecordedResource) -> list[Hazard]:
    """Replacement-forcing inputs of one resource that differ between two registrations.

    An input the newer registration lists in `ignoreChanges` keeps its old value in Pulumi's
    diff, so it cannot force a replacement and is skipped.
    """
    hazards = []
    for path in REPLACEMENT_INPUTS.get(after.type, ()) + ALL_TYPES_FORCE:
        top = path.split(".")[0]
        if top in after.options["ignoreChanges"]:
            continue
        old, new = lookup(before.inputs, path), lookup(after.inputs, path)
        if new is MISSING and path in PROMOTED_BY_REMOVAL.get(after.type, ()):
            continue
        if old != new:
            detail = f"{_show(old)} -> {_show(new)}"
        elif _has_unknown(old) and before.dependencies.get(top, []) != after.dependencies.get(top, []):
            detail = (f"[unknown] from {before.dependencies.get(top, [])} "
                      f"-> [unknown] from {after.dependencies.get(top, [])}")
        else:
            continue
        hazards.append(Hazard(after.urn, after.name, after.type, "replaced", path, detail))
    return hazards


def replacement_drift(before: RecordedResource, after: RecordedResource) -> list[str]:
    """`replacements` as readable lines: `db.engine: 'postgres' -> 'aurora-postgresql'`."""
    return [str(hazard) for hazard in replacements(before, after)]


def promotion_hazards(before: ProgramRun, after: ProgramRun) -> list[Hazard]:
    """Every stateful or replacement-checked resource of `before` that `after` would replace or
    delete, or move to another parent or provider (which replaces it as well)."""
    after_by_urn = after.by_urn
    hazards = []
    for old in before.resources:
        if old.type not in STATEFUL and old.type not in REPLACEMENT_INPUTS:
            continue
        new = after_by_urn.get(old.urn)
        if new is None:
            if old.type in STATEFUL:
                hazards.append(Hazard(old.urn, old.name, old.type, "disappears"))
            continue
        if (new.parent, new.provider) != (old.parent, old.provider):
            hazards.append(Hazard(old.urn, old.name, old.type, "moves"))
        hazards += replacements(old, new)
    return hazards
