"""Dns component through the offline engine, wired to Edge the way the platform wires them:
Dns needs the distribution's name, Edge needs Dns's certificate, so the distribution's name
reaches Dns through deferred outputs. Stub load balancers, explicit providers per region."""

from __future__ import annotations

import textwrap

import pytest

from components.edge.dns import regional_origin_name, route53_interval
from phases.settings import SettingsError, settings_from_config
from qnom.engine import run_program
from qnom.mocks import _hosted_zone
from tests.support import Plan, stack_config

PROGRAM = """
    import pulumi
    import pulumi_aws as aws

    from components.edge.dns import Dns, DnsArgs, DnsRegion
    from components.edge.edge import ApiOrigin, Edge, EdgeArgs
    from phases.settings import read_pulumi_config, settings_from_config

    ALB_ZONES = {"us-east-1": "Z35SXDOTRQ7X7K", "us-west-2": "Z1H1FL5HABSF5", "eu-west-1": "Z32O12XQLNTSW2"}

    settings = settings_from_config(read_pulumi_config(), stack=pulumi.get_stack())
    phase = settings.phase
    providers = {region: aws.Provider(f"aws-{region}", aws.ProviderArgs(region=region)) for region in ALB_ZONES}
    albs = {spec.name: f"qnom-{spec.name}.{spec.name}.elb.amazonaws.com" for spec in phase.regions}

    cloudfront_name, resolve_name = pulumi.deferred_output()
    cloudfront_zone, resolve_zone = pulumi.deferred_output()
    dns = Dns("dns", DnsArgs(
        domain=settings.domain,
        zone_mode=settings.hosted_zone,
        routing=settings.routing,
        regions=[DnsRegion(spec.name, spec.weight, albs[spec.name], ALB_ZONES[spec.name], providers[spec.name])
                 for spec in phase.regions],
        health_check=phase.api.health_check,
        cloudfront_domain_name=cloudfront_name,
        cloudfront_zone_id=cloudfront_zone,
        global_provider=providers["us-east-1"],
        profile=settings.profile,
    ))
    edge = Edge("edge", EdgeArgs(
        cdn=phase.cdn,
        rate_limit_per_5min=phase.api.rate_limit_per_5min,
        profile=settings.profile,
        api_origins=[ApiOrigin(spec.name, albs[spec.name]) for spec in phase.regions],
        provider=providers["us-east-1"],
        health_path=phase.api.health_check.path,
        domain=settings.domain,
        certificate_arn=dns.cloudfront_certificate_arn,
    ))
    resolve_name(edge.domain_name)
    resolve_zone(edge.hosted_zone_id)
    pulumi.export("zoneId", dns.zone_id)
    pulumi.export("healthCheckIds", dns.health_check_ids)
    pulumi.export("apiFqdn", dns.api_fqdn)
"""
DOMAIN = "api.example.com"
RECORD = "aws:route53/record:Record"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
CERTIFICATE = "aws:acm/certificate:Certificate"
VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
ALB_ZONES = {"us-east-1": "Z35SXDOTRQ7X7K", "us-west-2": "Z1H1FL5HABSF5", "eu-west-1": "Z32O12XQLNTSW2"}
REGIONS = ("us-east-1", "us-west-2", "eu-west-1")


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    path = tmp_path_factory.mktemp("dns-program") / "__main__.py"
    path.write_text(textwrap.dedent(PROGRAM))
    return path


@pytest.fixture(scope="module")
def dns(program):
    def build(phase: int, environment: str = "prod", **settings) -> Plan:
        config = stack_config(environment, phase, domain=DOMAIN, **settings)
        return Plan(run_program(environment, config, program=program))
    return build


def _routed(plan: Plan) -> list:
    return [r for r in plan.of_type(RECORD) if r.inputs["name"] == "origin.api.example.com"]


def _providers(plan: Plan) -> dict[str, str]:
    return {r.inputs["region"]: r.urn for r in plan.of_type("pulumi:providers:aws")}


@pytest.mark.parametrize("phase", [3, 4])
def test_latency_records_carry_set_identifiers_and_health_checks(dns, phase):
    plan = dns(phase)
    records = {r.inputs["setIdentifier"]: r for r in _routed(plan)}
    assert sorted(records) == sorted(REGIONS)
    for region, record in records.items():
        assert record.inputs["type"] == "A"
        assert record.inputs["latencyRoutingPolicies"] == [{"region": region}]
        assert "weightedRoutingPolicies" not in record.inputs
        assert record.inputs["aliases"] == [{
            "name": f"qnom-{region}.{region}.elb.amazonaws.com", "zoneId": ALB_ZONES[region],
            "evaluateTargetHealth": True}]
        assert record.dependencies["healthCheckId"] == [plan.named(f"dns-health-{region}", HEALTH_CHECK).urn]


def test_weighted_mode_uses_the_catalog_weights(dns):
    records = {r.inputs["setIdentifier"]: r.inputs for r in _routed(dns(3, routing="weighted"))}
    assert {region: inputs["weightedRoutingPolicies"] for region, inputs in records.items()} == {
        "us-east-1": [{"weight": 50}], "us-west-2": [{"weight": 25}], "eu-west-1": [{"weight": 25}]}
    assert not any("latencyRoutingPolicies" in inputs for inputs in records.values())


@pytest.mark.parametrize("phase", [1, 2])
def test_single_region_gets_a_plain_alias(dns, phase):
    (record,) = _routed(dns(phase))
    assert record.name == "dns-origin-us-east-1"
    for key in ("setIdentifier", "healthCheckId", "latencyRoutingPolicies", "weightedRoutingPolicies"):
        assert key not in record.inputs
    assert record.inputs["aliases"][0]["name"] == "qnom-us-east-1.us-east-1.elb.amazonaws.com"


def test_new_set_members_wait_for_the_primary_record(dns):
    plan = dns(3)
    primary = plan.named("dns-origin-us-east-1", RECORD)
    assert primary.options["dependsOn"] == []
    for region in ("us-west-2", "eu-west-1"):
        assert plan.named(f"dns-origin-{region}", RECORD).options["dependsOn"] == [primary.urn]


def test_primary_record_keeps_its_urn_when_regions_are_added(dns):
    assert dns(2).named("dns-origin-us-east-1", RECORD).urn == dns(3).named("dns-origin-us-east-1", RECORD).urn


@pytest.mark.parametrize("phase", [1, 3])
def test_a_health_check_per_region(dns, phase):
    plan = dns(phase)
    checks = plan.of_type(HEALTH_CHECK)
    assert len(checks) == (1 if phase == 1 else 3)
    for check in checks:
        region = check.name.removeprefix("dns-health-")
        assert check.inputs == {
            "type": "HTTPS", "fqdn": f"{region}.origin.api.example.com", "port": 443, "resourcePath": "/health",
            "enableSni": True, "failureThreshold": 3, "requestInterval": 10,
            "tags": {"Name": f"dns-{region}"},
        }
        assert check.options["dependsOn"] == [plan.named(f"dns-origin-pinned-{region}", RECORD).urn]
    assert sorted(plan.outputs["healthCheckIds"]) == sorted(c.name.removeprefix("dns-health-") for c in checks)


@pytest.mark.parametrize(("catalog", "route53"), [(5, 10), (10, 10), (11, 30), (30, 30), (60, 30)])
def test_route53_interval_is_the_nearest_allowed_at_least_as_often(catalog, route53):
    assert route53_interval(catalog) == route53


def test_pinned_records_lead_to_each_regions_load_balancer(dns):
    plan = dns(3)
    for region in REGIONS:
        record = plan.named(f"dns-origin-pinned-{region}", RECORD)
        assert record.inputs["name"] == regional_origin_name(DOMAIN, region) == f"{region}.origin.api.example.com"
        assert "setIdentifier" not in record.inputs
        assert record.inputs["aliases"][0]["zoneId"] == ALB_ZONES[region]


def test_public_name_points_at_cloudfront_over_ipv4_and_ipv6(dns):
    plan = dns(3)
    distribution = plan.named("edge-cdn", "aws:cloudfront/distribution:Distribution")
    for record_type in ("A", "AAAA"):
        record = plan.named(f"dns-public-{record_type.lower()}", RECORD)
        assert record.inputs["name"] == "api.example.com"
        assert record.inputs["type"] == record_type
        assert record.inputs["aliases"][0]["evaluateTargetHealth"] is False
        # The deferred outputs carry the distribution as a dependency, so the record waits for it.
        assert record.dependencies["aliases"] == [distribution.urn]
    assert plan.outputs["apiFqdn"] == "api.example.com"


def test_certificates_cover_the_names_cloudfront_connects_to(dns):
    plan = dns(3)
    certificates = {c.name.removeprefix("dns-cert-"): c.inputs for c in plan.of_type(CERTIFICATE)}
    assert certificates["cloudfront"] == {"domainName": "api.example.com", "validationMethod": "DNS",
                                          "tags": {"Name": "api.example.com"}}
    distribution = plan.named("edge-cdn", "aws:cloudfront/distribution:Distribution")
    origins = {o["originId"]: o["domainName"] for o in distribution.inputs["origins"]}
    for region in REGIONS:
        covered = [certificates[region]["domainName"], *certificates[region]["subjectAlternativeNames"]]
        assert covered == ["origin.api.example.com", f"{region}.origin.api.example.com"]
        assert origins["api"] in covered  # every region's load balancer may answer the routed name
    for origin_id in ("api-us-east-1", "api-us-west-2"):
        region = origin_id.removeprefix("api-")
        assert origins[origin_id] in [certificates[region]["domainName"],
                                      *certificates[region]["subjectAlternativeNames"]]
    viewer = distribution.inputs["viewerCertificate"]
    assert viewer["minimumProtocolVersion"] == "TLSv1.2_2021"
    assert distribution.dependencies["viewerCertificate"] == [plan.named("dns-cert-cloudfront", VALIDATION).urn]


def test_one_validation_record_per_name(dns):
    plan = dns(3)
    records = {r.name: r for r in plan.of_type(RECORD) if r.name.startswith("dns-validation-")}
    assert sorted(records) == sorted(["dns-validation-public", "dns-validation-origin",
                                      *(f"dns-validation-origin-{region}" for region in REGIONS)])
    assert all(r.inputs["allowOverwrite"] is True and r.inputs["ttl"] == 300 for r in records.values())
    validation = plan.named("dns-cert-us-west-2", VALIDATION)
    assert sorted(validation.dependencies["validationRecordFqdns"]) == sorted([
        records["dns-validation-origin"].urn, records["dns-validation-origin-us-west-2"].urn])
    assert plan.named("dns-cert-cloudfront", VALIDATION).dependencies["validationRecordFqdns"] == [
        records["dns-validation-public"].urn]


def test_every_child_in_a_region_uses_that_regions_provider(dns):
    plan = dns(3)
    providers = _providers(plan)
    component = plan.named("dns", "qnom:components:Dns")
    children = plan.children_of(component)
    for child in children:
        region = child.name.removeprefix("dns-cert-")
        expected = region if region in REGIONS else "us-east-1"
        assert child.provider == providers[expected], child.urn
    regional = [c for c in children if c.name.removeprefix("dns-cert-") in ("us-west-2", "eu-west-1")]
    assert sorted((c.type, plan.region_of(c)) for c in regional) == sorted(
        [(CERTIFICATE, "eu-west-1"), (VALIDATION, "eu-west-1"), (CERTIFICATE, "us-west-2"), (VALIDATION, "us-west-2")])
    # CloudFront's certificate and the CLOUDFRONT-scope web ACL live in us-east-1.
    assert plan.region_of(plan.named("dns-cert-cloudfront", CERTIFICATE)) == "us-east-1"
    assert plan.region_of(plan.named("dns-cert-cloudfront", VALIDATION)) == "us-east-1"
    assert plan.region_of(plan.named("edge-waf", "aws:wafv2/webAcl:WebAcl")) == "us-east-1"


def test_lookup_mode_uses_the_existing_zone(dns):
    plan = dns(3)
    assert plan.of_type("aws:route53/zone:Zone") == []
    zone_id = _hosted_zone("us-east-1", {"name": DOMAIN})["zoneId"]
    assert plan.outputs["zoneId"] == zone_id
    assert {r.inputs["zoneId"] for r in plan.of_type(RECORD) if not r.name.startswith("dns-validation-")} == {zone_id}


@pytest.mark.parametrize(("environment", "protect"), [("prod", True), ("dev", False)])
def test_create_mode_creates_a_stateful_zone(dns, environment, protect):
    plan = dns(3, environment, hostedZone="create")
    zone = plan.named("dns-zone", "aws:route53/zone:Zone")
    assert zone.inputs["name"] == "api.example.com"
    assert zone.options["protect"] is protect
    assert plan.region_of(zone) == "us-east-1"
    assert all(r.dependencies["zoneId"] == [zone.urn] for r in plan.of_type(RECORD))


def test_dns_resources_keep_urns_through_promotions(dns):
    """Adding regions adds resources; nothing under Dns changes URN or replacement-forcing input."""
    def forcing(plan: Plan) -> dict:
        return {r.urn: (r.inputs.get("name"), r.inputs.get("domainName"), r.inputs.get("subjectAlternativeNames"),
                        r.provider) for r in plan.resources if r.urn.startswith(
            "urn:pulumi:prod::qnom::qnom:components:Dns$") and r.type != RECORD}
    before, after = forcing(dns(2)), forcing(dns(3))
    assert set(before) < set(after)
    assert {urn: after[urn] for urn in before} == before
    assert forcing(dns(4)) == after


@pytest.mark.parametrize(("config", "routing", "hosted_zone"), [
    ({}, "latency", "lookup"),
    ({"qnom:routing": "weighted", "qnom:hostedZone": "create"}, "weighted", "create"),
    ({"qnom:routing": " Latency ", "qnom:hostedZone": "LOOKUP"}, "latency", "lookup"),
    ({"qnom:routing": "", "qnom:hostedZone": ""}, "latency", "lookup"),
])
def test_routing_and_hosted_zone_settings(config, routing, hosted_zone):
    settings = settings_from_config({"qnom:phase": "3", "qnom:environment": "prod", **config}, stack="prod")
    assert (settings.routing, settings.hosted_zone) == (routing, hosted_zone)


def test_bad_routing_and_zone_mode_are_both_reported():
    with pytest.raises(SettingsError) as error:
        settings_from_config({"qnom:phase": "3", "qnom:environment": "prod", "qnom:routing": "geo",
                              "qnom:hostedZone": "import"}, stack="prod")
    assert error.value.problems == [
        "qnom:routing: got 'geo'; allowed values: latency, weighted",
        "qnom:hostedZone: got 'import'; allowed values: lookup, create",
    ]
