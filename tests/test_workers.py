"""Workers through the offline engine, fed by a small program with a stub queue.

The queue belongs to the data tier, so the real program does not create workers yet; this
program passes literal queue values instead.
"""

from __future__ import annotations

import base64
import json
import textwrap
from pathlib import Path

import pydantic
import pytest

from phases.catalog import load_phase
from phases.models import Workers
from qnom.engine import run_program
from tests.support import Plan, build, stack_config

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:qnom-jobs"
DB_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:qnom-db-??????"
CACHE_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:qnom-cache-??????"
BUCKET = "arn:aws:s3:::qnom-objects"
ASG = "aws:autoscaling/group:Group"

PROGRAM = textwrap.dedent('''
    import pulumi

    from components.compute.app_config import AppAccess
    from components.compute.workers import Workers, WorkersArgs
    from phases.catalog import load_phase

    config = pulumi.Config("qnom")
    phase = load_phase(int(config.require("phase")))
    workers = Workers("test-workers", WorkersArgs(
        region="us-east-1",
        vpc_id="vpc-0123456789abcdef0",
        vpc_cidr="10.10.0.0/16",
        private_subnet_ids=["subnet-0a", "subnet-0b", "subnet-0c"],
        spec=phase.workers,
        queue_name="qnom-jobs",
        image=config.get("apiImage") or "public.ecr.aws/qnom/api:stable",
        access=AppAccess(
            config_path="/qnom/prod/app",
            secret_names=["qnom-db", "qnom-cache"],
            bucket_name="qnom-objects",
            primary_region="us-east-1",
            bucket_keys=True,
            send_queue_name="qnom-jobs",
        ),
        tags={"project": "qnom"},
    ))
    pulumi.export("asgName", workers.asg_name)
    pulumi.export("securityGroupId", workers.security_group_id)
''')



@pytest.fixture(scope="module")
def program(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("workers") / "workers_program.py"
    path.write_text(PROGRAM)
    return path


def run(program: Path, phase: int = 2, **settings) -> Plan:
    return Plan(run_program("prod", stack_config("prod", phase, **settings), program=program))


@pytest.mark.parametrize("phase, sizes, base", [(2, (1, 1, 4), 1), (3, (2, 2, 10), 1), (4, (4, 4, 20), 2)])
def test_spot_heavy_mixed_instances_group(program, phase, sizes, base):
    group = run(program, phase).named("test-workers-asg", ASG)
    inputs = group.inputs
    assert (inputs["minSize"], inputs["desiredCapacity"], inputs["maxSize"]) == sizes
    distribution = inputs["mixedInstancesPolicy"]["instancesDistribution"]
    assert distribution["onDemandBaseCapacity"] == base
    assert distribution["onDemandPercentageAboveBaseCapacity"] == 20  # seed: 80% spot above the base
    assert distribution["spotAllocationStrategy"] == "capacity-optimized"
    overrides = inputs["mixedInstancesPolicy"]["launchTemplate"]["overrides"]
    assert [o["instanceType"] for o in overrides] == ["m5.large", "m5a.large", "m6i.large", "m6a.large"]
    assert inputs["capacityRebalance"] is True
    assert inputs["vpcZoneIdentifiers"] == ["subnet-0a", "subnet-0b", "subnet-0c"]
    assert "desiredCapacity" in group.options["ignoreChanges"]


def test_scales_on_queue_depth_at_100_messages_per_worker(program):
    policy = run(program).named("test-workers-queue-depth", "aws:autoscaling/policy:Policy")
    tracking = policy.inputs["targetTrackingConfiguration"]
    assert tracking["targetValue"] == 100
    queries = {q["id"]: q for q in tracking["customizedMetricSpecification"]["metrics"]}
    visible = queries["visible"]["metricStat"]
    assert visible["metric"]["metricName"] == "ApproximateNumberOfMessagesVisible"
    assert visible["metric"]["dimensions"] == [{"name": "QueueName", "value": "qnom-jobs"}]
    assert queries["workers"]["metricStat"]["metric"]["metricName"] == "GroupInServiceInstances"
    assert queries["backlog_per_worker"]["expression"] == "visible / workers"
    assert [q["id"] for q in queries.values() if q["returnData"]] == ["backlog_per_worker"]


def test_workers_accept_no_inbound_traffic_and_consume_only_their_queue(program):
    plan = run(program)
    [group] = plan.of_type("aws:ec2/securityGroup:SecurityGroup")
    assert not group.inputs.get("ingress")
    assert plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") == []
    egress = {r.name: r.inputs for r in plan.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")}
    assert egress["test-workers-instances-out-https"]["cidrIpv4"] == "0.0.0.0/0"
    assert egress["test-workers-instances-out-postgres"]["cidrIpv4"] == "10.10.0.0/16"
    policy = json.loads(plan.named("test-workers-instance-queue", "aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    [statement] = policy["Statement"]
    assert statement["Resource"] == QUEUE_ARN
    assert "sqs:DeleteMessage" in statement["Action"] and "sqs:SendMessage" not in statement["Action"]
    assert sorted(r.name for r in plan.of_type("aws:iam/rolePolicy:RolePolicy")) == [
        "test-workers-instance-config", "test-workers-instance-objects", "test-workers-instance-queue",
        "test-workers-instance-secrets"]


def test_workers_read_their_configuration_secrets_and_bucket_prefix_only(program):
    plan = run(program)

    def statements(suffix: str) -> list[dict]:
        return json.loads(plan.named(f"test-workers-instance-{suffix}", "aws:iam/rolePolicy:RolePolicy")
                          .inputs["policy"])["Statement"]

    assert statements("secrets") == [
        {"Sid": "ReadOwnSecrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
         "Resource": [CACHE_SECRET, DB_SECRET]},
        {"Sid": "DecryptOwnSecrets", "Effect": "Allow", "Action": "kms:Decrypt",
         "Resource": "arn:aws:kms:us-east-1:123456789012:key/*",
         "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"},
                       "StringLike": {"kms:EncryptionContext:SecretARN": [CACHE_SECRET, DB_SECRET]}}},
    ]
    assert statements("config") == [
        {"Sid": "ReadConfigPath", "Effect": "Allow", "Action": "ssm:GetParametersByPath",
         "Resource": "arn:aws:ssm:us-east-1:123456789012:parameter/qnom/prod/app"},
        {"Sid": "ReadConfigValues", "Effect": "Allow", "Action": "ssm:GetParameters",
         "Resource": "arn:aws:ssm:us-east-1:123456789012:parameter/qnom/prod/app/*"},
    ]
    assert statements("objects") == [
        {"Sid": "ObjectsUnderPrefix", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": f"{BUCKET}/app/*"},
        {"Sid": "ListPrefix", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": BUCKET,
         "Condition": {"StringLike": {"s3:prefix": ["app/*"]}}},
        {"Sid": "ObjectKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
         "Resource": "arn:aws:kms:us-east-1:123456789012:key/*",
         "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com",
                                        "kms:EncryptionContext:aws:s3:arn": BUCKET}}},
    ]


def test_worker_instances_are_locked_down_and_run_the_image(program):
    template = run(program).named("test-workers-lt", "aws:ec2/launchTemplate:LaunchTemplate").inputs
    assert template["metadataOptions"]["httpTokens"] == "required"
    # The worker runs in a Docker bridge-network container that needs the instance role (SQS).
    assert template["metadataOptions"]["httpPutResponseHopLimit"] == 2
    assert template["networkInterfaces"][0]["associatePublicIpAddress"] == "false"
    assert template["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true"
    assert "instanceType" not in template  # the group's overrides choose
    script = base64.b64decode(template["userData"]).decode()
    # No value in the script: the queue URL and the rest come from the path and the secrets.
    assert "https://sqs" not in script
    assert "--path '/qnom/prod/app'" in script
    assert "--secret-id \"${config[DB_SECRET_ID]}\"" in script and "session-secret" not in script
    for name in ("DB_USER", "DB_PASSWORD", "REDIS_AUTH_TOKEN"):
        assert f"printf '{name}=%s\\n'" in script
    assert "QUEUE_URL" in script
    assert "retry docker pull 'public.ecr.aws/qnom/api:stable'" in script
    assert "'public.ecr.aws/qnom/api:stable' worker" in script


def test_private_ecr_image_grants_pulls(program):
    plan = run(program, apiImage="123456789012.dkr.ecr.us-east-1.amazonaws.com/qnom/api:1.4.2")
    policy = json.loads(plan.named("test-workers-instance-ecr", "aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    assert policy["Statement"][1]["Resource"] == "arn:aws:ecr:us-east-1:123456789012:repository/qnom/api"


def test_outputs(program):
    assert set(run(program).outputs) == {"asgName", "securityGroupId"}


@pytest.mark.parametrize(("phase", "workers"), [(1, 0), (2, 1), (3, 1), (4, 1)])
def test_the_program_runs_workers_where_the_phase_has_a_queue(phase, workers):
    assert len(build("prod", phase).of_type("qnom:components:Workers")) == workers


def _workers(**changes) -> dict:
    document = load_phase(2).workers.model_dump()
    document.update(changes)
    return document


@pytest.mark.parametrize("changes, message", [
    ({"capacity": {"min": 0, "desired": 0, "max": 4}}, "capacity.min"),
    ({"on_demand_base": 5}, "on_demand_base"),
    ({"spot_percent": 120}, "less than or equal to 100"),
    ({"instance_types": ["m5.large"]}, "at least 2"),
    ({"instance_types": ["m5.large", "m5.large"]}, "unique"),
    ({"instance_types": ["m5.large", "m6g.large"]}, "arm64"),
    ({"messages_per_worker": 0}, "greater than or equal to 1"),
])
def test_invalid_worker_settings_are_refused(changes, message):
    with pytest.raises(pydantic.ValidationError, match=message):
        Workers.model_validate(_workers(**changes))


def test_api_and_workers_share_one_launch_template_and_group_builder():
    import inspect

    from components.compute import api_tier, workers

    # Neither tier declares a template or a group of its own: components/compute/instance_group.py does.
    for module in (api_tier, workers):
        source = inspect.getsource(module)
        assert "aws.ec2.LaunchTemplate(" not in source and "aws.autoscaling.Group(" not in source
    plan = build("prod", 2)
    api, worker = plan.named("us-east-1-api-lt"), plan.named("us-east-1-workers-lt")
    shared = ("metadataOptions", "blockDeviceMappings", "monitoring", "updateDefaultVersion", "imageId")
    assert {key: api.inputs[key] for key in shared} == {key: worker.inputs[key] for key in shared}
    assert api.inputs["metadataOptions"]["httpPutResponseHopLimit"] == 2
    assert "instanceType" not in worker.inputs and api.inputs["instanceType"] == "t3.large"
    api_group, worker_group = plan.named("us-east-1-api-asg"), plan.named("us-east-1-workers-asg")
    for group in (api_group, worker_group):
        assert group.inputs["capacityRebalance"] is True and group.inputs["metricsGranularity"] == "1Minute"
        assert group.inputs["instanceRefresh"]["strategy"] == "Rolling"
        assert group.options["ignoreChanges"] == ["desiredCapacity"]
    assert "launchTemplate" in api_group.inputs and "mixedInstancesPolicy" not in api_group.inputs
    assert "mixedInstancesPolicy" in worker_group.inputs and "launchTemplate" not in worker_group.inputs
