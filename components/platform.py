"""The whole platform of one stack: one `Region` per region of the phase.

Global pieces (CDN, DNS, global datastores) hang directly under `Platform`; everything
regional hangs under its `Region`. Creates the API's session secret value (pulumi-random)
here, once, so a session signed in one region is valid in every other.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_random as random

from components import defaults
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
    alb_dns_name: pulumi.Output[str]
    alb_zone_id: pulumi.Output[str]
    api_asg_name: pulumi.Output[str]
    api_target_group_arn: pulumi.Output[str]
    api_security_group_id: pulumi.Output[str]
    alb_security_group_id: pulumi.Output[str]
    api_listener: str

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("qnom:components:Platform", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        phase = args.settings.phase
        session_secret = self._create_session_secret(name, child)
        self.regions = {
            spec.name: Region(spec.name, RegionArgs(spec=spec, settings=args.settings,
                                                    session_secret=session_secret.result), child)
            for spec in phase.regions
        }
        self.primary = self.regions[phase.primary_region.name]
        self.vpc_ids = pulumi.Output.all(**{name: region.vpc_id for name, region in self.regions.items()})
        api = self.primary.api
        self.alb_dns_name = api.alb_dns_name
        self.alb_zone_id = api.alb_zone_id
        self.api_asg_name = api.asg_name
        self.api_target_group_arn = api.target_group_arn
        self.api_security_group_id = api.security_group_id
        self.alb_security_group_id = api.alb_security_group_id
        self.api_listener = (
            f"HTTPS :443 for {args.settings.domain}; HTTP :80 redirects to HTTPS" if api.listener_protocol == "HTTPS"
            else "HTTP :80 forwards to the API: qnom:domain is not set, so no certificate and no TLS"
        )
        self.register_outputs({
            "vpc_ids": self.vpc_ids,
            "alb_dns_name": self.alb_dns_name,
            "alb_zone_id": self.alb_zone_id,
            "api_asg_name": self.api_asg_name,
            "api_target_group_arn": self.api_target_group_arn,
            "api_security_group_id": self.api_security_group_id,
            "alb_security_group_id": self.alb_security_group_id,
            "api_listener": self.api_listener,
        })

    @staticmethod
    def _create_session_secret(name: str, child: pulumi.ResourceOptions) -> random.RandomPassword:
        # Letters and digits only: the value travels through a shell and an env file.
        return random.RandomPassword(f"{name}-session-secret", random.RandomPasswordArgs(
            length=defaults.SESSION_SECRET_LENGTH, special=False,
        ), child)
