"""Amazon EKS: the cluster's Kubernetes version against EKS's release calendar, node group sizes, and a node
group's AMI type against its instance types' architecture."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from phases.models import instance_architecture
from policy.resource_types import EKS_CLUSTER, EKS_NODE_GROUP
from qnom.awsrules import Request, known, rule

# Amazon EKS User Guide, "Understand the Kubernetes version lifecycle on EKS", Amazon EKS Kubernetes
# release calendar: minor version -> (Amazon EKS release, end of standard support, end of extended
# support). Standard support lasts 14 months from the EKS release, extended support 12 more.
RELEASE_CALENDAR: dict[str, tuple[date, date, date]] = {
    "1.29": (date(2024, 1, 23), date(2025, 3, 23), date(2026, 3, 23)),
    "1.30": (date(2024, 5, 23), date(2025, 7, 23), date(2026, 7, 23)),
    "1.31": (date(2024, 9, 26), date(2025, 11, 26), date(2026, 11, 26)),
    "1.32": (date(2025, 1, 23), date(2026, 3, 23), date(2027, 3, 23)),
    "1.33": (date(2025, 5, 29), date(2026, 7, 29), date(2027, 7, 29)),
    "1.34": (date(2025, 10, 2), date(2026, 12, 2), date(2027, 12, 2)),
    "1.35": (date(2026, 1, 27), date(2027, 3, 27), date(2028, 3, 27)),
}
CALENDAR_TIME_ZONE = "UTC"


def support_on(version: str, day: date) -> str | None:
    """"standard", "extended" or None (not offered: unreleased, past extended support or unknown)."""
    dates = RELEASE_CALENDAR.get(version)
    if dates is None or not dates[0] <= day < dates[2]:
        return None
    return "standard" if day < dates[1] else "extended"


@rule("eks-version-offered", EKS_CLUSTER,
      error="InvalidParameterException: unsupported Kubernetes version {version}",
      # CreateCluster creates clusters only on the versions EKS offers that day: "You can create new
      # Amazon EKS clusters on any version offered in standard or extended support" (the calendar above).
      source="https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html")
def _version_offered(request: Request) -> Iterator[str]:
    version = request.inputs.get("version")
    if not known(version):
        return
    day = request.plan_date(CALENDAR_TIME_ZONE)
    if support_on(str(version), day) is None:
        yield f"InvalidParameterException: unsupported Kubernetes version {version} (on {day.isoformat()})"


@rule("eks-nodegroup-capacity", EKS_NODE_GROUP,
      error="InvalidParameterException: Minimum capacity {min} can't be greater than desired size {desired}",
      # Amazon EKS API Reference, NodegroupScalingConfig: minSize >= 0, maxSize >= 1, desiredSize
      # between them; the provider validates maxSize >= 1 (terraform-provider-aws
      # internal/service/eks/node_group.go, scaling_config), EKS answers the ordering.
      source="https://docs.aws.amazon.com/eks/latest/APIReference/API_NodegroupScalingConfig.html")
def _capacity_ordered(request: Request) -> Iterator[str]:
    scaling = request.inputs.get("scalingConfig") or {}
    low, desired, high = (scaling.get(key) for key in ("minSize", "desiredSize", "maxSize"))
    if not all(isinstance(value, (int, float)) for value in (low, desired, high)):
        return
    if low > desired:
        yield f"InvalidParameterException: Minimum capacity {low:g} can't be greater than desired size {desired:g}"
    if high < 1:
        yield f"expected scaling_config.0.max_size to be at least (1), got {high:g}"


def ami_architecture(ami_type: str) -> str | None:
    """The architecture of an EKS AMI type (`AL2023_ARM_64_STANDARD` -> arm64), None when it names none."""
    if "ARM_64" in ami_type:
        return "arm64"
    return "x86_64" if "x86_64" in ami_type else None


@rule("eks-nodegroup-ami-architecture", EKS_NODE_GROUP,
      error="InvalidParameterException: [{instance_type}] is not a valid instance type for requested amiType {ami_type}",
      # CreateNodegroup launches the AMI type's image on every instance type listed, so each type must
      # be of the image's architecture (Amazon EKS API Reference, CreateNodegroup: amiType, instanceTypes).
      source="https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateNodegroup.html")
def _ami_matches_instances(request: Request) -> Iterator[str]:
    ami_type, instance_types = request.inputs.get("amiType"), request.inputs.get("instanceTypes")
    if not known(ami_type) or not known(instance_types) or ami_architecture(str(ami_type)) is None:
        return
    wrong = [name for name in instance_types
             if known(name) and instance_architecture(str(name)) != ami_architecture(str(ami_type))]
    if wrong:
        yield f"InvalidParameterException: [{', '.join(wrong)}] is not a valid instance type for requested amiType {ami_type}"
