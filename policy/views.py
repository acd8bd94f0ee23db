"""Views of what the engine hands the pack: resources and the stack, read safely during a preview.

Reading properties: during a preview some inputs are unknown (they come from outputs of
resources not created yet). The engine hands them to the pack as sentinel values wrapped in
a proxy that raises `UnknownValueError` when read; the engine then reports "can't run policy
during preview" as an advisory diagnostic instead of a violation. `Resource.require` keeps
that behaviour for checks that cannot decide without the value; `Resource.get` returns
`UNKNOWN` instead, for checks where "set, value not known yet" is enough (an ARN, a KMS key).
Nothing here knows rules or the stack's context: `policy.context` and `policy.framework` build on it.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pulumi_policy import PolicyProviderResource, PolicyResource
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

AWS_PROVIDER = "pulumi:providers:aws"
ANY_AWS_TYPE = "aws:*"


class _Unknown:
    """A value the preview does not know yet (marker returned by `Resource.get`)."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown during preview>"


UNKNOWN = _Unknown()


class NotApplicable(Exception):
    """Raised by a check when the rule does not apply to this resource or stack."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# --------------------------------------------------------------------------- values

def step(node: Any, key: str | int) -> Any:
    """One step into a mapping or list: the value, UNKNOWN, or None when absent."""
    if node is None or node is UNKNOWN:
        return node
    try:
        if isinstance(node, Mapping):
            return node[key]
        if isinstance(node, Sequence) and not isinstance(node, (str, bytes)):
            return node[int(key)]
    except UnknownValueError:
        return UNKNOWN
    except (KeyError, IndexError, ValueError, TypeError):
        return None
    return None


def lookup(node: Any, path: str) -> Any:
    """Value at a dotted path (`metadataOptions.httpTokens`, `origins.0.domainName`)."""
    for key in path.split("."):
        node = step(node, key)
        if node is None or node is UNKNOWN:
            return node
    if isinstance(node, str) and node == UNKNOWN_STRING_VALUE:
        return UNKNOWN
    return node


def elements(value: Any) -> list[Any]:
    """Items of a list value (UNKNOWN for unknown items); [] for None."""
    if value is None:
        return []
    if value is UNKNOWN or not isinstance(value, Sequence) or isinstance(value, (str, bytes)):
        return [value]
    return [step(value, index) for index in range(len(value))]


def truthy(value: Any) -> bool | _Unknown:
    """True for true and "true" (some launch template fields are strings), UNKNOWN stays UNKNOWN."""
    if value is UNKNOWN:
        return UNKNOWN
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True


def plain(value: Any) -> Any:
    """A proxied value as plain dicts and lists (UNKNOWN for unknown parts)."""
    if value is UNKNOWN or value is None:
        return value
    if isinstance(value, Mapping):
        return {key: plain(step(value, key)) for key in list(value)}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [plain(item) for item in elements(value)]
    return value


def json_document(value: Any) -> Any:
    """A policy document given as JSON text or as an object; UNKNOWN or None pass through."""
    if value is None or value is UNKNOWN:
        return value
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None
    return plain(value)


def listify(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def matches_any(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


# --------------------------------------------------------------------------- URNs

def urn_types(urn: str) -> tuple[str, ...]:
    """The type chain of a URN: parent component types first, the resource's own type last."""
    parts = urn.split("::")
    return tuple(parts[2].split("$")) if len(parts) >= 4 else ()


def urn_name(urn: str) -> str:
    return urn.split("::")[-1]


# --------------------------------------------------------------------------- tags

@dataclass(frozen=True)
class TagSupport:
    taggable: bool
    """The resource takes a `tags` input."""
    default_tags: bool
    """The provider's `defaultTags` apply to it (it has a `tagsAll` attribute)."""


@lru_cache(maxsize=None)
def tag_support(resource_type: str) -> TagSupport:
    """Whether the installed pulumi-aws resource takes tags, and whether default tags reach it.

    Read from the package rather than from a list, so a component adding a new resource type
    is covered without touching the pack. Default tags do not reach every taggable resource:
    an Auto Scaling group, for one, has only its own `tag` blocks (no `tags_all`).
    """
    import importlib
    import inspect

    parts = resource_type.split(":")
    if len(parts) != 3 or parts[0] != "aws":
        return TagSupport(False, False)
    module_name = parts[1].split("/")[0]
    try:
        module = importlib.import_module("pulumi_aws" if module_name == "index" else f"pulumi_aws.{module_name}")
        resource_class = getattr(module, parts[2])
        inputs = inspect.signature(resource_class._internal_init).parameters
        state = inspect.signature(resource_class.get).parameters
    except (ImportError, AttributeError, TypeError, ValueError):
        return TagSupport(False, False)
    return TagSupport(taggable="tags" in inputs, default_tags="tags_all" in state)


def provider_default_tags(provider: PolicyProviderResource | None) -> dict[str, Any] | _Unknown:
    """The `defaultTags.tags` of an AWS provider (the engine passes nested provider inputs as JSON text)."""
    if provider is None or provider.resource_type != AWS_PROVIDER:
        return {}
    raw = lookup(provider.props, "defaultTags")
    if raw is UNKNOWN:
        return UNKNOWN
    document = json_document(raw) if raw is not None else {}
    tags = (document or {}).get("tags") if isinstance(document, Mapping) else None
    return dict(tags) if isinstance(tags, Mapping) else {}


# --------------------------------------------------------------------------- resource views

@dataclass(frozen=True)
class Resource:
    """One resource as a rule sees it, for resource rules (inputs) and stack rules (state)."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    provider: PolicyProviderResource | None = None
    protect: bool = False
    ignore_changes: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_args(cls, args: ResourceValidationArgs) -> Resource:
        opts = args.opts
        return cls(type=args.resource_type, name=args.name, urn=args.urn, props=args.props, provider=args.provider,
                   protect=bool(getattr(opts, "protect", False)),
                   ignore_changes=tuple(getattr(opts, "ignore_changes", None) or ()))

    @classmethod
    def from_policy_resource(cls, resource: PolicyResource) -> Resource:
        opts = resource.opts
        return cls(type=resource.resource_type, name=resource.name, urn=resource.urn, props=resource.props,
                   provider=resource.provider, protect=bool(getattr(opts, "protect", False)),
                   ignore_changes=tuple(getattr(opts, "ignore_changes", None) or ()),
                   property_dependencies={key: tuple(dep.urn for dep in deps)
                                          for key, deps in (resource.property_dependencies or {}).items()})

    def get(self, path: str, default: Any = None) -> Any:
        """Value at `path`; UNKNOWN while the preview cannot know it; `default` when unset."""
        value = lookup(self.props, path)
        return default if value is None else value

    def require(self, path: str, default: Any = None) -> Any:
        """Value at `path`, raising the engine's UnknownValueError when it is unknown.

        The engine turns that error into an advisory "can't run during preview" diagnostic;
        `pulumi up` runs the rule again with the real value before creating the resource.
        """
        value = self.get(path, default)
        if value is UNKNOWN:
            raise UnknownValueError(UNKNOWN_STRING_VALUE, path.split("."))
        return value

    def has(self, path: str) -> bool:
        """Whether `path` is set, known or not (presence of an ARN or a list counts)."""
        value = lookup(self.props, path)
        if value is UNKNOWN:
            return True
        if value is None or value == "":
            return False
        if isinstance(value, (Sequence, Mapping)) and not isinstance(value, str):
            return len(value) > 0
        return True

    @property
    def region(self) -> str | None:
        if self.provider is None or self.provider.resource_type != AWS_PROVIDER:
            return None
        region = lookup(self.provider.props, "region")
        return region if isinstance(region, str) else None

    @property
    def components(self) -> tuple[str, ...]:
        """Types of the components this resource hangs under, outermost first."""
        return urn_types(self.urn)[:-1]

    def under(self, component_type: str) -> bool:
        return component_type in self.components

    def effective_tags(self) -> dict[str, Any] | _Unknown:
        """Its own `tags` over its provider's default tags (when default tags reach this type)."""
        own = self.get("tags")
        if own is UNKNOWN:
            return UNKNOWN
        if isinstance(own, Sequence) and not isinstance(own, str):  # Auto Scaling group tag blocks
            own = {lookup(item, "key"): lookup(item, "value") for item in elements(own) if isinstance(item, Mapping)}
        tags: dict[str, Any] = {}
        if tag_support(self.type).default_tags:
            defaults = provider_default_tags(self.provider)
            if defaults is UNKNOWN:
                return UNKNOWN
            tags.update(defaults)
        tags.update(plain(own) or {})
        return tags


@dataclass(frozen=True)
class Stack:
    """All resources of the stack, with the lookups stack rules need."""

    resources: tuple[Resource, ...]

    @classmethod
    def from_args(cls, args: StackValidationArgs) -> Stack:
        return cls(tuple(Resource.from_policy_resource(resource) for resource in args.resources))

    def of_type(self, *types: str) -> list[Resource]:
        return [resource for resource in self.resources if resource.type in types]

    @property
    def by_urn(self) -> dict[str, Resource]:
        return {resource.urn: resource for resource in self.resources}

    def dependencies(self, resource: Resource, prop: str) -> list[Resource]:
        """Resources the value of `resource.prop` comes from."""
        by_urn = self.by_urn
        return [by_urn[urn] for urn in resource.property_dependencies.get(prop, ()) if urn in by_urn]

    def dependents(self, target: Resource, types: Iterable[str], props: Iterable[str]) -> list[Resource]:
        """Resources of `types` whose property (one of `props`) is computed from `target`."""
        wanted = tuple(props)
        return [resource for resource in self.of_type(*types)
                if any(target.urn in resource.property_dependencies.get(prop, ()) for prop in wanted)]

    def providers(self) -> list[Resource]:
        return self.of_type(AWS_PROVIDER)

    def has_component(self, component_types: Iterable[str]) -> bool:
        wanted = set(component_types)
        return any(wanted & set(urn_types(resource.urn)) for resource in self.resources)
