"""Modes are types: what the regions and their data tier are built from, and what they name.

`Region`, `Database`, `Cache` and `Peering` take one args type per mode. These tests check that a
region's args cannot mix the two roles, that every plan keeps the URNs it had before the modes
became types (`tests/data/plan_urns.json`), and that each of the four components registers
exactly the outputs its class declares.
"""

from __future__ import annotations

import inspect
import json
import textwrap
import types
import typing
from pathlib import Path

import pulumi
import pytest

from components.cache import Cache, DatastoreMembership
from components.database import AuroraSecondary, Database
from components.peering import Peering
from components.region import PrimaryRegionArgs, Region, SecondaryRegionArgs
from qnom.engine import PROJECT_DIR, run_program
from qnom.plan import load_config
from tests.support import settings_for, stack_config

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
    run = run_program(stack, {**load_config(stack, phase=str(phase)), **extra})
    actual = {resource.urn for resource in run.resources}
    assert (sorted(expected - actual), sorted(actual - expected)) == ([], [])
    assert len(actual) == {"dev-phase-1": 153, "dev-phase-2": 214, "dev-phase-3": 499, "dev-phase-4": 521,
                           "prod-phase-1": 170, "prod-phase-2": 235, "prod-phase-3": 546, "prod-phase-4": 568,
                           "prod-phase-4-cutover": 583, "prod-phase-4-retired": 559}[plan]


# Roles -------------------------------------------------------------------------------------------

MEMBERSHIP = DatastoreMembership(global_replication_group_id="ldgnf-qnom-prod-cache", auth_token="token")


def secondary_fields() -> dict:
    return {"primary_data": object(), "primary_vpc_id": "vpc-0primary",
            "db_replica_source_arn": "arn:aws:rds:us-east-1:123456789012:db:us-east-1-db-replica-0",
            "db_master_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:qnom-db-AbCdEf"}


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


# Outputs -----------------------------------------------------------------------------------------

RECORDING_PROGRAM = textwrap.dedent('''
    import runpy

    import pulumi

    registered = {}
    original = pulumi.ComponentResource.register_outputs


    def record(self, outputs):
        registered[f"{type(self).__name__}/{self._name}"] = sorted(outputs or {})
        original(self, outputs)


    pulumi.ComponentResource.register_outputs = record
    try:
        runpy.run_path(MAIN, run_name="__main__")
    finally:
        pulumi.ComponentResource.register_outputs = original
    pulumi.export("registeredOutputKeys", registered)
''')


@pytest.fixture(scope="module")
def registered_keys(tmp_path_factory) -> dict[str, list[str]]:
    # Prod phase 4 after the cut-over has every mode of the four: both roles of a region, a writer
    # and followers with Aurora, standalone groups (one leading the datastore) and members, and
    # both sides of each peering.
    program = tmp_path_factory.mktemp("registered-outputs") / "program.py"
    program.write_text(RECORDING_PROGRAM.replace("MAIN", repr(str(PROJECT_DIR / "__main__.py"))))
    run = run_program("prod", stack_config("prod", 4, databaseCutover=True), program=program)
    return run.outputs["registeredOutputKeys"]


def _is_output_value(hint) -> bool:
    """Whether an annotation types a value the component exports (an Output, or plain data made of
    them), not a handle on a child resource or a wiring record."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return all(_is_output_value(arg) for arg in typing.get_args(hint) if arg is not type(None))
    origin = typing.get_origin(hint)
    if origin is pulumi.Output or hint in (str, int, bool, float):
        return True
    if origin in (list, dict):
        return _is_output_value(typing.get_args(hint)[-1])
    return False


def output_attributes(component: type) -> list[str]:
    hints = inspect.get_annotations(component, eval_str=True)
    return sorted(name for name, hint in hints.items() if _is_output_value(hint))


@pytest.mark.parametrize(("component", "instances", "outputs"), [
    (Region, 3, ["alb_dns_name", "api_asg_name", "availability_zones", "vpc_id"]),
    (Database, 3, ["aurora_arn", "aurora_endpoint", "aurora_engine_version", "aurora_master_secret_arn",
                   "aurora_reader_endpoint", "endpoint", "kms_key_arn", "master_secret_arn", "port",
                   "primary_arn", "rds_master_secret_arn", "read_endpoints", "reader_endpoints", "replica_arns",
                   "security_group_id", "writer_endpoint"]),
    (Cache, 5, ["auth_secret_arn", "auth_token", "kms_key_arn", "port", "primary_endpoint", "reader_endpoint",
                "replication_group_arn", "replication_group_id", "security_group_id"]),
    (Peering, 4, ["connection_id"]),
])
def test_registered_outputs_are_the_typed_attributes(registered_keys, component, instances, outputs):
    assert output_attributes(component) == outputs
    recorded = {name: keys for name, keys in registered_keys.items() if name.startswith(f"{component.__name__}/")}
    assert len(recorded) == instances
    assert {name: outputs for name in recorded} == recorded
