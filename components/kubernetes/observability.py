"""The custom metric of the HPAs: Prometheus scrapes the services, prometheus-adapter serves the rate.

Prometheus with prometheus-adapter rather than CloudWatch or KEDA: the seed's HPA names a Pods
metric (`http_requests_per_second`), which the HPA reads from the custom metrics API
(custom.metrics.k8s.io); prometheus-adapter is the reference implementation of that API
(kubernetes-sigs/prometheus-adapter) and derives the per-pod rate from the counter every service
exposes, with no AWS API calls per evaluation. CPU and memory stay with the metrics-server add-on
(metrics.k8s.io), so the adapter registers custom metrics only.

Creates the `monitoring` namespace (phase 4: in the ambient mesh, so Prometheus scrapes the
services over mutual TLS; the namespace itself stays PERMISSIVE, since the API server calls the
adapter's aggregated API from outside the mesh) and in it, on the system nodes: the `prometheus`
release (server only, 15 days of samples, pods scraped by their `prometheus.io/*` annotations) and
the `prometheus-adapter` release with one rule: `http_requests_total` of a pod, as a 2-minute rate,
named `http_requests_per_second`.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as kubernetes

from components.kubernetes import mesh
from components.kubernetes.helm import helm_release
from components.kubernetes.karpenter import ROLE_LABEL
from phases.models import Kubernetes as KubernetesSpec

NAMESPACE = "monitoring"
REQUESTS_METRIC = "http_requests_per_second"
"""The seed HPA's Pods metric, served by the adapter's rule below."""
PROMETHEUS_URL = "http://prometheus-server.monitoring.svc"


def adapter_rule() -> dict:
    # prometheus-adapter docs/config.md: discovery (seriesQuery), association (resources),
    # naming (name.matches/as) and querying (metricsQuery) of one custom metric.
    return {
        "seriesQuery": 'http_requests_total{namespace!="",pod!=""}',
        "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
        "name": {"matches": "^http_requests_total$", "as": REQUESTS_METRIC},
        "metricsQuery": "sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)",
    }


def create_metrics(name: str, spec: KubernetesSpec, k8s: pulumi.ResourceOptions) -> list[pulumi.Resource]:
    system = {ROLE_LABEL: "system"}
    labels = {"kubernetes.io/metadata.name": NAMESPACE, **({mesh.DATAPLANE_LABEL: "ambient"} if spec.mesh else {})}
    namespace = kubernetes.core.v1.Namespace(f"{name}-monitoring", kubernetes.core.v1.NamespaceInitArgs(
        metadata=kubernetes.meta.v1.ObjectMetaArgs(name=NAMESPACE, labels=labels)), k8s)
    inside = pulumi.ResourceOptions.merge(k8s, pulumi.ResourceOptions(depends_on=[namespace]))
    prometheus = helm_release(f"{name}-prometheus", "prometheus", spec.charts["prometheus"], NAMESPACE, {
        "alertmanager": {"enabled": False},
        "prometheus-pushgateway": {"enabled": False},
        "server": {
            "nodeSelector": system,
            "retention": "15d",
            # The samples serve autoscaling decisions of the last minutes; a restart losing them
            # costs a few evaluations, not data anyone keeps.
            "persistentVolume": {"enabled": False},
            "resources": {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"memory": "2Gi"}},
        },
    }, inside)
    adapter = helm_release(f"{name}-prometheus-adapter", "prometheus-adapter", spec.charts["prometheus-adapter"],
                           NAMESPACE, {
        "prometheus": {"url": PROMETHEUS_URL, "port": 80},
        "nodeSelector": system,
        "replicas": 2,
        "rules": {"default": False, "custom": [adapter_rule()]},
    }, pulumi.ResourceOptions.merge(inside, pulumi.ResourceOptions(depends_on=[namespace, prometheus])))
    return [prometheus, adapter]
