"""The human views of the offline commands: the plan and the policy report.

The plan view opens with a summary read from the plan document: a header (stack, phase, the
seasonal window running on the plan's date, if any), then one table per region, primary first,
with every sizing input (API groups and their scheduled actions, database, cache, search,
workers) and the count of protected resources. The detail follows: the phase's audience and
budget from the catalog, one table per component, with counts, the key sizes and which resources
hold data. The policy report shows every rule with its result, then the violations."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from pulumi_policy import EnforcementLevel
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from components.compute.schedule import UNCHANGED, active_window, upcoming_windows, window_size
from phases.catalog import load_phase
from policy.pack import PACK_NAME
from policy import resource_types
from policy.resource_types import STATEFUL

if TYPE_CHECKING:
    from phases.settings import StackSettings
    from qnom.policy import PolicyReport

# Inputs worth showing in the summary, in display order.
KEY_INPUTS = (
    "region", "cidrBlock", "availabilityZone", "engine", "instanceClass", "instanceType", "nodeType",
    "minSize", "desiredCapacity", "maxSize", "multiAz", "numCacheClusters", "engineVersion",
    "allocatedStorage", "maxAllocatedStorage", "protocol", "port", "priceClass", "scope",
    "trafficType", "retentionInDays", "vpcEndpointType",
)


# The views' names for the type tokens the policy pack already lists.
SCHEDULE, GROUP, LAUNCH_TEMPLATE = resource_types.ASG_SCHEDULE, resource_types.ASG, resource_types.LAUNCH_TEMPLATE
DB_INSTANCE, DB_CLUSTER = resource_types.RDS_INSTANCE, resource_types.RDS_CLUSTER
DB_CLUSTER_INSTANCE = resource_types.RDS_CLUSTER_INSTANCE
CACHE_GROUP, CACHE_GLOBAL = resource_types.CACHE_REPLICATION_GROUP, resource_types.CACHE_GLOBAL_REPLICATION_GROUP
SEARCH_DOMAIN = resource_types.OPENSEARCH_DOMAIN
EKS_CLUSTER, EKS_NODE_GROUP = resource_types.EKS_CLUSTER, resource_types.EKS_NODE_GROUP
K8S_DEPLOYMENT, HELM_RELEASE = resource_types.K8S_DEPLOYMENT, resource_types.HELM_RELEASE
SIZES = ("minSize", "desiredCapacity", "maxSize")
# A scheduled action's size of -1 leaves the group's value as it is (Terraform's
# aws_autoscaling_schedule and pulumi-aws autoscaling.Schedule docs, min_size/max_size/
# desired_capacity: "Set to -1 if you don't want to change ... Defaults to 0"): the views say so.
UNCHANGED_TEXT = "unchanged"
CRON_DAYS = {"1-5": "Mon-Fri", "0,6": "Sat, Sun", "*": "every day"}


def _short_type(resource_type: str) -> str:
    return resource_type.rsplit(":", 1)[-1]


def _shown(resource: dict[str, Any], key: str) -> str:
    value = resource["inputs"][key]
    if resource["type"] == SCHEDULE and key in SIZES and value == UNCHANGED:
        return UNCHANGED_TEXT
    return str(value)


def _key_values(resource: dict[str, Any]) -> str:
    inputs = resource["inputs"]
    shown = [escape(f"{key}={_shown(resource, key)}") for key in KEY_INPUTS
             if key in inputs and inputs[key] not in ("", None)]
    return ", ".join(shown)


def _sizing(number: int) -> str:
    """Whom the phase is sized for and what it may cost a month, as the catalog (the seed) says."""
    catalog = load_phase(number)
    users = f"{catalog.users.min:,}-{catalog.users.max:,}" if catalog.users.max else f"{catalog.users.min:,}+"
    return f"sized for {users} users, budget ${catalog.budget.monthly_usd:,}/month"


# The summary --------------------------------------------------------------------------

def _within(resource: dict[str, Any], component: str) -> bool:
    """Whether the resource hangs (at any depth) under a component of type `qnom:components:<component>`."""
    return f"qnom:components:{component}$" in resource["urn"].split("::")[2]


def _size(inputs: dict[str, Any]) -> str:
    return " / ".join(_count(inputs[key]) for key in SIZES)


def _count(value: Any) -> str:
    return UNCHANGED_TEXT if value == UNCHANGED else str(value)


def _groups_by_urn(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {resource["urn"]: resource for resource in resources}


def _api_rows(resources: list[dict[str, Any]], by_urn: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    rows = []
    for group in (r for r in resources if r["type"] == GROUP and _within(r, "ApiTier")):
        templates = group["dependencies"].get("launchTemplate", [])
        types = [by_urn[urn]["inputs"].get("instanceType") for urn in templates if urn in by_urn]
        rows.append(("API servers", f"{', '.join(t for t in types if t) or '?'}, "
                                    f"min / desired / max {_size(group['inputs'])}"))
    return rows


def _database_rows(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    instances = [r for r in resources if r["type"] == DB_INSTANCE and _within(r, "Database")]
    primary = [r for r in instances if not r["inputs"].get("replicateSourceDb")]
    replicas = [r for r in instances if r["inputs"].get("replicateSourceDb")]
    rows = []
    for instance in primary:
        inputs = instance["inputs"]
        rows.append(("database", f"{inputs['instanceClass']}, {'Multi-AZ' if inputs.get('multiAz') else 'single-AZ'}, "
                                 f"{len(replicas)} read replica(s)"))
    if replicas and not primary:
        classes = sorted({r["inputs"]["instanceClass"] for r in replicas})
        rows.append(("database", f"{len(replicas)} read replica(s) of the primary region's database, "
                                 f"{', '.join(classes)}"))
    for cluster in (r for r in resources if r["type"] == DB_CLUSTER):
        members = [r for r in resources if r["type"] == DB_CLUSTER_INSTANCE
                   and r["dependencies"].get("clusterIdentifier") == [cluster["urn"]]]
        classes = ", ".join(f"{m['inputs']['instanceClass']}" for m in members) or "no instances"
        serverless = cluster["inputs"].get("serverlessv2ScalingConfiguration") or {}
        acu = (f", Serverless v2 {serverless['minCapacity']}-{serverless['maxCapacity']} ACU"
               if serverless else "")
        if cluster["inputs"].get("replicationSourceIdentifier"):
            role = "replica cluster of the RDS instance"
        elif cluster["inputs"].get("globalClusterIdentifier"):
            role = "cluster of the global database"
        else:
            role = "cluster"
        rows.append(("Aurora", f"{role}: {len(members)} instance(s) ({classes}){acu}"))
    return rows


def _cache_rows(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    rows = []
    for group in (r for r in resources if r["type"] == CACHE_GROUP):
        inputs = group["inputs"]
        if inputs.get("globalReplicationGroupId"):
            # A global datastore's members take the node type of the datastore's primary.
            rows.append(("cache", f"{inputs['numCacheClusters']} node(s), member of the global datastore"))
        else:
            rows.append(("cache", f"{inputs['nodeType']}, {inputs['numCacheClusters']} node(s)"))
    for datastore in (r for r in resources if r["type"] == CACHE_GLOBAL):
        rows.append(("cache (global)", f"global datastore {datastore['inputs']['globalReplicationGroupIdSuffix']}, "
                                       "led by this region's cache"))
    return rows


def _search_rows(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    rows = []
    for domain in (r for r in resources if r["type"] == SEARCH_DOMAIN):
        cluster = domain["inputs"].get("clusterConfig") or {}
        volume = (domain["inputs"].get("ebsOptions") or {}).get("volumeSize")
        text = f"OpenSearch {cluster.get('instanceType')} x {cluster.get('instanceCount')}"
        if cluster.get("dedicatedMasterEnabled"):
            text += f", dedicated masters {cluster.get('dedicatedMasterType')} x {cluster.get('dedicatedMasterCount')}"
        if volume:
            text += f", {volume} GiB per node"
        rows.append(("search", text))
    return rows


def _worker_rows(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    rows = []
    for group in (r for r in resources if r["type"] == GROUP and _within(r, "Workers")):
        policy = group["inputs"].get("mixedInstancesPolicy") or {}
        types = [o.get("instanceType") for o in (policy.get("launchTemplate") or {}).get("overrides", [])]
        distribution = policy.get("instancesDistribution") or {}
        base = distribution.get("onDemandBaseCapacity", 0)
        spot = 100 - distribution.get("onDemandPercentageAboveBaseCapacity", 100)
        rows.append(("workers", f"{', '.join(t for t in types if t)}, min / desired / max "
                                f"{_size(group['inputs'])}, {spot}% spot above an on-demand base of {base}"))
    return rows


def _kubernetes_rows(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    rows = []
    for cluster in (r for r in resources if r["type"] == EKS_CLUSTER):
        groups = [r["inputs"] for r in resources if r["type"] == EKS_NODE_GROUP]
        system = ", ".join(
            f"{'/'.join(g.get('instanceTypes') or [])} " + " / ".join(
                _count((g.get("scalingConfig") or {}).get(key)) for key in ("minSize", "desiredSize", "maxSize"))
            for g in groups)
        deployments = [r["inputs"] for r in resources if r["type"] == K8S_DEPLOYMENT]
        pods = ", ".join(f"{d['metadata']['name']} {d['spec']['replicas']}" for d in deployments)
        mesh = ", Istio ambient mesh" if any(r["type"] == HELM_RELEASE and r["inputs"].get("name") == "ztunnel"
                                             for r in resources) else ""
        rows.append(("kubernetes", f"EKS {cluster['inputs'].get('version')}, system nodes {system} "
                                   f"(min / desired / max), Karpenter for the services; {len(deployments)} "
                                   f"Deployment(s): {pods}{mesh}"))
    return rows


def _region_table(region: str, role: str, resources: list[dict[str, Any]],
                  by_urn: dict[str, dict[str, Any]]) -> Table:
    table = Table(title=f"{region} ({role})", title_justify="left", show_header=False)
    table.add_column("tier", no_wrap=True)
    table.add_column("size", overflow="fold")
    rows = (_api_rows(resources, by_urn) + _database_rows(resources) + _cache_rows(resources)
            + _search_rows(resources) + _worker_rows(resources) + _kubernetes_rows(resources))
    protected = [r for r in resources if r["options"]["protect"]]
    stateful = [r for r in protected if r["type"] in STATEFUL]
    rows.append(("protected", f"{len(protected)} resource(s), {len(stateful)} of them holding data"))
    for tier, text in rows:
        table.add_row(tier, escape(text))
    return table


def _when(action: dict[str, Any]) -> str:
    inputs = action["inputs"]
    if inputs.get("recurrence"):
        minute, hour, _, _, days = inputs["recurrence"].split()
        return f"{int(hour):02d}:{int(minute):02d} {CRON_DAYS.get(days, days)}"
    return f"{inputs['startTime']} (UTC)"


def _schedule_table(group_name: str, actions: list[dict[str, Any]], settings: StackSettings | None) -> Table:
    """The API group's scheduled actions: the recurring ones, then one row per seasonal window
    (its floor and ceiling for the day, and what its end action restores at the next midnight)."""
    zones = sorted({a["inputs"]["timeZone"] for a in actions if a["inputs"].get("timeZone")})
    table = Table(title=f"{group_name} scheduled actions (recurring times in {', '.join(zones) or 'UTC'}; "
                        f"{UNCHANGED_TEXT}: the action leaves the group's value as it is)",
                  title_justify="left")
    table.add_column("action", overflow="fold")
    table.add_column("when", overflow="fold")
    table.add_column("min / desired / max", overflow="fold")
    table.add_column("next local midnight", overflow="fold")
    by_name = {a["inputs"]["scheduledActionName"]: a for a in actions}
    windows = []
    if settings is not None and settings.phase.schedule is not None:
        windows = upcoming_windows(settings.phase.schedule, settings.plan_date)
    seasonal = set()
    for window in windows:
        own = [a for name, a in by_name.items() if name.startswith(f"{window.label}-")]
        seasonal.update(a["inputs"]["scheduledActionName"] for a in own)
    for name, action in by_name.items():
        if name not in seasonal:
            table.add_row(escape(name), escape(_when(action)), _size(action["inputs"]), "")
    for window in windows:
        during = [a for name, a in by_name.items()
                  if name.startswith(f"{window.label}-") and not name.endswith("-end")]
        end = by_name.get(f"{window.label}-end")
        floors = sorted({a["inputs"]["minSize"] for a in during})
        ceilings = sorted({_count(a["inputs"]["maxSize"]) for a in during})
        # The hold actions keep the larger of the surge and the period's floor, so a window's
        # floor can be a range.
        floor = f"{floors[0]}-{floors[-1]}" if len(floors) > 1 else "".join(str(f) for f in floors)
        table.add_row(escape(f"{window.label} (x{window.factor:g})"),
                      f"{window.day.isoformat()} all day ({len(during) + (end is not None)} actions)",
                      f"{floor} / {UNCHANGED_TEXT} / {', '.join(ceilings)}",
                      _size(end["inputs"]) if end is not None else "")
    return table


def _window_note(settings: StackSettings | None) -> str | None:
    """The seasonal window running on the plan's date, and the bounds the primary API group keeps all day."""
    if settings is None:
        return None
    schedule = settings.phase.schedule
    window = active_window(schedule, settings.plan_date)
    if window is None:
        return None
    bounds = window_size(schedule, settings.phase.regions[0].api, window)
    return (f"seasonal window {window.label} (x{window.factor:g}) is active on {settings.plan_date.isoformat()}: "
            f"the primary API group is declared at min {bounds.min} / desired {bounds.desired} / max {bounds.max} "
            f"for the day")


def render_summary(document: dict[str, Any], console: Console, settings: StackSettings | None = None) -> None:
    """The summary: header, the active seasonal window, one table per region (primary first), the
    primary API group's scheduled actions."""
    phase = document["phase"]
    date_text = f"  date [cyan]{settings.plan_date.isoformat()}[/cyan]" if settings is not None else ""
    console.print(
        f"[bold]qnom plan[/bold]  stack [cyan]{escape(document['stack'])}[/cyan]  environment "
        f"[cyan]{document['environment']}[/cyan]  phase [cyan]{phase['number']} ({phase['name']})[/cyan]  "
        f"regions [cyan]{', '.join(document['regions'])}[/cyan]{date_text}"
    )
    console.print(_sizing(phase["number"]))
    note = _window_note(settings)
    if note:
        console.print(f"[bold yellow]{escape(note)}[/bold yellow]")
    by_urn = _groups_by_urn(document["resources"])
    for index, region in enumerate(document["regions"]):
        # Kubernetes objects go through the cluster's provider, not an AWS one: the tier's name says the region.
        resources = [r for r in document["resources"] if r["custom"] and (
            r["region"] == region or (r["region"] is None and r["name"].startswith(f"{region}-k8s-")))]
        console.print(_region_table(region, "primary" if index == 0 else "secondary", resources, by_urn))
        actions = [r for r in resources if r["type"] == SCHEDULE]
        for group in (r for r in resources if r["type"] == GROUP and _within(r, "ApiTier")):
            own = [a for a in actions if a["dependencies"].get("autoscalingGroupName") == [group["urn"]]]
            if own:
                console.print(_schedule_table(group["name"], own, settings))
    protected = sum(1 for r in document["resources"] if r["options"]["protect"])
    console.print(f"[bold]{protected} protected resource(s)[/bold] in the plan "
                  f"(pulumi refuses to delete them; prod protects every stateful resource)")


def render(document: dict[str, Any], console: Console, settings: StackSettings | None = None,
           summary_only: bool = False) -> None:
    """The plan view: the summary, then (unless `summary_only`) the detail, one table per component."""
    render_summary(document, console, settings)
    if summary_only:
        return
    console.rule("detail")
    by_parent: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for resource in document["resources"]:
        if resource["custom"] and not resource["type"].startswith("pulumi:providers:"):
            by_parent[resource["parent"]].append(resource)
    components = {resource["urn"]: resource for resource in document["resources"] if not resource["custom"]}
    for parent_urn in sorted(by_parent):
        component = components.get(parent_urn)
        title = f"{_short_type(component['type'])} {component['name']}" if component else "stack"
        table = Table(title=title, title_justify="left", show_lines=False)
        table.add_column("resource", overflow="fold")
        table.add_column("type", overflow="fold")
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


def render_policy(report: PolicyReport, console: Console, failed_only: bool = False) -> None:
    """The human view of a policy report, what needs attention first: the violations (mandatory,
    then advisory), the checks that could not run in the preview, then (unless `failed_only`) every
    rule with its result, and last the counts and the verdict."""
    phase = report.phase
    from qnom.policy import UNKNOWN_PREFIX

    console.print(
        f"[bold]qnom policy[/bold]  pack [cyan]{PACK_NAME}[/cyan]  stack [cyan]{escape(report.stack)}[/cyan]  "
        f"environment [cyan]{report.environment}[/cyan]  phase [cyan]{phase['number']} ({phase['name']})[/cyan]  "
        f"default enforcement [cyan]{report.enforcement.value}[/cyan]"
    )
    for finding in sorted(report.findings, key=lambda item: item.enforcement != EnforcementLevel.MANDATORY.value):
        colour = "red" if finding.enforcement == EnforcementLevel.MANDATORY.value else "yellow"
        where = f"{finding.name} ({finding.type})" if finding.name else "stack"
        console.print(f"[{colour}]{finding.enforcement}[/{colour}] {finding.rule}  {escape(where)}: "
                      f"{escape(finding.message)}")
    levels = {outcome.rule.id: outcome.enforcement.value for outcome in report.outcomes}
    for finding in report.diagnostics:
        # A check the preview cannot decide: the rule's own level says whether it blocks (see the verdict).
        console.print(f"[yellow]unknown in preview[/yellow] ({levels[finding.rule]}) {finding.rule}  "
                      f"{escape(str(finding.name))}: {escape(finding.message.removeprefix(UNKNOWN_PREFIX))}")
    if not failed_only:
        _policy_rules_table(report, console)
    counts = Counter(outcome.status for outcome in report.outcomes)
    kinds = Counter(outcome.rule.kind for outcome in report.outcomes)
    console.print(f"{len(report.outcomes)} rules ({kinds['resource']} resource, {kinds['stack']} stack): " + ", ".join(
        f"{counts[status]} {status}" for status in _STATUSES if counts[status]))
    verdict = "[green]passed[/green]" if report.passed else "[red]failed[/red]"
    unknown = len(report.unknown_mandatory)
    note = ""
    if unknown:
        note = (f"; {unknown} mandatory rule(s) could not run in the preview"
                + (" (allowed by --allow-unknown)" if report.allow_unknown else
                   ": nothing shows they pass (rerun with --allow-unknown to accept)"))
    console.print(f"[bold]{verdict}[/bold]: {len(report.mandatory)} mandatory and {len(report.advisory)} advisory "
                  f"violation(s){note}")


_STATUSES = ("failed", "unknown in preview", "passed", "not applicable", "disabled")
"""A rule's results, in the order the counts line lists them."""


def _policy_rules_table(report: PolicyReport, console: Console) -> None:
    """Every rule the pack ran with its level and result, failures first."""
    table = Table(title=f"{len(report.outcomes)} rules", title_justify="left")
    table.add_column("rule", no_wrap=True)  # ids stay whole: they are what a pack config names
    for column in ("kind", "level", "severity", "checked", "result"):
        table.add_column(column, overflow="fold")
    styles = {"failed": "red", "passed": "green", "unknown in preview": "yellow"}
    for outcome in sorted(report.outcomes, key=lambda item: _STATUSES.index(item.status)):
        style = styles.get(outcome.status, "dim")
        result = outcome.status + (f" ({outcome.violations})" if outcome.violations else "")
        table.add_row(outcome.rule.id, outcome.rule.kind, outcome.enforcement.value, outcome.rule.severity.value,
                      str(outcome.checked), f"[{style}]{escape(result)}[/{style}]")
    console.print(table)
