"""KMS keys with explicit key policies (the account administers them through IAM, every use tied to
a service, a log group or a source resource) and CloudWatch log groups encrypted with a stack key.
The documents are read without an engine; the plans are the ones the other tests build."""

from __future__ import annotations

import json

import pytest

from components import policy_documents as documents
from qnom.mocks import ACCOUNT_ID
from tests.support import build

KEY = "aws:kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROOT = f"arn:aws:iam::{ACCOUNT_ID}:root"
USE = {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"}


def statements(key) -> dict[str, dict]:
    return {item["Sid"]: item for item in json.loads(key.inputs["policy"])["Statement"]}


def test_the_account_administers_a_key_but_cannot_use_it_unconditioned():
    admin = documents.key_admin_statement(ACCOUNT_ID)
    assert admin["Principal"] == {"AWS": ROOT}
    assert not USE & set(admin["Action"]) and "kms:CreateGrant" not in admin["Action"]
    assert "kms:*" not in admin["Action"] and "kms:PutKeyPolicy" in admin["Action"]


def test_a_service_key_is_used_only_through_its_services_by_this_account():
    policy = documents.service_key_policy(ACCOUNT_ID, ["s3.us-east-1.amazonaws.com"])
    use = {item["Sid"]: item for item in policy["Statement"]}["UseThroughServices"]
    assert use["Condition"] == {"StringEquals": {"kms:ViaService": ["s3.us-east-1.amazonaws.com"],
                                                 "kms:CallerAccount": ACCOUNT_ID}}
    grants = {item["Sid"]: item for item in policy["Statement"]}["GrantsForServiceResources"]
    assert grants["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}
    # A wildcard endpoint (cross-region copies) needs StringLike.
    anywhere = documents.service_key_policy(ACCOUNT_ID, ["rds.*.amazonaws.com"])["Statement"][1]["Condition"]
    assert anywhere["StringLike"] == {"kms:ViaService": ["rds.*.amazonaws.com"]}


def test_the_log_key_admits_cloudwatch_logs_of_its_region_for_this_accounts_log_groups():
    logs = documents.log_key_policy(ACCOUNT_ID, "eu-west-1")["Statement"][1]
    assert logs["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    assert logs["Condition"] == {"ArnLike": {
        "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:eu-west-1:{ACCOUNT_ID}:log-group:*"}}


def test_a_service_principal_key_is_tied_to_the_account_and_the_source_resources():
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT_ID}:alerts"
    use = documents.service_principal_key_policy(ACCOUNT_ID, "cloudwatch.amazonaws.com", [topic])["Statement"][1]
    assert use["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert use["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
                                "ArnLike": {"aws:SourceArn": [topic]}}


@pytest.mark.parametrize("key, via", [
    ("us-east-1-db-key", ["rds.*.amazonaws.com", "secretsmanager.*.amazonaws.com"]),
    ("us-west-2-db-key", ["rds.*.amazonaws.com", "secretsmanager.*.amazonaws.com"]),
    ("us-east-1-cache-key", ["elasticache.*.amazonaws.com", "secretsmanager.*.amazonaws.com"]),
    ("us-east-1-search-key", ["es.us-east-1.amazonaws.com", "secretsmanager.us-east-1.amazonaws.com"]),
    ("us-east-1-storage-key", ["s3.us-east-1.amazonaws.com"]),
    ("eu-west-1-api-secrets-key", ["secretsmanager.eu-west-1.amazonaws.com"]),
    ("edge-secrets-key", ["secretsmanager.us-east-1.amazonaws.com"]),
])
def test_every_data_key_is_used_only_through_the_services_that_need_it(key, via):
    policy = statements(build("prod", 3).named(key, KEY))
    assert set(policy) == {"AdministerThroughIam", "UseThroughServices", "GrantsForServiceResources"}
    condition = policy["UseThroughServices"]["Condition"]
    assert next(iter(value["kms:ViaService"] for value in condition.values() if "kms:ViaService" in value)) == via


def test_every_key_of_the_plan_has_a_policy_and_no_unconditioned_use():
    for key in build("prod", 3).of_type(KEY):
        if key.name == "edge-log-bucket-key":
            continue  # names its bucket's ARN, unknown in a preview: test_security_logs.py reads its document
        for statement in json.loads(key.inputs["policy"])["Statement"]:
            actions = set(statement["Action"])
            if actions & (USE | {"kms:Encrypt*", "kms:Decrypt*", "kms:CreateGrant"}):
                assert statement.get("Condition"), (key.name, statement["Sid"])


@pytest.mark.parametrize("environment, phase", [("prod", 3), ("dev", 2)])
def test_every_log_group_is_encrypted_with_its_regions_log_key(environment, phase):
    plan = build(environment, phase)
    groups = plan.of_type(LOG_GROUP)
    assert groups
    for group in groups:
        [key] = [urn.rsplit("::", 1)[1] for urn in group.dependencies["kmsKeyId"]]
        region = plan.region_of(group)
        assert key in (f"{region}-logs-key", "edge-logs-key"), (group.name, key)
    for region in {plan.region_of(group) for group in groups}:
        logs = statements(plan.named(f"{region}-logs-key", KEY))["CloudWatchLogsOfThisAccount"]
        assert logs["Principal"] == {"Service": f"logs.{region}.amazonaws.com"}
