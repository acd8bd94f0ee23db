"""The pack as a whole: rule metadata, type tokens and property names against the installed
pulumi-aws, the policy project file, and the pack served over the analyzer protocol the way
the Pulumi CLI starts it (`python -m pulumi.policy <engine> .` in the pack's directory).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from pulumi_policy import PolicyProviderResource

from policy import views
from policy.context import StackConfigContext
from policy.rules import BY_ID, RULES, compute, data, edge, network, stack
from policy.views import Resource
from qnom.engine import PROJECT_DIR

POLICY_DIR = PROJECT_DIR / "policy"
RULE_MODULES = (network, compute, data, edge, stack)
RULE_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)+$")
CHECKOV = re.compile(r"^CKV2?_AWS_\d+$")
FSBP = re.compile(r"^(AutoScaling|CloudFront|CloudWatch|EC2|EKS|ELB|ElastiCache|IAM|KMS|Opensearch|RDS|S3|SNS|SQS|WAF)\.\d+$")
WELL_ARCHITECTED = re.compile(r"^REL\d{2}-BP\d{2}$")


# --------------------------------------------------------------------------- what pulumi-aws declares

def _module(token: str):
    name = token.split(":")[1].split("/")[0]
    return importlib.import_module("pulumi_aws" if name == "index" else f"pulumi_aws.{name}")


def input_type(token: str):
    """The resource's own input class (`XInitArgs` where a nested type took the name `XArgs`)."""
    resource = getattr(_module(token), token.split(":")[2])
    own = sys.modules[resource.__module__]
    return getattr(own, f"{resource.__name__}InitArgs", None) or getattr(own, f"{resource.__name__}Args")


def _properties(cls) -> dict:
    found = {}
    for attribute in dir(cls):
        member = inspect.getattr_static(cls, attribute, None)
        if isinstance(member, property) and hasattr(member.fget, "_pulumi_name"):
            found[member.fget._pulumi_name] = member.fget
    return found


def _nested(getter, module):
    annotation = str(inspect.signature(getter).return_annotation)
    match = re.search(r"ForwardRef\('(\w+Args)'\)", annotation)
    if match:
        return getattr(module, match.group(1))
    return "map" if "Mapping[" in annotation else None


def path_exists(token: str, path: str) -> bool:
    """Whether `path` (camelCase, as the engine receives inputs) is an input of `token`."""
    module = _module(token)
    node = input_type(token)
    for segment in path.split("."):
        if segment.isdigit():
            continue
        if node == "map":
            return True
        if node is None:
            return False
        getter = _properties(node).get(segment)
        if getter is None:
            return False
        node = _nested(getter, module)
    return True


def read_paths(module) -> set[str]:
    """Property paths a rule module reads: `x.require/get/has("...")` and `_flag(resource, "...")`."""
    data_dicts = {"statement", "document", "condition", "rule", "tags", "config", "check", "value", "self"}
    paths = set()
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func, argument = node.func, node.args[0]
        if isinstance(func, ast.Attribute) and func.attr in ("require", "get", "has"):
            receiver = func.value
            if not isinstance(receiver, ast.Name) or receiver.id in data_dicts:
                continue
        elif isinstance(func, ast.Name) and func.id == "_flag" and len(node.args) > 1:
            argument = node.args[1]
        else:
            continue
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            paths.add(argument.value)
        elif isinstance(argument, ast.JoinedStr):
            paths.add("".join(part.value if isinstance(part, ast.Constant) else "0" for part in argument.values))
    return paths


# --------------------------------------------------------------------------- metadata

def test_the_pack_has_at_least_40_resource_rules_and_the_stack_rules():
    kinds = [rule.kind for rule in RULES]
    assert kinds.count("resource") == 83
    assert kinds.count("stack") == 25


@pytest.mark.parametrize("rule", RULES, ids=[rule.id for rule in RULES])
def test_rule_metadata(rule):
    assert RULE_ID.match(rule.id)
    assert rule.description.endswith(".") and len(rule.description) > 20
    assert all(CHECKOV.match(item) for item in rule.references.checkov), rule.references.checkov
    assert all(FSBP.match(item) for item in rule.references.aws), rule.references.aws
    assert all(WELL_ARCHITECTED.match(item) for item in rule.references.well_architected)
    for setting in rule.settings:
        assert setting.description and "type" in setting.schema


AWS_TYPES = sorted({token for rule in RULES for token in rule.resource_types if token.startswith("aws:")}
                   - {views.ANY_AWS_TYPE})


@pytest.mark.parametrize("token", AWS_TYPES)
def test_every_type_token_exists_in_pulumi_aws(token):
    assert input_type(token) is not None


@pytest.mark.parametrize("module", RULE_MODULES, ids=[module.__name__ for module in RULE_MODULES])
def test_every_property_a_rule_reads_exists_in_the_installed_package(module):
    types = {token for rule in module.RULES for token in rule.resource_types if token != views.ANY_AWS_TYPE}
    assert types and len(read_paths(module)) >= 9
    unknown = sorted(path for path in read_paths(module) if not any(path_exists(token, path) for token in types))
    assert unknown == []


def test_property_checker_catches_a_misspelt_name():
    assert path_exists("aws:rds/instance:Instance", "storageEncrypted")
    assert not path_exists("aws:rds/instance:Instance", "storage_encrypted")
    assert path_exists("aws:ec2/launchTemplate:LaunchTemplate", "blockDeviceMappings.0.ebs.encrypted")
    assert not path_exists("aws:ec2/launchTemplate:LaunchTemplate", "metadataOptions.httpToken")
    assert path_exists("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                       "rules.0.applyServerSideEncryptionByDefault.sseAlgorithm")


@pytest.mark.parametrize(("token", "taggable", "default_tags"), [
    ("aws:ec2/vpc:Vpc", True, True),
    ("aws:autoscaling/group:Group", True, False),  # default tags never reach an Auto Scaling group
    ("aws:ec2/route:Route", False, False),
    ("aws:s3/bucketPolicy:BucketPolicy", False, False),
    ("kubernetes:apps/v1:Deployment", False, False),
])
def test_tag_support_is_read_from_pulumi_aws(token, taggable, default_tags):
    assert views.tag_support(token) == views.TagSupport(taggable, default_tags)


def test_policy_project_file():
    project = yaml.safe_load((POLICY_DIR / "PulumiPolicy.yaml").read_text(encoding="utf-8"))
    assert project["runtime"]["name"] == "python"
    assert (POLICY_DIR / project["runtime"]["options"]["virtualenv"]).resolve() == PROJECT_DIR / "venv"
    assert re.fullmatch(r"\d+\.\d+\.\d+", project["version"])
    main = (POLICY_DIR / "__main__.py").read_text(encoding="utf-8")
    assert "PolicyPack(" in main


# --------------------------------------------------------------------------- context from the stack config

def test_stack_config_gives_environment_phase_and_overrides():
    source = StackConfigContext({"qnom:phase": "3", "qnom:environment": "prod",
                                 "qnom:overrides": json.dumps({"database": {"multi_az": False}})}, stack="prod")
    context = source.for_stack(views.Stack(()))
    assert (context.environment, context.phase.number, context.source) == ("prod", 3, "stack config")
    assert context.phase.database.multi_az is True and context.effective.database.multi_az is False


def test_without_stack_config_the_provider_tags_stand_in():
    source = StackConfigContext({}, stack="dev")
    tags = {"environment": "dev", "phase": "growth"}
    resource = Resource(type="aws:ec2/vpc:Vpc", name="vpc", urn="urn:pulumi:dev::qnom::aws:ec2/vpc:Vpc::vpc", props={},
                        provider=PolicyProviderResource(
                            "pulumi:providers:aws", {"defaultTags": json.dumps({"tags": tags})}, "urn:p", "aws"))
    context = source.for_resource(resource)
    assert (context.environment, context.phase.number, context.source) == ("dev", 2, "provider tags")


def test_invalid_stack_config_is_remembered_not_raised():
    source = StackConfigContext({"qnom:phase": "7", "qnom:environment": "prod"}, stack="prod")
    assert source.context is None and "qnom:phase" in source.problem


# --------------------------------------------------------------------------- the pack over the analyzer protocol

@pytest.fixture(scope="module")
def served_pack():
    """Starts the pack as the Pulumi CLI does and yields an analyzer client; stops it afterwards."""
    import grpc
    from pulumi.runtime.proto import analyzer_pb2_grpc

    environment = {**os.environ, "PULUMI_CONFIG": json.dumps({"qnom:phase": "2", "qnom:environment": "prod"}),
                   "PULUMI_PROJECT": "qnom", "PULUMI_STACK": "prod", "PULUMI_DRY_RUN": "true"}
    process = subprocess.Popen([sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."], cwd=POLICY_DIR,
                               env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    port: list[str] = []
    reader = threading.Thread(target=lambda: port.append(process.stdout.readline().strip()), daemon=True)
    reader.start()
    reader.join(timeout=60)
    try:
        assert port and port[0].isdigit(), process.stderr.read() if process.poll() is not None else "no port"
        channel = grpc.insecure_channel(f"127.0.0.1:{port[0]}")
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.kill()
        process.wait(timeout=10)


def _struct(value: dict):
    from google.protobuf import struct_pb2

    struct = struct_pb2.Struct()
    struct.update(value)
    return struct


def _provider():
    from pulumi.runtime.proto import analyzer_pb2

    tags = {"environment": "prod", "phase": "growth", "service": "qnom-platform", "managed-by": "pulumi"}
    return analyzer_pb2.AnalyzerProviderResource(
        type="pulumi:providers:aws", urn="urn:pulumi:prod::qnom::pulumi:providers:aws::aws-us-east-1",
        name="aws-us-east-1", properties=_struct({"region": "us-east-1", "defaultTags": json.dumps({"tags": tags})}))


def test_served_pack_declares_every_rule_mandatory_for_prod(served_pack):
    from google.protobuf import empty_pb2
    from pulumi.runtime.proto import analyzer_pb2

    info = served_pack.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "qnom-platform"
    assert sorted(policy.name for policy in info.policies) == sorted(BY_ID)
    assert {policy.enforcementLevel for policy in info.policies} == {analyzer_pb2.MANDATORY}


def test_served_pack_reports_violations_and_unknowns_like_the_engine(served_pack):
    from pulumi.runtime.proto import analyzer_pb2
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

    urn = "urn:pulumi:prod::qnom::aws:rds/instance:Instance::db"
    public = served_pack.Analyze(analyzer_pb2.AnalyzeRequest(
        urn=urn, type="aws:rds/instance:Instance", name="db", provider=_provider(),
        properties=_struct({"engine": "postgres", "publiclyAccessible": True, "storageEncrypted": False}),
        options=analyzer_pb2.AnalyzerResourceOptions(protect=True)))
    levels = {item.policyName: item.enforcementLevel for item in public.diagnostics}
    assert levels["rds-not-publicly-accessible"] == analyzer_pb2.MANDATORY
    assert levels["rds-storage-encrypted"] == analyzer_pb2.MANDATORY
    unknown = served_pack.Analyze(analyzer_pb2.AnalyzeRequest(
        urn=urn, type="aws:rds/instance:Instance", name="db", provider=_provider(),
        properties=_struct({"engine": "postgres", "publiclyAccessible": UNKNOWN_STRING_VALUE,
                            "storageEncrypted": True}),
        options=analyzer_pb2.AnalyzerResourceOptions(protect=True)))
    found = [item for item in unknown.diagnostics if item.policyName == "rds-not-publicly-accessible"]
    assert len(found) == 1 and found[0].enforcementLevel == analyzer_pb2.ADVISORY
    assert "can't be known during preview" in found[0].message


def test_served_pack_runs_stack_rules(served_pack):
    from pulumi.runtime.proto import analyzer_pb2

    queue = analyzer_pb2.AnalyzerResource(
        urn="urn:pulumi:prod::qnom::aws:sqs/queue:Queue::jobs", type="aws:sqs/queue:Queue", name="jobs",
        properties=_struct({"sqsManagedSseEnabled": True}), provider=_provider(),
        options=analyzer_pb2.AnalyzerResourceOptions(protect=False))
    response = served_pack.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=[queue]))
    failed = {item.policyName for item in response.diagnostics}
    assert {"sqs-main-queue-has-dlq", "stateful-resources-protected", "sqs-queue-tls-only"} <= failed


# --------------------------------------------------------------------------- CI for users

def _workflow(name: str) -> dict:
    return yaml.safe_load((PROJECT_DIR / ".github" / "workflows" / name).read_text(encoding="utf-8"))


def _runs(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_pull_request_workflow_tests_checks_every_stack_and_previews_only_with_credentials():
    workflow = _workflow("pull-request.yml")
    assert "pull_request" in workflow[True]  # YAML reads the bare `on` key as True
    jobs = workflow["jobs"]
    assert "make test" in _runs(jobs["test"])
    assert jobs["policy"]["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    assert 'python -m qnom policy --stack "${{ matrix.stack }}"' in _runs(jobs["policy"])
    preview = jobs["preview"]
    # Credentials are checked inside the preview's own environment (tests/test_workflows.py).
    assert preview["environment"] == "${{ matrix.environment }}"
    assert preview["steps"][0]["id"] == "credentials" and "credentials" not in jobs
    assert "pulumi preview --stack \"$STACK\" --policy-pack policy" in _runs(preview)
    assert "secrets.PULUMI_ACCESS_TOKEN" in json.dumps(preview)


def test_deploy_workflow_updates_dev_on_main_and_prod_after_approval():
    workflow = _workflow("deploy.yml")
    assert workflow[True]["push"]["branches"] == ["main"]
    jobs = workflow["jobs"]
    assert jobs["deploy"]["environment"] == "dev" and "--policy-pack policy" in _runs(jobs["deploy"])
    assert jobs["apply"]["environment"] == "production" and "--policy-pack policy" in _runs(jobs["apply"])
    # Every stack's plan is checked offline first, then by the pack inside Pulumi.
    for job_id in ("deploy", "preview"):
        assert 'python -m qnom policy --stack "${{ matrix.stack }}"' in _runs(jobs[job_id])
    assert "--policy-pack policy --save-plan plan.json" in _runs(jobs["preview"])
    assert jobs["apply"]["concurrency"]["cancel-in-progress"] is False


def test_readme_lists_every_rule_with_its_references():
    from policy.catalog import rules_table

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert rules_table() in readme
    assert rules_table().count("\n| `") == 108


def test_readme_counts_the_rules_by_kind():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    counted = re.search(r"\((\d+) rules: (\d+) on single resources, (\d+) on the whole\s+stack\)", readme)
    kinds = [rule.kind for rule in RULES]
    assert counted and tuple(map(int, counted.groups())) == (len(RULES), kinds.count("resource"), kinds.count("stack"))
