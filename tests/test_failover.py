"""Region failover (`qnom:failoverRegion`) and backups: the failover promotes a secondary region's first
cross-region replica in place and points the region's writes at it, deleting and replacing no data store;
every writer keeps automated backups, and from phase 3 a copy of the RDS writer's lives in another region.

One full-platform variant: prod phase 3 failing over to us-west-2 (the program's wiring, region to app
configuration, is what is tested); every other plan here is one the suite builds.
"""

from __future__ import annotations

import pytest

from phases.settings import SettingsError
from qnom.awsrules.force_new import replacement_drift
from qnom.diff import diff_runs, refusals
from qnom.engine import UNKNOWN, RecordedResource
from tests.support import build, settings_for

INSTANCE = "aws:rds/instance:Instance"
BACKUP_COPY = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"


@pytest.fixture(scope="module")
def failover():
    return build("prod", 3).run, build("prod", 3, failoverRegion="us-west-2").run


def _named(run, name: str, resource_type: str | None = None) -> RecordedResource:
    return next(r for r in run.resources if r.name == name and (resource_type is None or r.type == resource_type))


def _sources(resource: RecordedResource, prop: str) -> list[str]:
    return [urn.rsplit("::", 1)[1] for urn in resource.dependencies.get(prop, [])]


def test_failover_deletes_and_replaces_no_data_store(failover):
    normal, failed_over = failover
    diff = diff_runs(normal, failed_over)
    assert (diff.added, diff.replaced, diff.deleted) == ([], [], [])
    assert refusals(normal, failed_over) == []
    # The promotion: the replica stops following the primary region, and nothing else about it changes.
    promoted = next(change for change in diff.changed if change.name == "us-west-2-db-replica-0")
    assert promoted.inputs == {"replicateSourceDb": {"old": UNKNOWN}}
    assert {change.name for change in diff.changed} == {
        "us-west-2-db-replica-0", "us-west-2-app-config-DB_WRITE_HOST",
        # Their values are the same replicas; what they are computed from no longer includes the old writer.
        "us-west-2-app-config-DB_READ_HOST_1", "us-west-2-app-config-DB_READ_HOST_2"}


def test_the_failover_region_writes_to_its_promoted_replica(failover):
    normal, failed_over = failover
    assert _sources(_named(normal, "us-west-2-app-config-DB_WRITE_HOST"), "insecureValue") == ["us-east-1-db-primary"]
    assert _sources(_named(failed_over, "us-west-2-app-config-DB_WRITE_HOST"), "insecureValue") == [
        "us-west-2-db-replica-0"]
    promoted = _named(failed_over, "us-west-2-db-replica-0", INSTANCE)
    assert "replicateSourceDb" not in promoted.inputs
    # A writer with point-in-time recovery: the replica kept its backups (prod: 7 days), key and subnet group.
    assert promoted.inputs["backupRetentionPeriod"] == 7
    assert _sources(promoted, "kmsKeyId") == ["us-west-2-db-key"]
    # The other replica of the region is left as it was: AWS cannot re-point a replica to another source.
    assert "replicateSourceDb" in _named(failed_over, "us-west-2-db-replica-1", INSTANCE).inputs


def test_returning_by_unsetting_the_failover_is_refused(failover):
    normal, failed_over = failover
    # Re-attaching a promoted instance as a replica is refused by the provider: the way back is manual.
    assert [str(hazard) for hazard in refusals(failed_over, normal)] == [
        "us-west-2-db-replica-0.replicateSourceDb: (absent) -> '[unknown]'"]


@pytest.mark.parametrize(("phase", "settings", "problem"), [
    (3, {"failoverRegion": "us-east-1"}, "qnom:failoverRegion: got 'us-east-1'; allowed values: a secondary region "
                                         "of phase 3 (us-west-2, eu-west-1), or unset"),
    (2, {"failoverRegion": "us-west-2"}, "a secondary region of phase 2 (none: the phase has one region)"),
    (4, {"failoverRegion": "eu-west-1", "databaseCutover": True}, "aws rds failover-global-cluster"),
])
def test_failover_needs_a_secondary_region_before_the_cutover(phase, settings, problem):
    with pytest.raises(SettingsError) as error:
        settings_for("prod", phase, **settings)
    assert problem in str(error.value)


def test_promoting_a_replica_is_an_in_place_update():
    def replica(inputs: dict) -> RecordedResource:
        options = {"ignoreChanges": [], "replaceOnChanges": []}
        return RecordedResource("urn:x", INSTANCE, "db", True, None, None, inputs, options)

    assert replacement_drift(replica({"replicateSourceDb": "arn:a"}), replica({})) == []
    assert replacement_drift(replica({"replicateSourceDb": "arn:a"}), replica({"replicateSourceDb": "arn:b"})) == [
        "db.replicateSourceDb: 'arn:a' -> 'arn:b'"]


@pytest.mark.parametrize(("environment", "days"), [("dev", 1), ("prod", 7)])
def test_the_writers_backups_are_copied_to_the_first_secondary_region(environment, days):
    for phase in (3, 4):
        plan = build(environment, phase).run
        copies = [r for r in plan.resources if r.type == BACKUP_COPY]
        assert [r.name for r in copies] == ["us-west-2-db-backup-copy"]
        copy = copies[0]
        assert plan.region_of(copy) == "us-west-2"
        assert copy.inputs["retentionPeriod"] == days
        assert _sources(copy, "sourceDbInstanceArn") == ["us-east-1-db-primary"]
        assert _sources(copy, "kmsKeyId") == ["us-west-2-db-key"]
        assert copy.options["protect"] is (environment == "prod")
    assert not [r for r in build(environment, 2).run.resources if r.type == BACKUP_COPY]


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_every_writer_keeps_automated_backups(environment):
    days = {"dev": 1, "prod": 7}[environment]
    for phase in (1, 2, 3, 4):
        plan = build(environment, phase).run
        assert _named(plan, "us-east-1-db-primary", INSTANCE).inputs["backupRetentionPeriod"] == days
        for group in (r for r in plan.resources if r.type == "aws:elasticache/replicationGroup:ReplicationGroup"
                      and "globalReplicationGroupId" not in r.inputs):
            assert group.inputs["snapshotRetentionLimit"] == days
    cut_over = build("prod", 4, databaseCutover=True).run
    assert _named(cut_over, "us-east-1-db-aurora", "aws:rds/cluster:Cluster").inputs["backupRetentionPeriod"] == 7
