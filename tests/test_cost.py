"""`qnom cost`: fixed monthly cost per resource, component and region from the dated price table.

Plans come from `tests.support.build` with the default settings other tests build too; the CLI runs
in-process with `--date 2025-11-01`, so it shares those runs.
"""

from __future__ import annotations

import json
import re
from functools import cache

import pytest

import qnom.cost as cost
from qnom import mocks
from qnom.cost import PriceMissing, cost_document, price_table
from tests.support import build, run_cli, settings_for

REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
SNAPSHOTS = [(environment, phase) for environment in ("dev", "prod") for phase in (1, 2, 3, 4)]


@cache
def _document(environment: str, phase: int) -> str:
    return json.dumps(cost_document(build(environment, phase).run, settings_for(environment, phase)))


def document(environment: str, phase: int) -> dict:
    return json.loads(_document(environment, phase))


def resource(doc: dict, name: str, resource_type: str | None = None) -> dict:
    [found] = [item for item in doc["resources"]
               if item["name"] == name and resource_type in (None, item["type"])]
    return found


def test_every_type_the_program_creates_is_priced_usage_based_or_free():
    kinds = price_table()["types"]
    listed = set(kinds["fixed"]) | set(kinds["usage"]) | set(kinds["free"])
    assert not set(kinds["fixed"]) & set(kinds["usage"]) and not set(kinds["fixed"]) & set(kinds["free"])
    created = {record.type for environment, phase in SNAPSHOTS for record in build(environment, phase).resources
               if not record.type.startswith("qnom:components:")}
    assert sorted(created - listed) == []


def test_a_new_type_without_a_price_fails(monkeypatch):
    table = json.loads(json.dumps(price_table()))
    del table["types"]["fixed"]["aws:ec2/instance:Instance"]
    monkeypatch.setattr(cost, "price_table", lambda: table)
    with pytest.raises(PriceMissing, match="does not list aws:ec2/instance:Instance"):
        cost_document(build("dev", 1).run, settings_for("dev", 1))


def test_every_rate_has_a_source_and_a_price_in_every_region():
    table = price_table()
    assert table["as_of"] == "2025-11-01" and table["hours_per_month"] == 730
    for name, entry in table["rates"].items():
        assert entry["source"].startswith("https://aws.amazon.com/"), name
        for key, prices in entry["prices"].items():
            assert sorted(prices) == sorted(REGIONS), (name, key)


@pytest.mark.parametrize(("environment", "phase", "total"), [
    # Phase 1 with its NAT instance ($7.46 with its address and alarm) where a NAT gateway cost $36.50.
    ("prod", 1, 182.20), ("prod", 2, 1188.31), ("prod", 3, 9408.25), ("prod", 4, 15896.45),
    ("dev", 1, 179.50), ("dev", 3, 8896.45),
])
def test_fixed_totals(environment, phase, total):
    doc = document(environment, phase)
    assert doc["total"] == total
    assert round(sum(doc["byComponent"].values()), 2) == total == round(sum(doc["byRegion"].values()), 2)


@pytest.mark.parametrize("phase", [1, 2, 3, 4])
@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_fixed_cost_stays_within_the_phase_budget(environment, phase):
    doc = document(environment, phase)
    assert doc["total"] <= doc["budget"], (doc["total"], doc["budget"])


def test_resources_are_priced_at_their_planned_size():
    one, two = document("prod", 1), document("prod", 2)
    three, four = document("prod", 3), document("prod", 4)
    # 2 x t3.medium x 730 h x $0.0416, and 2 x 20 GiB gp3 x $0.08.
    assert resource(one, "us-east-1-api-asg")["monthly"] == 63.94
    # Phase 1's NAT instance: t4g.nano x 730 h x $0.0042, and 8 GiB gp3 x $0.08; its address.
    nat = resource(one, "us-east-1-network-nat-instance-us-east-1a", "aws:ec2/instance:Instance")
    assert (nat["monthly"], nat["basis"]) == (3.71, "1 x t4g.nano on demand, 8 GiB gp3")
    assert resource(one, "us-east-1-network-nat-instance-us-east-1a", "aws:ec2/eip:Eip")["monthly"] == 3.65
    assert one["byComponent"]["Network"] == 7.46
    assert resource(two, "us-east-1-network-nat-us-east-1a", "aws:ec2/natGateway:NatGateway")["monthly"] == 32.85
    assert resource(two, "us-east-1-network-nat-us-east-1a", "aws:ec2/eip:Eip")["monthly"] == 3.65
    # Multi-AZ db.r5.xlarge: 2 x 730 h x $0.50, and 2 x 100 GiB x $0.115.
    primary = resource(three, "us-east-1-db-primary")
    assert (primary["monthly"], primary["basis"]) == (753.0, "2 x db.r5.xlarge (Multi-AZ), 100 GiB gp3")
    # eu-west-1's own prices: 5 x c5.xlarge x 730 h x $0.192 + 5 x 20 GiB x $0.088.
    assert resource(three, "eu-west-1-api-asg")["monthly"] == 709.6
    # Workers: 4 desired, 2 on-demand base, 20% of the other 2 on demand (1), 1 on spot at -60%.
    workers = resource(four, "us-east-1-workers-asg")
    assert workers["basis"].startswith("3 x m5.large on demand + 1 spot at -60%")
    # A global datastore's member takes the catalog's node type.
    assert resource(four, "us-west-2-cache-global-group")["basis"] == "2 x cache.r5.large"
    assert resource(four, "dns-health-us-east-1")["basis"] == "basic + HTTPS + fast interval"


def test_costs_group_by_component_and_region():
    doc = document("prod", 3)
    assert set(doc["byRegion"]) == set(REGIONS)
    assert {"ApiTier", "Database", "Cache", "Search", "Network", "Monitoring", "StackMonitoring",
            "Kubernetes"} <= set(doc["byComponent"])
    assert resource(doc, "monitoring-dashboard")["component"] == "StackMonitoring"


def test_usage_based_items_name_their_assumptions():
    doc = document("prod", 2)  # 10,000 users x 50 requests a day x 30 days
    assert doc["requestsPerMonth"] == 15_000_000
    items = {item["item"]: item for item in doc["usageBased"]}
    assert items["CloudFront HTTPS requests"]["monthly"] == 15.0
    assert "50 a user a day" in items["CloudFront data out"]["assumption"]
    buckets = next(item for name, item in items.items() if name.startswith("aws:s3/bucket:Bucket ("))
    assert buckets["monthly"] is None and buckets["assumption"] == "storage and requests grow with use"
    assert doc["costPerRequestTarget"] == 0.001 and doc["costPerRequest"] < 0.001


def test_a_nat_instance_processes_data_for_free():
    one = {item["item"]: item for item in document("prod", 1)["usageBased"]}
    two = {item["item"]: item for item in document("prod", 2)["usageBased"]}
    assert "NAT gateway data processed" not in one
    assert one["NAT instance data processed"]["monthly"] == 0.0
    # 4 API instances x 1 GB a day x 30 days x $0.045.
    assert two["NAT gateway data processed"]["monthly"] == 5.4


def test_cli_json_compares_two_phases(capsys):
    result = run_cli(capsys, "cost", "--stack", "prod", "--phase", "2", "--compare", "3", "--date", "2025-11-01",
                     "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert {"stack", "phase", "currency", "total", "budget", "byComponent", "byRegion", "resources", "usageBased",
            "priceDate"} <= set(doc)
    assert (doc["stack"], doc["phase"]["number"], doc["compare"]["phase"]["number"]) == ("prod", 2, 3)
    assert doc["delta"]["total"] == round(9408.25 - 1188.31, 2)
    import jsonschema

    from qnom.engine import PROJECT_DIR

    schema = json.loads((PROJECT_DIR / "docs" / "schemas" / "qnom.cost.v1.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, schema)
    assert all({"urn", "monthly", "basis"} <= set(item) for item in doc["resources"])


def test_cli_markdown_fits_a_pull_request_comment(capsys):
    result = run_cli(capsys, "cost", "--stack", "prod", "--phase", "1", "--date", "2025-11-01", "--format",
                     "markdown")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "### qnom cost: prod phase 1 (launch)"
    assert "| **total (fixed)** | $182.20 |" in lines and "| share of budget | 0.91x |" in lines
    assert all(line.count("|") == 3 for line in lines if line.startswith("|"))
    assert re.search(r"On-demand list prices as of 2025-11-01", result.stdout)


def test_cli_refuses_an_unknown_phase(capsys):
    result = run_cli(capsys, "cost", "--stack", "prod", "--phase", "7")
    assert result.returncode == 2 and "qnom:phase" in result.stderr


def test_the_pull_request_workflow_posts_the_markdown_cost():
    import yaml

    from qnom.engine import PROJECT_DIR

    workflow = yaml.safe_load((PROJECT_DIR / ".github" / "workflows" / "pull-request.yml").read_text(encoding="utf-8"))
    job = workflow["jobs"]["cost"]
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    script = "\n".join(step.get("run", "") for step in job["steps"])
    assert "qnom cost --stack \"$stack\" --compare \"$((phase + 1))\" --format markdown >> cost.md" in script
    assert 'gh pr comment "$PR" --repo "$GITHUB_REPOSITORY" --body-file cost.md --edit-last' in script
    assert "secrets." not in yaml.safe_dump(job)


# The cost-optimised profile ---------------------------------------------------------------

@pytest.mark.parametrize(("environment", "phase", "optimised"), [
    ("prod", 1, 149.96), ("prod", 2, 1017.76), ("prod", 3, 7755.99), ("prod", 4, 12361.15), ("dev", 3, 7244.19),
])
def test_both_profiles_are_priced(environment, phase, optimised):
    doc = document(environment, phase)
    assert doc["costProfile"] == "standard" and doc["profiles"]["standard"]["total"] == doc["total"]
    assert doc["profiles"]["optimised"]["total"] == optimised


@pytest.mark.parametrize("phase", [
    2, 3, 4,
])
@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_the_optimised_profile_stays_within_80_percent_of_the_budget(environment, phase):
    assert document(environment, phase)["profiles"]["optimised"]["budgetShare"] <= 0.80


def test_the_optimised_profile_deploys_the_types_it_is_priced_with():
    # The one extra variant of this settings (shared with tests/test_monitoring.py).
    plan = build("dev", 1, alertEmail="oncall@example.com", costProfile="optimised")
    template = plan.named("us-east-1-api-lt").inputs
    assert template["instanceType"] == "t4g.medium"
    assert template["imageId"] == mocks.ARM64_AMI_ID  # Graviton boots the arm64 AL2023 image
    mix = plan.named("us-east-1-api-asg").inputs["mixedInstancesPolicy"]
    assert [item["instanceType"] for item in mix["launchTemplate"]["overrides"]] == [
        "t4g.medium", "c6g.large", "c7g.large"]
    # Half of phase 1's minimum of 2 on demand, the other instance on spot.
    assert mix["instancesDistribution"] == {
        "onDemandBaseCapacity": 1, "onDemandPercentageAboveBaseCapacity": 0,
        "onDemandAllocationStrategy": "prioritized", "spotAllocationStrategy": "capacity-optimized"}
    assert plan.named("us-east-1-db-primary").inputs["instanceClass"] == "db.t4g.medium"
    assert plan.named("us-east-1-cache-group").inputs["nodeType"] == "cache.t4g.micro"
    deployed = cost_document(plan.run, settings_for("dev", 1, alertEmail="oncall@example.com",
                                                    costProfile="optimised"))
    assert deployed["costProfile"] == "optimised"
    assert next(item["basis"] for item in deployed["resources"] if item["name"] == "us-east-1-api-asg") == (
        "1 x t4g.medium on demand + 1 spot at -60%, 20 GiB gp3 each")
    # The same plan priced as deployed, less the e-mail subscriptions (free), equals the standard
    # plan's optimised figure: a profile changes instance types and the API's spot share, nothing else.
    assert deployed["total"] == document("dev", 1)["profiles"]["optimised"]["total"]
    assert deployed["profiles"]["standard"]["total"] == document("dev", 1)["total"]


def test_the_profile_setting_is_validated():
    from phases.settings import SettingsError

    with pytest.raises(SettingsError, match="qnom:costProfile: got 'cheap'; allowed values: standard, optimised"):
        settings_for("dev", 1, costProfile="cheap")


def test_the_kubernetes_tier_is_priced_from_its_nodes():
    doc = document("prod", 3)
    assert resource(doc, "us-east-1-k8s-cluster")["monthly"] == 73.0  # $0.10 an hour, standard support
    system = resource(doc, "us-east-1-k8s-system")
    assert (system["monthly"], system["basis"]) == (round(2 * (0.096 * 730 + 20 * 0.08), 2),
                                                    "2 x m5.large on demand, 20 GiB each")
    # The services' baseline (6 c5.large in each region) split 4/5 spot at -60%, 1/5 on demand.
    spot, on_demand = resource(doc, "us-east-1-k8s-node-pool-spot"), resource(doc, "us-east-1-k8s-node-pool-on-demand")
    assert spot["monthly"] == round(4.8 * 0.085 * 0.4 * 730, 2) and on_demand["monthly"] == round(1.2 * 0.085 * 730, 2)
    assert doc["byComponent"]["Kubernetes"] == 1274.31  # three regions; eu-west-1 at its own prices


def test_the_optimised_profile_prices_the_kubernetes_nodes_at_graviton_rates():
    priced = {item["name"]: item for item in cost._priced(build("prod", 3).run, settings_for("prod", 3), "optimised")
              if item["component"] == "Kubernetes"}
    system = priced["us-east-1-k8s-system"]
    assert (system["monthly"], system["basis"]) == (round(2 * (0.077 * 730 + 20 * 0.08), 2),
                                                    "2 x m6g.large on demand, 20 GiB each")
    # The same 6 baseline nodes on c6g.large: 4/5 spot at -60%, 1/5 on demand; eu-west-1 at its own price.
    spot, on_demand = priced["us-east-1-k8s-node-pool-spot"], priced["us-east-1-k8s-node-pool-on-demand"]
    assert spot["monthly"] == round(4.8 * 0.068 * 0.4 * 730, 2) and on_demand["monthly"] == round(1.2 * 0.068 * 730, 2)
    assert on_demand["basis"] == "1.2 of 6 baseline c6g.large service nodes, on demand"
    assert priced["eu-west-1-k8s-node-pool-on-demand"]["monthly"] == round(1.2 * 0.077 * 730, 2)
    assert round(sum(item["monthly"] for item in priced.values()), 2) == 1067.45  # with the three secrets keys ($1 each)
