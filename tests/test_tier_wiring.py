"""How the tiers meet inside a region: the data stores admit only the app tiers' security
groups, and the workers consume the data tier's queue."""

from __future__ import annotations

import pytest

from tests.support import build

INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
GROUP = "aws:ec2/securityGroup:SecurityGroup"


@pytest.mark.parametrize(("phase", "clients"), [(1, {"api"}), (2, {"api", "workers"}), (3, {"api", "workers"})])
@pytest.mark.parametrize("store", ["db", "cache", "search"])
def test_data_stores_admit_only_the_app_tiers(phase, clients, store):
    plan = build("prod", phase)
    if store == "search" and phase < 3:
        assert not [r for r in plan.resources if r.name == "us-east-1-search"]
        return
    app_groups = {"api": plan.named("us-east-1-api-instances", GROUP).urn}
    if "workers" in clients:
        app_groups["workers"] = plan.named("us-east-1-workers-instances", GROUP).urn
    store_group = plan.named(f"us-east-1-{store}-sg", GROUP)
    rules = [r for r in plan.of_type(INGRESS) if r.dependencies.get("securityGroupId") == [store_group.urn]]
    assert {rule.name.rsplit("-from-", 1)[1] for rule in rules} == clients
    for rule in rules:
        client = rule.name.rsplit("-from-", 1)[1]
        assert rule.dependencies["referencedSecurityGroupId"] == [app_groups[client]]
        assert "cidrIpv4" not in rule.inputs and "cidrIpv6" not in rule.inputs


def test_adding_workers_leaves_the_api_rule_alone():
    before = {r.urn: r.inputs for r in build("prod", 1).of_type(INGRESS) if "-db-sg-from-" in r.name}
    after = {r.urn: r.inputs for r in build("prod", 2).of_type(INGRESS) if "-db-sg-from-" in r.name}
    assert set(before) < set(after)
    assert len(after) == 2


def test_workers_consume_the_data_tiers_queue():
    plan = build("prod", 2)
    queue = plan.named("us-east-1-queue-main", "aws:sqs/queue:Queue")
    group = plan.named("us-east-1-workers-asg", "aws:autoscaling/group:Group")
    assert group.inputs["minSize"] == 1 and group.inputs["maxSize"] == 4
    consuming = [r for r in plan.resources if queue.urn in {u for urns in r.dependencies.values() for u in urns}
                 and "workers" in r.urn]
    assert consuming, "no worker resource reads the queue"
    assert not [r for r in build("prod", 1).resources if "Workers" in r.type]
