"""Edge component through the offline engine: a small program builds `Edge` alone, with stub
load balancers and explicit providers, for a phase, environment and domain taken from the
stack config (the same settings the real program reads)."""

from __future__ import annotations

import textwrap

import pytest

from components.edge.edge import EdgeArgs, _check
from phases.catalog import load_phase
from phases.environment import PROFILES
from qnom.engine import run_program
from tests.support import Plan, stack_config

PROGRAM = """
    import pulumi
    import pulumi_aws as aws

    from components.edge.edge import ApiOrigin, Edge, EdgeArgs
    from phases.settings import read_pulumi_config, settings_from_config

    settings = settings_from_config(read_pulumi_config(), stack=pulumi.get_stack())
    phase = settings.phase
    providers = {region: aws.Provider(f"aws-{region}", aws.ProviderArgs(region=region))
                 for region in ("us-east-1", "us-west-2", "eu-west-1")}
    edge = Edge("edge", EdgeArgs(
        cdn=phase.cdn,
        rate_limit_per_5min=phase.api.rate_limit_per_5min,
        profile=settings.profile,
        api_origins=[ApiOrigin(spec.name, f"qnom-{spec.name}.{spec.name}.elb.amazonaws.com")
                     for spec in phase.regions],
        provider=providers["us-east-1"],
        health_path=phase.api.health_check.path,
        domain=settings.domain,
        certificate_arn=CERTIFICATE if settings.domain else None,
    ))
    pulumi.export("url", edge.url)
    pulumi.export("webAclArn", edge.web_acl_arn)
"""
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0f0e0d0c-stub"
DOMAIN = "api.example.com"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    path = tmp_path_factory.mktemp("edge-program") / "__main__.py"
    path.write_text(textwrap.dedent(PROGRAM).replace("CERTIFICATE", repr(CERTIFICATE)))
    return path


@pytest.fixture(scope="module")
def edge(program):
    def build(phase: int, environment: str = "prod", **settings) -> Plan:
        # No domain unless a test gives one (stack_config gives prod the prod stack's).
        config = stack_config(environment, phase, **{"domain": None, **settings})
        return Plan(run_program(environment, config, program=program))
    return build


def _distribution(plan: Plan):
    return plan.named("edge-cdn", DISTRIBUTION)


def _origin(distribution, origin_id: str) -> dict:
    return next(o for o in distribution.inputs["origins"] if o["originId"] == origin_id)


def _behaviours(distribution) -> list[dict]:
    return [distribution.inputs["defaultCacheBehavior"], *distribution.inputs["orderedCacheBehaviors"]]


@pytest.mark.parametrize("phase", [1, 3])
def test_viewers_are_redirected_to_https_on_every_behaviour(edge, phase):
    behaviours = _behaviours(_distribution(edge(phase, domain=DOMAIN)))
    assert len(behaviours) == (2 if phase == 1 else 3)
    assert {b["viewerProtocolPolicy"] for b in behaviours} == {"redirect-to-https"}


def test_http2_http3_and_ipv6(edge):
    distribution = _distribution(edge(1))
    assert distribution.inputs["httpVersion"] == "http2and3"
    assert distribution.inputs["isIpv6Enabled"] is True
    assert distribution.inputs["enabled"] is True


def test_domain_brings_its_certificate_and_the_tls_floor(edge):
    distribution = _distribution(edge(2, domain=DOMAIN))
    assert distribution.inputs["aliases"] == ["api.example.com"]
    assert distribution.inputs["viewerCertificate"] == {
        "acmCertificateArn": CERTIFICATE,
        "sslSupportMethod": "sni-only",
        "minimumProtocolVersion": "TLSv1.2_2021",
    }
    assert edge(2, domain=DOMAIN).outputs["url"] == "https://api.example.com"


def test_without_a_domain_the_default_certificate_is_used(edge):
    distribution = _distribution(edge(2))
    assert "aliases" not in distribution.inputs
    assert distribution.inputs["viewerCertificate"] == {"cloudfrontDefaultCertificate": True}
    assert edge(2).outputs["url"] == "[unknown]"  # https:// + the distribution's own name


def test_api_origin_is_https_only_over_tls12_to_the_routed_name(edge):
    api = _origin(_distribution(edge(3, domain=DOMAIN)), "api")
    assert api["domainName"] == "origin.api.example.com"
    assert api["customOriginConfig"] == {
        "httpPort": 80, "httpsPort": 443, "originProtocolPolicy": "https-only", "originSslProtocols": ["TLSv1.2"],
    }


def test_without_a_domain_the_api_origin_is_the_primary_load_balancer_over_http(edge):
    api = _origin(_distribution(edge(1)), "api")
    assert api["domainName"] == "qnom-us-east-1.us-east-1.elb.amazonaws.com"
    assert api["customOriginConfig"]["originProtocolPolicy"] == "http-only"


def test_api_default_behaviour_caches_nothing_and_forwards_all_but_host(edge):
    default = _distribution(edge(2, domain=DOMAIN)).inputs["defaultCacheBehavior"]
    assert default["targetOriginId"] == "api"
    assert default["allowedMethods"] == ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
    assert default["cachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # Managed-CachingDisabled
    assert default["originRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac"  # AllViewerExceptHostHeader
    assert default["compress"] is False


def test_static_origin_goes_through_origin_access_control(edge):
    plan = edge(2)
    distribution = _distribution(plan)
    static = _origin(distribution, "static")
    access_control = plan.named("edge-static", "aws:cloudfront/originAccessControl:OriginAccessControl")
    bucket = plan.named("edge-static", "aws:s3/bucket:Bucket")
    assert "s3OriginConfig" not in static  # no legacy origin access identity
    assert static["originAccessControlId"] == "[unknown]"
    assert access_control.urn in distribution.dependencies["origins"]
    assert bucket.urn in distribution.dependencies["origins"]
    assert access_control.inputs == {
        "originAccessControlOriginType": "s3", "signingBehavior": "always", "signingProtocol": "sigv4",
        "description": "CloudFront reads the static-assets bucket with SigV4-signed requests",
    }


def test_static_bucket_policy_admits_only_this_distribution(edge):
    plan = edge(2)
    policy = plan.named("edge-static", "aws:s3/bucketPolicy:BucketPolicy")
    assert sorted(policy.dependencies["policy"]) == sorted([
        _distribution(plan).urn, plan.named("edge-static", "aws:s3/bucket:Bucket").urn])
    assert plan.named("edge-static", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").urn \
        in policy.options["dependsOn"]


def test_static_behaviour_is_cached_with_catalog_ttls_and_compressed(edge):
    plan = edge(2)
    static = next(b for b in _distribution(plan).inputs["orderedCacheBehaviors"] if b["pathPattern"] == "/static/*")
    assert static["targetOriginId"] == "static"
    assert static["compress"] is True
    assert static["allowedMethods"] == ["GET", "HEAD"]
    policy = plan.named("edge-static", "aws:cloudfront/cachePolicy:CachePolicy")
    assert policy.urn in _distribution(plan).dependencies["orderedCacheBehaviors"]
    assert (policy.inputs["minTtl"], policy.inputs["defaultTtl"], policy.inputs["maxTtl"]) == (0, 3600, 86400)
    parameters = policy.inputs["parametersInCacheKeyAndForwardedToOrigin"]
    assert parameters["enableAcceptEncodingGzip"] is True and parameters["enableAcceptEncodingBrotli"] is True


@pytest.mark.parametrize(("phase", "price_class"), [
    (1, "PriceClass_100"), (2, "PriceClass_100"), (3, "PriceClass_200"), (4, "PriceClass_All"),
])
def test_price_class_follows_the_phase(edge, phase, price_class):
    assert _distribution(edge(phase)).inputs["priceClass"] == price_class


@pytest.mark.parametrize("phase", [1, 2])
def test_no_origin_group_without_failover(edge, phase):
    distribution = _distribution(edge(phase, domain=DOMAIN))
    assert "originGroups" not in distribution.inputs
    assert [o["originId"] for o in distribution.inputs["origins"]] == ["api", "static"]


@pytest.mark.parametrize("phase", [3, 4])
def test_origin_group_fails_over_from_primary_to_secondary_on_5xx(edge, phase):
    distribution = _distribution(edge(phase, domain=DOMAIN))
    assert distribution.inputs["originGroups"] == [{
        "originId": "api-failover",
        "failoverCriteria": {"statusCodes": [500, 502, 503, 504]},
        "members": [{"originId": "api-us-east-1"}, {"originId": "api-us-west-2"}],
    }]
    assert _origin(distribution, "api-us-east-1")["domainName"] == "us-east-1.origin.api.example.com"
    assert _origin(distribution, "api-us-west-2")["domainName"] == "us-west-2.origin.api.example.com"
    # CloudFront refuses an origin group on a behaviour allowing writes: the group serves
    # read-only paths, and the API's default behaviour keeps every method.
    grouped = [b for b in _behaviours(distribution) if b["targetOriginId"] == "api-failover"]
    assert [(b["pathPattern"], b["allowedMethods"]) for b in grouped] == [("/health", ["GET", "HEAD", "OPTIONS"])]
    assert distribution.inputs["defaultCacheBehavior"]["targetOriginId"] == "api"


def test_no_web_acl_without_a_rate_limit(edge):
    plan = edge(1)
    assert plan.of_type(WEB_ACL) == []
    assert "webAclId" not in _distribution(plan).inputs
    assert plan.outputs.get("webAclArn") is None  # an output set to None is not exported


@pytest.mark.parametrize("phase", [2, 3, 4])
def test_web_acl_limits_each_client_ip_with_the_phase_rate(edge, phase):
    plan = edge(phase)
    web_acl = plan.named("edge-waf", WEB_ACL)
    assert web_acl.inputs["scope"] == "CLOUDFRONT"
    assert plan.region_of(web_acl) == "us-east-1"
    rate, common = web_acl.inputs["rules"][:2]  # then the baseline groups: tests/test_security_waf.py
    assert rate["statement"]["rateBasedStatement"] == {
        "limit": 2000, "aggregateKeyType": "IP", "evaluationWindowSec": 300}
    assert rate["action"] == {"block": {}}
    # Bodies over 8 KB (uploads, large POSTs) are counted, not blocked; the other rules block.
    assert common["statement"]["managedRuleGroupStatement"] == {
        "vendorName": "AWS", "name": "AWSManagedRulesCommonRuleSet",
        "ruleActionOverrides": [{"name": "SizeRestrictions_BODY", "actionToUse": {"count": {}}}]}
    assert common["overrideAction"] == {"none": {}}
    assert _distribution(plan).dependencies["webAclId"] == [web_acl.urn]
    assert plan.outputs["webAclArn"] == "[unknown]"


def test_security_headers_on_every_behaviour(edge):
    plan = edge(3, domain=DOMAIN)
    policy = plan.named("edge-security", "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
    headers = policy.inputs["securityHeadersConfig"]
    assert headers["strictTransportSecurity"] == {
        "accessControlMaxAgeSec": 31536000, "includeSubdomains": True, "preload": False, "override": True}
    assert headers["contentTypeOptions"] == {"override": True}
    assert headers["frameOptions"] == {"frameOption": "DENY", "override": True}
    assert headers["referrerPolicy"] == {"referrerPolicy": "strict-origin-when-cross-origin", "override": True}
    assert headers["xssProtection"] == {"protection": True, "modeBlock": True, "override": True}
    assert all("responseHeadersPolicyId" in b for b in _behaviours(_distribution(plan)))
    assert policy.urn in _distribution(plan).dependencies["defaultCacheBehavior"]


@pytest.mark.parametrize(("environment", "protect", "retention"), [("prod", True, 365), ("dev", False, 14)])
def test_buckets_are_private_encrypted_versioned_and_stateful(edge, environment, protect, retention):
    plan = edge(1, environment)
    for suffix, ownership in (("static", "BucketOwnerEnforced"), ("logs", "BucketOwnerPreferred")):
        name = f"edge-{suffix}"
        bucket = plan.named(name, "aws:s3/bucket:Bucket")
        assert bucket.options["protect"] is protect
        assert bucket.inputs["forceDestroy"] is not protect
        block = plan.named(name, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
        assert [block[key] for key in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                       "restrictPublicBuckets")] == [True] * 4
        encryption = plan.named(name, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
        # The log bucket: SSE-KMS under its own key (tests/test_security_logs.py).
        assert encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == (
            "AES256" if suffix == "static" else "aws:kms")
        versioning = plan.named(name, "aws:s3/bucketVersioning:BucketVersioning")
        assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
        controls = plan.named(name, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
        assert controls.inputs["rule"] == {"objectOwnership": ownership}
        policy = plan.named(name, "aws:s3/bucketPolicy:BucketPolicy")
        assert bucket.urn in policy.dependencies["policy"]
    lifecycle = plan.named("edge-logs", "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    assert lifecycle.inputs["rules"][0]["expiration"] == {"days": retention}


def test_log_bucket_grants_cloudfront_log_delivery_before_logging_starts(edge):
    plan = edge(2)
    acl = plan.named("edge-logs", "aws:s3/bucketAcl:BucketAcl")
    grants = acl.inputs["accessControlPolicy"]["grants"]
    delivery = {"id": "c4c1ede66af53448b93c283ce9448c4ba468c9432aa01d700d3878632f77d2d0", "type": "CanonicalUser"}
    assert {"grantee": delivery, "permission": "FULL_CONTROL"} in grants
    owner = acl.inputs["accessControlPolicy"]["owner"]["id"]
    assert {"grantee": {"id": owner, "type": "CanonicalUser"}, "permission": "FULL_CONTROL"} in grants
    assert plan.named("edge-logs", "aws:s3/bucketOwnershipControls:BucketOwnershipControls").urn \
        in acl.options["dependsOn"]
    distribution = _distribution(plan)
    assert distribution.inputs["loggingConfig"]["prefix"] == "cloudfront/"
    assert distribution.inputs["loggingConfig"]["includeCookies"] is False
    assert distribution.dependencies["loggingConfig"] == [plan.named("edge-logs", "aws:s3/bucket:Bucket").urn]
    assert acl.urn in distribution.options["dependsOn"]


def test_every_child_uses_the_us_east_1_provider(edge):
    plan = edge(4, domain=DOMAIN)
    component = plan.named("edge", "qnom:components:Edge")
    children = plan.children_of(component)
    assert len(children) == 31  # 2 buckets x 5, 5 bucket settings, the log bucket's key, the static
    # bucket's access-log bucket (x 4, its lifecycle and policy) and access logging, OAC, 2 policies,
    # WAF (+ its log key, log group and logging configuration), distribution
    assert {plan.region_of(child) for child in children} == {"us-east-1"}


def test_stateful_buckets_keep_urn_and_inputs_through_every_promotion(edge):
    def buckets(phase: int) -> dict:
        return {r.urn: r.inputs for r in edge(phase).of_type("aws:s3/bucket:Bucket")}
    first = buckets(1)
    assert len(first) == 3  # static, CloudFront logs, the static bucket's access logs
    assert all(buckets(phase) == first for phase in (2, 3, 4))


def _args(**changes) -> EdgeArgs:
    phase = load_phase(3)
    values = dict(cdn=phase.cdn, rate_limit_per_5min=2000, profile=PROFILES["prod"],
                  api_origins=[], provider=None, health_path="/health")
    values.update(changes)
    return EdgeArgs(**values)


@pytest.mark.parametrize(("changes", "message"), [
    ({}, "api_origins: at least one origin"),
    ({"domain": "api.example.com"}, "certificate_arn: required with a domain"),
    ({"certificate_arn": CERTIFICATE}, "certificate_arn: given without a domain"),
])
def test_invalid_arguments_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        _check(_args(**changes))


def test_failover_needs_a_secondary_origin():
    from components.edge.edge import ApiOrigin
    with pytest.raises(ValueError, match=r"cdn.origin_failover needs a secondary region's origin, got 1"):
        _check(_args(api_origins=[ApiOrigin("us-east-1", "alb")]))
