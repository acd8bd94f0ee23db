"""`qnom render k8s`: every Kubernetes object a stack declares, as YAML files, validated offline.

Runs the program offline (as `qnom plan` does), takes every registration of the Kubernetes
provider, and writes one YAML document per object to `--out DIR/<region>/<namespace>/<kind>-<name>.yaml`
(cluster-scoped objects under `_cluster`). Objects of built-in kinds are validated against the
OpenAPI schema of the cluster's Kubernetes version (the catalog's `kubernetes.version`) with
kubernetes-validate in strict mode, so an unknown field fails too. Custom resources (Karpenter's
NodePools, Istio's PeerAuthentication) have no schema there until their charts install the CRDs:
they are checked for apiVersion, kind and a name. A Helm release is written as its release spec
(chart, pinned version, repository, namespace, values) under `_helm`.

Exit 0 when every object validates (also when the phase declares none: phases 1 and 2), 1 when
one does not (each failure on stderr with the object and the schema's error), 2 on invalid settings.
`--json` prints one `qnom.render-k8s/v1` document instead (docs/schemas/qnom.render-k8s.v1.schema.json).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from phases.settings import settings_from_config
from policy.resource_types import HELM_RELEASE
from qnom.commands import EXIT_FAILURE, EXIT_OK, add_date_option, add_stack_options, resolve_stack
from qnom.engine import ProgramRun, RecordedResource

PROVIDER_TYPE = "pulumi:providers:kubernetes"
CLUSTER_SCOPE = "_cluster"
HELM_DIR = "_helm"
_MANIFEST_KEYS = ("apiVersion", "kind", "metadata")
_RELEASE_KEYS = ("name", "namespace", "chart", "version", "repositoryOpts", "createNamespace", "atomic", "values")
SCHEMA = "qnom.render-k8s/v1"


@dataclass(frozen=True)
class Manifest:
    region: str
    path: Path
    """Relative to the output directory."""
    document: dict[str, Any]
    resource: RecordedResource

    @property
    def label(self) -> str:
        metadata = self.document.get("metadata") or {}
        where = f"{metadata.get('namespace')}/" if metadata.get("namespace") else ""
        return f"{self.document.get('kind')} {where}{metadata.get('name')} ({self.region}, {self.resource.name})"


@dataclass(frozen=True)
class Outcome:
    manifest: Manifest
    status: str
    """"valid", "custom resource", "helm release" or "invalid"."""
    error: str | None = None


def register(commands) -> None:
    render = commands.add_parser("render", help="write a stack's Kubernetes objects as YAML and validate them, offline")
    targets = render.add_subparsers(dest="target", required=True)
    k8s = targets.add_parser("k8s", help="every Kubernetes object (and Helm release spec) the stack declares")
    add_stack_options(k8s)
    k8s.add_argument("--phase", help="phase to render (1-4 or name), replacing qnom:phase")
    k8s.add_argument("--out", type=Path, required=True, help="directory to write the YAML files to")
    k8s.add_argument("--json", action="store_true", help="print the qnom.render-k8s/v1 JSON document")
    add_date_option(k8s)
    k8s.set_defaults(handler=run)


def manifests(run: ProgramRun) -> list[Manifest]:
    """The run's Kubernetes objects and Helm releases as documents, with the file each goes to."""
    found = []
    for resource in run.resources:
        if not resource.type.startswith("kubernetes:") or resource.type == PROVIDER_TYPE:
            continue
        region = resource.name.split("-k8s-", 1)[0]
        if resource.type == HELM_RELEASE:
            spec = {key: resource.inputs[key] for key in _RELEASE_KEYS if key in resource.inputs}
            document = {"apiVersion": "helm.sh/v3", "kind": "Release",
                        "metadata": {"name": spec.get("name"), "namespace": spec.get("namespace")}, "spec": spec}
            path = Path(region, HELM_DIR, f"{spec.get('name')}.yaml")
        else:
            document = {key: resource.inputs[key] for key in _MANIFEST_KEYS if key in resource.inputs}
            document.update({key: value for key, value in resource.inputs.items() if key not in _MANIFEST_KEYS})
            metadata = document.get("metadata") or {}
            path = Path(region, metadata.get("namespace") or CLUSTER_SCOPE,
                        f"{str(document.get('kind', '')).lower()}-{metadata.get('name')}.yaml")
        found.append(Manifest(region, path, document, resource))
    return sorted(found, key=lambda manifest: str(manifest.path))


@functools.cache
def _kubernetes_validate():
    """kubernetes-validate, reading each schema file once per process.

    The library opens and parses the schema of the object's kind and the whole definitions file
    (megabytes of JSON) for every object it validates; the files ship with the pinned package and
    never change, so a stack's hundred-odd objects need them read once (9x faster).
    """
    import kubernetes_validate
    import kubernetes_validate.utils

    kubernetes_validate.utils.schema_contents = functools.cache(kubernetes_validate.utils.schema_contents)
    return kubernetes_validate


def validate(manifest: Manifest, kubernetes_version: str) -> Outcome:
    """The manifest against the schema of `kubernetes_version` (MAJOR.MINOR)."""
    kubernetes_validate = _kubernetes_validate()

    document = manifest.document
    if document.get("kind") == "Release" and document.get("apiVersion") == "helm.sh/v3":
        spec = document["spec"]
        missing = [key for key in ("name", "namespace", "chart", "version") if not spec.get(key)]
        return Outcome(manifest, "invalid", f"release spec lacks {', '.join(missing)}") if missing else \
            Outcome(manifest, "helm release")
    try:
        kubernetes_validate.validate(document, f"{kubernetes_version}.0", strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        missing = [key for key in ("apiVersion", "kind") if not document.get(key)]
        if missing or not (document.get("metadata") or {}).get("name"):
            return Outcome(manifest, "invalid", f"custom resource lacks {', '.join(missing) or 'metadata.name'}")
        return Outcome(manifest, "custom resource")
    except kubernetes_validate.ValidationError as error:
        # The jsonschema error's own fields: where in the object, and what the schema refused.
        where = ".".join(str(part) for part in error.path) or "(root)"
        return Outcome(manifest, "invalid", f"{where}: {error.message} (Kubernetes {error.version} schema)")
    return Outcome(manifest, "valid")


def write(outcomes: list[Outcome], out: Path) -> None:
    for outcome in outcomes:
        target = out / outcome.manifest.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(outcome.manifest.document, sort_keys=False), encoding="utf-8")


def render_k8s(stack: str, stack_file: Path | None, phase: str | None, plan_date,
               out: Path) -> tuple[list[Outcome], dict[str, Any]]:
    """The outcomes, written to `out`, and the JSON document describing them."""
    from qnom.engine import run_program
    from qnom.plan import load_config

    config = load_config(stack, stack_file, phase, plan_date)
    settings = settings_from_config(config, stack=stack)
    version = settings.phase.kubernetes.version if settings.phase.kubernetes else None
    outcomes = []
    if version is not None:
        run = run_program(stack, config)
        outcomes = [validate(manifest, version) for manifest in manifests(run)]
        write(outcomes, out)
    document = {
        "schema": SCHEMA,
        "stack": stack,
        "phase": {"number": settings.phase.number, "name": settings.phase.name},
        "kubernetesVersion": version,
        "out": str(out),
        "objects": [{
            "path": str(outcome.manifest.path),
            "region": outcome.manifest.region,
            "apiVersion": outcome.manifest.document.get("apiVersion"),
            "kind": outcome.manifest.document.get("kind"),
            "namespace": (outcome.manifest.document.get("metadata") or {}).get("namespace"),
            "name": (outcome.manifest.document.get("metadata") or {}).get("name"),
            "urn": outcome.manifest.resource.urn,
            "status": outcome.status,
            "error": outcome.error,
        } for outcome in outcomes],
        "valid": all(outcome.status != "invalid" for outcome in outcomes),
    }
    return outcomes, document


def run(args: argparse.Namespace) -> int:
    resolve_stack(args)
    outcomes, document = render_k8s(args.stack, args.stack_file, args.phase, args.date, args.out)
    if args.json:
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        return EXIT_OK if document["valid"] else EXIT_FAILURE
    if not outcomes:
        print(f"qnom render k8s: stack {args.stack} declares no Kubernetes object in this phase (EKS from phase 3)")
        return EXIT_OK
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
        if outcome.status == "invalid":
            print(f"qnom: invalid {outcome.manifest.label}: {outcome.error}", file=sys.stderr)
    summary = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
    print(f"qnom render k8s: {len(outcomes)} object(s) written to {args.out} ({summary})")
    return EXIT_FAILURE if counts.get("invalid") else EXIT_OK
