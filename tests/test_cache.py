"""The Cache component: one ElastiCache replication group, sized per phase, encrypted, client-only."""

from __future__ import annotations

import textwrap

import pydantic
import pytest

from phases.models import Cache
from qnom.engine import run_program
from tests.support import build

GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def source_names(resource, prop: str) -> list[str]:
    return sorted(urn.rsplit("::", 1)[1] for urn in resource.dependencies.get(prop, []))


@pytest.mark.parametrize(("phase", "node_type", "nodes", "failover"), [
    (1, "cache.t3.micro", 1, False),
    (2, "cache.r5.large", 2, True),
    (3, "cache.r5.large", 3, True),
    (4, "cache.r5.large", 3, True),
])
def test_phase_sizes_the_cache(phase, node_type, nodes, failover):
    group = build("prod", phase).named("us-east-1-cache-group", GROUP)
    assert group.inputs["nodeType"] == node_type
    assert group.inputs["numCacheClusters"] == nodes
    assert group.inputs["automaticFailoverEnabled"] is failover
    # Multi-AZ wherever failover is on (AWS accepts it only together with failover).
    assert group.inputs["multiAzEnabled"] is failover


def test_every_phase_keeps_the_primary_regions_single_replication_group():
    groups = {phase: sorted(r.name for r in build("prod", phase).of_type(GROUP)) for phase in (1, 2, 3, 4)}
    assert groups[1] == groups[2] == ["us-east-1-cache-group"]
    # Secondary regions bring their own caches (phase 3) and the global datastore's members (phase 4).
    assert groups[3] == ["eu-west-1-cache-group", "us-east-1-cache-group", "us-west-2-cache-group"]
    assert groups[4] == ["eu-west-1-cache-global-group", "eu-west-1-cache-group", "us-east-1-cache-group",
                         "us-west-2-cache-global-group", "us-west-2-cache-group"]
    urns = {build("prod", phase).named("us-east-1-cache-group", GROUP).urn for phase in (1, 2, 3, 4)}
    assert len(urns) == 1
    assert not build("prod", 4).of_type("aws:elasticache/cluster:Cluster")


def test_cache_is_encrypted_at_rest_and_in_transit_with_an_auth_token():
    plan = build("prod", 2)
    group = plan.named("us-east-1-cache-group", GROUP)
    assert group.inputs["atRestEncryptionEnabled"] is True
    assert source_names(group, "kmsKeyId") == ["us-east-1-cache-key"]
    assert group.inputs["transitEncryptionEnabled"] is True
    assert group.inputs["authToken"] == "[secret]"
    assert source_names(group, "authToken") == ["us-east-1-cache-auth-token"]
    key = plan.named("us-east-1-cache-key")
    assert key.inputs["enableKeyRotation"] is True and key.options["protect"] is True


def test_auth_token_is_kept_in_secrets_manager_and_never_in_clear_text():
    plan = build("prod", 2)
    token = plan.named("us-east-1-cache-auth-token", "random:index/randomPassword:RandomPassword")
    assert token.inputs["length"] == 64 and token.inputs["special"] is False
    secret = plan.named("us-east-1-cache-auth-token", "aws:secretsmanager/secret:Secret")
    assert source_names(secret, "kmsKeyId") == ["us-east-1-cache-key"]
    version = plan.named("us-east-1-cache-auth-token", "aws:secretsmanager/secretVersion:SecretVersion")
    assert version.inputs["secretString"] == "[secret]"
    assert source_names(version, "secretId") == ["us-east-1-cache-auth-token"]


def test_cache_shape_never_changes_across_phases():
    for phase in (1, 2, 3, 4):
        group = build("prod", phase).named("us-east-1-cache-group", GROUP)
        assert (group.inputs["engine"], group.inputs["engineVersion"]) == ("redis", "7.1")
        assert group.inputs["clusterMode"] == "disabled"
        assert group.inputs["port"] == 6379
        assert source_names(group, "subnetGroupName") == ["us-east-1-cache-subnets"]


def test_parameter_group_suits_session_storage():
    params = build("prod", 1).named("us-east-1-cache-params")
    assert params.inputs["family"] == "redis7"
    assert params.inputs["parameters"] == [{"name": "maxmemory-policy", "value": "volatile-lru"}]


@pytest.mark.parametrize(("environment", "retention", "final_snapshot", "protected"), [
    ("prod", 7, True, True),
    ("dev", 1, False, False),
])
def test_snapshots_follow_the_environment(environment, retention, final_snapshot, protected):
    group = build(environment, 2).named("us-east-1-cache-group", GROUP)
    assert group.inputs["snapshotRetentionLimit"] == retention
    assert ("finalSnapshotIdentifier" in group.inputs) is final_snapshot
    assert group.options["protect"] is protected


def test_cache_lives_in_the_isolated_subnets_and_logs_to_cloudwatch():
    plan = build("prod", 3)
    subnets = source_names(plan.named("us-east-1-cache-subnets"), "subnetIds")
    assert subnets == [f"us-east-1-network-isolated-us-east-1{zone}" for zone in "abc"]
    group = plan.named("us-east-1-cache-group", GROUP)
    assert sorted(c["logType"] for c in group.inputs["logDeliveryConfigurations"]) == ["engine-log", "slow-log"]
    assert source_names(group, "logDeliveryConfigurations") == ["us-east-1-cache-logs"]
    assert plan.named("us-east-1-cache-logs").inputs["retentionInDays"] == 365


COMPONENT_PROGRAM = textwrap.dedent('''
    import pulumi
    import pulumi_aws as aws

    from components.data.cache import Cache, StandaloneCacheArgs
    from phases.catalog import load_phase
    from phases.environment import PROFILES

    provider = aws.Provider("aws-us-east-1", aws.ProviderArgs(region="us-east-1"))
    Cache("us-east-1-cache", StandaloneCacheArgs(
        spec=load_phase(3).cache,
        node_count=3,
        vpc_id="vpc-stub",
        subnet_ids=["subnet-a", "subnet-b", "subnet-c"],
        profile=PROFILES["prod"],
        client_security_groups={"api": "sg-api-stub", "workers": "sg-workers-stub"},
    ), pulumi.ResourceOptions(providers={"aws": provider}))
''')


def test_only_the_client_tiers_reach_the_cache(tmp_path):
    program = tmp_path / "program.py"
    program.write_text(COMPONENT_PROGRAM)
    run = run_program("prod", {"aws:region": "us-east-1"}, program=program)
    rules = [r for r in run.resources if r.type == INGRESS]
    assert sorted(r.inputs["referencedSecurityGroupId"] for r in rules) == ["sg-api-stub", "sg-workers-stub"]
    for rule in rules:
        assert (rule.inputs["fromPort"], rule.inputs["toPort"]) == (6379, 6379)
        assert not {"cidrIpv4", "cidrIpv6", "prefixListId"} & set(rule.inputs)
    group = next(r for r in run.resources if r.type == GROUP)
    sg = next(r for r in run.resources if r.type == "aws:ec2/securityGroup:SecurityGroup")
    assert group.dependencies["securityGroupIds"] == [sg.urn]


@pytest.mark.parametrize(("change", "message"), [
    ({"engine_version": "6.2"}, "engine_version (6.2) must be 7 or newer"),
    ({"global_datastore": True, "node_type": "cache.t3.micro"}, "global_datastore needs an M5/R5-or-newer node_type"),
    ({"global_datastore": True, "node_type": "cache.r4.large"}, "global_datastore needs an M5/R5-or-newer node_type"),
    ({"global_datastore": True, "node_type": "cache.m5.medium"},
     "global_datastore needs a node_type of size large or above, got cache.m5.medium"),
    ({"maxmemory_policy": "noeviction"}, "Input should be"),
])
def test_cache_validation(change, message):
    document = {"engine": "redis", "engine_version": "7.1", "node_type": "cache.r5.large",
                "automatic_failover": True, **change}
    with pytest.raises(pydantic.ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Cache.model_validate(document)


@pytest.mark.parametrize("node_type", ["cache.r5.large", "cache.m6g.large", "cache.r7g.xlarge"])
def test_global_datastore_accepts_current_node_families(node_type):
    assert Cache(engine_version="7.1", node_type=node_type, automatic_failover=True,
                 global_datastore=True).node_type == node_type


MEMBER_PROGRAM = textwrap.dedent('''
    import pulumi
    import pulumi_aws as aws

    from components.data.cache import Cache, DatastoreMembership, MemberCacheArgs
    from phases.catalog import load_phase
    from phases.environment import PROFILES

    provider = aws.Provider("aws-us-west-2", aws.ProviderArgs(region="us-west-2"))
    Cache("us-west-2-cache-global", MemberCacheArgs(
        spec=load_phase(4).cache,
        node_count=2,
        vpc_id="vpc-stub",
        subnet_ids=["subnet-a", "subnet-b", "subnet-c"],
        profile=PROFILES["prod"],
        client_security_groups={"api": "sg-api-stub"},
        datastore=DatastoreMembership(
            global_replication_group_id="ldgnf-qnom-prod-cache",
            auth_token=pulumi.Output.secret("token-of-the-primary-0123456789")),
    ), pulumi.ResourceOptions(providers={"aws": provider}))
''')


@pytest.fixture(scope="module")
def member_run(tmp_path_factory):
    program = tmp_path_factory.mktemp("cache-member") / "program.py"
    program.write_text(MEMBER_PROGRAM)
    return run_program("prod", {"aws:region": "us-west-2"}, program=program)


def test_member_takes_what_the_datastore_decides_from_it(member_run):
    group = next(r for r in member_run.resources if r.type == GROUP)
    assert group.inputs["globalReplicationGroupId"] == "ldgnf-qnom-prod-cache"
    assert group.inputs["numCacheClusters"] == 2
    assert group.inputs["automaticFailoverEnabled"] is True and group.inputs["multiAzEnabled"] is True
    # The provider refuses these beside global_replication_group_id: AWS copies them from the datastore.
    assert not {"engine", "engineVersion", "nodeType", "parameterGroupName", "clusterMode", "port",
                "atRestEncryptionEnabled", "transitEncryptionEnabled", "transitEncryptionMode", "numNodeGroups",
                "snapshotName", "snapshotArns"} & set(group.inputs)
    # A member is a copy of the primary: no snapshots of its own.
    assert not {"snapshotRetentionLimit", "finalSnapshotIdentifier"} & set(group.inputs)
    assert group.options["protect"] is True


def test_member_is_encrypted_with_its_own_regions_key_and_carries_the_primarys_token(member_run):
    by_type = {}
    for resource in member_run.resources:
        by_type.setdefault(resource.type, []).append(resource)
    group = by_type[GROUP][0]
    key = by_type["aws:kms/key:Key"][0]
    assert group.dependencies["kmsKeyId"] == [key.urn]
    assert member_run.region_of(key) == member_run.region_of(group) == "us-west-2"
    assert group.inputs["authToken"] == "[secret]"
    # No token of its own, and no parameter group: the datastore supplies one.
    assert "random:index/randomPassword:RandomPassword" not in by_type
    assert "aws:elasticache/parameterGroup:ParameterGroup" not in by_type
    version = by_type["aws:secretsmanager/secretVersion:SecretVersion"][0]
    assert version.inputs["secretString"] == "[secret]"
    assert by_type["aws:secretsmanager/secret:Secret"][0].dependencies["kmsKeyId"] == [key.urn]
    rules = by_type[INGRESS]
    assert [(r.inputs["referencedSecurityGroupId"], r.inputs["fromPort"]) for r in rules] == [("sg-api-stub", 6379)]


def test_primary_leaves_node_type_version_and_parameters_to_the_datastore_from_phase_4():
    ignored = {phase: build("prod", phase).named("us-east-1-cache-group", GROUP).options["ignoreChanges"]
               for phase in (3, 4)}
    assert ignored == {3: [], 4: ["engine", "engineVersion", "nodeType", "parameterGroupName"]}


# Modes are types: a standalone group and a datastore member cannot be mixed ----------------------

def placement() -> dict:
    from phases.catalog import load_phase
    from phases.environment import PROFILES

    return {"spec": load_phase(4).cache, "node_count": 2, "vpc_id": "vpc-stub",
            "subnet_ids": ["subnet-a", "subnet-b", "subnet-c"], "profile": PROFILES["prod"]}


@pytest.mark.parametrize(("mode", "fields", "message"), [
    # A standalone group generates its own token and joins nothing.
    ("standalone", {"global_replication_group_id": "ldgnf-qnom-prod-cache"},
     "unexpected keyword argument 'global_replication_group_id'"),
    ("standalone", {"auth_token": "token"}, "unexpected keyword argument 'auth_token'"),
    ("standalone", {"datastore": None}, "unexpected keyword argument 'datastore'"),
    # A member takes what the datastore decides: it cannot lead one, and it must name one.
    ("member", {"global_primary": True}, "unexpected keyword argument 'global_primary'"),
    ("member", {}, "missing 1 required keyword-only argument: 'datastore'"),
])
def test_standalone_and_member_cannot_be_mixed(mode, fields, message):
    from components.data.cache import DatastoreMembership, MemberCacheArgs, StandaloneCacheArgs

    if mode == "member" and fields:
        fields = {**fields, "datastore": DatastoreMembership("ldgnf-qnom-prod-cache", "token")}
    args_type = {"standalone": StandaloneCacheArgs, "member": MemberCacheArgs}[mode]
    with pytest.raises(TypeError, match=message):
        args_type(**placement(), **fields)
