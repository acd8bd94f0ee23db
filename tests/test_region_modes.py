"""Modes are types: what the regions and their data tier are built from, and what they name.

`Region`, `Database`, `Cache` and `Peering` take one args type per mode. These tests check that a
region's args cannot mix the two roles, and that every plan keeps the URNs it had before the modes
became types (`tests/data/plan_urns.json`). That each component registers exactly the outputs its
class declares is checked for every component in `test_stack_outputs.py`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.data.cache import Cache, DatastoreMembership
from components.data.database import AuroraSecondary, Database
from components.network.peering import Peering
from components.region import PrimaryRegionArgs, Region, SecondaryRegionArgs
from phases.settings import PLAN_DATE_KEY
from qnom.engine import run_program
from qnom.plan import load_config
from tests.support import PLAN_DATE, settings_for

URNS = json.loads((Path(__file__).parent / "data" / "plan_urns.json").read_text(encoding="utf-8"))

PLANS = {
    **{f"{stack}-phase-{phase}": (stack, phase, {}) for stack in ("dev", "prod") for phase in (1, 2, 3, 4)},
    "prod-phase-4-cutover": ("prod", 4, {"qnom:databaseCutover": True}),
    "prod-phase-4-retired": ("prod", 4, {"qnom:databaseCutover": True, "qnom:retireRegionalCaches": True}),
}
"""The snapshot plans: the committed stack files, in every phase, and the two phase-4 steps after it."""


@pytest.mark.parametrize("plan", sorted(PLANS))
def test_every_plan_keeps_its_urns(plan):
    # A changed type token, name or parent changes a URN, and Pulumi replaces what it names.
    stack, phase, extra = PLANS[plan]
    expected = {f"urn:pulumi:{stack}::qnom::{URNS['urns'][index]}" for index in URNS["plans"][plan]}
    # On the snapshot's day (the suite's plan date): the seasonal windows' actions are named by year.
    run = run_program(stack, {**load_config(stack, phase=str(phase)), PLAN_DATE_KEY: PLAN_DATE.isoformat(), **extra})
    actual = {resource.urn for resource in run.resources}
    assert (sorted(expected - actual), sorted(actual - expected)) == ([], [])
    # Every region: its monitoring and log key; the edge's origin secrets. Phase 3 on: each region's Kubernetes tier (86 resources, 95 with
    # the phase-4 mesh) and the data stores' rules admitting its clusters. Phase 1: the NAT instance, its
    # address, alarm, group and five rules (9) where phase 2 has the NAT gateway and its address (2).
    assert len(actual) == {"dev-phase-1": 204, "dev-phase-2": 271, "dev-phase-3": 932, "dev-phase-4": 983,
                           "prod-phase-1": 225, "prod-phase-2": 296, "prod-phase-3": 991, "prod-phase-4": 1042,
                           "prod-phase-4-cutover": 1057, "prod-phase-4-retired": 1031}[plan]


# Roles -------------------------------------------------------------------------------------------

MEMBERSHIP = DatastoreMembership(global_replication_group_id="ldgnf-qnom-prod-cache", auth_token="token")


def secondary_fields() -> dict:
    return {"primary_data": object(), "primary_vpc_id": "vpc-0primary",
            "db_replica_source_arn": "arn:aws:rds:us-east-1:123456789012:db:us-east-1-db-replica-0",
            "db_master_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:qnom-db-AbCdEf",
            "db_master_secret_name": "qnom-db"}


def test_primary_args_refuse_a_secondary_catalog_entry():
    settings = settings_for("prod", 3)
    with pytest.raises(ValueError, match="PrimaryRegionArgs: us-west-2 is a secondary region in the catalog"):
        PrimaryRegionArgs(spec=settings.phase.regions[1], settings=settings, session_secret="s")


def test_secondary_args_refuse_the_primary_catalog_entry():
    settings = settings_for("prod", 3)
    with pytest.raises(ValueError, match="SecondaryRegionArgs: us-east-1 is a primary region in the catalog"):
        SecondaryRegionArgs(spec=settings.phase.primary_region, settings=settings, session_secret="s",
                            **secondary_fields())


@pytest.mark.parametrize(("missing", "message"), [
    ("primary_vpc_id", "'primary_vpc_id'"),
    ("db_replica_source_arn", "'db_replica_source_arn'"),
    ("db_master_secret_arn", "'db_master_secret_arn'"),
    ("db_master_secret_name", "'db_master_secret_name'"),
    ("primary_data", "'primary_data'"),
])
def test_a_secondary_region_needs_what_it_follows(missing, message):
    settings = settings_for("prod", 3)
    fields = {key: value for key, value in secondary_fields().items() if key != missing}
    with pytest.raises(TypeError, match=f"missing 1 required keyword-only argument: {message}"):
        SecondaryRegionArgs(spec=settings.phase.regions[1], settings=settings, session_secret="s", **fields)


@pytest.mark.parametrize("field", ["db_replica_source_arn", "primary_vpc_id", "cache_datastore", "aurora_secondary"])
def test_the_primary_region_follows_nothing(field):
    settings = settings_for("prod", 3)
    with pytest.raises(TypeError, match=f"unexpected keyword argument '{field}'"):
        PrimaryRegionArgs(spec=settings.phase.primary_region, settings=settings, session_secret="s",
                          **{field: "x"})


def test_the_primary_region_replicates_no_secret_onto_a_secondary():
    settings = settings_for("prod", 3)
    with pytest.raises(TypeError, match="unexpected keyword argument 'db_secret_replicas'"):
        SecondaryRegionArgs(spec=settings.phase.regions[1], settings=settings, session_secret="s",
                            db_secret_replicas={}, **secondary_fields())


def test_a_region_without_its_cache_needs_the_datastore_member():
    settings = settings_for("prod", 4, databaseCutover=True, retireRegionalCaches=True)
    spec = settings.phase.regions[1]
    with pytest.raises(ValueError, match="us-west-2 retires its regional cache .* without a cache_datastore"):
        SecondaryRegionArgs(spec=spec, settings=settings, session_secret="s", **secondary_fields())
    assert SecondaryRegionArgs(spec=spec, settings=settings, session_secret="s", cache_datastore=MEMBERSHIP,
                               **secondary_fields()).cache_datastore is MEMBERSHIP


def test_global_memberships_come_whole():
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'engine_version'"):
        AuroraSecondary(global_cluster_id="qnom-prod-db")
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'auth_token'"):
        DatastoreMembership(global_replication_group_id="ldgnf-qnom-prod-cache")


@pytest.mark.parametrize("component", [Region, Database, Cache, Peering])
def test_a_component_takes_only_its_mode_types(component):
    # Refused before anything is registered: no engine runs here.
    with pytest.raises(TypeError, match=f"test: {component.__name__}Args is .* got dict"):
        component("test", {"spec": None})
