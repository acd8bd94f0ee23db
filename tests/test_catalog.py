"""The four catalog files load and hold the seed's numbers, stated literally."""

from __future__ import annotations

import pytest

from phases.catalog import load_phase


@pytest.fixture(scope="module")
def phases():
    return {number: load_phase(number) for number in (1, 2, 3, 4)}


@pytest.mark.parametrize(("number", "name", "users", "budget"), [
    (1, "launch", (0, 1000), 200),
    (2, "growth", (1000, 10000), 1500),
    (3, "scale", (10000, 100000), 10000),
    (4, "global", (100000, None), 50000),
])
def test_users_and_budget(phases, number, name, users, budget):
    phase = phases[number]
    assert phase.name == name
    assert (phase.users.min, phase.users.max) == users
    assert phase.budget.monthly_usd == budget


@pytest.mark.parametrize(("number", "instance_type", "capacity"), [
    (1, "t3.medium", (2, 2, 2)),
    (2, "t3.large", (4, 4, 6)),
    (3, "c5.xlarge", (10, 10, 20)),
    (4, "c5.xlarge", (26, 26, 50)),
])
def test_api_tier(phases, number, instance_type, capacity):
    phase = phases[number]
    api = phase.primary_region.api
    assert phase.api.instance_type == instance_type
    assert (api.min, api.desired, api.max) == capacity


def test_phase_4_runs_at_least_50_api_instances_across_regions(phases):
    assert sum(region.api.min for region in phases[4].regions) == 50


@pytest.mark.parametrize(("number", "instance_class", "multi_az", "replicas"), [
    (1, "db.t3.medium", False, 0),
    (2, "db.r5.large", False, 1),
    (3, "db.r5.xlarge", True, 2),
    (4, "db.r5.xlarge", True, 2),
])
def test_database(phases, number, instance_class, multi_az, replicas):
    phase = phases[number]
    assert phase.database.instance_class == instance_class
    assert phase.database.multi_az is multi_az
    assert phase.primary_region.db_read_replicas == replicas
    assert phase.database.allocated_storage_gb == 100
    assert phase.database.max_allocated_storage_gb == 1000


def test_aurora_only_in_phase_4(phases):
    assert [phases[n].database.aurora is not None for n in (1, 2, 3, 4)] == [False, False, False, True]


@pytest.mark.parametrize(("number", "node_type", "nodes", "failover", "global_datastore"), [
    (1, "cache.t3.micro", 1, False, False),
    (2, "cache.r5.large", 2, True, False),
    (3, "cache.r5.large", 3, True, False),
    (4, "cache.r5.large", 3, True, True),
])
def test_cache(phases, number, node_type, nodes, failover, global_datastore):
    phase = phases[number]
    assert phase.cache.node_type == node_type
    assert phase.primary_region.cache_nodes == nodes
    assert phase.cache.automatic_failover is failover
    assert phase.cache.global_datastore is global_datastore


def test_multi_region_matches_seed(phases):
    for number in (3, 4):
        regions = phases[number].regions
        assert [(r.name, r.role, r.weight) for r in regions] == [
            ("us-east-1", "primary", 50), ("us-west-2", "secondary", 25), ("eu-west-1", "secondary", 25)]
        assert [(r.db_read_replicas, r.cache_nodes) for r in regions] == [(2, 3), (2, 2), (2, 2)]
    assert [r.api.desired for r in phases[3].regions] == [10, 5, 5]
    for number in (1, 2):
        assert [(r.name, r.role, r.weight) for r in phases[number].regions] == [("us-east-1", "primary", 100)]


def test_region_cidrs_never_change_between_phases(phases):
    cidrs: dict[str, set[str]] = {}
    for phase in phases.values():
        for region in phase.regions:
            cidrs.setdefault(region.name, set()).add(region.cidr)
    assert cidrs == {"us-east-1": {"10.10.0.0/16"}, "us-west-2": {"10.20.0.0/16"}, "eu-west-1": {"10.30.0.0/16"}}


def test_health_check_and_scaling_policies(phases):
    check = phases[2].api.health_check
    assert (check.path, check.interval_seconds, check.timeout_seconds) == ("/health", 5, 4)
    assert (check.healthy_threshold, check.unhealthy_threshold, check.matcher) == (2, 3, "200-399")
    scaling = phases[2].api.scaling
    assert (scaling.scale_up.adjustment, scaling.scale_up.cooldown_seconds, scaling.scale_up.cpu_threshold_percent) \
        == (2, 300, 70)
    assert (scaling.scale_down.adjustment, scaling.scale_down.cooldown_seconds,
            scaling.scale_down.cpu_threshold_percent) == (-1, 600, 30)
    assert scaling.requests_per_target == 1000
    assert phases[1].api.scaling is None


def test_traffic_schedule(phases):
    assert phases[1].schedule is None
    schedule = phases[3].schedule
    assert (schedule.business_hours_start, schedule.off_hours_start) == ("07:00", "20:00")
    assert schedule.weekend_factor == 0.5
    assert [(w.name, w.factor) for w in schedule.seasonal] == [
        ("black-friday", 5.0), ("cyber-monday", 4.0), ("end-of-quarter", 2.0)]
    assert schedule.timezone == "America/New_York"
    # Black Friday multiplies the everyday size of 10 by 5: the seed dashboard's 50.
    assert schedule.seasonal_capacity(schedule.seasonal[0], phases[3].primary_region.api.desired) == 50
    assert schedule.surge_max == 50


def test_workers_queue_and_rate_limit(phases):
    assert phases[1].workers is None and phases[1].queue is None
    assert phases[1].api.rate_limit_per_5min is None
    workers = phases[2].workers
    assert workers.instance_types[0] == "m5.large"
    assert workers.spot_percent == 80
    assert workers.messages_per_worker == 100
    queue = phases[2].queue
    assert (queue.max_receive_count, queue.dlq_retention_seconds, queue.receive_wait_seconds) == (5, 1209600, 20)
    assert phases[2].api.rate_limit_per_5min == 2000


def test_search_and_cdn(phases):
    assert [phases[n].search is not None for n in (1, 2, 3, 4)] == [False, False, True, True]
    assert phases[3].search.instance_count == 3 and phases[3].search.dedicated_master_count == 3
    assert [phases[n].cdn.price_class for n in (1, 2, 3, 4)] == [
        "PriceClass_100", "PriceClass_100", "PriceClass_200", "PriceClass_All"]
    assert phases[1].cdn.static_default_ttl_seconds == 3600


def test_editing_a_loaded_document_leaves_the_catalog_alone():
    from phases.catalog import phase_document

    document = phase_document(3)
    document["regions"][0]["api"]["min"] = 1
    document["schedule"]["seasonal"].clear()
    again = phase_document(3)
    assert again["regions"][0]["api"]["min"] == 10
    assert len(again["schedule"]["seasonal"]) == 3
