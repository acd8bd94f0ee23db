"""The `qnom.plan/v1` document: its JSON Schema (docs/schemas), determinism, secrets and unknowns marked."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import jsonschema
import pytest
from referencing import Registry, Resource

from qnom.cli import main
from qnom.engine import PROJECT_DIR, SECRET, UNKNOWN, run_program, scrub
from qnom.plan import build_plan, plan_document, to_json
from tests.support import PLAN_DATE

PLAN_SCHEMA = json.loads((PROJECT_DIR / "docs" / "schemas" / "qnom.plan.v1.schema.json").read_text(encoding="utf-8"))
PLANS_SCHEMA = json.loads((PROJECT_DIR / "docs" / "schemas" / "qnom.plans.v1.schema.json").read_text(encoding="utf-8"))

RESOURCE_KEYS = {"urn", "type", "name", "custom", "parent", "provider", "region", "inputs", "options"}
OPTION_KEYS = {"protect", "retainOnDelete", "deleteBeforeReplace", "replaceOnChanges", "ignoreChanges", "dependsOn",
               "aliases"}


def _plan_json(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qnom", "plan", *args, "--json"], cwd=PROJECT_DIR,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def prod_plan() -> dict:
    return json.loads(to_json(build_plan("prod", plan_date=PLAN_DATE)))


@pytest.mark.parametrize(("stack", "phase"), [("dev", None), ("prod", None), ("prod", "3"), ("prod", "4")])
def test_documents_follow_the_published_schema(stack, phase):
    jsonschema.validate(json.loads(to_json(build_plan(stack, phase=phase, plan_date=PLAN_DATE))), PLAN_SCHEMA)


def test_the_schema_refuses_a_renamed_key(prod_plan):
    renamed = {**prod_plan, "resourceList": prod_plan["resources"]}
    del renamed["resources"]
    with pytest.raises(jsonschema.ValidationError, match="'resources' is a required property"):
        jsonschema.validate(renamed, PLAN_SCHEMA)


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
    # A fresh process (its own hash seed, import order and engine) against this one's run.
    # The dev stack has no traffic schedule, so the day the suite runs changes nothing.
    fresh = _plan_json("--stack", "dev", "--date", PLAN_DATE.isoformat())
    assert fresh.returncode == 0, fresh.stderr
    assert fresh.stdout == to_json(build_plan("dev", plan_date=PLAN_DATE))
    assert fresh.stdout.endswith("}\n")


def test_phase_flag_replaces_the_stack_files_phase():
    document = build_plan("prod", phase="3", plan_date=PLAN_DATE)
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


def test_human_view_lists_components_and_counts(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")  # the view follows the terminal's width; rows read whole at 160
    assert main(["plan", "--stack", "dev", "--date", PLAN_DATE.isoformat()]) == 0
    output = capsys.readouterr().out
    assert "stack dev  environment dev  phase 1 (launch)" in output
    assert "sized for 0-1,000 users, budget $200/month" in output  # the seed's phase 1
    assert "Network us-east-1-network" in output
    assert "cidrBlock=10.10.0.0/20" in output
    assert "vpcIds=[unknown]" in output  # markers survive the terminal markup
    # Data stores are marked stateful (dev leaves them unprotected); their satellites are not.
    rows = {line.split("│")[1].strip(): [cell.strip() for cell in line.split("│")[2:]]
            for line in output.splitlines() if line.count("│") >= 6}
    assert rows["us-east-1-db-primary"][0] == "Instance" and rows["us-east-1-db-primary"][2:4] == ["yes", ""]
    assert rows["us-east-1-db-key"][2] == "yes"
    assert rows["us-east-1-network-vpc"][2] == ""
    counted = re.search(r"^(\d+) resources", output, re.MULTILINE)
    assert counted and int(counted.group(1)) == build_plan("dev", plan_date=PLAN_DATE)["summary"]["resourceCount"]


def test_policy_human_view_is_rendered_next_to_the_plan_view(capsys):
    from qnom import policy, render

    assert not hasattr(policy, "render")
    assert main(["policy", "--stack", "dev", "--date", PLAN_DATE.isoformat()]) == 0
    output = capsys.readouterr().out
    assert "qnom policy  pack qnom-platform  stack dev  environment dev  phase 1 (launch)" in output
    assert "default enforcement advisory" in output
    from policy.rules import RULES

    kinds = [rule.kind for rule in RULES]
    assert re.search(rf"^{len(RULES)} rules \({kinds.count('resource')} resource, {kinds.count('stack')} stack\): ",
                     output, re.MULTILINE)
    assert re.search(r"^passed: 0 mandatory and \d+ advisory violation\(s\)", output, re.MULTILINE)
    assert callable(render.render_policy)


def test_several_phases_print_one_array_of_plan_documents(capsys):
    assert main(["plan", "--stack", "dev", "--date", PLAN_DATE.isoformat(), "--all-phases", "--json"]) == 0
    documents = json.loads(capsys.readouterr().out)
    assert [document["phase"]["number"] for document in documents] == [1, 2, 3, 4]
    registry = Registry().with_resource("qnom.plan/v1", Resource.from_contents(PLAN_SCHEMA))
    jsonschema.Draft202012Validator(PLANS_SCHEMA, registry=registry).validate(documents)
    assert [to_json(document) for document in documents] == [to_json(build_plan("dev", phase=n, plan_date=PLAN_DATE)) for n in "1234"]
    assert main(["plan", "--stack", "dev", "--date", PLAN_DATE.isoformat(), "--phase", "2,growth", "--json"]) == 0
    assert [document["phase"]["number"] for document in json.loads(capsys.readouterr().out)] == [2, 2]


def test_a_bad_phase_in_the_list_plans_nothing(capsys):
    assert main(["plan", "--stack", "dev", "--date", PLAN_DATE.isoformat(), "--phase", "1,9", "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "qnom:phase: got '9'" in err


def test_several_phases_in_the_human_view_one_after_the_other(capsys):
    assert main(["plan", "--stack", "dev", "--date", PLAN_DATE.isoformat(), "--phase", "1,2"]) == 0
    output = capsys.readouterr().out
    first, second = output.index("phase 1 (launch)"), output.index("phase 2 (growth)")
    assert first < second
