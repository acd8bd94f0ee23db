"""The Database component: RDS PostgreSQL sized per phase, its security, and the Aurora migration."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pydantic
import pytest
import yaml

from phases.catalog import load_phase
from phases.models import AuroraMigration, Database
from phases.settings import CONFIG_KEYS, SettingsError
from qnom.engine import PROJECT_DIR, run_program
from tests.support import build, settings_for

INSTANCE = "aws:rds/instance:Instance"
CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
PRIMARY = "us-east-1-db-primary"


def source_names(resource, prop: str) -> list[str]:
    """Logical names of the resources an input's value comes from."""
    return sorted(urn.rsplit("::", 1)[1] for urn in resource.dependencies.get(prop, []))


def replicas(plan, region: str = "us-east-1") -> list:
    """The region's read replicas (secondary regions hold cross-region ones from phase 3)."""
    return sorted((r for r in plan.of_type(INSTANCE) if r.name.startswith(f"{region}-db-replica-")),
                  key=lambda r: r.name)


@pytest.mark.parametrize(("phase", "instance_class", "multi_az", "replica_count", "max_connections"), [
    (1, "db.t3.medium", False, 0, "200"),
    (2, "db.r5.large", False, 1, "500"),
    (3, "db.r5.xlarge", True, 2, "1000"),
    (4, "db.r5.xlarge", True, 2, "1000"),
])
def test_phase_sizes_the_database(phase, instance_class, multi_az, replica_count, max_connections):
    plan = build("prod", phase)
    primary = plan.named(PRIMARY, INSTANCE)
    assert primary.inputs["instanceClass"] == instance_class
    assert primary.inputs["multiAz"] is multi_az
    assert [r.name for r in replicas(plan)] == [f"us-east-1-db-replica-{i}" for i in range(replica_count)]
    # One RDS primary in the whole stack; every other instance is a replica of some region.
    assert [r.name for r in plan.of_type(INSTANCE) if "replicateSourceDb" not in r.inputs] == [PRIMARY]
    assert all(r.inputs["instanceClass"] == instance_class for r in replicas(plan))
    parameters = {p["name"]: p["value"] for p in plan.named("us-east-1-db-params").inputs["parameters"]}
    assert parameters == {"rds.force_ssl": "1", "max_connections": max_connections,
                          "log_min_duration_statement": "1000", "log_connections": "1"}


def test_primary_storage_is_encrypted_gp3_with_autoscaling_and_its_own_key():
    primary = build("prod", 1).named(PRIMARY, INSTANCE)
    assert primary.inputs["engine"] == "postgres"
    assert primary.inputs["engineVersion"] == "16"
    assert primary.inputs["storageType"] == "gp3"
    assert primary.inputs["allocatedStorage"] == 100
    assert primary.inputs["maxAllocatedStorage"] == 1000
    assert primary.inputs["storageEncrypted"] is True
    assert source_names(primary, "kmsKeyId") == ["us-east-1-db-key"]
    assert source_names(primary, "performanceInsightsKmsKeyId") == ["us-east-1-db-key"]


def test_database_key_rotates_and_waits_before_deletion():
    plan = build("prod", 1)
    key = plan.named("us-east-1-db-key")
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 30
    assert key.options["protect"] is True
    assert build("dev", 1).named("us-east-1-db-key").inputs["deletionWindowInDays"] == 7


SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
SAR_STACK = "aws:serverlessrepository/cloudFormationStack:CloudFormationStack"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"


@pytest.mark.parametrize("phase", [1, 2, 3, 4])
def test_no_database_lets_rds_manage_its_master_password(phase):
    # AWS refuses read replicas (and an Aurora replica) of a source whose password RDS manages,
    # and RDS-managed passwords are not supported on a global database's clusters.
    plan = build("prod", phase, databaseCutover=phase == 4)
    databases = plan.of_type(INSTANCE) + plan.of_type(CLUSTER)
    assert databases
    assert [r.name for r in databases if "manageMasterUserPassword" in r.inputs
            or "masterUserSecretKmsKeyId" in r.inputs] == []


def test_master_password_is_a_stack_secret_from_phase_1():
    plan = build("prod", 1)
    primary = plan.named(PRIMARY, INSTANCE)
    assert primary.inputs["password"] == "[secret]"
    assert source_names(primary, "password") == ["us-east-1-db-master-password"]
    assert primary.inputs["username"] == "qnom_admin"
    assert primary.inputs["dbName"] == "qnom"
    # A rotation changes the password in AWS; `pulumi up` must not set the first one again.
    assert "password" in primary.options["ignoreChanges"]
    password = plan.named("us-east-1-db-master-password", RANDOM_PASSWORD)
    assert password.inputs["length"] == 40
    # RDS refuses '/', '"', '@' and spaces in a master password.
    assert not set('/"@ ') & set(password.inputs["overrideSpecial"])
    # The same password, unchanged, in every later phase: a promotion never resets it.
    assert all(build("prod", phase).named("us-east-1-db-master-password").inputs == password.inputs
               for phase in (2, 3, 4))


def test_master_secret_holds_the_connection_and_is_encrypted_with_the_database_key():
    plan = build("prod", 1)
    secret = plan.named("us-east-1-db-master", SECRET)
    assert source_names(secret, "kmsKeyId") == ["us-east-1-db-key"]
    assert secret.options["protect"] is True
    assert secret.inputs["replicas"] == []  # one region in phase 1
    version = plan.named("us-east-1-db-master", SECRET_VERSION)
    assert source_names(version, "secretId") == ["us-east-1-db-master"]
    # The JSON AWS's rotation function reads: host from the instance, password from the stack.
    assert source_names(version, "secretString") == ["us-east-1-db-master-password", PRIMARY]
    assert version.inputs["secretString"] == "[secret]"
    assert version.options["ignoreChanges"] == ["secretString"]


def test_master_secret_rotates_with_aws_postgresql_single_user_function():
    plan = build("prod", 1)
    rotation = plan.named("us-east-1-db-master", ROTATION)
    assert source_names(rotation, "secretId") == ["us-east-1-db-master"]
    assert source_names(rotation, "rotationLambdaArn") == ["us-east-1-db-rotation"]
    assert rotation.inputs["rotationRules"] == {"automaticallyAfterDays": 30}
    assert [urn.rsplit("::", 1)[1] for urn in rotation.options["dependsOn"]] == ["us-east-1-db-master"]
    function = plan.named("us-east-1-db-rotation", SAR_STACK)
    assert function.inputs["applicationId"] == (
        "arn:aws:serverlessrepo:us-east-1:297356227824:applications/SecretsManagerRDSPostgreSQLRotationSingleUser")
    assert function.inputs["semanticVersion"] == "1.1.671"
    assert function.inputs["capabilities"] == ["CAPABILITY_IAM", "CAPABILITY_RESOURCE_POLICY"]
    assert function.inputs["name"] == function.inputs["parameters"]["functionName"] == "qnom-prod-us-east-1-db-rotation"
    assert function.inputs["parameters"]["endpoint"] == "https://secretsmanager.us-east-1.amazonaws.com"
    assert set('/"@ ') <= set(function.inputs["parameters"]["excludeCharacters"])
    assert source_names(function, "parameters") == [
        "us-east-1-db-key", "us-east-1-db-rotation-sg",
        *(f"us-east-1-network-private-us-east-1{zone}" for zone in "abc")]


def test_rotation_function_reaches_the_database_and_the_secrets_manager_api():
    plan = build("prod", 1)
    function_group = plan.named("us-east-1-db-rotation-sg", "aws:ec2/securityGroup:SecurityGroup")
    database_group = plan.named("us-east-1-db-sg", "aws:ec2/securityGroup:SecurityGroup")
    admitted = plan.named("us-east-1-db-sg-from-rotation", INGRESS)
    assert admitted.dependencies["referencedSecurityGroupId"] == [function_group.urn]
    assert (admitted.inputs["fromPort"], admitted.inputs["toPort"]) == (5432, 5432)
    egress = {r.name: r for r in plan.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
              if r.dependencies.get("securityGroupId") == [function_group.urn]}
    assert sorted(egress) == ["us-east-1-db-rotation-sg-out-https", "us-east-1-db-rotation-sg-out-postgres"]
    https, postgres = egress["us-east-1-db-rotation-sg-out-https"], egress["us-east-1-db-rotation-sg-out-postgres"]
    assert (https.inputs["fromPort"], https.inputs["cidrIpv4"]) == (443, "0.0.0.0/0")
    assert postgres.dependencies["referencedSecurityGroupId"] == [database_group.urn]
    assert not [r for r in plan.of_type(INGRESS) if r.dependencies.get("securityGroupId") == [function_group.urn]]


@pytest.mark.parametrize(("overrides", "engine_version", "ignored"), [
    (None, "16", ["availabilityZone", "password"]),  # the catalog's: the major version only
    # A pinned minor drifts once AWS upgrades it: the next update would try to downgrade.
    ({"database": {"engine_version": "16.4"}}, "16.4", ["availabilityZone", "engineVersion", "password"]),
])
def test_primary_ignores_a_pinned_minor_version(overrides, engine_version, ignored):
    primary = build("prod", 1, overrides).named(PRIMARY, INSTANCE)
    assert primary.inputs["engineVersion"] == engine_version
    assert primary.inputs["autoMinorVersionUpgrade"] is True
    assert sorted(primary.options["ignoreChanges"]) == ignored


@pytest.mark.parametrize(("environment", "retention", "protected", "final_snapshot"), [
    ("prod", 7, True, True),
    ("dev", 1, False, False),
])
def test_backups_protection_and_final_snapshot_follow_the_environment(environment, retention, protected,
                                                                       final_snapshot):
    plan = build(environment, 2)
    primary = plan.named(PRIMARY, INSTANCE)
    assert primary.inputs["backupRetentionPeriod"] == retention
    assert primary.inputs["deletionProtection"] is protected
    assert primary.options["protect"] is protected
    assert primary.inputs["skipFinalSnapshot"] is (not final_snapshot)
    assert primary.inputs["copyTagsToSnapshot"] is True
    # The final snapshot's name carries a pulumi-random suffix, so it is unique per stack.
    assert source_names(primary, "finalSnapshotIdentifier") == (
        ["us-east-1-db-final-snapshot"] if final_snapshot else [])
    suffixes = {r.name for r in plan.of_type("random:index/randomId:RandomId")}
    assert ("us-east-1-db-final-snapshot" in suffixes) is final_snapshot


def test_primary_is_observable():
    plan = build("prod", 1)
    primary = plan.named(PRIMARY, INSTANCE)
    assert primary.inputs["performanceInsightsEnabled"] is True
    assert primary.inputs["monitoringInterval"] == 60
    assert source_names(primary, "monitoringRoleArn") == ["us-east-1-db-monitoring"]
    trust = json.loads(plan.named("us-east-1-db-monitoring", "aws:iam/role:Role").inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "monitoring.rds.amazonaws.com"}
    assert "postgresql" in primary.inputs["enabledCloudwatchLogsExports"]
    assert primary.inputs["iamDatabaseAuthenticationEnabled"] is True


@pytest.mark.parametrize("phase", [1, 2, 3, 4])
def test_no_database_is_publicly_accessible(phase):
    plan = build("prod", phase)
    instances = plan.of_type(INSTANCE) + plan.of_type(CLUSTER_INSTANCE)
    assert instances
    assert all(instance.inputs["publiclyAccessible"] is False for instance in instances)


def test_database_lives_in_the_isolated_subnets():
    plan = build("prod", 2)
    primary = plan.named(PRIMARY, INSTANCE)
    assert source_names(primary, "dbSubnetGroupName") == ["us-east-1-db-subnets"]
    subnets = source_names(plan.named("us-east-1-db-subnets"), "subnetIds")
    assert subnets == [f"us-east-1-network-isolated-us-east-1{zone}" for zone in "abc"]


def test_replicas_follow_the_primary_from_other_zones():
    plan = build("prod", 3)
    primary_zone = build("prod", 2).named(PRIMARY, INSTANCE).inputs["availabilityZone"]
    assert primary_zone == "us-east-1a"
    zones = []
    for replica in replicas(plan):
        assert source_names(replica, "replicateSourceDb") == [PRIMARY]
        assert source_names(replica, "parameterGroupName") == ["us-east-1-db-params"]
        assert replica.inputs["skipFinalSnapshot"] is True
        zones.append(replica.inputs["availabilityZone"])
    assert zones == ["us-east-1b", "us-east-1c"]


def test_multi_az_primary_leaves_its_zone_to_rds():
    # AWS rejects an explicit zone on a Multi-AZ instance, and a failover moves the primary:
    # the zone is ignored after creation in every phase, so dropping it never replaces anything.
    single, multi = build("prod", 2).named(PRIMARY, INSTANCE), build("prod", 3).named(PRIMARY, INSTANCE)
    assert single.inputs["availabilityZone"] == "us-east-1a"
    assert "availabilityZone" not in multi.inputs
    assert single.options["ignoreChanges"] == multi.options["ignoreChanges"] == ["availabilityZone", "password"]


COMPONENT_PROGRAM = textwrap.dedent('''
    import pulumi
    import pulumi_aws as aws

    from components.data.database import Database, FollowerDatabaseArgs, WriterDatabaseArgs
    from phases.catalog import load_phase
    from phases.environment import PROFILES

    provider = aws.Provider("aws-us-east-1", aws.ProviderArgs(region="us-east-1"))
    phase = load_phase(4)
    Database("us-east-1-db", WriterDatabaseArgs(
        spec=phase.database,
        read_replicas=2,
        vpc_id="vpc-stub",
        subnet_ids=["subnet-a", "subnet-b", "subnet-c"],
        availability_zones=["us-east-1a", "us-east-1b", "us-east-1c"],
        profile=PROFILES["prod"],
        client_security_groups={"api": "sg-api-stub", "workers": "sg-workers-stub"},
    ), pulumi.ResourceOptions(providers={"aws": provider}))
''')


@pytest.fixture(scope="module")
def component_run(tmp_path_factory):
    program = tmp_path_factory.mktemp("database") / "program.py"
    program.write_text(COMPONENT_PROGRAM)
    return run_program("prod", {"aws:region": "us-east-1"}, program=program)


def test_only_the_client_tiers_reach_the_database(component_run):
    rules = [r for r in component_run.resources if r.type == INGRESS]
    assert sorted(r.inputs["referencedSecurityGroupId"] for r in rules) == ["sg-api-stub", "sg-workers-stub"]
    for rule in rules:
        assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", 5432, 5432)
        assert not {"cidrIpv4", "cidrIpv6", "prefixListId"} & set(rule.inputs)
    group = next(r for r in component_run.resources if r.type == "aws:ec2/securityGroup:SecurityGroup")
    assert group.inputs["vpcId"] == "vpc-stub"
    assert "ingress" not in group.inputs and "egress" not in group.inputs
    # Aurora sits behind the same group as the RDS instance.
    cluster = next(r for r in component_run.resources if r.type == CLUSTER)
    assert cluster.dependencies["vpcSecurityGroupIds"] == [group.urn]


def test_phase_4_adds_an_aurora_replica_cluster_and_keeps_the_rds_instance():
    plan = build("prod", 4)
    cluster = plan.named("us-east-1-db-aurora", CLUSTER)
    assert cluster.inputs["engine"] == "aurora-postgresql"
    # AWS needs the source's version or a later minor: the source's actual version at deploy
    # time, then ignored, as AWS upgrades the cluster's minor version too.
    assert cluster.inputs["engineVersion"] == "[unknown]"
    assert source_names(cluster, "engineVersion") == [PRIMARY]
    assert cluster.options["ignoreChanges"] == ["engineVersion"]
    assert cluster.inputs["engineMode"] == "provisioned"
    assert source_names(cluster, "replicationSourceIdentifier") == [PRIMARY]
    assert cluster.inputs["serverlessv2ScalingConfiguration"] == {"minCapacity": 2, "maxCapacity": 128}
    assert cluster.inputs["storageEncrypted"] is True
    assert source_names(cluster, "kmsKeyId") == ["us-east-1-db-key"]
    assert source_names(cluster, "dbSubnetGroupName") == ["us-east-1-db-subnets"]
    # The replica takes user, password and database name from its source (AWS's procedure).
    assert not {"masterUsername", "masterPassword", "databaseName", "manageMasterUserPassword"} & set(cluster.inputs)
    assert cluster.options["protect"] is True and cluster.inputs["deletionProtection"] is True
    # Before the cut-over the cluster has no secret of its own.
    assert not [r for r in plan.resources if r.name.startswith("us-east-1-db-aurora-master")]
    # A replica cluster holds one provisioned reader; no Serverless v2 instance before the cut-over.
    instances = plan.of_type(CLUSTER_INSTANCE)
    assert [(i.name, i.inputs["instanceClass"]) for i in instances] == [("us-east-1-db-aurora-0", "db.r5.xlarge")]
    primary = plan.named(PRIMARY, INSTANCE)
    assert primary.options["protect"] is True and primary.inputs["deletionProtection"] is True


@pytest.mark.parametrize("phase", [1, 2, 3])
def test_no_aurora_before_phase_4(phase):
    plan = build("prod", phase)
    assert not plan.of_type(CLUSTER) and not plan.of_type(CLUSTER_INSTANCE)


def test_cutover_promotes_aurora_in_place_and_deletes_nothing():
    before, after = build("prod", 4), build("prod", 4, databaseCutover=True)
    cluster = after.named("us-east-1-db-aurora", CLUSTER)
    assert "replicationSourceIdentifier" not in cluster.inputs
    # Its own password and secret from the cut-over: RDS-managed passwords are not supported on a
    # global database's clusters.
    assert "manageMasterUserPassword" not in cluster.inputs
    assert cluster.inputs["masterPassword"] == "[secret]"
    assert source_names(cluster, "masterPassword") == ["us-east-1-db-aurora-master-password"]
    version = after.named("us-east-1-db-aurora-master", SECRET_VERSION)
    assert source_names(version, "secretString") == ["us-east-1-db-aurora", "us-east-1-db-aurora-master-password"]
    assert version.options["ignoreChanges"] == ["secretString"]
    assert source_names(after.named("us-east-1-db-aurora-master", SECRET), "kmsKeyId") == ["us-east-1-db-key"]
    rotation = after.named("us-east-1-db-aurora-master", ROTATION)
    assert source_names(rotation, "rotationLambdaArn") == ["us-east-1-db-rotation"]
    assert cluster.urn == before.named("us-east-1-db-aurora", CLUSTER).urn
    classes = [(i.name, i.inputs["instanceClass"]) for i in after.of_type(CLUSTER_INSTANCE)
               if i.name.startswith("us-east-1-")]
    assert classes == [("us-east-1-db-aurora-0", "db.r5.xlarge"), ("us-east-1-db-aurora-1", "db.serverless"),
                       ("us-east-1-db-aurora-2", "db.serverless")]
    assert {r.urn for r in before.of_type(INSTANCE)} == {r.urn for r in after.of_type(INSTANCE)}
    assert all(r.options["protect"] for r in after.of_type(INSTANCE))


@pytest.mark.parametrize(("value", "expected"), [(True, True), ("true", True), ("false", False), (None, False)])
def test_cutover_setting_reads_booleans(value, expected):
    extra = {} if value is None else {"databaseCutover": value}
    assert settings_for("prod", 4, **extra).database_cutover is expected


@pytest.mark.parametrize(("phase", "value", "message"), [
    (4, "yes", "qnom:databaseCutover: got 'yes'; allowed values: true, false"),
    (3, True, "qnom:databaseCutover: true needs an Aurora migration"),
])
def test_cutover_setting_is_validated(phase, value, message):
    with pytest.raises(SettingsError) as error:
        settings_for("prod", phase, databaseCutover=value)
    assert any(problem.startswith(message) for problem in error.value.problems)


def test_every_config_key_is_declared_in_pulumi_yaml():
    declared = yaml.safe_load((Path(PROJECT_DIR) / "Pulumi.yaml").read_text())["config"]
    assert set(declared) == {f"qnom:{key}" for key in CONFIG_KEYS}
    assert declared["qnom:databaseCutover"] == {
        "type": "boolean", "default": False, "description": CONFIG_KEYS["databaseCutover"]}


@pytest.mark.parametrize(("aurora", "message"), [
    ({"min_acu": 8, "max_acu": 4}, "min_acu (8.0) must be <= max_acu (4.0)"),
    ({"min_acu": 0.75}, "min_acu (0.75) must be a multiple of 0.5"),
    ({"readers": 16}, "less than or equal to 15"),
    ({"replica_instance_class": "db.serverless"}, "String should match pattern"),
    # The version comes from the source instance at deploy time, never from the catalog.
    ({"engine_version": "16.8"}, "Extra inputs are not permitted"),
])
def test_aurora_migration_validation(aurora, message):
    document = {"replica_instance_class": "db.r5.xlarge", "min_acu": 2, "max_acu": 128, "readers": 2, **aurora}
    with pytest.raises(pydantic.ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        AuroraMigration.model_validate(document)


def test_aurora_takes_the_major_of_the_rds_instance():
    # The cluster parameter group's family follows the RDS major version.
    document = load_phase(4).database.model_dump()
    document["engine_version"] = "17"
    assert Database.model_validate(document).major_version == "17"


CROSS_REGION_PROGRAM = textwrap.dedent('''
    import pulumi
    import pulumi_aws as aws

    from components.data.database import Database, FollowerDatabaseArgs, WriterDatabaseArgs
    from phases.catalog import load_phase
    from phases.environment import PROFILES

    provider = aws.Provider("aws-us-west-2", aws.ProviderArgs(region="us-west-2"))
    database = Database("us-west-2-db", FollowerDatabaseArgs(
        spec=load_phase(3).database,
        read_replicas=2,
        vpc_id="vpc-stub",
        subnet_ids=["subnet-a", "subnet-b", "subnet-c"],
        availability_zones=["us-west-2a", "us-west-2b", "us-west-2c"],
        profile=PROFILES["prod"],
        client_security_groups={"api": "sg-api-stub"},
        replica_source_arn="arn:aws:rds:us-east-1:123456789012:db:qnom-replica-0",
        source_master_secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:qnom-db-AbCdEf",
        source_master_secret_name="qnom-db",
    ), pulumi.ResourceOptions(providers={"aws": provider}))
    pulumi.export("masterSecretArn", database.master_secret_arn)
    pulumi.export("masterSecretName", database.master_secret_name)
''')


@pytest.fixture(scope="module")
def cross_region_run(tmp_path_factory):
    program = tmp_path_factory.mktemp("database-cross-region") / "program.py"
    program.write_text(CROSS_REGION_PROGRAM)
    return run_program("prod", {"aws:region": "us-west-2"}, program=program)


def test_cross_region_set_is_replicas_only_following_the_source_arn(cross_region_run):
    resources = cross_region_run.resources
    instances = sorted((r for r in resources if r.type == INSTANCE), key=lambda r: r.name)
    assert [r.name for r in instances] == ["us-west-2-db-replica-0", "us-west-2-db-replica-1"]
    key = next(r for r in resources if r.type == "aws:kms/key:Key")
    subnets = next(r for r in resources if r.type == "aws:rds/subnetGroup:SubnetGroup")
    params = next(r for r in resources if r.type == "aws:rds/parameterGroup:ParameterGroup")
    assert subnets.inputs["subnetIds"] == ["subnet-a", "subnet-b", "subnet-c"]
    for replica in instances:
        # Cross-region: the source by ARN, a key and a subnet group of the replica's own region.
        assert replica.inputs["replicateSourceDb"] == "arn:aws:rds:us-east-1:123456789012:db:qnom-replica-0"
        assert replica.dependencies["kmsKeyId"] == [key.urn]
        assert replica.dependencies["performanceInsightsKmsKeyId"] == [key.urn]
        assert replica.dependencies["dbSubnetGroupName"] == [subnets.urn]
        assert replica.dependencies["parameterGroupName"] == [params.urn]
        assert cross_region_run.region_of(replica) == cross_region_run.region_of(key) == "us-west-2"
        # Engine, user and database name come from the source.
        assert not {"engine", "username", "dbName", "manageMasterUserPassword"} & set(replica.inputs)
        assert replica.inputs["skipFinalSnapshot"] is True and replica.options["protect"] is True
    assert [r.inputs["availabilityZone"] for r in instances] == ["us-west-2b", "us-west-2c"]
    # A hot standby refuses fewer connections than its source: the same limit as the primary region.
    assert {p["name"]: p["value"] for p in params.inputs["parameters"]} == {
        "rds.force_ssl": "1", "max_connections": "1000", "log_min_duration_statement": "1000", "log_connections": "1"}
    # Nothing takes a final snapshot here, so there is no snapshot-name suffix either.
    assert not [r for r in resources if r.type == "random:index/randomId:RandomId"]
    assert not [r for r in resources if r.type in (CLUSTER, CLUSTER_INSTANCE)]
    # No password, secret or rotation of its own: it reads the replica of the primary's secret.
    assert not [r for r in resources if r.type in (SECRET, SECRET_VERSION, ROTATION, SAR_STACK, RANDOM_PASSWORD)]


def test_cross_region_set_reads_its_regions_replica_of_the_master_secret(cross_region_run):
    assert cross_region_run.outputs["masterSecretArn"] == (
        "arn:aws:secretsmanager:us-west-2:123456789012:secret:qnom-db-AbCdEf")
    # The replica has the primary's name, which the apps' grants name.
    assert cross_region_run.outputs["masterSecretName"] == "qnom-db"


def test_cross_region_set_admits_only_its_api(cross_region_run):
    rules = [r for r in cross_region_run.resources if r.type == INGRESS]
    assert [(r.inputs["referencedSecurityGroupId"], r.inputs["fromPort"], r.inputs["toPort"]) for r in rules] == [
        ("sg-api-stub", 5432, 5432)]


# Modes are types: a writer and a follower cannot be mixed ---------------------------------------

def placement(phase: int = 4) -> dict:
    from phases.environment import PROFILES

    return {"spec": load_phase(phase).database, "read_replicas": 2, "vpc_id": "vpc-stub",
            "subnet_ids": ["subnet-a", "subnet-b", "subnet-c"],
            "availability_zones": ["us-west-2a", "us-west-2b", "us-west-2c"], "profile": PROFILES["prod"]}


FOLLOWS = {"replica_source_arn": "arn:aws:rds:us-east-1:123456789012:db:us-east-1-db-replica-0",
           "source_master_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:qnom-db-AbCdEf",
           "source_master_secret_name": "qnom-db"}


@pytest.mark.parametrize(("mode", "fields", "message"), [
    # A writer follows nothing; a follower has no primary, so nothing of a writer's.
    ("writer", {"replica_source_arn": FOLLOWS["replica_source_arn"]},
     "unexpected keyword argument 'replica_source_arn'"),
    ("writer", {"aurora_secondary": None}, "unexpected keyword argument 'aurora_secondary'"),
    ("follower", {**FOLLOWS, "cutover": True}, "unexpected keyword argument 'cutover'"),
    ("follower", {**FOLLOWS, "rotation_subnet_ids": ["subnet-p"]}, "unexpected keyword argument 'rotation_subnet_ids'"),
    ("follower", {**FOLLOWS, "secret_replicas": {}}, "unexpected keyword argument 'secret_replicas'"),
    ("follower", {**FOLLOWS, "aurora_global": True}, "unexpected keyword argument 'aurora_global'"),
    # What a follower follows is required: its source and the writer's secret.
    ("follower", {"replica_source_arn": FOLLOWS["replica_source_arn"],
                  "source_master_secret_name": FOLLOWS["source_master_secret_name"]},
     "missing 1 required keyword-only argument: 'source_master_secret_arn'"),
    ("follower", {"replica_source_arn": FOLLOWS["replica_source_arn"],
                  "source_master_secret_arn": FOLLOWS["source_master_secret_arn"]},
     "missing 1 required keyword-only argument: 'source_master_secret_name'"),
    ("follower", {"source_master_secret_arn": FOLLOWS["source_master_secret_arn"],
                  "source_master_secret_name": FOLLOWS["source_master_secret_name"]},
     "missing 1 required keyword-only argument: 'replica_source_arn'"),
])
def test_writer_and_follower_cannot_be_mixed(mode, fields, message):
    from components.data.database import FollowerDatabaseArgs, WriterDatabaseArgs

    args_type = {"writer": WriterDatabaseArgs, "follower": FollowerDatabaseArgs}[mode]
    with pytest.raises(TypeError, match=message):
        args_type(**placement(), **fields)


@pytest.mark.parametrize(("phase", "cutover", "message"), [
    (4, False, "aurora_global needs spec.aurora and cutover"),
    (3, True, "aurora_global needs spec.aurora and cutover"),
])
def test_only_a_promoted_cluster_leads_a_global_database(phase, cutover, message):
    from components.data.database import WriterDatabaseArgs

    with pytest.raises(ValueError, match=message):
        WriterDatabaseArgs(**placement(phase), cutover=cutover, aurora_global=True)
    if phase == 4:
        assert WriterDatabaseArgs(**placement(4), cutover=True, aurora_global=True).aurora_global is True


def test_a_secondary_cluster_needs_the_phases_aurora_block():
    from components.data.database import AuroraSecondary, FollowerDatabaseArgs

    secondary = AuroraSecondary(global_cluster_id="qnom-prod-db", engine_version="16.4")
    with pytest.raises(ValueError, match="aurora_secondary needs spec.aurora"):
        FollowerDatabaseArgs(**placement(3), **FOLLOWS, aurora_secondary=secondary)
    assert FollowerDatabaseArgs(**placement(4), **FOLLOWS, aurora_secondary=secondary).aurora_secondary is secondary
