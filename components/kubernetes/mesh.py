"""Phase 4's service mesh: Istio in ambient mode, mutual TLS between every pair of services.

Istio ambient rather than sidecar Istio or Linkerd: ambient's per-node ztunnel gives every pod in a
labelled namespace mutual TLS and workload identities without a sidecar per pod (no extra CPU and
memory on each of the services' replicas, no restart of every Deployment to enrol it), and it is
generally available since Istio 1.24 (istio.io, "Ambient mode": GA announcement). Layer-7 waypoints
can be added per namespace later without touching the pods.

Creates, in `istio-system`, the releases of the ambient install (istio.io, "Install with Helm",
ambient: `base`, `istiod` with profile ambient, `cni` with profile ambient, `ztunnel`), in that
order. The services' namespaces carry `istio.io/dataplane-mode: ambient` and a `PeerAuthentication`
in STRICT mode each (`services.py`): plain-text traffic to a service is refused. STRICT per service
namespace rather than mesh-wide: the EKS control plane, outside the mesh, must still reach the
metrics adapter's aggregated API in `monitoring` (istio.io, "PeerAuthentication": namespace-wide
policy).
"""

from __future__ import annotations

import pulumi

from components.kubernetes.helm import helm_release
from phases.models import Kubernetes as KubernetesSpec

NAMESPACE = "istio-system"
DATAPLANE_LABEL = "istio.io/dataplane-mode"
HBONE_PORT = 15008
"""ztunnel's tunnel port: the destination pod's ztunnel receives mesh traffic on it."""
PROBE_SOURCE = "169.254.7.127/32"
"""In ambient mode kubelet's probes reach a pod from this link-local address (istio.io, "Ambient
and Kubernetes NetworkPolicy"): a default-deny ingress policy must admit it."""


def create_mesh(name: str, spec: KubernetesSpec, k8s: pulumi.ResourceOptions) -> list[pulumi.Resource]:
    ambient = {"profile": "ambient"}
    previous: list[pulumi.Resource] = []
    releases = []
    for chart_key, release_name, values, create_namespace in (
        ("istio-base", "istio-base", {}, True),
        ("istiod", "istiod", ambient, False),
        ("istio-cni", "istio-cni", ambient, False),
        ("ztunnel", "ztunnel", {}, False),
    ):
        release = helm_release(f"{name}-{release_name}", release_name, spec.charts[chart_key], NAMESPACE, values,
                               pulumi.ResourceOptions.merge(k8s, pulumi.ResourceOptions(depends_on=previous)),
                               create_namespace=create_namespace)
        releases.append(release)
        previous = [release]
    return releases
