"""The rate-limited WAFv2 web ACL in front of the API, in the two scopes it runs in.

Creates one `aws.wafv2.WebAcl`: a rate-based rule per client (the phase's limit per five
minutes, evaluated first so a flood is blocked before the managed rules spend capacity on
it) and the AWS managed common rule set, with its request-body size rule counting instead of
blocking. `CLOUDFRONT` scope exists only in us-east-1, so the caller passes that region's
provider for it.
"""

from __future__ import annotations

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


def rate_limited_web_acl(
    name: str,
    scope: Literal["REGIONAL", "CLOUDFRONT"],
    limit: int,
    client_key: Literal["IP", "FORWARDED_IP"],
    opts: pulumi.ResourceOptions,
) -> aws.wafv2.WebAcl:
    """Web ACL `name` counting requests per client by `client_key` (the source IP, or the
    viewer address CloudFront's function forwards in `VIEWER_ADDRESS_HEADER`)."""
    waf = aws.wafv2
    return waf.WebAcl(name, waf.WebAclArgs(
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
        ],
        visibility_config=waf.WebAclVisibilityConfigArgs(**_visibility(name)),
    ), opts)
