"""Stack settings: the `qnom:` config of a stack, validated into one `StackSettings`.

The same function serves `pulumi up` (values read through `pulumi.Config`) and the offline
`qnom` CLI (values read from the stack file), so both refuse the same mistakes with the
same messages: one line per problem, naming the key path and the allowed values.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Mapping

import pydantic
from pydantic import BaseModel
from pulumi import RunError

from phases.catalog import PHASE_FILES, PHASE_NUMBERS, deep_merge, phase_document
from phases.environment import PROFILES, EnvironmentProfile, nat_gateways_per_az
from phases.models import Phase

NAMESPACE = "qnom"

# Every `qnom:` key a stack may set, with the description `Pulumi.yaml` declares for it.
CONFIG_KEYS: dict[str, str] = {
    "phase": "Growth phase: 1-4 or launch, growth, scale, global.",
    "environment": "Environment profile: dev or prod (prod protects stateful resources).",
    "overrides": "Object deep-merged over the phase catalog and validated by the same model; "
                 "regions are addressed by name.",
    "domain": "Public domain of the API (e.g. api.example.com). Unset: no DNS, no certificates.",
    "databaseCutover": "Phase 4 only: promote the Aurora replica cluster to the writer and add its Serverless v2 "
                       "readers. Default false: Aurora only replicates and the RDS instance stays the writer.",
    "apiImage": "Container image the API and worker instances run (registry/repository:tag or @sha256 digest).",
    "routing": "How Route 53 spreads API traffic over the regions: latency (default) or weighted "
               "(the phase's regions[].weight). Used only with a domain.",
    "hostedZone": "Route 53 hosted zone of the domain: lookup (default; a public zone named exactly "
                  "like qnom:domain must exist) or create (the stack creates and protects it).",
    "retireRegionalCaches": "Phase 4 only, after the global cache datastore is in service: delete the secondary regions' "
                            "standalone phase-3 caches. Default false: they stay beside the datastore's members.",
    "openSearchServiceRole": "OpenSearch service-linked role (AWSServiceRoleForAmazonOpenSearchService), needed before "
                             "the first VPC domain of the account: create (default; the stack creates it and never "
                             "deletes it) or existing (the account already has it, e.g. another stack created it).",
}
DEFAULT_API_IMAGE = "public.ecr.aws/qnom/api:stable"
# A registry reference and nothing else: the value is written into the instances' boot script.
_IMAGE = re.compile(
    r"^[a-z0-9]+([.-][a-z0-9]+)*(:\d+)?"                     # registry host[:port]
    r"(/[a-z0-9]+([._-][a-z0-9]+)*)+"                         # /repository path
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})?$"  # :tag or @digest
)
ROUTING_MODES = ("latency", "weighted")
HOSTED_ZONE_MODES = ("lookup", "create")
SERVICE_ROLE_MODES = ("create", "existing")
REQUIRED_KEYS = ("phase", "environment")


class SettingsError(RunError):
    """Invalid stack settings. `problems` holds one message per problem.

    A RunError, so `pulumi up` prints the message without a Python traceback.
    """

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid stack settings:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class StackSettings:
    """Everything the program needs to know about one stack."""

    project: str
    stack: str
    environment: str
    phase: Phase
    profile: EnvironmentProfile
    domain: str | None = None
    database_cutover: bool = False
    """True once the operator cuts the database over from RDS to Aurora (phase 4, `qnom:databaseCutover`)."""
    api_image: str = DEFAULT_API_IMAGE
    routing: str = "latency"
    """Route 53 routing of the API over the regions: latency or weighted."""
    hosted_zone: str = "lookup"
    """Hosted zone of the domain: looked up or created by the stack."""
    retire_regional_caches: bool = False
    """True once the operator retires the secondary regions' standalone caches (`qnom:retireRegionalCaches`)."""
    search_service_role: str = "create"
    """The account's OpenSearch service-linked role: created by the stack (default) or already there."""

    @property
    def cache_global_datastore(self) -> bool:
        """The primary region's cache leads an ElastiCache global datastore with one member per secondary region."""
        return self.phase.cache.global_datastore and self.phase.multi_region

    @property
    def aurora_global_database(self) -> bool:
        """The cut-over Aurora cluster leads an Aurora global database with one secondary cluster per secondary region.

        Only after the cut-over: a cluster that still replicates from an RDS instance cannot be
        the source of a global database.
        """
        return self.database_cutover and self.phase.database.aurora is not None and self.phase.multi_region

    @property
    def nat_per_az(self) -> bool:
        return nat_gateways_per_az(self.environment, self.phase.number)

    @property
    def tags(self) -> dict[str, str]:
        """Tags every taggable resource carries (the provider applies them as default tags)."""
        return {
            "project": self.project,
            "environment": self.environment,
            "phase": self.phase.name,
            "service": "qnom-platform",
            "managed-by": "pulumi",
        }


def settings_from_config(
    config: Mapping[str, Any],
    *,
    project: str = NAMESPACE,
    stack: str,
    phase_override: int | str | None = None,
) -> StackSettings:
    """Validates `config` (keys with or without the `qnom:` prefix) into settings.

    Raises SettingsError listing every problem found; nothing is created before this returns.
    """
    values = _strip_namespace(config)
    problems = [
        f"{NAMESPACE}:{key}: unknown setting; allowed keys: {', '.join(sorted(CONFIG_KEYS))}"
        for key in sorted(values) if key not in CONFIG_KEYS
    ]
    problems += [f"{NAMESPACE}:{key}: required setting is missing" for key in REQUIRED_KEYS
                 if key not in values and not (key == "phase" and phase_override is not None)]

    raw_phase = phase_override if phase_override is not None else values.get("phase")
    number = _phase_number(raw_phase, problems) if raw_phase is not None else None
    environment = values.get("environment")
    if environment is not None and environment not in PROFILES:
        problems.append(f"{NAMESPACE}:environment: got {environment!r}; allowed values: dev, prod")
    domain = _domain(values.get("domain"), problems)
    cutover = _flag("databaseCutover", values.get("databaseCutover"), problems)
    api_image = _api_image(values.get("apiImage"), problems)
    routing = _choice("routing", values.get("routing"), ROUTING_MODES, problems)
    hosted_zone = _choice("hostedZone", values.get("hostedZone"), HOSTED_ZONE_MODES, problems)
    retire_caches = _flag("retireRegionalCaches", values.get("retireRegionalCaches"), problems)
    search_role = _choice("openSearchServiceRole", values.get("openSearchServiceRole"), SERVICE_ROLE_MODES, problems)
    overrides = _overrides(values.get("overrides"), problems)

    phase = None
    if number is not None and overrides is not None:
        try:
            phase = Phase.model_validate(apply_overrides(phase_document(number), overrides))
        except pydantic.ValidationError as error:
            problems += _describe(error, phase_document(number), overrides)
    if cutover and phase is not None and phase.database.aurora is None:
        problems.append(f"{NAMESPACE}:databaseCutover: true needs an Aurora migration (phase 4, database.aurora); "
                        f"phase {phase.number} ({phase.name}) has none; allowed values: false")
    if retire_caches and phase is not None and not (phase.cache.global_datastore and phase.multi_region):
        problems.append(f"{NAMESPACE}:retireRegionalCaches: true needs the global cache datastore that replaces the "
                        f"secondary regions' caches (phase 4, cache.global_datastore); phase {phase.number} "
                        f"({phase.name}) has none; allowed values: false")
    if problems:
        raise SettingsError(problems)
    return StackSettings(project=project, stack=stack, environment=environment, phase=phase,
                         profile=PROFILES[environment], domain=domain, database_cutover=bool(cutover),
                         api_image=api_image, routing=routing, hosted_zone=hosted_zone,
                         retire_regional_caches=bool(retire_caches), search_service_role=search_role)


def apply_overrides(document: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merges overrides; `regions` is a mapping from region name to the fields to change."""
    overrides = dict(overrides)
    region_overrides = overrides.pop("regions", None)
    merged = deep_merge(document, overrides)
    if isinstance(region_overrides, Mapping):
        regions = {region["name"]: region for region in merged["regions"]}
        for name, fields in region_overrides.items():
            base = regions.get(name, {"name": name})
            regions[name] = deep_merge(base, fields) if isinstance(fields, Mapping) else fields
        merged["regions"] = list(regions.values())
    elif region_overrides is not None:
        merged["regions"] = region_overrides  # not a mapping: let the model report it
    return merged


def _strip_namespace(config: Mapping[str, Any]) -> dict[str, Any]:
    prefix = f"{NAMESPACE}:"
    return {key.removeprefix(prefix): value for key, value in config.items()
            if key.startswith(prefix) or ":" not in key}


def _phase_number(raw: Any, problems: list[str]) -> int | None:
    allowed = f"allowed values: 1-4 or {', '.join(PHASE_NUMBERS)}"
    text = str(raw).strip().lower()
    if text in PHASE_NUMBERS:
        return PHASE_NUMBERS[text]
    if text.isdigit() and int(text) in PHASE_FILES:
        return int(text)
    problems.append(f"{NAMESPACE}:phase: got {raw!r}; {allowed}")
    return None


def _domain(raw: Any, problems: list[str]) -> str | None:
    if raw in (None, ""):
        return None
    labels = str(raw).split(".")
    if len(labels) < 2 or not all(label and len(label) <= 63 and label.replace("-", "").isalnum()
                                  for label in labels):
        problems.append(f"{NAMESPACE}:domain: got {raw!r}; allowed values: a DNS name such as api.example.com")
        return None
    return str(raw).lower()


def _flag(key: str, raw: Any, problems: list[str]) -> bool:
    """A boolean setting: YAML booleans, or the strings the Pulumi engine passes ("true"/"false")."""
    if raw in (None, ""):
        return False
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "false"):
        return text == "true"
    problems.append(f"{NAMESPACE}:{key}: got {raw!r}; allowed values: true, false")
    return False


def _api_image(raw: Any, problems: list[str]) -> str:
    if raw in (None, ""):
        return DEFAULT_API_IMAGE
    text = str(raw)
    if len(text) > 255 or not _IMAGE.match(text):
        problems.append(f"{NAMESPACE}:apiImage: got {raw!r}; allowed values: an image reference such as "
                        f"{DEFAULT_API_IMAGE} or 123456789012.dkr.ecr.us-east-1.amazonaws.com/api@sha256:<digest>")
        return DEFAULT_API_IMAGE
    return text


def _choice(key: str, raw: Any, allowed: tuple[str, ...], problems: list[str]) -> str:
    """One of `allowed` (the first is the default when the key is unset or empty)."""
    if raw in (None, ""):
        return allowed[0]
    text = str(raw).strip().lower()
    if text not in allowed:
        problems.append(f"{NAMESPACE}:{key}: got {raw!r}; allowed values: {', '.join(allowed)}")
        return allowed[0]
    return text


def _overrides(raw: Any, problems: list[str]) -> dict[str, Any] | None:
    if raw in (None, ""):
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as error:
            problems.append(f"{NAMESPACE}:overrides: not valid JSON ({error.msg}); allowed values: an object")
            return None
    if not isinstance(raw, Mapping):
        problems.append(f"{NAMESPACE}:overrides: got {type(raw).__name__}; allowed values: an object")
        return None
    if "regions" in raw and not isinstance(raw["regions"], Mapping):
        problems.append(f"{NAMESPACE}:overrides.regions: got {type(raw['regions']).__name__}; "
                        "allowed values: an object keyed by region name")
        return None
    return dict(raw)


def _describe(error: pydantic.ValidationError, document: Mapping[str, Any],
              overrides: Mapping[str, Any]) -> list[str]:
    """One message per pydantic error, located by the key path a user would write."""
    merged = apply_overrides(document, overrides)
    messages = []
    for item in error.errors(include_url=False):
        path = _key_path(item["loc"], merged)
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            allowed = _allowed_keys(item["loc"][:-1], merged)
            message = f"unknown key; allowed keys: {', '.join(allowed)}"
        elif "input" in item and item["type"] not in ("missing",) and not isinstance(item["input"], dict):
            message = f"got {item['input']!r}; {message}"
        source = "overrides" if path else "overrides (phase-wide rule)"
        messages.append(f"{NAMESPACE}:{source}{'.' + path if path else ''}: {message}")
    return messages


def _key_path(loc: tuple, merged: Mapping[str, Any]) -> str:
    parts: list[str] = []
    node: Any = merged
    for part in loc:
        if isinstance(part, int) and parts and parts[-1] == "regions" and isinstance(node, list):
            name = node[part].get("name") if part < len(node) and isinstance(node[part], Mapping) else part
            parts.append(str(name))
        elif isinstance(part, int):
            parts[-1] = f"{parts[-1]}[{part}]" if parts else f"[{part}]"
        else:
            parts.append(str(part))
        node = node[part] if isinstance(node, (list, Mapping)) and _has(node, part) else None
    return ".".join(parts)


def _has(node: Any, part: Any) -> bool:
    return (isinstance(node, Mapping) and part in node) or (
        isinstance(node, list) and isinstance(part, int) and part < len(node))


def _allowed_keys(loc: tuple, merged: Mapping[str, Any]) -> list[str]:
    """Field names of the model found at `loc` inside Phase."""
    model: type[BaseModel] | None = Phase
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        model = _model_of(field.annotation) if field else None
    return sorted(model.model_fields) if model else []


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in getattr(annotation, "__args__", ()):
        found = _model_of(argument)
        if found:
            return found
    return None


def read_pulumi_config() -> dict[str, Any]:
    """Every `qnom:` key of the running stack, as the Pulumi engine passed them in.

    Reads the whole bag rather than known keys one by one, so an unknown or misspelt key
    in a stack file is reported instead of ignored.
    """
    from pulumi.runtime import config as runtime_config

    bag = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return {key: value for key, value in bag.items() if key.startswith(f"{NAMESPACE}:")}
