"""The edge of the platform, in front of every region and present in every phase.

Creates, all through the us-east-1 provider:
- a CloudFront distribution (HTTP/2 and HTTP/3, IPv6, viewers redirected to HTTPS, the phase's
  price class, standard access logs) whose default behaviour sends the API to the regions'
  load balancers with caching disabled, and whose `/static/*` behaviour serves a private S3
  bucket through origin access control, cached with the catalog's TTLs and compressed;
- from the phase with `cdn.origin_failover`, an origin group failing over from the primary
  region's origin to a secondary's on 500/502/503/504, serving the read-only failover paths;
- the static-assets bucket (versioned, SSE-S3, all public access blocked, ACLs disabled,
  TLS only, readable by this distribution alone, S3 server access logs into `{name}-access-logs`
  under `s3/static/`) and its bucket policy;
- the access-log bucket (ACLs enabled for CloudFront's standard logging, SSE-KMS under a key of
  its own, `{name}-log-bucket-key`, expiring logs after the environment's retention), the
  static bucket's S3 access-log bucket (`{name}-access-logs`, SSE-S3), the origin access control, the static cache policy and a
  response headers policy with the security headers;
- from the phase with an API rate limit, a CLOUDFRONT-scope WAF web ACL: a rate-based rule per
  client IP, the AWS managed common rule set, IP reputation and Known bad inputs groups, logging
  to an `aws-waf-logs-` log group encrypted with the edge's log key (`{name}-logs-key`);
- with `origin_secrets`: both origin secrets in Secrets Manager (`{name}-origin-secret`, under a
  key of its own, `{name}-secrets-key`), the one `qnom:originSecretSlot` names sent to every API
  origin in `X-Origin-Verify`, and a viewer-request CloudFront Function on the API behaviours
  writing the viewer's address into `X-Viewer-Address` (`{name}-viewer-address`), the regional
  rate limit's key (components/edge/origin_access.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_aws as aws

from components import defaults
from components import policy_documents as documents
from components.data.buckets import create_private_bucket
from components.defaults import (
    ABORT_INCOMPLETE_UPLOAD_DAYS,
    HSTS_MAX_AGE_SECONDS,
    ORIGIN_TLS_PROTOCOLS,
    VIEWER_MINIMUM_TLS,
)
from components.edge import origin_access
from components.edge.dns import origin_name, regional_origin_name
from components.edge.waf import WafLogging, rate_limited_web_acl
from phases.environment import EnvironmentProfile
from phases.models import Cdn

# AWS managed policies, referenced by their documented, fixed ids.
CACHING_DISABLED_POLICY_ID = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # Managed-CachingDisabled
ALL_VIEWER_EXCEPT_HOST_POLICY_ID = "b689b0a8-53d0-40ab-baf2-68738e2966ac"  # Managed-AllViewerExceptHostHeader

STATIC_PATH = "/static/*"
STATIC_ORIGIN_ID = "static"
API_ORIGIN_ID = "api"
FAILOVER_GROUP_ID = "api-failover"
FAILOVER_STATUS_CODES = [500, 502, 503, 504]
ALL_METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
READ_METHODS = ["GET", "HEAD", "OPTIONS"]
CACHED_METHODS = ["GET", "HEAD"]
LOG_PREFIX = "cloudfront/"
STATIC_ACCESS_LOG_PREFIX = "s3/static/"


@dataclass(frozen=True)
class ApiOrigin:
    region: str
    """AWS region of the load balancer."""
    alb_dns_name: pulumi.Input[str]
    """DNS name of the region's ALB; CloudFront connects to it only when there is no domain."""


@dataclass(frozen=True)
class EdgeArgs:
    cdn: Cdn
    """The phase's CDN settings: price class, static TTLs, origin failover."""
    rate_limit_per_5min: int | None
    """The phase's WAF rate limit per client IP and 5 minutes; None: no web ACL."""
    profile: EnvironmentProfile
    """Environment profile: protection of the buckets, log retention, force-destroy."""
    api_origins: Sequence[ApiOrigin]
    """One per region in catalog order, primary first."""
    provider: aws.Provider
    """The us-east-1 provider: a CLOUDFRONT-scope web ACL and CloudFront's certificate live there."""
    health_path: str
    """The API's health path (catalog api.health_check.path), served through the failover group."""
    domain: str | None = None
    """Public API name (qnom:domain); None: the distribution's own cloudfront.net name."""
    certificate_arn: pulumi.Input[str] | None = None
    """Validated us-east-1 ACM certificate for `domain`; required with a domain, else None."""
    read_only_paths: Sequence[str] = ()
    """More read-only (GET/HEAD/OPTIONS) API path patterns served through the failover group; default none."""
    origin_secrets: origin_access.OriginSecrets | None = None
    """The origin secrets the load balancers accept; CloudFront sends the active one. Default None:
    no origin header, no secret, no viewer-address function."""


class Edge(pulumi.ComponentResource):
    distribution_id: pulumi.Output[str]
    distribution_arn: pulumi.Output[str]
    domain_name: pulumi.Output[str]
    hosted_zone_id: pulumi.Output[str]
    static_bucket_name: pulumi.Output[str]
    log_bucket_name: pulumi.Output[str]
    web_acl_arn: pulumi.Output[str] | None
    origin_secret_arn: pulumi.Output[str] | None
    url: pulumi.Output[str]

    def __init__(self, name: str, args: EdgeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("qnom:components:Edge", name, None, opts)
        _check(args)
        self._name, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self, provider=args.provider)

        static_bucket, static_public_block = self._create_static_bucket()
        log_bucket, log_acl = self._create_log_bucket(static_bucket)
        access_control = self._create_origin_access_control()
        static_cache = self._create_static_cache_policy()
        headers = self._create_security_headers()
        web_acl = self._create_web_acl()
        self._origin_secret = self._store_origin_secrets()
        self._viewer_address = self._create_viewer_address_function()
        distribution = self._create_distribution(static_bucket, access_control, static_cache, headers,
                                                 log_bucket, log_acl, web_acl)
        self._allow_distribution_reads(static_bucket, static_public_block, distribution)

        self.distribution_id = distribution.id
        self.distribution_arn = distribution.arn
        self.domain_name = distribution.domain_name
        self.hosted_zone_id = distribution.hosted_zone_id
        self.static_bucket_name = static_bucket.bucket
        self.log_bucket_name = log_bucket.bucket
        self.web_acl_arn = web_acl.arn if web_acl else None
        self.origin_secret_arn = self._origin_secret.arn if self._origin_secret else None
        self.url = (pulumi.Output.from_input(f"https://{args.domain}") if args.domain
                    else distribution.domain_name.apply(lambda domain: f"https://{domain}"))
        self.register_outputs({
            "distribution_id": self.distribution_id,
            "distribution_arn": self.distribution_arn,
            "domain_name": self.domain_name,
            "hosted_zone_id": self.hosted_zone_id,
            "static_bucket_name": self.static_bucket_name,
            "log_bucket_name": self.log_bucket_name,
            "web_acl_arn": self.web_acl_arn,
            "origin_secret_arn": self.origin_secret_arn,
            "url": self.url,
        })

    # --- buckets -------------------------------------------------------------------------

    def _create_private_bucket(self, suffix: str, object_ownership: str, encryption: list | None = None,
                               versioned: bool = True) -> tuple[
            aws.s3.Bucket, aws.s3.BucketPublicAccessBlock, aws.s3.BucketOwnershipControls]:
        # Stateful: the bucket keeps this logical name, parent and provider in every phase, and
        # its physical name is Pulumi's auto-name (a changed bucket name replaces the bucket).
        # SSE-S3 by default: OAC reads the static bucket without a key policy, and S3 server access
        # logs can only be delivered to an SSE-S3 bucket.
        return create_private_bucket(f"{self._name}-{suffix}", self._args.profile, self._child,
                                     object_ownership=object_ownership, encryption=encryption, versioned=versioned)

    def _create_static_bucket(self) -> tuple[aws.s3.Bucket, aws.s3.BucketPublicAccessBlock]:
        # ACLs disabled: only the bucket policy grants access, and only to this distribution.
        bucket, public_block, _ = self._create_private_bucket("static", "BucketOwnerEnforced")
        aws.s3.BucketLifecycleConfiguration(f"{self._name}-static", aws.s3.BucketLifecycleConfigurationArgs(
            bucket=bucket.id,
            rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="abort-incomplete-uploads",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=ABORT_INCOMPLETE_UPLOAD_DAYS),
            )],
        ), self._child)
        return bucket, public_block

    def _create_log_bucket(self, static_bucket: aws.s3.Bucket) -> tuple[aws.s3.Bucket, aws.s3.BucketAcl]:
        # CloudFront's standard logging writes through the bucket ACL: AWS documents that the
        # log bucket must have ACLs enabled (object ownership BucketOwnerPreferred) and grant
        # the awslogsdelivery account FULL_CONTROL. Standard logging is chosen over the newer
        # CloudWatch log delivery because AWS Config (cloudfront-accesslogs-enabled, Security
        # Hub CloudFront.5) only recognises standard logging. The grant names one AWS account,
        # not the public, so every public-access block stays on.
        invoke = pulumi.InvokeOutputOptions(parent=self, provider=self._args.provider)
        # SSE-KMS with a key of the edge: CloudFront's standard logging writes to it once the key
        # policy lets its log delivery generate data keys (CloudFront Developer Guide, "Configure
        # standard logging (legacy)", permissions). The key's policy names the bucket, which names
        # the key: the bucket's ARN (from its name) reaches the policy through a deferred output. The encryption
        # changes in place (PutBucketEncryption); earlier logs keep SSE-S3.
        bucket_arn, resolve_bucket_arn = pulumi.deferred_output()
        account_id = aws.get_caller_identity_output(opts=invoke).account_id
        self.log_key = aws.kms.Key(f"{self._name}-log-bucket-key", defaults.data_key_args(
            f"{self._name} CloudFront logs", self._args.profile, documents.to_json(documents.cloudfront_log_key_policy(
                account_id, aws.get_region_output(opts=invoke).region, bucket_arn))),
            defaults.stateful_options(self._child, self._args.profile))
        bucket, public_block, ownership = self._create_private_bucket(
            "logs", "BucketOwnerPreferred", encryption=defaults.bucket_kms_encryption_rules(self.log_key.arn))
        # From the bucket's name (auto-named, so known in a preview), not its ARN (known only once
        # S3 has created it): the key policy, and the checks run on it, are known in a preview.
        resolve_bucket_arn(pulumi.Output.from_input(documents.s3_bucket_arn(bucket.bucket)))
        owner = aws.s3.get_canonical_user_id_output(opts=invoke)
        delivery = aws.cloudfront.get_log_delivery_canonical_user_id_output(opts=invoke)
        grant = aws.s3.BucketAclAccessControlPolicyGrantArgs
        grantee = aws.s3.BucketAclAccessControlPolicyGrantGranteeArgs
        acl = aws.s3.BucketAcl(f"{self._name}-logs", aws.s3.BucketAclArgs(
            bucket=bucket.id,
            access_control_policy=aws.s3.BucketAclAccessControlPolicyArgs(
                owner=aws.s3.BucketAclAccessControlPolicyOwnerArgs(id=owner.id),
                grants=[
                    grant(grantee=grantee(id=owner.id, type="CanonicalUser"), permission="FULL_CONTROL"),
                    grant(grantee=grantee(id=delivery.id, type="CanonicalUser"), permission="FULL_CONTROL"),
                ],
            ),
        ), pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(depends_on=[ownership, public_block])))
        aws.s3.BucketLifecycleConfiguration(f"{self._name}-logs", aws.s3.BucketLifecycleConfigurationArgs(
            bucket=bucket.id,
            rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-access-logs",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                    days=self._args.profile.log_retention_days),
                # An expired log becomes a noncurrent version in a versioned bucket; drop it a
                # day later instead of keeping it for as long again.
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=1),
                abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=ABORT_INCOMPLETE_UPLOAD_DAYS),
            )],
        ), self._child)
        aws.s3.BucketPolicy(f"{self._name}-logs", aws.s3.BucketPolicyArgs(
            bucket=bucket.id,
            policy=documents.to_json(documents.bucket_tls_only_policy(bucket.arn)),
        ), pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(depends_on=[public_block])))
        self._log_static_access(static_bucket, account_id)
        return bucket, acl

    def _log_static_access(self, static_bucket: aws.s3.Bucket, account_id: pulumi.Input[str]) -> None:
        # A bucket of its own: S3 server access logs go only to an SSE-S3 bucket in the source's
        # region (Amazon S3 User Guide, "Enabling Amazon S3 server access logging": "SSE-KMS is not
        # supported" for the destination), and the CloudFront log bucket is SSE-KMS. The logging
        # service writes under the bucket policy, limited to this source bucket and account.
        profile = self._args.profile
        bucket, public_block, _ = self._create_private_bucket("access-logs", "BucketOwnerEnforced", versioned=False)
        aws.s3.BucketLifecycleConfiguration(f"{self._name}-access-logs", aws.s3.BucketLifecycleConfigurationArgs(
            bucket=bucket.id,
            rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-access-logs", status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=profile.log_retention_days),
            )],
        ), self._child)
        policy = aws.s3.BucketPolicy(f"{self._name}-access-logs", aws.s3.BucketPolicyArgs(
            bucket=bucket.id,
            policy=documents.to_json(documents.access_log_bucket_policy(
                bucket.arn, STATIC_ACCESS_LOG_PREFIX, static_bucket.arn, account_id)),
        ), pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(depends_on=[public_block])))
        aws.s3.BucketLogging(f"{self._name}-static", aws.s3.BucketLoggingInitArgs(
            bucket=static_bucket.id,
            target_bucket=bucket.id,
            target_prefix=STATIC_ACCESS_LOG_PREFIX,
        ), pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(depends_on=[policy])))

    def _allow_distribution_reads(self, bucket: aws.s3.Bucket, public_block: aws.s3.BucketPublicAccessBlock,
                                  distribution: aws.cloudfront.Distribution) -> None:
        # Only the keys the /static/* behaviour can reach, and only by this distribution.
        policy = documents.to_json(documents.cloudfront_read_policy(bucket.arn, STATIC_PATH, distribution.arn))
        aws.s3.BucketPolicy(f"{self._name}-static", aws.s3.BucketPolicyArgs(bucket=bucket.id, policy=policy),
                            pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(depends_on=[public_block])))

    # --- CloudFront policies and WAF -----------------------------------------------------

    def _create_origin_access_control(self) -> aws.cloudfront.OriginAccessControl:
        return aws.cloudfront.OriginAccessControl(f"{self._name}-static", aws.cloudfront.OriginAccessControlArgs(
            description="CloudFront reads the static-assets bucket with SigV4-signed requests",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
        ), self._child)

    def _create_static_cache_policy(self) -> aws.cloudfront.CachePolicy:
        cdn = self._args.cdn
        params = aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginArgs
        return aws.cloudfront.CachePolicy(f"{self._name}-static", aws.cloudfront.CachePolicyArgs(
            comment="Static assets: cached by path only, with the phase's TTLs",
            min_ttl=0,
            default_ttl=cdn.static_default_ttl_seconds,
            max_ttl=cdn.static_max_ttl_seconds,
            parameters_in_cache_key_and_forwarded_to_origin=params(
                cookies_config=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginCookiesConfigArgs(
                    cookie_behavior="none"),
                headers_config=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginHeadersConfigArgs(
                    header_behavior="none"),
                query_strings_config=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginQueryStringsConfigArgs(
                    query_string_behavior="none"),
                # CloudFront compresses only what a cache policy keys on Accept-Encoding.
                enable_accept_encoding_gzip=True,
                enable_accept_encoding_brotli=True,
            ),
        ), self._child)

    def _create_security_headers(self) -> aws.cloudfront.ResponseHeadersPolicy:
        cf = aws.cloudfront
        return cf.ResponseHeadersPolicy(f"{self._name}-security", cf.ResponseHeadersPolicyArgs(
            comment="Security headers on every response, overriding the origin's",
            security_headers_config=cf.ResponseHeadersPolicySecurityHeadersConfigArgs(
                strict_transport_security=cf.ResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurityArgs(
                    access_control_max_age_sec=HSTS_MAX_AGE_SECONDS, include_subdomains=True, preload=False,
                    override=True),
                content_type_options=cf.ResponseHeadersPolicySecurityHeadersConfigContentTypeOptionsArgs(override=True),
                frame_options=cf.ResponseHeadersPolicySecurityHeadersConfigFrameOptionsArgs(
                    frame_option="DENY", override=True),
                referrer_policy=cf.ResponseHeadersPolicySecurityHeadersConfigReferrerPolicyArgs(
                    referrer_policy="strict-origin-when-cross-origin", override=True),
                xss_protection=cf.ResponseHeadersPolicySecurityHeadersConfigXssProtectionArgs(
                    protection=True, mode_block=True, override=True),
            ),
        ), self._child)

    def _create_web_acl(self) -> aws.wafv2.WebAcl | None:
        limit = self._args.rate_limit_per_5min
        if limit is None:
            return None
        # CloudFront sees the viewer's own address: the per-client limit that holds.
        # Its logs stay in us-east-1 with the ACL, under a log key of the edge's own.
        profile = self._args.profile
        key = aws.kms.Key(f"{self._name}-logs-key", defaults.log_key_args(
            f"{self._name} logs", profile, pulumi.InvokeOptions(parent=self, provider=self._args.provider)),
            defaults.stateful_options(self._child, profile))
        return rate_limited_web_acl(f"{self._name}-waf", "CLOUDFRONT", limit, "IP", self._child,
                                    WafLogging(profile.log_retention_days, key.arn))

    # --- origin secret and viewer address ------------------------------------------------

    def _store_origin_secrets(self) -> aws.secretsmanager.Secret | None:
        secrets = self._args.origin_secrets
        if secrets is None:
            return None
        stateful = defaults.stateful_options(self._child, self._args.profile)
        key = aws.kms.Key(f"{self._name}-secrets-key", defaults.service_key_args(
            "edge secrets", self._args.profile, ["secretsmanager"],
            pulumi.InvokeOptions(parent=self, provider=self._args.provider)), stateful)
        secret = aws.secretsmanager.Secret(f"{self._name}-origin-secret", aws.secretsmanager.SecretArgs(
            description=f"Origin secrets: CloudFront sends {origin_access.ORIGIN_SECRET_HEADER}, the load "
                        "balancers accept either value",
            kms_key_id=key.arn,
            recovery_window_in_days=defaults.secret_recovery_days(self._args.profile),
        ), stateful)
        value = pulumi.Output.json_dumps({"header": origin_access.ORIGIN_SECRET_HEADER, "active": secrets.active,
                                          **{slot: secrets.values[slot] for slot in origin_access.SLOTS}})
        aws.secretsmanager.SecretVersion(f"{self._name}-origin-secret", aws.secretsmanager.SecretVersionArgs(
            secret_id=secret.id, secret_string=pulumi.Output.secret(value),
        ), self._child)
        return secret

    def _create_viewer_address_function(self) -> aws.cloudfront.Function | None:
        if self._args.origin_secrets is None:
            return None
        return aws.cloudfront.Function(f"{self._name}-viewer-address", aws.cloudfront.FunctionArgs(
            runtime="cloudfront-js-2.0",
            comment="Writes the viewer's address for the origin's rate limit",
            code=origin_access.VIEWER_ADDRESS_CODE,
            publish=True,  # a behaviour runs the LIVE stage only
        ), self._child)

    def _api_functions(self, association: type) -> list | None:
        """The viewer-address function on an API behaviour (`association`: the behaviour kind's args type)."""
        if self._viewer_address is None:
            return None
        return [association(event_type="viewer-request", function_arn=self._viewer_address.arn)]

    # --- the distribution ----------------------------------------------------------------

    def _api_origin(self, origin_id: str, host: pulumi.Input[str]) -> aws.cloudfront.DistributionOriginArgs:
        # With a domain the load balancers hold ACM certificates for the origin names, and
        # CloudFront validates them over TLS 1.2. Without one, a load balancer has only its
        # amazonaws.com name, which no certificate can cover, and no HTTPS listener (the
        # compute tier listens on HTTP then), so CloudFront can only reach it over HTTP.
        secrets = self._args.origin_secrets
        return aws.cloudfront.DistributionOriginArgs(
            origin_id=origin_id,
            domain_name=host,
            # The load balancers forward only requests carrying an origin secret (api_tier.py).
            custom_headers=[aws.cloudfront.DistributionOriginCustomHeaderArgs(
                name=origin_access.ORIGIN_SECRET_HEADER, value=secrets.sent)] if secrets else None,
            custom_origin_config=aws.cloudfront.DistributionOriginCustomOriginConfigArgs(
                http_port=80,
                https_port=443,
                origin_protocol_policy="https-only" if self._args.domain else "http-only",
                origin_ssl_protocols=ORIGIN_TLS_PROTOCOLS,
            ),
        )

    def _origins(self, bucket: aws.s3.Bucket, access_control: aws.cloudfront.OriginAccessControl) -> tuple[list, list]:
        args, domain = self._args, self._args.domain
        primary = args.api_origins[0]
        # The default behaviour's origin is the routed name: Route 53 picks a healthy region
        # per edge location (latency or weights), for every HTTP method.
        origins = [self._api_origin(API_ORIGIN_ID, origin_name(domain) if domain else primary.alb_dns_name)]
        groups = []
        if args.cdn.origin_failover:
            members = [primary, args.api_origins[1]]
            origins += [self._api_origin(f"api-{member.region}",
                                         regional_origin_name(domain, member.region) if domain else member.alb_dns_name)
                        for member in members]
            groups.append(aws.cloudfront.DistributionOriginGroupArgs(
                origin_id=FAILOVER_GROUP_ID,
                failover_criteria=aws.cloudfront.DistributionOriginGroupFailoverCriteriaArgs(
                    status_codes=FAILOVER_STATUS_CODES),
                members=[aws.cloudfront.DistributionOriginGroupMemberArgs(origin_id=f"api-{member.region}")
                         for member in members],
            ))
        # No s3_origin_config: with origin access control the legacy origin access identity
        # stays empty, and CloudFront signs its requests itself.
        origins.append(aws.cloudfront.DistributionOriginArgs(
            origin_id=STATIC_ORIGIN_ID,
            domain_name=bucket.bucket_regional_domain_name,
            origin_access_control_id=access_control.id,
        ))
        return origins, groups

    def _behaviours(self, static_cache: aws.cloudfront.CachePolicy,
                    headers: aws.cloudfront.ResponseHeadersPolicy) -> tuple[aws.cloudfront.DistributionDefaultCacheBehaviorArgs, list]:
        # The API: nothing cached, and everything the viewer sent (Authorization, cookies,
        # query strings, other headers) forwarded except Host, so the load balancer sees the
        # origin's own name, the name its certificate covers.
        api = dict(
            cached_methods=CACHED_METHODS,
            viewer_protocol_policy="redirect-to-https",
            cache_policy_id=CACHING_DISABLED_POLICY_ID,
            origin_request_policy_id=ALL_VIEWER_EXCEPT_HOST_POLICY_ID,
            response_headers_policy_id=headers.id,
            compress=False,  # the API compresses its own responses; nothing is cached to compress
        )
        default = aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
            target_origin_id=API_ORIGIN_ID, allowed_methods=ALL_METHODS, **api,
            function_associations=self._api_functions(
                aws.cloudfront.DistributionDefaultCacheBehaviorFunctionAssociationArgs))
        ordered = [aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
            path_pattern=STATIC_PATH,
            target_origin_id=STATIC_ORIGIN_ID,
            allowed_methods=CACHED_METHODS,
            cached_methods=CACHED_METHODS,
            viewer_protocol_policy="redirect-to-https",
            cache_policy_id=static_cache.id,
            response_headers_policy_id=headers.id,
            compress=True,
        )]
        if self._args.cdn.origin_failover:
            # CloudFront refuses an origin group on a behaviour that allows POST, PUT, PATCH or
            # DELETE, and fails over only GET, HEAD and OPTIONS requests anyway. So the group
            # serves read-only paths; writes rely on Route 53's health-checked routing behind
            # the default behaviour.
            ordered += [aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
                path_pattern=path, target_origin_id=FAILOVER_GROUP_ID, allowed_methods=READ_METHODS, **api,
                function_associations=self._api_functions(
                    aws.cloudfront.DistributionOrderedCacheBehaviorFunctionAssociationArgs))
                for path in [self._args.health_path, *self._args.read_only_paths]]
        return default, ordered

    def _viewer_certificate(self) -> aws.cloudfront.DistributionViewerCertificateArgs:
        if self._args.domain:
            return aws.cloudfront.DistributionViewerCertificateArgs(
                acm_certificate_arn=self._args.certificate_arn,
                ssl_support_method="sni-only",
                minimum_protocol_version=VIEWER_MINIMUM_TLS,
            )
        # The *.cloudfront.net certificate: CloudFront ignores a minimum protocol version with
        # it (viewers may still negotiate TLSv1), so the TLS floor needs a domain.
        return aws.cloudfront.DistributionViewerCertificateArgs(cloudfront_default_certificate=True)

    def _create_distribution(self, bucket: aws.s3.Bucket, access_control: aws.cloudfront.OriginAccessControl,
                             static_cache: aws.cloudfront.CachePolicy, headers: aws.cloudfront.ResponseHeadersPolicy,
                             log_bucket: aws.s3.Bucket, log_acl: aws.s3.BucketAcl,
                             web_acl: aws.wafv2.WebAcl | None) -> aws.cloudfront.Distribution:
        origins, groups = self._origins(bucket, access_control)
        default, ordered = self._behaviours(static_cache, headers)
        return aws.cloudfront.Distribution(f"{self._name}-cdn", aws.cloudfront.DistributionArgs(
            enabled=True,
            comment=f"{self._name}: API and static assets",
            aliases=[self._args.domain] if self._args.domain else None,
            http_version="http2and3",
            is_ipv6_enabled=True,
            price_class=self._args.cdn.price_class,
            origins=origins,
            origin_groups=groups or None,
            default_cache_behavior=default,
            ordered_cache_behaviors=ordered,
            restrictions=aws.cloudfront.DistributionRestrictionsArgs(
                geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(restriction_type="none")),
            viewer_certificate=self._viewer_certificate(),
            logging_config=aws.cloudfront.DistributionLoggingConfigArgs(
                bucket=log_bucket.bucket_domain_name, prefix=LOG_PREFIX, include_cookies=False),
            web_acl_id=web_acl.arn if web_acl else None,  # WAFv2 is referenced by ARN
        ), pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(
            depends_on=[log_acl],  # CloudFront checks the log bucket's ACL when logging is switched on
        )))


def _check(args: EdgeArgs) -> None:
    problems = []
    if not args.api_origins:
        problems.append("api_origins: at least one origin (the primary region's) is needed")
    if args.cdn.origin_failover and len(args.api_origins) < 2:
        problems.append(f"cdn.origin_failover needs a secondary region's origin, got {len(args.api_origins)} origin(s)")
    if args.domain and args.certificate_arn is None:
        problems.append("certificate_arn: required with a domain (a validated us-east-1 ACM certificate)")
    if not args.domain and args.certificate_arn is not None:
        problems.append("certificate_arn: given without a domain; CloudFront needs an alias for it")
    if problems:
        raise ValueError("Edge: " + "; ".join(problems))
