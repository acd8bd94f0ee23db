"""The edge in the real program: CloudFront in every phase, Route 53 and certificates with a
domain, all global pieces under `Platform` through the us-east-1 provider."""

from __future__ import annotations

import pytest

from tests.support import build

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
RECORD = "aws:route53/record:Record"
US_EAST_1 = "urn:pulumi:prod::qnom::pulumi:providers:aws::aws-us-east-1"
# The prod stack file's own domain: these plans are the ones the policy and plan-document tests run too.
PROD_DOMAIN = "api.qnom.io"


FAILOVER_ORIGINS = ["api", "api-us-east-1", "api-us-west-2", "static"]


@pytest.mark.parametrize(("phase", "price_class", "origins"), [
    (1, "PriceClass_100", ["api", "static"]), (2, "PriceClass_100", ["api", "static"]),
    (3, "PriceClass_200", FAILOVER_ORIGINS), (4, "PriceClass_All", FAILOVER_ORIGINS)])
def test_cloudfront_in_every_phase(phase, price_class, origins):
    plan = build("prod", phase)
    [distribution] = plan.of_type(DISTRIBUTION)
    assert distribution.inputs["priceClass"] == price_class
    assert distribution.provider == US_EAST_1
    assert distribution.inputs["defaultCacheBehavior"]["viewerProtocolPolicy"] == "redirect-to-https"
    # From phase 3 an origin group fails over from the primary's ALB to a secondary's.
    assert [o["originId"] for o in distribution.inputs["origins"]] == origins
    assert ("originGroups" in distribution.inputs) is (phase >= 3)
    edge = plan.named("edge", "qnom:components:Edge")
    assert edge.parent == plan.named("platform", "qnom:components:Platform").urn
    # The prod stack serves its domain: the DNS layer hangs under Platform too (without a domain
    # there is none: test_edge.py's and test_api_tier.py's no-domain cases).
    assert plan.named("dns", "qnom:components:Dns").parent == edge.parent


def test_public_url_is_the_domain_or_the_distribution():
    assert build("prod", 2, domain=PROD_DOMAIN).outputs["publicUrl"] == "https://api.qnom.io"
    assert build("prod", 2, domain=None).outputs["publicUrl"] == "[unknown]"  # the *.cloudfront.net name AWS assigns


def test_origin_routing_over_the_regions_with_health_checks():
    # The default (latency) through the whole platform; the weighted mode, from the same setting,
    # is test_dns.py's (the Dns component wired as the platform wires it, on a small program).
    plan = build("prod", 3)
    routed = [r for r in plan.of_type(RECORD) if r.inputs["name"] == "origin.api.qnom.io"]
    assert {r.inputs["setIdentifier"]: r.inputs["latencyRoutingPolicies"] for r in routed} == {
        "us-east-1": [{"region": "us-east-1"}], "us-west-2": [{"region": "us-west-2"}],
        "eu-west-1": [{"region": "eu-west-1"}]}
    checks = plan.of_type("aws:route53/healthCheck:HealthCheck")
    assert len(checks) == 3
    for check in checks:
        assert (check.inputs["type"], check.inputs["resourcePath"], check.inputs["port"]) == ("HTTPS", "/health", 443)
    assert all(r.dependencies["healthCheckId"] for r in routed)


def test_single_region_gets_a_plain_alias():
    plan = build("prod", 2, domain=PROD_DOMAIN)
    [routed] = [r for r in plan.of_type(RECORD) if r.inputs["name"] == "origin.api.qnom.io"]
    assert "setIdentifier" not in routed.inputs and "healthCheckId" not in routed.inputs


def test_cloudfront_uses_the_us_east_1_certificate_with_a_domain():
    plan = build("prod", 3)
    [distribution] = plan.of_type(DISTRIBUTION)
    certificate = distribution.inputs["viewerCertificate"]
    assert certificate["minimumProtocolVersion"] == "TLSv1.2_2021"
    assert certificate["sslSupportMethod"] == "sni-only"
    validation = plan.named("dns-cert-cloudfront", "aws:acm/certificateValidation:CertificateValidation")
    assert plan.region_of(validation) == "us-east-1"
    assert distribution.inputs["aliases"] == ["api.qnom.io"]
