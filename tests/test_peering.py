"""The private path from the secondary regions to the primary's writer and cache: inter-region VPC
peering (requested in the secondary, accepted in us-east-1), routes in both directions, the secondary
API instances' egress towards us-east-1 and the primary data stores' rules for the secondaries' app
subnets. Single-region phases get none of it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from qnom.engine import run_program
from tests.support import Plan, build, stack_config

CONNECTION = "aws:ec2/vpcPeeringConnection:VpcPeeringConnection"
ACCEPTER = "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter"
ROUTE = "aws:ec2/route:Route"
PEERING = "qnom:components:Peering"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
PROVIDER = "urn:pulumi:prod::qnom::pulumi:providers:aws::aws-{}"
SECONDARIES = (("us-west-2", "10.20.0.0/16"), ("eu-west-1", "10.30.0.0/16"))
PRIMARY_TABLES = ["isolated", "private-us-east-1a", "private-us-east-1b", "private-us-east-1c"]


def sources(resource, prop: str) -> list[str]:
    """Logical names of the resources an input's value comes from."""
    return sorted(urn.rsplit("::", 1)[1] for urn in resource.dependencies.get(prop, []))


def peering_routes(plan: Plan) -> list:
    return [r for r in plan.of_type(ROUTE) if "vpcPeeringConnectionId" in r.inputs]


@pytest.mark.parametrize(("region", "cidr"), SECONDARIES)
def test_secondary_requests_a_peering_with_the_primary_through_its_own_provider(region, cidr):
    plan = build("prod", 3)
    connection = plan.named(f"{region}-peering-us-east-1-connection", CONNECTION)
    assert connection.provider == PROVIDER.format(region)
    assert plan.enclosing_region(connection) == region
    assert connection.parent == plan.named(f"{region}-peering-us-east-1", PEERING).urn
    assert connection.inputs["peerRegion"] == "us-east-1"
    # Inter-region: AWS accepts only in the accepter's region, and the provider refuses auto_accept here.
    assert "autoAccept" not in connection.inputs
    assert sources(connection, "vpcId") == [f"{region}-network-vpc"]
    assert sources(connection, "peerVpcId") == ["us-east-1-network-vpc"]
    assert connection.inputs["tags"] == {"Name": f"{region}-peering-us-east-1"}


@pytest.mark.parametrize(("region", "cidr"), SECONDARIES)
def test_primary_accepts_each_peering_through_its_own_provider(region, cidr):
    plan = build("prod", 3)
    accepter = plan.named(f"us-east-1-peering-{region}-accepter", ACCEPTER)
    assert accepter.provider == PROVIDER.format("us-east-1")
    assert plan.enclosing_region(accepter) == "us-east-1"
    assert accepter.inputs["autoAccept"] is True
    assert sources(accepter, "vpcPeeringConnectionId") == [f"{region}-peering-us-east-1-connection"]


def test_phase_3_has_exactly_two_peerings_to_us_east_1():
    plan = build("prod", 3)
    assert sorted(c.name for c in plan.of_type(CONNECTION)) == [
        "eu-west-1-peering-us-east-1-connection", "us-west-2-peering-us-east-1-connection"]
    assert sorted(a.name for a in plan.of_type(ACCEPTER)) == [
        "us-east-1-peering-eu-west-1-accepter", "us-east-1-peering-us-west-2-accepter"]
    assert sorted(plan.outputs["peeringConnectionIds"]) == ["eu-west-1", "us-west-2"]
    assert set(plan.outputs["peeringConnectionIds"].values()) == {"[unknown]"}  # pcx ids, known after creation


@pytest.mark.parametrize(("region", "cidr"), SECONDARIES)
def test_primary_routes_each_secondary_cidr_from_its_private_and_isolated_tables(region, cidr):
    plan = build("prod", 3)
    routes = {r.name.split(f"us-east-1-peering-{region}-", 1)[1]: r for r in peering_routes(plan)
              if r.name.startswith(f"us-east-1-peering-{region}-")}
    assert sorted(routes) == PRIMARY_TABLES
    for key, route in routes.items():
        assert route.inputs["destinationCidrBlock"] == cidr
        assert sources(route, "routeTableId") == [f"us-east-1-network-{key}"]
        # The accepter's id: these routes are created once the connection is accepted.
        assert sources(route, "vpcPeeringConnectionId") == [f"us-east-1-peering-{region}-accepter"]
        assert route.provider == PROVIDER.format("us-east-1")
        assert not {"gatewayId", "natGatewayId", "transitGatewayId"} & set(route.inputs)


@pytest.mark.parametrize(("region", "cidr"), SECONDARIES)
def test_secondary_routes_the_primary_cidr_from_its_private_tables_only(region, cidr):
    plan = build("prod", 3)
    routes = [r for r in peering_routes(plan) if r.name.startswith(f"{region}-")]
    assert sorted(r.name for r in routes) == [f"{region}-peering-us-east-1-private-{region}{zone}" for zone in "abc"]
    for route in routes:
        zone = route.name.rsplit("-private-", 1)[1]
        assert route.inputs["destinationCidrBlock"] == "10.10.0.0/16"
        assert sources(route, "routeTableId") == [f"{region}-network-private-{zone}"]
        assert sources(route, "vpcPeeringConnectionId") == [f"{region}-peering-us-east-1-connection"]
        assert route.provider == PROVIDER.format(region)


def test_peering_routes_are_exactly_these():
    # 2 secondaries x (4 primary tables + 3 secondary tables); no route goes to a secondary's isolated table.
    routes = peering_routes(build("prod", 3))
    assert len(routes) == 14
    assert not [r for r in routes if "isolated" in r.name and not r.name.startswith("us-east-1-")]


@pytest.mark.parametrize("phase", [3, 4])
def test_every_peering_resource_uses_the_provider_of_the_region_it_hangs_under(phase):
    plan = build("prod", phase)
    components = plan.of_type(PEERING)
    assert sorted(c.name for c in components) == [
        "eu-west-1-peering-us-east-1", "us-east-1-peering-eu-west-1",
        "us-east-1-peering-us-west-2", "us-west-2-peering-us-east-1"]
    for component in components:
        region = component.name.split("-peering-")[0]
        assert plan.enclosing_region(component) == region
        children = plan.children_of(component)
        assert len(children) == (5 if region == "us-east-1" else 4)  # accepter + 4 routes, connection + 3
        for child in children:
            assert child.provider == PROVIDER.format(region), child.urn
            assert plan.region_of(child) == region


SECONDARY_APP_SUBNETS = {
    "us-west-2": ["10.20.48.0/20", "10.20.64.0/20", "10.20.80.0/20"],
    "eu-west-1": ["10.30.48.0/20", "10.30.64.0/20", "10.30.80.0/20"],
}


@pytest.mark.parametrize("phase", [3, 4])
def test_the_only_private_cidr_ingress_is_the_secondary_app_subnets_into_the_primary_db_and_cache(phase):
    plan = build("prod", phase)
    cidr_rules = [r for r in plan.of_type(INGRESS) if "cidrIpv4" in r.inputs and r.inputs["cidrIpv4"] != "0.0.0.0/0"]
    expected = sorted(
        (f"us-east-1-{store}-sg-from-{region}-private-{index}", store, cidr, port)
        for store, port in (("db", 5432), ("cache", 6379))
        for region, cidrs in SECONDARY_APP_SUBNETS.items()
        for index, cidr in enumerate(cidrs))
    assert len(expected) == 12
    found = sorted((r.name, sources(r, "securityGroupId")[0].removeprefix("us-east-1-").removesuffix("-sg"),
                    r.inputs["cidrIpv4"], r.inputs["fromPort"]) for r in cidr_rules)
    assert found == expected
    for rule in cidr_rules:
        assert rule.inputs["ipProtocol"] == "tcp" and rule.inputs["fromPort"] == rule.inputs["toPort"]
        assert rule.provider == PROVIDER.format("us-east-1")


@pytest.mark.parametrize(("region", "own_cidr"), SECONDARIES)
def test_secondary_api_instances_may_reach_the_primary_vpc_on_the_data_ports_only(region, own_cidr):
    plan = build("prod", 3)
    group = plan.named(f"{region}-api-instances", "aws:ec2/securityGroup:SecurityGroup")
    rules = {r.name.removeprefix(f"{region}-api-instances-out-"): r.inputs
             for r in plan.of_type(EGRESS) if r.dependencies.get("securityGroupId") == [group.urn]}
    assert {key: (rule["fromPort"], rule["toPort"], rule["cidrIpv4"]) for key, rule in rules.items()} == {
        "https": (443, 443, "0.0.0.0/0"),
        "postgres": (5432, 5432, own_cidr),
        "redis": (6379, 6379, own_cidr),
        "postgres-us-east-1": (5432, 5432, "10.10.0.0/16"),
        "redis-us-east-1": (6379, 6379, "10.10.0.0/16"),
    }


def test_primary_app_tiers_get_no_egress_towards_the_secondaries():
    plan = build("prod", 3)
    primary = [r.inputs["cidrIpv4"] for r in plan.of_type(EGRESS)
               if r.name.startswith("us-east-1-") and "cidrIpv4" in r.inputs]
    assert sorted(set(primary)) == ["0.0.0.0/0", "10.10.0.0/16"]


@pytest.mark.parametrize("phase", [1, 2])
def test_single_region_phases_get_nothing_new(phase):
    plan = build("prod", phase)
    assert not plan.of_type(CONNECTION) and not plan.of_type(ACCEPTER) and not plan.of_type(PEERING)
    assert not peering_routes(plan)
    assert not [r for r in plan.of_type(INGRESS) if "-private-" in r.name]
    assert not [r for r in plan.of_type(EGRESS) if r.name.endswith("-us-east-1")]
    assert not [r for r in plan.resources if "peering" in r.name]
    assert "peeringConnectionIds" not in plan.outputs


@pytest.mark.parametrize("settings", [{}, {"databaseCutover": True},
                                      {"databaseCutover": True, "retireRegionalCaches": True}])
def test_phase_4_keeps_the_phase_3_peering_exactly(settings):
    def peering_of(plan: Plan) -> dict:
        return {r.urn: (r.parent, r.provider, r.inputs, r.dependencies) for r in plan.resources
                if "-peering-" in r.name or ("-sg-from-" in r.name and "-private-" in r.name)
                or r.name.endswith(("-out-postgres-us-east-1", "-out-redis-us-east-1"))}

    before, after = peering_of(build("prod", 3)), peering_of(build("prod", 4, **settings))
    assert len(before) == 4 + 2 + 2 + 14 + 12 + 4  # components, connections, accepters, routes, rules, egress
    assert after == before


# The component in isolation: literal ids in, literal inputs out.
PROGRAM = textwrap.dedent('''
    import pulumi

    from components.network.peering import AccepterPeeringArgs, Peering, RequesterPeeringArgs

    mode = pulumi.Config("test").require("mode")
    if mode == "requester":
        side = Peering("test-peering", RequesterPeeringArgs(
            peer_region="us-east-1", peer_cidr="10.10.0.0/16",
            route_table_ids={"private-b": "rtb-0b", "private-a": "rtb-0a"},
            vpc_id="vpc-0requester", peer_vpc_id="vpc-0accepter"))
    else:
        side = Peering("test-peering", AccepterPeeringArgs(
            peer_region="us-west-2", peer_cidr="10.20.0.0/16",
            route_table_ids={"isolated": "rtb-0i"}, connection_id="pcx-0123456789abcdef0"))
    pulumi.export("connectionId", side.connection_id)
''')


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("peering") / "peering_program.py"
    path.write_text(PROGRAM)
    return path


def run(program: Path, mode: str) -> Plan:
    config = stack_config("dev", 3)
    config["test:mode"] = mode
    return Plan(run_program("dev", config, program))


def test_requester_side_in_isolation(program):
    plan = run(program, "requester")
    [connection] = plan.of_type(CONNECTION)
    assert connection.name == "test-peering-connection"
    assert connection.inputs == {"vpcId": "vpc-0requester", "peerVpcId": "vpc-0accepter", "peerRegion": "us-east-1",
                                 "tags": {"Name": "test-peering"}}
    assert not plan.of_type(ACCEPTER)
    routes = plan.of_type(ROUTE)
    assert [(r.name, r.inputs["routeTableId"], r.inputs["destinationCidrBlock"]) for r in routes] == [
        ("test-peering-private-a", "rtb-0a", "10.10.0.0/16"), ("test-peering-private-b", "rtb-0b", "10.10.0.0/16")]
    assert all(r.dependencies["vpcPeeringConnectionId"] == [connection.urn] for r in routes)


def test_accepter_side_in_isolation(program):
    plan = run(program, "accepter")
    [accepter] = plan.of_type(ACCEPTER)
    assert accepter.name == "test-peering-accepter"
    assert accepter.inputs == {"vpcPeeringConnectionId": "pcx-0123456789abcdef0", "autoAccept": True,
                               "tags": {"Name": "test-peering"}}
    assert not plan.of_type(CONNECTION)
    [route] = plan.of_type(ROUTE)
    assert (route.name, route.inputs["routeTableId"], route.inputs["destinationCidrBlock"]) == (
        "test-peering-isolated", "rtb-0i", "10.20.0.0/16")
    assert route.dependencies["vpcPeeringConnectionId"] == [accepter.urn]


@pytest.mark.parametrize(("mode", "fields", "message"), [
    # A requester without the peer's VPC, an accepter without the connection: required by the type.
    ("requester", {"vpc_id": "vpc-0requester"}, "missing 1 required keyword-only argument: 'peer_vpc_id'"),
    ("accepter", {}, "missing 1 required keyword-only argument: 'connection_id'"),
    # Half of one side and half of the other cannot be built.
    ("requester", {"vpc_id": "vpc-0requester", "peer_vpc_id": "vpc-0accepter",
                   "connection_id": "pcx-0123456789abcdef0"}, "unexpected keyword argument 'connection_id'"),
    ("accepter", {"connection_id": "pcx-0123456789abcdef0", "vpc_id": "vpc-0requester"},
     "unexpected keyword argument 'vpc_id'"),
])
def test_the_two_sides_cannot_be_mixed(mode, fields, message):
    from components.network.peering import AccepterPeeringArgs, RequesterPeeringArgs

    side = {"requester": RequesterPeeringArgs, "accepter": AccepterPeeringArgs}[mode]
    with pytest.raises(TypeError, match=message):
        side(peer_region="us-east-1", peer_cidr="10.10.0.0/16", route_table_ids={}, **fields)
