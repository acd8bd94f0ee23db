"""The Kubernetes tier (phase 3 on): one EKS cluster in every region of the phase.

Each region's `Kubernetes` component (`{region}-k8s`, `components/kubernetes/kubernetes.py`)
provisions the cluster (private endpoint, public endpoint only for the `qnom:clusterPublicAccessCidrs`
networks, secrets envelope-encrypted with its own KMS key, control plane logs, access entries
instead of the aws-auth ConfigMap, the managed add-ons), an on-demand system node group for the
add-ons, Karpenter for the services' nodes (spot first, on-demand fallback: `karpenter.py`),
Prometheus with prometheus-adapter for the HPA's requests-per-second metric (`observability.py`),
Container Insights for the CloudWatch alarms on nodes and workloads (`container_insights.py`),
the seed's five microservices with their HPAs, PodDisruptionBudgets and NetworkPolicies
(`services.py`) and, in phase 4, the Istio ambient mesh with mutual TLS (`mesh.py`). The
Kubernetes provider of each cluster is built from the cluster's outputs, never from a file.
`sizing.py` holds the baseline formula the services' nodes are sized and priced with.
"""
