"""Object storage of one region: an S3 bucket for objects and a separate bucket for access logs.

Creates: a customer-managed KMS key for the objects; the log bucket (`-logs`) and the object
bucket (`-objects`), each with versioning, default encryption, all public access blocked,
bucket-owner-enforced ownership (no ACLs), a TLS-only bucket policy and a lifecycle
configuration; server access logging from the object bucket into the log bucket.

Objects move to Standard-IA, then to Glacier Flexible Retrieval, and incomplete multipart
uploads are aborted. The log bucket uses SSE-S3 because S3 server access logging cannot
deliver into a bucket whose default encryption is SSE-KMS. Bucket names are auto-named and
never change: a bucket whose name changes is a new, empty bucket.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import defaults
from components import policy_documents as documents
from components.data.buckets import create_private_bucket
from phases.environment import EnvironmentProfile

LOG_PREFIX = "s3-access/objects/"
BUCKET_KEYS = True
"""The object bucket encrypts with an S3 Bucket Key: one data key per bucket instead of one KMS call
per object. It also makes the bucket's ARN (not the object's) the KMS encryption context, which the
app roles' KMS grant matches (`policy_documents.object_prefix_policy`)."""


@dataclass(frozen=True)
class ObjectStorageArgs:
    profile: EnvironmentProfile
    """Environment profile: protection, force-destroy in dev, log retention."""
    infrequent_access_after_days: int = 30
    """Days before objects move to Standard-IA. Default 30, the S3 minimum for that transition."""
    archive_after_days: int = 90
    """Days before objects move to Glacier Flexible Retrieval. Default 90."""
    noncurrent_expiration_days: int = 365
    """Days a replaced or deleted object version is kept. Default 365."""
    abort_incomplete_upload_days: int = defaults.ABORT_INCOMPLETE_UPLOAD_DAYS
    """Days before an unfinished multipart upload is aborted and its parts deleted. Default 7."""

    def __post_init__(self) -> None:
        # S3 rejects a lifecycle whose Glacier transition comes less than 30 days after the
        # Standard-IA one (objects bill at least 30 days in Standard-IA).
        if self.infrequent_access_after_days < 30:
            raise ValueError(f"infrequent_access_after_days ({self.infrequent_access_after_days}) must be >= 30")
        if self.archive_after_days < self.infrequent_access_after_days + 30:
            raise ValueError(f"archive_after_days ({self.archive_after_days}) must be >= "
                             f"infrequent_access_after_days + 30 ({self.infrequent_access_after_days + 30})")


class ObjectStorage(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    log_bucket_name: pulumi.Output[str]
    log_bucket_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ObjectStorageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("qnom:components:ObjectStorage", name, None, opts)
        self._name, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self)
        self._stateful = defaults.stateful_options(self._child, args.profile)

        # Used through S3 only: the app roles' grants already require it (object_prefix_policy).
        self._key = aws.kms.Key(f"{name}-key", defaults.service_key_args(
            "object storage", args.profile, ["s3"], pulumi.InvokeOptions(parent=self)), self._stateful)
        self._logs = self._create_bucket("logs", aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="AES256"),
        ))
        self._objects = self._create_bucket("objects", aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="aws:kms", kms_master_key_id=self._key.arn),
            bucket_key_enabled=BUCKET_KEYS,
        ))
        self._create_object_lifecycle()
        self._create_log_lifecycle()
        self._create_log_bucket_policy()
        self._create_object_bucket_policy()
        aws.s3.BucketLogging(f"{name}-objects", aws.s3.BucketLoggingInitArgs(
            bucket=self._objects.id,
            target_bucket=self._logs.id,
            target_prefix=LOG_PREFIX,
        ), self._child)

        self.bucket_name = self._objects.bucket
        self.bucket_arn = self._objects.arn
        self.log_bucket_name = self._logs.bucket
        self.log_bucket_arn = self._logs.arn
        self.kms_key_arn = self._key.arn

        self.register_outputs({
            "bucket_name": self.bucket_name,
            "bucket_arn": self.bucket_arn,
            "log_bucket_name": self.log_bucket_name,
            "log_bucket_arn": self.log_bucket_arn,
            "kms_key_arn": self.kms_key_arn,
        })

    def _create_bucket(self, role: str,
                       encryption: aws.s3.BucketServerSideEncryptionConfigurationRuleArgs) -> aws.s3.Bucket:
        bucket, _, _ = create_private_bucket(f"{self._name}-{role}", self._args.profile, self._child,
                                             encryption=[encryption])
        return bucket

    def _create_object_lifecycle(self) -> None:
        args = self._args
        aws.s3.BucketLifecycleConfiguration(f"{self._name}-objects", aws.s3.BucketLifecycleConfigurationArgs(
            bucket=self._objects.id,
            rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="cold-data",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                transitions=[
                    aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                        days=args.infrequent_access_after_days, storage_class="STANDARD_IA"),
                    aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                        days=args.archive_after_days, storage_class="GLACIER"),
                ],
                noncurrent_version_transitions=[
                    aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionTransitionArgs(
                        noncurrent_days=args.infrequent_access_after_days, storage_class="STANDARD_IA"),
                ],
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=args.noncurrent_expiration_days),
                abort_incomplete_multipart_upload=self._abort_uploads(),
            )],
        ), self._child)

    def _create_log_lifecycle(self) -> None:
        days = self._args.profile.log_retention_days
        aws.s3.BucketLifecycleConfiguration(f"{self._name}-logs", aws.s3.BucketLifecycleConfigurationArgs(
            bucket=self._logs.id,
            rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-logs",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=days),
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=days),
                abort_incomplete_multipart_upload=self._abort_uploads(),
            )],
        ), self._child)

    def _abort_uploads(self) -> aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs:
        return aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
            days_after_initiation=self._args.abort_incomplete_upload_days)

    def _create_log_bucket_policy(self) -> None:
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        policy = documents.access_log_bucket_policy(self._logs.arn, LOG_PREFIX, self._objects.arn, account)
        aws.s3.BucketPolicy(f"{self._name}-logs", aws.s3.BucketPolicyArgs(
            bucket=self._logs.id, policy=documents.to_json(policy),
        ), self._child)

    def _create_object_bucket_policy(self) -> None:
        aws.s3.BucketPolicy(f"{self._name}-objects", aws.s3.BucketPolicyArgs(
            bucket=self._objects.id,
            policy=documents.to_json(documents.bucket_tls_only_policy(self._objects.arn)),
        ), self._child)
