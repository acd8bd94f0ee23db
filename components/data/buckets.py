"""A private S3 bucket with the settings every bucket of the platform shares.

Creates the `aws.s3.Bucket` (stateful: protected in prod, auto-named, so its physical name
never changes), its public access block (all four settings on), its object ownership
controls, its default encryption and, unless it only receives logs, its versioning. Policies
and lifecycle rules differ by purpose and stay with the component that owns the bucket.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from components.defaults import bucket_encryption_rules, stateful_options
from phases.environment import EnvironmentProfile


def create_private_bucket(
    name: str,
    profile: EnvironmentProfile,
    child: pulumi.ResourceOptions,
    *,
    encryption: Sequence[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs] | None = None,
    object_ownership: str = "BucketOwnerEnforced",
    versioned: bool = True,
) -> tuple[aws.s3.Bucket, aws.s3.BucketPublicAccessBlock, aws.s3.BucketOwnershipControls]:
    """Bucket `name` and its configuration resources (all named `name`).

    `encryption` defaults to SSE-S3; `object_ownership` BucketOwnerEnforced disables ACLs.
    """
    bucket = aws.s3.Bucket(name, aws.s3.BucketArgs(
        force_destroy=profile.force_destroy_buckets,
    ), stateful_options(child, profile))
    public_block = aws.s3.BucketPublicAccessBlock(name, aws.s3.BucketPublicAccessBlockArgs(
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
    ), child)
    ownership = aws.s3.BucketOwnershipControls(name, aws.s3.BucketOwnershipControlsArgs(
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership=object_ownership),
    ), child)
    if versioned:
        aws.s3.BucketVersioning(name, aws.s3.BucketVersioningInitArgs(
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
        ), child)
    aws.s3.BucketServerSideEncryptionConfiguration(name, aws.s3.BucketServerSideEncryptionConfigurationInitArgs(
        bucket=bucket.id, rules=list(encryption) if encryption is not None else bucket_encryption_rules(),
    ), child)
    return bucket, public_block, ownership
