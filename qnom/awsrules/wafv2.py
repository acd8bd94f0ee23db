"""WAFv2: web ACLs for CloudFront."""

from __future__ import annotations

from collections.abc import Iterator

from policy.resource_types import WEB_ACL
from qnom.awsrules import Request, rule

CLOUDFRONT_REGION = "us-east-1"


@rule("wafv2-cloudfront-scope-region", WEB_ACL,
      error="WAFInvalidParameterException: Error reason: The scope is not valid., field: SCOPE_VALUE, "
            "parameter: CLOUDFRONT",
      # AWS WAFV2 API Reference, CreateWebACL, Scope: "To work with CloudFront, you must also specify
      # the Region US East (N. Virginia)"; the provider's docs for aws_wafv2_web_acl say the same of
      # the provider's region.
      source="https://docs.aws.amazon.com/waf/latest/APIReference/API_CreateWebACL.html")
def _cloudfront_scope_in_us_east_1(request: Request) -> Iterator[str]:
    if request.inputs.get("scope") == "CLOUDFRONT" and request.region != CLOUDFRONT_REGION:
        yield ("WAFInvalidParameterException: Error reason: The scope is not valid., field: SCOPE_VALUE, "
               f"parameter: CLOUDFRONT (the provider's region is {request.region}, not {CLOUDFRONT_REGION})")
