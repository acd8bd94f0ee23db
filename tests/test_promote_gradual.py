"""`qnom promote --gradual`: the seed's Gradual Scaling Playbook as four weekly stack files.

The weeks are pure settings (each validated by the same model as any stack); the command's own run
plans and checks every week against the policy pack (the README shows it for prod 2 -> 3). Here the
pack is replaced by a recorder, so no new program runs: the files, their order and their settings are
what is tested."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from phases.catalog import load_phase
from phases.settings import settings_from_config
from qnom.engine import PROJECT_DIR
from qnom.gradual import gradual_weeks
from tests.support import run_cli


def _sizes(week, region: str) -> tuple:
    values = week.overrides.get("regions", {}).get(region, {})
    api = values.get("api", {})
    return api.get("min"), api.get("desired"), api.get("max"), values.get("db_read_replicas")


def test_the_seed_plan_from_phase_2_to_3():
    weeks = gradual_weeks(load_phase(2), load_phase(3))
    assert [week.phase for week in weeks] == [3, 3, 3, 3]
    # API minimum and desired at 25/50/75% of 4 -> 10 (ceil): 6, 7, 9; the maximum is the target's 20.
    assert [_sizes(week, "us-east-1") for week in weeks] == [
        (6, 6, 20, 1), (7, 7, 20, None), (9, 9, 20, None), (None, None, None, None)]
    # The regions phase 3 adds start from zero: 0 -> 5 gives 2 (the floor), 3, 4, with one replica, then two.
    assert [_sizes(week, "us-west-2") for week in weeks] == [
        (2, 2, 10, 1), (3, 3, 10, None), (4, 4, 10, None), (None, None, None, None)]
    # The database: current (1) in week 1, + 1 in week 2, + 2 in week 3 capped at phase 3's 2.
    assert [week.database for week in weeks] == [
        "writer + 1 read replica", "writer + 2 read replicas", "writer + 2 read replicas",
        "no shard: writer + 2 read replicas"]
    assert weeks[3].overrides == {}


def test_the_shard_decision_comes_with_phase_4():
    weeks = gradual_weeks(load_phase(3), load_phase(4))
    assert [_sizes(week, "us-east-1")[:3] for week in weeks[:3]] == [(14, 14, 50), (18, 18, 50), (22, 22, 50)]
    assert weeks[3].database == "sharded: phase 4's Aurora migration takes the writes over from the one writer"


@pytest.mark.parametrize(("current", "target", "environment"), [(1, 2, "dev"), (2, 3, "prod"), (3, 4, "prod")])
def test_every_week_is_valid_and_deletes_nothing(current, target, environment):
    previous = load_phase(current)
    for week in gradual_weeks(load_phase(current), load_phase(target)):
        phase = settings_from_config({"qnom:phase": week.phase, "qnom:environment": environment,
                                      "qnom:overrides": week.overrides}, stack=environment).phase
        before = {region.name: region for region in previous.regions}
        for region in phase.regions:
            old = before.get(region.name)
            if old is not None:  # capacity only grows from one week to the next
                assert region.api.min >= old.api.min and region.cache_nodes >= old.cache_nodes
                assert region.db_read_replicas >= old.db_read_replicas
            assert region.api.min >= 2
        previous = phase


def test_gradual_writes_one_stack_file_per_week(capsys, tmp_path, monkeypatch):
    import qnom.policy

    checked = []

    class Passed:
        passed, mandatory = True, []

    def check_stack(stack, stack_file, phase, policy_config, plan_date):
        checked.append(stack_file.name)
        return Passed()

    monkeypatch.setattr(qnom.policy, "check_stack", check_stack)
    stack_file = tmp_path / "Pulumi.prod.yaml"
    shutil.copy(PROJECT_DIR / "Pulumi.prod.yaml", stack_file)
    out = tmp_path / "weeks"
    result = run_cli(capsys, "promote", "--stack", "prod", "--stack-file", str(stack_file), "--to", "3", "--gradual",
                     "--out", str(out), "--json", "--date", "2025-11-01")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert checked == [f"Pulumi.prod-week{number}.yaml" for number in (1, 2, 3, 4)]
    assert [week["policyPassed"] for week in document["weeks"]] == [True] * 4
    week1 = (out / "Pulumi.prod-week1.yaml").read_text()
    assert week1.startswith("# Week 1 of 4 of the gradual plan for stack prod, phase 2 -> 3")
    config = yaml.safe_load(week1)["config"]
    # The stack's own keys stay; the week sets the phase and its overrides.
    assert (config["qnom:domain"], config["qnom:phase"]) == ("api.qnom.io", "3")
    assert config["qnom:overrides"]["regions"]["us-east-1"]["api"] == {"min": 6, "desired": 6, "max": 20}
    assert "qnom:overrides" not in yaml.safe_load((out / "Pulumi.prod-week4.yaml").read_text())["config"]
    # The stack file itself is untouched.
    assert stack_file.read_text() == (PROJECT_DIR / "Pulumi.prod.yaml").read_text()


def test_gradual_goes_up_one_phase(capsys, tmp_path):
    result = run_cli(capsys, "promote", "--stack", "prod", "--to", "4", "--gradual", "--allow-skip", "--out",
                     str(tmp_path), "--date", "2025-11-01")
    assert result.returncode == 3
    assert "--gradual goes up exactly one phase" in result.stdout
    assert list(tmp_path.iterdir()) == []
