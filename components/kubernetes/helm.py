"""Helm releases of pinned charts, the one way the tier installs third-party software."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as kubernetes

from phases.models import HelmChart


def helm_release(name: str, release_name: str, chart: HelmChart, namespace: str, values: dict,
                 opts: pulumi.ResourceOptions, create_namespace: bool = False) -> kubernetes.helm.v3.Release:
    """Release `release_name` of `chart` at its exact version, from a chart repository or an OCI
    registry (Helm takes an OCI chart as one `oci://` reference, without a repository option).
    Atomic: a release that does not become ready is rolled back, not left half installed."""
    oci = chart.repository.startswith("oci://")
    return kubernetes.helm.v3.Release(name, kubernetes.helm.v3.ReleaseArgs(
        name=release_name,
        chart=f"{chart.repository}/{chart.chart}" if oci else chart.chart,
        version=chart.version,
        repository_opts=None if oci else kubernetes.helm.v3.RepositoryOptsArgs(repo=chart.repository),
        namespace=namespace,
        create_namespace=create_namespace,
        atomic=True,
        cleanup_on_fail=True,
        values=values,
    ), opts)
