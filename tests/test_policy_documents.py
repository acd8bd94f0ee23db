"""Policy documents in one module (`components/policy_documents.py`), serialised with
`pulumi.Output.json_dumps`: no component writes a document with `json.dumps` inside an `.apply`.
IAM documents are built from what a preview knows (names, the region, the account id), so every
one of them is known in a preview."""

from __future__ import annotations

import ast
import json

import pytest

from pulumi.runtime import MockResourceArgs

from components import policy_documents as documents
from qnom import mocks
from qnom.engine import PROJECT_DIR, UNKNOWN
from tests.support import build

ACCOUNT = "123456789012"
IAM_DOCUMENTS = {"aws:iam/role:Role": ("assumeRolePolicy", "inlinePolicies"), "aws:iam/rolePolicy:RolePolicy": ("policy",),
                 "aws:iam/policy:Policy": ("policy",)}


def test_no_component_serialises_a_document_itself():
    offenders = []
    for path in sorted((PROJECT_DIR / "components").glob("*.py")):
        if path.name == "policy_documents.py":
            continue  # `to_json`, the one serialiser of documents
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(alias.name == "json" for alias in node.names):
                offenders.append(path.name)
    assert offenders == []


def test_plain_inputs_give_plain_documents():
    policy = documents.cloudfront_read_policy("arn:aws:s3:::static", "/static/*",
                                              "arn:aws:cloudfront::1:distribution/E1")
    read, deny = policy["Statement"]
    assert read["Resource"] == "arn:aws:s3:::static/static/*"
    assert read["Condition"] == {"StringEquals": {"AWS:SourceArn": "arn:aws:cloudfront::1:distribution/E1"}}
    assert deny["Resource"] == ["arn:aws:s3:::static", "arn:aws:s3:::static/*"]
    alb = documents.load_balancer_log_bucket_policy("arn:aws:s3:::logs", "alb", "123456789012",
                                                    "arn:aws:iam::127311923021:root")
    assert alb["Statement"][0]["Resource"] == "arn:aws:s3:::logs/alb/AWSLogs/123456789012/*"
    config = documents.read_config_policy("eu-west-1", "123456789012", "/qnom/prod/app")
    assert [s["Resource"] for s in config["Statement"]] == [
        "arn:aws:ssm:eu-west-1:123456789012:parameter/qnom/prod/app",
        "arn:aws:ssm:eu-west-1:123456789012:parameter/qnom/prod/app/*"]


@pytest.mark.parametrize(("name", "resource_type", "key"), [
    ("us-east-1-api-instance-config", "aws:iam/rolePolicy:RolePolicy", "policy"),
    ("us-east-1-network-flow-logs", "aws:iam/role:Role", "assumeRolePolicy"),
])
def test_documents_known_in_preview_are_shown_whole(name, resource_type, key):
    # The configuration grant names only the region, the account and the path: known in a preview.
    document = json.loads(build("prod", 2).named(name, resource_type).inputs[key])
    assert document["Version"] == "2012-10-17"
    assert document["Statement"]


# IAM documents from names ---------------------------------------------------------------------

def test_secrets_are_read_and_decrypted_by_name_through_secrets_manager_only():
    db, cache = (f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:{name}-??????"
                 for name in ("us-east-1-db-master-5e782e5", "eu-west-1-cache-auth-token-1a2b3c4"))
    assert documents.read_secrets_policy(["us-east-1-db-master-5e782e5", "eu-west-1-cache-auth-token-1a2b3c4"],
                                         "eu-west-1", ACCOUNT) == {"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadOwnSecrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": [cache, db]},
        {"Sid": "DecryptOwnSecrets", "Effect": "Allow", "Action": "kms:Decrypt",
         "Resource": f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/*",
         "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"},
                       "StringLike": {"kms:EncryptionContext:SecretARN": [cache, db]}}},
    ]}


@pytest.mark.parametrize(("bucket_keys", "context"), [
    # With S3 Bucket Keys the encryption context is the bucket's ARN, without them the object's.
    (True, {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com",
                             "kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::objects-1a2b3c4"}}),
    (False, {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"},
             "StringLike": {"kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::objects-1a2b3c4/app/*"}}),
])
def test_object_prefix_is_granted_by_bucket_name_with_the_buckets_encryption_context(bucket_keys, context):
    assert documents.object_prefix_policy("objects-1a2b3c4", "app/", "us-east-1", ACCOUNT, bucket_keys)["Statement"] == [
        {"Sid": "ObjectsUnderPrefix", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": "arn:aws:s3:::objects-1a2b3c4/app/*"},
        {"Sid": "ListPrefix", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::objects-1a2b3c4",
         "Condition": {"StringLike": {"s3:prefix": ["app/*"]}}},
        {"Sid": "ObjectKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
         "Resource": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/*", "Condition": context},
    ]


def test_queue_grants_name_the_queue_by_name():
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:us-east-1-queue-main-1a2b3c4"
    assert documents.send_queue_policy("us-east-1-queue-main-1a2b3c4", "us-east-1", ACCOUNT)["Statement"] == [
        {"Sid": "SendJobs", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue}]
    assert documents.consume_queue_policy("us-east-1-queue-main-1a2b3c4", "us-east-1", ACCOUNT)["Statement"] == [
        {"Sid": "ConsumeQueue", "Effect": "Allow",
         "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                    "sqs:GetQueueAttributes", "sqs:GetQueueUrl"], "Resource": queue}]


def test_flow_logs_write_into_their_log_group_by_name():
    assert documents.flow_log_delivery_policy("us-east-1-network-flow-logs-1a2b3c4", "us-east-1", ACCOUNT) == {
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:us-east-1-network-flow-logs-1a2b3c4:*"}]}


def test_mocks_auto_name_what_the_provider_names_before_a_preview():
    def outputs(resource_type: str, name: str, inputs: dict) -> dict:
        return mocks.AwsMocks().new_resource(MockResourceArgs(resource_type, name, inputs, "", "", False))[1]

    # The logical name, "-" and 7 lowercase hex characters, the same on every run; a bucket's in lower case.
    assert outputs("aws:sqs/queue:Queue", "us-east-1-queue-main", {}) == {"name": "us-east-1-queue-main-ef4098b"}
    assert outputs("aws:s3/bucket:Bucket", "Objects", {})["bucket"] == mocks.auto_name("aws:s3/bucket:Bucket", "Objects")
    assert mocks.auto_name("aws:s3/bucket:Bucket", "Objects").startswith("objects-")
    for resource_type, prop in mocks.AUTO_NAMED.items():
        named = outputs(resource_type, "x-logs", {})[prop]
        assert len(named) == len("x-logs-") + 7 and named.startswith("x-logs-")
        # A name or a prefix the program sets stays; the provider names nothing else.
        assert outputs(resource_type, "x-logs", {prop: "fixed"})[prop] == "fixed"
        assert prop not in outputs(resource_type, "x-logs", {f"{prop}Prefix": "fixed-"})
    assert outputs("aws:kms/key:Key", "key", {}) == {}


def unknown_iam_documents(plan) -> list[tuple[str, str]]:
    return [(r.name, key) for r in plan.resources for key in IAM_DOCUMENTS.get(r.type, ())
            if key in r.inputs and UNKNOWN in json.dumps(r.inputs[key])]


@pytest.mark.parametrize("environment", ["dev", "prod"])
@pytest.mark.parametrize("phase", [1, 2, 3, 4])
def test_every_iam_document_is_known_in_a_preview(environment, phase):
    plan = build(environment, phase)
    assert unknown_iam_documents(plan) == []
    # The app instance roles' grants name the auto-generated names of what they reach.
    secrets = json.loads(plan.named("us-east-1-api-instance-secrets", "aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    assert secrets["Statement"][0]["Resource"] == [
        f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{name}-??????" for name in (
            f"qnom/{environment}/api/session-secret",
            mocks.auto_name("aws:secretsmanager/secret:Secret", "us-east-1-cache-auth-token"),
            mocks.auto_name("aws:secretsmanager/secret:Secret", "us-east-1-db-master"))]
    flow = json.loads(plan.named("us-east-1-network-flow-logs", "aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    assert flow["Statement"][0]["Resource"] == (f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:"
                                                f"{mocks.auto_name('aws:cloudwatch/logGroup:LogGroup', 'us-east-1-network-flow-logs')}:*")


def test_a_secondary_regions_roles_name_the_primarys_data_and_the_local_replica_of_its_secret():
    plan = build("prod", 3)

    def statements(suffix: str) -> list[dict]:
        return json.loads(plan.named(f"eu-west-1-api-instance-{suffix}", "aws:iam/rolePolicy:RolePolicy")
                          .inputs["policy"])["Statement"]

    secret = "aws:secretsmanager/secret:Secret"
    # The database secret is the primary's, read through its replica here (same name and suffix).
    assert statements("secrets")[0]["Resource"] == [
        f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:{name}-??????" for name in (
            mocks.auto_name(secret, "eu-west-1-cache-auth-token"), "qnom/prod/api/session-secret",
            mocks.auto_name(secret, "us-east-1-db-master"))]
    bucket = f"arn:aws:s3:::{mocks.auto_name('aws:s3/bucket:Bucket', 'us-east-1-storage-objects')}"
    objects, _, key = statements("objects")
    assert objects["Resource"] == f"{bucket}/app/*"
    assert key["Resource"] == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/*"
    assert key["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com",
                                                 "kms:EncryptionContext:aws:s3:arn": bucket}}
    assert statements("send")[0]["Resource"] == (
        f"arn:aws:sqs:us-east-1:{ACCOUNT}:{mocks.auto_name('aws:sqs/queue:Queue', 'us-east-1-queue-main')}")


@pytest.mark.parametrize("steps", [{"databaseCutover": True}, {"databaseCutover": True, "retireRegionalCaches": True}])
def test_iam_documents_stay_known_through_the_phase_4_migration_steps(steps):
    plan = build("prod", 4, **steps)
    assert unknown_iam_documents(plan) == []
    # After the cut-over the apps read the Aurora cluster's secret, replicated to every region.
    secrets = json.loads(plan.named("us-west-2-api-instance-secrets", "aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    aurora = mocks.auto_name("aws:secretsmanager/secret:Secret", "us-east-1-db-aurora-master")
    assert f"arn:aws:secretsmanager:us-west-2:{ACCOUNT}:secret:{aurora}-??????" in secrets["Statement"][0]["Resource"]

