"""DNS and certificates of the platform, with `qnom:domain` only.

Creates: the Route 53 hosted zone of the domain (looked up, or created and protected);
ACM certificates validated through DNS, one in us-east-1 for CloudFront and one per region
for that region's ALB (each through that region's provider); one validation record per
certificate name and a certificate validation per certificate; a Route 53 HTTPS health
check per region; and these records:

    <domain>                   A + AAAA alias -> CloudFront (the public API name)
    origin.<domain>            A alias -> the regions' ALBs, a latency or weighted set with a
                               health check per member (a plain alias while there is one region)
    <region>.origin.<domain>   A alias -> that region's ALB (pinned to the region)

CloudFront's API origin connects to `origin.<domain>`, so Route 53 picks the region for each
edge location and drops regions whose health check fails; CloudFront's failover origins and
the health checks connect to the pinned names. CloudFront validates the origin's certificate
against the origin's domain name (the viewer's Host header is not forwarded), so each region's
certificate covers exactly the two origin names that lead to its ALB.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_aws as aws

from components.defaults import HTTPS_PORT, stateful_options
from phases.environment import EnvironmentProfile
from phases.models import HealthCheck
from phases.settings import HostedZoneMode, RoutingMode

ORIGIN_LABEL = "origin"
VALIDATION_TTL_SECONDS = 300
# Route 53 health checkers probe every 10 s ("fast") or every 30 s; nothing else is accepted.
ROUTE53_INTERVALS = (10, 30)


def origin_name(domain: str) -> str:
    """The routed origin name: a latency or weighted set over every region's ALB."""
    return f"{ORIGIN_LABEL}.{domain}"


def regional_origin_name(domain: str, region: str) -> str:
    """The origin name pinned to one region's ALB."""
    return f"{region}.{ORIGIN_LABEL}.{domain}"


def route53_interval(catalog_interval_seconds: int) -> int:
    """The Route 53 request interval closest to the catalog's health-check interval without
    probing less often than it: the seed checks every 5 s, so Route 53 checks every 10 s."""
    return next((interval for interval in ROUTE53_INTERVALS if interval >= catalog_interval_seconds),
                ROUTE53_INTERVALS[-1])


@dataclass(frozen=True)
class DnsRegion:
    name: str
    """AWS region name (e.g. us-west-2); also the set identifier of its routed record."""
    weight: int
    """Share of traffic in weighted routing, percent (the catalog's regions[].weight)."""
    alb_dns_name: pulumi.Input[str]
    """DNS name of the region's ALB."""
    alb_zone_id: pulumi.Input[str]
    """Canonical hosted zone id of the region's ALB (the alias target's zone)."""
    provider: aws.Provider
    """The region's explicit AWS provider; the region's ALB certificate is created through it."""


@dataclass(frozen=True)
class DnsArgs:
    domain: str
    """Public API name and name of the hosted zone (e.g. api.example.com)."""
    zone_mode: HostedZoneMode
    """lookup: use the existing public zone named `domain`; create: create (and protect) it."""
    routing: RoutingMode
    """How the routed origin name spreads traffic over the regions (default latency)."""
    regions: Sequence[DnsRegion]
    """The phase's regions in catalog order, primary first."""
    health_check: HealthCheck
    """The catalog's API health check (path, interval, unhealthy threshold)."""
    cloudfront_domain_name: pulumi.Input[str]
    """Domain name of the CloudFront distribution the public name points at."""
    cloudfront_zone_id: pulumi.Input[str]
    """Hosted zone id of the CloudFront distribution (alias target zone)."""
    global_provider: aws.Provider
    """The us-east-1 provider: Route 53, the health checks and CloudFront's certificate use it."""
    profile: EnvironmentProfile
    """Environment profile: protects a created zone in prod."""


@dataclass(frozen=True)
class _Certificate:
    key: str
    names: list[tuple[str, str]]  # (role, fqdn); the first is the certificate's domain name
    resource: aws.acm.Certificate
    options: pulumi.ResourceOptions


class Dns(pulumi.ComponentResource):
    zone_id: pulumi.Output[str]
    name_servers: pulumi.Output[list[str]] | None
    cloudfront_certificate_arn: pulumi.Output[str]
    regional_certificate_arns: dict[str, pulumi.Output[str]]
    health_check_ids: dict[str, pulumi.Output[str]]
    api_fqdn: str
    origin_fqdn: str
    regional_origin_fqdns: dict[str, str]

    def __init__(self, name: str, args: DnsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("qnom:components:Dns", name, None, opts)
        _check(args)
        self._name, self._args = name, args
        # Route 53 and ACM for CloudFront are global services answered from us-east-1; the
        # explicit provider keeps them off the stack's default provider, whose region may change.
        self._global = pulumi.ResourceOptions(parent=self, provider=args.global_provider)
        self.api_fqdn = args.domain
        self.origin_fqdn = origin_name(args.domain)
        self.regional_origin_fqdns = {region.name: regional_origin_name(args.domain, region.name)
                                      for region in args.regions}

        self.zone_id, self.name_servers = self._zone()
        certificates = [self._create_certificate("cloudfront", [("public", self.api_fqdn)], self._global)]
        certificates += [self._create_regional_certificate(region) for region in args.regions]
        validation_fqdns = self._create_validation_records(certificates)
        arns = {cert.key: self._validate(cert, validation_fqdns) for cert in certificates}
        self.cloudfront_certificate_arn = arns.pop("cloudfront")
        self.regional_certificate_arns = arns

        self._create_public_records()
        pinned = self._create_pinned_records()
        self.health_check_ids = {region.name: self._create_health_check(region, pinned[region.name])
                                 for region in args.regions}
        self._create_routed_records()

        self.register_outputs({
            "zone_id": self.zone_id,
            "name_servers": self.name_servers,
            "cloudfront_certificate_arn": self.cloudfront_certificate_arn,
            "regional_certificate_arns": self.regional_certificate_arns,
            "health_check_ids": self.health_check_ids,
            "api_fqdn": self.api_fqdn,
            "origin_fqdn": self.origin_fqdn,
            "regional_origin_fqdns": self.regional_origin_fqdns,
        })

    def _zone(self) -> tuple[pulumi.Output[str], pulumi.Output[list[str]] | None]:
        if self._args.zone_mode == "create":
            # Stateful: a new zone has new name servers, so replacing it breaks the delegation.
            zone = aws.route53.Zone(f"{self._name}-zone", aws.route53.ZoneArgs(
                name=self._args.domain,
                comment=f"Public API zone of {self._args.domain}, managed by Pulumi",
            ), stateful_options(self._global, self._args.profile))
            return zone.zone_id, zone.name_servers
        found = aws.route53.get_zone_output(
            name=self._args.domain, private_zone=False,
            opts=pulumi.InvokeOutputOptions(parent=self, provider=self._args.global_provider),
        )
        return found.zone_id, None

    def _create_certificate(self, key: str, names: list[tuple[str, str]],
                            options: pulumi.ResourceOptions) -> _Certificate:
        # Domain name and SANs force a new certificate; Pulumi creates it before deleting the
        # old one, so listeners and the distribution move over without a gap.
        certificate = aws.acm.Certificate(f"{self._name}-cert-{key}", aws.acm.CertificateArgs(
            domain_name=names[0][1],
            subject_alternative_names=[fqdn for _, fqdn in names[1:]] or None,
            validation_method="DNS",
            tags={"Name": names[0][1]},
        ), options)
        return _Certificate(key=key, names=names, resource=certificate, options=options)

    def _create_regional_certificate(self, region: DnsRegion) -> _Certificate:
        # Created through the region's provider (an ALB only takes a certificate of its own
        # region) but kept under Dns, which owns every name in the zone; parent and provider
        # are the same in every phase, and a new region only adds its own certificate.
        return self._create_certificate(region.name, [
            ("origin", self.origin_fqdn),
            (f"origin-{region.name}", self.regional_origin_fqdns[region.name]),
        ], pulumi.ResourceOptions(parent=self, provider=region.provider))

    def _create_validation_records(self, certificates: list[_Certificate]) -> dict[str, pulumi.Output[str]]:
        """One validation record per name, taken from the first certificate that carries it.

        ACM asks for the same CNAME for a name in every region of an account, so every
        region's certificate for `origin.<domain>` is validated by the primary region's record:
        a single owner per DNS record, and it exists in every phase. `allow_overwrite` adopts a
        record left by an earlier certificate instead of failing on it.
        """
        fqdns: dict[str, pulumi.Output[str]] = {}
        for certificate in certificates:
            for role, name in certificate.names:
                if name in fqdns:
                    continue
                option = certificate.resource.domain_validation_options.apply(
                    lambda options, name=name: next(o for o in options if o.domain_name == name))
                record = aws.route53.Record(f"{self._name}-validation-{role}", aws.route53.RecordArgs(
                    zone_id=self.zone_id,
                    name=option.apply(lambda o: o.resource_record_name),
                    type=option.apply(lambda o: o.resource_record_type),
                    records=[option.apply(lambda o: o.resource_record_value)],
                    ttl=VALIDATION_TTL_SECONDS,
                    allow_overwrite=True,
                ), self._global)
                fqdns[name] = record.fqdn
        return fqdns

    def _validate(self, certificate: _Certificate, fqdns: dict[str, pulumi.Output[str]]) -> pulumi.Output[str]:
        # The validation waits in the certificate's own region until ACM issues it, so the
        # ARN it returns is safe for a listener or the distribution (both refuse a pending one).
        validation = aws.acm.CertificateValidation(f"{self._name}-cert-{certificate.key}", aws.acm.CertificateValidationArgs(
            certificate_arn=certificate.resource.arn,
            validation_record_fqdns=[fqdns[name] for _, name in certificate.names],
        ), certificate.options)
        return validation.certificate_arn

    def _alb_alias(self, region: DnsRegion) -> aws.route53.RecordAliasArgs:
        # Evaluating the ALB's health lets Route 53 skip a region whose targets are all down,
        # on top of the region's own health check.
        return aws.route53.RecordAliasArgs(name=region.alb_dns_name, zone_id=region.alb_zone_id,
                                           evaluate_target_health=True)

    def _create_public_records(self) -> None:
        # CloudFront answers over IPv4 and IPv6 (the distribution enables IPv6), hence A and
        # AAAA. AWS requires evaluate_target_health to be false for a CloudFront alias target.
        for record_type in ("A", "AAAA"):
            aws.route53.Record(f"{self._name}-public-{record_type.lower()}", aws.route53.RecordArgs(
                zone_id=self.zone_id,
                name=self.api_fqdn,
                type=record_type,
                aliases=[aws.route53.RecordAliasArgs(
                    name=self._args.cloudfront_domain_name,
                    zone_id=self._args.cloudfront_zone_id,
                    evaluate_target_health=False,
                )],
            ), self._global)

    def _create_pinned_records(self) -> dict[str, aws.route53.Record]:
        # A records only: CloudFront and Route 53 reach the ALBs over IPv4, and an AAAA alias
        # to an IPv4-only load balancer would only answer empty.
        return {region.name: aws.route53.Record(f"{self._name}-origin-pinned-{region.name}", aws.route53.RecordArgs(
            zone_id=self.zone_id,
            name=self.regional_origin_fqdns[region.name],
            type="A",
            aliases=[self._alb_alias(region)],
        ), self._global) for region in self._args.regions}

    def _create_health_check(self, region: DnsRegion, pinned: aws.route53.Record) -> pulumi.Output[str]:
        # Probes a name CloudFront uses, over HTTPS with SNI (the region's certificate covers
        # it), so the record, the listener and the API's health endpoint are tested together.
        # Route 53 speaks TLS 1.0-1.2 only: the listener's policy must keep TLS 1.2.
        check = self._args.health_check
        health_check = aws.route53.HealthCheck(f"{self._name}-health-{region.name}", aws.route53.HealthCheckArgs(
            type="HTTPS",
            fqdn=self.regional_origin_fqdns[region.name],
            port=HTTPS_PORT,
            resource_path=check.path,
            enable_sni=True,
            failure_threshold=check.unhealthy_threshold,
            request_interval=route53_interval(check.interval_seconds),
            tags={"Name": f"{self._name}-{region.name}"},
        ), pulumi.ResourceOptions.merge(self._global, pulumi.ResourceOptions(depends_on=[pinned])))
        return health_check.id

    def _routing_policy(self, region: DnsRegion) -> dict:
        if len(self._args.regions) == 1:
            return {}  # one region: a plain alias, no set identifier and nothing to route between
        policy = ({"latency_routing_policies": [aws.route53.RecordLatencyRoutingPolicyArgs(region=region.name)]}
                  if self._args.routing == "latency" else
                  {"weighted_routing_policies": [aws.route53.RecordWeightedRoutingPolicyArgs(weight=region.weight)]})
        return {"set_identifier": region.name, "health_check_id": self.health_check_ids[region.name], **policy}

    def _create_routed_records(self) -> None:
        primary: aws.route53.Record | None = None
        for region in self._args.regions:
            options = self._global
            if primary is not None:
                # When a phase adds regions, the primary's record turns from a plain alias into
                # a set member in place (a set-identifier change is one atomic Route 53 change);
                # Route 53 refuses set members beside a plain record of the same name, so the
                # new members wait for it.
                options = pulumi.ResourceOptions.merge(options, pulumi.ResourceOptions(depends_on=[primary]))
            record = aws.route53.Record(f"{self._name}-origin-{region.name}", aws.route53.RecordArgs(
                zone_id=self.zone_id,
                name=self.origin_fqdn,
                type="A",
                aliases=[self._alb_alias(region)],
                **self._routing_policy(region),
            ), options)
            primary = primary or record


def _check(args: DnsArgs) -> None:
    # The modes are the settings' Literals and the weights the phase model's (they sum to 100).
    if not args.regions:
        raise ValueError("Dns: regions: at least one region is needed")
