"""The staging environment and the example stack files.

Staging's profile is a table; its plan is the committed `Pulumi.staging.yaml` (phase 2), built
once and shared by the CLI tests below through the run cache; the EU example is planned
through the CLI as a user would.
"""

from __future__ import annotations

import json

import pytest
import yaml

from phases.environment import PROFILES, nat_gateways_per_az
from phases.settings import settings_from_config
from qnom.engine import PROJECT_DIR
from tests.support import build, run_cli

STAGING_DOMAIN = "api.staging.qnom.io"
"""The committed staging stack's `qnom:domain`."""
ASG = "aws:autoscaling/group:Group"
NAT = "aws:ec2/natGateway:NatGateway"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


@pytest.mark.parametrize(("environment", "expected"), [
    ("dev", dict(protect_stateful=False, deletion_protection=False, final_snapshot=False, backup_retention_days=1,
                 log_retention_days=14, force_destroy_buckets=True, recovery_window_days=7,
                 search_dedicated_masters=False, nat_per_az=False, spot_only=False)),
    ("staging", dict(protect_stateful=False, deletion_protection=False, final_snapshot=False, backup_retention_days=3,
                     log_retention_days=30, force_destroy_buckets=True, recovery_window_days=7,
                     search_dedicated_masters=True, nat_per_az=True, spot_only=True)),
    ("prod", dict(protect_stateful=True, deletion_protection=True, final_snapshot=True, backup_retention_days=7,
                  log_retention_days=365, force_destroy_buckets=False, recovery_window_days=30,
                  search_dedicated_masters=True, nat_per_az=True, spot_only=False)),
])
def test_environment_profiles(environment, expected):
    assert PROFILES[environment].model_dump() == {"name": environment, **expected}


def test_profiles_are_dev_staging_prod():
    assert list(PROFILES) == ["dev", "staging", "prod"]


@pytest.mark.parametrize(("environment", "phase", "per_az"), [
    ("dev", 2, False), ("staging", 1, False), ("staging", 2, True), ("staging", 4, True), ("prod", 2, True),
])
def test_nat_per_az_follows_the_profile_from_phase_2(environment, phase, per_az):
    assert nat_gateways_per_az(environment, phase) is per_az


@pytest.fixture(scope="module")
def staging():
    """What `Pulumi.staging.yaml` deploys (the CLI tests below share this run)."""
    return build("staging", 2, domain=STAGING_DOMAIN)


def test_staging_workers_run_on_spot_alone(staging):
    # Seed, Cost Optimization: staging 100% spot, no on-demand fallback.
    workers = staging.named("us-east-1-workers-asg", ASG).inputs["mixedInstancesPolicy"]
    assert workers["instancesDistribution"] == {
        "onDemandBaseCapacity": 0, "onDemandPercentageAboveBaseCapacity": 0,
        "onDemandAllocationStrategy": "prioritized", "spotAllocationStrategy": "capacity-optimized"}
    assert [item["instanceType"] for item in workers["launchTemplate"]["overrides"]] == [
        "m5.large", "m5a.large", "m6i.large", "m6a.large"]


def test_staging_api_stays_on_demand(staging):
    api = staging.named("us-east-1-api-asg", ASG).inputs
    assert "mixedInstancesPolicy" not in api and "launchTemplate" in api


def test_prod_workers_keep_the_phase_mix():
    # The same phase in prod: an on-demand base of 1, then 80% spot (20% on demand).
    workers = build("prod", 2).named("us-east-1-workers-asg", ASG).inputs["mixedInstancesPolicy"]
    distribution = workers["instancesDistribution"]
    assert (distribution["onDemandBaseCapacity"], distribution["onDemandPercentageAboveBaseCapacity"]) == (1, 20)


def test_staging_protects_nothing(staging):
    assert [r.name for r in staging.resources if r.options.get("protect")] == []
    database = staging.named("us-east-1-db-primary")
    assert (database.inputs["deletionProtection"], database.inputs["skipFinalSnapshot"]) == (False, True)
    assert database.inputs["backupRetentionPeriod"] == 3
    assert staging.named("us-east-1-api-alb", "aws:lb/loadBalancer:LoadBalancer").inputs[
        "enableDeletionProtection"] is False
    assert {r.inputs["forceDestroy"] for r in staging.of_type("aws:s3/bucket:Bucket")} == {True}


def test_staging_has_prods_topology(staging):
    assert len(staging.of_type(NAT)) == 3
    assert {r.inputs["retentionInDays"] for r in staging.of_type(LOG_GROUP)} == {30}


def test_staging_stack_file_plans_and_passes_policy(capsys, staging):
    plan = run_cli(capsys, "plan", "--stack", "staging", "--date", "2025-11-01", "--json")
    assert plan.returncode == 0, plan.stderr
    document = json.loads(plan.stdout)
    assert (document["environment"], document["phase"]["number"], document["regions"]) == ("staging", 2, ["us-east-1"])
    policy = run_cli(capsys, "policy", "--stack", "staging", "--date", "2025-11-01", "--json")
    assert policy.returncode == 0, policy.stdout
    report = json.loads(policy.stdout)
    assert report["enforcement"] == "mandatory"


def test_eu_example_plans_with_its_primary_in_eu_west_1(capsys):
    stack_file = str(PROJECT_DIR / "examples" / "Pulumi.eu.yaml")
    result = run_cli(capsys, "plan", "--stack", "eu", "--stack-file", stack_file, "--date", "2025-11-01", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["environment"], document["phase"]["number"], document["regions"]) == ("dev", 1, ["eu-west-1"])
    regional = {resource["region"] for resource in document["resources"]
                if "qnom:components:Region" in resource["urn"] and resource["region"]}
    assert regional == {"eu-west-1"}
    # The CDN's distribution and buckets stay with the us-east-1 provider (CloudFront's own region).
    assert {r["region"] for r in document["resources"] if r["type"].startswith("aws:cloudfront/")} == {"us-east-1"}


def test_the_eu_example_stays_eu_primary_when_promoted():
    """Phase 3 already runs eu-west-1 as a secondary: the entries swap, so the primary keeps its CIDR and sizes."""
    config = {**_load_example("Pulumi.eu.yaml"), "qnom:phase": "3"}
    phase = settings_from_config(config, stack="eu").phase
    catalog = settings_from_config({**config, "aws:region": "us-east-1"}, stack="eu").phase
    assert [(region.name, region.role, region.cidr) for region in phase.regions] == [
        ("eu-west-1", "primary", "10.10.0.0/16"), ("us-west-2", "secondary", "10.20.0.0/16"),
        ("us-east-1", "secondary", "10.30.0.0/16")]
    assert phase.primary_region.api == catalog.primary_region.api
    assert (phase.primary_region.api.min, phase.primary_region.api.max) == (10, 20)


def _load_example(name: str) -> dict:
    return yaml.safe_load((PROJECT_DIR / "examples" / name).read_text(encoding="utf-8"))["config"]

