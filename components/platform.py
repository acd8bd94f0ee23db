"""The whole platform of one stack: one `Region` per region of the phase.

Global pieces (CDN, DNS, global datastores) hang directly under `Platform`; everything
regional hangs under its `Region`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.region import Region, RegionArgs
from phases.settings import StackSettings


@dataclass(frozen=True)
class PlatformArgs:
    settings: StackSettings
    """The validated stack settings: phase, environment profile, domain."""


class Platform(pulumi.ComponentResource):
    regions: dict[str, Region]
    primary: Region
    vpc_ids: pulumi.Output[dict[str, str]]

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("qnom:components:Platform", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        phase = args.settings.phase
        self.regions = {
            spec.name: Region(spec.name, RegionArgs(spec=spec, settings=args.settings), child)
            for spec in phase.regions
        }
        self.primary = self.regions[phase.primary_region.name]
        self.vpc_ids = pulumi.Output.all(**{name: region.vpc_id for name, region in self.regions.items()})
        self.register_outputs({"vpc_ids": self.vpc_ids})
