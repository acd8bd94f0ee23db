"""Resource rules for the edge: CloudFront distributions serve HTTPS with a modern TLS policy
and reach custom origins over HTTPS only."""

from __future__ import annotations

import re

from pulumi_policy import Severity

from policy.framework import Check, References, Registry
from policy.views import Resource, elements, lookup, truthy
from policy.resource_types import CLOUDFRONT_DISTRIBUTION

RULES = Registry()

WEAK_ORIGIN_PROTOCOLS = ("SSLv3", "TLSv1", "TLSv1.1")


@RULES.resource(
    id="cloudfront-viewer-https",
    description="CloudFront cache behaviors redirect viewers to HTTPS or accept HTTPS only.",
    severity=Severity.HIGH,
    resource_types=(CLOUDFRONT_DISTRIBUTION,),
    references=References(checkov=("CKV_AWS_34",), aws=("CloudFront.3",)),
)
def viewer_https(resource: Resource, check: Check):
    behaviors = [("defaultCacheBehavior", resource.require("defaultCacheBehavior.viewerProtocolPolicy"))]
    for index, _ in enumerate(elements(resource.require("orderedCacheBehaviors"))):
        behaviors.append((f"orderedCacheBehaviors[{index}]",
                          resource.require(f"orderedCacheBehaviors.{index}.viewerProtocolPolicy")))
    for label, policy in behaviors:
        if policy not in ("redirect-to-https", "https-only"):
            yield f"{label}.viewerProtocolPolicy is {policy!r}: viewers can use plain HTTP"


@RULES.resource(
    id="cloudfront-tls-minimum",
    description="CloudFront distributions with their own certificate require TLS 1.2 or later (SNI).",
    severity=Severity.HIGH,
    resource_types=(CLOUDFRONT_DISTRIBUTION,),
    references=References(checkov=("CKV_AWS_174",)),
)
def tls_minimum(resource: Resource, check: Check):
    if truthy(resource.require("viewerCertificate.cloudfrontDefaultCertificate", False)) is True:
        check.not_applicable("the default *.cloudfront.net certificate: CloudFront fixes its TLS policy")
    version = resource.require("viewerCertificate.minimumProtocolVersion")
    if not isinstance(version, str) or not re.fullmatch(r"TLSv1\.[23]_\d{4}", version):
        yield f"viewerCertificate.minimumProtocolVersion is {version!r}; use TLSv1.2_2021"
    if resource.require("viewerCertificate.sslSupportMethod") == "vip":
        yield "viewerCertificate.sslSupportMethod is vip: dedicated IPs cost $600/month; use sni-only"


@RULES.resource(
    id="cloudfront-origin-https",
    description="CloudFront reaches custom origins over HTTPS only, without deprecated SSL/TLS versions.",
    severity=Severity.HIGH,
    resource_types=(CLOUDFRONT_DISTRIBUTION,),
    references=References(checkov=("CKV2_AWS_72", "CKV2_AWS_54"), aws=("CloudFront.9", "CloudFront.10")),
)
def origin_https(resource: Resource, check: Check):
    for index, origin in enumerate(elements(resource.require("origins"))):
        if lookup(origin, "customOriginConfig") is None:
            continue  # S3 and VPC origins are reached over AWS's own TLS endpoints
        name = lookup(origin, "originId")
        policy = resource.require(f"origins.{index}.customOriginConfig.originProtocolPolicy")
        if policy != "https-only":
            yield f"origin {name!r} uses originProtocolPolicy {policy!r}: traffic to the origin can be clear text"
        protocols = elements(resource.require(f"origins.{index}.customOriginConfig.originSslProtocols"))
        weak = [item for item in protocols if item in WEAK_ORIGIN_PROTOCOLS]
        if weak:
            yield f"origin {name!r} allows {', '.join(weak)}"
