"""`qnom promote`: the diff of every transition of both stacks, the refusals (exit 3), and the stack
file edit that keeps comments and key order. Every plan here is one the suite already builds."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from qnom.commands import promote as promote_command
from qnom.diff import diff_runs
from qnom.engine import PROJECT_DIR, ProgramRun
from qnom.stackfile import set_config_value
from tests.support import build, run_cli

SCHEDULE = "aws:autoscaling/schedule:Schedule"
DATE = ("--date", "2025-11-01")


def _inputs(diff, name: str) -> dict:
    found = [change for change in diff.changed + diff.replaced if change.name == name]
    assert len(found) == 1, f"{name}: {len(found)} changes"
    return {key: (value.get("old"), value.get("new")) for key, value in found[0].inputs.items()}


NAT_INSTANCE = "us-east-1-network-nat-instance-us-east-1a"
# What phase 1's NAT instance path is, and what promotion to phase 2 deletes once the routes point
# to the NAT gateway: the instance, its address, its alarm, its group and the group's rules.
NAT_INSTANCE_PATH = sorted([
    ("aws:cloudwatch/metricAlarm:MetricAlarm", f"{NAT_INSTANCE}-status"),
    ("aws:ec2/eip:Eip", NAT_INSTANCE), ("aws:ec2/instance:Instance", NAT_INSTANCE),
    ("aws:ec2/securityGroup:SecurityGroup", NAT_INSTANCE),
    *(("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", f"{NAT_INSTANCE}-{port}-out")
      for port in ("http", "https")),
    *(("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", f"{NAT_INSTANCE}-from-app-us-east-1{zone}")
      for zone in "abc"),
])


@pytest.mark.parametrize("environment", ["dev", "prod"])
@pytest.mark.parametrize(("before", "after"), [(1, 2), (2, 3), (3, 4)])
def test_every_transition_only_adds_and_updates_in_place(environment, before, after):
    diff = diff_runs(build(environment, before).run, build(environment, after).run)
    # Only phase 1's NAT instance goes, once the NAT gateway has taken over its routes.
    assert sorted((change.type, change.name) for change in diff.deleted) == (NAT_INSTANCE_PATH if before == 1 else [])
    # Scheduled actions are replaced on any change by design (components/compute/schedule.py);
    # phase 1 has none, so going to phase 2 only creates them.
    assert {change.type for change in diff.replaced} <= {SCHEDULE}
    assert all(reason.startswith("replaceOnChanges *") for change in diff.replaced for reason in change.reasons)
    assert diff.added


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_the_seed_sizes_change_in_place(environment):
    one, two, three = (build(environment, phase).run for phase in (1, 2, 3))
    first, second = diff_runs(one, two), diff_runs(two, three)
    # Seed phases: db.t3.medium -> db.r5.large -> Multi-AZ db.r5.xlarge; t3.medium -> t3.large -> c5.xlarge;
    # cache.t3.micro -> cache.r5.large; 2 -> 4-6 -> 10-20 API instances.
    assert _inputs(first, "us-east-1-db-primary")["instanceClass"] == ("db.t3.medium", "db.r5.large")
    assert _inputs(second, "us-east-1-db-primary")["instanceClass"] == ("db.r5.large", "db.r5.xlarge")
    assert _inputs(second, "us-east-1-db-primary")["multiAz"] == (False, True)
    assert _inputs(first, "us-east-1-api-lt")["instanceType"] == ("t3.medium", "t3.large")
    assert _inputs(second, "us-east-1-api-lt")["instanceType"] == ("t3.large", "c5.xlarge")
    assert _inputs(first, "us-east-1-cache-group")["nodeType"] == ("cache.t3.micro", "cache.r5.large")
    asg = _inputs(first, "us-east-1-api-asg")
    assert (asg["minSize"], asg["maxSize"]) == ((2, 4), (2, 6))
    # The autoscaler owns the running count: an ignored input is no change.
    assert "desiredCapacity" not in asg
    assert "us-east-1-db-replica-0" in {change.name for change in first.added}


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_promotion_to_phase_2_repoints_the_private_routes_in_place(environment):
    diff = diff_runs(build(environment, 1).run, build(environment, 2).run)
    for zone in ("us-east-1a", "us-east-1b", "us-east-1c"):
        # An in-place update (EC2 ReplaceRoute): a route's target is not ForceNew in the provider.
        route = _inputs(diff, f"us-east-1-network-private-{zone}-nat")
        assert route == {"natGatewayId": (None, "[unknown]"), "networkInterfaceId": ("[unknown]", None)}
    added = {(change.type, change.name) for change in diff.added}
    # The gateway's address is its own resource, never the instance's.
    assert {("aws:ec2/natGateway:NatGateway", "us-east-1-network-nat-us-east-1a"),
            ("aws:ec2/eip:Eip", "us-east-1-network-nat-us-east-1a")} <= added


def test_changes_are_grouped_by_component():
    diff = diff_runs(build("prod", 1).run, build("prod", 2).run)
    grouped = diff.by_component()
    assert [change.name for change in grouped["us-east-1-db"]["changed"] if change.name.endswith("primary")] == [
        "us-east-1-db-primary"]
    assert {change.name for change in grouped["us-east-1-queue"]["added"]} >= {"us-east-1-queue-main",
                                                                               "us-east-1-queue-dlq"}


def test_promote_prod_to_3_as_json(capsys):
    result = run_cli(capsys, "promote", "--stack", "prod", "--to", "3", "--json", *DATE)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert {"stack", "from", "to", "added", "changed", "replaced", "deleted", "costDelta", "capacityDelta",
            "refused"} <= set(document)
    assert (document["stack"], document["from"], document["to"]) == ("prod", 2, 3)
    assert document["refused"] == [] and document["deleted"] == []
    assert (document["costDelta"]["from"], document["costDelta"]["to"]) == (1188.31, 9408.25)  # qnom cost totals
    assert (document["costDelta"]["budgetFrom"], document["costDelta"]["budgetTo"]) == (1500, 10000)
    primary = document["capacityDelta"]["us-east-1"]
    assert primary["apiMax"] == {"from": 6, "to": 20}
    assert primary["dbInstanceClass"] == {"from": "db.r5.large", "to": "db.r5.xlarge"}
    assert document["capacityDelta"]["us-west-2"]["apiMin"] == {"from": None, "to": 5}
    assert document["written"] is False


@pytest.mark.parametrize(("target", "flag", "message"), [
    ("4", "--allow-skip", "phase 2 -> 4 skips phase 3"),
    ("1", "--allow-downgrade", "phase 2 -> 1 goes down"),
])
def test_skipping_or_going_down_needs_its_flag(capsys, target, flag, message):
    refused = run_cli(capsys, "promote", "--stack", "prod", "--to", target, *DATE)
    assert refused.returncode == 3
    assert message in refused.stdout
    allowed = run_cli(capsys, "promote", "--stack", "prod", "--to", target, flag, "--json", *DATE)
    document = json.loads(allowed.stdout)
    if target == "4":
        assert allowed.returncode == 0 and document["refused"] == []
    else:
        # Going down to phase 1 would delete the read replica and the queues: refused whatever the flag.
        assert allowed.returncode == 3
        assert {refusal["resource"] for refusal in document["refused"]} >= {
            "us-east-1-db-replica-0", "us-east-1-queue-main", "us-east-1-queue-dlq"}


def _replacing_the_database(real_run_program):
    """run_program, except that the target phase's database changes engine (a crafted change)."""
    calls = []

    def crafted(stack, config, *args, **kwargs) -> ProgramRun:
        run = real_run_program(stack, config, *args, **kwargs)
        calls.append(run)
        if len(calls) == 1:
            return run
        resources = [dataclasses.replace(r, inputs={**r.inputs, "engine": "aurora-postgresql"})
                     if r.name == "us-east-1-db-primary" else r for r in run.resources]
        return dataclasses.replace(run, resources=resources)

    return crafted


def test_a_change_that_would_replace_the_database_is_refused(capsys, monkeypatch, tmp_path):
    stack_file = tmp_path / "Pulumi.prod.yaml"
    shutil.copy(PROJECT_DIR / "Pulumi.prod.yaml", stack_file)
    before = stack_file.read_text()
    monkeypatch.setattr(promote_command, "run_program", _replacing_the_database(promote_command.run_program))
    result = run_cli(capsys, "promote", "--stack", "prod", "--stack-file", str(stack_file), "--to", "3", "--yes",
                     *DATE)
    assert result.returncode == 3
    assert "us-east-1-db-primary.engine: 'postgres' -> 'aurora-postgresql'" in result.stdout
    assert "replaced us-east-1-db-primary (aws:rds/instance:Instance)" in result.stdout
    # Refused: --yes writes nothing.
    assert stack_file.read_text() == before


def test_yes_writes_the_phase_and_keeps_the_file(capsys, tmp_path):
    stack_file = tmp_path / "Pulumi.prod.yaml"
    shutil.copy(PROJECT_DIR / "Pulumi.prod.yaml", stack_file)
    before = stack_file.read_text()
    result = run_cli(capsys, "promote", "--stack", "prod", "--stack-file", str(stack_file), "--to", "3", "--yes",
                     *DATE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert stack_file.read_text() == before.replace('qnom:phase: "2"', 'qnom:phase: "3"')
    assert "pulumi preview --stack prod --policy-pack policy --diff" in result.stdout
    assert "pulumi up --stack prod --policy-pack policy" in result.stdout


@pytest.mark.parametrize(("text", "expected"), [
    # Quoting, trailing comments and the other keys stay; only the value changes.
    ("# top\nconfig:\n  aws:region: us-east-1\n  qnom:phase: '1'  # launch\n  qnom:environment: dev\n",
     "# top\nconfig:\n  aws:region: us-east-1\n  qnom:phase: '2'  # launch\n  qnom:environment: dev\n"),
    ("config:\n  qnom:phase: 1\n", "config:\n  qnom:phase: 2\n"),
    # A missing key goes after the mapping's last line, nested values included.
    ("config:\n  qnom:environment: dev\n  qnom:overrides:\n    api:\n      instance_type: t3.small\n# end\n",
     "config:\n  qnom:environment: dev\n  qnom:overrides:\n    api:\n      instance_type: t3.small\n"
     "  qnom:phase: \"2\"\n# end\n"),
    # A nested key of the same name is not the config key.
    ("config:\n  qnom:overrides:\n    qnom:phase: 9\n  qnom:phase: \"1\"\n",
     "config:\n  qnom:overrides:\n    qnom:phase: 9\n  qnom:phase: \"2\"\n"),
])
def test_set_config_value_edits_one_line(tmp_path, text, expected):
    path = tmp_path / "Pulumi.x.yaml"
    path.write_text(text)
    assert set_config_value(path, "qnom:phase", "2") == expected
    assert path.read_text() == expected
