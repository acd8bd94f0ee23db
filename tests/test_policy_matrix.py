"""The pack against the real program, 4 phases x {dev, prod}, through the offline runner.

No mandatory rule fails on the stacks as the catalog defines them. Weakened stack settings
fail with the rule that names the weakness, or are refused by the settings model (exit 2)
before any resource is registered. Plans come from the cached `tests.support.build`.
"""

from __future__ import annotations

import dataclasses
import json
from functools import cache

import jsonschema
import pytest
import yaml

from phases.settings import SettingsError
import policy.resource_types as resource_types
from policy.rules import BY_ID, RULES
from qnom.cli import main
from qnom.engine import PROJECT_DIR, UNKNOWN
from qnom.policy import evaluate, parse_pack_config
from tests.support import PLAN_DATE, PROD_DOMAIN, build, settings_for

SINGLE_API_INSTANCE = {"regions": {"us-east-1": {"api": {"min": 1, "desired": 1}}}}
NO_MULTI_AZ = {"database": {"multi_az": False}}
GROUP = "aws:autoscaling/group:Group"
# Rules that must have found something to check (and passed) on every stack, from the network up.
ALWAYS_PASSING = ("default-sg-no-rules", "subnet-no-auto-public-ip", "log-group-retention", "required-tags",
                  "vpc-flow-logs-enabled", "stack-overrides-keep-phase-guarantees")


# As the stack files say: prod serves its domain (TLS from viewer to origin), dev has none.
REPORT_SCHEMA = json.loads(
    (PROJECT_DIR / "docs" / "schemas" / "qnom.policy.v1.schema.json").read_text(encoding="utf-8"))
DOMAINS = {"prod": {"domain": "api.qnom.io"}, "dev": {}}


@cache
def _report(environment: str, phase: int, overrides: str = "null", pack_config: str = "null", domain: bool = True):
    overrides_value = json.loads(overrides)
    stack_settings = DOMAINS[environment] if domain else {"domain": None}
    plan = build(environment, phase, overrides_value, **stack_settings)
    settings = settings_for(environment, phase, overrides_value, **stack_settings)
    return evaluate(plan.run, settings, parse_pack_config(json.loads(pack_config)))


def report(environment: str, phase: int, overrides: dict | None = None, pack_config: dict | None = None):
    return _report(environment, phase, json.dumps(overrides, sort_keys=True), json.dumps(pack_config, sort_keys=True))


def statuses(result) -> dict[str, str]:
    return {outcome.rule.id: outcome.status for outcome in result.outcomes}


@pytest.mark.parametrize("environment", ["dev", "prod"])
@pytest.mark.parametrize("phase", [1, 2, 3, 4])
def test_no_mandatory_violation_in_any_phase(environment, phase):
    result = report(environment, phase)
    assert [(item.rule, item.name, item.message) for item in result.mandatory] == []
    assert len(result.outcomes) == len(BY_ID) == 108
    assert result.enforcement.value == ("mandatory" if environment == "prod" else "advisory")
    found = statuses(result)
    assert {rule: found[rule] for rule in ALWAYS_PASSING} == {rule: "passed" for rule in ALWAYS_PASSING}


MIGRATION_STEPS = [{"databaseCutover": True}, {"databaseCutover": True, "retireRegionalCaches": True}]


@pytest.mark.parametrize("steps", MIGRATION_STEPS)
def test_phase_4_migration_steps_pass_in_prod(steps):
    stack_settings = {**DOMAINS["prod"], **steps}
    result = evaluate(build("prod", 4, **stack_settings).run, settings_for("prod", 4, **stack_settings),
                      parse_pack_config(None))
    assert [(item.rule, item.name, item.message) for item in result.mandatory] == []


# --------------------------------------------------------------------------- what the program creates

# The ten stacks whose plans a refactoring keeps byte-identical (scripts/plan_snapshot.py): dev and
# prod in every phase, and prod's phase 4 migration steps. The same runs as the tests above.
SNAPSHOT_STACKS = [*((environment, phase, DOMAINS[environment]) for environment in ("dev", "prod")
                     for phase in (1, 2, 3, 4)),
                   *(("prod", 4, {**DOMAINS["prod"], **steps}) for steps in MIGRATION_STEPS)]
# Rules that read the stack's settings rather than its resources.
SETTINGS_RULES = ["stack-overrides-keep-phase-guarantees"]


@cache
def created_types() -> frozenset[str]:
    return frozenset(resource.type for environment, phase, stack_settings in SNAPSHOT_STACKS
                     for resource in build(environment, phase, **stack_settings).resources)


def _created(pattern: str) -> bool:
    if pattern.endswith("*"):
        return any(token.startswith(pattern[:-1]) for token in created_types())
    return pattern in created_types()


@pytest.mark.parametrize("rule", RULES, ids=[rule.id for rule in RULES])
def test_every_rule_looks_at_types_the_program_creates(rule):
    # A type the program never registers leaves the rule nothing to check: it waits for the
    # component that creates it (the README's rules table lists only what the pack sees).
    assert [token for token in rule.resource_types if not _created(token)] == []
    assert bool(rule.resource_types) is (rule.id not in SETTINGS_RULES)


def test_every_type_token_the_pack_names_is_created():
    tokens = {name: value for name, value in vars(resource_types).items() if name.isupper()}
    named = {token for value in tokens.values() for token in ((value,) if isinstance(value, str) else value)}
    assert "STATEFUL" in tokens and len(named) > 30
    assert sorted(named - created_types()) == []


def test_prod_without_a_domain_fails_on_clear_text_to_the_origin():
    result = _report("prod", 2, "null", "null", domain=False)
    assert [item.rule for item in result.mandatory] == ["cloudfront-origin-https"]


def test_prod_regions_follow_the_phase():
    vpcs = [outcome for outcome in report("prod", 3).outcomes if outcome.rule.id == "vpc-flow-logs-enabled"]
    assert vpcs[0].checked == 6  # three VPCs and their three flow logs


def test_unknown_values_become_preview_diagnostics():
    # Every IAM document of the program is known in a preview: a document built from an ARN AWS has
    # not made yet stands in for one that is not.
    plan = build("prod", 2, **DOMAINS["prod"])
    run = dataclasses.replace(plan.run, resources=[
        dataclasses.replace(r, inputs={**r.inputs, "policy": UNKNOWN}) if r.name == "us-east-1-network-flow-logs"
        and r.type == "aws:iam/rolePolicy:RolePolicy" else r for r in plan.resources])
    result = evaluate(run, settings_for("prod", 2, **DOMAINS["prod"]), parse_pack_config(None))
    diagnostics = {item.name: item for item in result.diagnostics if item.rule == "iam-no-admin-wildcard"}
    assert list(diagnostics) == ["us-east-1-network-flow-logs"]
    flow_logs = diagnostics["us-east-1-network-flow-logs"]
    assert flow_logs.enforcement == "advisory"
    assert flow_logs.message == "can't run during preview: string value at .policy can't be known during preview"
    assert statuses(result)["iam-no-admin-wildcard"] == "unknown in preview"
    assert "iam-no-admin-wildcard" not in result.failed_rules()


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_every_iam_document_is_checked_in_a_preview_of_phase_4(environment):
    # The app instance roles' and the flow log roles' policies are built from names the preview
    # knows (auto-naming), the region and the account id: the rule runs on every one of them.
    result = report(environment, 4)
    assert [item.name for item in result.diagnostics if item.rule == "iam-no-admin-wildcard"] == []
    assert statuses(result)["iam-no-admin-wildcard"] == "passed"
    [outcome] = [outcome for outcome in result.outcomes if outcome.rule.id == "iam-no-admin-wildcard"]
    assert outcome.unknown == 0 and outcome.violations == 0


def test_a_single_api_instance_in_prod_fails():
    result = report("prod", 2, SINGLE_API_INSTANCE)
    failed = result.failed_rules("mandatory")
    assert "stack-overrides-keep-phase-guarantees" in failed
    # The plan the report ran on (same settings, so the same run): its API group serves with one instance.
    [group] = [group for group in build("prod", 2, SINGLE_API_INSTANCE, **DOMAINS["prod"]).of_type(GROUP)
               if group.inputs.get("targetGroupArns")]
    assert group.inputs["minSize"] == 1
    assert "asg-min-two-in-prod" in failed
    assert not result.passed


def test_multi_az_off_in_phase_3_fails():
    # Prod phase 3's own plan with what the override changes: the settings, and the primary's
    # multiAz, which the program takes from the phase's database block (tests/test_database.py).
    run = build("prod", 3, **DOMAINS["prod"]).run
    single_az = [dataclasses.replace(item, inputs={**item.inputs, "multiAz": False})
                 if item.name == "us-east-1-db-primary" and item.type == "aws:rds/instance:Instance" else item
                 for item in run.resources]
    settings = settings_for("prod", 3, NO_MULTI_AZ, **DOMAINS["prod"])
    assert settings.phase.database.multi_az is False
    result = evaluate(dataclasses.replace(run, resources=single_az), settings)
    failed = result.failed_rules("mandatory")
    assert "stack-overrides-keep-phase-guarantees" in failed
    assert "rds-multi-az-as-promised" in failed
    messages = [item.message for item in result.mandatory if item.rule == "stack-overrides-keep-phase-guarantees"]
    assert messages == ["qnom:overrides.database.multi_az is false, but phase 3 (scale) promises a Multi-AZ database"]


def test_the_same_weakening_is_advisory_in_dev():
    # The rule reads the settings alone, so dev phase 3's own plan serves with the weakened settings.
    result = evaluate(build("dev", 3).run, settings_for("dev", 3, NO_MULTI_AZ))
    assert result.passed
    assert "stack-overrides-keep-phase-guarantees" in result.failed_rules("advisory")


def test_the_settings_model_refuses_a_single_instance_in_phase_1():
    # Phase 1 has no scaling policies, so min must equal max: the model refuses min 1 of max 2.
    with pytest.raises(SettingsError) as refused:
        settings_for("prod", 1, SINGLE_API_INSTANCE)
    assert any("api.scaling is required" in problem for problem in refused.value.problems)


def test_pack_config_changes_levels():
    relaxed = report("prod", 2, SINGLE_API_INSTANCE, {"all": "advisory"})
    assert relaxed.passed and relaxed.advisory
    disabled = report("prod", 2, SINGLE_API_INSTANCE, {"stack-overrides-keep-phase-guarantees": "disabled"})
    assert statuses(disabled)["stack-overrides-keep-phase-guarantees"] == "disabled"
    assert "stack-overrides-keep-phase-guarantees" not in disabled.failed_rules()


@pytest.mark.parametrize(("config", "problem"), [
    ({"no-such-rule": "advisory"}, "policy config.no-such-rule: unknown rule"),
    ({"required-tags": "blocking"}, "policy config.required-tags.enforcementLevel: got 'blocking'"),
    ({"required-tags": {"enforcementLevel": "sometimes"}},
     "policy config.required-tags.enforcementLevel: got 'sometimes'"),
    ({"log-group-retention": {"minimumDay": 30}}, "policy config.log-group-retention.minimumDay: unknown setting"),
])
def test_invalid_pack_config_is_refused(config, problem):
    with pytest.raises(SettingsError) as refused:
        parse_pack_config(config)
    assert any(item.startswith(problem) for item in refused.value.problems), refused.value.problems


# --------------------------------------------------------------------------- the CLI

def _stack_file(tmp_path, phase: str, overrides: dict | None = None):
    config = {"aws:region": "us-east-1", "qnom:phase": phase, "qnom:environment": "prod", "qnom:domain": PROD_DOMAIN}
    if overrides:
        config["qnom:overrides"] = overrides
    path = tmp_path / "Pulumi.weak.yaml"
    path.write_text(yaml.safe_dump({"config": config}), encoding="utf-8")
    return path


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("phase", [1, 2, 3, 4])
def test_cli_passes_every_stack_file_in_every_phase(stack, phase, capsys):
    """What CI runs: the committed stack files, promoted to each phase."""
    assert main(["policy", "--stack", stack, "--phase", str(phase), "--date", PLAN_DATE.isoformat(), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == "qnom.policy/v1"
    jsonschema.validate(document, REPORT_SCHEMA)
    assert (document["environment"], document["phase"]["number"]) == (stack, phase)
    assert document["summary"]["rules"] == 108 and document["summary"]["mandatoryViolations"] == 0
    assert [rule["id"] for rule in document["rules"]] == list(BY_ID)


def test_cli_exits_1_on_a_mandatory_violation(tmp_path, capsys):
    path = _stack_file(tmp_path, "2", SINGLE_API_INSTANCE)
    assert main(["policy", "--stack", "prod", "--stack-file", str(path), "--date", PLAN_DATE.isoformat(), "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    rules = {item["rule"] for item in document["violations"] if item["enforcement"] == "mandatory"}
    assert "stack-overrides-keep-phase-guarantees" in rules
    assert document["summary"]["passed"] is False


def test_cli_exits_2_on_invalid_settings(tmp_path, capsys):
    assert main(["policy", "--stack", "prod", "--phase", "7"]) == 2
    assert "qnom:phase: got '7'" in capsys.readouterr().err
    refused = _stack_file(tmp_path, "1", SINGLE_API_INSTANCE)
    assert main(["policy", "--stack", "prod", "--stack-file", str(refused)]) == 2
    config = tmp_path / "policy.json"
    config.write_text(json.dumps({"no-such-rule": "advisory"}), encoding="utf-8")
    assert main(["policy", "--stack", "prod", "--policy-config", str(config)]) == 2
    assert "no-such-rule: unknown rule" in capsys.readouterr().err


def test_cli_lists_the_rules_it_ran(capsys):
    assert main(["policy", "--stack", "dev", "--date", PLAN_DATE.isoformat()]) == 0
    output = capsys.readouterr().out
    assert "108 rules" in output and "passed" in output
    assert all(rule in output for rule in BY_ID)
