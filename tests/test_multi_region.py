"""Regional stacks and cross-region data: what each region holds per phase, that everything under a
secondary `Region` uses that region's provider, cross-region replicas and their keys, the global cache
datastore beside the phase-3 caches, the Aurora global database after the cut-over, and the settings
and catalog rules that guard them."""

from __future__ import annotations

import copy
import re
import textwrap

import pydantic
import pytest

from components.stack_outputs import STACK_OUTPUTS
from phases.catalog import phase_document
from phases.models import Phase
from phases.settings import SettingsError
from qnom.engine import PROJECT_DIR
from tests.support import build, run_cli, settings_for

INSTANCE = "aws:rds/instance:Instance"
CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
DATASTORE = "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup"
GLOBAL_CLUSTER = "aws:rds/globalCluster:GlobalCluster"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECRET = "aws:secretsmanager/secret:Secret"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
SECONDARIES = ("us-west-2", "eu-west-1")
PROVIDER = "urn:pulumi:prod::qnom::pulumi:providers:aws::aws-{}"
PLATFORM = "urn:pulumi:prod::qnom::qnom:components:Platform::platform"


def sources(resource, prop: str) -> list[str]:
    """Logical names of the resources an input's value comes from."""
    return sorted(urn.rsplit("::", 1)[1] for urn in resource.dependencies.get(prop, []))


def region_components(plan) -> list[str]:
    return sorted(r.name for r in plan.of_type("qnom:components:Region"))


@pytest.mark.parametrize(("phase", "regions"), [
    (1, ["us-east-1"]),
    (2, ["us-east-1"]),
    (3, ["eu-west-1", "us-east-1", "us-west-2"]),
    (4, ["eu-west-1", "us-east-1", "us-west-2"]),
])
def test_phase_regions(phase, regions):
    plan = build("prod", phase)
    assert region_components(plan) == regions
    assert sorted(r.inputs["region"] for r in plan.of_type("pulumi:providers:aws")) == regions


@pytest.mark.parametrize(("region", "api_desired", "db_replicas", "cache_nodes"), [
    ("us-east-1", 10, 2, 3),   # seed: us-east-1 10 API, primary + 2 replicas, 3-node cache
    ("us-west-2", 5, 2, 2),    # seed: 5 API, 2 read replicas, 2-node cache
    ("eu-west-1", 5, 2, 2),
])
def test_phase_3_sizes_every_region_from_the_seed(region, api_desired, db_replicas, cache_nodes):
    plan = build("prod", 3)
    assert plan.named(f"{region}-api-asg").inputs["desiredCapacity"] == api_desired
    replicas = [r.name for r in plan.of_type(INSTANCE) if r.name.startswith(f"{region}-db-replica-")]
    assert sorted(replicas) == [f"{region}-db-replica-{i}" for i in range(db_replicas)]
    assert plan.named(f"{region}-cache-group", GROUP).inputs["numCacheClusters"] == cache_nodes


def test_only_the_primary_region_holds_the_writer_queue_storage_and_search():
    plan = build("prod", 3)
    for region in SECONDARIES:
        assert not [r for r in plan.resources if r.name.startswith(f"{region}-")
                    and any(part in r.name for part in ("-db-primary", "-queue", "-workers", "-storage", "-search"))]
    assert plan.named("us-east-1-db-primary", INSTANCE)
    assert plan.named("us-east-1-search-domain")


@pytest.mark.parametrize(("phase", "settings"), [
    (3, {}), (4, {}), (4, {"databaseCutover": True}), (4, {"databaseCutover": True, "retireRegionalCaches": True}),
])
def test_everything_under_a_secondary_region_uses_that_regions_provider(phase, settings):
    plan = build("prod", phase, **settings)
    checked = 0
    for resource in plan.resources:
        region = plan.enclosing_region(resource)
        if region not in SECONDARIES or not resource.custom:
            continue
        checked += 1
        if resource.type.startswith("aws:"):
            assert resource.provider == PROVIDER.format(region), resource.urn
            assert plan.region_of(resource) == region, resource.urn
        else:
            assert resource.provider is None or "providers:aws" not in resource.provider, resource.urn
    assert checked > 100


@pytest.mark.parametrize("region", SECONDARIES)
def test_cross_region_replicas_follow_the_primary_regions_first_replica(region):
    plan = build("prod", 3)
    source = plan.named("us-east-1-db-replica-0", INSTANCE)
    # The cascade source keeps backups: RDS replicates only from an instance with backups on.
    assert source.inputs["backupRetentionPeriod"] == 7
    key = plan.named(f"{region}-db-key")
    assert plan.region_of(key) == region and key.options["protect"] is True
    for index in range(2):
        replica = plan.named(f"{region}-db-replica-{index}", INSTANCE)
        assert replica.dependencies["replicateSourceDb"] == [source.urn]
        assert replica.inputs["replicateSourceDb"] == "[unknown]"  # the source's ARN, known after creation
        assert sources(replica, "kmsKeyId") == [f"{region}-db-key"]
        assert sources(replica, "dbSubnetGroupName") == [f"{region}-db-subnets"]
        assert sources(replica, "vpcSecurityGroupIds") == [f"{region}-db-sg"]
        assert sources(replica, "parameterGroupName") == [f"{region}-db-params"]
        assert replica.inputs["instanceClass"] == "db.r5.xlarge"
        assert replica.inputs["availabilityZone"] == f"{region}{'bc'[index]}"
        assert replica.options["protect"] is True and replica.inputs["deletionProtection"] is True
    subnets = sources(plan.named(f"{region}-db-subnets"), "subnetIds")
    assert subnets == [f"{region}-network-isolated-{region}{zone}" for zone in "abc"]


@pytest.mark.parametrize(("phase", "store", "port"), [
    (3, "db", 5432), (3, "cache", 6379), (4, "db", 5432), (4, "cache", 6379), (4, "cache-global", 6379),
])
@pytest.mark.parametrize("region", SECONDARIES)
def test_secondary_data_stores_admit_only_their_regions_api(phase, store, port, region):
    plan = build("prod", phase)
    store_group = plan.named(f"{region}-{store}-sg", SECURITY_GROUP)
    rules = [r for r in plan.of_type(INGRESS) if r.dependencies.get("securityGroupId") == [store_group.urn]]
    # The region's API and its Kubernetes cluster (phase 3 on): both in the region.
    assert [r.name for r in rules] == [f"{region}-{store}-sg-from-api", f"{region}-{store}-sg-from-kubernetes"]
    api, kubernetes = rules
    assert api.dependencies["referencedSecurityGroupId"] == [plan.named(f"{region}-api-instances", SECURITY_GROUP).urn]
    assert kubernetes.dependencies["referencedSecurityGroupId"] == [
        plan.named(f"{region}-k8s-cluster", "aws:eks/cluster:Cluster").urn]
    for rule in rules:
        assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", port, port)
        assert not {"cidrIpv4", "cidrIpv6", "prefixListId"} & set(rule.inputs)
    assert sources(store_group, "vpcId") == [f"{region}-network-vpc"]


def test_phase_4_global_datastore_is_led_by_the_primary_regions_cache():
    plan = build("prod", 4)
    [datastore] = plan.of_type(DATASTORE)
    assert datastore.name == "platform-cache-global"
    # A global piece: under Platform, managed through the primary region's provider.
    assert datastore.parent == PLATFORM
    assert datastore.provider == PROVIDER.format("us-east-1")
    assert sources(datastore, "primaryReplicationGroupId") == ["us-east-1-cache-group"]
    assert datastore.inputs["globalReplicationGroupIdSuffix"] == "qnom-prod-cache"
    assert (datastore.inputs["cacheNodeType"], datastore.inputs["engineVersion"]) == ("cache.r5.large", "7.1")
    assert datastore.inputs["automaticFailoverEnabled"] is True
    assert datastore.options["protect"] is True
    assert not plan.of_type(GLOBAL_CLUSTER)
    assert not build("prod", 3).of_type(DATASTORE)


@pytest.mark.parametrize("region", SECONDARIES)
def test_phase_4_members_join_beside_the_phase_3_caches(region):
    plan = build("prod", 4)
    member = plan.named(f"{region}-cache-global-group", GROUP)
    assert sources(member, "globalReplicationGroupId") == ["platform-cache-global"]
    assert member.inputs["numCacheClusters"] == 2
    assert sources(member, "kmsKeyId") == [f"{region}-cache-global-key"]
    assert sources(member, "subnetGroupName") == [f"{region}-cache-global-subnets"]
    assert sources(member, "authToken") == ["us-east-1-cache-auth-token"]
    assert not {"nodeType", "engine", "engineVersion", "parameterGroupName"} & set(member.inputs)
    assert plan.enclosing_region(member) == region and member.options["protect"] is True
    # The phase-3 cache is untouched until the explicit retirement step.
    old = plan.named(f"{region}-cache-group", GROUP)
    assert old.urn == build("prod", 3).named(f"{region}-cache-group", GROUP).urn
    assert old.options["protect"] is True and "globalReplicationGroupId" not in old.inputs


def test_datastore_members_are_two_at_most():
    plan = build("prod", 4)
    members = [g.name for g in plan.of_type(GROUP) if "globalReplicationGroupId" in g.inputs]
    assert sorted(members) == ["eu-west-1-cache-global-group", "us-west-2-cache-global-group"]


def test_retiring_keeps_the_members_and_drops_the_old_caches():
    plan = build("prod", 4, databaseCutover=True, retireRegionalCaches=True)
    groups = sorted(g.name for g in plan.of_type(GROUP))
    assert groups == ["eu-west-1-cache-global-group", "us-east-1-cache-group", "us-west-2-cache-global-group"]
    assert not [r for r in plan.resources if r.name in ("us-west-2-cache", "eu-west-1-cache")]


def test_aurora_global_database_exists_only_after_the_cut_over():
    replicating, cut_over = build("prod", 4), build("prod", 4, databaseCutover=True)
    assert not replicating.of_type(GLOBAL_CLUSTER)
    assert [c.name for c in replicating.of_type(CLUSTER)] == ["us-east-1-db-aurora"]
    assert replicating.named("us-east-1-db-aurora", CLUSTER).options["ignoreChanges"] == ["engineVersion"]
    [database] = cut_over.of_type(GLOBAL_CLUSTER)
    assert database.name == "platform-db-global"
    assert (database.parent, database.provider) == (PLATFORM, PROVIDER.format("us-east-1"))
    assert sources(database, "sourceDbClusterIdentifier") == ["us-east-1-db-aurora"]
    assert database.inputs["globalClusterIdentifier"] == "qnom-prod-db"
    assert database.inputs["forceDestroy"] is True and database.inputs["deletionProtection"] is True
    assert database.options["protect"] is True
    # The promoted cluster joins in place; AWS then reports the global id on it.
    assert cut_over.named("us-east-1-db-aurora", CLUSTER).options["ignoreChanges"] == [
        "engineVersion", "globalClusterIdentifier"]


@pytest.mark.parametrize("region", SECONDARIES)
def test_secondary_aurora_clusters_join_with_their_own_regions_key(region):
    plan = build("prod", 4, databaseCutover=True)
    cluster = plan.named(f"{region}-db-aurora", CLUSTER)
    assert sources(cluster, "globalClusterIdentifier") == ["platform-db-global"]
    # The primary cluster's actual version at deploy time; AWS upgrades the members together.
    assert (cluster.inputs["engine"], cluster.inputs["engineVersion"]) == ("aurora-postgresql", "[unknown]")
    assert sources(cluster, "engineVersion") == ["us-east-1-db-aurora"]
    assert cluster.inputs["storageEncrypted"] is True
    assert sources(cluster, "kmsKeyId") == [f"{region}-db-key"]
    assert sources(cluster, "dbSubnetGroupName") == [f"{region}-db-subnets"]
    assert sources(cluster, "vpcSecurityGroupIds") == [f"{region}-db-sg"]
    assert not {"masterUsername", "databaseName", "replicationSourceIdentifier",
                "manageMasterUserPassword"} & set(cluster.inputs)
    assert cluster.inputs["skipFinalSnapshot"] is True
    assert cluster.options["ignoreChanges"] == ["engineVersion", "replicationSourceIdentifier"]
    instances = [(i.name, i.inputs["instanceClass"]) for i in plan.of_type(CLUSTER_INSTANCE)
                 if i.name.startswith(f"{region}-")]
    assert instances == [(f"{region}-db-aurora-0", "db.serverless"), (f"{region}-db-aurora-1", "db.serverless")]
    # The cross-region RDS replicas stay until a later, explicit retirement.
    assert [r.name for r in plan.of_type(INSTANCE) if r.name.startswith(f"{region}-")] == [
        f"{region}-db-replica-0", f"{region}-db-replica-1"]


@pytest.mark.parametrize(("settings", "secrets"), [
    ({}, ["us-east-1-db-master"]),
    ({"databaseCutover": True}, ["us-east-1-db-aurora-master", "us-east-1-db-master"]),
])
def test_master_secrets_are_replicated_to_the_secondaries_with_their_keys(settings, secrets):
    plan = build("prod", 4, **settings)
    assert sorted(r.name for r in plan.of_type(SECRET) if "-db-" in r.name) == secrets
    for name in secrets:
        secret = plan.named(name, SECRET)
        assert [replica["region"] for replica in secret.inputs["replicas"]] == ["eu-west-1", "us-west-2"]
        assert sources(secret, "replicas") == ["eu-west-1-db-key", "us-west-2-db-key"]
        assert sources(secret, "kmsKeyId") == ["us-east-1-db-key"]
        assert plan.region_of(secret) == "us-east-1"
    # The secondaries hold no password, secret or rotation of their own.
    assert not [r.name for r in plan.resources if r.name.split("-db-")[0] in SECONDARIES
                and r.type in (SECRET, ROTATION, RANDOM_PASSWORD)]


def test_secrets_gain_replicas_in_place_when_regions_arrive():
    single, multi = build("prod", 2).named("us-east-1-db-master", SECRET), build("prod", 3).named(
        "us-east-1-db-master", SECRET)
    assert single.urn == multi.urn and single.inputs["replicas"] == []
    assert [replica["region"] for replica in multi.inputs["replicas"]] == ["eu-west-1", "us-west-2"]


def test_new_outputs_are_added_and_no_existing_key_is_renamed():
    original = {
        "vpcIds", "albDnsName", "albZoneId", "apiAsgName", "apiTargetGroupArn", "apiSecurityGroupId",
        "albSecurityGroupId", "apiListener", "workerAsgName", "dbWriterEndpoint", "dbPrimaryEndpoint",
        "dbReaderEndpoints", "dbMasterSecretArn", "auroraEndpoint", "auroraReaderEndpoint", "auroraMasterSecretArn",
        "cachePrimaryEndpoint", "cacheReaderEndpoint", "cacheAuthSecretArn", "queueUrl", "queueArn", "dlqUrl",
        "objectBucketName", "logBucketName", "searchEndpoint", "searchMasterSecretArn",
        # The edge's outputs.
        "publicUrl", "cdnDomainName", "cdnDistributionId", "staticBucketName", "albDnsNames", "healthCheckIds",
    }
    exports = STACK_OUTPUTS.attributes
    assert original < set(exports)
    assert {key: exports[key] for key in set(exports) - original - {"phase", "environment", "regions"}} == {
        "dbReaderEndpointsByRegion": "db_reader_endpoints_by_region",
        "cacheEndpointsByRegion": "cache_endpoints_by_region",
        "cacheGlobalDatastoreId": "cache_global_datastore_id",
        "auroraGlobalClusterId": "aurora_global_cluster_id",
        "peeringConnectionIds": "peering_connection_ids",
    }


@pytest.mark.parametrize(("phase", "settings", "regions", "datastore", "aurora_global"), [
    (1, {}, ["us-east-1"], None, None),
    (3, {}, ["eu-west-1", "us-east-1", "us-west-2"], None, None),
    (4, {"databaseCutover": True}, ["eu-west-1", "us-east-1", "us-west-2"], "[unknown]", "[unknown]"),
])
def test_read_endpoints_by_region(phase, settings, regions, datastore, aurora_global):
    outputs = build("prod", phase, **settings).outputs
    assert sorted(outputs["dbReaderEndpointsByRegion"]) == regions
    assert sorted(outputs["cacheEndpointsByRegion"]) == regions
    # An export whose value is None is left out of the stack's outputs.
    assert outputs.get("cacheGlobalDatastoreId") == datastore
    assert outputs.get("auroraGlobalClusterId") == aurora_global
    if phase == 1:
        assert outputs["dbReaderEndpointsByRegion"] == {"us-east-1": []}  # phase 1 has no replica


@pytest.mark.parametrize(("phase", "value", "expected"), [
    (4, True, True), (4, "true", True), (4, "false", False), (4, None, False), (3, None, False),
])
def test_retire_setting_reads_booleans(phase, value, expected):
    extra = {} if value is None else {"retireRegionalCaches": value}
    assert settings_for("prod", phase, **extra).retire_regional_caches is expected


@pytest.mark.parametrize(("phase", "overrides", "value", "message"), [
    (4, None, "soon", "qnom:retireRegionalCaches: got 'soon'; allowed values: true, false"),
    (3, None, True, "qnom:retireRegionalCaches: true needs the global cache datastore that replaces the secondary "
                    "regions' caches (phase 4, cache.global_datastore); phase 3 (scale) has none; "
                    "allowed values: false"),
    (4, {"cache": {"global_datastore": False}}, True, "qnom:retireRegionalCaches: true needs the global cache"),
])
def test_retire_setting_is_validated(phase, overrides, value, message):
    with pytest.raises(SettingsError) as error:
        settings_for("prod", phase, overrides, retireRegionalCaches=value)
    assert any(problem.startswith(message) for problem in error.value.problems)


def test_retire_setting_in_phase_3_exits_2_naming_the_key(tmp_path, capsys):
    stack_file = tmp_path / "Pulumi.retire.yaml"
    stack_file.write_text(textwrap.dedent("""\
        config:
          qnom:phase: '3'
          qnom:environment: prod
          qnom:retireRegionalCaches: true
    """))
    result = run_cli(capsys, "plan", "--stack", "retire", "--stack-file", str(stack_file), "--json")
    assert result.returncode == 2
    assert "qnom:retireRegionalCaches: true needs the global cache datastore" in result.stderr
    assert "allowed values: false" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


FOURTH_REGION = {"name": "ap-southeast-1", "role": "secondary", "weight": 0, "cidr": "10.40.0.0/16",
                 "api": {"min": 2, "desired": 2, "max": 4}, "db_read_replicas": 1, "cache_nodes": 2}


def _document(number: int, primary_replicas: int | None = None, extra_region: dict | None = None) -> dict:
    # A deep copy: the catalog's cached YAML must never be changed by a test.
    document = copy.deepcopy(phase_document(number))
    if primary_replicas is not None:
        document["regions"][0]["db_read_replicas"] = primary_replicas
    if extra_region:
        document["regions"].append(dict(extra_region))
    return document


@pytest.mark.parametrize(("number", "primary_replicas", "extra_region", "message"), [
    (4, None, FOURTH_REGION, "cache.global_datastore replicates to at most 2 secondary regions (AWS limit), got 3"),
    (3, 0, None, "regions[0].db_read_replicas (0) must be >= 1 when there are secondary regions"),
    (4, 0, None, "regions[0].db_read_replicas (0) must be >= 1 when there are secondary regions"),
])
def test_multi_region_catalog_rules(number, primary_replicas, extra_region, message):
    with pytest.raises(pydantic.ValidationError, match=re.escape(message)):
        Phase.model_validate(_document(number, primary_replicas, extra_region))


def test_three_secondaries_are_fine_without_a_global_datastore():
    assert len(Phase.model_validate(_document(3, extra_region=FOURTH_REGION)).regions) == 4
