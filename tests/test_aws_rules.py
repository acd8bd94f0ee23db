"""AWS's own API rules in the offline engine: each rule refuses a crafted request that AWS (or the
provider) refuses, with AWS's error text, and accepts the valid request next to it. Requests are
`RecordedResource`s as the engine records them, checked with what was registered before them."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import date

import pytest

from components.edge.origin_access import VIEWER_ADDRESS_CODE as VIEWER_CODE
from qnom import mocks
from qnom.awsrules import RULES, check
from qnom.engine import SECRET, UNKNOWN, RecordedResource
from tests.support import PLAN_DATE

INSTANCE = "aws:rds/instance:Instance"
CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
GLOBAL_CLUSTER = "aws:rds/globalCluster:GlobalCluster"
GROUP = "aws:autoscaling/group:Group"
SCHEDULE = "aws:autoscaling/schedule:Schedule"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
CACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
DATASTORE = "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup"
DOMAIN = "aws:opensearch/domain:Domain"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
LISTENER = "aws:lb/listener:Listener"
BACKUP_COPY = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
KEY = "aws:kms/key:Key"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SUBSCRIPTION = "aws:costexplorer/anomalySubscription:AnomalySubscription"


def _provider(region: str) -> RecordedResource:
    return RecordedResource(urn=f"urn:pulumi:test::qnom::pulumi:providers:aws::aws-{region}", type="pulumi:providers:aws",
                            name=f"aws-{region}", custom=True, parent=None, provider=None, inputs={"region": region},
                            options={})


PROVIDERS = {region: _provider(region) for region in ("us-east-1", "us-west-2", "eu-west-1")}


def res(resource_type: str, name: str, inputs: dict, *, deps: dict | None = None, region: str = "us-east-1",
        ignore: tuple[str, ...] = (), replace: tuple[str, ...] = (), delete_first: bool = False) -> RecordedResource:
    """A registration; `deps` maps an input to the resources its value comes from."""
    return RecordedResource(
        urn=f"urn:pulumi:test::qnom::{resource_type}::{name}", type=resource_type, name=name, custom=True,
        parent=None, provider=PROVIDERS[region].urn, inputs=inputs,
        options={"protect": False, "retainOnDelete": False, "deleteBeforeReplace": delete_first,
                 "ignoreChanges": list(ignore), "replaceOnChanges": list(replace), "dependsOn": [], "aliases": []},
        dependencies={prop: [source.urn for source in sources] for prop, sources in (deps or {}).items()})


INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
ALB_GROUP = res("aws:ec2/securityGroup:SecurityGroup", "alb", {"description": "load balancer"})
CLOUDFRONT = mocks.prefix_list_id("us-east-1", mocks.CLOUDFRONT_PREFIX_LIST)
CHECKERS = mocks.prefix_list_id("us-east-1", "com.amazonaws.us-east-1.route53-healthchecks")


def ingress(name: str, prefix_list: str | None) -> RecordedResource:
    source = {"prefixListId": prefix_list} if prefix_list else {"cidrIpv4": "10.0.0.0/16"}
    return res(INGRESS, name, {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, **source},
               deps={"securityGroupId": [ALB_GROUP]})


def listener_rule(secrets: list[str], paths: list[str]) -> RecordedResource:
    return res("aws:lb/listenerRule:ListenerRule", "from-cloudfront", {"priority": 10, "conditions": [
        {"httpHeader": {"httpHeaderName": "X-Origin-Verify", "values": secrets}},
        {"pathPattern": {"values": paths}}]})


@dataclass(frozen=True)
class Case:
    rule: str
    request: RecordedResource
    before: list[RecordedResource] = field(default_factory=list)
    refused: str | None = None
    """AWS's text the refusal carries; None when AWS accepts the request."""


def _b64(script: str) -> str:
    return base64.b64encode(script.encode()).decode()


MANAGED = res(INSTANCE, "primary", {"engine": "postgres", "engineVersion": "16", "manageMasterUserPassword": True})
STACK_PASSWORD = res(INSTANCE, "primary", {"engine": "postgres", "engineVersion": "16", "password": SECRET})
CASCADE = res(INSTANCE, "replica-0", {"replicateSourceDb": UNKNOWN}, deps={"replicateSourceDb": [MANAGED]})
MANAGED_CLUSTER = res(CLUSTER, "aurora", {"engine": "aurora-postgresql", "manageMasterUserPassword": True})
PINNED_CLUSTER = res(CLUSTER, "aurora", {"engine": "aurora-postgresql", "engineVersion": "16.8"})
PRIMARY_CACHE = res(CACHE, "primary-cache", {"nodeType": "cache.r6g.large", "transitEncryptionEnabled": True,
                                             "numCacheClusters": 3, "automaticFailoverEnabled": True})
SMALL_CACHE = res(CACHE, "primary-cache", {"nodeType": "cache.t3.medium", "transitEncryptionEnabled": True})
PLAIN_CACHE = res(CACHE, "primary-cache", {"nodeType": "cache.r6g.large", "transitEncryptionEnabled": False})
STORE = res(DATASTORE, "global", {"primaryReplicationGroupId": UNKNOWN},
            deps={"primaryReplicationGroupId": [PRIMARY_CACHE]})
PLAIN_STORE = res(DATASTORE, "global", {"primaryReplicationGroupId": UNKNOWN},
                  deps={"primaryReplicationGroupId": [PLAIN_CACHE]})


def member(name: str, region: str, store: RecordedResource = STORE, **inputs) -> RecordedResource:
    return res(CACHE, name, {"globalReplicationGroupId": UNKNOWN, "numCacheClusters": 2, **inputs},
               deps={"globalReplicationGroupId": [store]}, region=region)


ASG_RESOURCE = res(GROUP, "api", {"minSize": 2, "maxSize": 6, "desiredCapacity": 2})
RECURRING_NY = res(SCHEDULE, "api-off-hours", {"recurrence": "0 20 * * *", "timeZone": "America/New_York",
                                               "desiredCapacity": 2, "autoscalingGroupName": UNKNOWN},
                   deps={"autoscalingGroupName": [ASG_RESOURCE]}, replace=("*",), delete_first=True)


def one_time(start: str) -> RecordedResource:
    return res(SCHEDULE, "api-window-start", {"startTime": start, "minSize": 4, "autoscalingGroupName": UNKNOWN},
               deps={"autoscalingGroupName": [ASG_RESOURCE]})


X86_TEMPLATE = res(TEMPLATE, "api-lt", {"imageId": mocks.AMI_ID, "instanceType": "t3.medium"})
ARM_TEMPLATE = res(TEMPLATE, "api-lt", {"imageId": mocks.ARM64_AMI_ID, "instanceType": "t4g.medium"})


def graviton_group(types: list[str]) -> RecordedResource:
    """An API group of a mixed instances policy over Graviton `types`, from the template `api-lt`."""
    policy = {"launchTemplate": {"overrides": [{"instanceType": name} for name in types]},
              "instancesDistribution": {"onDemandBaseCapacity": 1, "onDemandPercentageAboveBaseCapacity": 0}}
    return res(GROUP, "api", {"minSize": 2, "maxSize": 2, "mixedInstancesPolicy": policy},
               deps={"mixedInstancesPolicy": [X86_TEMPLATE]})


def template(script: str, hops: int) -> RecordedResource:
    return res(TEMPLATE, "workers-lt", {"userData": _b64(script), "metadataOptions": {
        "httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": hops}})


VPC = res("aws:ec2/vpc:Vpc", "network-vpc", {"cidrBlock": "10.10.0.0/16"})
PUBLIC_SUBNET = res("aws:ec2/subnet:Subnet", "network-public-a", {"vpcId": UNKNOWN}, deps={"vpcId": [VPC]})
IGW = res("aws:ec2/internetGateway:InternetGateway", "network-igw", {"vpcId": UNKNOWN}, deps={"vpcId": [VPC]})
NAT_INSTANCE = res("aws:ec2/instance:Instance", "network-nat-instance", {"instanceType": "t4g.nano",
                                                                          "subnetId": UNKNOWN},
                   deps={"subnetId": [PUBLIC_SUBNET]})
NAT_ADDRESS = res("aws:ec2/eip:Eip", "network-nat-instance", {"domain": "vpc", "instance": UNKNOWN},
                  deps={"instance": [NAT_INSTANCE]})


def route(**targets) -> RecordedResource:
    """A default route with the given targets (unknown values, each from a resource of its own)."""
    return res("aws:ec2/route:Route", "network-private-a-nat", {
        "routeTableId": UNKNOWN, "destinationCidrBlock": "0.0.0.0/0", **{key: UNKNOWN for key in targets}},
        deps={key: [source] for key, source in targets.items()})


def domain(zone_aware: bool, zones: int, subnets: int, nodes: int) -> RecordedResource:
    cluster = {"instanceCount": nodes, "zoneAwarenessEnabled": zone_aware}
    if zone_aware:
        cluster["zoneAwarenessConfig"] = {"availabilityZoneCount": zones}
    return res(DOMAIN, "search", {"clusterConfig": cluster, "vpcOptions": {"subnetIds": [UNKNOWN] * subnets}})


def distribution(methods: list[str]) -> RecordedResource:
    return res(DISTRIBUTION, "cdn", {
        "originGroups": [{"originId": "api-failover", "members": [{"originId": "a"}, {"originId": "b"}]}],
        "defaultCacheBehavior": {"targetOriginId": "a", "allowedMethods": ["GET", "HEAD", "POST"]},
        "orderedCacheBehaviors": [{"pathPattern": "/health", "targetOriginId": "api-failover",
                                   "allowedMethods": methods}]})


BACKED_UP = res(INSTANCE, "primary", {"engine": "postgres", "storageEncrypted": True, "backupRetentionPeriod": 7})
WEST_KEY = res(KEY, "west-db-key", {}, region="us-west-2")
EAST_KEY = res(KEY, "east-db-key", {})


def backup_copy(source: RecordedResource, key: RecordedResource | None, region: str = "us-west-2") -> RecordedResource:
    inputs = {"sourceDbInstanceArn": UNKNOWN, "retentionPeriod": 7} | ({"kmsKeyId": UNKNOWN} if key else {})
    deps = {"sourceDbInstanceArn": [source]} | ({"kmsKeyId": [key]} if key else {})
    return res(BACKUP_COPY, "west-db-backup-copy", inputs, deps=deps, region=region)


CASES = [
    # 0. Cross-Region copies of automated backups.
    Case("rds-backup-replication-destination", backup_copy(BACKED_UP, WEST_KEY), [BACKED_UP, WEST_KEY]),
    Case("rds-backup-replication-destination", backup_copy(BACKED_UP, EAST_KEY), [BACKED_UP, EAST_KEY],
         refused="KmsKeyId east-db-key is a key of us-east-1, not of the destination Region us-west-2"),
    Case("rds-backup-replication-destination", backup_copy(BACKED_UP, None), [BACKED_UP],
         refused="the source primary is encrypted: a KmsKeyId is required"),
    Case("rds-backup-replication-destination", backup_copy(BACKED_UP, EAST_KEY, region="us-east-1"),
         [BACKED_UP, EAST_KEY], refused="the source primary is in us-east-1: automated backups replicate to another"),
    Case("rds-backup-replication-destination", backup_copy(STACK_PASSWORD, None), [STACK_PASSWORD],
         refused="keeps no automated backups"),
    # 1. Read replicas and global databases of sources whose master password RDS manages.
    Case("rds-replica-managed-password", res(INSTANCE, "replica-0", {"replicateSourceDb": UNKNOWN},
                                             deps={"replicateSourceDb": [MANAGED]}), [MANAGED],
         refused="InvalidParameterValue: Creating read replicas for source instance with engine postgres where "
                 "ManageMasterUserPassword is enabled is not supported"),
    Case("rds-replica-managed-password", res(INSTANCE, "west-replica-0", {"replicateSourceDb": UNKNOWN},
                                             deps={"replicateSourceDb": [CASCADE]}, region="us-west-2"),
         [MANAGED, CASCADE], refused="where ManageMasterUserPassword is enabled is not supported"),
    Case("rds-replica-managed-password", res(CLUSTER, "aurora", {"replicationSourceIdentifier": UNKNOWN},
                                             deps={"replicationSourceIdentifier": [MANAGED]}), [MANAGED],
         refused="where ManageMasterUserPassword is enabled is not supported"),
    Case("rds-replica-managed-password", res(INSTANCE, "replica-0", {"replicateSourceDb": UNKNOWN},
                                             deps={"replicateSourceDb": [STACK_PASSWORD]}), [STACK_PASSWORD]),
    Case("rds-read-replica-cluster-password",
         res(CLUSTER, "aurora", {"replicationSourceIdentifier": UNKNOWN, "manageMasterUserPassword": False}),
         refused="InvalidParameterValue: ManageMasterUserPassword isn't supported for read replica"),
    Case("rds-read-replica-cluster-password", res(CLUSTER, "aurora", {"replicationSourceIdentifier": UNKNOWN})),
    Case("rds-global-cluster-managed-password",
         res(GLOBAL_CLUSTER, "global", {"sourceDbClusterIdentifier": UNKNOWN},
             deps={"sourceDbClusterIdentifier": [MANAGED_CLUSTER]}), [MANAGED_CLUSTER],
         refused="isn't supported for DB clusters that are part of an Aurora global database"),
    Case("rds-global-cluster-managed-password",
         res(CLUSTER, "west-aurora", {"globalClusterIdentifier": UNKNOWN, "manageMasterUserPassword": True}),
         refused="isn't supported for DB clusters that are part of an Aurora global database"),
    Case("rds-global-cluster-managed-password",
         res(GLOBAL_CLUSTER, "global", {"sourceDbClusterIdentifier": UNKNOWN},
             deps={"sourceDbClusterIdentifier": [PINNED_CLUSTER]}), [PINNED_CLUSTER]),
    # 2. Minor versions that AWS upgrades, and the Aurora replica's version.
    Case("rds-minor-version-pinned", res(INSTANCE, "primary", {"engine": "postgres", "engineVersion": "16.8",
                                                               "autoMinorVersionUpgrade": True}),
         refused="InvalidParameterCombination: Cannot upgrade postgres from 16.x to 16.8"),
    Case("rds-minor-version-pinned", res(CLUSTER_INSTANCE, "aurora-0", {"clusterIdentifier": UNKNOWN},
                                         deps={"clusterIdentifier": [PINNED_CLUSTER]}), [PINNED_CLUSTER],
         refused="InvalidParameterCombination: Cannot upgrade aurora-postgresql from 16.x to 16.8"),
    Case("rds-minor-version-pinned", res(INSTANCE, "primary", {"engine": "postgres", "engineVersion": "16"})),
    Case("rds-minor-version-pinned", res(INSTANCE, "primary", {"engine": "postgres", "engineVersion": "16.8"},
                                         ignore=("engineVersion",))),
    Case("rds-minor-version-pinned", res(CLUSTER_INSTANCE, "aurora-0", {
        "clusterIdentifier": UNKNOWN, "autoMinorVersionUpgrade": False}, deps={"clusterIdentifier": [PINNED_CLUSTER]}),
        [PINNED_CLUSTER]),
    Case("rds-aurora-replica-version", res(CLUSTER, "aurora", {
        "replicationSourceIdentifier": UNKNOWN, "engineVersion": "16.8"},
        deps={"replicationSourceIdentifier": [STACK_PASSWORD]}), [STACK_PASSWORD],
        refused="the Aurora read replica's engine version '16.8' is a fixed literal"),
    Case("rds-aurora-replica-version", res(CLUSTER, "aurora", {
        "replicationSourceIdentifier": UNKNOWN, "engineVersion": UNKNOWN},
        deps={"replicationSourceIdentifier": [STACK_PASSWORD], "engineVersion": [STACK_PASSWORD]}), [STACK_PASSWORD]),
    # 9. No zone on a Multi-AZ instance.
    Case("rds-multi-az-availability-zone", res(INSTANCE, "primary", {"multiAz": True, "availabilityZone": "us-east-1a"}),
         refused="InvalidParameterCombination: Requesting a specific availability zone is not valid for Multi-AZ "
                 "instances."),
    Case("rds-multi-az-availability-zone", res(INSTANCE, "primary", {"multiAz": True})),
    # 3. Scheduled actions and group sizes.
    Case("asg-recurring-action-update", res(SCHEDULE, "api-business-hours", {"recurrence": "0 7 * * 1-5"}),
         refused='ValidationError: Given start time is in the past (a change to this recurring action is an '
                 'in-place update that re-sends the start time AWS computed at creation; it needs '
                 'replaceOnChanges ["*"] and deleteBeforeReplace'),
    Case("asg-recurring-action-update", res(SCHEDULE, "api-business-hours", {"recurrence": "0 7 * * 1-5"},
                                            replace=("*",)),
         refused="it needs deleteBeforeReplace so that a change replaces it"),
    Case("asg-recurring-action-update", RECURRING_NY),
    # The cases are checked as of PLAN_DATE, 2025-11-01; in New York that day starts at 04:00Z.
    Case("asg-start-time-in-past", one_time("2025-10-31T12:00:00Z"), [ASG_RESOURCE],
         refused="ValidationError: Given start time is in the past (startTime 2025-10-31T12:00:00Z, plan date "
                 "2025-11-01 in UTC)"),
    # The plan date's own midnight is past whatever the hour; 04:00Z is midnight in New York (EDT).
    Case("asg-start-time-in-past", one_time("2025-11-01T04:00:00Z"), [ASG_RESOURCE, RECURRING_NY],
         refused="plan date 2025-11-01 in America/New_York"),
    Case("asg-start-time-in-past", one_time("2025-11-01T04:01:00Z"), [ASG_RESOURCE, RECURRING_NY]),
    Case("asg-size-bounds", res(GROUP, "api", {"minSize": 4, "maxSize": 6, "desiredCapacity": 2}),
         refused="ValidationError: Desired capacity:2 must be between the specified min size:4 and max size:6"),
    Case("asg-size-bounds", res(GROUP, "api", {"minSize": 5, "maxSize": 3}),
         refused="ValidationError: Max bound, 3, must be greater than or equal to min bound, 5"),
    Case("asg-size-bounds", ASG_RESOURCE),
    # Every type a group launches runs the template image's architecture.
    Case("asg-instance-type-architecture", graviton_group(["t4g.medium", "c6g.large"]), [X86_TEMPLATE],
         refused="ValidationError: You must use a valid fully-formed launch template. The architecture 'arm64' of "
                 "the specified instance type does not match the architecture 'x86_64' of the specified AMI"),
    Case("asg-instance-type-architecture", graviton_group(["t4g.medium", "c6g.large"]), [ARM_TEMPLATE]),
    Case("asg-instance-type-architecture", res(GROUP, "api", {"minSize": 2, "maxSize": 2},
                                               deps={"launchTemplate": [X86_TEMPLATE]}), [X86_TEMPLATE]),
    # 4. Containers on the bridge network need a second metadata hop.
    Case("ec2-container-metadata-hop-limit", template("#!/bin/bash\ndocker run --rm -p 80:80 qnom/api\n", 1),
         refused="In a container environment, if the hop limit is 1, the IMDSv2 response does not return"),
    Case("ec2-container-metadata-hop-limit", template("#!/bin/bash\ndocker run --rm -p 80:80 qnom/api\n", 2)),
    Case("ec2-container-metadata-hop-limit", template("#!/bin/bash\ndocker run --network host qnom/api\n", 1)),
    # 5. ElastiCache.
    Case("elasticache-failover-two-nodes", res(CACHE, "cache", {"automaticFailoverEnabled": True,
                                                                "numCacheClusters": 1}),
         refused="InvalidParameterCombination: When using automatic failover, there must be at least 2 cache "
                 "clusters in the replication group."),
    Case("elasticache-failover-two-nodes", res(CACHE, "cache", {"automaticFailoverEnabled": True,
                                                                "numCacheClusters": 2})),
    Case("elasticache-multi-az-failover", res(CACHE, "cache", {"multiAzEnabled": True, "numCacheClusters": 2}),
         refused="automatic_failover_enabled must be true if multi_az_enabled is true"),
    Case("elasticache-multi-az-failover", res(CACHE, "cache", {"multiAzEnabled": True, "numCacheClusters": 2,
                                                               "automaticFailoverEnabled": True})),
    Case("elasticache-auth-token-transit", res(CACHE, "cache", {"authToken": SECRET}),
         refused="InvalidParameterValue: The AUTH token is only supported when encryption-in-transit is enabled"),
    Case("elasticache-auth-token-transit", member("west-cache", "us-west-2", PLAIN_STORE, authToken=SECRET),
         [PLAIN_CACHE, PLAIN_STORE], refused="The AUTH token is only supported when encryption-in-transit"),
    Case("elasticache-auth-token-transit", member("west-cache", "us-west-2", authToken=SECRET),
         [PRIMARY_CACHE, STORE]),
    Case("elasticache-auth-token-transit", res(CACHE, "cache", {"authToken": SECRET,
                                                                "transitEncryptionEnabled": True})),
    Case("elasticache-global-member-conflicts", member("west-cache", "us-west-2", nodeType="cache.r6g.large"),
         [PRIMARY_CACHE, STORE], refused='"global_replication_group_id": conflicts with node_type'),
    Case("elasticache-global-member-conflicts", member("west-cache", "us-west-2"), [PRIMARY_CACHE, STORE]),
    Case("elasticache-global-datastore-regions", member("third", "eu-west-1"),
         [PRIMARY_CACHE, STORE, member("west-cache", "us-west-2"), member("eu-cache", "eu-west-1")],
         refused="already has 2 secondary clusters; a primary replicates to secondary clusters in up to two other "
                 "AWS Regions"),
    Case("elasticache-global-datastore-regions", member("east-cache", "us-east-1"), [PRIMARY_CACHE, STORE],
         refused="must be in another AWS Region than its primary (us-east-1)"),
    Case("elasticache-global-datastore-regions", member("west-cache", "us-west-2"), [PRIMARY_CACHE, STORE]),
    Case("elasticache-global-node-family", res(DATASTORE, "global", {"primaryReplicationGroupId": UNKNOWN},
                                               deps={"primaryReplicationGroupId": [SMALL_CACHE]}), [SMALL_CACHE],
         refused="Global datastores are supported on the following instance families in size large and above: M5, "
                 "M6g, M7g, R5, R6g, R6gd, R7g, and C7gn. (node type cache.t3.medium)"),
    Case("elasticache-global-node-family", STORE, [PRIMARY_CACHE]),
    # 6. OpenSearch zone awareness.
    Case("opensearch-zone-subnets", domain(True, 3, 2, 6),
         refused="ValidationException: You must specify exactly three subnets because you've set zone count to "
                 "three. (2 subnets given)"),
    Case("opensearch-zone-subnets", domain(False, 1, 3, 1),
         refused="ValidationException: You must specify exactly one subnet. (3 subnets given)"),
    Case("opensearch-zone-subnets", domain(True, 3, 3, 6)),
    Case("opensearch-zone-subnets", domain(False, 1, 1, 1)),
    Case("opensearch-zone-data-nodes", domain(True, 2, 2, 3),
         refused="ValidationException: You must choose an even number of data nodes for a two Availability Zone "
                 "deployment"),
    Case("opensearch-zone-data-nodes", domain(True, 3, 3, 4), refused="a multiple of 3"),
    Case("opensearch-zone-data-nodes", domain(True, 3, 3, 6)),
    # 7. CloudFront origin groups.
    Case("cloudfront-origin-group-methods", distribution(["GET", "HEAD", "OPTIONS", "POST"]),
         refused="InvalidArgument: The parameter AllowedMethods cannot include POST, PUT, PATCH, or DELETE for a "
                 "cached behavior associated with an origin group. (/health -> api-failover: POST)"),
    Case("cloudfront-origin-group-methods", distribution(["GET", "HEAD", "OPTIONS"])),
    # 8. WAF for CloudFront only in us-east-1.
    Case("wafv2-cloudfront-scope-region", res(WEB_ACL, "edge-waf", {"scope": "CLOUDFRONT"}, region="eu-west-1"),
         refused="WAFInvalidParameterException: Error reason: The scope is not valid., field: SCOPE_VALUE, "
                 "parameter: CLOUDFRONT"),
    Case("wafv2-cloudfront-scope-region", res(WEB_ACL, "edge-waf", {"scope": "CLOUDFRONT"})),
    Case("wafv2-cloudfront-scope-region", res(WEB_ACL, "api-waf", {"scope": "REGIONAL"}, region="eu-west-1")),
    # 10. Secure listeners.
    Case("elb-secure-listener-certificate", res(LISTENER, "https", {"protocol": "HTTPS", "port": 443}),
         refused="ValidationError: A certificate must be specified for HTTPS listeners"),
    Case("elb-secure-listener-certificate", res(LISTENER, "https", {"protocol": "HTTPS", "port": 443,
                                                                    "certificateArn": UNKNOWN})),
    # 11. EKS: versions EKS offers on the plan date (2025-11-01), node group sizes.
    Case("eks-version-offered", res(EKS_CLUSTER, "k8s-cluster", {"version": "1.35"}),
         refused="InvalidParameterException: unsupported Kubernetes version 1.35 (on 2025-11-01)"),
    Case("eks-version-offered", res(EKS_CLUSTER, "k8s-cluster", {"version": "1.28"}),
         refused="unsupported Kubernetes version 1.28"),
    Case("eks-version-offered", res(EKS_CLUSTER, "k8s-cluster", {"version": "1.34"})),
    Case("eks-version-offered", res(EKS_CLUSTER, "k8s-cluster", {"version": "1.31"})),  # extended from Nov 26
    Case("eks-nodegroup-capacity", res(NODE_GROUP, "k8s-system", {"scalingConfig": {
        "minSize": 3, "desiredSize": 2, "maxSize": 4}}),
         refused="InvalidParameterException: Minimum capacity 3 can't be greater than desired size 2"),
    Case("eks-nodegroup-capacity", res(NODE_GROUP, "k8s-system", {"scalingConfig": {
        "minSize": 0, "desiredSize": 0, "maxSize": 0}}),
         refused="expected scaling_config.0.max_size to be at least (1), got 0"),
    Case("eks-nodegroup-capacity", res(NODE_GROUP, "k8s-system", {"scalingConfig": {
        "minSize": 2, "desiredSize": 2, "maxSize": 4}})),
    Case("eks-nodegroup-ami-architecture", res(NODE_GROUP, "k8s-system", {
        "amiType": "AL2023_x86_64_STANDARD", "instanceTypes": ["m6g.large"]}),
         refused="InvalidParameterException: [m6g.large] is not a valid instance type for requested amiType "
                 "AL2023_x86_64_STANDARD"),
    Case("eks-nodegroup-ami-architecture", res(NODE_GROUP, "k8s-system", {
        "amiType": "AL2023_ARM_64_STANDARD", "instanceTypes": ["m5.large"]}),
         refused="[m5.large] is not a valid instance type for requested amiType AL2023_ARM_64_STANDARD"),
    Case("eks-nodegroup-ami-architecture", res(NODE_GROUP, "k8s-system", {
        "amiType": "AL2023_ARM_64_STANDARD", "instanceTypes": ["m6g.large"]})),
    # 12. Alarms and cost anomaly subscriptions.
    Case("cloudwatch-alarm-evaluation-range", res(ALARM, "availability", {"period": 86400, "evaluationPeriods": 2}),
         refused="Metrics cannot be checked across more than a day"),
    Case("cloudwatch-alarm-evaluation-range", res(ALARM, "availability", {"period": 86400, "evaluationPeriods": 1})),
    Case("cloudwatch-alarm-one-returned-series", res(ALARM, "errors", {"metricQueries": [
        {"id": "m1", "returnData": True, "metric": {"period": 60}}, {"id": "e1", "returnData": True, "expression": "m1"}]}),
         refused="Exactly one element of the metrics list should return data"),
    Case("cloudwatch-alarm-one-returned-series", res(ALARM, "anomaly", {"thresholdMetricId": "band", "metricQueries": [
        {"id": "metric", "returnData": True, "metric": {"period": 60}},
        {"id": "band", "returnData": True, "expression": "ANOMALY_DETECTION_BAND(metric, 2)"}]})),
    Case("ce-anomaly-subscription-channel", res(SUBSCRIPTION, "anomalies", {
        "frequency": "DAILY", "subscribers": [{"type": "SNS", "address": UNKNOWN}]}),
         refused="Notifications are sent either over email"),
    Case("ce-anomaly-subscription-channel", res(SUBSCRIPTION, "anomalies", {
        "frequency": "IMMEDIATE", "subscribers": [{"type": "SNS", "address": UNKNOWN}]})),
    # 13. Managed prefix lists weigh their size in a security group's 60 rules: CloudFront's 55 and
    # Route 53's health checkers' 25 cannot share a group.
    Case("ec2-security-group-rule-quota", ingress("alb-in-443", CLOUDFRONT), before=[ALB_GROUP, ingress(
        "alb-health-in-443", CHECKERS)], refused="RulesPerSecurityGroupLimitExceeded: The maximum number of rules"),
    Case("ec2-security-group-rule-quota", ingress("alb-in-443", CLOUDFRONT), before=[ALB_GROUP, ingress(
        "alb-in-80", "pl-unknown"), ingress("app", None)]),
    # 14. Listener rules: five match values per rule.
    Case("elb-listener-rule-condition-values", listener_rule(["a", "b"], ["/health", "/v1/*", "/v2/*", "/v3/*"]),
         refused="ValidationError: A rule can only have '5' condition values"),
    Case("elb-listener-rule-condition-values", listener_rule(["a", "b"], ["/health"])),
    # 15. CloudFront Functions: 10 KB of code at most.
    Case("cloudfront-function-size", res("aws:cloudfront/function:Function", "viewer", {"code": "x" * 10241}),
         refused="FunctionSizeLimitExceeded"),
    Case("cloudfront-function-size", res("aws:cloudfront/function:Function", "viewer", {"code": VIEWER_CODE})),
    # 16. Routes name exactly one target: the NAT instance's interface (phase 1) or the gateway.
    Case("ec2-route-one-target", route(networkInterfaceId=NAT_INSTANCE, natGatewayId=IGW),
         refused="only one of `carrier_gateway_id,core_network_arn,egress_only_gateway_id,gateway_id,instance_id,"
                 "local_gateway_id,nat_gateway_id,network_interface_id,transit_gateway_id,vpc_endpoint_id,"
                 "vpc_peering_connection_id` can be specified, but `nat_gateway_id,network_interface_id` were specified."),
    Case("ec2-route-one-target", route(), refused="must be specified"),
    Case("ec2-route-one-target", route(networkInterfaceId=NAT_INSTANCE)),
    # A NAT instance boots the image of its type's architecture.
    Case("ec2-instance-type-architecture", res("aws:ec2/instance:Instance", "nat", {"instanceType": "t4g.nano",
                                                                                   "ami": mocks.AMI_ID}),
         refused="InvalidParameterValue: The architecture 'arm64' of the specified instance type does not match "
                 "the architecture 'x86_64' of the specified AMI"),
    Case("ec2-instance-type-architecture", res("aws:ec2/instance:Instance", "nat", {"instanceType": "t4g.nano",
                                                                                   "ami": mocks.ARM64_AMI_ID})),
    # 17. An Elastic IP is associated with an instance only in a VPC with an internet gateway.
    Case("ec2-eip-needs-internet-gateway", NAT_ADDRESS, before=[VPC, PUBLIC_SUBNET, NAT_INSTANCE],
         refused="Gateway.NotAttached: Network network-vpc is not attached to any internet gateway"),
    Case("ec2-eip-needs-internet-gateway", NAT_ADDRESS, before=[VPC, PUBLIC_SUBNET, IGW, NAT_INSTANCE]),
]


def _id(case: Case) -> str:
    return f"{case.rule}-{'refused' if case.refused else 'accepted'}-{case.request.name}"


@pytest.mark.parametrize("case", CASES, ids=[_id(case) for case in CASES])
def test_rule(case):
    registered = {resource.urn: resource for resource in [*PROVIDERS.values(), *case.before]}
    found = [violation for violation in check(case.request, registered, PLAN_DATE) if violation.rule == case.rule]
    if case.refused is None:
        assert found == []
    else:
        assert len(found) == 1 and found[0].urn == case.request.urn
        assert case.refused in found[0].message


def test_every_rule_has_a_refused_and_an_accepted_request():
    refused = {case.rule for case in CASES if case.refused}
    accepted = {case.rule for case in CASES if not case.refused}
    assert refused == accepted == set(RULES)


def test_every_rule_names_aws_error_and_source():
    for each in RULES.values():
        assert each.error and each.types
        assert each.source.startswith(("https://docs.aws.amazon.com/", "https://github.com/",
                                       "hashicorp/terraform-provider-aws ")), each.id


def _refuse_vpcs(request):
    yield "InvalidParameterValue: crafted refusal"


def test_plan_exits_1_with_aws_message_per_refused_request(monkeypatch, capsys):
    from qnom import awsrules, cli, engine

    crafted = awsrules.Rule("crafted-vpc", ("aws:ec2/vpc:Vpc",), "crafted", "https://github.com/", _refuse_vpcs)
    monkeypatch.setattr(awsrules, "_BY_TYPE", {"aws:ec2/vpc:Vpc": [crafted]})
    # A run made under the crafted rule must neither come from nor go into the suite's run cache.
    monkeypatch.setattr(engine, "_run_cache", None)
    assert cli.main(["plan", "--stack", "dev", "--phase", "1", "--date", "2025-11-01", "--json"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "qnom: AWS would refuse urn:pulumi:dev::qnom::qnom:components:Platform$qnom:components:Region$"
        "qnom:components:Network$aws:ec2/vpc:Vpc::us-east-1-network-vpc: InvalidParameterValue: crafted refusal [crafted-vpc]"]


def test_plan_passes_when_aws_accepts_every_request(capsys):
    import json

    from qnom import cli

    assert cli.main(["plan", "--stack", "dev", "--phase", "1", "--date", "2025-11-01", "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert all("replaceOnChanges" in r["options"] for r in json.loads(out)["resources"])


def test_start_times_are_judged_as_of_the_plan_date_given():
    registered = {resource.urn: resource for resource in [*PROVIDERS.values(), ASG_RESOURCE]}
    start = one_time("2025-11-02T12:00:00Z")
    assert [v.rule for v in check(start, registered, date(2025, 11, 1))] == []
    [late] = check(start, registered, date(2025, 11, 3))
    assert late.message.endswith("(startTime 2025-11-02T12:00:00Z, plan date 2025-11-03 in UTC)")


SCHEDULED_PROGRAM = """
import pulumi_aws as aws

aws.autoscaling.Schedule("window", autoscaling_group_name="api", scheduled_action_name="window",
                         start_time="2025-11-02T12:00:00Z", min_size=4, max_size=-1, desired_capacity=-1)
"""


@pytest.mark.parametrize(("plan_date", "refused"), [("2025-11-01", []), ("2025-11-03", ["asg-start-time-in-past"])])
def test_the_engine_judges_a_run_as_of_its_plan_date(tmp_path, plan_date, refused):
    # The program plans from qnom:planDate; AWS's rules see the same day, not the machine's clock.
    from qnom.engine import run_program

    program = tmp_path / "__main__.py"
    program.write_text(SCHEDULED_PROGRAM, encoding="utf-8")
    run = run_program("dev", {"aws:region": "us-east-1", "qnom:planDate": plan_date}, program, aws_rules=False)
    assert [violation.rule for violation in run.violations] == refused


def test_the_readme_lists_every_rule():
    from qnom.engine import PROJECT_DIR

    # Each rule id is a row of the README's table, or falls under a `prefix-*` row.
    rows = re.findall(r"^\| `([a-z0-9*-]+)` \|", (PROJECT_DIR / "README.md").read_text(encoding="utf-8"), re.M)
    missing = [rule for rule in RULES
               if rule not in rows and not any(row.endswith("*") and rule.startswith(row[:-1]) for row in rows)]
    assert missing == []
