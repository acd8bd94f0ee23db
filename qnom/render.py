"""The human views of the offline commands: the plan (the phase's audience and budget from the
catalog, one table per component, with counts, the key sizes and which resources hold data) and
the policy report (every rule with its result, then the violations)."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from pulumi_policy import EnforcementLevel
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from phases.catalog import load_phase
from policy.pack import PACK_NAME
from policy.resource_types import STATEFUL

if TYPE_CHECKING:
    from qnom.policy import PolicyReport

# Inputs worth showing in the summary, in display order.
KEY_INPUTS = (
    "region", "cidrBlock", "availabilityZone", "engine", "instanceClass", "instanceType", "nodeType",
    "minSize", "desiredCapacity", "maxSize", "multiAz", "numCacheClusters", "engineVersion",
    "allocatedStorage", "maxAllocatedStorage", "protocol", "port", "priceClass", "scope",
    "trafficType", "retentionInDays", "vpcEndpointType",
)


def _short_type(resource_type: str) -> str:
    return resource_type.rsplit(":", 1)[-1]


def _key_values(resource: dict[str, Any]) -> str:
    inputs = resource["inputs"]
    shown = [escape(f"{key}={inputs[key]}") for key in KEY_INPUTS if key in inputs and inputs[key] not in ("", None)]
    return ", ".join(shown)


def _sizing(number: int) -> str:
    """Whom the phase is sized for and what it may cost a month, as the catalog (the seed) says."""
    catalog = load_phase(number)
    users = f"{catalog.users.min:,}-{catalog.users.max:,}" if catalog.users.max else f"{catalog.users.min:,}+"
    return f"sized for {users} users, budget ${catalog.budget.monthly_usd:,}/month"


def render(document: dict[str, Any], console: Console) -> None:
    phase = document["phase"]
    console.print(
        f"[bold]qnom plan[/bold]  stack [cyan]{document['stack']}[/cyan]  environment "
        f"[cyan]{document['environment']}[/cyan]  phase [cyan]{phase['number']} ({phase['name']})[/cyan]  "
        f"regions [cyan]{', '.join(document['regions'])}[/cyan]"
    )
    console.print(_sizing(phase["number"]))
    by_parent: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for resource in document["resources"]:
        if resource["custom"] and not resource["type"].startswith("pulumi:providers:"):
            by_parent[resource["parent"]].append(resource)
    components = {resource["urn"]: resource for resource in document["resources"] if not resource["custom"]}
    for parent_urn in sorted(by_parent):
        component = components.get(parent_urn)
        title = f"{_short_type(component['type'])} {component['name']}" if component else "stack"
        table = Table(title=title, title_justify="left", show_lines=False)
        table.add_column("resource")
        table.add_column("type")
        table.add_column("key settings", overflow="fold")
        table.add_column("stateful")
        table.add_column("protect")
        for resource in by_parent[parent_urn]:
            table.add_row(escape(resource["name"]), _short_type(resource["type"]), _key_values(resource),
                          "yes" if resource["type"] in STATEFUL else "",
                          "yes" if resource["options"]["protect"] else "")
        console.print(table)
    providers = [r for r in document["resources"] if r["type"].startswith("pulumi:providers:")]
    counts = Counter(_short_type(r["type"]) for r in document["resources"] if r["custom"])
    console.print(f"providers: {', '.join(r['name'] for r in providers)}")
    console.print(f"[bold]{document['summary']['resourceCount']} resources[/bold] "
                  f"({sum(counts.values())} custom): " + ", ".join(f"{n} {t}" for t, n in sorted(counts.items())))
    if document["outputs"]:
        console.print("outputs: " + escape(", ".join(f"{k}={v}" for k, v in sorted(document["outputs"].items()))))


def render_policy(report: PolicyReport, console: Console) -> None:
    """The human view of a policy report: every rule the pack ran with its result, then the violations."""
    phase = report.phase
    console.print(
        f"[bold]qnom policy[/bold]  pack [cyan]{PACK_NAME}[/cyan]  stack [cyan]{escape(report.stack)}[/cyan]  "
        f"environment [cyan]{report.environment}[/cyan]  phase [cyan]{phase['number']} ({phase['name']})[/cyan]  "
        f"default enforcement [cyan]{report.enforcement.value}[/cyan]"
    )
    table = Table(title=f"{len(report.outcomes)} rules", title_justify="left")
    for column in ("rule", "kind", "level", "severity", "checked", "result"):
        table.add_column(column)
    styles = {"failed": "red", "passed": "green", "unknown in preview": "yellow"}
    for outcome in report.outcomes:
        style = styles.get(outcome.status, "dim")
        result = outcome.status + (f" ({outcome.violations})" if outcome.violations else "")
        table.add_row(outcome.rule.id, outcome.rule.kind, outcome.enforcement.value, outcome.rule.severity.value,
                      str(outcome.checked), f"[{style}]{escape(result)}[/{style}]")
    console.print(table)
    for finding in report.findings:
        colour = "red" if finding.enforcement == EnforcementLevel.MANDATORY.value else "yellow"
        where = f"{finding.name} ({finding.type})" if finding.name else "stack"
        console.print(f"[{colour}]{finding.enforcement}[/{colour}] {finding.rule}  {escape(where)}: "
                      f"{escape(finding.message)}")
    for finding in report.diagnostics:
        console.print(f"[dim]advisory {finding.rule}  {escape(str(finding.name))}: {escape(finding.message)}[/dim]")
    kinds = [outcome.rule.kind for outcome in report.outcomes]
    verdict = "[green]passed[/green]" if report.passed else "[red]failed[/red]"
    console.print(f"[bold]{verdict}[/bold]: {len(report.mandatory)} mandatory and {len(report.advisory)} advisory "
                  f"violation(s); {kinds.count('resource')} resource and {kinds.count('stack')} stack rules; "
                  f"{len(report.diagnostics)} check(s) could not run during preview (unknown values)")
