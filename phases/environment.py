"""What differs between the dev and prod environments, in one place.

Components read these switches instead of testing the environment name, so a reader
sees every dev/prod difference here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from phases.models import Model

EnvironmentName = Literal["dev", "prod"]


class EnvironmentProfile(Model):
    name: EnvironmentName
    protect_stateful: bool = Field(description="Pulumi `protect` on databases, caches, buckets, queues, domains.")
    deletion_protection: bool = Field(description="AWS-side deletion protection (RDS, ALB).")
    final_snapshot: bool = Field(description="Take a final snapshot when a database or cache is deleted.")
    backup_retention_days: int = Field(ge=1, le=35)
    log_retention_days: int = Field(ge=1)
    force_destroy_buckets: bool = Field(description="Let `pulumi destroy` empty buckets (dev only).")
    recovery_window_days: int = Field(
        ge=7, le=30, description="Days a scheduled deletion of a KMS key or a secret waits: the last chance to cancel it.")
    search_dedicated_masters: bool = Field(description="Dedicated master nodes for the search domain.")


PROFILES: dict[str, EnvironmentProfile] = {
    "dev": EnvironmentProfile(
        name="dev",
        protect_stateful=False,
        deletion_protection=False,
        final_snapshot=False,
        backup_retention_days=1,
        log_retention_days=14,
        force_destroy_buckets=True,
        recovery_window_days=7,
        search_dedicated_masters=False,
    ),
    "prod": EnvironmentProfile(
        name="prod",
        protect_stateful=True,
        deletion_protection=True,
        final_snapshot=True,
        backup_retention_days=7,
        log_retention_days=90,
        force_destroy_buckets=False,
        recovery_window_days=30,
        search_dedicated_masters=True,
    ),
}


def nat_gateways_per_az(environment: EnvironmentName, phase_number: int) -> bool:
    """One NAT gateway per AZ only in prod from phase 2.

    Dev and phase 1 share one NAT gateway: three would cost about $100/month before
    traffic, half of phase 1's ~$200 budget. Prod from phase 2 pays for AZ independence.
    """
    return environment == "prod" and phase_number >= 2
