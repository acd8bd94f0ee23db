"""Closed origins: only CloudFront (and Route 53's health checkers) reach the load balancers, the
listeners forward only requests carrying an origin secret, and the regional rate limit keys on an
address the client cannot forge. Asserted on the plans the other tests build (prod phase 3 has the
domain api.qnom.io and three regions; dev phase 2 has no domain)."""

from __future__ import annotations

import pytest

from components.edge import origin_access
from qnom import mocks
from tests.support import build

INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LISTENER = "aws:lb/listener:Listener"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
CLOUDFRONT_LIST = "com.amazonaws.global.cloudfront.origin-facing"


def names(urns: list[str]) -> list[str]:
    return [urn.rsplit("::", 1)[1] for urn in urns]


@pytest.mark.parametrize("region", REGIONS)
def test_with_a_domain_the_alb_admits_cloudfront_on_443_and_route53_checkers_in_a_group_of_their_own(region):
    plan = build("prod", 3)
    rules = {rule.name: rule for rule in plan.of_type(INGRESS) if rule.name.startswith(f"{region}-api-alb")}
    assert sorted(rules) == [f"{region}-api-alb-health-in-443", f"{region}-api-alb-in-443"]
    cloudfront, checkers = rules[f"{region}-api-alb-in-443"], rules[f"{region}-api-alb-health-in-443"]
    assert cloudfront.inputs["prefixListId"] == mocks.prefix_list_id(region, CLOUDFRONT_LIST)
    assert checkers.inputs["prefixListId"] == mocks.prefix_list_id(region, f"com.amazonaws.{region}.route53-healthchecks")
    for rule in (cloudfront, checkers):
        assert (rule.inputs["fromPort"], rule.inputs["toPort"], rule.inputs["ipProtocol"]) == (443, 443, "tcp")
        assert not {"cidrIpv4", "cidrIpv6"} & set(rule.inputs)
    assert names(cloudfront.dependencies["securityGroupId"]) == [f"{region}-api-alb"]
    assert names(checkers.dependencies["securityGroupId"]) == [f"{region}-api-alb-health"]
    # Weights 55 + 25 exceed the 60 rules of one group: two groups on the one load balancer.
    balancer = plan.named(f"{region}-api-alb", "aws:lb/loadBalancer:LoadBalancer")
    assert sorted(names(balancer.dependencies["securityGroups"])) == [f"{region}-api-alb", f"{region}-api-alb-health"]


def test_without_a_domain_the_alb_admits_cloudfront_on_80_only():
    plan = build("dev", 2)
    rules = [rule for rule in plan.of_type(INGRESS) if rule.name.startswith("us-east-1-api-alb")]
    assert [(rule.name, rule.inputs["fromPort"], rule.inputs["prefixListId"]) for rule in rules] == [
        ("us-east-1-api-alb-in-80", 80, mocks.prefix_list_id("us-east-1", CLOUDFRONT_LIST))]
    assert plan.of_type("aws:ec2/securityGroup:SecurityGroup") and not any(
        group.name.endswith("-alb-health") for group in plan.of_type("aws:ec2/securityGroup:SecurityGroup"))


@pytest.mark.parametrize("environment, phase, listener", [("prod", 3, "us-east-1-api-https"),
                                                          ("dev", 2, "us-east-1-api-http")])
def test_the_forwarding_listener_refuses_what_lacks_an_origin_secret(environment, phase, listener):
    plan = build(environment, phase)
    forwarding = plan.named(listener, LISTENER)
    assert forwarding.inputs["defaultActions"] == [{"type": "fixed-response", "fixedResponse": {
        "contentType": "text/plain", "statusCode": "403", "messageBody": "Forbidden"}}]
    rule = plan.named("us-east-1-api-from-cloudfront", LISTENER_RULE)
    assert names(rule.dependencies["listenerArn"]) == [listener]
    assert rule.inputs["priority"] == 10 and rule.inputs["actions"][0]["type"] == "forward"
    [condition] = rule.inputs["conditions"]
    assert condition["httpHeader"]["httpHeaderName"] == "X-Origin-Verify"
    assert len(condition["httpHeader"]["values"]) == 2  # both secrets: a rotation never refuses CloudFront
    assert sorted(names(rule.dependencies["conditions"])) == ["platform-origin-secret-a", "platform-origin-secret-b"]


def test_route53_health_checks_reach_the_health_path_without_the_secret():
    plan = build("prod", 3)
    for region in REGIONS:
        rule = plan.named(f"{region}-api-health-checks", LISTENER_RULE)
        assert rule.inputs["conditions"] == [{"pathPattern": {"values": ["/health"]}}]
        assert rule.inputs["priority"] == 20
    # Without a domain there are no Route 53 health checks, and no such rule.
    assert not [rule for rule in build("dev", 2).of_type(LISTENER_RULE) if rule.name.endswith("-health-checks")]


def test_cloudfront_sends_the_active_secret_to_every_api_origin():
    plan = build("prod", 3)
    distribution = plan.named("edge-cdn", DISTRIBUTION)
    api = [origin for origin in distribution.inputs["origins"] if "customOriginConfig" in origin]
    assert len(api) == 3  # the routed name and the two failover members
    for origin in api:
        assert [header["name"] for header in origin["customHeaders"]] == ["X-Origin-Verify"]
    # The default slot is a: the distribution depends on secret a and not on b.
    assert "platform-origin-secret-a" in names(distribution.dependencies["origins"])
    assert "platform-origin-secret-b" not in names(distribution.dependencies["origins"])
    static = next(origin for origin in distribution.inputs["origins"] if origin["originId"] == "static")
    assert "customHeaders" not in static


def test_both_secrets_are_kept_in_secrets_manager_under_a_key_of_the_edge():
    plan = build("prod", 3)
    secret = plan.named("edge-origin-secret", "aws:secretsmanager/secret:Secret")
    assert names(secret.dependencies["kmsKeyId"]) == ["edge-secrets-key"]
    assert secret.options.get("protect") is True and secret.inputs["recoveryWindowInDays"] == 30
    version = plan.named("edge-origin-secret", "aws:secretsmanager/secretVersion:SecretVersion")
    assert sorted(names(version.dependencies["secretString"])) == [
        "platform-origin-secret-a", "platform-origin-secret-b"]
    assert plan.region_of(secret) == "us-east-1"


def test_the_slot_setting_picks_the_secret_cloudfront_sends():
    secrets = origin_access.OriginSecrets(values={"a": "first", "b": "second"}, active="b")
    assert secrets.sent == "second" and secrets.accepted == ["first", "second"]
    with pytest.raises(ValueError, match="'c' is not one of a, b"):
        origin_access.create_origin_secrets("platform", "c", None)


def test_every_api_behaviour_writes_the_viewer_address_the_regional_rate_limit_counts():
    plan = build("prod", 3)
    function = plan.named("edge-viewer-address", "aws:cloudfront/function:Function")
    assert function.inputs["runtime"] == "cloudfront-js-2.0" and function.inputs["publish"] is True
    assert "request.headers['x-viewer-address'] = { value: event.viewer.ip }" in function.inputs["code"]
    distribution = plan.named("edge-cdn", DISTRIBUTION).inputs
    api_behaviours = [distribution["defaultCacheBehavior"]] + [
        behaviour for behaviour in distribution["orderedCacheBehaviors"] if behaviour["targetOriginId"] != "static"]
    assert len(api_behaviours) == 2  # the default and the failover group's /health
    for behaviour in api_behaviours:
        assert [item["eventType"] for item in behaviour["functionAssociations"]] == ["viewer-request"]
    static = next(b for b in distribution["orderedCacheBehaviors"] if b["targetOriginId"] == "static")
    assert "functionAssociations" not in static
    for acl in plan.of_type("aws:wafv2/webAcl:WebAcl"):
        if acl.inputs["scope"] == "REGIONAL":
            config = acl.inputs["rules"][0]["statement"]["rateBasedStatement"]["forwardedIpConfig"]
            assert config["headerName"] == "X-Viewer-Address"
