"""Web ACLs: the AWS managed IP reputation and Known bad inputs groups on every ACL, and logs to an
`aws-waf-logs-` log group (KMS-encrypted, expiring) with Authorization and Cookie redacted.
Asserted on the plans the other tests build: prod phase 3 (the edge's ACL and one per region)."""

from __future__ import annotations

import pytest

from tests.support import build

WEB_ACL = "aws:wafv2/webAcl:WebAcl"
LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ACLS = {"edge-waf": ("us-east-1", "edge-logs-key"), "us-east-1-api-waf": ("us-east-1", "us-east-1-logs-key"),
        "us-west-2-api-waf": ("us-west-2", "us-west-2-logs-key"), "eu-west-1-api-waf": ("eu-west-1", "eu-west-1-logs-key")}


def names(urns: list[str]) -> list[str]:
    return [urn.rsplit("::", 1)[1] for urn in urns]


@pytest.mark.parametrize("acl_name", ACLS)
def test_every_acl_runs_ip_reputation_and_known_bad_inputs_after_the_common_rules(acl_name):
    acl = build("prod", 3).named(acl_name, WEB_ACL)
    rules = acl.inputs["rules"]
    assert [(rule["name"], rule["priority"]) for rule in rules] == [
        ("rate-limit-per-ip", 0), ("aws-common-rule-set", 1), ("aws-ip-reputation", 2), ("aws-known-bad-inputs", 3)]
    for rule, group in zip(rules[2:], ("AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesKnownBadInputsRuleSet")):
        assert rule["statement"]["managedRuleGroupStatement"] == {"vendorName": "AWS", "name": group}
        assert rule["overrideAction"] == {"none": {}}  # the group's own actions: it blocks


@pytest.mark.parametrize("acl_name", ACLS)
def test_every_acl_logs_to_an_encrypted_aws_waf_logs_group_with_credentials_redacted(acl_name):
    plan = build("prod", 3)
    region, key = ACLS[acl_name]
    logging = plan.named(acl_name, LOGGING)
    assert names(logging.dependencies["resourceArn"]) == [acl_name]
    assert logging.inputs["redactedFields"] == [{"singleHeader": {"name": "authorization"}},
                                                {"singleHeader": {"name": "cookie"}}]
    [group_name] = names(logging.dependencies["logDestinationConfigs"])
    group = plan.named(group_name, LOG_GROUP)
    assert group.inputs["namePrefix"] == f"aws-waf-logs-{acl_name}-"
    assert group.inputs["retentionInDays"] == 365
    assert names(group.dependencies["kmsKeyId"]) == [key]
    assert plan.region_of(group) == plan.region_of(logging) == region


def test_no_acl_and_no_logs_in_phase_1():
    plan = build("prod", 1)
    assert plan.of_type(WEB_ACL) == [] and plan.of_type(LOGGING) == []
    assert not [key for key in plan.of_type("aws:kms/key:Key") if key.name == "edge-logs-key"]
