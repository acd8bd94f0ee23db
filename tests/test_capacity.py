"""`qnom capacity`: the seed's capacity model at 500, 5,000, 50,000 and 500,000 users, and the
comparison with a stack. Catalog only: no program runs."""

from __future__ import annotations

import json

import pytest

from qnom.capacity import catalog_phases, recommended_phase
from tests.support import run_cli


def _capacity(capsys, *args: str) -> dict:
    result = run_cli(capsys, "capacity", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize(("users", "phase", "per_second", "instances", "connections", "binding"), [
    # users x 50 requests a day / 86,400 s x 5 (Black Friday); 1000 requests a minute per instance,
    # split 50/25/25 from phase 3; pools at DB_POOL_MAX for every app instance.
    (500, 1, 1.4, {"us-east-1": 1}, 156, "activeConnections"),
    (5_000, 2, 14.5, {"us-east-1": 1}, 128, "activeConnections"),
    (50_000, 3, 144.7, {"us-east-1": 5, "us-west-2": 3, "eu-west-1": 3}, 300, "activeConnections"),
    (500_000, 4, 1446.8, {"us-east-1": 44, "us-west-2": 22, "eu-west-1": 22}, 432, "cpuUtilization"),
])
def test_recommendations(capsys, users, phase, per_second, instances, connections, binding):
    document = _capacity(capsys, "--users", str(users))
    assert document["phase"] == phase
    assert document["requestsPerSecond"] == per_second
    assert document["instancesPerRegion"] == instances
    assert document["dbConnections"] == connections
    assert document["bindingKpi"] == binding
    assert document["assumptions"]["requestsPerUserPerDay"] == 50
    assert document["assumptions"]["peakFactor"] == 5.0
    assert document["assumptions"]["cpuTargetPercent"] == 60


def test_500k_users_run_phase_4_at_52_percent_cpu(capsys):
    cpu = {kpi["name"]: kpi for kpi in _capacity(capsys, "--users", "500000")["kpis"]}["cpuUtilization"]
    # 43,402 requests a minute in us-east-1 over its 50 instances, at 60% per 1000 requests a minute.
    assert (cpu["value"], cpu["target"], cpu["critical"]) == (52.1, 60, 80)


@pytest.mark.parametrize(("users", "phase"), [(0, 1), (999, 1), (1_000, 2), (9_999, 2), (10_000, 3),
                                              (99_999, 3), (100_000, 4), (10_000_000, 4)])
def test_the_phase_follows_the_seed_user_ranges(users, phase):
    assert recommended_phase(users, catalog_phases()).number == phase


def test_a_stack_below_the_recommendation_is_not_enough(capsys):
    document = _capacity(capsys, "--users", "50000", "--stack", "prod")
    stack = document["stack"]
    assert (stack["phase"], stack["recommendedPhase"], stack["matches"], stack["enough"]) == (2, 3, False, False)
    # The same peak on phase 2's single region: ceil(144.7 x 60 / 1000) = 9 instances, the group stops at 6.
    assert stack["apiShort"] == {"us-east-1": {"needed": 9, "max": 6}}


def test_peak_factor_and_requests_per_user_are_parameters(capsys):
    document = _capacity(capsys, "--users", "50000", "--requests-per-user", "100", "--peak-factor", "2")
    assert document["requestsPerSecond"] == 115.7
    assert document["assumptions"]["peakFactor"] == 2.0


@pytest.mark.parametrize("argument", [["--users", "0"], ["--users", "many"], ["--users", "5", "--peak-factor", "-1"]])
def test_bad_numbers_exit_2(capsys, argument):
    with pytest.raises(SystemExit) as stopped:
        run_cli(capsys, "capacity", *argument)
    assert stopped.value.code == 2
