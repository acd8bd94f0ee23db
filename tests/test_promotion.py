"""Promotion safety: moving a prod stack from phase N to N+1 (and through the Aurora cut-over)
keeps every stateful resource, its URN and every input whose change would replace it. The one
step that removes anything, retiring the secondary regions' phase-3 caches, removes exactly them.

The per-type table of replacement-forcing inputs and the comparison live in the engine
(`qnom.awsrules.force_new`), where a promotion command reuses them.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from policy.resource_types import STATEFUL
from qnom.awsrules.force_new import promotion_hazards, replacement_drift
from qnom.engine import UNKNOWN, RecordedResource
from tests.support import build


def promotion_problems(before_plan, after_plan) -> list[str]:
    """Everything a promotion would replace or delete among stateful and replacement-checked resources."""
    return [str(hazard) for hazard in promotion_hazards(before_plan.run, after_plan.run)]


def structural_changes(before_plan, after_plan) -> list[str]:
    """Resources of any type that a step deletes or moves to another parent or provider."""
    after_by_urn = after_plan.run.by_urn
    changes = []
    for old in before_plan.resources:
        new = after_by_urn.get(old.urn)
        if new is None:
            changes.append(f"{old.name} ({old.type}) disappears")
        elif (new.parent, new.provider) != (old.parent, old.provider):
            changes.append(f"{old.name} ({old.type}) moves")
    return changes


@pytest.mark.parametrize(("before", "after"), [(1, 2), (2, 3), (3, 4)])
def test_prod_promotion_keeps_every_data_store(before, after):
    assert promotion_problems(build("prod", before), build("prod", after)) == []


@pytest.mark.parametrize(("before", "after"), [(1, 2), (2, 3), (3, 4)])
def test_prod_promotion_keeps_stateful_urns(before, after):
    old_plan, new_plan = build("prod", before), build("prod", after)
    old = {r.urn for r in old_plan.resources if r.type in STATEFUL}
    new = {r.urn for r in new_plan.resources if r.type in STATEFUL}
    assert len(old) >= 8  # phase 1: three keys, the RDS primary, the cache and its secret, two buckets
    assert old <= new


def test_promotions_only_add_stateful_resources():
    added = {}
    for before, after in [(1, 2), (2, 3), (3, 4)]:
        old = {r.name for r in build("prod", before).resources if r.type in STATEFUL}
        new = {r.name for r in build("prod", after).resources if r.type in STATEFUL}
        added[after] = sorted(new - old)
    assert added[2] == ["edge-logs-key", "us-east-1-db-replica-0", "us-east-1-queue-dlq", "us-east-1-queue-main"]
    assert added[3] == [
        # The secondary regions: API tiers (access-log buckets, session secrets and their keys),
        # cross-region database replicas with their keys, and caches of their own. Every region: the
        # Kubernetes secrets key of its EKS cluster, its alert key and its log key.
        "eu-west-1-api-alb-logs", "eu-west-1-api-secrets-key", "eu-west-1-api-session-secret", "eu-west-1-cache-auth-token",
        "eu-west-1-cache-group", "eu-west-1-cache-key", "eu-west-1-db-key", "eu-west-1-db-replica-0",
        "eu-west-1-db-replica-1", "eu-west-1-k8s-secrets-key", "eu-west-1-logs-key", "eu-west-1-monitoring-alerts-key",
        "us-east-1-db-replica-1", "us-east-1-k8s-secrets-key", "us-east-1-search-domain", "us-east-1-search-key",
        "us-east-1-search-master",
        "us-west-2-api-alb-logs", "us-west-2-api-secrets-key", "us-west-2-api-session-secret",
        "us-west-2-cache-auth-token",
        "us-west-2-cache-group", "us-west-2-cache-key",
        # The cross-Region copy of the writer's automated backups, in the first secondary region.
        "us-west-2-db-backup-copy", "us-west-2-db-key", "us-west-2-db-replica-0",
        "us-west-2-db-replica-1", "us-west-2-k8s-secrets-key", "us-west-2-logs-key",
        "us-west-2-monitoring-alerts-key"]
    assert added[4] == [
        # The global cache datastore and its members beside the phase-3 caches, and the Aurora replica.
        "eu-west-1-cache-global-auth-token", "eu-west-1-cache-global-group", "eu-west-1-cache-global-key",
        "platform-cache-global", "us-east-1-db-aurora", "us-east-1-db-aurora-0",
        "us-west-2-cache-global-auth-token", "us-west-2-cache-global-group", "us-west-2-cache-global-key"]


@pytest.mark.parametrize(("before", "after"), [
    ((2, {}), (3, {})), ((3, {}), (4, {})), ((4, {}), (4, {"databaseCutover": True})),
])
def test_prod_promotion_deletes_and_moves_nothing(before, after):
    assert structural_changes(build("prod", before[0], **before[1]), build("prod", after[0], **after[1])) == []


def test_retiring_the_regional_caches_removes_exactly_them():
    # The last of the phase-4 steps the policy matrix walks: after the cut-over, the retirement.
    before, after = build("prod", 4, databaseCutover=True), build("prod", 4, databaseCutover=True, retireRegionalCaches=True)
    retired = [r for r in before.resources if r.name.split("-cache")[0] in ("us-west-2", "eu-west-1")
               and "-cache" in r.name and "-cache-global" not in r.name]
    # Per region: component, key, group, auth token (password, secret, version), security group
    # and its rules (the API's, the Kubernetes cluster's), subnet group, parameter group, log group,
    # final-snapshot suffix.
    assert len(retired) == 26
    assert sorted(structural_changes(before, after)) == sorted(f"{r.name} ({r.type}) disappears" for r in retired)
    assert sorted(promotion_problems(before, after)) == sorted(
        f"{region}-cache-{suffix} ({kind}) disappears"
        for region in ("us-west-2", "eu-west-1")
        for suffix, kind in (("key", "aws:kms/key:Key"), ("auth-token", "aws:secretsmanager/secret:Secret"),
                             ("group", "aws:elasticache/replicationGroup:ReplicationGroup")))
    # Nothing is added, and every remaining resource is registered exactly as before.
    assert {r.urn for r in after.resources} < {r.urn for r in before.resources}
    assert all(r == before.run.by_urn[r.urn] for r in after.resources)


def test_cutover_keeps_every_data_store_and_only_adds_serverless_readers():
    replicating, cut_over = build("prod", 4), build("prod", 4, databaseCutover=True)
    assert promotion_problems(replicating, cut_over) == []
    old = {r.name for r in replicating.resources if r.type in STATEFUL}
    new = {r.name for r in cut_over.resources if r.type in STATEFUL}
    assert sorted(new - old) == [
        # The Aurora global database and its secondary clusters, each with two Serverless v2 readers,
        # and the promoted cluster's own master secret.
        "eu-west-1-db-aurora", "eu-west-1-db-aurora-0", "eu-west-1-db-aurora-1", "platform-db-global",
        "us-east-1-db-aurora-1", "us-east-1-db-aurora-2", "us-east-1-db-aurora-master",
        "us-west-2-db-aurora", "us-west-2-db-aurora-0", "us-west-2-db-aurora-1"]


@pytest.mark.parametrize("phase", [1, 2, 3, 4])
def test_stateful_resources_are_protected_in_prod(phase):
    stateful = [r for r in build("prod", phase).resources if r.type in STATEFUL]
    assert stateful
    assert [r.name for r in stateful if not r.options["protect"]] == []


@pytest.mark.parametrize("phase", [1, 2, 3, 4])
def test_no_secret_appears_in_clear_text(phase):
    # authTokenUpdateStrategy names how a token changes (ROTATE), not a token.
    secret_inputs = re.compile(r"password|authtoken(?!updatestrategy)|secretstring|secretbinary", re.IGNORECASE)
    leaks = []

    def visit(name: str, value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if secret_inputs.search(key) and not isinstance(item, bool) and item not in ("[secret]", UNKNOWN):
                    leaks.append(f"{name}.{path}{key}")
                visit(name, item, f"{path}{key}.")
        elif isinstance(value, list):
            for item in value:
                visit(name, item, path)

    for resource in build("prod", phase, databaseCutover=phase == 4).resources:
        visit(resource.name, resource.inputs, "")
    assert leaks == []


def test_every_data_store_is_encrypted():
    plan = build("prod", 4)
    for resource in plan.of_type("aws:rds/instance:Instance"):
        # Same-region replicas inherit the primary's encryption and key.
        assert resource.inputs.get("storageEncrypted") is True or "replicateSourceDb" in resource.inputs
    assert all(r.inputs["storageEncrypted"] for r in plan.of_type("aws:rds/cluster:Cluster"))
    for group in plan.of_type("aws:elasticache/replicationGroup:ReplicationGroup"):
        if "globalReplicationGroupId" in group.inputs:
            # A member inherits both encryptions from the datastore's (encrypted) primary and
            # encrypts at rest with a key of its own region.
            assert "atRestEncryptionEnabled" not in group.inputs and "transitEncryptionEnabled" not in group.inputs
            assert [urn.rsplit("::", 1)[1] for urn in group.dependencies["kmsKeyId"]] == [
                group.name.replace("-group", "-key")]
        else:
            assert group.inputs["atRestEncryptionEnabled"] and group.inputs["transitEncryptionEnabled"]
    primary = plan.named("us-east-1-cache-group")
    assert all(primary.urn in g.dependencies["primaryReplicationGroupId"]
               for g in plan.of_type("aws:elasticache/globalReplicationGroup:GlobalReplicationGroup"))
    assert all(q.inputs["sqsManagedSseEnabled"] for q in plan.of_type("aws:sqs/queue:Queue"))
    encrypted = {urn.rsplit("::", 1)[1] for r in plan.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
        for urn in r.dependencies["bucket"]}
    assert encrypted == {r.name for r in plan.of_type("aws:s3/bucket:Bucket")}
    assert all(d.inputs["encryptAtRest"]["enabled"] for d in plan.of_type("aws:opensearch/domain:Domain"))
    assert all(k.inputs["enableKeyRotation"] for k in plan.of_type("aws:kms/key:Key"))


def _record(inputs: dict, dependencies: dict | None = None, ignore: list[str] | None = None,
            resource_type: str = "aws:rds/instance:Instance") -> RecordedResource:
    options = {"protect": True, "retainOnDelete": False, "deleteBeforeReplace": False,
               "ignoreChanges": ignore or [], "replaceOnChanges": [], "dependsOn": [], "aliases": []}
    return RecordedResource(urn="urn:x", type=resource_type, name="db", custom=True, parent=None, provider=None,
                            inputs=inputs, options=options, dependencies=dependencies or {})


@pytest.mark.parametrize(("before", "after", "expected"), [
    (_record({"engine": "postgres"}), _record({"engine": "aurora-postgresql"}),
     ["db.engine: 'postgres' -> 'aurora-postgresql'"]),
    (_record({"kmsKeyId": UNKNOWN}, {"kmsKeyId": ["urn:key-a"]}),
     _record({"kmsKeyId": UNKNOWN}, {"kmsKeyId": ["urn:key-b"]}),
     ["db.kmsKeyId: [unknown] from ['urn:key-a'] -> [unknown] from ['urn:key-b']"]),
    (_record({"kmsKeyId": UNKNOWN}, {"kmsKeyId": ["urn:key-a"]}),
     _record({"kmsKeyId": UNKNOWN}, {"kmsKeyId": ["urn:key-a"]}), []),
    (_record({"availabilityZone": "us-east-1a"}), _record({}), ["db.availabilityZone: 'us-east-1a' -> (absent)"]),
    (_record({"availabilityZone": "us-east-1a"}), _record({}, ignore=["availabilityZone"]), []),
    (_record({"instanceClass": "db.t3.medium"}), _record({"instanceClass": "db.r5.large"}), []),
    (_record({"encryptAtRest": {"enabled": True, "kmsKeyId": "k1"}}, resource_type="aws:opensearch/domain:Domain"),
     _record({"encryptAtRest": {"enabled": True, "kmsKeyId": "k2"}}, resource_type="aws:opensearch/domain:Domain"),
     ["db.encryptAtRest.kmsKeyId: 'k1' -> 'k2'"]),
])
def test_replacement_drift_finds_what_would_replace(before, after, expected):
    assert replacement_drift(before, after) == expected
