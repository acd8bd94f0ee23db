"""The `qnom.plan/v1` document: schema keys, determinism, secrets and unknowns marked."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import pytest

from qnom.engine import PROJECT_DIR, SECRET, UNKNOWN, run_program, scrub
from qnom.plan import build_plan, plan_document, to_json

RESOURCE_KEYS = {"urn", "type", "name", "custom", "parent", "provider", "region", "inputs", "options"}
OPTION_KEYS = {"protect", "retainOnDelete", "deleteBeforeReplace", "ignoreChanges", "replaceOnChanges", "dependsOn",
               "aliases"}


def _plan_json(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qnom", "plan", *args, "--json"], cwd=PROJECT_DIR,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def prod_plan() -> dict:
    result = _plan_json("--stack", "prod")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_schema_keys(prod_plan):
    assert prod_plan["schema"] == "qnom.plan/v1"
    assert (prod_plan["project"], prod_plan["stack"], prod_plan["environment"]) == ("qnom", "prod", "prod")
    assert prod_plan["phase"] == {"number": 2, "name": "growth"}
    assert prod_plan["regions"] == ["us-east-1"]
    assert prod_plan["summary"]["resourceCount"] == len(prod_plan["resources"])
    assert sum(prod_plan["summary"]["byType"].values()) == len(prod_plan["resources"])
    for resource in prod_plan["resources"]:
        assert RESOURCE_KEYS <= set(resource), resource["urn"]
        assert set(resource["options"]) == OPTION_KEYS


def test_resources_sorted_by_urn_and_regions_resolved(prod_plan):
    urns = [resource["urn"] for resource in prod_plan["resources"]]
    assert urns == sorted(urns)
    by_type = {}
    for resource in prod_plan["resources"]:
        by_type.setdefault(resource["custom"], []).append(resource)
    assert all(r["region"] is None and r["provider"] is None for r in by_type[False])
    vpc = next(r for r in prod_plan["resources"] if r["type"] == "aws:ec2/vpc:Vpc")
    assert vpc["region"] == "us-east-1"
    assert vpc["provider"] == "urn:pulumi:prod::qnom::pulumi:providers:aws::aws-us-east-1"


def test_unknown_values_are_marked(prod_plan):
    subnet = next(r for r in prod_plan["resources"] if r["type"] == "aws:ec2/subnet:Subnet")
    assert subnet["inputs"]["vpcId"] == UNKNOWN
    assert prod_plan["outputs"]["vpcIds"] == UNKNOWN


def test_same_stack_gives_byte_identical_output():
    first, second = _plan_json("--stack", "dev"), _plan_json("--stack", "dev")
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout
    assert first.stdout.endswith("}\n")


def test_phase_flag_replaces_the_stack_files_phase():
    document = build_plan("prod", phase="3")
    assert document["phase"] == {"number": 3, "name": "scale"}
    assert document["regions"] == ["us-east-1", "us-west-2", "eu-west-1"]


def test_secrets_never_appear_in_clear_text(tmp_path):
    program = tmp_path / "__main__.py"
    program.write_text(textwrap.dedent("""
        import pulumi
        import pulumi_aws as aws
        import pulumi_random as random

        password = random.RandomPassword("session", length=32)
        secret = aws.secretsmanager.Secret("session")
        aws.secretsmanager.SecretVersion("session", secret_id=secret.id,
                                         secret_string=pulumi.Output.secret("hunter2-not-for-plans"))
        pulumi.export("token", pulumi.Output.secret("token-not-for-plans"))
        pulumi.export("length", password.length)
    """))
    run = run_program("dev", {"qnom:phase": "1", "qnom:environment": "dev"}, program=program)
    text = to_json(plan_document(run, environment="dev", phase={"number": 1, "name": "launch"},
                                 regions=["us-east-1"]))
    assert "not-for-plans" not in text
    version = next(r for r in run.resources if r.type == "aws:secretsmanager/secretVersion:SecretVersion")
    assert version.inputs["secretString"] == SECRET
    assert run.outputs == {"token": SECRET, "length": 32}


@pytest.mark.parametrize(("wire", "plain"), [
    ("04da6b54-80e4-46f7-96ec-b56ff0331ba9", UNKNOWN),
    ({"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "pw"}, SECRET),
    ({"nested": [{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "x"}]},
     {"nested": [SECRET]}),
    (3.0, 3),
    ("plain", "plain"),
])
def test_scrub_marks_wire_encodings(wire, plain):
    assert scrub(wire) == plain


def test_human_view_lists_components_and_counts():
    result = subprocess.run([sys.executable, "-m", "qnom", "plan", "--stack", "dev"], cwd=PROJECT_DIR,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "stack dev  environment dev  phase 1 (launch)" in result.stdout
    assert "Network us-east-1-network" in result.stdout
    assert "cidrBlock=10.10.0.0/20" in result.stdout
    assert "vpcIds=[unknown]" in result.stdout  # markers survive the terminal markup
    counted = re.search(r"^(\d+) resources", result.stdout, re.MULTILINE)
    assert counted and int(counted.group(1)) == build_plan("dev")["summary"]["resourceCount"]
