"""Stack rules: checks that need several resources at once, or the phase catalog.

- Data safety: every stateful resource protected in prod; every bucket blocked from public
  access, encrypted, TLS-only and (unless it only receives logs) versioned; every queue
  TLS-only; every main queue with a dead-letter queue, and an alarm on the DLQ once the
  stack has monitoring.
- Exposure: HTTP listeners redirect to HTTPS when the load balancer has a certificate;
  world-open ports only on internet-facing load balancers; WAF on them from the phase that
  promises rate limiting; flow logs on every VPC; Elastic IPs only on NAT gateways and NAT instances.
- Cost guardrails from the catalog: instance families and capacity ceilings of the phase.
- The stack's overrides never weaken what the phase promises.

Links between resources come from property dependencies (a bucket policy's `bucket` is
computed from the bucket), which a preview knows even when the values themselves are not.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

from pulumi_policy import Severity
from pulumi_policy.proxy import UnknownValueError

from policy.context import allowed_families, api_ceiling, family, known_int, region_spec
from policy.framework import Check, References, Registry, Setting
from policy.views import UNKNOWN, Resource, Stack, elements, json_document, listify, lookup, matches_any, truthy
from policy.resource_types import (
    ASG,
    ASG_SCHEDULE,
    CACHE_GLOBAL_REPLICATION_GROUP,
    CACHE_REPLICATION_GROUP,
    CLOUDFRONT_DISTRIBUTION,
    EC2_INSTANCE,
    EIP,
    FLOW_LOG,
    LAUNCH_TEMPLATE,
    LISTENER,
    LOAD_BALANCER,
    METRIC_ALARM,
    NAT_GATEWAY,
    OPENSEARCH_DOMAIN,
    RDS_CLUSTER,
    RDS_CLUSTER_INSTANCE,
    RDS_INSTANCE,
    ROUTE,
    S3_BUCKET,
    S3_OWNERSHIP_CONTROLS,
    S3_ENCRYPTION,
    S3_LOGGING,
    S3_POLICY,
    S3_PUBLIC_ACCESS_BLOCK,
    S3_VERSIONING,
    SECURITY_GROUP,
    SECURITY_GROUP_INGRESS_RULE,
    SQS_QUEUE,
    SQS_QUEUE_POLICY,
    SQS_REDRIVE_ALLOW_POLICY,
    STATEFUL,
    VPC,
    WEB_ACL_ASSOCIATION,
)
from policy.rules.network import world_ingress

RULES = Registry()

WORKERS_COMPONENT = "qnom:components:Workers"


def _finding(resource: Resource, message: str) -> tuple[str, str]:
    return f"{resource.name}: {message}", resource.urn


def _phase(check: Check):
    if check.context.phase is None:
        check.not_applicable("phase unknown: neither the stack config nor the provider tags name it")
    return check.context.phase


def denies_insecure_transport(document) -> bool:
    """A statement denying requests whose aws:SecureTransport is false (the TLS-only pattern)."""
    if not isinstance(document, dict):
        return False
    for statement in listify(document.get("Statement")):
        if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
            continue
        condition = (statement.get("Condition") or {}).get("Bool") or {}
        values = [str(value).lower() for value in listify(condition.get("aws:SecureTransport"))]
        if "false" in values:
            return True
    return False


def _each(items: list[Resource], what: str, check: Check) -> list[Resource]:
    if not items:
        check.not_applicable(f"no {what}")
    return items


def _linked(stack: Stack, target: Resource, types: Iterable[str], prop: str) -> list[Resource]:
    """Resources of `types` attached to `target` through `prop`: by dependency, or by a known name."""
    types = tuple(types)
    linked = stack.dependents(target, types, [prop])
    name = target.get("bucket") if target.type == S3_BUCKET else target.get("name")
    if isinstance(name, str) and name:
        linked += [item for item in stack.of_type(*types) if item not in linked and item.get(prop) == name]
    return linked


# --------------------------------------------------------------------------- data safety

@RULES.stack(
    id="stateful-resources-protected",
    description=("Every stateful resource (RDS instance, cluster, cluster instance or global cluster, ElastiCache "
                 "replication group or global datastore, S3 bucket, SQS queue, OpenSearch domain, KMS key, "
                 "secret) has protect=True in prod."),
    severity=Severity.CRITICAL,
    resource_types=STATEFUL,
    references=References(well_architected=("REL09-BP01",)),
    settings=(Setting(name="extraTypes", schema={"type": "array", "items": {"type": "string"}}, default=[],
                      description="More resource types to treat as stateful."),),
)
def stateful_protected(stack: Stack, check: Check):
    # The profile's switch, not the environment's name: staging is unprotected like dev.
    if not check.context.profile.protect_stateful:
        check.not_applicable(f"{check.context.environment} profile: stateful resources are not protected, "
                             "so the stack can be torn down")
    for resource in _each(stack.of_type(*STATEFUL, *check.config["extraTypes"]), "stateful resource", check):
        if not resource.protect:
            yield _finding(resource, f"{resource.type} is not protected: a destroy or a replacement deletes its data")


def dead_letter_queues(stack: Stack) -> list[Resource]:
    """Queues another queue redrives to (by dependency or known ARN), or that accept redrives
    (their own redriveAllowPolicy or a RedriveAllowPolicy resource)."""
    queues = stack.of_type(SQS_QUEUE)
    urns = {urn for item in queues for urn in item.property_dependencies.get("redrivePolicy", ())}
    arns = set()
    for item in queues:
        document = json_document(item.get("redrivePolicy"))
        if isinstance(document, dict) and isinstance(document.get("deadLetterTargetArn"), str):
            arns.add(document["deadLetterTargetArn"])
    allowing = {urn for item in stack.of_type(SQS_REDRIVE_ALLOW_POLICY)
                for urn in item.property_dependencies.get("queueUrl", ())}
    found = []
    for queue in queues:
        name = queue.get("name")
        by_arn = isinstance(name, str) and any(arn.endswith(f":{name}") for arn in arns)
        if queue.urn in urns or queue.urn in allowing or by_arn or queue.has("redriveAllowPolicy"):
            found.append(queue)
    return found


@RULES.stack(
    id="sqs-main-queue-has-dlq",
    description="Every SQS main queue redrives failed messages to a dead-letter queue.",
    severity=Severity.HIGH,
    resource_types=(SQS_QUEUE,),
    references=References(well_architected=("REL05-BP04",)),
)
def main_queue_dlq(stack: Stack, check: Check):
    queues = _each(stack.of_type(SQS_QUEUE), "SQS queue", check)
    dlqs = {queue.urn for queue in dead_letter_queues(stack)}
    for queue in queues:
        if queue.urn in dlqs:
            continue
        if not queue.has("redrivePolicy"):
            yield _finding(queue, "no redrive policy: a poison message is retried until it expires, blocking workers")
            continue
        document = json_document(queue.get("redrivePolicy"))
        if isinstance(document, dict):
            receives = known_int(document.get("maxReceiveCount"))
            if not document.get("deadLetterTargetArn") or receives is None or receives < 1:
                yield _finding(queue, "redrivePolicy needs deadLetterTargetArn and maxReceiveCount >= 1")


@RULES.stack(
    id="sqs-dlq-alarmed",
    description="Once the stack has monitoring, every dead-letter queue has a CloudWatch alarm on it.",
    severity=Severity.MEDIUM,
    resource_types=(SQS_QUEUE, METRIC_ALARM),
    references=References(well_architected=("REL05-BP04", "REL06-BP03")),
    settings=(Setting(name="monitoringComponentTypes", schema={"type": "array", "items": {"type": "string"}},
                      default=["qnom:components:Monitoring"],
                      description="Component types whose presence means the stack has monitoring."),),
)
def dlq_alarmed(stack: Stack, check: Check):
    if not stack.has_component(check.config["monitoringComponentTypes"]):
        check.not_applicable("the stack has no monitoring component yet")
    dlqs = dead_letter_queues(stack)
    if not dlqs:
        check.not_applicable("no dead-letter queue")
    alarms = stack.of_type(METRIC_ALARM)
    for dlq in dlqs:
        linked = [alarm for alarm in alarms
                  if dlq.urn in alarm.property_dependencies.get("dimensions", ())
                  or dlq.urn in alarm.property_dependencies.get("metricQueries", ())
                  or (isinstance(dlq.get("name"), str) and alarm.get("dimensions.QueueName") == dlq.get("name"))]
        if not linked:
            yield _finding(dlq, "no CloudWatch alarm watches this dead-letter queue: failed messages pile up unseen")


@RULES.stack(
    id="sqs-queue-tls-only",
    description="Every SQS queue has a queue policy denying requests without TLS.",
    severity=Severity.MEDIUM,
    resource_types=(SQS_QUEUE, SQS_QUEUE_POLICY),
    references=References(),
)
def queue_tls_only(stack: Stack, check: Check):
    queues = _each(stack.of_type(SQS_QUEUE), "SQS queue", check)
    for queue in queues:
        documents = [json_document(policy.get("policy"))
                     for policy in stack.dependents(queue, [SQS_QUEUE_POLICY], ["queueUrl"])]
        if queue.has("policy"):
            documents.append(json_document(queue.get("policy")))
        if not documents:
            yield _finding(queue, "no queue policy: requests over plain HTTP are accepted")
        elif UNKNOWN not in documents and not any(denies_insecure_transport(item) for item in documents):
            yield _finding(queue, "the queue policy does not deny aws:SecureTransport=false")


@RULES.stack(
    id="s3-bucket-public-access-blocked",
    description="Every S3 bucket has its own public access block.",
    severity=Severity.CRITICAL,
    resource_types=(S3_BUCKET, S3_PUBLIC_ACCESS_BLOCK),
    references=References(checkov=("CKV2_AWS_6",), aws=("S3.8",)),
)
def bucket_public_access(stack: Stack, check: Check):
    for bucket in _each(stack.of_type(S3_BUCKET), "S3 bucket", check):
        if not _linked(stack, bucket, [S3_PUBLIC_ACCESS_BLOCK], "bucket"):
            yield _finding(bucket, "no BucketPublicAccessBlock: a later policy or ACL can make it public")


@RULES.stack(
    id="s3-bucket-encrypted",
    description="Every S3 bucket declares default server-side encryption.",
    severity=Severity.HIGH,
    resource_types=(S3_BUCKET, S3_ENCRYPTION),
    references=References(checkov=("CKV_AWS_19",), well_architected=("REL09-BP02",)),
)
def bucket_encrypted(stack: Stack, check: Check):
    for bucket in _each(stack.of_type(S3_BUCKET), "S3 bucket", check):
        if bucket.has("serverSideEncryptionConfiguration"):
            continue
        if not _linked(stack, bucket, [S3_ENCRYPTION], "bucket"):
            yield _finding(bucket, "no BucketServerSideEncryptionConfiguration")


@RULES.stack(
    id="s3-bucket-tls-only",
    description="Every S3 bucket has a bucket policy denying requests without TLS.",
    severity=Severity.MEDIUM,
    resource_types=(S3_BUCKET, S3_POLICY),
    references=References(aws=("S3.5",)),
)
def bucket_tls_only(stack: Stack, check: Check):
    for bucket in _each(stack.of_type(S3_BUCKET), "S3 bucket", check):
        documents = [json_document(policy.get("policy")) for policy in _linked(stack, bucket, [S3_POLICY], "bucket")]
        if bucket.has("policy"):
            documents.append(json_document(bucket.get("policy")))
        if not documents:
            yield _finding(bucket, "no bucket policy: requests over plain HTTP are accepted")
        elif UNKNOWN not in documents and not any(denies_insecure_transport(item) for item in documents):
            yield _finding(bucket, "the bucket policy does not deny aws:SecureTransport=false")


def log_buckets(stack: Stack) -> set[str]:
    """Buckets that only receive logs (load balancer, S3 server access or CloudFront logs)."""
    urns: set[str] = set()
    for item in stack.of_type(LOAD_BALANCER):
        urns.update(item.property_dependencies.get("accessLogs", ()))
    for item in stack.of_type(S3_LOGGING):
        urns.update(item.property_dependencies.get("targetBucket", ()))
    for item in stack.of_type(CLOUDFRONT_DISTRIBUTION):
        urns.update(item.property_dependencies.get("loggingConfig", ()))
    return urns


@RULES.stack(
    id="s3-bucket-versioned",
    description="Every S3 bucket holding data (not only logs) has versioning enabled.",
    severity=Severity.MEDIUM,
    resource_types=(S3_BUCKET, S3_VERSIONING),
    references=References(checkov=("CKV_AWS_21",), aws=("S3.14",), well_architected=("REL09-BP01",)),
    settings=(Setting(name="exemptNamePatterns", schema={"type": "array", "items": {"type": "string"}},
                      default=["*log*"], description="Logical names of log-only buckets exempt from versioning."),),
)
def bucket_versioned(stack: Stack, check: Check):
    logs = log_buckets(stack)
    for bucket in _each(stack.of_type(S3_BUCKET), "S3 bucket", check):
        if bucket.urn in logs or matches_any(bucket.name, check.config["exemptNamePatterns"]):
            continue
        if truthy(bucket.get("versioning.enabled", False)) is True:
            continue
        configurations = _linked(stack, bucket, [S3_VERSIONING], "bucket")
        if not configurations:
            yield _finding(bucket, "no BucketVersioning: an overwrite or delete cannot be undone")


@RULES.stack(
    id="s3-ownership-enforced",
    description="S3 buckets disable ACLs (object ownership BucketOwnerEnforced), except the bucket CloudFront "
                "standard logging writes to, which AWS requires to accept the log delivery's ACL grant.",
    severity=Severity.MEDIUM,
    resource_types=(S3_OWNERSHIP_CONTROLS, CLOUDFRONT_DISTRIBUTION),
    references=References(checkov=("CKV2_AWS_65",), aws=("S3.12",)),
    settings=(Setting(name="allowedOwnership", schema={"type": "array", "items": {"type": "string"}},
                      default=["BucketOwnerEnforced"], description="Accepted object ownership settings."),),
)
def bucket_ownership(stack: Stack, check: Check):
    # CloudFront standard logging writes with an ACL grant to the awslogsdelivery account and
    # fails on a bucket with ACLs disabled; BucketOwnerPreferred keeps new objects the owner's.
    log_destinations = {urn for distribution in stack.of_type(CLOUDFRONT_DISTRIBUTION)
                        for urn in distribution.property_dependencies.get("loggingConfig", ())}
    for controls in _each(stack.of_type(S3_OWNERSHIP_CONTROLS), "bucket ownership controls", check):
        ownership = controls.require("rule.objectOwnership")
        if ownership in check.config["allowedOwnership"]:
            continue
        buckets = set(controls.property_dependencies.get("bucket", ()))
        if ownership == "BucketOwnerPreferred" and buckets and buckets <= log_destinations:
            continue
        yield _finding(controls, f"objectOwnership is {ownership!r}: ACLs still grant access beside the bucket policy")


# --------------------------------------------------------------------------- exposure

@RULES.stack(
    id="vpc-flow-logs-enabled",
    description="Every VPC has a flow log.",
    severity=Severity.MEDIUM,
    resource_types=(VPC, FLOW_LOG),
    references=References(checkov=("CKV2_AWS_11",), aws=("EC2.6",), well_architected=("REL06-BP01",)),
)
def vpc_flow_logs(stack: Stack, check: Check):
    for vpc in _each(stack.of_type(VPC), "VPC", check):
        if not stack.dependents(vpc, [FLOW_LOG], ["vpcId"]):
            yield _finding(vpc, "no flow log: rejected and accepted traffic leaves no trace")


def _redirects_to_https(listener: Resource) -> bool:
    for action in elements(listener.get("defaultActions")):
        if lookup(action, "type") == "redirect" and lookup(action, "redirect.protocol") == "HTTPS":
            return True
    return False


@RULES.stack(
    id="alb-http-redirects-to-https",
    description=("Load balancers with a certificate redirect every HTTP listener to HTTPS; a stack with "
                 "qnom:domain serves HTTPS."),
    severity=Severity.HIGH,
    resource_types=(LOAD_BALANCER, LISTENER),
    references=References(checkov=("CKV2_AWS_20",), aws=("ELB.1",)),
)
def http_redirects(stack: Stack, check: Check):
    evaluated = False
    for balancer in _each(stack.of_type(LOAD_BALANCER), "load balancer", check):
        if balancer.get("loadBalancerType", "application") != "application":
            continue
        listeners = stack.dependents(balancer, [LISTENER], ["loadBalancerArn"])
        https = [item for item in listeners if item.get("protocol") == "HTTPS"]
        if not https and not check.context.domain:
            continue  # no certificate to redirect to: dev without a domain forwards HTTP, and says so
        evaluated = True
        if not https:
            yield _finding(balancer, f"qnom:domain is {check.context.domain} but there is no HTTPS listener")
        for listener in listeners:
            if listener.get("protocol", "HTTP") == "HTTP" and not _redirects_to_https(listener):
                yield _finding(listener, "HTTP listener does not redirect to HTTPS")
    if not evaluated:
        check.not_applicable("no load balancer with a certificate (qnom:domain unset)")


def _internet_facing(balancer: Resource) -> bool:
    return truthy(balancer.get("internal", False)) is not True


@RULES.stack(
    id="sg-world-web-only-on-internet-alb",
    description="Ports open to 0.0.0.0/0 or ::/0 belong only to the security groups of internet-facing load balancers.",
    severity=Severity.CRITICAL,
    resource_types=(SECURITY_GROUP, SECURITY_GROUP_INGRESS_RULE, LOAD_BALANCER),
    references=References(aws=("EC2.18",)),
)
def world_only_on_alb(stack: Stack, check: Check):
    allowed_groups = {urn for balancer in stack.of_type(LOAD_BALANCER) if _internet_facing(balancer)
                      for urn in balancer.property_dependencies.get("securityGroups", ())}
    groups = stack.of_type(SECURITY_GROUP, SECURITY_GROUP_INGRESS_RULE)
    for resource in _each(groups, "security group or rule", check):
        try:
            opens = world_ingress(resource)
        except UnknownValueError:
            continue  # sg-no-world-ingress-except-web reports it once the ports are known
        if not opens:
            continue
        groups = ({resource.urn} if resource.type == SECURITY_GROUP
                  else set(resource.property_dependencies.get("securityGroupId", ())))
        if not groups & allowed_groups:
            ports = ", ".join(f"{protocol} {low}-{high}" for _, protocol, low, high in opens)
            yield _finding(resource, f"opens {ports} to the internet outside an internet-facing load balancer")


@RULES.stack(
    id="eip-nat-only",
    description=("Elastic IPs belong to NAT gateways or to NAT instances (source/destination check off, "
                 "the target of a route): no other instance is reachable from the internet."),
    severity=Severity.HIGH,
    resource_types=(EIP, EC2_INSTANCE, NAT_GATEWAY, ROUTE),
    references=References(aws=("EC2.12",)),
)
def eip_nat_only(stack: Stack, check: Check):
    for address in _each(stack.of_type(EIP), "Elastic IP", check):
        instances = stack.dependencies(address, "instance")
        if not instances:
            if not stack.dependents(address, [NAT_GATEWAY], ["allocationId"]):
                yield _finding(address, "no NAT gateway uses it and it names no NAT instance")
            continue
        for instance in instances:
            if truthy(instance.require("sourceDestCheck", True)) is not False:
                yield _finding(address, f"instance {instance.name} checks source and destination: it is no NAT")
            elif not stack.dependents(instance, [ROUTE], ["networkInterfaceId"]):
                yield _finding(address, f"instance {instance.name} is the target of no route: it is no NAT")


@RULES.stack(
    id="alb-waf-from-phase",
    description=("From the phase that promises API rate limiting (2+), every internet-facing load balancer "
                 "has a WAF web ACL."),
    severity=Severity.HIGH,
    resource_types=(LOAD_BALANCER, WEB_ACL_ASSOCIATION),
    references=References(checkov=("CKV2_AWS_28",), aws=("ELB.16",), well_architected=("REL05-BP02",)),
)
def waf_on_alb(stack: Stack, check: Check):
    phase = _phase(check)
    if phase.api.rate_limit_per_5min is None:
        check.not_applicable(f"phase {phase.number} ({phase.name}) has no API rate limiting")
    for balancer in _each(stack.of_type(LOAD_BALANCER), "load balancer", check):
        if balancer.get("loadBalancerType", "application") != "application" or not _internet_facing(balancer):
            continue
        if not stack.dependents(balancer, [WEB_ACL_ASSOCIATION], ["resourceArn"]):
            yield _finding(balancer, f"no WAF web ACL association, but phase {phase.number} rate-limits the API")


# --------------------------------------------------------------------------- cost guardrails

def _instance_types(stack: Stack) -> Iterable[tuple[Resource, str, str, object]]:
    """(resource, property, service, value) of every instance type or class in the stack."""
    paths = ((LAUNCH_TEMPLATE, "instanceType", "ec2"), (EC2_INSTANCE, "instanceType", "ec2"),
             (RDS_INSTANCE, "instanceClass", "rds"), (RDS_CLUSTER_INSTANCE, "instanceClass", "rds"),
             (CACHE_REPLICATION_GROUP, "nodeType", "elasticache"),
             (CACHE_GLOBAL_REPLICATION_GROUP, "cacheNodeType", "elasticache"),
             (OPENSEARCH_DOMAIN, "clusterConfig.instanceType", "opensearch"),
             (OPENSEARCH_DOMAIN, "clusterConfig.dedicatedMasterType", "opensearch"))
    for resource_type, path, service in paths:
        for resource in stack.of_type(resource_type):
            yield resource, path, service, resource.get(path)
    for group in stack.of_type(ASG):
        overrides = elements(group.get("mixedInstancesPolicy.launchTemplate.overrides"))
        for index, override in enumerate(overrides):
            yield group, f"mixedInstancesPolicy.launchTemplate.overrides[{index}].instanceType", "ec2", \
                lookup(override, "instanceType")


@RULES.stack(
    id="instance-types-in-phase-families",
    description=("Instance types and classes (EC2, RDS, ElastiCache, OpenSearch) belong to the families "
                 "the phase catalog uses."),
    severity=Severity.MEDIUM,
    resource_types=(LAUNCH_TEMPLATE, EC2_INSTANCE, ASG, RDS_INSTANCE, RDS_CLUSTER_INSTANCE, CACHE_REPLICATION_GROUP,
                    CACHE_GLOBAL_REPLICATION_GROUP, OPENSEARCH_DOMAIN),
    references=References(),
    settings=(Setting(name="extraFamilies", schema={"type": "array", "items": {"type": "string"}}, default=[],
                      description="More families to accept, e.g. [\"m7i\", \"db.r6g\"]."),),
)
def instance_families(stack: Stack, check: Check):
    phase = _phase(check)
    allowed = allowed_families(phase)
    extra = set(check.config["extraFamilies"])
    for resource, path, service, value in _each(list(_instance_types(stack)), "instance type", check):
        if not isinstance(value, str) or not value:
            continue  # unset (an ASG override without a type) or unknown in preview
        if family(value) not in allowed[service] | extra:
            accepted = ", ".join(sorted(allowed[service])) or "none"
            yield _finding(resource,
                           f"{path} {value} is outside phase {phase.number}'s {service} families ({accepted})")


def _over(limit: int, headroom: float) -> int:
    return math.floor(limit * (1 + headroom / 100))


def _group_ceiling(phase, group: Resource) -> tuple[str, int | None]:
    if group.under(WORKERS_COMPONENT):
        return "workers", phase.workers.capacity.max if phase.workers else 0
    return "API", api_ceiling(phase, group.region)


def _capacity_groups(stack: Stack, phase, headroom: float):
    for group in stack.of_type(ASG):
        label, limit = _group_ceiling(phase, group)
        if limit is None:
            yield _finding(group, f"region {group.region} is not part of phase {phase.number}")
            continue
        for prop in ("maxSize", "minSize", "desiredCapacity"):
            size = known_int(group.get(prop))
            if size is not None and size > _over(limit, headroom):
                yield _finding(group, f"{prop} {size} exceeds the phase {phase.number} {label} ceiling of {limit}")
    for action in stack.of_type(ASG_SCHEDULE):
        groups = stack.dependencies(action, "autoscalingGroupName")
        label, limit = _group_ceiling(phase, groups[0]) if groups else ("API", api_ceiling(phase, action.region))
        for prop in ("maxSize", "minSize", "desiredCapacity"):
            size = known_int(action.get(prop))
            if limit is not None and size is not None and size > _over(limit, headroom):
                yield _finding(action,
                               f"scheduled {prop} {size} exceeds the phase {phase.number} {label} ceiling of {limit}")


def _capacity_databases(stack: Stack, phase, headroom: float):
    replicas = Counter(item.region for item in stack.of_type(RDS_INSTANCE) if item.has("replicateSourceDb"))
    for region, count in sorted(replicas.items(), key=lambda pair: str(pair[0])):
        spec = region_spec(phase, region)
        limit = spec.db_read_replicas if spec else 0
        if count > _over(limit, headroom):
            yield f"{count} read replica(s) in {region}: phase {phase.number} allows {limit}", None
    aurora = phase.database.aurora
    members = Counter(item.region for item in stack.of_type(RDS_CLUSTER_INSTANCE))
    for region, count in sorted(members.items(), key=lambda pair: str(pair[0])):
        limit = aurora.readers + 1 if aurora else 0
        if count > _over(limit, headroom):
            yield f"{count} Aurora instance(s) in {region}: phase {phase.number} allows {limit}", None
    for cluster in stack.of_type(RDS_CLUSTER):
        capacity = cluster.get("serverlessv2ScalingConfiguration.maxCapacity")
        if aurora and isinstance(capacity, (int, float)) and capacity > aurora.max_acu * (1 + headroom / 100):
            yield _finding(cluster, f"Serverless v2 maxCapacity {capacity} ACU exceeds "
                                    f"phase {phase.number}'s {aurora.max_acu}")


def _cache_nodes(group: Resource) -> int | None:
    groups = known_int(group.get("numNodeGroups"))
    if groups:
        replicas = known_int(group.get("replicasPerNodeGroup"))
        return None if replicas is None else groups * (replicas + 1)
    return known_int(group.get("numCacheClusters"))


def _capacity_caches_and_search(stack: Stack, phase, headroom: float):
    for group in stack.of_type(CACHE_REPLICATION_GROUP):
        spec = region_spec(phase, group.region)
        nodes, limit = _cache_nodes(group), spec.cache_nodes if spec else 0
        if nodes is not None and nodes > _over(limit, headroom):
            yield _finding(group, f"{nodes} cache node(s) exceed the phase {phase.number} ceiling of {limit} "
                                  f"in {group.region}")
    search = phase.search
    for domain in stack.of_type(OPENSEARCH_DOMAIN):
        if search is None:
            yield _finding(domain, f"phase {phase.number} ({phase.name}) has no search")
            continue
        nodes = known_int(domain.get("clusterConfig.instanceCount"))
        masters = known_int(domain.get("clusterConfig.dedicatedMasterCount"))
        if nodes is not None and nodes > _over(search.instance_count, headroom):
            yield _finding(domain, f"{nodes} data nodes exceed phase {phase.number}'s {search.instance_count}")
        if masters is not None and masters > _over(search.dedicated_master_count, headroom):
            yield _finding(domain,
                           f"{masters} master nodes exceed phase {phase.number}'s {search.dedicated_master_count}")


SIZED_TYPES = (ASG, ASG_SCHEDULE, RDS_INSTANCE, RDS_CLUSTER, RDS_CLUSTER_INSTANCE, CACHE_REPLICATION_GROUP,
               OPENSEARCH_DOMAIN)


@RULES.stack(
    id="capacity-within-phase-ceilings",
    description=("Group sizes and replica counts stay within the phase catalog: API groups <= the region's max "
                 "(primary: the explicit surge max), workers <= their max, read replicas, cache nodes, "
                 "search nodes, Aurora size."),
    severity=Severity.HIGH,
    resource_types=SIZED_TYPES,
    references=References(),
    settings=(Setting(name="headroomPercent", schema={"type": "number", "minimum": 0}, default=0,
                      description="Tolerated excess over the catalog's ceilings, in percent."),),
)
def capacity_ceilings(stack: Stack, check: Check):
    phase = _phase(check)
    _each(stack.of_type(*SIZED_TYPES), "sized resource", check)
    headroom = float(check.config["headroomPercent"])
    yield from _capacity_groups(stack, phase, headroom)
    yield from _capacity_databases(stack, phase, headroom)
    yield from _capacity_caches_and_search(stack, phase, headroom)


# --------------------------------------------------------------------------- the phase's promises

@RULES.stack(
    id="stack-overrides-keep-phase-guarantees",
    description=("qnom:overrides never weaken what the phase promises: Multi-AZ database, cache failover, "
                 "every region of the phase, and (prod) at least two API instances per region."),
    severity=Severity.HIGH,
    resource_types=(),
    references=References(well_architected=("REL10-BP01", "REL11-BP02")),
)
def overrides_keep_guarantees(stack: Stack, check: Check):
    catalog, effective = check.context.phase, check.context.effective
    if catalog is None or effective is None:
        check.not_applicable("the stack's settings are unknown (only provider tags were found)")
    label = f"phase {catalog.number} ({catalog.name})"
    if catalog.database.multi_az and not effective.database.multi_az:
        yield f"qnom:overrides.database.multi_az is false, but {label} promises a Multi-AZ database", None
    if catalog.cache.automatic_failover and not effective.cache.automatic_failover:
        yield f"qnom:overrides.cache.automatic_failover is false, but {label} promises cache failover", None
    regions = {region.name for region in effective.regions}
    for region in catalog.regions:
        if region.name not in regions:
            yield f"qnom:overrides drops region {region.name}, which {label} runs", None
    if check.context.prod:
        for region in effective.regions:
            if region.api.min < 2:
                yield (f"qnom:overrides.regions.{region.name}.api.min is {region.api.min}: prod keeps at least "
                       "2 API instances per region (no single point of failure)"), None
