"""The IAM and resource policy documents of the platform, in one place.

Creates no resource. Each builder returns a document (a dict) whose values may be Inputs (ARNs of
resources still to be created); `to_json` serialises it as `pulumi.Output.json_dumps` would, once
the Inputs it holds are known, so a document is known in a preview wherever its inputs are, and no
builder writes JSON inside an `.apply` of its own. With plain strings the builders
return plain values, so the documents can be read in tests without an engine.

Documents: trust policies (one AWS service), app instance grants (configuration path, secrets,
object prefix, job queue, ECR pulls), TLS-only statements and policies for buckets and queues, the
buckets' log delivery grants (S3 server access logs, load balancer access logs), the CloudFront
read grant of the static bucket, the queue's redrive and redrive-allow policies, OpenSearch's
domain access and log delivery policies, the VPC flow log role's policy, and KMS key policies
(administration through IAM only; use through named services, by CloudWatch Logs of one region,
or by one service principal for named resources).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

VERSION = "2012-10-17"


class _Slot(int):
    """Where the n-th Output of a document stands until its value is known."""


def to_json(document: Mapping[str, Any]) -> pulumi.Output[str]:
    """The document as JSON, once every Input inside it is known (unknown until then).

    What `pulumi.Output.json_dumps` writes, with one `Output.all` over the document's Outputs
    instead of an Output per nested value: a plan holds a hundred documents, and the SDK's
    handling of those nested Outputs was a measurable share of a plan's time. The result depends
    on the same resources and is secret when one of the Outputs is."""
    found: list[Any] = []

    def template(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {key: template(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [template(item) for item in value]
        if isinstance(value, pulumi.Output) or inspect.isawaitable(value):
            found.append(value)
            return _Slot(len(found) - 1)
        return value

    shape = template(document)

    def filled(values: list[Any]) -> str:
        def fill(value: Any) -> Any:
            if isinstance(value, _Slot):
                return values[value]
            if isinstance(value, dict):
                return {key: fill(item) for key, item in value.items()}
            if isinstance(value, list):
                return [fill(item) for item in value]
            return value

        return json.dumps(fill(shape))

    return pulumi.Output.all(*found).apply(filled) if found else pulumi.Output.from_input(json.dumps(document))


def _concat(*parts: pulumi.Input[str]) -> pulumi.Input[str]:
    """Joined parts: a plain string when every part is one, else an Output."""
    if all(isinstance(part, str) for part in parts):
        return "".join(parts)
    return pulumi.Output.concat(*parts)


def _sorted(values: Sequence[pulumi.Input[str]], unique: bool = False) -> pulumi.Input[list[str]]:
    """`values` sorted (and without repeats with `unique`): an order that does not follow the
    order the callers list them in, so a document changes only when its content does."""
    def order(items: Sequence[str]) -> list[str]:
        return sorted(set(items)) if unique else sorted(items)

    if all(isinstance(value, str) for value in values):
        return order(values)
    return pulumi.Output.all(*values).apply(order)


# --- alert topics ---------------------------------------------------------------------------

def alert_key_policy(account_id: pulumi.Input[str], publishers: Sequence[str]) -> dict:
    """Key policy of an alert topic's KMS key: the account administers it through IAM, and the AWS
    services that publish to the topic (`publishers`, e.g. cloudwatch.amazonaws.com) may use it.

    A service publishing to a KMS-encrypted topic needs kms:GenerateDataKey* and kms:Decrypt on the
    topic's key, granted in the key policy (Amazon SNS Developer Guide, "Enable compatibility between
    event sources from AWS services and encrypted topics"); AWS-managed `alias/aws/sns` cannot be
    changed to allow it, hence a customer-managed key.
    """
    return service_principal_key_policy(account_id, sorted(publishers))


def alert_topic_policy(topic_arn: pulumi.Input[str], account_id: pulumi.Input[str],
                       publishers: Sequence[str]) -> dict:
    """Topic policy of an alert topic: the account's own principals, and each service in
    `publishers` for this account only.

    AWS Budgets publishes only with `budgets.amazonaws.com` allowed (AWS Cost Management User Guide,
    "Creating an Amazon SNS topic for budget notifications", with aws:SourceAccount and an
    aws:SourceArn of arn:aws:budgets::<account>:*), Cost Anomaly Detection with
    `costalerts.amazonaws.com` ("Creating an Amazon SNS topic for anomaly notifications").
    """
    statements = [{
        "Sid": "AccountPublishes",
        "Effect": "Allow",
        "Principal": {"AWS": _concat("arn:aws:iam::", account_id, ":root")},
        "Action": ["sns:Publish", "sns:Subscribe", "sns:GetTopicAttributes"],
        "Resource": topic_arn,
    }]
    for service in sorted(publishers):
        condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": account_id}}
        if service == "budgets.amazonaws.com":
            condition["ArnLike"] = {"aws:SourceArn": _concat("arn:aws:budgets::", account_id, ":*")}
        statements.append({
            "Sid": "Publish" + "".join(part.title() for part in service.split(".")[0].split("-")),
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": condition,
        })
    return {"Version": VERSION, "Statement": statements}


# --- trust and app instance grants ----------------------------------------------------------

def trust_policy(service: str) -> dict:
    """IAM trust policy letting one AWS service principal assume a role."""
    return {
        "Version": VERSION,
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
        }],
    }


def _region_keys(region: str, account_id: pulumi.Input[str]) -> pulumi.Input[str]:
    """Every KMS key of the account in `region`. A new key's ARN is known only once AWS has created
    it, so a grant that must be known in a preview names the keys this way and narrows them with
    conditions (kms:ViaService and the service's encryption context)."""
    return _concat(f"arn:aws:kms:{region}:", account_id, ":key/*")


def secret_arn_pattern(secret_name: pulumi.Input[str], region: str, account_id: pulumi.Input[str]) -> pulumi.Input[str]:
    """The ARN of the secret named `secret_name` in `region`, as a pattern: Secrets Manager appends
    "-" and 6 random characters to the name, and AWS's own policy examples match them with
    `-??????` (Secrets Manager User Guide, "Permissions policy examples": "Wildcard characters" /
    "Secret ARN"). A secret's replica in another region has the same name and suffix."""
    return _concat(f"arn:aws:secretsmanager:{region}:", account_id, ":secret:", secret_name, "-??????")


def read_secrets_policy(secret_names: Sequence[pulumi.Input[str]], region: str,
                        account_id: pulumi.Input[str]) -> dict:
    """IAM policy reading exactly the secrets of `region` with these names, and decrypting them
    only when Secrets Manager in that region asks for one of them.

    Secrets Manager decrypts with the caller's permissions and names the secret in the encryption
    context (`SecretARN`) of every KMS request it makes (Secrets Manager User Guide, "Secret
    encryption and decryption", "Secrets Manager encryption context"), so the grant covers the
    region's keys (`_region_keys`) limited by kms:ViaService and by
    kms:EncryptionContext:SecretARN (AWS KMS Developer Guide, "kms:ViaService",
    "kms:EncryptionContext:context-key"): decrypt these secrets' data keys, nothing else.
    """
    secrets = _sorted([secret_arn_pattern(name, region, account_id) for name in secret_names])
    return {"Version": VERSION, "Statement": [
        {"Sid": "ReadOwnSecrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
         "Resource": secrets},
        {"Sid": "DecryptOwnSecrets", "Effect": "Allow", "Action": "kms:Decrypt",
         "Resource": _region_keys(region, account_id),
         "Condition": {
             "StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"},
             # The patterns end in `??????`: StringLike, each matching exactly one secret's ARN.
             "StringLike": {"kms:EncryptionContext:SecretARN": secrets},
         }},
    ]}


def read_config_policy(region: str, account_id: pulumi.Input[str], path: str) -> dict:
    """IAM policy reading the String parameters under one Parameter Store path of one region.

    GetParametersByPath is authorized on the path itself, GetParameters on each parameter (AWS
    Systems Manager User Guide, "Restricting access to Parameter Store parameters using IAM
    policies"). String parameters need no KMS grant.
    """
    base = _concat(f"arn:aws:ssm:{region}:", account_id, f":parameter{path}")
    return {"Version": VERSION, "Statement": [
        {"Sid": "ReadConfigPath", "Effect": "Allow", "Action": "ssm:GetParametersByPath", "Resource": base},
        {"Sid": "ReadConfigValues", "Effect": "Allow", "Action": "ssm:GetParameters",
         "Resource": _concat(base, "/*")},
    ]}


def sqs_queue_arn(queue_name: pulumi.Input[str], region: str, account_id: pulumi.Input[str]) -> pulumi.Input[str]:
    """The ARN of the SQS queue named `queue_name` in `region` (Amazon SQS Developer Guide, "Amazon
    SQS resource and operations": arn:aws:sqs:region:account_id:queue_name)."""
    return _concat(f"arn:aws:sqs:{region}:", account_id, ":", queue_name)


def send_queue_policy(queue_name: pulumi.Input[str], region: str, account_id: pulumi.Input[str]) -> dict:
    """IAM policy sending messages to one SQS queue (SQS-managed encryption needs no KMS grant)."""
    return {"Version": VERSION, "Statement": [
        {"Sid": "SendJobs", "Effect": "Allow", "Action": "sqs:SendMessage",
         "Resource": sqs_queue_arn(queue_name, region, account_id)},
    ]}


def consume_queue_policy(queue_name: pulumi.Input[str], region: str, account_id: pulumi.Input[str],
                         kms_key_arn: pulumi.Input[str] | None = None) -> dict:
    """IAM policy receiving and deleting messages of one SQS queue (and decrypting them when
    the queue uses a customer-managed key; SQS-managed encryption needs no grant)."""
    statements: list[dict] = [{
        "Sid": "ConsumeQueue",
        "Effect": "Allow",
        "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                   "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
        "Resource": sqs_queue_arn(queue_name, region, account_id),
    }]
    if kms_key_arn is not None:
        statements.append({"Sid": "DecryptMessages", "Effect": "Allow", "Action": "kms:Decrypt",
                           "Resource": kms_key_arn})
    return {"Version": VERSION, "Statement": statements}


def iam_role_arn(role_name: pulumi.Input[str], account_id: pulumi.Input[str]) -> pulumi.Input[str]:
    """The ARN of the IAM role named `role_name` on the default path "/" (IAM User Guide, "IAM
    identifiers": arn:aws:iam::account:role/path/name)."""
    return _concat("arn:aws:iam::", account_id, ":role/", role_name)


def eks_cluster_arn(cluster_name: pulumi.Input[str], region: str, account_id: pulumi.Input[str]) -> pulumi.Input[str]:
    """The ARN of the EKS cluster named `cluster_name` (Service Authorization Reference, Amazon EKS
    resource types: arn:aws:eks:region:account:cluster/name)."""
    return _concat(f"arn:aws:eks:{region}:", account_id, ":cluster/", cluster_name)


def s3_bucket_arn(bucket_name: pulumi.Input[str]) -> pulumi.Input[str]:
    """The ARN of the S3 bucket named `bucket_name` (bucket ARNs name no region and no account)."""
    return _concat("arn:aws:s3:::", bucket_name)


def object_prefix_policy(bucket_name: pulumi.Input[str], prefix: str, bucket_region: str,
                         account_id: pulumi.Input[str], bucket_keys: bool) -> dict:
    """IAM policy reading, writing and listing one prefix of an SSE-KMS bucket.

    Uploads need kms:GenerateDataKey and downloads kms:Decrypt on the bucket's key (Amazon S3 User
    Guide, "Using server-side encryption with AWS KMS keys (SSE-KMS)", permissions), allowed only
    through S3 in the bucket's region and only for this bucket's data: S3 puts
    `aws:s3:arn` in the encryption context of every KMS request, the bucket's ARN when the bucket
    uses S3 Bucket Keys (`bucket_keys`), else the object's ARN (same guide, "Encryption context";
    "Reducing the cost of SSE-KMS with Amazon S3 Bucket Keys"), so the grant covers the region's
    keys (`_region_keys`) narrowed by kms:EncryptionContext:aws:s3:arn to exactly that. Listing is
    limited to the prefix with the s3:prefix key.
    """
    bucket = s3_bucket_arn(bucket_name)
    objects = _concat(bucket, f"/{prefix}*")
    via_s3 = {"kms:ViaService": f"s3.{bucket_region}.amazonaws.com"}
    if bucket_keys:
        condition = {"StringEquals": {**via_s3, "kms:EncryptionContext:aws:s3:arn": bucket}}
    else:
        condition = {"StringEquals": via_s3, "StringLike": {"kms:EncryptionContext:aws:s3:arn": objects}}
    return {"Version": VERSION, "Statement": [
        {"Sid": "ObjectsUnderPrefix", "Effect": "Allow",
         "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": objects},
        {"Sid": "ListPrefix", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket,
         "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}}},
        {"Sid": "ObjectKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
         "Resource": _region_keys(bucket_region, account_id), "Condition": condition},
    ]}


def ecr_pull_policy(repository_arn: pulumi.Input[str]) -> dict:
    """IAM policy pulling images from one private ECR repository."""
    return {
        "Version": VERSION,
        "Statement": [
            # GetAuthorizationToken has no resource-level permissions.
            {"Sid": "RegistryLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {
                "Sid": "PullImage",
                "Effect": "Allow",
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                "Resource": repository_arn,
            },
        ],
    }


def flow_log_delivery_policy(log_group_name: pulumi.Input[str], region: str, account_id: pulumi.Input[str]) -> dict:
    """IAM policy of the VPC flow log role: writing into one log group's streams, named by the
    group's name (CloudWatch Logs User Guide, "CloudWatch Logs resources and operations":
    arn:aws:logs:region:account-id:log-group:log_group_name:*)."""
    return {
        "Version": VERSION,
        "Statement": [{
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": _concat(f"arn:aws:logs:{region}:", account_id, ":log-group:", log_group_name, ":*"),
        }],
    }


# --- TLS only ---------------------------------------------------------------------------------

def deny_insecure_transport(resources: Sequence[pulumi.Input[str]], action: str) -> dict:
    """Policy statement refusing every request that does not arrive over TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": action,
        "Resource": list(resources),
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def deny_insecure_bucket_access(bucket_arn: pulumi.Input[str]) -> dict:
    """Bucket policy statement refusing every request to the bucket or its objects without TLS."""
    return deny_insecure_transport([bucket_arn, _concat(bucket_arn, "/*")], "s3:*")


def bucket_tls_only_policy(bucket_arn: pulumi.Input[str]) -> dict:
    """Bucket policy refusing every request to the bucket or its objects that is not over TLS."""
    return {"Version": VERSION, "Statement": [deny_insecure_bucket_access(bucket_arn)]}


def queue_tls_only_policy(queue_arn: pulumi.Input[str]) -> dict:
    """Queue policy refusing every request to the queue that does not arrive over TLS."""
    return {"Version": VERSION, "Statement": [deny_insecure_transport([queue_arn], "sqs:*")]}


# --- buckets: log delivery and CloudFront -------------------------------------------------------

def access_log_bucket_policy(log_bucket_arn: pulumi.Input[str], log_prefix: str,
                             source_bucket_arn: pulumi.Input[str], account_id: pulumi.Input[str]) -> dict:
    """TLS only, plus S3 server access log delivery from one source bucket of this account.

    With ACLs disabled (bucket owner enforced) the log delivery service writes under this
    policy, limited to the log prefix.
    """
    policy = bucket_tls_only_policy(log_bucket_arn)
    policy["Statement"].append({
        "Sid": "AllowServerAccessLogDelivery",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": _concat(log_bucket_arn, f"/{log_prefix}*"),
        "Condition": {
            "ArnLike": {"aws:SourceArn": source_bucket_arn},
            "StringEquals": {"aws:SourceAccount": account_id},
        },
    })
    return policy


def load_balancer_log_bucket_policy(bucket_arn: pulumi.Input[str], prefix: str, account_id: pulumi.Input[str],
                                    writer_arn: pulumi.Input[str]) -> dict:
    """TLS only, plus load balancer access log delivery by the region's Elastic Load Balancing
    account (`writer_arn`) under `prefix`."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "LoadBalancerAccessLogs",
                "Effect": "Allow",
                "Principal": {"AWS": writer_arn},
                "Action": "s3:PutObject",
                "Resource": _concat(bucket_arn, f"/{prefix}/AWSLogs/", account_id, "/*"),
            },
            deny_insecure_bucket_access(bucket_arn),
        ],
    }


def cloudfront_read_policy(bucket_arn: pulumi.Input[str], path: str,
                           distribution_arn: pulumi.Input[str]) -> dict:
    """TLS only, plus reads of the keys under `path` by one CloudFront distribution.

    Origin access control signs CloudFront's requests as the cloudfront.amazonaws.com service;
    AWS:SourceArn narrows that principal to this one distribution.
    """
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "AllowThisDistributionToReadStatic",
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": _concat(bucket_arn, path),
                "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
            },
            deny_insecure_bucket_access(bucket_arn),
        ],
    }


# --- queues -------------------------------------------------------------------------------------

def redrive_policy(dlq_arn: pulumi.Input[str], max_receive_count: int) -> dict:
    """The main queue's redrive policy: after `max_receive_count` receives a message moves to the DLQ."""
    return {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count}


def redrive_allow_policy(source_queue_arn: pulumi.Input[str]) -> dict:
    """The DLQ's redrive-allow policy: only the given queue may use it as its dead-letter queue."""
    return {"redrivePermission": "byQueue", "sourceQueueArns": [source_queue_arn]}


# --- OpenSearch ---------------------------------------------------------------------------------

def domain_access_policy(domain_arn: pulumi.Input[str]) -> dict:
    """Access policy of the domain: HTTP actions on this domain only, unsigned.

    With fine-grained access control AWS recommends a domain policy that does not demand
    signed requests; the gates are the VPC, the client-only security group and the domain's
    own users.
    """
    return {
        "Version": VERSION,
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "es:ESHttp*",
            "Resource": _concat(domain_arn, "/*"),
        }],
    }


def log_delivery_policy(log_group_arns: Sequence[pulumi.Input[str]]) -> dict:
    """CloudWatch Logs resource policy letting OpenSearch write into the given log groups."""
    return {
        "Version": VERSION,
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "es.amazonaws.com"},
            "Action": ["logs:PutLogEvents", "logs:CreateLogStream"],
            "Resource": [_concat(arn, ":*") for arn in log_group_arns],
        }],
    }


# --- KMS key policies ---------------------------------------------------------------------------

KMS_ADMIN_ACTIONS = [
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey",
    "kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation", "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus", "kms:List*", "kms:PutKeyPolicy", "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
]
"""Managing a key, never using it: no Encrypt/Decrypt/GenerateDataKey, no CreateGrant."""
KMS_USE_ACTIONS = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
KMS_GRANT_ACTIONS = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]


def _account_root(account_id: pulumi.Input[str]) -> pulumi.Input[str]:
    return _concat("arn:aws:iam::", account_id, ":root")


def key_admin_statement(account_id: pulumi.Input[str]) -> dict:
    """The account administers the key through IAM, and only administers it: use is granted by the
    other statements alone (AWS KMS Developer Guide, "Default key policy": the account root
    principal delegates to IAM policies; "Allows key administrators to administer the KMS key")."""
    return {"Sid": "AdministerThroughIam", "Effect": "Allow", "Principal": {"AWS": _account_root(account_id)},
            "Action": KMS_ADMIN_ACTIONS, "Resource": "*"}


def _via(endpoints: Sequence[pulumi.Input[str]]) -> dict:
    wildcard = any(isinstance(endpoint, str) and "*" in endpoint for endpoint in endpoints)
    return {"StringLike" if wildcard else "StringEquals": {"kms:ViaService": list(endpoints)}}


def service_key_policy(account_id: pulumi.Input[str], via_endpoints: Sequence[pulumi.Input[str]]) -> dict:
    """Key policy of a key that AWS services use on behalf of this account's IAM principals.

    Use, and grants for AWS resources (RDS, ElastiCache, OpenSearch create grants for their
    storage), only through the given service endpoints (`rds.us-east-1.amazonaws.com`) and only for
    callers of this account whose IAM policies allow it (AWS KMS Developer Guide, "kms:ViaService",
    "kms:CallerAccount", "kms:GrantIsForAWSResource"; the pattern of AWS managed keys' policies).
    """
    caller = {"kms:CallerAccount": account_id}
    via = _via(via_endpoints)
    condition = {key: dict(value) for key, value in via.items()}
    condition.setdefault("StringEquals", {}).update(caller)
    grant_condition = {key: dict(value) for key, value in condition.items()}
    grant_condition["Bool"] = {"kms:GrantIsForAWSResource": "true"}
    # The account principal stands for this account's IAM principals whose IAM policies allow the
    # action (AWS KMS Developer Guide, "Default key policy"): never a wildcard principal.
    anyone_in_account = {"AWS": _account_root(account_id)}
    return {"Version": VERSION, "Statement": [
        key_admin_statement(account_id),
        {"Sid": "UseThroughServices", "Effect": "Allow", "Principal": anyone_in_account,
         "Action": KMS_USE_ACTIONS, "Resource": "*", "Condition": condition},
        {"Sid": "GrantsForServiceResources", "Effect": "Allow", "Principal": anyone_in_account,
         "Action": KMS_GRANT_ACTIONS, "Resource": "*", "Condition": grant_condition},
    ]}


def log_key_policy(account_id: pulumi.Input[str], region: pulumi.Input[str]) -> dict:
    """Key policy of a key encrypting CloudWatch Logs log groups of one region and account.

    CloudWatch Logs encrypts as its regional service principal, and only for log groups of this
    account and region, named in the encryption context (Amazon CloudWatch Logs User Guide,
    "Encrypt log data in CloudWatch Logs using AWS KMS", step 2: the key policy).
    """
    log_groups = _concat("arn:aws:logs:", region, ":", account_id, ":log-group:*")
    return {"Version": VERSION, "Statement": [
        key_admin_statement(account_id),
        {"Sid": "CloudWatchLogsOfThisAccount", "Effect": "Allow",
         "Principal": {"Service": _concat("logs.", region, ".amazonaws.com")},
         "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
         "Resource": "*",
         "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}}},
    ]}


def service_principal_key_policy(account_id: pulumi.Input[str], service_principal: str | list[str],
                                 source_arns: Sequence[pulumi.Input[str]] = ()) -> dict:
    """Key policy of a key AWS service principals use themselves (e.g. `cloudwatch.amazonaws.com`
    publishing alarms to an encrypted SNS topic): data keys and decryption for those principals only,
    on behalf of this account and, with `source_arns`, of those resources alone (AWS KMS Developer
    Guide, "aws:SourceArn" and "aws:SourceAccount" in key policies: the confused-deputy guard)."""
    condition: dict = {"StringEquals": {"aws:SourceAccount": account_id}}
    if source_arns:
        condition["ArnLike"] = {"aws:SourceArn": list(source_arns)}
    return {"Version": VERSION, "Statement": [
        key_admin_statement(account_id),
        {"Sid": "UseByService", "Effect": "Allow", "Principal": {"Service": service_principal},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*", "Condition": condition},
    ]}


def cloudfront_log_key_policy(account_id: pulumi.Input[str], region: pulumi.Input[str],
                              bucket_arn: pulumi.Input[str]) -> dict:
    """Key policy of the key encrypting CloudFront's standard-log bucket (SSE-KMS with a bucket key).

    CloudFront's log delivery needs kms:GenerateDataKey* on a customer-managed key (Amazon
    CloudFront Developer Guide, "Configure standard logging (legacy)", permissions: the key policy
    statement for delivery.logs.amazonaws.com when the bucket uses SSE-KMS), narrowed here to data
    keys for this bucket: with an S3 Bucket Key the encryption context is the bucket's ARN (Amazon S3
    User Guide, "Reducing the cost of SSE-KMS with Amazon S3 Bucket Keys", encryption context).
    The account's principals read the logs through S3 only.
    """
    policy = service_key_policy(account_id, [_concat("s3.", region, ".amazonaws.com")])
    policy["Statement"].append({
        "Sid": "CloudFrontLogDelivery", "Effect": "Allow", "Principal": {"Service": "delivery.logs.amazonaws.com"},
        "Action": "kms:GenerateDataKey*", "Resource": "*",
        "Condition": {"StringEquals": {"kms:EncryptionContext:aws:s3:arn": bucket_arn}},
    })
    return policy
