"""ApiTier through the offline engine: the real program, asserting the seed's numbers."""

from __future__ import annotations

import base64
import json
import textwrap
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pydantic
import pytest
import yaml

from components import defaults, policy_documents
from phases.catalog import load_phase
from phases.models import ApiTier, ScalingPolicies
from phases.settings import CONFIG_KEYS, DEFAULT_API_IMAGE, SettingsError, settings_from_config
from qnom import mocks
from qnom.engine import PROJECT_DIR, run_program
from tests.support import Plan, build, settings_for, stack_config

ASG = "aws:autoscaling/group:Group"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
POLICY = "aws:autoscaling/policy:Policy"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SCHEDULE = "aws:autoscaling/schedule:Schedule"
LISTENER = "aws:lb/listener:Listener"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
SECRET = "aws:secretsmanager/secret:Secret"
QUEUE = "aws:sqs/queue:Queue"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
PRIVATE_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/qnom/api:1.4.2"


# The API tier alone, built from the stack's settings as `Region` builds it, for the tests of one
# setting's effect on the tier (the image, the rate limit, the schedule's time zone and date): a
# small program instead of a whole platform per setting.
TIER_PROGRAM = textwrap.dedent('''
    import pulumi

    from components.compute.api_tier import ApiTier, ApiTierArgs
    from components.compute.app_config import AppAccess
    from phases.settings import read_pulumi_config, settings_from_config

    settings = settings_from_config(read_pulumi_config(), stack=pulumi.get_stack())
    primary = settings.phase.primary_region
    ApiTier(f"{primary.name}-api", ApiTierArgs(
        region=primary.name,
        vpc_id="vpc-0123456789abcdef0",
        vpc_cidr=primary.cidr,
        public_subnet_ids=["subnet-public-a", "subnet-public-b", "subnet-public-c"],
        private_subnet_ids=["subnet-private-a", "subnet-private-b", "subnet-private-c"],
        spec=settings.phase.api,
        capacity=primary.api,
        profile=settings.profile,
        image=settings.api_image,
        session_secret="session-secret-value",
        session_secret_name=f"{settings.project}/{settings.stack}/api/session-secret",
        schedule=settings.phase.schedule,
        plan_date=settings.plan_date,
        access=AppAccess(config_path="/qnom/prod/app", secret_names=[], bucket_name="objects",
                         primary_region=primary.name, bucket_keys=True),
        tags=settings.tags,
    ))
''')


@pytest.fixture(scope="module")
def tier_program(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("api-tier") / "tier_program.py"
    path.write_text(TIER_PROGRAM)
    return path


def build_tier(program: Path, phase: int = 2, overrides: dict | None = None, **settings) -> Plan:
    """The API tier of a prod stack with these settings, without the rest of the platform."""
    return Plan(run_program("prod", stack_config("prod", phase, overrides, **settings), program=program))


def user_data(plan: Plan, name: str = "us-east-1-api-lt") -> str:
    return base64.b64decode(plan.named(name, LAUNCH_TEMPLATE).inputs["userData"]).decode()


def depends_on(resource, prop: str) -> list[str]:
    """Logical names of the resources an input property comes from."""
    return [urn.rsplit("::", 1)[1] for urn in resource.dependencies.get(prop, [])]


# Sizes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("phase, region, instance_type, sizes", [
    (1, "us-east-1", "t3.medium", (2, 2, 2)),     # seed phase 1: 2 x t3.medium
    (2, "us-east-1", "t3.large", (4, 4, 6)),      # seed phase 2: 4-6 x t3.large
    (3, "us-east-1", "c5.xlarge", (10, 10, 20)),  # seed phase 3: 10-20 x c5.xlarge
    (3, "us-west-2", "c5.xlarge", (5, 5, 10)),    # seed multi-region: 5 API per secondary
    (3, "eu-west-1", "c5.xlarge", (5, 5, 10)),
    (4, "us-east-1", "c5.xlarge", (26, 26, 50)),  # seed phase 4: 50+ across regions
    (4, "us-west-2", "c5.xlarge", (12, 12, 25)),
    (4, "eu-west-1", "c5.xlarge", (12, 12, 25)),
])
def test_group_size_and_instance_type_per_phase(phase, region, instance_type, sizes):
    plan = build("prod", phase)
    group = plan.named(f"{region}-api-asg", ASG)
    assert (group.inputs["minSize"], group.inputs["desiredCapacity"], group.inputs["maxSize"]) == sizes
    assert plan.named(f"{region}-api-lt", LAUNCH_TEMPLATE).inputs["instanceType"] == instance_type
    assert plan.region_of(group) == region
    assert "desiredCapacity" in group.options["ignoreChanges"]


def test_every_region_gets_an_api_tier_under_its_region():
    plan = build("prod", 3)
    tiers = plan.of_type("qnom:components:ApiTier")
    assert sorted(t.name for t in tiers) == ["eu-west-1-api", "us-east-1-api", "us-west-2-api"]
    for tier in tiers:
        assert tier.parent.endswith(f"qnom:components:Region::{tier.name.removesuffix('-api')}")


def test_group_spans_the_private_subnets_behind_the_elb_check():
    group = build("prod", 2).named("us-east-1-api-asg", ASG)
    assert depends_on(group, "vpcZoneIdentifiers") == [
        "us-east-1-network-private-us-east-1a", "us-east-1-network-private-us-east-1b",
        "us-east-1-network-private-us-east-1c",
    ]
    assert depends_on(group, "targetGroupArns") == ["us-east-1-api-tg"]
    inputs = group.inputs
    assert (inputs["healthCheckType"], inputs["healthCheckGracePeriod"]) == ("ELB", 300)
    assert inputs["instanceRefresh"] == {"strategy": "Rolling", "preferences": {"minHealthyPercentage": 90}}
    assert inputs["capacityRebalance"] is True
    assert "GroupInServiceInstances" in inputs["enabledMetrics"] and inputs["metricsGranularity"] == "1Minute"


# Scaling policies -----------------------------------------------------------------------

def test_cpu_steps_follow_the_seed_and_their_alarms_fire_them():
    plan = build("prod", 2)
    up, down = plan.named("us-east-1-api-scale-up", POLICY), plan.named("us-east-1-api-scale-down", POLICY)
    assert {k: up.inputs[k] for k in ("policyType", "adjustmentType", "scalingAdjustment", "cooldown")} == {
        "policyType": "SimpleScaling", "adjustmentType": "ChangeInCapacity", "scalingAdjustment": 2, "cooldown": 300}
    assert (down.inputs["scalingAdjustment"], down.inputs["cooldown"]) == (-1, 600)
    high, low = plan.named("us-east-1-api-cpu-high", ALARM), plan.named("us-east-1-api-cpu-low", ALARM)
    assert (high.inputs["threshold"], high.inputs["comparisonOperator"]) == (70, "GreaterThanThreshold")
    assert (low.inputs["threshold"], low.inputs["comparisonOperator"]) == (30, "LessThanThreshold")
    for alarm, policy in ((high, "us-east-1-api-scale-up"), (low, "us-east-1-api-scale-down")):
        assert (alarm.inputs["namespace"], alarm.inputs["metricName"]) == ("AWS/EC2", "CPUUtilization")
        assert alarm.inputs["statistic"] == "Average"
        assert depends_on(alarm, "alarmActions") == [policy]
        assert depends_on(alarm, "dimensions") == ["us-east-1-api-asg"]


def test_request_count_target_tracking_at_1000_per_target():
    policy = build("prod", 3).named("us-west-2-api-requests", POLICY)
    assert policy.inputs["policyType"] == "TargetTrackingScaling"
    tracking = policy.inputs["targetTrackingConfiguration"]
    assert tracking["targetValue"] == 1000
    assert tracking["predefinedMetricSpecification"]["predefinedMetricType"] == "ALBRequestCountPerTarget"
    # The resource label pairs this region's load balancer and target group.
    assert sorted(depends_on(policy, "targetTrackingConfiguration")) == ["us-west-2-api-alb", "us-west-2-api-tg"]


def test_a_fixed_phase_has_no_policies_no_schedule_no_waf():
    plan = build("prod", 1)
    # The region's monitoring alarms are not the tier's scaling alarms.
    assert plan.of_type(POLICY) == [] and [r.name for r in plan.of_type(ALARM) if "-api-" in r.name] == []
    assert plan.of_type(SCHEDULE) == []
    assert plan.of_type(WEB_ACL) == []


# Load balancer and listeners ------------------------------------------------------------

def test_target_group_mirrors_the_seed_health_check():
    group = build("prod", 2).named("us-east-1-api-tg", "aws:lb/targetGroup:TargetGroup")
    assert group.inputs["loadBalancingAlgorithmType"] == "least_outstanding_requests"
    assert (group.inputs["port"], group.inputs["protocol"]) == (3000, "HTTP")
    assert group.inputs["healthCheck"] == {
        "enabled": True, "protocol": "HTTP", "port": "traffic-port", "path": "/health",
        "interval": 5, "timeout": 4, "healthyThreshold": 2, "unhealthyThreshold": 3, "matcher": "200-399",
    }


@pytest.mark.parametrize("environment, protected", [("prod", True), ("dev", False)])
def test_load_balancer_settings_and_access_logs(environment, protected):
    plan = build(environment, 1)
    alb = plan.named("us-east-1-api-alb", "aws:lb/loadBalancer:LoadBalancer")
    inputs = alb.inputs
    assert (inputs["loadBalancerType"], inputs["internal"]) == ("application", False)
    assert (inputs["idleTimeout"], inputs["dropInvalidHeaderFields"]) == (60, True)
    assert inputs["enableDeletionProtection"] is protected
    assert inputs["accessLogs"]["enabled"] is True and inputs["accessLogs"]["prefix"] == "alb"
    assert depends_on(alb, "subnets") == [f"us-east-1-network-public-us-east-1{z}" for z in "abc"]
    assert depends_on(alb, "accessLogs") == ["us-east-1-api-alb-logs"]
    bucket = plan.named("us-east-1-api-alb-logs", "aws:s3/bucket:Bucket")
    assert bucket.options["protect"] is protected
    encryption = plan.named("us-east-1-api-alb-logs",
                            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    block = plan.named("us-east-1-api-alb-logs", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(block[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    lifecycle = plan.named("us-east-1-api-alb-logs", "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    assert lifecycle.inputs["rules"][0]["expiration"]["days"] == (365 if protected else 14)


def test_without_a_domain_one_http_listener_forwards_and_the_plan_says_so():
    plan = build("dev", 2)
    [listener] = plan.of_type(LISTENER)
    assert (listener.name, listener.inputs["port"], listener.inputs["protocol"]) == ("us-east-1-api-http", 80, "HTTP")
    # It forwards what carries the origin secret (tests/test_security_origin.py); the rest gets a 403.
    assert listener.inputs["defaultActions"][0]["type"] == "fixed-response"
    rule = plan.named("us-east-1-api-from-cloudfront", "aws:lb/listenerRule:ListenerRule")
    assert rule.inputs["actions"][0]["type"] == "forward"
    assert plan.of_type("aws:acm/certificate:Certificate") == []
    assert plan.outputs["apiListener"].startswith("HTTP :80 forwards to the API: qnom:domain is not set")


def test_with_a_domain_http_redirects_to_https_with_the_regions_validated_certificate():
    plan = build("prod", 3)
    for region in ("us-east-1", "us-west-2", "eu-west-1"):
        validation = plan.named(f"dns-cert-{region}", "aws:acm/certificateValidation:CertificateValidation")
        assert plan.region_of(validation) == region
        https = plan.named(f"{region}-api-https", LISTENER)
        assert (https.inputs["port"], https.inputs["protocol"]) == (443, "HTTPS")
        assert https.inputs["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
        # The listener waits for the issued certificate, not just the requested one.
        assert https.dependencies["certificateArn"] == [validation.urn]
        http = plan.named(f"{region}-api-http", LISTENER)
        assert http.inputs["defaultActions"] == [{"type": "redirect", "redirect": {
            "protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]
    assert plan.outputs["apiListener"] == "HTTPS :443 for api.qnom.io; HTTP :80 redirects to HTTPS"


# Instances ------------------------------------------------------------------------------

def test_launch_template_is_locked_down():
    inputs = build("prod", 2).named("us-east-1-api-lt", LAUNCH_TEMPLATE).inputs
    assert inputs["imageId"] == mocks.AMI_ID  # the AL2023 public SSM parameter, answered offline
    assert inputs["metadataOptions"]["httpTokens"] == "required"
    # The API runs in a Docker bridge-network container that needs the instance role: 2 hops.
    assert inputs["metadataOptions"]["httpPutResponseHopLimit"] == 2
    [interface] = inputs["networkInterfaces"]
    assert interface["associatePublicIpAddress"] == "false"
    assert inputs["blockDeviceMappings"] == [{"deviceName": "/dev/xvda", "ebs": {
        "volumeSize": 20, "volumeType": "gp3", "encrypted": "true", "deleteOnTermination": "true"}}]
    assert inputs["monitoring"] == {"enabled": True}


def test_user_data_runs_the_configured_image_and_serves_health(tier_program):
    script = user_data(build("prod", 2))
    assert script.startswith("#!/bin/bash\n")
    assert f"docker pull '{DEFAULT_API_IMAGE}'" in script
    assert f"-p 3000:3000 '{DEFAULT_API_IMAGE}'" in script
    assert "--secret-id 'qnom/prod/api/session-secret'" in script
    assert "'/health'" in script
    # The configuration is read at every start, with bounded retries, from the stack's path.
    assert "retry aws ssm get-parameters-by-path --region \"$region\" --path '/qnom/prod/app'" in script
    assert "--secret-id \"${config[DB_SECRET_ID]}\"" in script
    assert "--secret-id \"${config[REDIS_AUTH_SECRET_ID]}\"" in script
    for name in ("DB_USER", "DB_PASSWORD", "REDIS_AUTH_TOKEN", "SESSION_SECRET"):
        assert f"printf '{name}=%s\\n'" in script
    assert "retry dnf install -y docker jq" in script and "(( attempt >= 8 ))" in script
    custom = user_data(build_tier(tier_program, apiImage="ghcr.io/qnom/api:2.0.1"))
    assert "docker pull 'ghcr.io/qnom/api:2.0.1'" in custom and DEFAULT_API_IMAGE not in custom


def test_instance_role_has_ssm_core_and_its_own_secrets_only():
    plan = build("prod", 2)
    tier = plan.named("us-east-1-api", "qnom:components:ApiTier")
    attachments = [r for r in plan.children_of(tier) if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"]
    # Session Manager, and the CloudWatch agent's metrics (memory use).
    assert sorted(a.inputs["policyArn"] for a in attachments) == [
        "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore", "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"]
    inline = {r.name: r for r in plan.children_of(tier) if r.type == "aws:iam/rolePolicy:RolePolicy"}
    assert sorted(inline) == ["us-east-1-api-instance-config", "us-east-1-api-instance-objects",
                              "us-east-1-api-instance-secrets", "us-east-1-api-instance-send"]
    # Exactly the session, database and cache secrets (by name); the bucket; the queue.
    assert sorted(depends_on(inline["us-east-1-api-instance-secrets"], "policy")) == [
        "us-east-1-api-session-secret", "us-east-1-cache-auth-token", "us-east-1-db-master"]
    secrets = [f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-??????" for name in (
        "qnom/prod/api/session-secret", mocks.auto_name(SECRET, "us-east-1-cache-auth-token"),
        mocks.auto_name(SECRET, "us-east-1-db-master"))]
    assert json.loads(inline["us-east-1-api-instance-secrets"].inputs["policy"])["Statement"] == [
        {"Sid": "ReadOwnSecrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secrets},
        {"Sid": "DecryptOwnSecrets", "Effect": "Allow", "Action": "kms:Decrypt",
         "Resource": "arn:aws:kms:us-east-1:123456789012:key/*",
         "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"},
                       "StringLike": {"kms:EncryptionContext:SecretARN": secrets}}},
    ]
    assert depends_on(inline["us-east-1-api-instance-objects"], "policy") == ["us-east-1-storage-objects"]
    assert depends_on(inline["us-east-1-api-instance-send"], "policy") == ["us-east-1-queue-main"]
    assert json.loads(inline["us-east-1-api-instance-send"].inputs["policy"])["Statement"] == [
        {"Sid": "SendJobs", "Effect": "Allow", "Action": "sqs:SendMessage",
         "Resource": "arn:aws:sqs:us-east-1:123456789012:" + mocks.auto_name(QUEUE, "us-east-1-queue-main")}]
    config = json.loads(inline["us-east-1-api-instance-config"].inputs["policy"])
    assert config["Statement"] == [
        {"Sid": "ReadConfigPath", "Effect": "Allow", "Action": "ssm:GetParametersByPath",
         "Resource": "arn:aws:ssm:us-east-1:123456789012:parameter/qnom/prod/app"},
        {"Sid": "ReadConfigValues", "Effect": "Allow", "Action": "ssm:GetParameters",
         "Resource": "arn:aws:ssm:us-east-1:123456789012:parameter/qnom/prod/app/*"},
    ]
    # Phase 1 has no queue: nothing to send to.
    phase_1 = build("prod", 1)
    assert not [r for r in phase_1.resources if r.name == "us-east-1-api-instance-send"]


def test_session_secret_is_encrypted_with_the_stacks_own_rotating_key():
    plan = build("prod", 2)
    key = plan.named("us-east-1-api-secrets-key", "aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True and key.options["protect"] is True
    secret = plan.named("us-east-1-api-session-secret", "aws:secretsmanager/secret:Secret")
    assert secret.dependencies["kmsKeyId"] == [key.urn]
    read, decrypt = policy_documents.read_secrets_policy(["qnom/prod/api/session-secret"], "us-west-2",
                                                         "123456789012")["Statement"]
    pattern = "arn:aws:secretsmanager:us-west-2:123456789012:secret:qnom/prod/api/session-secret-??????"
    assert read["Action"] == "secretsmanager:GetSecretValue" and read["Resource"] == [pattern]
    assert decrypt["Action"] == "kms:Decrypt" and decrypt["Resource"] == "arn:aws:kms:us-west-2:123456789012:key/*"
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.us-west-2.amazonaws.com"},
                                    "StringLike": {"kms:EncryptionContext:SecretARN": [pattern]}}


def test_a_private_ecr_image_adds_a_pull_grant_for_its_repository_only(tier_program):
    plan = build_tier(tier_program, apiImage=PRIVATE_IMAGE)
    policy = json.loads(plan.named("us-east-1-api-instance-ecr", "aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    pull = next(s for s in policy["Statement"] if s["Sid"] == "PullImage")
    assert pull["Resource"] == "arn:aws:ecr:us-east-1:123456789012:repository/qnom/api"


def test_session_secret_is_generated_once_and_stored_in_every_region():
    plan = build("prod", 3)
    password = plan.named("platform-session-secret", "random:index/randomPassword:RandomPassword")
    assert password.inputs == {"length": 64, "special": False}
    for region in ("us-east-1", "us-west-2", "eu-west-1"):
        secret = plan.named(f"{region}-api-session-secret", "aws:secretsmanager/secret:Secret")
        assert secret.inputs["name"] == "qnom/prod/api/session-secret"
        assert secret.inputs["recoveryWindowInDays"] == 30
        version = plan.named(f"{region}-api-session-secret", "aws:secretsmanager/secretVersion:SecretVersion")
        assert version.inputs["secretString"] == "[secret]"
        assert depends_on(version, "secretString") == ["platform-session-secret"]
    dev = build("dev", 1).named("us-east-1-api-session-secret", "aws:secretsmanager/secret:Secret")
    assert dev.inputs["recoveryWindowInDays"] == 0


# Security groups ------------------------------------------------------------------------

# Phase 3 in dev (no domain) and in prod (the prod stack's domain).
@pytest.mark.parametrize("environment, open_ports", [("dev", [80]), ("prod", [443, 443])])
def test_only_the_load_balancer_is_reachable_from_outside_and_only_from_aws_prefix_lists(environment, open_ports):
    plan = build(environment, 3)
    groups = plan.of_type("aws:ec2/securityGroup:SecurityGroup")
    assert all(not g.inputs.get("ingress") for g in groups)  # no inline rules anywhere
    public = [r for r in plan.of_type(INGRESS) if r.inputs.get("cidrIpv4") == "0.0.0.0/0" or r.inputs.get("cidrIpv6")]
    assert public == []  # nothing open to the internet: CloudFront and Route 53 reach the ALB by prefix list
    listed = [r for r in plan.of_type(INGRESS) if r.inputs.get("prefixListId")]
    for rule in listed:
        assert depends_on(rule, "securityGroupId")[0].endswith(("-api-alb", "-api-alb-health"))
        assert rule.inputs["fromPort"] == rule.inputs["toPort"] and rule.inputs["fromPort"] in (80, 443)
    assert sorted(r.inputs["fromPort"] for r in listed if r.name.startswith("us-east-1")) == open_ports


def test_instances_take_traffic_from_the_load_balancer_only():
    plan = build("prod", 2)
    rules = [r for r in plan.of_type(INGRESS) if depends_on(r, "securityGroupId") == ["us-east-1-api-instances"]]
    assert [(r.inputs["fromPort"], depends_on(r, "referencedSecurityGroupId")) for r in rules] == [
        (3000, ["us-east-1-api-alb"])]
    assert "cidrIpv4" not in rules[0].inputs


def test_egress_is_narrow():
    plan = build("prod", 2)
    out = {r.name: r for r in plan.of_type(EGRESS)}
    alb = out["us-east-1-api-alb-out-app"]
    assert (alb.inputs["fromPort"], depends_on(alb, "referencedSecurityGroupId")) == (3000, ["us-east-1-api-instances"])
    assert "cidrIpv4" not in alb.inputs
    https = out["us-east-1-api-instances-out-https"].inputs
    assert (https["fromPort"], https["toPort"], https["cidrIpv4"]) == (443, 443, "0.0.0.0/0")
    for key, port in (("postgres", 5432), ("redis", 6379)):
        rule = out[f"us-east-1-api-instances-out-{key}"].inputs
        assert (rule["fromPort"], rule["cidrIpv4"]) == (port, "10.10.0.0/16")
    assert sorted(n for n in out if n.startswith("us-east-1-api")) == [
        "us-east-1-api-alb-out-app", "us-east-1-api-instances-out-https",
        "us-east-1-api-instances-out-postgres", "us-east-1-api-instances-out-redis"]


# Rate limiting --------------------------------------------------------------------------

@pytest.mark.parametrize("phase, regions", [(2, 1), (3, 3), (4, 3)])
def test_waf_from_phase_2_with_the_phase_rate_limit(phase, regions):
    plan = build("prod", phase)
    # The CDN's CLOUDFRONT-scope ACL is the edge's; the API tier adds one REGIONAL ACL per region.
    acls = [acl for acl in plan.of_type(WEB_ACL) if acl.inputs["scope"] == "REGIONAL"]
    assert len(acls) == regions
    for acl in acls:
        rate, common = acl.inputs["rules"][:2]  # then the baseline groups: tests/test_security_waf.py
        assert rate["statement"]["rateBasedStatement"] == {
            "limit": 2000, "aggregateKeyType": "FORWARDED_IP", "evaluationWindowSec": 300,
            "forwardedIpConfig": {"headerName": "X-Viewer-Address", "fallbackBehavior": "MATCH"}}
        assert rate["action"] == {"block": {}}
        # Bodies over 8 KB (uploads, large POSTs) are counted, not blocked; the other rules block.
        assert common["statement"]["managedRuleGroupStatement"] == {
            "vendorName": "AWS", "name": "AWSManagedRulesCommonRuleSet",
            "ruleActionOverrides": [{"name": "SizeRestrictions_BODY", "actionToUse": {"count": {}}}]}
        association = plan.named(acl.name, "aws:wafv2/webAclAssociation:WebAclAssociation")
        assert depends_on(association, "resourceArn") == [acl.name.removesuffix("-waf") + "-alb"]


def test_rate_limit_is_a_phase_setting(tier_program):
    plan = build_tier(tier_program, overrides={"api": {"rate_limit_per_5min": 500}})
    [acl] = [acl for acl in plan.of_type(WEB_ACL) if acl.inputs["scope"] == "REGIONAL"]
    assert acl.inputs["rules"][0]["statement"]["rateBasedStatement"]["limit"] == 500


# Traffic schedule in the program --------------------------------------------------------

def test_schedule_runs_on_the_primary_region_only():
    plan = build("prod", 3, plan_date=date(2025, 11, 1))
    schedules = plan.of_type(SCHEDULE)
    assert {s.name.split("-api-")[0] for s in schedules} == {"us-east-1"}
    names = sorted(s.inputs["scheduledActionName"] for s in schedules)
    assert names[:4] == ["black-friday-2025-after-business-hours", "black-friday-2025-after-off-hours",
                         "black-friday-2025-end", "black-friday-2025-start"]
    assert len(names) == 27  # 3 recurring + 6 windows x (start, 2 holds, end)
    business = plan.named("us-east-1-api-business-hours", SCHEDULE).inputs
    # The schedule is a floor: the minimum moves, AWS raises the desired capacity to it, the max
    # stays the phase's.
    assert business == {"autoscalingGroupName": "[unknown]", "scheduledActionName": "business-hours",
                        "recurrence": "0 7 * * 1-5", "timeZone": "America/New_York",
                        "desiredCapacity": -1, "minSize": 20, "maxSize": -1}
    off_hours = plan.named("us-east-1-api-off-hours", SCHEDULE).inputs
    assert (off_hours["minSize"], off_hours["desiredCapacity"], off_hours["maxSize"]) == (10, -1, -1)
    hold = plan.named("us-east-1-api-black-friday-2025-after-off-hours", SCHEDULE).inputs
    assert (hold["minSize"], hold["desiredCapacity"], hold["maxSize"]) == (50, -1, 50)
    assert hold["startTime"] == "2025-11-29T01:01:00Z"  # 20:01 EST, a minute after the off-hours action
    black_friday = plan.named("us-east-1-api-black-friday-2025-start", SCHEDULE).inputs
    assert (black_friday["minSize"], black_friday["desiredCapacity"], black_friday["maxSize"]) == (50, -1, 50)
    assert black_friday["startTime"] == "2025-11-28T05:00:00Z"
    assert depends_on(plan.named("us-east-1-api-off-hours", SCHEDULE), "autoscalingGroupName") == ["us-east-1-api-asg"]


@pytest.mark.parametrize("phase", [2, 3, 4])
def test_scheduled_actions_are_replaced_never_updated(phase):
    # AWS rejects an update that re-sends a past start time; the replacement keeps the name,
    # so the old action must go first.
    schedules = build("prod", phase).of_type(SCHEDULE)
    assert schedules
    for action in schedules:
        assert action.options["replaceOnChanges"] == ["*"], action.name
        assert action.options["deleteBeforeReplace"] is True, action.name


def test_suite_plans_are_built_as_of_the_support_date():
    # tests/support.py sets qnom:planDate 2025-11-01, so plans never depend on the day the suite runs.
    assert stack_config()["qnom:planDate"] == "2025-11-01"
    start = build("prod", 2).named("us-east-1-api-black-friday-2025-start", SCHEDULE)
    assert start.inputs["startTime"] == "2025-11-28T05:00:00Z"


def test_the_plan_date_setting_dates_the_windows(tier_program):
    plan = build_tier(tier_program, plan_date=date(2026, 1, 15))
    names = {s.inputs["scheduledActionName"] for s in plan.of_type(SCHEDULE)}
    assert {"end-of-quarter-2026-q1-start", "black-friday-2026-start", "end-of-quarter-2026-q4-start"} <= names
    assert not any("2025" in name for name in names)
    assert "end-of-quarter-2027-q1-start" not in names  # 31 March 2027 is more than a year away


def test_on_black_friday_the_program_keeps_the_surge():
    plan = build("prod", 2, plan_date=date(2025, 11, 28))
    group = plan.named("us-east-1-api-asg", ASG).inputs
    assert (group["minSize"], group["desiredCapacity"], group["maxSize"]) == (20, 20, 20)
    names = {s.inputs["scheduledActionName"] for s in plan.of_type(SCHEDULE)}
    assert "black-friday-2025-start" not in names and "black-friday-2025-end" in names


def test_plan_previews_a_day_given_on_the_command_line(capsys):
    from qnom.cli import main

    assert main(["plan", "--stack", "prod", "--date", "2025-11-28", "--json"]) == 0
    resources = json.loads(capsys.readouterr().out)["resources"]
    group = next(r["inputs"] for r in resources if r["name"] == "us-east-1-api-asg")
    assert (group["minSize"], group["desiredCapacity"], group["maxSize"]) == (20, 20, 20)
    names = {r["inputs"]["scheduledActionName"] for r in resources if r["type"] == SCHEDULE}
    assert "black-friday-2025-start" not in names and "black-friday-2025-end" in names


@pytest.mark.parametrize("command", ["plan", "policy"])
@pytest.mark.parametrize("value", ["2025-13-01", "28/11/2025", "tomorrow", "2025-11-28T00:00"])
def test_a_bad_date_on_the_command_line_exits_2(capsys, command, value):
    from qnom.cli import main

    with pytest.raises(SystemExit) as exit_:
        main([command, "--stack", "prod", "--date", value])
    assert exit_.value.code == 2
    assert f"argument --date: got {value!r}; allowed values: a date YYYY-MM-DD" in capsys.readouterr().err


def test_plan_date_defaults_to_today_in_the_schedules_time_zone():
    before = datetime.now(ZoneInfo("Europe/Berlin")).date()
    settings = settings_for("prod", 2, overrides={"schedule": {"timezone": "Europe/Berlin"}}, plan_date=None)
    assert settings.plan_date in {before, datetime.now(ZoneInfo("Europe/Berlin")).date()}
    assert settings_for("prod", 2, plan_date=date(2025, 11, 28)).plan_date == date(2025, 11, 28)


def test_schedule_time_zone_is_a_setting(tier_program):
    plan = build_tier(tier_program, overrides={"schedule": {"timezone": "Europe/Berlin"}})
    assert plan.named("us-east-1-api-off-hours", SCHEDULE).inputs["timeZone"] == "Europe/Berlin"


# Outputs, stability and settings ------------------------------------------------------

def test_flat_outputs_for_the_primary_region():
    outputs = build("prod", 3).outputs
    for key in ("albDnsName", "albZoneId", "apiAsgName", "apiTargetGroupArn", "apiSecurityGroupId",
                "albSecurityGroupId", "apiListener", "vpcIds"):
        assert key in outputs


def test_tier_keeps_its_urns_from_phase_1_to_4():
    def urns(phase: int) -> set[str]:
        return {r.urn for r in build("prod", phase).resources if "us-east-1-api" in r.name
                and r.type in (ASG, LAUNCH_TEMPLATE, "aws:lb/loadBalancer:LoadBalancer", "aws:s3/bucket:Bucket",
                               "aws:lb/targetGroup:TargetGroup", "aws:secretsmanager/secret:Secret")}

    assert len(urns(1)) == 6
    assert urns(1) == urns(2) == urns(3) == urns(4)


def test_api_image_setting_is_declared_and_validated():
    project = yaml.safe_load((Path(PROJECT_DIR) / "Pulumi.yaml").read_text())
    assert project["config"]["qnom:apiImage"]["default"] == DEFAULT_API_IMAGE
    assert "apiImage" in CONFIG_KEYS
    with pytest.raises(SettingsError, match=r"qnom:apiImage: got 'api:latest; curl evil'"):
        settings_from_config({"qnom:phase": 1, "qnom:environment": "dev", "qnom:apiImage": "api:latest; curl evil"},
                             stack="dev")


@pytest.mark.parametrize("overrides, message", [
    ({"api": {"spot": {"instance_types": ["t3.large", "m6g.large"], "on_demand_percent_of_min": 50}}},
     "qnom:overrides.api.spot.instance_types: .*mixes x86_64 and arm64 types"),
    ({"schedule": {"timezone": "Nowhere/City"}},
     "qnom:overrides.schedule.timezone: got 'Nowhere/City'; must be an IANA time zone"),
    ({"workers": {"capacity": {"min": 0, "desired": 0, "max": 3}}}, r"qnom:overrides.workers: capacity.min \(0\)"),
])
def test_invalid_overrides_name_the_key_path(overrides, message):
    with pytest.raises(SettingsError, match=message):
        settings_from_config({"qnom:phase": 2, "qnom:environment": "prod", "qnom:overrides": overrides}, stack="prod")


@pytest.mark.parametrize("changes, message", [
    ({"spot": {"instance_types": ["t3.large", "t4g.large"], "on_demand_percent_of_min": 50}},
     r"mixes x86_64 and arm64 types \(t3.large: x86_64, t4g.large: arm64\)"),
    ({"spot": {"instance_types": ["m5.large", "t3.large"], "on_demand_percent_of_min": 50}},
     r"spot.instance_types must start with instance_type \(t3.large\)"),
    ({"spot": {"instance_types": ["t3.large", "m5.large"], "on_demand_percent_of_min": 0}},
     "greater than or equal to 1"),
    ({"idle_timeout_seconds": 0}, "greater than or equal to 1"),
    ({"port": 80}, "greater than or equal to 1024"),
    ({"rate_limit_per_5min": 5}, "greater than or equal to 10"),
])
def test_invalid_api_settings_are_refused(changes, message):
    document = load_phase(2).api.model_dump()
    document.update(changes)
    with pytest.raises(pydantic.ValidationError, match=message):
        ApiTier.model_validate(document)


@pytest.mark.parametrize("changes, message", [
    ({"alarm_period_seconds": 45}, "10, 30 or a multiple of 60"),
    ({"alarm_period_seconds": 3600, "alarm_evaluation_periods": 25}, "at most 86400"),
])
def test_invalid_alarm_settings_are_refused(changes, message):
    document = load_phase(2).api.scaling.model_dump()
    document.update(changes)
    with pytest.raises(pydantic.ValidationError, match=message):
        ScalingPolicies.model_validate(document)
