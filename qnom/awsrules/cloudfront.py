"""CloudFront: cache behaviors that target an origin group; the size of a CloudFront Function."""

from __future__ import annotations

from collections.abc import Iterator

from policy.resource_types import CLOUDFRONT_DISTRIBUTION, CLOUDFRONT_FUNCTION
from qnom.awsrules import Request, rule

ORIGIN_GROUP_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@rule("cloudfront-origin-group-methods", CLOUDFRONT_DISTRIBUTION,
      error="The parameter AllowedMethods cannot include POST, PUT, PATCH, or DELETE for a cached behavior "
            "associated with an origin group.",
      # AWS CloudFront Developer Guide, "Optimize high availability with CloudFront origin failover":
      # CloudFront fails over only for GET, HEAD and OPTIONS, and refuses a behavior that targets an
      # origin group with other methods (the error as AWS answers it: aws/aws-cdk#32450).
      source="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/high_availability_origin_failover.html")
def _origin_group_methods(request: Request) -> Iterator[str]:
    groups = {group.get("originId") for group in request.inputs.get("originGroups") or []}
    behaviors = [request.inputs.get("defaultCacheBehavior") or {}, *(request.inputs.get("orderedCacheBehaviors") or [])]
    for behavior in behaviors:
        methods = set(behavior.get("allowedMethods") or [])
        if behavior.get("targetOriginId") in groups and methods - ORIGIN_GROUP_METHODS:
            where = behavior.get("pathPattern", "default cache behavior")
            yield ("InvalidArgument: The parameter AllowedMethods cannot include POST, PUT, PATCH, or DELETE for a "
                   f"cached behavior associated with an origin group. ({where} -> {behavior['targetOriginId']}: "
                   f"{', '.join(sorted(methods - ORIGIN_GROUP_METHODS))})")


FUNCTION_CODE_LIMIT = 10 * 1024


@rule("cloudfront-function-size", CLOUDFRONT_FUNCTION,
      error="FunctionSizeLimitExceeded: The function is too large.",
      # Amazon CloudFront Developer Guide, "Quotas on CloudFront Functions": maximum function size
      # 10 KB; CloudFront API Reference, CreateFunction, errors: FunctionSizeLimitExceeded (413).
      source="https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateFunction.html")
def _function_size(request: Request) -> Iterator[str]:
    code = request.inputs.get("code")
    if isinstance(code, str) and len(code.encode()) > FUNCTION_CODE_LIMIT:
        yield f"FunctionSizeLimitExceeded: The function is too large. ({len(code.encode())} bytes, at most {FUNCTION_CODE_LIMIT})"
