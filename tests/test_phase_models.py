"""Cross-field rules of the phase models: each rule has a passing and a failing case."""

from __future__ import annotations

import copy

import pydantic
import pytest

from phases.catalog import phase_document
from phases.models import Phase


def _mutated(number: int, path: str, value) -> dict:
    """Phase `number`'s document with the value at dotted `path` replaced (ints index lists)."""
    document = copy.deepcopy(phase_document(number))
    *parents, last = [int(part) if part.isdigit() else part for part in path.split(".")]
    node = document
    for part in parents:
        node = node[part]
    node[last] = value
    return document


# (phase, path, value, fragment of the expected message); value None means "field removed".
FAILING = [
    (2, "regions.0.api", {"min": 5, "desired": 4, "max": 6}, "min (5) <= desired (4) <= max (6)"),
    (2, "regions.0.api", {"min": 4, "desired": 7, "max": 6}, "min (4) <= desired (7) <= max (6)"),
    (1, "users", {"min": 1000, "max": 1000}, "users.max (1000) must be greater than users.min (1000)"),
    (2, "api.health_check.timeout_seconds", 5, "timeout_seconds (5) must be less than interval_seconds (5)"),
    (2, "api.scaling.scale_up.adjustment", 0, "scale_up.adjustment (0) must be positive"),
    (2, "api.scaling.scale_down.adjustment", 1, "scale_down.adjustment (1) must be negative"),
    (2, "api.scaling.scale_down.cpu_threshold_percent", 70, "must be below scale_up.cpu_threshold_percent (70)"),
    (3, "regions.1.weight", 30, "regions[].weight must sum to 100, got 105"),
    (3, "regions.0.role", "secondary", "exactly one primary, found 0"),
    (3, "regions.1.role", "primary", "exactly one primary, found 2"),
    (3, "regions.1.name", "us-east-1", "regions[].name must be unique"),
    (3, "regions.1.cidr", "10.10.0.0/16", "overlap"),
    (1, "regions.0.cidr", "8.8.0.0/16", "cidr must be a private /16 network"),
    (1, "regions.0.cidr", "10.10.0.0/20", "cidr must be a private /16 network"),
    (2, "regions.0.cache_nodes", 1, "must be >= 2 when cache.automatic_failover is true"),
    (3, "regions.2.db_read_replicas", 0, "a secondary region reads from local replicas"),
    (2, "cache.global_datastore", True, "cache.global_datastore needs at least two regions"),
    (1, "regions.0.api", {"min": 2, "desired": 2, "max": 4}, "api.scaling is required"),
    (2, "schedule.business_hours_capacity", 7, "schedule.business_hours_capacity (7) must be within"),
    (2, "schedule.off_hours_capacity", 3, "schedule.off_hours_capacity (3) must be within"),
    (3, "schedule.off_hours_capacity", 21, "schedule.off_hours_capacity (21) must be within"),
    (2, "schedule.surge_max", 19, "needs 20 instances, above schedule.surge_max (19)"),
    (2, "schedule.surge_max", 5, "schedule.surge_max (5) must be >= regions[0].api.max (6)"),
    (2, "schedule.business_hours_start", "7am", "24-hour HH:MM"),
    (4, "database.aurora.min_acu", 200, "min_acu (200.0) must be <= max_acu (128.0)"),
    (2, "database.max_allocated_storage_gb", 100, "must exceed allocated_storage_gb (100)"),
    (3, "search.instance_count", 4, "instance_count (4) must be a multiple of 3"),
    (1, "cdn.static_default_ttl_seconds", 90000, "must be <= static_max_ttl_seconds (86400)"),
    # Blocks nothing reads are not in the catalog; they arrive with their readers.
    (3, "kubernetes.hpa.min_replicas", 101, "min_replicas (101) must be <= max_replicas (100)"),
    (3, "kubernetes.services.4.calls", ["email-service"], "services[4].calls names unknown services ['email-service']"),
    (3, "kubernetes.services.0.name", "gateway", "services must hold api-gateway"),
    (3, "kubernetes.service_nodes.sizing_instance_type", "r5.large", "sizing_instance_type (r5.large) must be one of"),
    (4, "kubernetes.charts", {name: {"repository": "oci://example.com/charts", "chart": name, "version": "1.0.0"}
                              for name in ("karpenter", "prometheus", "prometheus-adapter")},
     "charts must pin ['istio-base', 'istio-cni', 'istiod', 'ztunnel']"),
    (3, "kubernetes.version", "1.34.1", "String should match pattern"),
    (3, "kubernetes.service_nodes.instance_types", ["c5.large", "c6g.large"],
     "instance_types must share one architecture, got {'c5.large': 'x86_64', 'c6g.large': 'arm64'}"),
    (1, "monitoring.cpu_percent", {"target": 90, "critical": 80},
     "cpu_percent.target (90.0) must be below cpu_percent.critical (80.0)"),
    (1, "budget.warning_ratio", 1.5, "less than or equal to 1"),
    (2, "regions.0.db_read_replicas", 6, "less than or equal to 5"),
    (2, "api.rate_limit_per_5min", 5, "greater than or equal to 10"),
    (1, "environment", "dev", "Extra inputs are not permitted"),
    (1, "egress", {"nat": "instance"}, "egress.instance_type (None) is required when egress.nat is instance"),
    (2, "egress", {"nat": "gateway", "instance_type": "t4g.nano"},
     "egress.instance_type (t4g.nano) is required when egress.nat is instance and refused when it is gateway"),
    (1, "egress", {"nat": "bastion", "instance_type": "t4g.nano"}, "Input should be 'gateway' or 'instance'"),
]

# The same fields set to values that satisfy the rule.
PASSING = [
    (2, "regions.0.api", {"min": 4, "desired": 4, "max": 8}),
    (1, "users", {"min": 0, "max": 1}),
    (2, "api.health_check.timeout_seconds", 4),
    (2, "api.scaling.scale_down.cpu_threshold_percent", 69),
    (3, "regions.1.weight", 25),
    (3, "regions.1.cidr", "10.40.0.0/16"),
    (1, "regions.0.cidr", "172.16.0.0/16"),
    (2, "regions.0.cache_nodes", 2),
    (1, "cache.automatic_failover", False),
    (4, "cache.global_datastore", True),
    (3, "regions.2.db_read_replicas", 1),
    (3, "kubernetes.system_nodes.instance_type", "m6g.large"),  # the node group's AMI type follows it
    (1, "regions.0.api", {"min": 2, "desired": 2, "max": 2}),
    (2, "schedule.business_hours_capacity", 5),
    (2, "schedule.surge_max", 20),
    (4, "database.aurora.min_acu", 128),
    (3, "search.instance_count", 6),
    (1, "cdn.static_default_ttl_seconds", 86400),
    (2, "regions.0.db_read_replicas", 5),
    (2, "api.rate_limit_per_5min", 10),
    (1, "monitoring.cpu_percent", {"target": 60, "critical": 80}),
    (1, "budget.warning_ratio", 0.8),
    (1, "egress", {"nat": "gateway"}),
    (2, "egress", {"nat": "instance", "instance_type": "t4g.micro"}),
]


@pytest.mark.parametrize(("number", "nat", "instance_type"), [
    (1, "instance", "t4g.nano"), (2, "gateway", None), (3, "gateway", None), (4, "gateway", None)])
def test_only_phase_1_egresses_through_a_nat_instance(number, nat, instance_type):
    egress = Phase.model_validate(phase_document(number)).egress
    assert (egress.nat, egress.instance_type) == (nat, instance_type)


@pytest.mark.parametrize(("number", "path", "value", "message"), FAILING,
                         ids=[f"{case[0]}-{case[1]}-{case[2]}" for case in FAILING])
def test_rule_refuses(number, path, value, message):
    with pytest.raises(pydantic.ValidationError) as error:
        Phase.model_validate(_mutated(number, path, value))
    assert message in str(error.value)


@pytest.mark.parametrize(("number", "path", "value"), PASSING,
                         ids=[f"{case[0]}-{case[1]}-{case[2]}" for case in PASSING])
def test_rule_accepts(number, path, value):
    phase = Phase.model_validate(_mutated(number, path, value))
    assert phase.number == number


def test_models_are_frozen():
    phase = Phase.model_validate(phase_document(2))
    with pytest.raises(pydantic.ValidationError):
        phase.api.instance_type = "t3.nano"


def test_off_hours_may_not_exceed_business_hours():
    document = _mutated(2, "schedule.business_hours_capacity", 5)
    document["schedule"]["off_hours_capacity"] = 6
    with pytest.raises(pydantic.ValidationError) as error:
        Phase.model_validate(document)
    assert "off_hours_capacity must be <= schedule.business_hours_capacity" in str(error.value)
    document["schedule"]["off_hours_capacity"] = 5
    assert Phase.model_validate(document).schedule.off_hours_capacity == 5


def test_weekend_never_drops_below_off_hours_floor():
    schedule = Phase.model_validate(phase_document(2)).schedule
    # 6 x 0.5 = 3 is below the off-hours floor of 4.
    assert schedule.weekend_capacity() == 4
