"""The change between two recorded runs of the program, as Pulumi would apply it (a promotion, a surge).

Creates nothing. `diff_runs(before, after)` pairs the registrations of two `ProgramRun`s by URN
and sorts every resource into one of four kinds, each grouped by the component it belongs to:

- added: a URN only the newer run registers;
- deleted: a URN only the older run registers;
- replaced: a resource Pulumi would delete and create again: an input the provider marks ForceNew
  changed (`qnom.awsrules.force_new.REPLACEMENT_INPUTS`, the Terraform AWS provider's schemas),
  any input of a resource registered with `replaceOnChanges: ["*"]` changed, its parent or
  provider changed, or its URN changed (the same type and name under another parent: an old URN
  deleted and a new one created);
- changed: an in-place update, with every input's old and new value.

An input the newer registration lists in `ignoreChanges` keeps its old value in Pulumi's diff
(Pulumi docs, "Resource options: ignoreChanges"), so it is neither a change nor a replacement.
An input known only after deployment ("[unknown]") counts as changed when the resources it comes
from changed. `refusals(before, after)` lists what a promotion must not do to data: every hazard
of `qnom.awsrules.force_new.promotion_hazards`, which covers the stateful types
(`policy.resource_types.STATEFUL`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from qnom.awsrules.force_new import MISSING, Hazard, promotion_hazards, replacements
from qnom.engine import UNKNOWN, ProgramRun, RecordedResource

TOP_LEVEL = "(stack)"
"""The component name of resources registered at the top of the program (providers, the platform)."""


@dataclass(frozen=True)
class ResourceChange:
    """One resource that a step adds, changes, replaces or deletes."""

    urn: str
    name: str
    type: str
    component: str
    """Name of the nearest enclosing component (`us-east-1-db`), or `(stack)` at the top."""
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Changed inputs, by name: `{"old": ..., "new": ...}` (an absent side is left out)."""
    reasons: tuple[str, ...] = ()
    """For a replacement: what forces it (`engine: 'postgres' -> 'aurora-postgresql'`, `parent`)."""

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"urn": self.urn, "name": self.name, "type": self.type,
                                    "component": self.component}
        if self.inputs:
            document["inputs"] = self.inputs
        if self.reasons:
            document["reasons"] = list(self.reasons)
        return document


@dataclass(frozen=True)
class PlanDiff:
    added: list[ResourceChange]
    changed: list[ResourceChange]
    replaced: list[ResourceChange]
    deleted: list[ResourceChange]

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.replaced or self.deleted)

    def by_component(self) -> dict[str, dict[str, list[ResourceChange]]]:
        """Component name -> kind (`added`, `changed`, `replaced`, `deleted`) -> resources, sorted."""
        grouped: dict[str, dict[str, list[ResourceChange]]] = defaultdict(lambda: defaultdict(list))
        for kind in ("added", "changed", "replaced", "deleted"):
            for change in getattr(self, kind):
                grouped[change.component][kind].append(change)
        return {component: dict(kinds) for component, kinds in sorted(grouped.items())}

    def to_json(self) -> dict[str, list[dict[str, Any]]]:
        return {kind: [change.to_json() for change in getattr(self, kind)]
                for kind in ("added", "changed", "replaced", "deleted")}


def component_of(run: ProgramRun, resource: RecordedResource) -> str:
    """The name of the nearest component (a non-custom resource) above `resource`."""
    parent = run.by_urn.get(resource.parent or "")
    while parent is not None and parent.custom:
        parent = run.by_urn.get(parent.parent or "")
    return parent.name if parent is not None else TOP_LEVEL


def changed_inputs(before: RecordedResource, after: RecordedResource) -> dict[str, dict[str, Any]]:
    """Inputs whose value Pulumi would change in place (or by replacement), by name."""
    ignored = set(after.options["ignoreChanges"])
    changes = {}
    for name in sorted(set(before.inputs) | set(after.inputs)):
        if name in ignored:
            continue
        old, new = before.inputs.get(name, MISSING), after.inputs.get(name, MISSING)
        if old == new and not (_contains_unknown(old)
                               and before.dependencies.get(name, []) != after.dependencies.get(name, [])):
            continue
        change = {}
        if old is not MISSING:
            change["old"] = old
        if new is not MISSING:
            change["new"] = new
        changes[name] = change
    return changes


def _contains_unknown(value: Any) -> bool:
    if value == UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(_contains_unknown(item) for item in value.values())
    if isinstance(value, list):
        return any(_contains_unknown(item) for item in value)
    return False


def _replacement_reasons(before: RecordedResource, after: RecordedResource,
                         inputs: dict[str, dict[str, Any]]) -> list[str]:
    reasons = []
    if before.parent != after.parent:
        reasons.append("parent")
    if before.provider != after.provider:
        reasons.append("provider")
    reasons += [f"{hazard.input}: {hazard.detail}" for hazard in replacements(before, after)]
    # `replaceOnChanges: ["*"]` (the scheduled actions): any change of an input is a replacement.
    if "*" in after.options["replaceOnChanges"] and inputs and not reasons:
        reasons.append(f"replaceOnChanges *: {', '.join(inputs)}")
    return reasons


def diff_runs(before: ProgramRun, after: ProgramRun) -> PlanDiff:
    """What `after` changes relative to `before` (see the module docstring)."""
    old_by_urn, new_by_urn = before.by_urn, after.by_urn
    only_old = [r for r in before.resources if r.urn not in new_by_urn]
    only_new = [r for r in after.resources if r.urn not in old_by_urn]
    # The same type and name at another URN (another parent chain) is the resource moving:
    # Pulumi sees a delete and a create, i.e. a replacement.
    old_keys = {(r.type, r.name): r for r in only_old}
    moved = {(r.type, r.name) for r in only_new if (r.type, r.name) in old_keys}
    added, changed, replaced, deleted = [], [], [], []
    for resource in only_new:
        component = component_of(after, resource)
        if (resource.type, resource.name) in moved:
            old = old_keys[(resource.type, resource.name)]
            replaced.append(ResourceChange(resource.urn, resource.name, resource.type, component,
                                           changed_inputs(old, resource), (f"urn: {old.urn} -> {resource.urn}",)))
        else:
            added.append(ResourceChange(resource.urn, resource.name, resource.type, component))
    for resource in only_old:
        if (resource.type, resource.name) not in moved:
            deleted.append(ResourceChange(resource.urn, resource.name, resource.type, component_of(before, resource)))
    for old in before.resources:
        new = new_by_urn.get(old.urn)
        if new is None:
            continue
        inputs = changed_inputs(old, new)
        reasons = _replacement_reasons(old, new, inputs)
        if reasons:
            replaced.append(ResourceChange(new.urn, new.name, new.type, component_of(after, new), inputs,
                                           tuple(reasons)))
        elif inputs:
            changed.append(ResourceChange(new.urn, new.name, new.type, component_of(after, new), inputs))
    return PlanDiff(*(sorted(kind, key=lambda change: change.urn) for kind in (added, changed, replaced, deleted)))


def refusals(before: ProgramRun, after: ProgramRun) -> list[Hazard]:
    """What a promotion must refuse: a stateful (or replacement-checked) resource deleted, moved or
    replaced, each naming the resource and the input that forces it."""
    return promotion_hazards(before, after)
