"""Secure defaults shared by every component, so a phase file cannot forget them.

Holds the resource options and policy documents that make resources safe: protection of
stateful resources in prod, IAM trust documents scoped to one AWS service, bucket encryption
and TLS-only bucket policy statements, and the TLS and security-header floors of the CDN.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from phases.environment import EnvironmentProfile


def stateful_options(child: pulumi.ResourceOptions, profile: EnvironmentProfile) -> pulumi.ResourceOptions:
    """Options for a resource that holds data: protected in prod, so `pulumi destroy` and a
    replacement both stop before the data goes."""
    return pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=profile.protect_stateful))


def assume_role_policy(service: str) -> str:
    """IAM trust policy letting one AWS service principal assume a role."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
        }],
    })


# --- Edge (CloudFront) and bucket defaults -------------------------------------------------

VIEWER_MINIMUM_TLS = "TLSv1.2_2021"
"""Oldest TLS policy CloudFront may negotiate with viewers when the stack has its own certificate."""
ORIGIN_TLS_PROTOCOLS = ["TLSv1.2"]
"""TLS versions CloudFront may use towards an HTTPS origin (TLSv1.2 is the highest it offers there)."""
HSTS_MAX_AGE_SECONDS = 31_536_000
"""Strict-Transport-Security max-age: one year, the value browsers' HSTS guidance asks for."""
ABORT_INCOMPLETE_UPLOAD_DAYS = 7
"""Parts of an abandoned multipart upload are billed until removed; a week covers any real upload."""


def bucket_encryption_rules() -> list:
    """Default encryption of a bucket: SSE-S3. CloudFront's OAC reads SSE-S3 objects without a KMS key
    policy, and CloudFront's standard logging cannot write to an SSE-KMS bucket without one."""
    return [aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
        apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
            sse_algorithm="AES256",
        ),
    )]


def deny_insecure_transport(bucket_arn: str) -> dict:
    """Bucket policy statement refusing every request that does not use TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
