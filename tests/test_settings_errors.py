"""Malformed stack files: `qnom plan` exits 2 with one message per problem naming the key path
and the allowed values, no traceback, and nothing registered."""

from __future__ import annotations

import textwrap
from datetime import date

import pydantic
import pytest

from phases.settings import SettingsError, StackSettings, settings_from_config
from qnom import engine
from tests.support import CliResult, run_cli

# (case id, stack file body, fragments every one of which must appear on stderr)
BAD_STACK_FILES = [
    ("unknown-phase", "qnom:phase: five\n  qnom:environment: prod",
     ["qnom:phase: got 'five'", "allowed values: 1-4 or launch, growth, scale, global"]),
    ("phase-out-of-range", "qnom:phase: '7'\n  qnom:environment: prod",
     ["qnom:phase: got '7'", "allowed values: 1-4"]),
    ("bad-environment", "qnom:phase: '2'\n  qnom:environment: qa",
     ["qnom:environment: got 'qa'", "allowed values: dev, staging, prod"]),
    ("missing-environment", "qnom:phase: '2'", ["qnom:environment: required setting is missing"]),
    ("unknown-key", "qnom:phase: '2'\n  qnom:environment: prod\n  qnom:sise: large",
     ["qnom:sise: unknown setting", "allowed keys: alertEmail, apiGatewayImage, apiImage, authServiceImage, "
                                    "clusterAdminRoleArn, clusterPublicAccessCidrs, costProfile, databaseCutover, "
                                    "domain, environment, failoverRegion, hostedZone"]),
    ("min-above-max", "qnom:phase: '2'\n  qnom:environment: prod\n"
     "  qnom:overrides: {regions: {us-east-1: {api: {min: 9}}}}",
     ["qnom:overrides.regions.us-east-1.api", "min (9) <= desired (4) <= max (6) must hold"]),
    ("wrong-type", "qnom:phase: '2'\n  qnom:environment: prod\n  qnom:overrides: {regions: {us-east-1: {api: {max: lots}}}}",
     ["qnom:overrides.regions.us-east-1.api.max", "got 'lots'", "valid integer"]),
    ("negative-count", "qnom:phase: '2'\n  qnom:environment: prod\n"
     "  qnom:overrides: {regions: {us-east-1: {db_read_replicas: -1}}}",
     ["qnom:overrides.regions.us-east-1.db_read_replicas", "got -1", "greater than or equal to 0"]),
    ("unknown-override-key", "qnom:phase: '2'\n  qnom:environment: prod\n  qnom:overrides: {api: {instance_size: big}}",
     ["qnom:overrides.api.instance_size: unknown key",
      "allowed keys: health_check, health_check_grace_seconds, idle_timeout_seconds"]),
    ("weights-not-100", "qnom:phase: '3'\n  qnom:environment: prod\n"
     "  qnom:overrides: {regions: {eu-west-1: {weight: 40}}}",
     ["regions[].weight must sum to 100, got 115"]),
    ("literal-value", "qnom:phase: '2'\n  qnom:environment: prod\n"
     "  qnom:overrides: {cdn: {price_class: PriceClass_Cheap}}",
     ["qnom:overrides.cdn.price_class", "'PriceClass_100', 'PriceClass_200' or 'PriceClass_All'"]),
    ("failover-single-node", "qnom:phase: '2'\n  qnom:environment: prod\n"
     "  qnom:overrides: {regions: {us-east-1: {cache_nodes: 1}}}",
     ["regions[0].cache_nodes (1) must be >= 2 when cache.automatic_failover is true"]),
    ("overrides-not-object", "qnom:phase: '2'\n  qnom:environment: prod\n  qnom:overrides: [1, 2]",
     ["qnom:overrides: got list; allowed values: an object"]),
    ("bad-domain", "qnom:phase: '2'\n  qnom:environment: prod\n  qnom:domain: 'not a domain'",
     ["qnom:domain: got 'not a domain'", "allowed values: a DNS name"]),
    ("config-not-mapping", "- qnom:phase", ["config: must be a mapping"]),
    ("bad-routing", "qnom:phase: '3'\n  qnom:environment: prod\n  qnom:routing: geo",
     ["qnom:routing: got 'geo'", "allowed values: latency, weighted"]),
    ("bad-hosted-zone", "qnom:phase: '3'\n  qnom:environment: prod\n  qnom:hostedZone: import",
     ["qnom:hostedZone: got 'import'", "allowed values: lookup, create"]),
    ("bad-search-role", "qnom:phase: '3'\n  qnom:environment: prod\n  qnom:openSearchServiceRole: skip",
     ["qnom:openSearchServiceRole: got 'skip'", "allowed values: create, existing"]),
    ("bad-plan-date", "qnom:phase: '2'\n  qnom:environment: prod\n  qnom:planDate: '2025-02-30'",
     ["qnom:planDate: got '2025-02-30'; allowed values: a date YYYY-MM-DD (unset: today)"]),
    ("bad-flag", "qnom:phase: '4'\n  qnom:environment: prod\n  qnom:databaseCutover: 'yes'",
     ["qnom:databaseCutover: got 'yes'; allowed values: true, false"]),
]


def _run_plan(tmp_path, capsys, body: str) -> CliResult:
    stack_file = tmp_path / "Pulumi.broken.yaml"
    stack_file.write_text(textwrap.dedent(f"config:\n  {body}\n"))
    return run_cli(capsys, "plan", "--stack", "broken", "--stack-file", str(stack_file), "--json")


@pytest.mark.parametrize(("body", "fragments"), [case[1:] for case in BAD_STACK_FILES],
                         ids=[case[0] for case in BAD_STACK_FILES])
def test_bad_stack_file_exits_2_with_clear_message(tmp_path, capsys, body, fragments):
    result = _run_plan(tmp_path, capsys, body)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    for fragment in fragments:
        assert fragment in result.stderr
    assert "Traceback" not in result.stderr


def test_every_problem_is_reported_at_once():
    with pytest.raises(SettingsError) as error:
        settings_from_config({"qnom:phase": "nine", "qnom:environment": "qa", "qnom:colour": "red"}, stack="x")
    assert len(error.value.problems) == 3


def test_missing_stack_file_exits_2(tmp_path, capsys):
    result = run_cli(capsys, "plan", "--stack", "qa", "--stack-file", str(tmp_path / "none.yaml"))
    assert result.returncode == 2
    assert "stack file not found" in result.stderr


def test_invalid_settings_register_nothing(monkeypatch):
    """The program itself refuses invalid settings before creating anything."""
    recorded = []
    original = engine.RecordingMonitor.RegisterResource

    def spy(self, request):
        recorded.append(request.type)
        return original(self, request)

    monkeypatch.setattr(engine.RecordingMonitor, "RegisterResource", spy)
    with pytest.raises(SettingsError):
        engine.run_program("prod", {"qnom:phase": "2", "qnom:environment": "prod",
                                    "qnom:overrides": {"regions": {"us-east-1": {"api": {"min": 9}}}}})
    assert [kind for kind in recorded if kind != "pulumi:pulumi:Stack"] == []


@pytest.mark.parametrize(("raw", "number"), [("1", 1), (2, 2), ("scale", 3), ("Global", 4), ("launch", 1)])
def test_phase_by_number_or_name(raw, number):
    assert settings_from_config({"qnom:phase": raw, "qnom:environment": "dev"}, stack="dev").phase.number == number


@pytest.mark.parametrize(("value", "expected"), [
    (None, "create"), ("", "create"), ("create", "create"), ("existing", "existing"), ("Existing", "existing"),
])
def test_opensearch_service_role_setting(value, expected):
    config = {"qnom:phase": "3", "qnom:environment": "prod"}
    if value is not None:
        config["qnom:openSearchServiceRole"] = value
    assert settings_from_config(config, stack="prod").search_service_role == expected


@pytest.mark.parametrize("value", ["no", "true", "import"])
def test_opensearch_service_role_refuses_other_values(value):
    config = {"qnom:phase": "3", "qnom:environment": "prod", "qnom:openSearchServiceRole": value}
    with pytest.raises(SettingsError) as error:
        settings_from_config(config, stack="prod")
    assert error.value.problems == [f"qnom:openSearchServiceRole: got {value!r}; allowed values: create, existing"]


@pytest.mark.parametrize(("value", "expected"), [
    ("2025-11-28", date(2025, 11, 28)), (" 2025-11-28 ", date(2025, 11, 28)),
    (date(2025, 11, 28), date(2025, 11, 28)),  # an unquoted YAML date in a stack file
])
def test_plan_date_setting(value, expected):
    config = {"qnom:phase": "2", "qnom:environment": "prod", "qnom:planDate": value}
    assert settings_from_config(config, stack="prod").plan_date == expected


@pytest.mark.parametrize("value", ["2025-13-01", "2025-11-28T00:00:00", "20251128", "28.11.2025", 1764288000])
def test_plan_date_refuses_anything_but_a_day(value):
    config = {"qnom:phase": "2", "qnom:environment": "prod", "qnom:planDate": value}
    with pytest.raises(SettingsError) as error:
        settings_from_config(config, stack="prod")
    assert error.value.problems == [f"qnom:planDate: got {value!r}; allowed values: a date YYYY-MM-DD (unset: today)"]


def test_the_model_is_frozen_and_refuses_unknown_keys():
    settings = settings_from_config({"qnom:phase": "2", "qnom:environment": "prod", "qnom:planDate": "2025-11-01"},
                                    project="qnom", stack="prod")
    assert (settings.project, settings.stack, settings.routing, settings.profile.name) == ("qnom", "prod", "latency", "prod")
    with pytest.raises(pydantic.ValidationError):
        settings.routing = "weighted"
    with pytest.raises(pydantic.ValidationError) as error:
        StackSettings.model_validate({"phase": "2", "environment": "prod", "project": "other"})
    assert [item["type"] for item in error.value.errors()] == ["extra_forbidden"]


def test_keys_are_read_by_their_qnom_names_only():
    # The fields' Python names are not keys: `database_cutover` is refused, `databaseCutover` read.
    with pytest.raises(SettingsError) as error:
        settings_from_config({"qnom:phase": "4", "qnom:environment": "prod", "qnom:database_cutover": "true"},
                             stack="prod")
    assert error.value.problems == ["qnom:database_cutover: unknown setting; allowed keys: alertEmail, apiGatewayImage, "
                                    "apiImage, authServiceImage, clusterAdminRoleArn, clusterPublicAccessCidrs, "
                                    "costProfile, databaseCutover, domain, environment, failoverRegion, "
                                    "hostedZone, notificationServiceImage, openSearchServiceRole, orderServiceImage, "
                                    "originSecretSlot, overrides, phase, planDate, retireRegionalCaches, routing, surge, userServiceImage"]
