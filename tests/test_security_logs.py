"""Logs kept and complete: a year of logs in prod (two weeks in dev), PostgreSQL logging slow
statements and connections on RDS and Aurora, read replicas exporting their logs, versioned load
balancer log buckets, and the static bucket's S3 server access logs. Asserted on the plans the
other tests build."""

from __future__ import annotations

import pytest

from components import policy_documents as documents
from phases.environment import PROFILES
from tests.support import build

ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
LOGGED = [{"name": "log_min_duration_statement", "value": "1000", "applyMethod": "immediate"},
          {"name": "log_connections", "value": "1", "applyMethod": "immediate"}]


def names(urns: list[str]) -> list[str]:
    return [urn.rsplit("::", 1)[1] for urn in urns]


@pytest.mark.parametrize("environment, days", [("prod", 365), ("staging", 30), ("dev", 14)])
def test_log_retention_per_environment_is_at_least_a_year_in_prod(environment, days):
    assert PROFILES[environment].log_retention_days == days


def test_every_log_group_keeps_the_profiles_retention():
    for environment, days in (("prod", 365), ("dev", 14)):
        groups = build(environment, 3).of_type("aws:cloudwatch/logGroup:LogGroup")
        assert groups and {group.inputs["retentionInDays"] for group in groups} == {days}


def test_rds_and_aurora_parameter_groups_log_slow_statements_and_connections():
    plan = build("prod", 4)
    for group in plan.of_type("aws:rds/parameterGroup:ParameterGroup"):
        assert group.inputs["parameters"][-2:] == LOGGED, group.name
    [aurora] = plan.of_type("aws:rds/clusterParameterGroup:ClusterParameterGroup")
    assert aurora.inputs["parameters"][-2:] == LOGGED


def test_read_replicas_export_their_logs_in_every_region():
    plan = build("prod", 3)
    replicas = [item for item in plan.of_type("aws:rds/instance:Instance") if "replicateSourceDb" in item.inputs]
    assert len(replicas) == 6  # seed: 2 in the primary region, 2 in each secondary
    for replica in replicas:
        assert replica.inputs["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]


@pytest.mark.parametrize("region", ["us-east-1", "us-west-2", "eu-west-1"])
def test_load_balancer_log_buckets_are_versioned_and_drop_noncurrent_logs(region):
    plan = build("prod", 3)
    versioning = plan.named(f"{region}-api-alb-logs", "aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    lifecycle = plan.named(f"{region}-api-alb-logs", "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    assert lifecycle.inputs["rules"][0]["noncurrentVersionExpiration"] == {"noncurrentDays": 1}


def test_the_static_bucket_logs_its_access_into_an_sse_s3_bucket_of_its_own():
    plan = build("prod", 2)
    logging = plan.named("edge-static", "aws:s3/bucketLogging:BucketLogging")
    assert names(logging.dependencies["bucket"]) == ["edge-static"]
    assert names(logging.dependencies["targetBucket"]) == ["edge-access-logs"]
    assert logging.inputs["targetPrefix"] == "s3/static/"
    # S3 server access logs reach only an SSE-S3 bucket.
    encryption = plan.named("edge-access-logs", ENCRYPTION)
    assert encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    # Its policy grants S3 log delivery from the static bucket (the ARN is in the document).
    policy = plan.named("edge-access-logs", "aws:s3/bucketPolicy:BucketPolicy")
    assert sorted(names(policy.dependencies["policy"])) == ["edge-access-logs", "edge-static"]


def test_cloudfront_logs_are_encrypted_with_a_key_that_lets_log_delivery_write_to_this_bucket_only():
    plan = build("prod", 2)
    encryption = plan.named("edge-logs", ENCRYPTION).inputs["rules"][0]
    assert encryption["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    assert encryption["bucketKeyEnabled"] is True
    assert names(plan.named("edge-logs", ENCRYPTION).dependencies["rules"]) == ["edge-log-bucket-key"]
    key = plan.named("edge-log-bucket-key", "aws:kms/key:Key")
    assert key.options.get("protect") is True
    policy = documents.cloudfront_log_key_policy("123456789012", "us-east-1", "arn:aws:s3:::edge-logs-abc")
    delivery = policy["Statement"][-1]
    assert delivery["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert delivery["Action"] == "kms:GenerateDataKey*"
    assert delivery["Condition"] == {"StringEquals": {"kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::edge-logs-abc"}}
