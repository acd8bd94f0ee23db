"""The Search component: an OpenSearch domain in the VPC, from phase 3."""

from __future__ import annotations

import textwrap

import pytest

from components.policy_documents import domain_access_policy, log_delivery_policy
from components.data.search import SearchArgs
from phases.catalog import load_phase
from phases.environment import PROFILES
from qnom.engine import run_program
from tests.support import Plan, build

DOMAIN = "aws:opensearch/domain:Domain"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
NAME = "us-east-1-search-domain"


def source_names(resource, prop: str) -> list[str]:
    return sorted(urn.rsplit("::", 1)[1] for urn in resource.dependencies.get(prop, []))


@pytest.mark.parametrize(("phase", "present"), [(1, False), (2, False), (3, True), (4, True)])
def test_search_is_present_from_phase_3(phase, present):
    assert bool(build("prod", phase).of_type(DOMAIN)) is present


@pytest.mark.parametrize(("phase", "instance_type", "count", "volume"), [
    (3, "r6g.large.search", 3, 100),
    (4, "r6g.xlarge.search", 6, 200),
])
def test_phase_sizes_the_domain_across_three_zones(phase, instance_type, count, volume):
    domain = build("prod", phase).named(NAME, DOMAIN)
    cluster = domain.inputs["clusterConfig"]
    assert (cluster["instanceType"], cluster["instanceCount"]) == (instance_type, count)
    assert cluster["zoneAwarenessEnabled"] is True
    assert cluster["zoneAwarenessConfig"] == {"availabilityZoneCount": 3}
    assert domain.inputs["ebsOptions"] == {"ebsEnabled": True, "volumeType": "gp3", "volumeSize": volume}
    assert domain.inputs["engineVersion"] == "OpenSearch_2.13"


@pytest.mark.parametrize(("environment", "masters"), [("prod", True), ("dev", False)])
def test_dedicated_masters_in_prod(environment, masters):
    cluster = build(environment, 3).named(NAME, DOMAIN).inputs["clusterConfig"]
    assert cluster["dedicatedMasterEnabled"] is masters
    if masters:
        assert (cluster["dedicatedMasterType"], cluster["dedicatedMasterCount"]) == ("m6g.large.search", 3)
    else:
        assert "dedicatedMasterType" not in cluster


def test_domain_is_encrypted_https_only_and_access_controlled():
    plan = build("prod", 3)
    domain = plan.named(NAME, DOMAIN)
    assert domain.inputs["encryptAtRest"]["enabled"] is True
    assert source_names(domain, "encryptAtRest") == ["us-east-1-search-key"]
    assert domain.inputs["nodeToNodeEncryption"] == {"enabled": True}
    assert domain.inputs["domainEndpointOptions"] == {
        "enforceHttps": True, "tlsSecurityPolicy": "Policy-Min-TLS-1-2-2019-07"}
    security = domain.inputs["advancedSecurityOptions"]
    assert security["enabled"] is True and security["internalUserDatabaseEnabled"] is True
    assert security["anonymousAuthEnabled"] is False
    assert security["masterUserOptions"]["masterUserPassword"] in ("[secret]", "[unknown]")
    assert source_names(domain, "advancedSecurityOptions") == ["us-east-1-search-master-password"]
    assert domain.options["protect"] is True


def test_master_password_lives_in_secrets_manager():
    plan = build("prod", 3)
    secret = plan.named("us-east-1-search-master", "aws:secretsmanager/secret:Secret")
    assert source_names(secret, "kmsKeyId") == ["us-east-1-search-key"]
    version = plan.named("us-east-1-search-master", "aws:secretsmanager/secretVersion:SecretVersion")
    assert version.inputs["secretString"] in ("[secret]", "[unknown]")


def test_domain_sits_in_the_isolated_subnets_and_logs_to_cloudwatch():
    plan = build("prod", 3)
    domain = plan.named(NAME, DOMAIN)
    assert domain.inputs["domainName"] == "qnom-prod-search"
    isolated = [f"us-east-1-network-isolated-us-east-1{zone}" for zone in "abc"]
    assert source_names(domain, "vpcOptions") == sorted(isolated + ["us-east-1-search-sg"])
    logs = {option["logType"] for option in domain.inputs["logPublishingOptions"]}
    assert logs == {"INDEX_SLOW_LOGS", "SEARCH_SLOW_LOGS", "ES_APPLICATION_LOGS", "AUDIT_LOGS"}
    assert all(option["enabled"] for option in domain.inputs["logPublishingOptions"])
    assert plan.named("us-east-1-search-logs").urn in domain.options["dependsOn"]
    statement = log_delivery_policy(["arn:group"])["Statement"][0]
    assert statement["Principal"] == {"Service": "es.amazonaws.com"}
    assert statement["Resource"] == ["arn:group:*"]


def test_access_policy_covers_this_domain_only():
    statement = domain_access_policy("arn:aws:es:us-east-1:123456789012:domain/qnom-prod-search")["Statement"][0]
    assert statement["Action"] == "es:ESHttp*"
    assert statement["Resource"] == "arn:aws:es:us-east-1:123456789012:domain/qnom-prod-search/*"
    policy = build("prod", 3).named("us-east-1-search-access")
    assert source_names(policy, "accessPolicies") == [NAME]


COMPONENT_PROGRAM = textwrap.dedent('''
    import pulumi
    import pulumi_aws as aws

    from components.data.search import Search, SearchArgs
    from phases.catalog import load_phase
    from phases.environment import PROFILES

    provider = aws.Provider("aws-us-east-1", aws.ProviderArgs(region="us-east-1"))
    Search("us-east-1-search", SearchArgs(
        spec=load_phase(3).search,
        domain_name="qnom-test-search",
        vpc_id="vpc-stub",
        subnet_ids=["subnet-a", "subnet-b", "subnet-c"],
        profile=PROFILES["prod"],
        client_security_groups={"api": "sg-api-stub", "workers": "sg-workers-stub"},
        create_service_linked_role=pulumi.Config("test").get_bool("createServiceRole") is not False,
    ), pulumi.ResourceOptions(providers={"aws": provider}))
''')


def test_only_the_client_tiers_reach_the_domain(tmp_path):
    program = tmp_path / "program.py"
    program.write_text(COMPONENT_PROGRAM)
    run = run_program("prod", {"aws:region": "us-east-1"}, program=program)
    rules = [r for r in run.resources if r.type == INGRESS]
    assert sorted(r.inputs["referencedSecurityGroupId"] for r in rules) == ["sg-api-stub", "sg-workers-stub"]
    for rule in rules:
        assert (rule.inputs["fromPort"], rule.inputs["toPort"]) == (443, 443)
        assert not {"cidrIpv4", "cidrIpv6", "prefixListId"} & set(rule.inputs)
    domain = next(r for r in run.resources if r.type == DOMAIN)
    assert domain.inputs["vpcOptions"]["subnetIds"] == ["subnet-a", "subnet-b", "subnet-c"]


@pytest.mark.parametrize(("domain_name", "subnets", "message"), [
    ("Qnom-search", 3, "must be 3-28 characters"),
    ("qnom-a-very-long-stack-name-search", 3, "must be 3-28 characters"),
    ("qnom-prod-search", 2, "one subnet in each of 3 zones"),
])
def test_search_arguments_are_validated(domain_name, subnets, message):
    with pytest.raises(ValueError, match=message):
        SearchArgs(spec=load_phase(3).search, domain_name=domain_name, vpc_id="vpc",
                   subnet_ids=[f"subnet-{i}" for i in range(subnets)], profile=PROFILES["prod"])


# The account's service-linked role (AWS: a VPC domain needs it first) --------------------

ROLE = "aws:iam/serviceLinkedRole:ServiceLinkedRole"


@pytest.mark.parametrize("environment", ["dev", "prod"])
@pytest.mark.parametrize("phase", [3, 4])
def test_the_stack_creates_the_opensearch_service_role_and_keeps_it(environment, phase):
    plan = build(environment, phase)
    [role] = plan.of_type(ROLE)
    assert role.name == "us-east-1-search-service-role"
    assert role.inputs["awsServiceName"] == "opensearchservice.amazonaws.com"
    # Account-wide: a destroy of this stack leaves it for the account's other domains.
    assert role.options["retainOnDelete"] is True
    assert role.options["protect"] is False
    assert plan.named(NAME, DOMAIN).options["dependsOn"] == sorted([
        role.urn, plan.named("us-east-1-search-logs").urn])
    assert role.parent == plan.named("us-east-1-search").urn


def test_an_account_with_the_role_creates_none(tmp_path):
    # What `qnom:openSearchServiceRole existing` asks of the component (region.py passes it on).
    program = tmp_path / "program.py"
    program.write_text(COMPONENT_PROGRAM)
    plan = Plan(run_program("prod", {"aws:region": "us-east-1", "test:createServiceRole": False}, program=program))
    assert plan.of_type(ROLE) == []
    assert plan.named(NAME, DOMAIN).options["dependsOn"] == [plan.named("us-east-1-search-logs").urn]


@pytest.mark.parametrize("phase", [1, 2])
def test_no_role_before_search(phase):
    assert build("prod", phase).of_type(ROLE) == []
