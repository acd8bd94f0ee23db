"""What the app instances are given and when they boot: the app configuration of every region
(SSM parameters named as the seed's code reads them), its pool sizes from the catalog, and the
deploy order (NAT after the internet gateway, app groups after their egress, configuration and
grants, the request-count policy after the listener)."""

from __future__ import annotations

import json

import pytest

from components.compute import app_config
from qnom import mocks
from phases.catalog import load_phase
from tests.support import build

PARAMETER = "aws:ssm/parameter:Parameter"
ASG = "aws:autoscaling/group:Group"


def parameters(plan, region: str) -> dict:
    return {r.inputs["name"].rsplit("/", 1)[1]: r for r in plan.of_type(PARAMETER)
            if r.name.startswith(f"{region}-app-config-")}


def names(urns: list[str]) -> list[str]:
    return sorted(urn.rsplit("::", 1)[1] for urn in urns)


# Pool sizes -------------------------------------------------------------------------------

@pytest.mark.parametrize(("phase", "cutover", "instances", "per_host", "pool"), [
    (1, False, 2, 3, (2, 26)),      # 2 API, no replica: 0.8 x 200 / (2 x 3)
    (2, False, 24, 2, (2, 8)),      # surge 20 + 4 workers, one replica: 0.8 x 500 / (24 x 2)
    (3, False, 80, 1, (2, 10)),     # surge 50 + 10 + 10 + 10 workers: 0.8 x 1000 / 80
    (4, False, 200, 1, (2, 4)),     # surge 130 + 25 + 25 + 20 workers: 0.8 x 1000 / 200
    (4, True, 200, 2, (2, 2)),      # after the cut-over each region reads from one reader endpoint
])
def test_pool_sizes_keep_every_database_under_the_seeds_80_percent(phase, cutover, instances, per_host, pool):
    spec = load_phase(phase)
    assert app_config.instances_at_once(spec) == instances
    assert app_config.pools_per_host(spec, cutover) == per_host
    assert app_config.pool_size(spec, cutover) == pool
    assert instances * per_host * pool[1] <= 0.8 * spec.database.max_connections


def test_a_limit_too_small_for_the_instances_is_refused():
    spec = load_phase(4)
    tiny = spec.model_copy(update={"database": spec.database.model_copy(update={"max_connections": 100})})
    with pytest.raises(ValueError, match="max_connections"):
        app_config.pool_size(tiny)


# Parameters -------------------------------------------------------------------------------

def test_phase_1_names_every_variable_the_seed_reads_under_the_stacks_path():
    plan = build("prod", 1)
    found = parameters(plan, "us-east-1")
    assert sorted(found) == sorted([
        "DB_WRITE_HOST", "DB_READ_HOST_1", "DB_READ_HOST_2", "DB_PORT", "DB_NAME", "DB_POOL_MIN", "DB_POOL_MAX",
        "DB_SECRET_ID", "REDIS_HOST", "REDIS_READ_HOST", "REDIS_PORT", "REDIS_TLS", "REDIS_AUTH_SECRET_ID", "OBJECT_BUCKET",
        "OBJECT_PREFIX"])
    for key, parameter in found.items():
        assert parameter.inputs["name"] == f"/qnom/prod/app/{key}" and parameter.inputs["type"] == "String"
    assert {key: found[key].inputs["insecureValue"] for key in ("DB_PORT", "DB_NAME", "DB_POOL_MIN", "DB_POOL_MAX",
                                                        "REDIS_PORT", "REDIS_TLS", "OBJECT_PREFIX")} == {
        "DB_PORT": "5432", "DB_NAME": "qnom", "DB_POOL_MIN": "2", "DB_POOL_MAX": "26",
        "REDIS_PORT": "6379", "REDIS_TLS": "true", "OBJECT_PREFIX": "app/"}
    # No replica in phase 1: both read pools go to the writer.
    for key in ("DB_WRITE_HOST", "DB_READ_HOST_1", "DB_READ_HOST_2"):
        assert names(found[key].dependencies["insecureValue"]) == ["us-east-1-db-primary"]
    assert names(found["DB_SECRET_ID"].dependencies["insecureValue"]) == ["us-east-1-db-master"]
    assert names(found["REDIS_HOST"].dependencies["insecureValue"]) == ["us-east-1-cache-group"]
    assert names(found["REDIS_READ_HOST"].dependencies["insecureValue"]) == ["us-east-1-cache-group"]
    assert names(found["REDIS_AUTH_SECRET_ID"].dependencies["insecureValue"]) == ["us-east-1-cache-auth-token"]
    assert names(found["OBJECT_BUCKET"].dependencies["insecureValue"]) == ["us-east-1-storage-objects"]


def test_phase_2_adds_the_queue_and_reads_from_the_replica():
    found = parameters(build("prod", 2), "us-east-1")
    assert names(found["QUEUE_URL"].dependencies["insecureValue"]) == ["us-east-1-queue-main"]
    assert found["DB_POOL_MAX"].inputs["insecureValue"] == "8"
    assert "DB_READ_HOST_3" not in found


@pytest.mark.parametrize("phase", [3, 4])
@pytest.mark.parametrize("region", ["us-west-2", "eu-west-1"])
def test_secondary_regions_write_to_the_primary_and_read_locally(phase, region):
    plan = build("prod", phase)
    found = parameters(plan, region)
    # Writes cross the peering to the primary region's writer; reads stay in the region.
    assert names(found["DB_WRITE_HOST"].dependencies["insecureValue"]) == ["us-east-1-db-primary"]
    for key in ("DB_READ_HOST_1", "DB_READ_HOST_2"):
        # The writer is there only as the fallback of a region without read endpoints.
        assert names(found[key].dependencies["insecureValue"]) == sorted([
            "us-east-1-db-primary", f"{region}-db-replica-0", f"{region}-db-replica-1"])
    # Phase 4: the region's datastore member is read-only, so writes go to the primary's cache.
    serving = f"{region}-cache-global-group" if phase == 4 else f"{region}-cache-group"
    writable = "us-east-1-cache-group" if phase == 4 else serving
    assert names(found["REDIS_HOST"].dependencies["insecureValue"]) == [writable]
    assert names(found["REDIS_READ_HOST"].dependencies["insecureValue"]) == [serving]
    # The database secret is the region's copy of the primary's (same name), decrypted through Secrets
    # Manager in the region, with the region's key.
    assert names(found["DB_SECRET_ID"].dependencies["insecureValue"]) == ["us-east-1-db-master"]
    secrets = plan.named(f"{region}-api-instance-secrets", "aws:iam/rolePolicy:RolePolicy")
    assert "us-east-1-db-master" in names(secrets.dependencies["policy"])
    read, decrypt = json.loads(secrets.inputs["policy"])["Statement"]
    replica = (f"arn:aws:secretsmanager:{region}:123456789012:secret:"
               f"{mocks.auto_name('aws:secretsmanager/secret:Secret', 'us-east-1-db-master')}-??????")
    assert replica in read["Resource"] and replica in decrypt["Condition"]["StringLike"]["kms:EncryptionContext:SecretARN"]
    assert decrypt["Resource"] == f"arn:aws:kms:{region}:123456789012:key/*"
    assert names(found["QUEUE_URL"].dependencies["insecureValue"]) == ["us-east-1-queue-main"]
    assert names(found["OBJECT_BUCKET"].dependencies["insecureValue"]) == ["us-east-1-storage-objects"]
    assert plan.region_of(found["DB_WRITE_HOST"]) == region
    send = plan.named(f"{region}-api-instance-send", "aws:iam/rolePolicy:RolePolicy")
    assert names(send.dependencies["policy"]) == ["us-east-1-queue-main"]


# Deploy order -----------------------------------------------------------------------------

@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_nat_gateways_wait_for_the_internet_gateway(environment):
    plan = build(environment, 2)
    gateways = plan.of_type("aws:ec2/natGateway:NatGateway")
    assert gateways
    for gateway in gateways:
        assert names(gateway.options["dependsOn"]) == ["us-east-1-network-igw"]


@pytest.mark.parametrize("group", ["us-east-1-api-asg", "us-east-1-workers-asg"])
def test_app_groups_wait_for_their_egress_configuration_and_grants(group):
    plan = build("prod", 2)
    waits = names(plan.named(group, ASG).options["dependsOn"])
    zones = ("us-east-1a", "us-east-1b", "us-east-1c")
    for zone in zones:
        assert f"us-east-1-network-private-{zone}-nat" in waits
        assert f"us-east-1-network-private-{zone}" in waits  # the private table's association
    assert "us-east-1-network-public-internet" in waits
    assert "us-east-1-app-config-DB_WRITE_HOST" in waits
    tier = group.removesuffix("-asg")
    assert f"{tier}-instance-secrets" in waits and f"{tier}-instance-config" in waits


def test_request_tracking_waits_for_the_listener():
    plan = build("prod", 3)
    for region in ("us-east-1", "us-west-2"):
        policy = plan.named(f"{region}-api-requests", "aws:autoscaling/policy:Policy")
        assert names(policy.options["dependsOn"]) == [f"{region}-api-https"]
