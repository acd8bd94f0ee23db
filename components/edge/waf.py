"""The rate-limited WAFv2 web ACL in front of the API, in the two scopes it runs in.

Creates one `aws.wafv2.WebAcl`: a rate-based rule per client (the phase's limit per five
minutes, evaluated first so a flood is blocked before the managed rules spend capacity on
it), the AWS managed common rule set, with its request-body size rule counting instead of
blocking, and the AWS managed Amazon IP reputation list and Known bad inputs rule groups. With
`WafLogging`, also its log group (`{name}-logs`, named `aws-waf-logs-...` as AWS WAF requires,
KMS-encrypted, expiring) and the `aws.wafv2.WebAclLoggingConfiguration` sending the ACL's logs
there with the Authorization and Cookie headers redacted. `CLOUDFRONT` scope exists only in
us-east-1, so the caller passes that region's provider for it (the log group lives there too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.edge.origin_access import VIEWER_ADDRESS_HEADER

RATE_WINDOW_SECONDS = 300  # the catalog states its limits per five minutes
COMMON_RULE_SET = "AWSManagedRulesCommonRuleSet"
# AWS WAF Developer Guide, "Baseline rule groups > Core rule set (CRS) managed rule group":
# SizeRestrictions_BODY blocks request bodies over 8 KB, which breaks uploads and large JSON
# POSTs to the API. Counted, it stays visible in the metrics and sampled requests; the rest of
# the rule set keeps blocking.
COUNTED_COMMON_RULES = ("SizeRestrictions_BODY",)
# AWS WAF Developer Guide, "Baseline rule groups" (Known bad inputs: request patterns known to be
# invalid or tied to exploits, Log4j among them) and "IP reputation rule groups" (Amazon IP
# reputation list: addresses Amazon threat intelligence sees in attacks). 200 + 25 WCUs: with the
# common rule set (700) and the rate rule the ACL stays under the 1,500 WCUs of the base price.
BASELINE_RULE_GROUPS = {"aws-ip-reputation": "AWSManagedRulesAmazonIpReputationList",
                        "aws-known-bad-inputs": "AWSManagedRulesKnownBadInputsRuleSet"}
LOG_GROUP_PREFIX = "aws-waf-logs-"
"""AWS WAF Developer Guide, "CloudWatch Logs": the log group's name must start with aws-waf-logs-."""
REDACTED_HEADERS = ("authorization", "cookie")
"""Credentials and sessions stay out of the logs (AWS WAF Developer Guide, "Log fields redaction")."""


@dataclass(frozen=True)
class WafLogging:
    retention_days: int
    """Days the log group keeps the ACL's logs (the environment profile's log retention)."""
    kms_key_arn: pulumi.Input[str]
    """Key encrypting the log group: a log key whose policy admits CloudWatch Logs of the ACL's region."""


def _visibility(metric: str) -> dict:
    return {"cloudwatch_metrics_enabled": True, "metric_name": metric, "sampled_requests_enabled": True}


def _rate_statement(limit: int, client_key: Literal["IP", "FORWARDED_IP"]):
    forwarded = None
    if client_key == "FORWARDED_IP":
        # The viewer address CloudFront's function writes, not X-Forwarded-For: AWS WAF reads the
        # first address of X-Forwarded-For, which the client chooses (CloudFront appends the real
        # one). AWS WAF API Reference, ForwardedIPConfig: without the header the rule does not
        # apply at all; every request reaching the load balancer comes through a CloudFront
        # behaviour that sets it (components/edge/edge.py), and the listener refuses the rest.
        forwarded = aws.wafv2.WebAclRuleStatementRateBasedStatementForwardedIpConfigArgs(
            header_name=VIEWER_ADDRESS_HEADER, fallback_behavior="MATCH")
    return aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
        limit=limit, aggregate_key_type=client_key, evaluation_window_sec=RATE_WINDOW_SECONDS,
        forwarded_ip_config=forwarded)


def _common_rule_set():
    waf = aws.wafv2
    return waf.WebAclRuleStatementManagedRuleGroupStatementArgs(
        vendor_name="AWS", name=COMMON_RULE_SET,
        rule_action_overrides=[
            waf.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideArgs(
                name=rule,
                action_to_use=waf.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseArgs(
                    count=waf.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseCountArgs()),
            )
            for rule in COUNTED_COMMON_RULES
        ])


def _managed_group(rule: str, group: str, priority: int, acl_name: str):
    """Rule `rule` running AWS's managed rule group `group` as AWS configured it (blocking)."""
    waf = aws.wafv2
    return waf.WebAclRuleArgs(
        name=rule,
        priority=priority,
        override_action=waf.WebAclRuleOverrideActionArgs(none=waf.WebAclRuleOverrideActionNoneArgs()),
        statement=waf.WebAclRuleStatementArgs(managed_rule_group_statement=waf.WebAclRuleStatementManagedRuleGroupStatementArgs(
            vendor_name="AWS", name=group)),
        visibility_config=waf.WebAclRuleVisibilityConfigArgs(**_visibility(f"{acl_name}-{rule}")),
    )


def _log(name: str, acl: aws.wafv2.WebAcl, logging: WafLogging, opts: pulumi.ResourceOptions) -> None:
    # The name is a prefix plus Pulumi's suffix: unique per stack, and the required prefix. AWS WAF
    # adds the log group resource policy letting log delivery write (AWS WAF Developer Guide,
    # "CloudWatch Logs", permissions): a CloudWatch Logs account has at most 10 such policies per
    # region, so the stack does not add one per ACL.
    group = aws.cloudwatch.LogGroup(f"{name}-logs", aws.cloudwatch.LogGroupArgs(
        name_prefix=f"{LOG_GROUP_PREFIX}{name}-",
        retention_in_days=logging.retention_days,
        kms_key_id=logging.kms_key_arn,
    ), opts)
    waf = aws.wafv2
    aws.wafv2.WebAclLoggingConfiguration(name, waf.WebAclLoggingConfigurationArgs(
        resource_arn=acl.arn,
        log_destination_configs=[group.arn],
        redacted_fields=[waf.WebAclLoggingConfigurationRedactedFieldArgs(
            single_header=waf.WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs(name=header))
            for header in REDACTED_HEADERS],
    ), opts)


def rate_limited_web_acl(
    name: str,
    scope: Literal["REGIONAL", "CLOUDFRONT"],
    limit: int,
    client_key: Literal["IP", "FORWARDED_IP"],
    opts: pulumi.ResourceOptions,
    logging: WafLogging | None = None,
) -> aws.wafv2.WebAcl:
    """Web ACL `name` counting requests per client by `client_key` (the source IP, or the
    viewer address CloudFront's function forwards in `VIEWER_ADDRESS_HEADER`)."""
    waf = aws.wafv2
    acl = waf.WebAcl(name, waf.WebAclArgs(
        scope=scope,
        description="QNom API: per-client rate limit and AWS common protections",
        default_action=waf.WebAclDefaultActionArgs(allow=waf.WebAclDefaultActionAllowArgs()),
        rules=[
            waf.WebAclRuleArgs(
                name="rate-limit-per-ip",
                priority=0,
                action=waf.WebAclRuleActionArgs(block=waf.WebAclRuleActionBlockArgs()),
                statement=waf.WebAclRuleStatementArgs(rate_based_statement=_rate_statement(limit, client_key)),
                visibility_config=waf.WebAclRuleVisibilityConfigArgs(**_visibility(f"{name}-rate-limit")),
            ),
            waf.WebAclRuleArgs(
                name="aws-common-rule-set",
                priority=1,
                override_action=waf.WebAclRuleOverrideActionArgs(none=waf.WebAclRuleOverrideActionNoneArgs()),
                statement=waf.WebAclRuleStatementArgs(managed_rule_group_statement=_common_rule_set()),
                visibility_config=waf.WebAclRuleVisibilityConfigArgs(**_visibility(f"{name}-common")),
            ),
            *(_managed_group(rule, group, priority, name)
              for priority, (rule, group) in enumerate(BASELINE_RULE_GROUPS.items(), start=2)),
        ],
        visibility_config=waf.WebAclVisibilityConfigArgs(**_visibility(name)),
    ), opts)
    if logging is not None:
        _log(name, acl, logging, opts)
    return acl
