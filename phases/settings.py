"""Stack settings: the `qnom:` config of a stack, validated into one `StackSettings` model.

`StackSettings` is a frozen pydantic model whose fields are the stack's `qnom:` keys (by
alias): each key's type, allowed values, default and description are written there once.
`Pulumi.yaml` declares the same keys, and `project_config()` renders what it must say
(tests/test_project_files.py keeps the two in step). The same function serves `pulumi up`
(values read through `pulumi.Config`) and the offline `qnom` CLI (values read from the stack
file), so both refuse the same mistakes with the same messages: one line per problem, naming
the key path and the allowed values.

`aws:region` names the stack's primary region. The phase's regions follow it: the catalog's
primary entry (its CIDR, sizes and role) takes that name and, when the phase already runs that
region as a secondary, the two entries swap names, so an EU-primary stack keeps its primary's
resources in every phase. `qnom:overrides` address regions by these names, and an override that
moves the primary elsewhere is refused rather than silently contradicting `aws:region`.

`qnom:planDate` is the program's clock: the day the seasonal scaling windows are dated from.
Unset, it is today in the traffic schedule's time zone; offline plans set it to plan as of a
given day (`qnom plan --date`).
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Annotated, Any, Literal, Mapping, get_args
from zoneinfo import ZoneInfo

import pydantic
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator, PrivateAttr, ValidationInfo
from pydantic import field_validator, model_validator
from pydantic_core import PydanticCustomError
from pulumi import RunError

from phases.catalog import PHASE_FILES, PHASE_NUMBERS, deep_merge, phase_document
from phases.cost_profile import CostProfileName, apply_profile
from phases.environment import PROFILES, EnvironmentName, EnvironmentProfile, nat_gateways_per_az
from phases.models import AwsRegionName, Phase, RegionSpec

NAMESPACE = "qnom"
AWS_REGION_KEY = "aws:region"
"""The AWS provider's region key: the stack's primary region (the phase's regions follow it)."""
DEFAULT_API_IMAGE = "public.ecr.aws/qnom/api:stable"
SERVICE_IMAGE_FIELDS = {
    "api-gateway": "api_gateway_image",
    "auth-service": "auth_service_image",
    "user-service": "user_service_image",
    "order-service": "order_service_image",
    "notification-service": "notification_service_image",
}
"""The Kubernetes services of the phase catalog and the setting holding each one's image."""
# A registry reference and nothing else: the value is written into the instances' boot script.
_IMAGE = re.compile(
    r"^[a-z0-9]+([.-][a-z0-9]+)*(:\d+)?"                     # registry host[:port]
    r"(/[a-z0-9]+([._-][a-z0-9]+)*)+"                         # /repository path
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})?$"  # :tag or @digest
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
RoutingMode = Literal["latency", "weighted"]
"""How Route 53 spreads API traffic over the regions."""
HostedZoneMode = Literal["lookup", "create"]
"""Whether the domain's hosted zone is looked up or created by the stack."""
ServiceRoleMode = Literal["create", "existing"]
"""Whether the stack creates the account's OpenSearch service-linked role or uses the one there."""
OriginSecretSlot = Literal["a", "b"]
"""Which of the two origin secrets CloudFront sends (the load balancers accept both)."""
CLOCK_TIME_ZONE = "UTC"
"""Time zone of the default plan date for a phase without a traffic schedule."""
_PROBLEM = "qnom_setting"
_UNRESOLVED = "qnom_unresolved"


class SettingsError(RunError):
    """Invalid stack settings. `problems` holds one message per problem.

    A RunError, so `pulumi up` prints the message without a Python traceback.
    """

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid stack settings:\n" + "\n".join(f"  - {p}" for p in problems))


def today_in(time_zone: str) -> date:
    """Today in `time_zone`: the program's only clock, read when `qnom:planDate` is unset."""
    return datetime.now(ZoneInfo(time_zone)).date()


def _problem(text: str, key: str = "") -> PydanticCustomError:
    """A problem worded for the user; `key` (a key path below `qnom:`) when it is not the field's own."""
    return PydanticCustomError(_PROBLEM, "{text}", {"text": text, "key": key})


# Value types of the keys. Stack files hold YAML values; the Pulumi engine passes text. -------

def _choice(raw: Any) -> Any:
    """Choices are matched without case and surrounding blanks."""
    return raw.strip().lower() if isinstance(raw, str) else raw


def _flag(raw: Any) -> bool:
    """YAML booleans, or the strings the Pulumi engine passes ("true"/"false")."""
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise _problem(f"got {raw!r}; allowed values: true, false")


def _domain(raw: Any) -> str:
    labels = str(raw).split(".")
    if len(labels) < 2 or not all(label and len(label) <= 63 and label.replace("-", "").isalnum()
                                  for label in labels):
        raise _problem(f"got {raw!r}; allowed values: a DNS name such as api.example.com")
    return str(raw).lower()


def _email(raw: Any) -> str:
    text = str(raw).strip()
    if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", text):
        raise _problem(f"got {raw!r}; allowed values: an e-mail address such as oncall@example.com")
    return text


def _api_image(raw: Any) -> str:
    text = str(raw)
    if len(text) > 255 or not _IMAGE.match(text):
        raise _problem(f"got {raw!r}; allowed values: an image reference such as {DEFAULT_API_IMAGE} "
                       "or 123456789012.dkr.ecr.us-east-1.amazonaws.com/api@sha256:<digest>")
    return text


def _cidr_list(raw: Any) -> tuple[str, ...]:
    """Comma-separated IPv4 CIDRs (or a YAML list); never the whole internet."""
    import ipaddress

    items = raw if isinstance(raw, (list, tuple)) else str(raw).split(",")
    cidrs = []
    for item in (str(item).strip() for item in items):
        if not item:
            continue
        try:
            network = ipaddress.IPv4Network(item, strict=True)
        except ValueError:
            raise _problem(f"got {item!r}; allowed values: IPv4 CIDRs such as 203.0.113.0/24, comma-separated") from None
        if network.prefixlen == 0:
            raise _problem(f"got {item!r}: the cluster's API would be open to the internet; allowed values: "
                           "the CIDRs of the networks that deploy and operate the clusters") from None
        cidrs.append(str(network))
    return tuple(cidrs)


_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")


def _role_arn(raw: Any) -> str:
    text = str(raw).strip()
    if not _ROLE_ARN.match(text):
        raise _problem(f"got {raw!r}; allowed values: an IAM role ARN such as "
                       "arn:aws:iam::123456789012:role/platform-deployer")
    return text


def _overrides(raw: Any) -> dict[str, Any]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as error:
            raise _problem(f"not valid JSON ({error.msg}); allowed values: an object") from None
    if not isinstance(raw, Mapping):
        raise _problem(f"got {type(raw).__name__}; allowed values: an object")
    if "regions" in raw and not isinstance(raw["regions"], Mapping):
        raise _problem(f"got {type(raw['regions']).__name__}; allowed values: an object keyed by region name",
                       key="overrides.regions")
    return dict(raw)


def _phase_number(raw: Any) -> int:
    text = str(raw).strip().lower()
    if text in PHASE_NUMBERS:
        return PHASE_NUMBERS[text]
    if text.isdigit() and int(text) in PHASE_FILES:
        return int(text)
    raise _problem(f"got {raw!r}; allowed values: 1-4 or {', '.join(PHASE_NUMBERS)}")


def parse_plan_date(raw: Any) -> date:
    """A plan date: a day, YYYY-MM-DD (a ValueError names the allowed values otherwise)."""
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw  # an unquoted YAML date
    text = str(raw).strip()
    if _DATE.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise _problem(f"got {raw!r}; allowed values: a date YYYY-MM-DD (unset: today)")


Choice = BeforeValidator(_choice)
Flag = Annotated[bool, PlainValidator(_flag)]


class StackSettings(BaseModel):
    """Everything the program needs to know about one stack: its `qnom:` keys, validated.

    Fields are read by their `qnom:` key (the alias). Validate through `settings_from_config`,
    which also gives the Pulumi project and stack names (`project`, `stack`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Field order matters: a field's validator sees the fields above it (`phase` needs the
    # overrides, the phase-4 switches and the plan date need the phase).
    overrides: Annotated[dict[str, Any], PlainValidator(_overrides)] = Field(
        default_factory=dict,
        description="Object deep-merged over the phase catalog and validated by the same model; "
                    "regions are addressed by name.")
    surge: Flag = Field(
        False,
        description="Emergency scaling (the seed's playbook): API groups held at the phase's surge size with "
                    "their scheduled actions suspended, the cache evicting any key, max_connections at least 500, "
                    "a strict WAF rate limit. Default false. `qnom surge on|off` flips it; nothing is replaced.")
    """True while the stack surges: `phase` is then the catalog's surged phase (`Phase.surged()`)."""
    cost_profile: Annotated[CostProfileName, Choice] = Field(
        "standard", alias="costProfile",
        description="Instance families: standard (default; the seed's) or optimised (the same vCPUs and memory on "
                    "Graviton EC2, RDS, Aurora and ElastiCache types, images published for linux/arm64, and the API "
                    "groups above half their everyday minimum on spot; qnom cost shows both).")
    phase: Phase = Field(description="Growth phase: 1-4 or launch, growth, scale, global.")
    """The phase's catalog with the overrides applied (the key names the phase), surged while `surge` is on."""
    environment: Annotated[EnvironmentName, Choice] = Field(
        description="Environment profile: dev, staging or prod (prod protects stateful resources; staging runs "
                    "prod's topology unprotected, its workers all on spot).")
    domain: Annotated[str, PlainValidator(_domain)] | None = Field(
        None, description="Public domain of the API (e.g. api.example.com). Unset: no DNS, no certificates.")
    database_cutover: Flag = Field(
        False, alias="databaseCutover",
        description="Phase 4 only: promote the Aurora replica cluster to the writer and add its Serverless v2 "
                    "readers. Default false: Aurora only replicates and the RDS instance stays the writer.")
    """True once the operator cuts the database over from RDS to Aurora (phase 4)."""
    failover_region: Annotated[str, Choice] | None = Field(
        None, alias="failoverRegion",
        description="Region failover, phases 3-4 before the database cut-over: the named secondary region's first "
                    "cross-region replica is promoted to the writer and the region's apps write to it. Unset "
                    "(default): the primary region writes. For the loss of the primary region only: see the README.")
    """The secondary region whose replica chain a failover promoted to the writer; None normally."""
    api_image: Annotated[str, PlainValidator(_api_image)] = Field(
        DEFAULT_API_IMAGE, alias="apiImage",
        description="Container image the API and worker instances run (registry/repository:tag or @sha256 digest).")
    routing: Annotated[RoutingMode, Choice] = Field(
        "latency",
        description="How Route 53 spreads API traffic over the regions: latency (default) or weighted "
                    "(the phase's regions[].weight). Used only with a domain.")
    hosted_zone: Annotated[HostedZoneMode, Choice] = Field(
        "lookup", alias="hostedZone",
        description="Route 53 hosted zone of the domain: lookup (default; a public zone named exactly "
                    "like qnom:domain must exist) or create (the stack creates and protects it).")
    retire_regional_caches: Flag = Field(
        False, alias="retireRegionalCaches",
        description="Phase 4 only, after the global cache datastore is in service: delete the secondary regions' "
                    "standalone phase-3 caches. Default false: they stay beside the datastore's members.")
    """True once the operator retires the secondary regions' standalone caches."""
    search_service_role: Annotated[ServiceRoleMode, Choice] = Field(
        "create", alias="openSearchServiceRole",
        description="OpenSearch service-linked role (AWSServiceRoleForAmazonOpenSearchService), needed before "
                    "the first VPC domain of the account: create (default; the stack creates it and never "
                    "deletes it) or existing (the account already has it, e.g. another stack created it).")
    cluster_public_access_cidrs: Annotated[tuple[str, ...], PlainValidator(_cidr_list)] = Field(
        "", alias="clusterPublicAccessCidrs", validate_default=True,
        description="Phase 3 on: IPv4 CIDRs (comma-separated) allowed to reach the EKS clusters' public API endpoint, "
                    "e.g. the CI runners' and operators' networks; 0.0.0.0/0 is refused. Default empty: the endpoint "
                    "is private only, reachable from inside the VPC (then deploy from there).")
    cluster_admin_role_arn: Annotated[str, PlainValidator(_role_arn)] | None = Field(
        None, alias="clusterAdminRoleArn",
        description="Phase 3 on: IAM role given cluster admin on every EKS cluster (an access entry), e.g. the role "
                    "CI deploys with. Unset: the principal running pulumi up, so every deployer must be the same.")
    api_gateway_image: Annotated[str, PlainValidator(_api_image)] = Field(
        "public.ecr.aws/qnom/api-gateway:stable", alias="apiGatewayImage",
        description="Phase 3 on: container image of the Kubernetes api-gateway (registry/repository:tag or @sha256 digest).")
    auth_service_image: Annotated[str, PlainValidator(_api_image)] = Field(
        "public.ecr.aws/qnom/auth-service:stable", alias="authServiceImage",
        description="Phase 3 on: container image of the Kubernetes auth-service (registry/repository:tag or @sha256 digest).")
    user_service_image: Annotated[str, PlainValidator(_api_image)] = Field(
        "public.ecr.aws/qnom/user-service:stable", alias="userServiceImage",
        description="Phase 3 on: container image of the Kubernetes user-service (registry/repository:tag or @sha256 digest).")
    order_service_image: Annotated[str, PlainValidator(_api_image)] = Field(
        "public.ecr.aws/qnom/order-service:stable", alias="orderServiceImage",
        description="Phase 3 on: container image of the Kubernetes order-service (registry/repository:tag or @sha256 digest).")
    notification_service_image: Annotated[str, PlainValidator(_api_image)] = Field(
        "public.ecr.aws/qnom/notification-service:stable", alias="notificationServiceImage",
        description="Phase 3 on: container image of the Kubernetes notification-service (registry/repository:tag or @sha256 digest).")
    alert_email: Annotated[str, PlainValidator(_email)] | None = Field(
        None, alias="alertEmail",
        description="E-mail address subscribed to the on-call and critical alert topics (AWS mails a confirmation "
                    "link first). Unset (default): the topics exist without subscribers.")
    origin_secret_slot: Annotated[OriginSecretSlot, Choice] = Field(
        "a", alias="originSecretSlot",
        description="Which of the two origin secrets CloudFront sends to the load balancers, which accept both: "
                    "a (default) or b. Rotate one secret while the other is sent, then switch.")
    plan_date: date = Field(
        None, alias="planDate", validate_default=True,
        description="Day the program plans for (YYYY-MM-DD): the seasonal scaling windows are dated from it. "
                    "For offline planning (qnom plan --date); unset (default): today in the traffic schedule's "
                    "time zone. Leave it unset in a deployed stack: a past day yields start times AWS refuses.")

    _project: str = PrivateAttr(NAMESPACE)
    _stack: str = PrivateAttr("")

    @model_validator(mode="before")
    @classmethod
    def _empty_is_unset(cls, data: Any) -> Any:
        """An empty optional key takes its default (`Pulumi.yaml` declares "" for optional text keys)."""
        if not isinstance(data, Mapping):
            return data
        optional = {field.alias or name for name, field in cls.model_fields.items() if not field.is_required()}
        return {key: value for key, value in data.items()
                if not (key in optional and (value is None or value == ""))}

    @field_validator("phase", mode="plain")
    @classmethod
    def _resolve_phase(cls, raw: Any, info: ValidationInfo) -> Phase:
        number = _phase_number(raw)
        if "overrides" not in info.data:  # reported on qnom:overrides already
            raise PydanticCustomError(_UNRESOLVED, "needs valid overrides")
        primary = (info.context or {}).get("primary_region")
        # The profile's families first; explicit overrides still win.
        document = apply_profile(phase_document(number), info.data.get("cost_profile", "standard"))
        merged = apply_overrides(follow_primary_region(document, primary), info.data["overrides"])
        try:
            phase = Phase.model_validate(merged)
        except pydantic.ValidationError as error:
            raise _override_problems(error, merged) from None
        if primary is not None and phase.primary_region.name != primary:
            raise _problem(f"these renames make {phase.primary_region.name} the primary region, but "
                           f"{AWS_REGION_KEY} is {primary}; allowed values: the primary region's name is "
                           f"{AWS_REGION_KEY} (change {AWS_REGION_KEY}, or drop the rename)", key="overrides.regions")
        return phase.surged() if info.data.get("surge") else phase

    @field_validator("phase", mode="after")
    @classmethod
    def _every_service_has_an_image(cls, phase: Phase) -> Phase:
        names = [service.name for service in phase.kubernetes.services] if phase.kubernetes else []
        unknown = [name for name in names if name not in SERVICE_IMAGE_FIELDS]
        if unknown:
            raise _problem(f"kubernetes.services {unknown} have no image setting; allowed services: "
                           f"{', '.join(SERVICE_IMAGE_FIELDS)}", key="overrides.kubernetes.services")
        return phase

    @field_validator("database_cutover")
    @classmethod
    def _cutover_needs_aurora(cls, cutover: bool, info: ValidationInfo) -> bool:
        phase = info.data.get("phase")
        if cutover and phase is not None and phase.database.aurora is None:
            raise _problem(f"true needs an Aurora migration (phase 4, database.aurora); phase {phase.number} "
                           f"({phase.name}) has none; allowed values: false")
        return cutover

    @field_validator("failover_region")
    @classmethod
    def _failover_to_a_secondary(cls, region: str | None, info: ValidationInfo) -> str | None:
        phase = info.data.get("phase")
        if region is None or phase is None:
            return region
        secondaries = [spec.name for spec in phase.regions if spec.role == "secondary"]
        if region not in secondaries:
            raise _problem(f"got {region!r}; allowed values: a secondary region of phase {phase.number} "
                           f"({', '.join(secondaries) or 'none: the phase has one region'}), or unset")
        if info.data.get("database_cutover"):
            # After the cut-over the writer is an Aurora global database, whose own managed failover
            # (FailoverGlobalCluster) moves the writer with its storage-level replication.
            raise _problem(f"got {region!r} with qnom:databaseCutover true; allowed values: unset (fail the Aurora "
                           "global database over with `aws rds failover-global-cluster` instead)")
        return region

    @field_validator("retire_regional_caches")
    @classmethod
    def _retiring_needs_a_datastore(cls, retire: bool, info: ValidationInfo) -> bool:
        phase = info.data.get("phase")
        if retire and phase is not None and not (phase.cache.global_datastore and phase.multi_region):
            raise _problem("true needs the global cache datastore that replaces the secondary regions' caches "
                           f"(phase 4, cache.global_datastore); phase {phase.number} ({phase.name}) has none; "
                           "allowed values: false")
        return retire

    @field_validator("plan_date", mode="plain")
    @classmethod
    def _resolve_plan_date(cls, raw: Any, info: ValidationInfo) -> date:
        if raw is None:
            schedule = getattr(info.data.get("phase"), "schedule", None)
            return today_in(schedule.timezone if schedule else CLOCK_TIME_ZONE)
        return parse_plan_date(raw)

    @model_validator(mode="after")
    def _name(self, info: ValidationInfo) -> StackSettings:
        context = info.context or {}
        self._project = context.get("project", NAMESPACE)
        self._stack = context.get("stack", "")
        return self

    @property
    def project(self) -> str:
        """The Pulumi project's name."""
        return self._project

    @property
    def stack(self) -> str:
        """The Pulumi stack's name."""
        return self._stack

    def service_image(self, service: str) -> str:
        """The image setting of a Kubernetes service of the catalog (`SERVICE_IMAGE_FIELDS`)."""
        return getattr(self, SERVICE_IMAGE_FIELDS[service])

    @property
    def profile(self) -> EnvironmentProfile:
        return PROFILES[self.environment]

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

    def api_surge_size(self, region: RegionSpec) -> int | None:
        """Instances the region's API group holds while the stack surges; None when it does not."""
        return self.phase.surge_size(region) if self.surge else None

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


def _key(name: str) -> str:
    return StackSettings.model_fields[name].alias or name


CONFIG_KEYS: dict[str, str] = {_key(name): field.description or ""
                               for name, field in StackSettings.model_fields.items()}
"""Every `qnom:` key a stack may set, with its description (from StackSettings)."""
REQUIRED_KEYS = tuple(_key(name) for name, field in StackSettings.model_fields.items() if field.is_required())
PLAN_DATE_KEY = f"{NAMESPACE}:{_key('plan_date')}"


def project_config() -> dict[str, dict[str, Any]]:
    """The `qnom:` declarations `Pulumi.yaml` must hold: required keys first, then the model's order.

    Every optional key has a default, because the Pulumi CLI stops before the program runs when
    a key of the project's namespace has neither a stack value nor a default; optional text keys
    default to "", which the model reads as unset.
    """
    declarations: dict[str, dict[str, Any]] = {}
    fields = sorted(StackSettings.model_fields.items(), key=lambda item: not item[1].is_required())
    for name, field in fields:
        kind = "boolean" if field.annotation is bool else "object" if name == "overrides" else "string"
        declaration: dict[str, Any] = {"type": kind, "description": field.description}
        if not field.is_required():
            default = field.get_default(call_default_factory=True)
            declaration["default"] = "" if default is None else default
        declarations[f"{NAMESPACE}:{_key(name)}"] = declaration
    return declarations


def settings_from_config(
    config: Mapping[str, Any],
    *,
    project: str = NAMESPACE,
    stack: str,
    phase_override: int | str | None = None,
    plan_date: date | str | None = None,
) -> StackSettings:
    """Validates `config` (keys with or without the `qnom:` prefix) into settings.

    `phase_override` and `plan_date`, when given, replace `qnom:phase` and `qnom:planDate`.
    Raises SettingsError listing every problem found; nothing is created before this returns.
    """
    values = _strip_namespace(config)
    primary_region = config.get(AWS_REGION_KEY) or None
    if primary_region is not None and primary_region not in get_args(AwsRegionName):
        raise SettingsError([f"{AWS_REGION_KEY}: got {primary_region!r}; allowed values: "
                             f"{', '.join(get_args(AwsRegionName))} (the stack's primary region)"])
    if phase_override is not None:
        values["phase"] = phase_override
    if plan_date is not None:
        values[_key("plan_date")] = plan_date
    try:
        return StackSettings.model_validate(values, context={"project": project, "stack": stack,
                                                             "primary_region": primary_region})
    except pydantic.ValidationError as error:
        raise SettingsError(_describe_settings(error, values)) from None


def _describe_settings(error: pydantic.ValidationError, values: Mapping[str, Any]) -> list[str]:
    """One message per problem: `qnom:<key path>: <what was wrong>; allowed values: <...>`."""
    messages = []
    for item in error.errors(include_url=False):
        key = str(item["loc"][0]) if item["loc"] else ""
        if item["type"] == _UNRESOLVED:
            continue
        if item["type"] == _PROBLEM:
            key, text = item["ctx"]["key"] or key, item["ctx"]["text"]
        elif item["type"] == "missing":
            text = "required setting is missing"
        elif item["type"] == "extra_forbidden":
            text = f"unknown setting; allowed keys: {', '.join(sorted(CONFIG_KEYS))}"
        elif item["type"] == "literal_error":
            text = f"got {values.get(key)!r}; allowed values: {', '.join(_allowed(key))}"
        else:
            text = f"got {values.get(key)!r}; {item['msg']}"
        messages.append(f"{NAMESPACE}:{key}: {text}")
    return messages


def _allowed(key: str) -> tuple[str, ...]:
    field = next(field for name, field in StackSettings.model_fields.items() if (field.alias or name) == key)
    return get_args(field.annotation)


def follow_primary_region(document: Mapping[str, Any], primary: str | None) -> dict[str, Any]:
    """The phase document with its primary entry named `primary` (the stack's `aws:region`).

    A phase that already runs `primary` as a secondary swaps the two entries' names, so every
    role keeps its sizes and CIDR and the set of regions stays the phase's.
    """
    regions = [dict(region) for region in document["regions"]]
    current = next(region for region in regions if region.get("role") == "primary")
    if primary is None or current["name"] == primary:
        return dict(document)
    for region in regions:
        if region["name"] == primary:
            region["name"] = current["name"]
    current["name"] = primary
    return {**document, "regions": regions}


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


def _override_problems(error: pydantic.ValidationError, merged: Mapping[str, Any]) -> pydantic.ValidationError:
    """The phase model's errors as problems of `qnom:overrides`, located by the key path a user would write."""
    problems = []
    for item in error.errors(include_url=False):
        path = _key_path(item["loc"], merged)
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            allowed = _allowed_keys(item["loc"][:-1], merged)
            message = f"unknown key; allowed keys: {', '.join(allowed)}"
        elif "input" in item and item["type"] not in ("missing",) and not isinstance(item["input"], dict):
            message = f"got {item['input']!r}; {message}"
        key = f"overrides.{path}" if path else "overrides (phase-wide rule)"
        problems.append({"type": _problem(message, key=key), "loc": (), "input": None})
    return pydantic.ValidationError.from_exception_data(Phase.__name__, problems)


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
    """Every `qnom:` key of the running stack, and `aws:region`, as the Pulumi engine passed them in.

    Reads the whole bag rather than known keys one by one, so an unknown or misspelt key
    in a stack file is reported instead of ignored.
    """
    from pulumi.runtime import config as runtime_config

    bag = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return {key: value for key, value in bag.items() if key.startswith(f"{NAMESPACE}:") or key == AWS_REGION_KEY}
