"""Rules for the alerting path: alert topics KMS-encrypted with a key their publishers may use, and
alarms that notify someone or act."""

from __future__ import annotations

from pulumi_policy import Severity

from policy.framework import Check, References, Registry
from policy.resource_types import METRIC_ALARM, SNS_TOPIC
from policy.views import Resource, elements

RULES = Registry()
AWS_MANAGED_SNS_KEY = "alias/aws/sns"


@RULES.resource(
    id="sns-topic-cmk-encrypted",
    description="SNS topics are encrypted with a customer-managed KMS key (the AWS-managed key cannot admit CloudWatch).",
    severity=Severity.MEDIUM,
    resource_types=(SNS_TOPIC,),
    references=References(checkov=("CKV_AWS_26",), aws=("SNS.1",)),
)
def topic_encrypted(resource: Resource, check: Check):
    # A key of the stack is unknown until it exists, and set all the same: only the AWS-managed alias,
    # a literal, can be the wrong key, so an unknown value passes instead of leaving the check undecided.
    key = resource.get("kmsMasterKeyId")
    if not resource.has("kmsMasterKeyId"):
        yield "kmsMasterKeyId is not set: alert messages are stored unencrypted"
    elif key == AWS_MANAGED_SNS_KEY:
        # Its key policy cannot be changed, so CloudWatch alarms and Budgets cannot publish (Amazon SNS
        # Developer Guide, "Enable compatibility between event sources from AWS services and encrypted topics").
        yield "kmsMasterKeyId is alias/aws/sns: CloudWatch, Budgets and Cost Anomaly Detection cannot publish"


@RULES.resource(
    id="alarm-has-actions",
    description="Every CloudWatch alarm notifies a topic or acts (a scaling policy) when it fires.",
    severity=Severity.MEDIUM,
    resource_types=(METRIC_ALARM,),
    references=References(well_architected=("REL06-BP03",)),
)
def alarm_has_actions(resource: Resource, check: Check):
    if not list(elements(resource.require("alarmActions", []))):
        yield "alarmActions is empty: the alarm changes state and nobody hears of it"
