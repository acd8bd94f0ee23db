"""`qnom capacity`: the phase a number of users needs, and what it takes at peak (`qnom.capacity`).

With `--stack` it also sizes the same load on the stack's own phase (its overrides applied) and
says whether the stack provisions enough: API instances per region against each group's maximum,
database connections against `max_connections`. No program runs: the catalog is enough.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from phases.settings import settings_from_config
from qnom.capacity import JOBS_PER_REQUEST, PEAK_FACTOR, REQUESTS_PER_USER, CapacityEstimate, estimate
from qnom.commands import EXIT_OK, add_date_option, resolve_stack
from qnom.plan import load_config


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value
    return parse


def register(commands) -> None:
    capacity = commands.add_parser("capacity", help="recommend the phase for a number of users and size it at peak")
    capacity.add_argument("--users", type=_positive(int), required=True, help="active users")
    capacity.add_argument("--requests-per-user", type=_positive(float), default=REQUESTS_PER_USER,
                          help=f"requests per user per day (default {REQUESTS_PER_USER}, the seed's KPI)")
    capacity.add_argument("--peak-factor", type=_positive(float), default=PEAK_FACTOR,
                          help=f"peak over the day's average (default {PEAK_FACTOR}, the seed's Black Friday)")
    capacity.add_argument("--jobs-per-request", type=_positive(float), default=JOBS_PER_REQUEST,
                          help=f"queued jobs per API request (default {JOBS_PER_REQUEST})")
    capacity.add_argument("--stack", help="compare with what this stack provisions (Pulumi.<stack>.yaml)")
    capacity.add_argument("--stack-file", type=Path, help="read this stack file instead of Pulumi.<stack>.yaml")
    capacity.add_argument("--json", action="store_true", help="print the estimate as one JSON document")
    add_date_option(capacity)
    capacity.set_defaults(handler=run)


def _estimate(args: argparse.Namespace, phase=None) -> CapacityEstimate:
    return estimate(args.users, requests_per_user=args.requests_per_user, peak_factor=args.peak_factor,
                    jobs_per_request=args.jobs_per_request, phase=phase)


def comparison(recommended: CapacityEstimate, provisioned: CapacityEstimate, stack: str) -> dict[str, Any]:
    """What the stack's phase provisions against what the load needs."""
    short = {region: {"needed": needed, "max": provisioned.provisioned_per_region[region]["max"]}
             for region, needed in provisioned.instances_per_region.items()
             if needed > provisioned.provisioned_per_region[region]["max"]}
    connections = next(kpi for kpi in provisioned.kpis if kpi.name == "activeConnections")
    return {
        "stack": stack,
        "phase": provisioned.phase.number,
        "recommendedPhase": recommended.phase.number,
        "matches": provisioned.phase.number == recommended.phase.number,
        "instancesPerRegion": provisioned.instances_per_region,
        "provisionedPerRegion": provisioned.provisioned_per_region,
        "apiShort": short,
        "connectionsPercent": round(connections.value, 1),
        "bindingKpi": provisioned.binding_kpi.name,
        "enough": not short and all(kpi.value <= kpi.critical for kpi in provisioned.kpis),
    }


def run(args: argparse.Namespace) -> int:
    recommended = _estimate(args)
    document = recommended.to_json()
    if args.stack:
        resolve_stack(args)
        settings = settings_from_config(load_config(args.stack, args.stack_file, None, args.date), stack=args.stack)
        document["stack"] = comparison(recommended, _estimate(args, settings.phase), args.stack)
    if args.json:
        sys.stdout.write(json.dumps(document, sort_keys=True, indent=2) + "\n")
    else:
        _print(document)
    return EXIT_OK


def _print(document: dict[str, Any]) -> None:
    out = sys.stdout.write
    assumptions = document["assumptions"]
    out(f"{document['users']:,} users: phase {document['phase']} ({document['phaseName']})\n")
    out(f"peak: {document['requestsPerSecond']:,} requests/s ({assumptions['requestsPerUserPerDay']:g} requests per "
        f"user per day x peak factor {assumptions['peakFactor']:g})\n")
    out(f"API instances at {assumptions['requestsPerInstancePerMinute']} requests/min each "
        f"(CPU {assumptions['cpuTargetPercent']}%):\n")
    for region, needed in document["instancesPerRegion"].items():
        size = document["provisionedPerRegion"][region]
        out(f"  {region:<12} {needed:>4} needed   phase min {size['min']}, max {size['max']}\n")
    out(f"database connections: {document['dbConnections']:,} of max_connections {document['maxConnections']:,}\n")
    out(f"queue: {document['queueMessagesPerSecond']:,} messages/s\n")
    out("seed KPIs at peak, the API groups at their maximum (load = value / target):\n")
    for kpi in document["kpis"]:
        out(f"  {kpi['name']:<18} {kpi['value']:>6} {kpi['unit']:<22} target {kpi['target']}, critical "
            f"{kpi['critical']}, load {kpi['load']}\n")
    out(f"binds first: {document['bindingKpi']}\n")
    if "stack" in document:
        stack = document["stack"]
        verdict = "enough" if stack["enough"] else "NOT enough"
        out(f"\nstack {stack['stack']}: phase {stack['phase']} (recommended {stack['recommendedPhase']}): {verdict}\n")
        for region, short in stack["apiShort"].items():
            out(f"  {region}: {short['needed']} API instances needed, the group's max is {short['max']}\n")
        out(f"  database connections at {stack['connectionsPercent']}% of max_connections; binds first: "
            f"{stack['bindingKpi']}\n")
