"""What differs between the dev, staging and prod environments, in one place.

Components read these switches instead of testing the environment name, so a reader
sees every difference between the environments here. Staging sits between the two: prod's
topology (one NAT gateway per AZ from phase 2, dedicated search masters) so a promotion can be
rehearsed on it, dev's disposability (nothing protected, shorter backups and logs), and the
seed's spot policy for it (Cost Optimization: `staging: { percentage: 100, fallback: 'none' }`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from phases.models import Model

EnvironmentName = Literal["dev", "staging", "prod"]


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
    nat_per_az: bool = Field(description="One NAT gateway per AZ from phase 2 (phase 1 always shares one).")
    spot_only: bool = Field(
        description="Groups that can run on spot (the workers) run on spot alone: no on-demand base, no "
                    "on-demand share above it. The API group's spot share is the cost profile's, not this switch's.")


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
        nat_per_az=False,
        spot_only=False,
    ),
    "staging": EnvironmentProfile(
        name="staging",
        # Torn down and rebuilt at will, like dev: no protect, no deletion protection, no
        # final snapshot to collect, buckets emptied by `pulumi destroy`.
        protect_stateful=False,
        deletion_protection=False,
        final_snapshot=False,
        backup_retention_days=3,
        # CloudWatch Logs accepts only its listed retention values (PutRetentionPolicy,
        # retentionInDays: 1, 3, 5, 7, 14, 30, 60, 90, ...): 30 is one of them.
        log_retention_days=30,
        force_destroy_buckets=True,
        recovery_window_days=7,
        search_dedicated_masters=True,
        nat_per_az=True,
        # Seed, Cost Optimization: staging 100% spot with no fallback. Interruptions cost
        # nothing but queued work waiting. The API group serves requests: it stays on demand,
        # unless the cost-optimised profile runs its capacity above an on-demand base on spot.
        spot_only=True,
    ),
    "prod": EnvironmentProfile(
        name="prod",
        protect_stateful=True,
        deletion_protection=True,
        final_snapshot=True,
        backup_retention_days=7,
        # A year of logs: what audits of a production system ask for (CIS AWS Foundations and PCI
        # DSS 10.5.1 keep audit history at least a year); 365 is one of CloudWatch Logs' accepted
        # retention values (PutRetentionPolicy, retentionInDays).
        log_retention_days=365,
        force_destroy_buckets=False,
        recovery_window_days=30,
        search_dedicated_masters=True,
        nat_per_az=True,
        spot_only=False,
    ),
}


def nat_gateways_per_az(environment: EnvironmentName, phase_number: int) -> bool:
    """One NAT gateway per AZ from phase 2 in the environments whose profile asks for it (staging, prod).

    Dev shares one NAT gateway: three would cost about $100/month before traffic. Phase 1 runs no
    gateway at all: its catalog picks one NAT instance (`egress`), about $7 of its ~$200 budget. Prod from phase 2 pays for AZ independence,
    and staging copies prod's topology so a promotion rehearsed there changes what prod's would.
    """
    return PROFILES[environment].nat_per_az and phase_number >= 2
