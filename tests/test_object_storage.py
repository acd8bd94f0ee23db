"""The ObjectStorage component: an object bucket and a log bucket, private and encrypted."""

from __future__ import annotations

import pytest

from components.data.object_storage import LOG_PREFIX, ObjectStorageArgs
from components.policy_documents import access_log_bucket_policy, bucket_tls_only_policy
from phases.environment import PROFILES
from tests.support import build

BUCKET = "aws:s3/bucket:Bucket"
OBJECTS, LOGS = "us-east-1-storage-objects", "us-east-1-storage-logs"


def source_names(resource, prop: str) -> list[str]:
    return sorted(urn.rsplit("::", 1)[1] for urn in resource.dependencies.get(prop, []))


def settings_of(plan, bucket: str, resource_type: str):
    found = [r for r in plan.of_type(resource_type) if source_names(r, "bucket") == [bucket]]
    assert len(found) == 1, f"expected one {resource_type} on {bucket}, found {len(found)}"
    return found[0]


@pytest.mark.parametrize("phase", [1, 2, 3, 4])
def test_two_buckets_in_every_phase(phase):
    plan = build("prod", phase)
    storage = plan.named("us-east-1-storage", "qnom:components:ObjectStorage")
    assert sorted(r.name for r in plan.children_of(storage) if r.type == BUCKET) == [LOGS, OBJECTS]


@pytest.mark.parametrize("bucket", [OBJECTS, LOGS])
def test_buckets_are_private_owner_enforced_and_versioned(bucket):
    plan = build("prod", 1)
    block = settings_of(plan, bucket, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block.inputs[flag] is True for flag in (
        "blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    ownership = settings_of(plan, bucket, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    versioning = settings_of(plan, bucket, "aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    policy = settings_of(plan, bucket, "aws:s3/bucketPolicy:BucketPolicy")
    assert bucket in source_names(policy, "policy")
    assert plan.named(bucket, BUCKET).options["protect"] is True


def test_objects_use_the_storage_key_and_logs_use_sse_s3():
    plan = build("prod", 2)
    objects = settings_of(plan, OBJECTS, "aws:s3/bucketServerSideEncryptionConfiguration:"
                                         "BucketServerSideEncryptionConfiguration")
    rule = objects.inputs["rules"][0]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    assert rule["bucketKeyEnabled"] is True
    assert source_names(objects, "rules") == ["us-east-1-storage-key"]
    # S3 server access logging cannot deliver into a bucket whose default encryption is SSE-KMS.
    logs = settings_of(plan, LOGS, "aws:s3/bucketServerSideEncryptionConfiguration:"
                                   "BucketServerSideEncryptionConfiguration")
    assert logs.inputs["rules"][0]["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}


def test_object_lifecycle_moves_cold_data_and_aborts_uploads():
    lifecycle = settings_of(build("prod", 1), OBJECTS,
                            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    rule = lifecycle.inputs["rules"][0]
    assert rule["status"] == "Enabled"
    assert rule["transitions"] == [{"days": 30, "storageClass": "STANDARD_IA"},
                                   {"days": 90, "storageClass": "GLACIER"}]
    assert rule["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 365}


@pytest.mark.parametrize(("environment", "days", "force_destroy"), [("prod", 365, False), ("dev", 14, True)])
def test_log_bucket_expires_logs_and_objects_log_into_it(environment, days, force_destroy):
    plan = build(environment, 1)
    lifecycle = settings_of(plan, LOGS, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    assert lifecycle.inputs["rules"][0]["expiration"] == {"days": days}
    logging = settings_of(plan, OBJECTS, "aws:s3/bucketLogging:BucketLogging")
    assert source_names(logging, "targetBucket") == [LOGS]
    assert logging.inputs["targetPrefix"] == LOG_PREFIX
    assert all(plan.named(name, BUCKET).inputs["forceDestroy"] is force_destroy for name in (OBJECTS, LOGS))


def test_bucket_policies_deny_plain_http_and_admit_only_log_delivery():
    objects = bucket_tls_only_policy("arn:aws:s3:::objects")
    assert objects["Statement"] == [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": ["arn:aws:s3:::objects", "arn:aws:s3:::objects/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }]
    logs = access_log_bucket_policy("arn:aws:s3:::logs", LOG_PREFIX, "arn:aws:s3:::objects", "123456789012")
    deny, allow = logs["Statement"]
    assert deny["Effect"] == "Deny"
    assert allow["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert allow["Action"] == "s3:PutObject"
    assert allow["Resource"] == f"arn:aws:s3:::logs/{LOG_PREFIX}*"
    assert allow["Condition"] == {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::objects"},
                                  "StringEquals": {"aws:SourceAccount": "123456789012"}}


def test_bucket_names_are_left_to_auto_naming():
    for bucket in build("prod", 4).of_type(BUCKET):
        assert not {"bucket", "bucketPrefix"} & set(bucket.inputs)


@pytest.mark.parametrize(("change", "message"), [
    ({"infrequent_access_after_days": 20}, "infrequent_access_after_days (20) must be >= 30"),
    ({"archive_after_days": 45}, "archive_after_days (45) must be >= infrequent_access_after_days + 30 (60)"),
])
def test_lifecycle_arguments_are_validated(change, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        ObjectStorageArgs(profile=PROFILES["prod"], **change)
