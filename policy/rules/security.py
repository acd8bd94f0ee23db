"""Security hardening rules: closed origins, the web ACLs' baseline and logs, key policies, rotation.

- Closed origins: an internet-facing load balancer's security groups admit AWS's managed prefix
  lists only (CloudFront's origin-facing servers, Route 53's health checkers), never a CIDR; its
  forwarding listeners refuse what lacks the origin secret; CloudFront sends that secret to every
  custom origin; no rate limit keys on the client-chosen X-Forwarded-For.
- Web ACLs: the AWS managed IP reputation and Known bad inputs groups on every ACL, and logs to an
  `aws-waf-logs-` log group with the Authorization and Cookie headers redacted.
- Logs kept and complete: PostgreSQL parameter groups log slow statements and connections, read
  replicas export their logs, load balancer log buckets are versioned, and every bucket that does
  not itself receive logs has S3 server access logging; CloudFront's log bucket uses SSE-KMS.
- Rotation: a cache's AUTH token changes with ElastiCache's ROTATE strategy (old and new both valid).
- Keys: every KMS key has an explicit key policy in which the account administers the key and
  uses it only under a condition naming the service, the encryption context or the source
  resource; every CloudWatch log group is encrypted with a customer-managed key.
"""

from __future__ import annotations

from pulumi_policy import Severity

from policy.framework import Check, References, Registry
from policy.views import UNKNOWN, Resource, Stack, elements, json_document, listify, lookup
from policy.rules.stack import log_buckets
from policy.resource_types import (
    CACHE_REPLICATION_GROUP,
    CLOUDFRONT_DISTRIBUTION,
    KMS_KEY,
    LOG_GROUP,
    RDS_CLUSTER_PARAMETER_GROUP,
    RDS_INSTANCE,
    RDS_PARAMETER_GROUP,
    S3_BUCKET,
    S3_ENCRYPTION,
    S3_LOGGING,
    S3_VERSIONING,
    LISTENER,
    LOAD_BALANCER,
    SECURITY_GROUP,
    SECURITY_GROUP_INGRESS_RULE,
    WEB_ACL,
    WEB_ACL_LOGGING,
)

RULES = Registry()

ORIGIN_SECRET_HEADER = "X-Origin-Verify"
FORGEABLE_HEADERS = ("x-forwarded-for",)


def _finding(resource: Resource, message: str) -> tuple[str, str]:
    return f"{resource.name}: {message}", resource.urn


def _internet_facing_balancers(stack: Stack, check: Check) -> list[Resource]:
    balancers = [balancer for balancer in stack.of_type(LOAD_BALANCER)
                 if balancer.get("loadBalancerType", "application") == "application"
                 and balancer.get("internal", False) is not True]
    if not balancers:
        check.not_applicable("no internet-facing application load balancer")
    return balancers


# --------------------------------------------------------------------------- closed origins

@RULES.stack(
    id="alb-ingress-cloudfront-only",
    description=("Internet-facing load balancers admit only AWS-managed prefix lists (CloudFront's origin-facing "
                 "servers, Route 53's health checkers): no CIDR, so nobody bypasses the CDN and its WAF."),
    severity=Severity.HIGH,
    resource_types=(LOAD_BALANCER, SECURITY_GROUP, SECURITY_GROUP_INGRESS_RULE),
    references=References(),
)
def alb_ingress_cloudfront_only(stack: Stack, check: Check):
    groups = {urn for balancer in _internet_facing_balancers(stack, check)
              for urn in balancer.property_dependencies.get("securityGroups", ())}
    for group in stack.of_type(SECURITY_GROUP):
        if group.urn not in groups:
            continue
        for index, rule in enumerate(elements(group.get("ingress"))):
            if elements(lookup(rule, "cidrBlocks")) or elements(lookup(rule, "ipv6CidrBlocks")):
                yield _finding(group, f"ingress[{index}] admits a CIDR; admit CloudFront's managed prefix list")
    for rule in stack.of_type(SECURITY_GROUP_INGRESS_RULE):
        if not set(rule.property_dependencies.get("securityGroupId", ())) & groups:
            continue
        if rule.get("cidrIpv4") is not None or rule.get("cidrIpv6") is not None:
            source = rule.get("cidrIpv4") or rule.get("cidrIpv6")
            yield _finding(rule, f"admits {source}; admit CloudFront's managed prefix list")
        elif rule.get("prefixListId") is None and rule.get("referencedSecurityGroupId") is None:
            yield _finding(rule, "admits no prefix list")


@RULES.stack(
    id="alb-requires-origin-secret",
    description=("Listeners of internet-facing load balancers forward only requests carrying CloudFront's origin "
                 "secret: their default action answers without forwarding."),
    severity=Severity.HIGH,
    resource_types=(LOAD_BALANCER, LISTENER),
    references=References(),
)
def alb_requires_origin_secret(stack: Stack, check: Check):
    for balancer in _internet_facing_balancers(stack, check):
        for listener in stack.dependents(balancer, [LISTENER], ["loadBalancerArn"]):
            kinds = [lookup(action, "type") for action in elements(listener.get("defaultActions"))]
            if "forward" in kinds:
                yield _finding(listener, "forwards every request by default; forward only what carries the "
                                         f"{ORIGIN_SECRET_HEADER} origin secret (a listener rule) and answer the rest")


@RULES.resource(
    id="cloudfront-origin-secret-header",
    description=f"CloudFront sends the origin secret ({ORIGIN_SECRET_HEADER}) to every custom (load balancer) origin.",
    severity=Severity.HIGH,
    resource_types=(CLOUDFRONT_DISTRIBUTION,),
    references=References(),
)
def cloudfront_origin_secret(resource: Resource, check: Check):
    custom = [(index, origin) for index, origin in enumerate(elements(resource.require("origins")))
              if lookup(origin, "customOriginConfig") is not None]
    if not custom:
        check.not_applicable("no custom origin")
    for index, origin in custom:
        names = [str(lookup(header, "name")).lower()
                 for header in elements(resource.require(f"origins.{index}.customHeaders"))]
        if ORIGIN_SECRET_HEADER.lower() not in names:
            yield f"origin {lookup(origin, 'originId')!r} is sent no {ORIGIN_SECRET_HEADER} header"


@RULES.resource(
    id="waf-rate-key-unforgeable",
    description=("Rate-based rules count the connection's address or a header only CloudFront writes, never "
                 "X-Forwarded-For, whose first address the client chooses."),
    severity=Severity.HIGH,
    resource_types=(WEB_ACL,),
    references=References(),
)
def waf_rate_key_unforgeable(resource: Resource, check: Check):
    rates = [(index, rule) for index, rule in enumerate(elements(resource.require("rules")))
             if lookup(rule, "statement.rateBasedStatement") is not None]
    if not rates:
        check.not_applicable("no rate-based rule")
    for index, rule in rates:
        if resource.require(f"rules.{index}.statement.rateBasedStatement.aggregateKeyType") != "FORWARDED_IP":
            continue
        header = resource.require(f"rules.{index}.statement.rateBasedStatement.forwardedIpConfig.headerName")
        if str(header).lower() in FORGEABLE_HEADERS:
            yield f"rule {lookup(rule, 'name')!r} counts clients by {header}, which the client can forge"


# --------------------------------------------------------------------------- keys

KMS_USE = ("kms:decrypt", "kms:encrypt", "kms:generatedatakey", "kms:reencrypt", "kms:creategrant")
"""Actions (lower case, by prefix) that use a key or hand its use to someone else."""
KMS_ALL = ("*", "kms:*", "kms:*crypt*")
NARROWING_KEYS = ("kms:viaservice", "kms:encryptioncontext", "aws:sourcearn", "aws:sourceaccount",
                  "kms:grantisforawsresource")
"""Condition keys that tie a use of the key to a service, a log group or a source resource."""


def _uses_key(actions) -> list[str]:
    found = []
    for action in listify(actions):
        name = str(action).lower()
        if name in KMS_ALL or any(name.startswith(prefix) or prefix.startswith(name.rstrip("*")) and name.endswith("*")
                                  for prefix in KMS_USE):
            found.append(str(action))
    return found


def _narrowed(condition) -> bool:
    if not isinstance(condition, dict):
        return False
    keys = [str(key).lower() for operator in condition.values() if isinstance(operator, dict) for key in operator]
    return any(key.startswith(prefix) for key in keys for prefix in NARROWING_KEYS)


@RULES.resource(
    id="kms-key-policy-least-privilege",
    description=("KMS keys carry an explicit key policy: the account administers them through IAM, and every "
                 "use is tied to a service (kms:ViaService), an encryption context or a source resource."),
    severity=Severity.HIGH,
    resource_types=(KMS_KEY,),
    references=References(checkov=("CKV2_AWS_64",)),
)
def kms_key_policy(resource: Resource, check: Check):
    document = json_document(resource.require("policy"))
    if document is None:
        yield "no key policy: AWS's default lets any IAM policy of the account use the key"
        return
    if document is UNKNOWN:
        return
    for index, statement in enumerate(listify(document.get("Statement") if isinstance(document, dict) else None)):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        used = _uses_key(statement.get("Action"))
        if used and not _narrowed(statement.get("Condition")):
            label = statement.get("Sid") or f"Statement[{index}]"
            yield f"{label} allows {', '.join(used)} without a kms:ViaService, encryption context or source condition"


@RULES.resource(
    id="log-group-kms-encrypted",
    description="CloudWatch log groups are encrypted with a customer-managed KMS key of the stack.",
    severity=Severity.MEDIUM,
    resource_types=(LOG_GROUP,),
    references=References(checkov=("CKV_AWS_158",)),
)
def log_group_encrypted(resource: Resource, check: Check):
    if resource.get("kmsKeyId") is None:
        yield "kmsKeyId is not set: the log data is encrypted with a key outside the stack's control"


# --------------------------------------------------------------------------- web ACLs

BASELINE_GROUPS = ("AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesKnownBadInputsRuleSet")
WAF_LOG_PREFIX = "aws-waf-logs-"
REDACTED_HEADERS = ("authorization", "cookie")


@RULES.resource(
    id="waf-managed-baseline",
    description="Web ACLs run the AWS managed Amazon IP reputation list and Known bad inputs rule groups, blocking.",
    severity=Severity.HIGH,
    resource_types=(WEB_ACL,),
    references=References(checkov=("CKV_AWS_192",)),
)
def waf_managed_baseline(resource: Resource, check: Check):
    running = {}
    for index, rule in enumerate(elements(resource.require("rules"))):
        group = lookup(rule, "statement.managedRuleGroupStatement")
        if group is not None and lookup(group, "vendorName") == "AWS":
            counted = lookup(rule, "overrideAction.count") is not None
            running[resource.require(f"rules.{index}.statement.managedRuleGroupStatement.name")] = counted
    for group in BASELINE_GROUPS:
        if group not in running:
            yield f"no {group} rule group"
        elif running[group]:
            yield f"{group} only counts (overrideAction count): nothing is blocked"


@RULES.stack(
    id="waf-logging-redacted",
    description=("Every web ACL logs to an aws-waf-logs- log group with the Authorization and Cookie headers "
                 "redacted."),
    severity=Severity.MEDIUM,
    resource_types=(WEB_ACL, WEB_ACL_LOGGING, LOG_GROUP),
    references=References(checkov=("CKV2_AWS_31",), aws=("WAF.11",)),
)
def waf_logging(stack: Stack, check: Check):
    acls = stack.of_type(WEB_ACL)
    if not acls:
        check.not_applicable("no web ACL")
    for acl in acls:
        configs = stack.dependents(acl, [WEB_ACL_LOGGING], ["resourceArn"])
        if not configs:
            yield _finding(acl, "no logging configuration")
            continue
        for config in configs:
            groups = stack.dependencies(config, "logDestinationConfigs")
            names = [group.get("name") or group.get("namePrefix") for group in groups if group.type == LOG_GROUP]
            if not any(isinstance(name, str) and name.startswith(WAF_LOG_PREFIX) for name in names):
                yield _finding(config, f"logs to no log group named {WAF_LOG_PREFIX}...")
            redacted = {str(lookup(field, "singleHeader.name")).lower()
                        for field in elements(config.get("redactedFields"))}
            missing = [header for header in REDACTED_HEADERS if header not in redacted]
            if missing:
                yield _finding(config, f"does not redact {', '.join(missing)}")


# --------------------------------------------------------------------------- logs kept and complete

LOGGED_PARAMETERS = ("log_min_duration_statement", "log_connections")


@RULES.resource(
    id="postgres-logs-slow-statements-and-connections",
    description=("PostgreSQL parameter groups (RDS and Aurora) log slow statements (log_min_duration_statement "
                 "0 or more) and connections (log_connections 1)."),
    severity=Severity.MEDIUM,
    resource_types=(RDS_PARAMETER_GROUP, RDS_CLUSTER_PARAMETER_GROUP),
    references=References(checkov=("CKV2_AWS_30",)),
)
def postgres_logging(resource: Resource, check: Check):
    family = str(resource.require("family", "") or "")
    if "postgres" not in family:
        check.not_applicable(f"family {family!r} is not PostgreSQL")
    values = {str(lookup(item, "name")): lookup(item, "value") for item in elements(resource.require("parameters"))}
    slow = values.get("log_min_duration_statement")
    if slow is None or str(slow).lstrip("-").isdigit() is False or int(str(slow)) < 0:
        yield f"log_min_duration_statement is {slow!r}: slow statements are not logged"
    if str(values.get("log_connections")) not in ("1", "on", "true"):
        yield f"log_connections is {values.get('log_connections')!r}: connections are not logged"


@RULES.resource(
    id="rds-replicas-export-logs",
    description="RDS read replicas export their PostgreSQL logs to CloudWatch Logs, like their primary.",
    severity=Severity.MEDIUM,
    resource_types=(RDS_INSTANCE,),
    references=References(checkov=("CKV_AWS_129",), aws=("RDS.9",)),
)
def replicas_export_logs(resource: Resource, check: Check):
    if resource.get("replicateSourceDb") is None:
        check.not_applicable("not a read replica (rds-logs-exported checks primaries)")
    exports = [item for item in elements(resource.require("enabledCloudwatchLogsExports")) if item is not UNKNOWN]
    if "postgresql" not in exports:
        yield f"enabledCloudwatchLogsExports {exports} does not include postgresql"


@RULES.stack(
    id="alb-log-bucket-versioned",
    description="Load balancer access-log buckets are versioned, so a deleted or overwritten log stays recoverable.",
    severity=Severity.MEDIUM,
    resource_types=(LOAD_BALANCER, S3_BUCKET, S3_VERSIONING),
    references=References(checkov=("CKV_AWS_21",), aws=("S3.14",)),
)
def alb_log_bucket_versioned(stack: Stack, check: Check):
    by_urn = stack.by_urn
    buckets = {urn for balancer in stack.of_type(LOAD_BALANCER)
               for urn in balancer.property_dependencies.get("accessLogs", ()) if urn in by_urn
               and by_urn[urn].type == S3_BUCKET}
    if not buckets:
        check.not_applicable("no load balancer logs to a bucket of the stack")
    for urn in sorted(buckets):
        bucket = by_urn[urn]
        versioning = stack.dependents(bucket, [S3_VERSIONING], ["bucket"])
        if not any(lookup(item.get("versioningConfiguration"), "status") == "Enabled" for item in versioning):
            yield _finding(bucket, "receives load balancer logs but is not versioned")


@RULES.stack(
    id="s3-access-logged",
    description="Every bucket that does not itself receive logs has S3 server access logging.",
    severity=Severity.MEDIUM,
    resource_types=(S3_BUCKET, S3_LOGGING),
    references=References(checkov=("CKV_AWS_18",), aws=("S3.9",)),
)
def s3_access_logged(stack: Stack, check: Check):
    targets = log_buckets(stack)
    buckets = [bucket for bucket in stack.of_type(S3_BUCKET) if bucket.urn not in targets]
    if not buckets:
        check.not_applicable("no bucket outside the log buckets")
    for bucket in buckets:
        if not stack.dependents(bucket, [S3_LOGGING], ["bucket"]):
            yield _finding(bucket, "has no S3 server access logging")


@RULES.stack(
    id="cloudfront-log-bucket-kms",
    description="The bucket receiving CloudFront's standard logs is encrypted with a customer-managed KMS key (SSE-KMS).",
    severity=Severity.MEDIUM,
    resource_types=(CLOUDFRONT_DISTRIBUTION, S3_BUCKET, S3_ENCRYPTION),
    references=References(checkov=("CKV_AWS_145",)),
)
def cloudfront_log_bucket_kms(stack: Stack, check: Check):
    by_urn = stack.by_urn
    buckets = [by_urn[urn] for distribution in stack.of_type(CLOUDFRONT_DISTRIBUTION)
               for urn in distribution.property_dependencies.get("loggingConfig", ())
               if urn in by_urn and by_urn[urn].type == S3_BUCKET]
    if not buckets:
        check.not_applicable("no CloudFront standard logging to a bucket of the stack")
    for bucket in buckets:
        rules = [rule for encryption in stack.dependents(bucket, [S3_ENCRYPTION], ["bucket"])
                 for rule in elements(encryption.get("rules"))]
        if not any(lookup(rule, "applyServerSideEncryptionByDefault.sseAlgorithm") == "aws:kms"
                   and lookup(rule, "applyServerSideEncryptionByDefault.kmsMasterKeyId") is not None for rule in rules):
            yield _finding(bucket, "receives CloudFront's logs without SSE-KMS under a customer-managed key")


# --------------------------------------------------------------------------- rotation

@RULES.resource(
    id="cache-auth-token-rotates",
    description=("ElastiCache groups with an AUTH token change it with the ROTATE strategy, so the old token "
                 "stays valid while clients move to the new one."),
    severity=Severity.MEDIUM,
    resource_types=(CACHE_REPLICATION_GROUP,),
    references=References(),
)
def cache_auth_token_rotates(resource: Resource, check: Check):
    if resource.get("authToken") is None:
        check.not_applicable("no AUTH token")
    if resource.get("globalReplicationGroupId") is not None:
        check.not_applicable("a global datastore member carries the primary's token")
    strategy = resource.require("authTokenUpdateStrategy")
    if strategy != "ROTATE":
        yield f"authTokenUpdateStrategy is {strategy!r}: a token change would refuse clients still on the old one"
