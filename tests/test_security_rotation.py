"""Secrets that rotate: the cache AUTH token with ElastiCache's ROTATE strategy on every group that
owns its token (global datastore members carry the primary's), and the database master password
through Secrets Manager (already in place, checked by rds-master-password-rotated-secret).
Asserted on the plans the other tests build."""

from __future__ import annotations

from tests.support import build

GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"


def test_every_cache_that_owns_its_token_rotates_it_keeping_the_old_one_valid():
    plan = build("prod", 4)
    owners = [group for group in plan.of_type(GROUP) if "globalReplicationGroupId" not in group.inputs]
    assert sorted(group.name for group in owners) == [
        "eu-west-1-cache-group", "us-east-1-cache-group", "us-west-2-cache-group"]
    for group in owners:
        assert group.inputs["authTokenUpdateStrategy"] == "ROTATE"
    members = [group for group in plan.of_type(GROUP) if "globalReplicationGroupId" in group.inputs]
    assert len(members) == 2 and all("authTokenUpdateStrategy" not in group.inputs for group in members)


def test_the_database_master_password_rotates_through_secrets_manager():
    plan = build("prod", 2)
    rotations = plan.of_type("aws:secretsmanager/secretRotation:SecretRotation")
    assert [rotation.name for rotation in rotations] == ["us-east-1-db-master"]
