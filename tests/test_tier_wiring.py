"""How the tiers meet inside a region: the data stores admit only the app tiers' security
groups (the database also its master secrets' rotation function; from phase 3, the primary's
database and cache also the secondary regions' app subnets, by CIDR, on their one port), and
the workers consume the data tier's queue."""

from __future__ import annotations

import pytest

from tests.support import build

INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
GROUP = "aws:ec2/securityGroup:SecurityGroup"


# The secondary regions' private (app) subnets, /20 numbers 3-5 of their /16s: from phase 3 their
# API instances write to the primary's database and cache over the VPC peering.
PEERED_APP_SUBNETS = {
    "us-west-2-private-0": "10.20.48.0/20", "us-west-2-private-1": "10.20.64.0/20",
    "us-west-2-private-2": "10.20.80.0/20",
    "eu-west-1-private-0": "10.30.48.0/20", "eu-west-1-private-1": "10.30.64.0/20",
    "eu-west-1-private-2": "10.30.80.0/20",
}
PORTS = {"db": 5432, "cache": 6379, "search": 443}


@pytest.mark.parametrize(("phase", "clients", "peered"), [
    (1, {"api"}, {}), (2, {"api", "workers"}, {}),
    # Phase 3 on: the region's Kubernetes cluster (its security group, on every node) too.
    (3, {"api", "workers", "kubernetes"}, PEERED_APP_SUBNETS), (4, {"api", "workers", "kubernetes"}, PEERED_APP_SUBNETS),
])
@pytest.mark.parametrize("store", ["db", "cache", "search"])
def test_data_stores_admit_only_the_app_tiers(phase, clients, peered, store):
    plan = build("prod", phase)
    if store == "search" and phase < 3:
        assert not [r for r in plan.resources if r.name == "us-east-1-search"]
        return
    app_groups = {"api": plan.named("us-east-1-api-instances", GROUP).urn}
    if "workers" in clients:
        app_groups["workers"] = plan.named("us-east-1-workers-instances", GROUP).urn
    if "kubernetes" in clients:
        app_groups["kubernetes"] = plan.named("us-east-1-k8s-cluster", "aws:eks/cluster:Cluster").urn
    if store == "db":
        # And the master secrets' rotation function, which logs in to change the password.
        clients = clients | {"rotation"}
        app_groups["rotation"] = plan.named("us-east-1-db-rotation-sg", GROUP).urn
    store_group = plan.named(f"us-east-1-{store}-sg", GROUP)
    rules = [r for r in plan.of_type(INGRESS) if r.dependencies.get("securityGroupId") == [store_group.urn]]
    by_group = [r for r in rules if "referencedSecurityGroupId" in r.inputs]
    by_cidr = [r for r in rules if "referencedSecurityGroupId" not in r.inputs]
    assert {rule.name.rsplit("-from-", 1)[1] for rule in by_group} == clients
    for rule in by_group:
        client = rule.name.rsplit("-from-", 1)[1]
        assert rule.dependencies["referencedSecurityGroupId"] == [app_groups[client]]
        assert "cidrIpv4" not in rule.inputs and "cidrIpv6" not in rule.inputs
    # Search is read and written from the primary region only: no peered subnet reaches it.
    expected = {} if store == "search" else peered
    peers = {rule.name.split(f"us-east-1-{store}-sg-from-", 1)[1]: rule.inputs["cidrIpv4"] for rule in by_cidr}
    assert peers == expected
    for rule in by_cidr:
        port = PORTS[store]
        assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", port, port)
        assert not {"cidrIpv6", "prefixListId"} & set(rule.inputs)


def test_adding_workers_leaves_the_api_rule_alone():
    before = {r.urn: r.inputs for r in build("prod", 1).of_type(INGRESS) if "-db-sg-from-" in r.name}
    after = {r.urn: r.inputs for r in build("prod", 2).of_type(INGRESS) if "-db-sg-from-" in r.name}
    assert set(before) < set(after)
    assert len(after) == 3  # the API, the workers and the rotation function


def test_workers_consume_the_data_tiers_queue():
    plan = build("prod", 2)
    queue = plan.named("us-east-1-queue-main", "aws:sqs/queue:Queue")
    group = plan.named("us-east-1-workers-asg", "aws:autoscaling/group:Group")
    assert group.inputs["minSize"] == 1 and group.inputs["maxSize"] == 4
    consuming = [r for r in plan.resources if queue.urn in {u for urns in r.dependencies.values() for u in urns}
                 and "workers" in r.urn]
    assert consuming, "no worker resource reads the queue"
    assert not [r for r in build("prod", 1).resources if "Workers" in r.type]
