"""One AWS region of the platform: its explicit AWS provider and everything regional.

Every regional resource hangs under its `Region` and uses the region's provider from
phase 1 on, so adding a region in a later phase only adds siblings. Creates the region's
`Network` and its `ApiTier` (load balancer and API group, sized from the region's
capacity; the traffic schedule only in the primary region).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.api_tier import ApiTier, ApiTierArgs
from components.network import Network, NetworkArgs
from phases.models import RegionSpec
from phases.settings import StackSettings

ZONE_COUNT = 3


def provider_name(region: str) -> str:
    return f"aws-{region}"


@dataclass(frozen=True)
class RegionArgs:
    spec: RegionSpec
    """The region's entry in the phase catalog (name, role, CIDR, capacities)."""
    settings: StackSettings
    """The validated stack settings (phase, environment profile, tags)."""
    session_secret: pulumi.Input[str]
    """The API's session-signing secret, one value for every region."""


class Region(pulumi.ComponentResource):
    provider: aws.Provider
    availability_zones: list[str]
    network: Network
    vpc_id: pulumi.Output[str]
    api: ApiTier

    def __init__(self, name: str, args: RegionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("qnom:components:Region", name, None, opts)
        settings, spec = args.settings, args.spec
        self.provider = self._create_provider(spec.name, settings)
        # Children inherit the provider through their parent, so nothing regional can land
        # in the default provider's region by accident.
        child = pulumi.ResourceOptions(parent=self, providers={"aws": self.provider})
        self.availability_zones = self._pick_zones()
        self.network = Network(f"{name}-network", NetworkArgs(
            region=spec.name,
            cidr=spec.cidr,
            availability_zones=self.availability_zones,
            nat_per_az=settings.nat_per_az,
            flow_log_retention_days=settings.profile.log_retention_days,
        ), child)
        self.vpc_id = self.network.vpc_id
        self.api = self._create_api_tier(name, args, child)
        self.register_outputs({
            "vpc_id": self.vpc_id,
            "availability_zones": self.availability_zones,
            "alb_dns_name": self.api.alb_dns_name,
            "api_asg_name": self.api.asg_name,
        })

    def _create_api_tier(self, name: str, args: RegionArgs, child: pulumi.ResourceOptions) -> ApiTier:
        settings, spec = args.settings, args.spec
        return ApiTier(f"{name}-api", ApiTierArgs(
            region=spec.name,
            vpc_id=self.network.vpc_id,
            vpc_cidr=spec.cidr,
            public_subnet_ids=self.network.public_subnet_ids,
            private_subnet_ids=self.network.private_subnet_ids,
            spec=settings.phase.api,
            capacity=spec.api,
            profile=settings.profile,
            image=settings.api_image,
            session_secret=args.session_secret,
            # Secrets Manager is regional, so the same name serves every region.
            session_secret_name=f"{settings.project}/{settings.stack}/api/session-secret",
            # The seed's traffic pattern is the primary region's; secondaries scale on load.
            schedule=settings.phase.schedule if spec.role == "primary" else None,
            domain=settings.domain,
            tags=settings.tags,
        ), child)

    @staticmethod
    def _create_provider(region: str, settings: StackSettings) -> aws.Provider:
        # Top-level on purpose: a provider's URN must never change (a new provider URN makes
        # every resource using it a replacement), so it does not depend on the component tree.
        return aws.Provider(provider_name(region), aws.ProviderArgs(
            region=region,
            default_tags=aws.ProviderDefaultTagsArgs(tags=settings.tags),
        ))

    def _pick_zones(self) -> list[str]:
        # Sorted and cut to three, so the same zones come back on every run: a subnet whose
        # availability_zone changes is replaced.
        zones = aws.get_availability_zones(
            state="available",
            filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
            opts=pulumi.InvokeOptions(provider=self.provider),
        )
        names = sorted(zones.names)
        if len(names) < ZONE_COUNT:
            raise pulumi.RunError(f"{self._name}: needs {ZONE_COUNT} availability zones, found {names}")
        return names[:ZONE_COUNT]
