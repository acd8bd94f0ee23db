"""One AWS region of the platform: its explicit AWS provider and everything regional.

Every regional resource hangs under its `Region` and uses the region's provider from
phase 1 on, so adding a region in a later phase only adds siblings.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

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


class Region(pulumi.ComponentResource):
    provider: aws.Provider
    availability_zones: list[str]
    network: Network
    vpc_id: pulumi.Output[str]

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
        self.register_outputs({
            "vpc_id": self.vpc_id,
            "availability_zones": self.availability_zones,
        })

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
