"""Every rule of the policy pack against resources built directly (no engine).

Each resource rule gets a compliant and a violating resource, run through the same
`pulumi_policy` policy object the Pulumi CLI runs, with properties wrapped in the SDK's own
unknown-checking proxy. Unknown-value cases show both behaviours: a rule that needs the value
raises `UnknownValueError` (the engine reports "can't run during preview"), a rule that only
needs the property to be set passes. Stack rules get small stacks with property dependencies.
"""

from __future__ import annotations

import json

import pytest
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE as U
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from components import policy_documents
from phases.settings import settings_from_config
from policy.context import FixedContext, PolicyContext
from policy.framework import to_policy
from policy.pack import build_policies, default_enforcement
from policy.resource_types import (
    ASG,
    EKS_CLUSTER,
    K8S_DEPLOYMENT,
    K8S_PDB,
    ASG_SCHEDULE,
    CACHE_REPLICATION_GROUP,
    CLOUDFRONT_DISTRIBUTION,
    DEFAULT_SECURITY_GROUP,
    EC2_INSTANCE,
    EIP,
    FLOW_LOG,
    KMS_KEY,
    LAUNCH_TEMPLATE,
    LOG_GROUP,
    METRIC_ALARM,
    NAT_GATEWAY,
    OPENSEARCH_DOMAIN,
    RDS_CLUSTER,
    RDS_CLUSTER_PARAMETER_GROUP,
    RDS_CLUSTER_INSTANCE,
    RDS_INSTANCE,
    RDS_PARAMETER_GROUP,
    ROUTE,
    S3_BUCKET,
    S3_ENCRYPTION,
    S3_OWNERSHIP_CONTROLS,
    S3_POLICY,
    S3_PUBLIC_ACCESS_BLOCK,
    S3_VERSIONING,
    RANDOM_PASSWORD,
    SECRET,
    SECRET_ROTATION,
    SECRET_VERSION,
    SECURITY_GROUP,
    SECURITY_GROUP_INGRESS_RULE,
    SQS_QUEUE,
    SQS_QUEUE_POLICY,
    SUBNET,
    VPC,
    WEB_ACL,
    WEB_ACL_ASSOCIATION,
)
from policy.rules import BY_ID, RESOURCE_RULES, STACK_RULES

LB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
NA = "not applicable"
UNKNOWN_RAISED = "unknown in preview"
TAGS = {"project": "qnom", "environment": "prod", "phase": "growth", "service": "qnom-platform", "managed-by": "pulumi"}


def context(environment: str = "prod", phase: int = 2, overrides: dict | None = None, domain: str | None = None):
    config = {"qnom:phase": phase, "qnom:environment": environment}
    if overrides:
        config["qnom:overrides"] = overrides
    if domain:
        config["qnom:domain"] = domain
    return PolicyContext.from_settings(settings_from_config(config, stack=environment), source="test")


def provider(region: str = "us-east-1", tags: dict | None = None) -> PolicyProviderResource:
    props = {"region": region, "defaultTags": json.dumps({"tags": TAGS if tags is None else tags})}
    return PolicyProviderResource("pulumi:providers:aws", unknown_checking_proxy(props),
                                  f"urn:pulumi:prod::qnom::pulumi:providers:aws::aws-{region}", f"aws-{region}")


def options(protect: bool = False, ignore_changes: tuple[str, ...] = ()) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, list(ignore_changes), None, [], PolicyCustomTimeouts(0, 0, 0), [])


def check_resource(rule_id, resource_type, props, *, environment="prod", phase=2, overrides=None, config=None,
                   ignore_changes=(), tags=None, name="subject", ctx=None):
    """Violation messages of one rule for one resource; NA or UNKNOWN_RAISED for those outcomes."""
    ctx = ctx or context(environment, phase, overrides)
    policy = to_policy(BY_ID[rule_id], context=FixedContext(ctx), enforcement=EnforcementLevel.MANDATORY)
    args = ResourceValidationArgs(resource_type, unknown_checking_proxy(json.loads(json.dumps(props))),
                                  f"urn:pulumi:prod::qnom::{resource_type}::{name}", name,
                                  options(ignore_changes=ignore_changes), provider(tags=tags), config, {})
    messages: list[str] = []
    try:
        policy.validate(args, lambda message, urn=None: messages.append(message))
    except _NotApplicableError:
        return NA
    except UnknownValueError:
        return UNKNOWN_RAISED
    return messages


def with_(base: dict, **changes) -> dict:
    merged = json.loads(json.dumps(base))
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


# --------------------------------------------------------------------------- resources as the tiers build them

RDS_PRIMARY = {
    "engine": "postgres", "engineVersion": "16", "instanceClass": "db.r5.large", "allocatedStorage": 100,
    "storageEncrypted": True, "kmsKeyId": U, "publiclyAccessible": False, "backupRetentionPeriod": 7,
    "deletionProtection": True, "skipFinalSnapshot": False, "finalSnapshotIdentifier": U, "multiAz": True,
    "iamDatabaseAuthenticationEnabled": True, "monitoringInterval": 60, "monitoringRoleArn": U,
    "enabledCloudwatchLogsExports": ["postgresql", "upgrade"], "copyTagsToSnapshot": True,
    "autoMinorVersionUpgrade": True, "password": U, "performanceInsightsEnabled": True,
    "username": "qnom", "dbSubnetGroupName": U, "parameterGroupName": U, "tags": {"Name": "db"},
}
RDS_REPLICA = {"replicateSourceDb": U, "instanceClass": "db.r5.large", "publiclyAccessible": False,
               "storageEncrypted": True, "kmsKeyId": U}
AURORA = {
    "engine": "aurora-postgresql", "engineMode": "provisioned", "storageEncrypted": True, "kmsKeyId": U,
    "deletionProtection": True, "backupRetentionPeriod": 7, "skipFinalSnapshot": False,
    "finalSnapshotIdentifier": U, "iamDatabaseAuthenticationEnabled": True, "copyTagsToSnapshot": True,
    "enabledCloudwatchLogsExports": ["postgresql"], "replicationSourceIdentifier": U,
    "serverlessv2ScalingConfiguration": {"minCapacity": 2, "maxCapacity": 128},
}
CACHE = {
    "description": "sessions", "engine": "redis", "engineVersion": "7.1", "nodeType": "cache.r5.large",
    "numCacheClusters": 2, "atRestEncryptionEnabled": True, "kmsKeyId": U, "transitEncryptionEnabled": True,
    "authToken": "[secret]", "authTokenUpdateStrategy": "ROTATE", "automaticFailoverEnabled": True,
    "multiAzEnabled": True, "snapshotRetentionLimit": 7, "autoMinorVersionUpgrade": True,
}
DOMAIN = {
    "engineVersion": "OpenSearch_2.13",
    "clusterConfig": {"instanceType": "r6g.large.search", "instanceCount": 3, "zoneAwarenessEnabled": True,
                      "zoneAwarenessConfig": {"availabilityZoneCount": 3}, "dedicatedMasterEnabled": True,
                      "dedicatedMasterType": "m6g.large.search", "dedicatedMasterCount": 3},
    "encryptAtRest": {"enabled": True, "kmsKeyId": U}, "nodeToNodeEncryption": {"enabled": True},
    "domainEndpointOptions": {"enforceHttps": True, "tlsSecurityPolicy": "Policy-Min-TLS-1-2-2019-07"},
    "vpcOptions": {"subnetIds": [U, U, U], "securityGroupIds": [U]},
    "advancedSecurityOptions": {"enabled": True, "internalUserDatabaseEnabled": False,
                                "masterUserOptions": {"masterUserArn": U}},
    "logPublishingOptions": [{"logType": "ES_APPLICATION_LOGS", "cloudwatchLogGroupArn": U, "enabled": True}],
    "ebsOptions": {"ebsEnabled": True, "volumeSize": 100, "volumeType": "gp3"},
}
LAUNCH = {
    "imageId": "ami-0abcdef1234567890", "instanceType": "t3.large",
    "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1},
    "blockDeviceMappings": [{"deviceName": "/dev/xvda",
                             "ebs": {"encrypted": "true", "volumeType": "gp3", "volumeSize": 20}}],
    "networkInterfaces": [{"associatePublicIpAddress": "false", "securityGroups": [U]}],
    "monitoring": {"enabled": True}, "iamInstanceProfile": {"arn": U}, "userData": U,
}
# Phase 1's NAT instance as the program registers it (components/network/nat_instance.py).
NAT = {
    "ami": "ami-0abcdef1234567890", "instanceType": "t4g.nano", "subnetId": U, "vpcSecurityGroupIds": [U],
    "associatePublicIpAddress": False, "sourceDestCheck": False,
    "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1},
    "rootBlockDevice": {"volumeSize": 8, "volumeType": "gp3", "encrypted": True, "deleteOnTermination": True},
    "maintenanceOptions": {"autoRecovery": "default"}, "userData": U,
}
GROUP = {"minSize": 4, "maxSize": 20, "desiredCapacity": 4, "healthCheckType": "ELB", "healthCheckGracePeriod": 300,
         "vpcZoneIdentifiers": [U, U, U], "targetGroupArns": [U], "launchTemplate": {"id": U, "version": "$Latest"},
         "tags": [{"key": key, "value": value, "propagateAtLaunch": True} for key, value in TAGS.items()]}
WORKER_GROUP = with_(GROUP, minSize=1, desiredCapacity=1, maxSize=4, healthCheckType="EC2", targetGroupArns=None)
ALB = {"loadBalancerType": "application", "internal": False, "subnets": [U, U, U], "securityGroups": [U],
       "dropInvalidHeaderFields": True, "accessLogs": {"bucket": U, "enabled": True, "prefix": "alb"},
       "enableDeletionProtection": True, "idleTimeout": 60}
HTTPS_LISTENER = {"loadBalancerArn": U, "port": 443, "protocol": "HTTPS", "certificateArn": U,
                  "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
                  "defaultActions": [{"type": "forward", "targetGroupArn": U}]}
HTTP_REDIRECT = {"loadBalancerArn": U, "port": 80, "protocol": "HTTP", "defaultActions": [
    {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]}
HTTP_FORWARD = {"loadBalancerArn": U, "port": 80, "protocol": "HTTP",
                "defaultActions": [{"type": "forward", "targetGroupArn": U}]}


def web_acl(limit: int | None) -> dict:
    rules = [{"name": "common", "priority": 1, "overrideAction": {"none": {}},
              "statement": {"managedRuleGroupStatement": {"name": "AWSManagedRulesCommonRuleSet", "vendorName": "AWS"}},
              "visibilityConfig": {"metricName": "common", "sampledRequestsEnabled": True,
                                   "cloudwatchMetricsEnabled": True}}]
    if limit is not None:
        rules.insert(0, {"name": "rate", "priority": 0, "action": {"block": {}},
                         "statement": {"rateBasedStatement": {"limit": limit, "aggregateKeyType": "IP"}},
                         "visibilityConfig": {"metricName": "rate", "sampledRequestsEnabled": True,
                                              "cloudwatchMetricsEnabled": True}})
    return {"scope": "REGIONAL", "defaultAction": {"allow": {}}, "rules": rules,
            "visibilityConfig": {"metricName": "acl", "sampledRequestsEnabled": True, "cloudwatchMetricsEnabled": True}}


PG_PARAMS = {"family": "postgres16", "parameters": [
    {"name": "log_min_duration_statement", "value": "1000", "applyMethod": "immediate"},
    {"name": "log_connections", "value": "1", "applyMethod": "immediate"}]}


def baseline_acl(counted: bool) -> dict:
    """A web ACL with the IP reputation and Known bad inputs groups (the second one counting with `counted`)."""
    acl = web_acl(2000)
    for priority, group in enumerate(("AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesKnownBadInputsRuleSet"),
                                     start=2):
        override = {"count": {}} if counted and priority == 3 else {"none": {}}
        acl["rules"].append({"name": group, "priority": priority, "overrideAction": override,
                             "statement": {"managedRuleGroupStatement": {"name": group, "vendorName": "AWS"}},
                             "visibilityConfig": {"metricName": group, "sampledRequestsEnabled": True,
                                                  "cloudwatchMetricsEnabled": True}})
    return acl


def forwarded_acl(header: str) -> dict:
    """A regional web ACL whose rate limit counts the address in `header`."""
    acl = web_acl(2000)
    acl["rules"][0]["statement"]["rateBasedStatement"].update(
        aggregateKeyType="FORWARDED_IP", forwardedIpConfig={"headerName": header, "fallbackBehavior": "MATCH"})
    return acl


def world(protocol: str, low: int, high: int) -> dict:
    return {"protocol": protocol, "fromPort": low, "toPort": high, "cidrBlocks": ["0.0.0.0/0"]}


DISTRIBUTION = {
    "enabled": True,
    "origins": [
        {"originId": "api", "domainName": U, "customHeaders": [{"name": "X-Origin-Verify", "value": U}],
         "customOriginConfig": {"httpPort": 80, "httpsPort": 443, "originProtocolPolicy": "https-only",
                                "originSslProtocols": ["TLSv1.2"]}},
        {"originId": "static", "domainName": U, "originAccessControlId": U},
    ],
    "defaultCacheBehavior": {"targetOriginId": "static", "viewerProtocolPolicy": "redirect-to-https",
                             "allowedMethods": ["GET", "HEAD"], "cachedMethods": ["GET", "HEAD"]},
    "orderedCacheBehaviors": [{"pathPattern": "/api/*", "targetOriginId": "api", "viewerProtocolPolicy": "https-only",
                               "allowedMethods": ["GET", "HEAD"], "cachedMethods": ["GET", "HEAD"]}],
    "viewerCertificate": {"acmCertificateArn": U, "minimumProtocolVersion": "TLSv1.2_2021",
                          "sslSupportMethod": "sni-only"},
    "restrictions": {"geoRestriction": {"restrictionType": "none"}},
}
ALLOW_LOGS = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "arn:aws:logs:*:*:*"}]})
ADMIN = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def case(rule_id: str, resource_type: str, good: dict, bad: dict, fragment: str, **options):
    """A compliant and a violating resource for `rule_id`, and a fragment of the expected message."""
    return pytest.param(rule_id, resource_type, good, bad, fragment, options, id=rule_id)


def variant(rule_id: str, resource_type: str, base: dict, fragment: str, options: dict | None = None, **changes):
    """The compliant `base`, and `base` with `changes` as the violating resource."""
    return case(rule_id, resource_type, base, with_(base, **changes), fragment, **(options or {}))


EKS = {"name": "qnom-prod", "version": "1.34", "roleArn": U,
       "vpcConfig": {"subnetIds": [U, U, U], "endpointPrivateAccess": True, "endpointPublicAccess": True,
                     "publicAccessCidrs": ["203.0.113.0/24"]},
       "encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": U}},
       "enabledClusterLogTypes": ["api", "audit", "authenticator", "controllerManager", "scheduler"]}
CONTAINER = {
    "name": "api-gateway", "image": "public.ecr.aws/qnom/api-gateway:stable",
    "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "1Gi"}},
    "livenessProbe": {"httpGet": {"path": "/health", "port": "http"}},
    "readinessProbe": {"httpGet": {"path": "/health", "port": "http"}},
    "securityContext": {"runAsNonRoot": True, "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}},
}
POD_SECURITY = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def deployment_with(pod: dict | None = None, **container) -> dict:
    """A Deployment spec whose container has `container`'s changes (None removes a field)."""
    changed = with_(CONTAINER, **container)
    return {"replicas": 4, "template": {"metadata": {"labels": {"app.kubernetes.io/name": "api-gateway"}},
                                        "spec": {"securityContext": POD_SECURITY if pod is None else pod,
                                                 "containers": [changed]}}}


DEPLOYMENT = {"metadata": {"name": "api-deployment", "namespace": "api-gateway"}, "spec": deployment_with()}


RESOURCE_CASES = [
    variant("rds-storage-encrypted", RDS_INSTANCE, RDS_PRIMARY, "storageEncrypted", storageEncrypted=False),
    variant("rds-not-publicly-accessible", RDS_INSTANCE, RDS_PRIMARY, "publiclyAccessible", publiclyAccessible=True),
    variant("rds-backup-retention", RDS_INSTANCE, RDS_PRIMARY, "below the required 7", backupRetentionPeriod=1),
    variant("rds-deletion-protection-prod", RDS_INSTANCE, RDS_PRIMARY, "deletionProtection", deletionProtection=False),
    variant("rds-final-snapshot-prod", RDS_INSTANCE, RDS_PRIMARY, "skipFinalSnapshot", skipFinalSnapshot=True),
    variant("rds-multi-az-as-promised", RDS_INSTANCE, RDS_PRIMARY, "phase 3 (scale) promises", {"phase": 3},
            multiAz=False),
    variant("rds-iam-authentication", RDS_INSTANCE, RDS_PRIMARY, "iamDatabase",
            iamDatabaseAuthenticationEnabled=False),
    variant("rds-enhanced-monitoring", RDS_INSTANCE, RDS_PRIMARY, "monitoringInterval is 0", monitoringInterval=0),
    variant("rds-logs-exported", RDS_INSTANCE, RDS_PRIMARY, "postgresql", enabledCloudwatchLogsExports=["upgrade"]),
    variant("rds-copy-tags-to-snapshots", RDS_INSTANCE, RDS_PRIMARY, "copyTagsToSnapshot", copyTagsToSnapshot=False),
    variant("rds-auto-minor-version-upgrade", RDS_INSTANCE, RDS_PRIMARY, "autoMinor", autoMinorVersionUpgrade=False),
    variant("rds-performance-insights", RDS_INSTANCE, RDS_PRIMARY, "performanceInsights",
            performanceInsightsEnabled=False),
    case("rds-postgres-force-ssl", RDS_PARAMETER_GROUP,
         {"family": "postgres16", "parameters": [{"name": "rds.force_ssl", "value": "1"},
                                                 {"name": "max_connections", "value": "500"}]},
         {"family": "postgres16", "parameters": [{"name": "rds.force_ssl", "value": "0"}]}, "rds.force_ssl is '0'"),
    variant("aurora-storage-encrypted", RDS_CLUSTER, AURORA, "storageEncrypted", storageEncrypted=None),
    variant("aurora-deletion-protection-prod", RDS_CLUSTER, AURORA, "deletionProtection", deletionProtection=False),
    variant("aurora-backup-retention", RDS_CLUSTER, AURORA, "1 day(s), below the required 7",
            backupRetentionPeriod=None),
    variant("aurora-final-snapshot-prod", RDS_CLUSTER, AURORA, "finalSnapshotIdentifier", finalSnapshotIdentifier=None),
    variant("aurora-iam-authentication", RDS_CLUSTER, AURORA, "iamDatabase", iamDatabaseAuthenticationEnabled=False),
    variant("aurora-copy-tags-to-snapshots", RDS_CLUSTER, AURORA, "copyTags", copyTagsToSnapshot=None),
    variant("aurora-logs-exported", RDS_CLUSTER, AURORA, "postgresql", enabledCloudwatchLogsExports=[]),
    variant("cache-encrypted-at-rest", CACHE_REPLICATION_GROUP, CACHE, "atRest", atRestEncryptionEnabled=False),
    variant("cache-encrypted-in-transit", CACHE_REPLICATION_GROUP, CACHE, "preferred",
            transitEncryptionMode="preferred"),
    variant("cache-auth-enabled", CACHE_REPLICATION_GROUP, CACHE, "no authToken", authToken=None),
    variant("cache-failover-as-promised", CACHE_REPLICATION_GROUP, CACHE, "multiAzEnabled", multiAzEnabled=False),
    variant("cache-snapshot-retention-prod", CACHE_REPLICATION_GROUP, CACHE, "snapshotRetentionLimit is 0",
            snapshotRetentionLimit=0),
    variant("cache-auto-minor-version-upgrade", CACHE_REPLICATION_GROUP, CACHE, "autoMinor",
            autoMinorVersionUpgrade=False),
    variant("sqs-encrypted-at-rest", SQS_QUEUE, {"sqsManagedSseEnabled": True}, "neither", sqsManagedSseEnabled=False),
    variant("s3-public-access-block-complete", S3_PUBLIC_ACCESS_BLOCK,
            {"bucket": U, "blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True,
             "restrictPublicBuckets": True}, "blockPublicPolicy", blockPublicPolicy=False),
    variant("s3-versioning-enabled", S3_VERSIONING, {"bucket": U, "versioningConfiguration": {"status": "Enabled"}},
            "Suspended", versioningConfiguration={"status": "Suspended"}),
    variant("s3-no-force-destroy-prod", S3_BUCKET, {"forceDestroy": False}, "forceDestroy", forceDestroy=True),
    variant("opensearch-encrypted-at-rest", OPENSEARCH_DOMAIN, DOMAIN, "encryptAtRest",
            encryptAtRest={"enabled": False}),
    variant("opensearch-node-to-node-encryption", OPENSEARCH_DOMAIN, DOMAIN, "nodeToNode", nodeToNodeEncryption=None),
    variant("opensearch-https-tls12", OPENSEARCH_DOMAIN, DOMAIN, "TLS-1-0",
            domainEndpointOptions={"enforceHttps": True, "tlsSecurityPolicy": "Policy-Min-TLS-1-0-2019-07"}),
    variant("opensearch-in-vpc", OPENSEARCH_DOMAIN, DOMAIN, "public endpoint", vpcOptions=None),
    variant("opensearch-fine-grained-access", OPENSEARCH_DOMAIN, DOMAIN, "anonymous",
            advancedSecurityOptions={"enabled": True, "anonymousAuthEnabled": True}),
    variant("opensearch-zone-awareness", OPENSEARCH_DOMAIN, DOMAIN, "availabilityZoneCount is 2",
            clusterConfig={"instanceType": "r6g.large.search", "instanceCount": 2, "zoneAwarenessEnabled": True}),
    variant("opensearch-dedicated-masters-prod", OPENSEARCH_DOMAIN, DOMAIN, "dedicatedMasterEnabled",
            clusterConfig={"instanceType": "r6g.large.search", "instanceCount": 3, "dedicatedMasterEnabled": False}),
    variant("opensearch-logs-published", OPENSEARCH_DOMAIN, DOMAIN, "ES_APPLICATION_LOGS",
            logPublishingOptions=[{"logType": "INDEX_SLOW_LOGS", "cloudwatchLogGroupArn": U}]),
    case("secret-cmk-encrypted", SECRET, {"kmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/abc"}, {}, "kmsKeyId"),
    variant("secret-recovery-window-prod", SECRET, {"recoveryWindowInDays": 30}, "recoveryWindowInDays is 0",
            recoveryWindowInDays=0),
    variant("kms-key-rotation", KMS_KEY, {"enableKeyRotation": True, "deletionWindowInDays": 30}, "enableKeyRotation",
            enableKeyRotation=False),
    variant("ec2-imdsv2-required", LAUNCH_TEMPLATE, LAUNCH, "'optional'",
            metadataOptions={"httpTokens": "optional", "httpPutResponseHopLimit": 1}),
    variant("ec2-imds-hop-limit", LAUNCH_TEMPLATE, LAUNCH, "3, not 1 or 2",
            metadataOptions={"httpTokens": "required", "httpPutResponseHopLimit": 3}),
    variant("ec2-ebs-encrypted", LAUNCH_TEMPLATE, LAUNCH, "/dev/xvda",
            blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}}]),
    case("sns-topic-cmk-encrypted", "aws:sns/topic:Topic", {"kmsMasterKeyId": "arn:aws:kms:us-east-1:123456789012:key/abc"}, {"kmsMasterKeyId": "alias/aws/sns"},
         "alias/aws/sns"),
    case("alarm-has-actions", "aws:cloudwatch/metricAlarm:MetricAlarm", {"alarmActions": [U]}, {"alarmActions": []},
         "nobody hears"),
    variant("ec2-no-public-ip", LAUNCH_TEMPLATE, LAUNCH, "associatePublicIpAddress",
            networkInterfaces=[{"associatePublicIpAddress": "true"}]),
    variant("ec2-imdsv2-required", EC2_INSTANCE, NAT, "'optional'",
            metadataOptions={"httpTokens": "optional", "httpPutResponseHopLimit": 1}),
    variant("ec2-imds-hop-limit", EC2_INSTANCE, NAT, "3, not 1 or 2",
            metadataOptions={"httpTokens": "required", "httpPutResponseHopLimit": 3}),
    variant("ec2-ebs-encrypted", EC2_INSTANCE, NAT, "rootBlockDevice.encrypted",
            rootBlockDevice={"volumeSize": 8, "volumeType": "gp3"}),
    variant("ec2-ebs-encrypted", EC2_INSTANCE, NAT, "ebsBlockDevices[0]",
            ebsBlockDevices=[{"deviceName": "/dev/sdf", "volumeSize": 10}]),
    variant("ec2-no-public-ip", EC2_INSTANCE, NAT, "associatePublicIpAddress is true", associatePublicIpAddress=True),
    variant("ec2-detailed-monitoring", LAUNCH_TEMPLATE, LAUNCH, "monitoring.enabled", monitoring={"enabled": False}),
    variant("asg-elb-health-check", ASG, GROUP, "'EC2'", healthCheckType="EC2"),
    variant("asg-min-two-in-prod", ASG, GROUP, "minSize is 1", minSize=1, desiredCapacity=1),
    variant("asg-multi-az", ASG, GROUP, "fewer than two", vpcZoneIdentifiers=[U]),
    variant("asg-launch-template", ASG, GROUP, "launchConfiguration", launchTemplate=None, launchConfiguration=U),
    variant("alb-drop-invalid-headers", LB, ALB, "dropInvalidHeaderFields", dropInvalidHeaderFields=None),
    variant("alb-access-logs", LB, ALB, "accessLogs", accessLogs={"bucket": U, "enabled": False}),
    variant("alb-deletion-protection-prod", LB, ALB, "enableDeletionProtection", enableDeletionProtection=False),
    variant("alb-desync-mitigation", LB, ALB, "'monitor'", desyncMitigationMode="monitor"),
    variant("alb-multi-az", LB, ALB, "1 subnet", subnets=[U]),
    variant("alb-listener-tls12", LISTENER, HTTPS_LISTENER, "2016-08", sslPolicy="ELBSecurityPolicy-2016-08"),
    case("waf-rate-limit-rule", WEB_ACL, web_acl(2000), web_acl(5000), "above the phase's 2000"),
    case("sg-no-world-ingress-except-web", SECURITY_GROUP,
         {"vpcId": U, "ingress": [world("tcp", 443, 443), world("tcp", 80, 80)]},
         {"vpcId": U, "ingress": [world("tcp", 22, 22)]}, "tcp 22-22"),
    variant("default-sg-no-rules", DEFAULT_SECURITY_GROUP, {"vpcId": U, "ingress": [], "egress": []}, "ingress has 1",
            ingress=[{"protocol": "-1", "fromPort": 0, "toPort": 0, "self": True}]),
    variant("subnet-no-auto-public-ip", SUBNET, {"vpcId": U, "mapPublicIpOnLaunch": False}, "mapPublicIpOnLaunch",
            mapPublicIpOnLaunch=True),
    variant("log-group-retention", LOG_GROUP, {"retentionInDays": 365}, "30, below the required 365", retentionInDays=30),
    variant("postgres-logs-slow-statements-and-connections", RDS_PARAMETER_GROUP, PG_PARAMS,
            "log_connections is None", parameters=PG_PARAMS["parameters"][:1]),
    variant("postgres-logs-slow-statements-and-connections", RDS_CLUSTER_PARAMETER_GROUP,
            with_(PG_PARAMS, family="aurora-postgresql16"), "log_min_duration_statement is '-1'",
            parameters=[{"name": "log_min_duration_statement", "value": "-1"}, PG_PARAMS["parameters"][1]]),
    variant("rds-replicas-export-logs", RDS_INSTANCE, with_(RDS_REPLICA, enabledCloudwatchLogsExports=["postgresql"]),
            "does not include postgresql", enabledCloudwatchLogsExports=[]),
    variant("cache-auth-token-rotates", CACHE_REPLICATION_GROUP, CACHE, "authTokenUpdateStrategy is 'SET'",
            authTokenUpdateStrategy="SET"),
    variant("log-group-kms-encrypted", LOG_GROUP, {"retentionInDays": 90, "kmsKeyId": U}, "kmsKeyId is not set",
            kmsKeyId=None),
    case("kms-key-policy-least-privilege", KMS_KEY,
         {"policy": json.dumps(policy_documents.service_key_policy("123456789012", ["rds.us-east-1.amazonaws.com"]))},
         {"policy": json.dumps({"Version": "2012-10-17", "Statement": [
             {"Sid": "EnableIamUserPermissions", "Effect": "Allow",
              "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*", "Resource": "*"}]})},
         "EnableIamUserPermissions allows kms:* without a kms:ViaService"),
    variant("iam-no-admin-wildcard", IAM_ROLE_POLICY, {"role": U, "policy": ALLOW_LOGS},
            "every action on every resource", policy=ADMIN),
    case("required-tags", VPC, {"cidrBlock": "10.10.0.0/16", "tags": {"Name": "vpc"}}, {"cidrBlock": "10.10.0.0/16"},
         "missing tag(s) service", violating_tags={key: value for key, value in TAGS.items() if key != "service"}),
    variant("cloudfront-viewer-https", CLOUDFRONT_DISTRIBUTION, DISTRIBUTION, "allow-all",
            defaultCacheBehavior={"targetOriginId": "static", "viewerProtocolPolicy": "allow-all"}),
    variant("cloudfront-tls-minimum", CLOUDFRONT_DISTRIBUTION, DISTRIBUTION, "'TLSv1'",
            viewerCertificate={"acmCertificateArn": U, "minimumProtocolVersion": "TLSv1",
                               "sslSupportMethod": "sni-only"}),
    variant("cloudfront-origin-secret-header", CLOUDFRONT_DISTRIBUTION, DISTRIBUTION, "no X-Origin-Verify",
            origins=[{"originId": "api", "domainName": U, "customOriginConfig": {
                "httpPort": 80, "httpsPort": 443, "originProtocolPolicy": "https-only",
                "originSslProtocols": ["TLSv1.2"]}}]),
    case("waf-managed-baseline", WEB_ACL, baseline_acl(counted=False), web_acl(2000),
         "no AWSManagedRulesAmazonIpReputationList"),
    case("waf-managed-baseline", WEB_ACL, baseline_acl(counted=False), baseline_acl(counted=True),
         "AWSManagedRulesKnownBadInputsRuleSet only counts"),
    case("waf-rate-key-unforgeable", WEB_ACL, forwarded_acl("X-Viewer-Address"), forwarded_acl("X-Forwarded-For"),
         "X-Forwarded-For, which the client can forge"),
    variant("cloudfront-origin-https", CLOUDFRONT_DISTRIBUTION, DISTRIBUTION, "http-only",
            origins=[{"originId": "api", "domainName": U, "customOriginConfig": {
                "httpPort": 80, "httpsPort": 443, "originProtocolPolicy": "http-only",
                "originSslProtocols": ["TLSv1", "TLSv1.2"]}}]),
    # The Kubernetes tier: EKS clusters and the services' Deployments as components/kubernetes builds them.
    variant("eks-endpoint-not-open", EKS_CLUSTER, EKS, "0.0.0.0/0",
            vpcConfig={**EKS["vpcConfig"], "publicAccessCidrs": ["0.0.0.0/0"]}),
    variant("eks-endpoint-not-open", EKS_CLUSTER, EKS, "endpointPrivateAccess is off",
            vpcConfig={**EKS["vpcConfig"], "endpointPrivateAccess": False}),
    variant("eks-secrets-encrypted", EKS_CLUSTER, EKS, "etcd holds them in plain text", encryptionConfig=None),
    variant("eks-control-plane-logs", EKS_CLUSTER, EKS, "lacks audit", enabledClusterLogTypes=["api", "authenticator"]),
    variant("k8s-containers-non-root", K8S_DEPLOYMENT, DEPLOYMENT, "may run as root",
            spec=deployment_with(securityContext={"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                                                  "capabilities": {"drop": ["ALL"]}}, pod={})),
    variant("k8s-containers-non-root", K8S_DEPLOYMENT, DEPLOYMENT, "can write its root filesystem",
            spec=deployment_with(securityContext={**CONTAINER["securityContext"], "readOnlyRootFilesystem": False})),
    variant("k8s-containers-resources", K8S_DEPLOYMENT, DEPLOYMENT, "has no memory limit",
            spec=deployment_with(resources={"requests": {"cpu": "500m", "memory": "1Gi"}})),
    variant("k8s-containers-resources", K8S_DEPLOYMENT, DEPLOYMENT, "may use 2Gi of memory but reserves 1Gi",
            spec=deployment_with(resources={"requests": {"cpu": "500m", "memory": "1Gi"},
                                            "limits": {"memory": "2Gi"}})),
    variant("k8s-containers-probes", K8S_DEPLOYMENT, DEPLOYMENT, "has no readinessProbe",
            spec=deployment_with(readinessProbe=None)),
]


def _split(options: dict) -> tuple[dict, dict]:
    options = dict(options)
    violating_tags = options.pop("violating_tags", None)
    return options, ({"tags": violating_tags} if violating_tags else {})


@pytest.mark.parametrize(("rule_id", "resource_type", "good", "bad", "fragment", "kwargs"), RESOURCE_CASES)
def test_resource_rule_passes_compliant_and_flags_violating(rule_id, resource_type, good, bad, fragment, kwargs):
    options, violating = _split(kwargs)
    assert check_resource(rule_id, resource_type, good, **options) == []
    messages = check_resource(rule_id, resource_type, bad, **options, **violating)
    assert isinstance(messages, list) and messages, f"{rule_id} did not flag the violating resource"
    assert any(fragment in message for message in messages), messages


def test_every_resource_rule_has_cases():
    dedicated = {"asg-desired-capacity-ignored"}  # compliance depends on options: see its own test below
    assert {item.values[0] for item in RESOURCE_CASES} | dedicated == {rule.id for rule in RESOURCE_RULES}


# --------------------------------------------------------------------------- not applicable, environment, phase

DEV = {"environment": "dev", "phase": 1}


@pytest.mark.parametrize(("rule_id", "resource_type", "props", "kwargs"), [
    ("rds-deletion-protection-prod", RDS_INSTANCE, with_(RDS_PRIMARY, deletionProtection=False), DEV),
    ("rds-final-snapshot-prod", RDS_INSTANCE, with_(RDS_PRIMARY, skipFinalSnapshot=True), DEV),
    ("rds-multi-az-as-promised", RDS_INSTANCE, with_(RDS_PRIMARY, multiAz=False), {"phase": 2}),
    ("rds-backup-retention", RDS_INSTANCE, RDS_REPLICA, {}),
    ("cache-failover-as-promised", CACHE_REPLICATION_GROUP, with_(CACHE, automaticFailoverEnabled=False), {"phase": 1}),
    *[(rule_id, CACHE_REPLICATION_GROUP, {"globalReplicationGroupId": U, "numCacheClusters": 2, "authToken": U},
       {"phase": 4})
      for rule_id in ("cache-encrypted-at-rest", "cache-encrypted-in-transit", "cache-snapshot-retention-prod",
                      "cache-auth-token-rotates")],
    *[(rule_id, RDS_CLUSTER, with_(AURORA, globalClusterIdentifier=U, skipFinalSnapshot=True,
                                   manageMasterUserPassword=None), {"phase": 4})
      for rule_id in ("aurora-final-snapshot-prod",)],
    ("asg-min-two-in-prod", ASG, WORKER_GROUP, {}),
    ("asg-min-two-in-prod", ASG, with_(GROUP, minSize=1), DEV),
    ("asg-elb-health-check", ASG, WORKER_GROUP, {}),
    ("alb-listener-tls12", LISTENER, HTTP_FORWARD, {}),
    ("cloudfront-tls-minimum", CLOUDFRONT_DISTRIBUTION,
     with_(DISTRIBUTION, viewerCertificate={"cloudfrontDefaultCertificate": True}), {}),
    ("kms-key-rotation", KMS_KEY, {"customerMasterKeySpec": "RSA_2048", "keyUsage": "SIGN_VERIFY"}, {}),
    ("rds-postgres-force-ssl", RDS_PARAMETER_GROUP, {"family": "mysql8.0", "parameters": []}, {}),
    ("waf-rate-limit-rule", WEB_ACL, with_(web_acl(None), scope="CLOUDFRONT"), {}),
    ("required-tags", "aws:ec2/route:Route", {"routeTableId": U, "destinationCidrBlock": "0.0.0.0/0"}, {}),
])
def test_rules_that_do_not_apply(rule_id, resource_type, props, kwargs):
    assert check_resource(rule_id, resource_type, props, **kwargs) == NA


STAGING = {"environment": "staging", "phase": 2}


# Staging is unprotected on purpose (its profile), but keeps prod's topology: the protection
# rules do not apply to it, the topology rules do.
@pytest.mark.parametrize(("rule_id", "resource_type", "props", "applies"), [
    ("rds-deletion-protection-prod", RDS_INSTANCE, with_(RDS_PRIMARY, deletionProtection=False), False),
    ("rds-final-snapshot-prod", RDS_INSTANCE, with_(RDS_PRIMARY, skipFinalSnapshot=True), False),
    ("aurora-deletion-protection-prod", RDS_CLUSTER, with_(AURORA, deletionProtection=False), False),
    ("aurora-final-snapshot-prod", RDS_CLUSTER, with_(AURORA, skipFinalSnapshot=True), False),
    ("alb-deletion-protection-prod", LB, with_(ALB, enableDeletionProtection=False), False),
    ("s3-no-force-destroy-prod", S3_BUCKET, {"forceDestroy": True}, False),
    ("secret-recovery-window-prod", SECRET, {"recoveryWindowInDays": 0}, False),
    ("asg-min-two-in-prod", ASG, with_(GROUP, minSize=1), True),
    ("opensearch-dedicated-masters-prod", OPENSEARCH_DOMAIN,
     with_(DOMAIN, clusterConfig={"instanceType": "r6g.large.search", "instanceCount": 3,
                                  "dedicatedMasterEnabled": False}), True),
])
def test_staging_skips_the_protection_rules_and_keeps_the_topology_rules(rule_id, resource_type, props, applies):
    result = check_resource(rule_id, resource_type, props, **STAGING)
    assert (result != NA and len(result) == 1) if applies else result == NA
    assert check_resource(rule_id, resource_type, props) != NA  # prod: the same resource is judged


def test_staging_resources_need_no_protect():
    unprotected = [stack_resource(RDS_INSTANCE, "db-primary", RDS_PRIMARY), stack_resource(SQS_QUEUE, "jobs")]
    assert check_stack("stateful-resources-protected", unprotected, **STAGING) == NA


def test_dev_keeps_one_day_of_backups_prod_seven():
    one_day = with_(RDS_PRIMARY, backupRetentionPeriod=1)
    assert check_resource("rds-backup-retention", RDS_INSTANCE, one_day, environment="dev", phase=1) == []
    assert check_resource("rds-backup-retention", RDS_INSTANCE, one_day, environment="prod") != []


def test_rule_settings_change_thresholds():
    assert check_resource("log-group-retention", LOG_GROUP, {"retentionInDays": 90}, config={"minimumDays": 365}) != []
    assert check_resource("sg-no-world-ingress-except-web", SECURITY_GROUP, {"ingress": [world("tcp", 8443, 8443)]},
                          config={"allowedPorts": [443, 8443]}) == []


def test_replica_inherits_encryption_from_its_source():
    assert check_resource("rds-storage-encrypted", RDS_INSTANCE, with_(RDS_REPLICA, storageEncrypted=None)) == []
    assert check_resource("rds-storage-encrypted", RDS_INSTANCE, with_(RDS_REPLICA, storageEncrypted=False)) != []


def test_postgres_before_15_must_set_force_ssl():
    defaults = {"family": "postgres16", "parameters": []}
    assert check_resource("rds-postgres-force-ssl", RDS_PARAMETER_GROUP, defaults) == []
    messages = check_resource("rds-postgres-force-ssl", RDS_PARAMETER_GROUP, {**defaults, "family": "postgres14"})
    assert messages == ["postgres14 defaults rds.force_ssl to 0; set it to 1"]


def test_auto_scaling_groups_get_no_provider_default_tags():
    untagged = with_(GROUP, tags=None)
    messages = check_resource("required-tags", ASG, untagged)
    assert messages == ["missing tag(s) environment, phase, service, managed-by "
                        "(provider default tags do not reach this type)"]
    assert check_resource("required-tags", ASG, GROUP) == []


def test_tags_must_name_the_stacks_environment_and_phase():
    messages = check_resource("required-tags", VPC, {"cidrBlock": "10.10.0.0/16"}, tags={**TAGS, "phase": "launch"})
    assert messages == ["tag phase='launch' does not match the stack's phase 'growth'"]


@pytest.mark.parametrize(("limit", "allowed"), [(1, True), (2, True), (3, False), (64, False), (None, False)])
def test_imds_hop_limit_allows_one_container_hop_and_no_more(limit, allowed):
    # 2: the API and worker containers (Docker bridge network) need the instance role.
    props = {**LAUNCH, "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": limit}}
    assert (check_resource("ec2-imds-hop-limit", LAUNCH_TEMPLATE, props) == []) is allowed


def test_desired_capacity_must_be_ignored_after_creation():
    assert check_resource("asg-desired-capacity-ignored", ASG, GROUP, ignore_changes=("desiredCapacity",)) == []
    assert check_resource("asg-desired-capacity-ignored", ASG, GROUP) == [
        "desiredCapacity is not in ignoreChanges: every deployment resets what the autoscaler decided"]


def test_waf_without_a_rate_rule_is_flagged():
    assert check_resource("waf-rate-limit-rule", WEB_ACL, web_acl(None)) == [
        "no rate-based rule: a single client can exhaust the API"]


# --------------------------------------------------------------------------- unknown values

@pytest.mark.parametrize(("rule_id", "resource_type", "props", "expected"), [
    # Needs the value: the engine cannot run the rule during preview (advisory diagnostic).
    ("rds-not-publicly-accessible", RDS_INSTANCE, with_(RDS_PRIMARY, publiclyAccessible=U), UNKNOWN_RAISED),
    ("iam-no-admin-wildcard", IAM_ROLE_POLICY, {"role": U, "policy": U}, UNKNOWN_RAISED),
    ("ec2-ebs-encrypted", LAUNCH_TEMPLATE,
     with_(LAUNCH, blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": {"encrypted": U}}]), UNKNOWN_RAISED),
    ("required-tags", VPC, {"cidrBlock": "10.10.0.0/16", "tags": U}, UNKNOWN_RAISED),
    ("asg-min-two-in-prod", ASG, with_(GROUP, minSize=U), UNKNOWN_RAISED),
    # Only needs the property set: an ARN or id known after deployment is enough.
    ("secret-cmk-encrypted", SECRET, {"kmsKeyId": U}, []),
    ("sqs-encrypted-at-rest", SQS_QUEUE, {"kmsMasterKeyId": U}, []),
    ("sns-topic-cmk-encrypted", "aws:sns/topic:Topic", {"kmsMasterKeyId": U}, []),
    ("cache-auth-enabled", CACHE_REPLICATION_GROUP, with_(CACHE, authToken=U), []),
    ("asg-multi-az", ASG, with_(GROUP, vpcZoneIdentifiers=[U, U]), []),
    ("asg-elb-health-check", ASG, with_(GROUP, targetGroupArns=U), []),
    ("opensearch-in-vpc", OPENSEARCH_DOMAIN, with_(DOMAIN, vpcOptions={"subnetIds": U}), []),
    # A CIDR computed from another resource (the VPC's range) is never the literal world range.
    ("sg-no-world-ingress-except-web", SECURITY_GROUP,
     {"ingress": [{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": [U]}]}, []),
])
def test_unknown_values_behave_as_in_the_engine(rule_id, resource_type, props, expected):
    assert check_resource(rule_id, resource_type, props) == expected


# --------------------------------------------------------------------------- stack rules

def stack_resource(resource_type: str, name: str, props: dict | None = None, *, deps: dict | None = None,
                   protect: bool = False, region: str = "us-east-1", components: tuple[str, ...] = (),
                   ignore_changes: tuple[str, ...] = ()) -> dict:
    return {"type": resource_type, "name": name, "props": props or {}, "deps": deps or {}, "protect": protect,
            "region": region, "components": components, "ignore": ignore_changes}


def check_stack(rule_id, resources, *, environment="prod", phase=2, overrides=None, config=None, domain=None,
                ctx=None):
    """(message, resource name) pairs of one stack rule; NA when it does not apply."""
    ctx = ctx or context(environment, phase, overrides, domain)
    chain = ("qnom:components:Platform", "qnom:components:Region")
    built = {}
    for spec in resources:
        types = "$".join((*chain, *spec["components"], spec["type"]))
        urn = f"urn:pulumi:{environment}::qnom::{types}::{spec['name']}"
        built[spec["name"]] = PolicyResource(
            spec["type"], unknown_checking_proxy(json.loads(json.dumps(spec["props"]))), urn, spec["name"],
            options(spec["protect"], spec["ignore"]), provider(spec["region"]), None, [], {})
    for spec in resources:
        built[spec["name"]].property_dependencies = {
            prop: [built[name] for name in names] for prop, names in spec["deps"].items()}
    policy = to_policy(BY_ID[rule_id], context=FixedContext(ctx), enforcement=EnforcementLevel.MANDATORY)
    names = {resource.urn: name for name, resource in built.items()}
    found: list[tuple[str, str | None]] = []
    try:
        policy.validate(StackValidationArgs(list(built.values()), config, {}),
                        lambda message, urn=None: found.append((message, names.get(urn))))
    except _NotApplicableError:
        return NA
    return found


def flagged(result) -> list[str | None]:
    assert isinstance(result, list), result
    return [name for _, name in result]


BUCKET = stack_resource(S3_BUCKET, "objects", {"forceDestroy": False})


def bucket_with(*parts: str) -> list[dict]:
    dep = {"bucket": ["objects"]}
    available = {
        "pab": stack_resource(S3_PUBLIC_ACCESS_BLOCK, "objects-pab", {"bucket": U}, deps=dep),
        "sse": stack_resource(S3_ENCRYPTION, "objects-sse", {"bucket": U, "rules": [
            {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": U}}]}, deps=dep),
        "policy": stack_resource(S3_POLICY, "objects-policy", {"bucket": U, "policy": json.dumps({"Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})}, deps=dep),
        "versioning": stack_resource(S3_VERSIONING, "objects-versioning",
                                     {"bucket": U, "versioningConfiguration": {"status": "Enabled"}}, deps=dep),
    }
    return [BUCKET, *(available[part] for part in parts)]


@pytest.mark.parametrize(("rule_id", "part"), [
    ("s3-bucket-public-access-blocked", "pab"), ("s3-bucket-encrypted", "sse"),
    ("s3-bucket-tls-only", "policy"), ("s3-bucket-versioned", "versioning"),
])
def test_bucket_rules_need_their_configuration_resource(rule_id, part):
    assert check_stack(rule_id, bucket_with(part)) == []
    assert flagged(check_stack(rule_id, bucket_with())) == ["objects"]


def test_bucket_policy_must_deny_insecure_transport():
    allow_only = stack_resource(S3_POLICY, "objects-policy", {"bucket": U, "policy": json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject", "Resource": "*"}]})},
        deps={"bucket": ["objects"]})
    assert flagged(check_stack("s3-bucket-tls-only", [BUCKET, allow_only])) == ["objects"]
    unknown = stack_resource(S3_POLICY, "objects-policy", {"bucket": U, "policy": U}, deps={"bucket": ["objects"]})
    assert check_stack("s3-bucket-tls-only", [BUCKET, unknown]) == []  # the document is built from the bucket's ARN


def test_acls_stay_off_except_on_the_cloudfront_log_bucket():
    def ownership(bucket: str, mode: str) -> dict:
        return stack_resource(S3_OWNERSHIP_CONTROLS, f"{bucket}-ownership",
                              {"bucket": U, "rule": {"objectOwnership": mode}}, deps={"bucket": [bucket]})

    logs = stack_resource(S3_BUCKET, "cdn-logs")
    cdn = stack_resource("aws:cloudfront/distribution:Distribution", "cdn", {"loggingConfig": {"bucket": U}},
                         deps={"loggingConfig": ["cdn-logs"]})
    enforced = [BUCKET, ownership("objects", "BucketOwnerEnforced")]
    assert check_stack("s3-ownership-enforced", enforced) == []
    assert flagged(check_stack("s3-ownership-enforced", [BUCKET, ownership("objects", "ObjectWriter")])) == [
        "objects-ownership"]
    # CloudFront standard logging needs ACLs on its destination, and only there.
    assert check_stack("s3-ownership-enforced", [logs, cdn, ownership("cdn-logs", "BucketOwnerPreferred")]) == []
    assert flagged(check_stack("s3-ownership-enforced", [logs, ownership("cdn-logs", "BucketOwnerPreferred")])) == [
        "cdn-logs-ownership"]
    assert flagged(check_stack("s3-ownership-enforced", [
        BUCKET, logs, cdn, ownership("objects", "BucketOwnerPreferred")])) == ["objects-ownership"]


def test_log_buckets_need_no_versioning():
    logs = stack_resource(S3_BUCKET, "api-alb-logs")
    target = stack_resource(S3_BUCKET, "access-target")
    balancer = stack_resource(LB, "api-alb", ALB, deps={"accessLogs": ["access-target"]})
    assert check_stack("s3-bucket-versioned", [logs, target, balancer]) == []
    assert flagged(check_stack("s3-bucket-versioned", [logs, target, balancer], config={"exemptNamePatterns": []})) \
        == ["api-alb-logs"]


def test_stateful_resources_are_protected_in_prod():
    database = stack_resource(RDS_INSTANCE, "db-primary", RDS_PRIMARY, protect=True)
    assert check_stack("stateful-resources-protected", [database]) == []
    unprotected = [stack_resource(RDS_INSTANCE, "db-primary", RDS_PRIMARY), stack_resource(SQS_QUEUE, "jobs")]
    assert flagged(check_stack("stateful-resources-protected", unprotected)) == ["db-primary", "jobs"]
    assert check_stack("stateful-resources-protected", unprotected, environment="dev", phase=1) == NA


def test_stateful_rule_checks_keys_secrets_and_global_data_pieces():
    # One list of stateful types: the rule checks what a promotion must never replace, keys and secrets too.
    from policy.resource_types import KMS_KEY, SECRET, STATEFUL
    from qnom.awsrules import force_new

    assert BY_ID["stateful-resources-protected"].resource_types == STATEFUL
    assert force_new.STATEFUL is STATEFUL
    unprotected = [stack_resource(KMS_KEY, "db-key"), stack_resource(SECRET, "db-master"),
                   stack_resource("aws:rds/clusterInstance:ClusterInstance", "aurora-1"),
                   stack_resource("aws:rds/globalCluster:GlobalCluster", "db-global"),
                   stack_resource("aws:elasticache/globalReplicationGroup:GlobalReplicationGroup", "cache-global")]
    assert sorted(flagged(check_stack("stateful-resources-protected", unprotected))) == [
        "aurora-1", "cache-global", "db-global", "db-key", "db-master"]


def queues(main: dict | None = None, *extra: dict) -> list[dict]:
    main_props = {"sqsManagedSseEnabled": True, "redrivePolicy": U} if main is None else main
    deps = {"redrivePolicy": ["jobs-dlq"]} if "redrivePolicy" in main_props else {}
    return [stack_resource(SQS_QUEUE, "jobs", main_props, deps=deps),
            stack_resource(SQS_QUEUE, "jobs-dlq", {"sqsManagedSseEnabled": True, "messageRetentionSeconds": 1209600}),
            *extra]


def test_every_main_queue_has_a_dead_letter_queue():
    assert check_stack("sqs-main-queue-has-dlq", queues()) == []
    lone = [stack_resource(SQS_QUEUE, "jobs", {"sqsManagedSseEnabled": True})]
    assert flagged(check_stack("sqs-main-queue-has-dlq", lone)) == ["jobs"]
    never = json.dumps({"deadLetterTargetArn": "arn:aws:sqs:us-east-1:1:x", "maxReceiveCount": 0})
    known = queues({"redrivePolicy": never})
    assert flagged(check_stack("sqs-main-queue-has-dlq", known)) == ["jobs"]


def test_dead_letter_queues_are_alarmed_once_monitoring_exists():
    monitoring = ("qnom:components:Monitoring",)
    alarm = stack_resource(METRIC_ALARM, "jobs-dlq-depth", {"dimensions": {"QueueName": U}, "threshold": 0},
                           deps={"dimensions": ["jobs-dlq"]}, components=monitoring)
    assert check_stack("sqs-dlq-alarmed", queues(None, alarm)) == []
    other = stack_resource(METRIC_ALARM, "cpu-high", {"dimensions": {"AutoScalingGroupName": U}}, components=monitoring)
    assert flagged(check_stack("sqs-dlq-alarmed", queues(None, other))) == ["jobs-dlq"]
    assert check_stack("sqs-dlq-alarmed", queues()) == NA  # no monitoring component yet


def test_queues_deny_insecure_transport():
    deny = json.dumps({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*",
                                      "Condition": {"Bool": {"aws:SecureTransport": False}}}]})
    policies = [stack_resource(SQS_QUEUE_POLICY, f"{name}-tls", {"queueUrl": U, "policy": deny},
                               deps={"queueUrl": [name]}) for name in ("jobs", "jobs-dlq")]
    assert check_stack("sqs-queue-tls-only", queues(None, *policies)) == []
    assert flagged(check_stack("sqs-queue-tls-only", queues(None, policies[0]))) == ["jobs-dlq"]


def test_every_vpc_has_a_flow_log():
    vpc = stack_resource(VPC, "network-vpc", {"cidrBlock": "10.10.0.0/16"})
    flow_log = stack_resource(FLOW_LOG, "network-flow-log", {"vpcId": U, "trafficType": "ALL"},
                              deps={"vpcId": ["network-vpc"]})
    assert check_stack("vpc-flow-logs-enabled", [vpc, flow_log]) == []
    assert flagged(check_stack("vpc-flow-logs-enabled", [vpc])) == ["network-vpc"]


def listeners(*specs: tuple[str, dict]) -> list[dict]:
    return [stack_resource(LB, "api-alb", ALB),
            *(stack_resource(LISTENER, name, props, deps={"loadBalancerArn": ["api-alb"]}) for name, props in specs)]


def test_http_redirects_to_https_when_a_certificate_exists():
    redirect = listeners(("https", HTTPS_LISTENER), ("http", HTTP_REDIRECT))
    assert check_stack("alb-http-redirects-to-https", redirect) == []
    forward = listeners(("https", HTTPS_LISTENER), ("http", HTTP_FORWARD))
    assert flagged(check_stack("alb-http-redirects-to-https", forward)) == ["http"]
    # Without qnom:domain there is no certificate: dev forwards HTTP, and the rule does not apply.
    assert check_stack("alb-http-redirects-to-https", listeners(("http", HTTP_FORWARD))) == NA
    with_domain = check_stack("alb-http-redirects-to-https", listeners(("http", HTTP_FORWARD)),
                              domain="api.example.com")
    assert flagged(with_domain) == ["api-alb", "http"]


def test_world_open_ports_only_on_internet_facing_load_balancers():
    alb_group = stack_resource(SECURITY_GROUP, "api-alb-sg", {"ingress": []})
    rule = stack_resource(SECURITY_GROUP_INGRESS_RULE, "api-alb-in-443",
                          {"securityGroupId": U, "ipProtocol": "tcp", "fromPort": 443, "toPort": 443,
                           "cidrIpv4": "0.0.0.0/0"},
                          deps={"securityGroupId": ["api-alb-sg"]})
    balancer = stack_resource(LB, "api-alb", ALB, deps={"securityGroups": ["api-alb-sg"]})
    assert check_stack("sg-world-web-only-on-internet-alb", [alb_group, rule, balancer]) == []
    instances = stack_resource(SECURITY_GROUP, "api-instances-sg", {"ingress": [world("tcp", 443, 443)]})
    found = check_stack("sg-world-web-only-on-internet-alb", [alb_group, rule, balancer, instances])
    assert flagged(found) == ["api-instances-sg"]
    internal = stack_resource(LB, "api-alb", with_(ALB, internal=True), deps={"securityGroups": ["api-alb-sg"]})
    found = check_stack("sg-world-web-only-on-internet-alb", [alb_group, rule, internal])
    assert flagged(found) == ["api-alb-in-443"]


def test_load_balancers_admit_managed_prefix_lists_only():
    group = stack_resource(SECURITY_GROUP, "api-alb-sg", {"ingress": []})
    balancer = stack_resource(LB, "api-alb", ALB, deps={"securityGroups": ["api-alb-sg"]})

    def rule(**source) -> dict:
        return stack_resource(SECURITY_GROUP_INGRESS_RULE, "api-alb-in-443",
                              {"securityGroupId": U, "ipProtocol": "tcp", "fromPort": 443, "toPort": 443, **source},
                              deps={"securityGroupId": ["api-alb-sg"]})

    assert check_stack("alb-ingress-cloudfront-only", [group, balancer, rule(prefixListId="pl-3b927c52")]) == []
    found = check_stack("alb-ingress-cloudfront-only", [group, balancer, rule(cidrIpv4="0.0.0.0/0")])
    assert flagged(found) == ["api-alb-in-443"] and "0.0.0.0/0" in found[0][0]
    inline = stack_resource(SECURITY_GROUP, "api-alb-sg", {"ingress": [world("tcp", 80, 80)]})
    assert flagged(check_stack("alb-ingress-cloudfront-only", [inline, balancer])) == ["api-alb-sg"]
    internal = stack_resource(LB, "api-alb", with_(ALB, internal=True), deps={"securityGroups": ["api-alb-sg"]})
    assert check_stack("alb-ingress-cloudfront-only", [group, internal, rule(cidrIpv4="10.0.0.0/16")]) == NA


def test_listeners_forward_only_what_carries_the_origin_secret():
    denied = {"type": "fixed-response", "fixedResponse": {"statusCode": "403", "contentType": "text/plain"}}
    locked = listeners(("https", with_(HTTPS_LISTENER, defaultActions=[denied])), ("http", HTTP_REDIRECT))
    assert check_stack("alb-requires-origin-secret", locked) == []
    assert flagged(check_stack("alb-requires-origin-secret", listeners(("http", HTTP_FORWARD)))) == ["http"]


def test_web_acls_log_to_an_aws_waf_logs_group_with_credentials_redacted():
    acl = stack_resource(WEB_ACL, "api-waf", web_acl(2000))
    group = stack_resource(LOG_GROUP, "api-waf-logs", {"namePrefix": "aws-waf-logs-api-waf-", "kmsKeyId": U})
    redacted = [{"singleHeader": {"name": "authorization"}}, {"singleHeader": {"name": "cookie"}}]

    def logging(fields: list, destination: str = "api-waf-logs") -> dict:
        return stack_resource("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration", "api-waf-log",
                              {"resourceArn": U, "logDestinationConfigs": [U], "redactedFields": fields},
                              deps={"resourceArn": ["api-waf"], "logDestinationConfigs": [destination]})

    assert check_stack("waf-logging-redacted", [acl, group, logging(redacted)]) == []
    assert flagged(check_stack("waf-logging-redacted", [acl, group])) == ["api-waf"]
    found = check_stack("waf-logging-redacted", [acl, group, logging(redacted[:1])])
    assert flagged(found) == ["api-waf-log"] and "does not redact cookie" in found[0][0]
    other = stack_resource(LOG_GROUP, "app-logs", {"name": "app"})
    found = check_stack("waf-logging-redacted", [acl, other, logging(redacted, "app-logs")])
    assert "no log group named aws-waf-logs-" in found[0][0]
    assert check_stack("waf-logging-redacted", [group]) == NA


def test_load_balancer_log_buckets_are_versioned():
    bucket = stack_resource(S3_BUCKET, "alb-logs", {"forceDestroy": False})
    balancer = stack_resource(LB, "api-alb", ALB, deps={"accessLogs": ["alb-logs"]})
    versioning = stack_resource(S3_VERSIONING, "alb-logs-versioning", {"bucket": U, "versioningConfiguration": {"status": "Enabled"}},
                                deps={"bucket": ["alb-logs"]})
    assert check_stack("alb-log-bucket-versioned", [bucket, balancer, versioning]) == []
    assert flagged(check_stack("alb-log-bucket-versioned", [bucket, balancer])) == ["alb-logs"]
    assert check_stack("alb-log-bucket-versioned", [bucket, stack_resource(LB, "api-alb", ALB)]) == NA


def test_buckets_that_receive_no_logs_have_access_logging():
    static = stack_resource(S3_BUCKET, "static", {"forceDestroy": False})
    logs = stack_resource(S3_BUCKET, "logs", {"forceDestroy": False})
    logging = stack_resource("aws:s3/bucketLogging:BucketLogging", "static-logging", {"bucket": U, "targetBucket": U},
                             deps={"bucket": ["static"], "targetBucket": ["logs"]})
    assert check_stack("s3-access-logged", [static, logs, logging]) == []
    assert flagged(check_stack("s3-access-logged", [static, logs])) == ["static", "logs"]


def test_cloudfront_logs_go_to_an_sse_kms_bucket():
    bucket = stack_resource(S3_BUCKET, "cdn-logs", {"forceDestroy": False})
    distribution = stack_resource(CLOUDFRONT_DISTRIBUTION, "cdn", DISTRIBUTION, deps={"loggingConfig": ["cdn-logs"]})

    def encryption(algorithm: str, key=U) -> dict:
        default = {"sseAlgorithm": algorithm, **({"kmsMasterKeyId": key} if key else {})}
        return stack_resource(S3_ENCRYPTION, "cdn-logs-encryption", {"bucket": U, "rules": [
            {"applyServerSideEncryptionByDefault": default, "bucketKeyEnabled": True}]}, deps={"bucket": ["cdn-logs"]})

    assert check_stack("cloudfront-log-bucket-kms", [bucket, distribution, encryption("aws:kms")]) == []
    assert flagged(check_stack("cloudfront-log-bucket-kms", [bucket, distribution, encryption("AES256", None)])) == [
        "cdn-logs"]
    assert check_stack("cloudfront-log-bucket-kms", [bucket]) == NA


def test_waf_guards_internet_facing_load_balancers_from_phase_2():
    balancer = stack_resource(LB, "api-alb", ALB)
    association = stack_resource(WEB_ACL_ASSOCIATION, "api-waf", {"resourceArn": U, "webAclArn": U},
                                 deps={"resourceArn": ["api-alb"]})
    assert check_stack("alb-waf-from-phase", [balancer, association]) == []
    assert flagged(check_stack("alb-waf-from-phase", [balancer])) == ["api-alb"]
    assert check_stack("alb-waf-from-phase", [balancer], phase=1) == NA


def nat_path(instance: dict | None = None, routed: bool = True) -> list[dict]:
    """A NAT instance, its Elastic IP and (when `routed`) a private route to its interface."""
    return [stack_resource(EC2_INSTANCE, "network-nat-instance", instance or NAT),
            stack_resource(EIP, "network-nat-address", {"domain": "vpc", "instance": U},
                           deps={"instance": ["network-nat-instance"]}),
            *([stack_resource(ROUTE, "network-private-a-nat", {"destinationCidrBlock": "0.0.0.0/0",
                                                                "networkInterfaceId": U},
                              deps={"networkInterfaceId": ["network-nat-instance"]})] if routed else [])]


def test_elastic_ips_serve_only_nat_gateways_and_nat_instances():
    gateway = [stack_resource(EIP, "network-nat-a", {"domain": "vpc"}),
               stack_resource(NAT_GATEWAY, "network-nat-a-gateway", {"allocationId": U, "subnetId": U},
                              deps={"allocationId": ["network-nat-a"]})]
    assert check_stack("eip-nat-only", gateway) == []
    assert check_stack("eip-nat-only", nat_path(), phase=1) == []
    assert check_stack("eip-nat-only", gateway[:1]) == [
        ("network-nat-a: no NAT gateway uses it and it names no NAT instance", "network-nat-a")]
    # A web server with an address of its own, and a NAT instance nothing routes to.
    assert check_stack("eip-nat-only", nat_path(with_(NAT, sourceDestCheck=True)), phase=1) == [
        ("network-nat-address: instance network-nat-instance checks source and destination: it is no NAT",
         "network-nat-address")]
    assert flagged(check_stack("eip-nat-only", nat_path(routed=False), phase=1)) == ["network-nat-address"]
    assert check_stack("eip-nat-only", [], phase=1) == NA


def test_instance_types_belong_to_the_phase_families():
    phase_2 = [stack_resource(LAUNCH_TEMPLATE, "api-lt", LAUNCH), stack_resource(RDS_INSTANCE, "db", RDS_PRIMARY),
               stack_resource(CACHE_REPLICATION_GROUP, "cache", CACHE),
               stack_resource(ASG, "workers", with_(WORKER_GROUP, mixedInstancesPolicy={"launchTemplate": {
                   "overrides": [{"instanceType": "m5.large"}, {"instanceType": "m6i.large"}]}}))]
    assert check_stack("instance-types-in-phase-families", phase_2) == []
    bigger = [stack_resource(LAUNCH_TEMPLATE, "api-lt", with_(LAUNCH, instanceType="m7i.8xlarge"))]
    found = check_stack("instance-types-in-phase-families", bigger)
    # t4g, m6g, m7g, m6gd, m7gd: the cost-optimised profile's Graviton twins of t3 and the workers'
    # types; m6g and m7g also widen its API group's spot pools (phases/cost_profile.py).
    assert found == [("api-lt: instanceType m7i.8xlarge is outside phase 2's ec2 families "
                      "(m5, m5a, m6a, m6g, m6gd, m6i, m7g, m7gd, t3, t4g)", "api-lt")]
    assert check_stack("instance-types-in-phase-families", bigger, config={"extraFamilies": ["m7i"]}) == []
    # Phase 3 moves the API to c5: a t3 launch template left behind is flagged.
    assert flagged(check_stack("instance-types-in-phase-families", phase_2[:1], phase=3)) == ["api-lt"]
    # Phase 1's NAT instance is of the catalog's egress family; it has no place in phase 3 (phase 2
    # admits t4g for its optimised API type, t4g.large).
    assert check_stack("instance-types-in-phase-families", nat_path()[:1], phase=1) == []
    assert flagged(check_stack("instance-types-in-phase-families", nat_path()[:1], phase=3)) == [
        "network-nat-instance"]


def test_capacity_stays_within_the_phase_ceilings():
    workers = ("qnom:components:Workers",)
    within = [stack_resource(ASG, "api-asg", with_(GROUP, maxSize=20)),  # phase 2: surge_max 20 in the primary
              stack_resource(ASG, "workers-asg", WORKER_GROUP, components=workers),
              stack_resource(ASG_SCHEDULE, "black-friday",
                             {"autoscalingGroupName": U, "maxSize": 20, "minSize": 4, "desiredCapacity": 20},
                             deps={"autoscalingGroupName": ["api-asg"]}),
              stack_resource(RDS_INSTANCE, "db-replica-1", RDS_REPLICA),
              stack_resource(CACHE_REPLICATION_GROUP, "cache", CACHE)]
    assert check_stack("capacity-within-phase-ceilings", within) == []
    over = [stack_resource(ASG, "api-asg", with_(GROUP, maxSize=21)),
            stack_resource(ASG, "workers-asg", with_(WORKER_GROUP, maxSize=5), components=workers),
            stack_resource(RDS_INSTANCE, "db-replica-1", RDS_REPLICA),
            stack_resource(RDS_INSTANCE, "db-replica-2", RDS_REPLICA),
            stack_resource(CACHE_REPLICATION_GROUP, "cache", with_(CACHE, numCacheClusters=3)),
            stack_resource(OPENSEARCH_DOMAIN, "search", DOMAIN)]
    messages = [message for message, _ in check_stack("capacity-within-phase-ceilings", over)]
    assert messages == [
        "api-asg: maxSize 21 exceeds the phase 2 API ceiling of 20",
        "workers-asg: maxSize 5 exceeds the phase 2 workers ceiling of 4",
        "2 read replica(s) in us-east-1: phase 2 allows 1",
        "cache: 3 cache node(s) exceed the phase 2 ceiling of 2 in us-east-1",
        "search: phase 2 (growth) has no search",
    ]
    assert check_stack("capacity-within-phase-ceilings", over[:1], config={"headroomPercent": 10}) == []
    # A secondary region's group is capped by that region's own max.
    west = [stack_resource(ASG, "us-west-2-api-asg", with_(GROUP, maxSize=11), region="us-west-2")]
    assert flagged(check_stack("capacity-within-phase-ceilings", west, phase=3)) == ["us-west-2-api-asg"]
    aurora = [stack_resource(RDS_CLUSTER, "aurora", AURORA),
              *(stack_resource(RDS_CLUSTER_INSTANCE, f"aurora-{index}", {"instanceClass": "db.serverless"})
                for index in range(4))]
    assert [message for message, _ in check_stack("capacity-within-phase-ceilings", aurora, phase=4)] == [
        "4 Aurora instance(s) in us-east-1: phase 4 allows 3"]


def test_overrides_never_weaken_the_phase():
    assert check_stack("stack-overrides-keep-phase-guarantees", [], phase=3) == []
    no_multi_az = check_stack("stack-overrides-keep-phase-guarantees", [], phase=3,
                              overrides={"database": {"multi_az": False}})
    assert no_multi_az == [("qnom:overrides.database.multi_az is false, but phase 3 (scale) promises "
                             "a Multi-AZ database", None)]
    single = {"regions": {"us-east-1": {"api": {"min": 1, "desired": 1}}}}
    assert [message for message, _ in check_stack("stack-overrides-keep-phase-guarantees", [], overrides=single)] == [
        "qnom:overrides.regions.us-east-1.api.min is 1: prod keeps at least 2 API instances per region "
        "(no single point of failure)"]
    assert check_stack("stack-overrides-keep-phase-guarantees", [], environment="dev", overrides=single) == []
    from_tags = PolicyContext.from_tags(TAGS)
    assert check_stack("stack-overrides-keep-phase-guarantees", [], ctx=from_tags) == NA


def master_password(database_type: str = RDS_INSTANCE, *, database: dict | None = None, key: str | None = U,
                    rotation: bool = True, ignore_password: bool = True, ignore_string: bool = True) -> list[dict]:
    """A writer with a generated password, its secret (version, key, rotation) as the Database builds them."""
    prop = "password" if database_type == RDS_INSTANCE else "masterPassword"
    props = database if database is not None else ({**RDS_PRIMARY} if database_type == RDS_INSTANCE else
                                                   {**AURORA, "replicationSourceIdentifier": None,
                                                                     "masterPassword": U})
    resources = [
        stack_resource(RANDOM_PASSWORD, "db-master-password", {"length": 40}),
        stack_resource(database_type, "db", props, deps={prop: ["db-master-password"]},
                       ignore_changes=("password",) if ignore_password and database_type == RDS_INSTANCE else ()),
        stack_resource(SECRET, "db-master", {"kmsKeyId": key} if key else {}),
        stack_resource(SECRET_VERSION, "db-master-version", {"secretId": U, "secretString": U},
                       deps={"secretId": ["db-master"], "secretString": ["db-master-password", "db"]},
                       ignore_changes=("secretString",) if ignore_string else ()),
    ]
    if rotation:
        resources.append(stack_resource(SECRET_ROTATION, "db-master-rotation",
                                        {"secretId": U, "rotationLambdaArn": U,
                                         "rotationRules": {"automaticallyAfterDays": 30}},
                                        deps={"secretId": ["db-master"]}))
    return resources


@pytest.mark.parametrize(("resources", "fragment"), [
    (master_password(database={**RDS_PRIMARY, "password": None, "manageMasterUserPassword": True}),
     "manageMasterUserPassword is true: AWS refuses read replicas"),
    (master_password(database={**RDS_PRIMARY, "password": None}), "password is not set"),
    ([stack_resource(RDS_INSTANCE, "db", RDS_PRIMARY, ignore_changes=("password",))],
     "password does not come from a random.RandomPassword"),
    (master_password(ignore_password=False), "password is not in ignoreChanges"),
    (master_password()[:2], "no Secrets Manager secret version holds the password"),
    (master_password(ignore_string=False), "db-master-version: secretString is not in ignoreChanges"),
    (master_password(key=None), "db-master: kmsKeyId is not a customer managed key"),
    (master_password(key="alias/aws/secretsmanager"), "db-master: kmsKeyId is not a customer managed key"),
    (master_password(rotation=False), "db-master: no rotation is configured"),
    (master_password(RDS_CLUSTER, rotation=False), "db-master: no rotation is configured"),
])
def test_master_password_is_generated_kept_in_a_cmk_secret_and_rotated(resources, fragment):
    found = check_stack("rds-master-password-rotated-secret", resources)
    assert flagged(found) == ["db"]
    assert any(fragment in message for message, _ in found), found


def test_master_password_rule_passes_the_database_as_built_and_skips_copies():
    assert check_stack("rds-master-password-rotated-secret", master_password()) == []
    assert check_stack("rds-master-password-rotated-secret", master_password(RDS_CLUSTER)) == []
    copies = [stack_resource(RDS_INSTANCE, "replica", RDS_REPLICA),
              stack_resource(RDS_CLUSTER, "aurora-replica", AURORA),
              stack_resource(RDS_CLUSTER, "aurora-secondary",
                             {**AURORA, "replicationSourceIdentifier": None, "globalClusterIdentifier": U})]
    assert check_stack("rds-master-password-rotated-secret", copies) == NA


def test_a_deployment_without_a_disruption_budget_is_flagged():
    budget = {"metadata": {"name": "api-gateway", "namespace": "api-gateway"},
              "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": "api-gateway"}}}}
    elsewhere = {**budget, "metadata": {"name": "api-gateway", "namespace": "auth-service"}}
    deployment = stack_resource(K8S_DEPLOYMENT, "api-deployment", DEPLOYMENT)
    assert check_stack("k8s-deployment-has-pdb", [deployment, stack_resource(K8S_PDB, "pdb", budget)]) == []
    assert flagged(check_stack("k8s-deployment-has-pdb", [deployment, stack_resource(K8S_PDB, "pdb", elsewhere)])) == [
        "api-deployment"]
    assert check_stack("k8s-deployment-has-pdb", [stack_resource(K8S_PDB, "pdb", budget)]) == NA


def test_every_stack_rule_has_cases():
    tested = {"s3-ownership-enforced", "s3-bucket-public-access-blocked", "s3-bucket-encrypted", "s3-bucket-tls-only", "s3-bucket-versioned",
              "stateful-resources-protected", "sqs-main-queue-has-dlq", "sqs-dlq-alarmed", "sqs-queue-tls-only",
              "vpc-flow-logs-enabled", "alb-http-redirects-to-https", "sg-world-web-only-on-internet-alb",
              "alb-waf-from-phase", "instance-types-in-phase-families", "capacity-within-phase-ceilings",
              "stack-overrides-keep-phase-guarantees", "rds-master-password-rotated-secret", "k8s-deployment-has-pdb",
              "alb-ingress-cloudfront-only", "alb-requires-origin-secret", "waf-logging-redacted",
              "alb-log-bucket-versioned", "s3-access-logged", "cloudfront-log-bucket-kms", "eip-nat-only"}
    assert tested == {rule.id for rule in STACK_RULES}


# --------------------------------------------------------------------------- enforcement and context

@pytest.mark.parametrize(("environment", "level"), [
    ("prod", EnforcementLevel.MANDATORY), ("staging", EnforcementLevel.MANDATORY), ("dev", EnforcementLevel.ADVISORY),
    (None, EnforcementLevel.MANDATORY)])
def test_enforcement_follows_the_environment(environment, level):
    assert default_enforcement(environment) == level
    policies = build_policies(FixedContext(PolicyContext(environment=environment)), default_enforcement(environment))
    assert {policy.enforcement_level for policy in policies} == {level}
    assert len(policies) == len(BY_ID) == 108


def test_context_from_provider_tags_when_the_config_is_missing():
    ctx = PolicyContext.from_tags({**TAGS, "environment": "dev", "phase": "scale"})
    assert (ctx.environment, ctx.phase.number, ctx.effective, ctx.source) == ("dev", 3, None, "provider tags")
    assert PolicyContext.from_tags({"Name": "x"}).environment is None
    assert PolicyContext().prod  # an unknown stack gets the strict rules
