"""The `qnom.cost/v1` document: what a planned stack costs a month, offline, from a dated price table.

Reads the recorded program run (`qnom.engine`) and prices every registration with the on-demand
list prices of `qnom/prices/prices.yaml`: fixed monthly costs at the planned size (an Auto Scaling
group at its desired capacity, the workers' spot share at the table's discount), per resource,
per component and per region, against the phase's budget; usage-based items (data transfer,
requests, logs) listed apart with the assumptions of their estimates. Every type the program
creates is `fixed`, `usage` or `free` in the table; a type it does not list is an error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from components.kubernetes.karpenter import SPREAD_LABEL, SPREAD_VALUES
from components.kubernetes.sizing import baseline_service_nodes
from phases.cost_profile import (
    API_SPOT_TYPES,
    CHEAPEST_WORKER,
    CostProfileName,
    api_on_demand_base,
    optimised,
    standard,
)
from phases.settings import StackSettings
from qnom.engine import UNKNOWN, ProgramRun, RecordedResource

SCHEMA = "qnom.cost/v1"
PRICE_FILE = Path(__file__).resolve().parent / "prices" / "prices.yaml"
GLOBAL = "global"
COMPONENT_PREFIX = "qnom:components:"
SECONDS_PER_MONTH = 730 * 3600


class PriceMissing(Exception):
    """The price table has no price for something the plan creates."""


@cache
def price_table() -> dict[str, Any]:
    with open(PRICE_FILE, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def rate(name: str, key: str, region: str | None) -> float:
    """The table's price `name`/`key` in `region` (us-east-1 for a global resource)."""
    prices = price_table()["rates"][name]["prices"]
    try:
        return prices[key][region or "us-east-1"]
    except KeyError:
        raise PriceMissing(f"prices.yaml has no {name} price for {key} in {region}") from None


def _known(value: Any) -> bool:
    return value is not None and value != UNKNOWN


@dataclass
class _Pricer:
    run: ProgramRun
    settings: StackSettings
    profile: CostProfileName | None = None
    """The cost profile priced: None as planned, else the profile's types (and API spot share)."""

    @property
    def hours(self) -> int:
        return price_table()["hours_per_month"]

    def translate(self, instance_type: str) -> str:
        """Instance type -> the type priced: as planned, or the profile's equivalent."""
        if self.profile is None:
            return instance_type
        return optimised(instance_type) if self.profile == "optimised" else standard(instance_type)

    def source(self, record: RecordedResource, prop: str, resource_type: str) -> RecordedResource | None:
        by_urn = self.run.by_urn
        found = [by_urn[urn] for urn in record.dependencies.get(prop, []) if urn in by_urn]
        return next((item for item in found if item.type == resource_type), None)

    # One function per priced type: (monthly USD, basis) ------------------------------------

    def group(self, record: RecordedResource, region: str) -> tuple[float, str]:
        inputs = record.inputs
        count = inputs.get("desiredCapacity", inputs.get("minSize", 0))
        mixed = inputs.get("mixedInstancesPolicy")
        template = self.source(record, "mixedInstancesPolicy" if mixed else "launchTemplate",
                               "aws:ec2/launchTemplate:LaunchTemplate")
        planned = [override["instanceType"] for override in mixed["launchTemplate"]["overrides"]] if mixed else [
            template.inputs["instanceType"]]
        types = [self.translate(name) for name in planned]
        distribution = (mixed or {}).get("instancesDistribution", {})
        is_mix, base = bool(mixed), distribution.get("onDemandBaseCapacity", 0)
        on_demand_percent = distribution.get("onDemandPercentageAboveBaseCapacity", 100)
        if self.profile is not None and inputs.get("targetGroupArns"):
            # An API group: the profile decides its mix (phases/cost_profile.py), whatever the plan's.
            is_mix = self.profile == "optimised" and types[0] in API_SPOT_TYPES
            if is_mix:
                types, on_demand_percent = API_SPOT_TYPES[types[0]], 0
                base = api_on_demand_base(self._everyday_api_min(region, inputs.get("minSize", count)))
        elif self.profile == "optimised" and mixed:
            types.sort(key=lambda name: name != CHEAPEST_WORKER)
        hourly = rate("ec2_instance_hour", types[0], region)
        if is_mix:
            # The on-demand share runs the first (prioritized) type; spot picks the cheapest pools.
            # Auto Scaling rounds a fractional on-demand share up, in favour of on demand.
            base = min(count, base)
            on_demand = base + math.ceil((count - base) * on_demand_percent / 100)
            spot, discount = count - on_demand, price_table()["spot"]["discount"]
            spot_hourly = min(rate("ec2_instance_hour", name, region) for name in types) * (1 - discount)
            monthly = (on_demand * hourly + spot * spot_hourly) * self.hours
            basis = f"{on_demand} x {types[0]} on demand + {spot} spot at -{discount:.0%}"
        else:
            monthly, basis = count * hourly * self.hours, f"{count} x {types[0]}"
        volume_gb = sum(int(device.get("ebs", {}).get("volumeSize", 0))
                        for device in (template.inputs.get("blockDeviceMappings", []) if template else []))
        monthly += count * volume_gb * rate("ebs_gp3_gb_month", "gp3", region)
        return monthly, f"{basis}, {volume_gb} GiB gp3 each"

    def _everyday_api_min(self, region: str, planned_min: int) -> int:
        """The region's everyday API minimum (the on-demand base's yardstick), as the catalog sizes it."""
        spec = next((item for item in self.settings.phase.regions if item.name == region), None)
        return spec.api.min if spec is not None else planned_min

    def instance(self, record: RecordedResource, region: str) -> tuple[float, str]:
        # A stand-alone EC2 instance (the NAT instance): always on, on demand, and its root volume.
        instance_type = self.translate(record.inputs["instanceType"])
        volume_gb = int((record.inputs.get("rootBlockDevice") or {}).get("volumeSize", 0))
        monthly = (rate("ec2_instance_hour", instance_type, region) * self.hours
                   + volume_gb * rate("ebs_gp3_gb_month", "gp3", region))
        return monthly, f"1 x {instance_type} on demand, {volume_gb} GiB gp3"

    def rds_instance(self, record: RecordedResource, region: str) -> tuple[float, str]:
        inputs, phase = record.inputs, self.settings.phase
        instance_class = self.translate(inputs["instanceClass"])
        copies = 2 if inputs.get("multiAz") else 1
        storage = inputs.get("allocatedStorage")
        # A read replica inherits its source's storage.
        storage_gb = int(storage) if _known(storage) else phase.database.allocated_storage_gb
        monthly = (copies * rate("rds_postgres_instance_hour", instance_class, region) * self.hours
                   + copies * storage_gb * rate("rds_storage_gb_month", "gp3", region))
        return monthly, f"{copies} x {instance_class}{' (Multi-AZ)' if copies == 2 else ''}, {storage_gb} GiB gp3"

    def cluster_instance(self, record: RecordedResource, region: str) -> tuple[float, str]:
        instance_class = self.translate(record.inputs["instanceClass"])
        if instance_class == "db.serverless":
            aurora = self.settings.phase.database.aurora
            acu = aurora.min_acu if aurora else 0.5
            return (acu * rate("aurora_serverless_v2_acu_hour", "db.serverless", region) * self.hours,
                    f"Serverless v2 at its minimum {acu:g} ACU")
        return rate("aurora_postgres_instance_hour", instance_class, region) * self.hours, f"1 x {instance_class}"

    def cache_group(self, record: RecordedResource, region: str) -> tuple[float, str]:
        inputs = record.inputs
        # A global datastore's member takes its node type from the datastore: the catalog's.
        node_type = self.translate(inputs.get("nodeType") if _known(inputs.get("nodeType"))
                                   else self.settings.phase.cache.node_type)
        nodes = int(inputs.get("numCacheClusters", 1))
        return nodes * rate("elasticache_node_hour", node_type, region) * self.hours, f"{nodes} x {node_type}"

    def search_domain(self, record: RecordedResource, region: str) -> tuple[float, str]:
        cluster, ebs = record.inputs["clusterConfig"], record.inputs.get("ebsOptions", {})
        data, count = cluster["instanceType"], int(cluster["instanceCount"])
        monthly = count * rate("opensearch_instance_hour", data, region) * self.hours
        basis = f"{count} x {data}"
        if cluster.get("dedicatedMasterEnabled"):
            masters, master_type = int(cluster["dedicatedMasterCount"]), cluster["dedicatedMasterType"]
            monthly += masters * rate("opensearch_instance_hour", master_type, region) * self.hours
            basis += f" + {masters} x {master_type}"
        volume = int(ebs.get("volumeSize", 0))
        monthly += count * volume * rate("opensearch_storage_gb_month", "gp3", region)
        return monthly, f"{basis}, {volume} GiB gp3 per data node"

    def alarm(self, record: RecordedResource, region: str) -> tuple[float, str]:
        queries = record.inputs.get("metricQueries") or []
        if record.inputs.get("thresholdMetricId"):
            metrics = 3  # CloudWatch bills an anomaly-detection alarm as three metrics
        elif queries:
            metrics = sum(1 for query in queries if query.get("metric"))
        else:
            metrics = 1
        return metrics * rate("cloudwatch_alarm_metric_month", "metric", region), f"{metrics} metric(s)"

    def health_check(self, record: RecordedResource, region: str) -> tuple[float, str]:
        inputs = record.inputs
        features = [name for name, present in (
            ("HTTPS", str(inputs.get("type", "")).startswith("HTTPS")),
            ("string matching", "STR_MATCH" in str(inputs.get("type", ""))),
            ("fast interval", inputs.get("requestInterval") == 10),
            ("latency", bool(inputs.get("measureLatency"))),
        ) if present]
        monthly = (rate("route53_health_check_month", "basic", region)
                   + len(features) * rate("route53_health_check_month", "optional_feature", region))
        return monthly, "basic" + "".join(f" + {feature}" for feature in features)

    def web_acl(self, record: RecordedResource, region: str) -> tuple[float, str]:
        rules = len(record.inputs.get("rules") or [])
        return (rate("waf_month", "web_acl", region) + rules * rate("waf_month", "rule", region),
                f"1 web ACL + {rules} rule(s)")

    def secret(self, record: RecordedResource, region: str) -> tuple[float, str]:
        copies = 1 + len(record.inputs.get("replicas") or [])
        return copies * rate("secret_month", "secret", region), f"{copies} secret(s)"

    def node_group(self, record: RecordedResource, region: str) -> tuple[float, str]:
        # EKS managed node groups: on-demand instances at the desired size, 20 GiB root volumes unless
        # set (Amazon EKS API Reference, CreateNodegroup diskSize: "defaults to 20 GiB").
        inputs = record.inputs
        instance_type = self.translate(inputs["instanceTypes"][0])
        count = int(inputs["scalingConfig"]["desiredSize"])
        disk_gb = int(inputs.get("diskSize") or 20)
        monthly = count * (rate("ec2_instance_hour", instance_type, region) * self.hours
                           + disk_gb * rate("ebs_gp3_gb_month", "gp3", region))
        return monthly, f"{count} x {instance_type} on demand, {disk_gb} GiB each"

    def node_pool(self, record: RecordedResource, region: str) -> tuple[float, str]:
        # Karpenter launches the services' nodes at run time: the baseline the services' requests need
        # at their HPA minimums (components/kubernetes/sizing.py), split over the pools by the spread
        # domains each owns, the spot pool at the spot discount. Instance hours only.
        # A twin has the sizing type's vCPUs, memory and max pods (phases/cost_profile.py): the same count.
        nodes, instance_type = baseline_service_nodes(self.settings.phase.kubernetes, len(SPREAD_VALUES))
        instance_type = self.translate(instance_type)
        requirements = {item["key"]: item["values"] for item in record.inputs["spec"]["template"]["spec"]["requirements"]}
        share = nodes * len(requirements[SPREAD_LABEL]) / len(SPREAD_VALUES)
        spot = "spot" in requirements["karpenter.sh/capacity-type"]
        discount = price_table()["spot"]["discount"] if spot else 0
        monthly = share * rate("ec2_instance_hour", instance_type, region) * (1 - discount) * self.hours
        kind = f"spot at -{discount:.0%}" if spot else "on demand"
        return monthly, f"{share:g} of {nodes} baseline {instance_type} service nodes, {kind}"

    def price(self, record: RecordedResource, region: str | None) -> tuple[float, str]:
        hourly = {
            "aws:ec2/natGateway:NatGateway": ("nat_gateway_hour", "nat", "NAT gateway"),
            "aws:ec2/eip:Eip": ("public_ipv4_hour", "ipv4", "public IPv4 address"),
            "aws:lb/loadBalancer:LoadBalancer": ("alb_hour", "application", "Application Load Balancer"),
            "aws:eks/cluster:Cluster": ("eks_cluster_hour", "standard", "EKS cluster in standard support"),
        }
        monthly_each = {
            "aws:kms/key:Key": ("kms_key_month", "key", "1 key"),
            "aws:cloudwatch/dashboard:Dashboard": ("cloudwatch_dashboard_month", "dashboard", "1 dashboard"),
            "aws:route53/zone:Zone": ("route53_zone_month", "zone", "1 hosted zone"),
        }
        functions = {
            "aws:autoscaling/group:Group": self.group,
            "aws:ec2/instance:Instance": self.instance,
            "aws:rds/instance:Instance": self.rds_instance,
            "aws:rds/clusterInstance:ClusterInstance": self.cluster_instance,
            "aws:elasticache/replicationGroup:ReplicationGroup": self.cache_group,
            "aws:opensearch/domain:Domain": self.search_domain,
            "aws:cloudwatch/metricAlarm:MetricAlarm": self.alarm,
            "aws:route53/healthCheck:HealthCheck": self.health_check,
            "aws:wafv2/webAcl:WebAcl": self.web_acl,
            "aws:secretsmanager/secret:Secret": self.secret,
            "aws:eks/nodeGroup:NodeGroup": self.node_group,
            "kubernetes:karpenter.sh/v1:NodePool": self.node_pool,
        }
        if record.type in hourly:
            name, key, basis = hourly[record.type]
            return rate(name, key, region) * self.hours, f"{basis}, {self.hours} h"
        if record.type in monthly_each:
            name, key, basis = monthly_each[record.type]
            return rate(name, key, region), basis
        return functions[record.type](record, region)


def component_of(run: ProgramRun, record: RecordedResource) -> str:
    """The component a resource belongs to: its nearest `qnom:components:` ancestor (Region and
    Platform only for what hangs on them directly, such as a region's provider-level pieces)."""
    parent = run.by_urn.get(record.parent or "")
    while parent is not None and not parent.type.startswith(COMPONENT_PREFIX):
        parent = run.by_urn.get(parent.parent or "")
    return parent.type.removeprefix(COMPONENT_PREFIX) if parent is not None else "Stack"


def _requests_per_month(settings: StackSettings) -> int:
    usage, users = price_table()["usage"], settings.phase.users
    # The phase's most users; the open-ended last phase is sized at its floor.
    return (users.max or users.min) * usage["requests_per_user_per_day"] * usage["days_per_month"]


def _nat_processing(settings: StackSettings, instances: int, region: str) -> dict[str, Any]:
    usage = price_table()["usage"]
    volume = f"{instances} API instances x {usage['nat_gb_per_instance_per_day']} GB a day"
    if settings.phase.egress.nat == "instance":
        # A NAT instance's forwarding is free; what leaves for the internet is data transfer out,
        # billed the same behind a gateway (Amazon VPC pricing, NAT gateway pricing).
        return {"item": "NAT instance data processed", "monthly": 0.0,
                "assumption": f"{volume}; an instance charges nothing per GB processed"}
    return {"item": "NAT gateway data processed",
            "monthly": round(instances * usage["nat_gb_per_instance_per_day"] * usage["days_per_month"]
                             * rate("nat_gateway_gb", "nat", region), 2),
            "assumption": volume}


def usage_items(run: ProgramRun, settings: StackSettings) -> list[dict[str, Any]]:
    """Usage-based costs: an estimate where the seed gives the usage, with the assumption it uses."""
    usage, requests = price_table()["usage"], _requests_per_month(settings)
    gb_out = requests * usage["kb_per_response"] / 1024 / 1024
    instances = sum(region.api.desired for region in settings.phase.regions)
    per_second = requests / SECONDS_PER_MONTH
    primary = settings.phase.primary_region.name
    items = [
        {"item": "CloudFront data out", "monthly": round(gb_out * rate("cloudfront_gb_out", "data", primary), 2),
         "assumption": f"{requests:,} requests a month ({usage['requests_per_user_per_day']} a user a day, seed) "
                       f"x {usage['kb_per_response']} KB"},
        {"item": "CloudFront HTTPS requests",
         "monthly": round(requests / 10_000 * rate("cloudfront_10k_https_requests", "request", primary), 2),
         "assumption": f"{requests:,} requests a month"},
        {"item": "Load balancer LCUs",
         "monthly": round(len(settings.phase.regions) * max(1.0, per_second * usage["new_connections_per_request"] / 25)
                          * rate("alb_lcu_hour", "application", primary) * price_table()["hours_per_month"], 2),
         "assumption": f"{per_second:.1f} requests/s, {usage['new_connections_per_request']} new connection each "
                       "(25 new connections/s per LCU), at least 1 LCU per load balancer"},
        _nat_processing(settings, instances, primary),
    ]
    if settings.phase.api.rate_limit_per_5min is not None:
        items.append({"item": "WAF requests",
                      "monthly": round(requests / 1e6 * rate("waf_million_requests", "request", primary), 2),
                      "assumption": f"{requests:,} requests a month through the web ACLs"})
    kinds = price_table()["types"]["usage"]
    for resource_type in sorted({record.type for record in run.resources if record.type in kinds}):
        count = sum(1 for record in run.resources if record.type == resource_type)
        items.append({"item": f"{resource_type} ({count})", "monthly": None, "assumption": kinds[resource_type]})
    return items


def cost_document(run: ProgramRun, settings: StackSettings) -> dict[str, Any]:
    """Prices a recorded run (PriceMissing when the table lacks a type or a price)."""
    kinds = price_table()["types"]
    known = set(kinds["fixed"]) | set(kinds["usage"]) | set(kinds["free"])
    for record in run.resources:
        if not record.type.startswith(COMPONENT_PREFIX) and record.type not in known:
            raise PriceMissing(f"prices.yaml does not list {record.type} (fixed, usage or free)")
    resources = _priced(run, settings, None)
    total = round(sum(item["monthly"] for item in resources), 2)
    budget = settings.phase.budget.monthly_usd
    # Both profiles from the same plan: a profile changes instance types and the API groups' spot
    # share, nothing else.
    profiles = {}
    for name in ("standard", "optimised"):
        amount = round(sum(item["monthly"] for item in _priced(run, settings, name)), 2)
        profiles[name] = {"total": amount, "budgetShare": round(amount / budget, 3)}
    usage = usage_items(run, settings)
    usage_total = round(sum(item["monthly"] or 0 for item in usage), 2)
    requests = _requests_per_month(settings)
    return {
        "schema": SCHEMA,
        "stack": run.stack,
        "phase": {"number": settings.phase.number, "name": settings.phase.name},
        "currency": price_table()["currency"],
        "total": total,
        "budget": budget,
        "budgetShare": round(total / budget, 3),
        "byComponent": _sums(resources, "component"),
        "byRegion": _sums(resources, "region"),
        "resources": resources,
        "usageBased": usage,
        "usageTotal": usage_total,
        "requestsPerMonth": requests,
        "costPerRequest": round((total + usage_total) / requests, 6),
        "costPerRequestTarget": settings.phase.monitoring.cost_per_request_usd,
        "priceDate": price_table()["as_of"],
        "costProfile": settings.cost_profile,
        "profiles": profiles,
    }


def _region(run: ProgramRun, record: RecordedResource) -> str | None:
    """The region a resource is billed in: its AWS provider's, or (a Kubernetes object, whose
    provider is the cluster's) the `Region` component it hangs under; None for a global resource."""
    return run.region_of(record) or run.enclosing_region(record)


def _priced(run: ProgramRun, settings: StackSettings, profile: CostProfileName | None) -> list[dict[str, Any]]:
    """Every fixed-cost resource of the run, priced as planned (`profile` None) or as `profile` would plan it."""
    pricer, fixed, resources = _Pricer(run, settings, profile), price_table()["types"]["fixed"], []
    for record in run.resources:
        if record.type not in fixed:
            continue
        region = _region(run, record)
        monthly, basis = pricer.price(record, region)
        resources.append({"urn": record.urn, "name": record.name, "type": record.type,
                          "region": region or GLOBAL, "component": component_of(run, record),
                          "monthly": round(monthly, 2), "basis": basis})
    return resources


def _sums(resources: list[dict[str, Any]], key: str) -> dict[str, float]:
    sums: dict[str, float] = {}
    for item in resources:
        sums[item[key]] = round(sums.get(item[key], 0) + item["monthly"], 2)
    return dict(sorted(sums.items(), key=lambda pair: -pair[1]))
