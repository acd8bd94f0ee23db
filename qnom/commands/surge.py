"""`qnom surge on|off`: the seed's emergency playbook as a stack setting (`qnom:surge`).

Plans the stack as it is and with the setting flipped, prints what changes (`qnom.diff`), refuses
(exit 3) if anything would be replaced or a data store deleted, and otherwise writes `qnom:surge`
into the stack file (a line-level edit: comments and key order stay). It then prints the playbook's
steps that are not the program's to take: `pulumi up`, the CloudFront invalidation of the stack's
distribution (its `cdnDistributionId` output), the reboot a raised `max_connections` needs (a static
PostgreSQL parameter), and from phase 3 the Kubernetes api-hpa minimum (20 pods).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from phases.settings import settings_from_config
from qnom.commands import EXIT_OK, add_date_option, add_stack_options, resolve_stack
from qnom.commands.promote import EXIT_REFUSED
from qnom.diff import diff_runs, refusals
from qnom.engine import run_program
from qnom.plan import load_config
from qnom.stackfile import set_config_value

SURGE_KEY = "qnom:surge"
CDN_OUTPUT = "cdnDistributionId"


def register(commands) -> None:
    surge = commands.add_parser("surge", help="switch the stack's emergency scaling (the seed's playbook) on or off")
    surge.add_argument("state", choices=["on", "off"], help="on: surge; off: back to the phase's everyday sizes")
    add_stack_options(surge)
    surge.add_argument("--json", action="store_true", help="print the change as one JSON document")
    add_date_option(surge)
    surge.set_defaults(handler=run)


def follow_up(stack: str, on: bool, before, after) -> list[str]:
    """The commands to run once the stack file says what it should."""
    commands = [f"pulumi up --stack {stack} --policy-pack policy"]
    if on:
        # Seed playbook step 4: serve from the edge while the origin scales.
        commands.append(f"aws cloudfront create-invalidation --distribution-id "
                        f"\"$(pulumi stack output {CDN_OUTPUT} --stack {stack})\" --paths \"/*\"")
    if before.phase.database.max_connections != after.phase.database.max_connections:
        # max_connections is static in PostgreSQL: RDS applies it at the next reboot ("pending-reboot").
        commands.append(f"aws rds reboot-db-instance --db-instance-identifier <each instance of the stack's "
                        f"database> (max_connections {before.phase.database.max_connections} -> "
                        f"{after.phase.database.max_connections} applies at the reboot)")
    return commands


def run(args: argparse.Namespace) -> int:
    resolve_stack(args)
    on = args.state == "on"
    current_config = load_config(args.stack, args.stack_file, None, args.date)
    target_config = {**current_config, SURGE_KEY: on}
    before = settings_from_config(current_config, stack=args.stack)
    after = settings_from_config(target_config, stack=args.stack)
    old_run, new_run = run_program(args.stack, current_config), run_program(args.stack, target_config)
    diff = diff_runs(old_run, new_run)
    refused = [str(hazard) for hazard in refusals(old_run, new_run)]
    refused += [f"{change.name} would be replaced: {', '.join(change.reasons)}" for change in diff.replaced]
    written = before.surge != on and not refused
    if written:
        set_config_value(args.stack_file, SURGE_KEY, "true" if on else "false")
    document: dict[str, Any] = {
        "stack": args.stack, "surge": on, "written": written, **diff.to_json(), "refused": refused,
        "apiSurgeSize": {region.name: after.phase.surge_size(region) for region in after.phase.regions} if on else {},
        # The API gateway's HPA minimum in surge (phase 3 on); None where the phase runs no Kubernetes.
        "kubernetesMinReplicas": after.phase.kubernetes.hpa.min_replicas if on and after.phase.kubernetes else None,
        "next": follow_up(args.stack, on, before, after) if written else [],
    }
    if args.json:
        sys.stdout.write(json.dumps(document, sort_keys=True, indent=2) + "\n")
    else:
        _print(document, args)
    return EXIT_REFUSED if refused else EXIT_OK


def _print(document: dict[str, Any], args: argparse.Namespace) -> None:
    out = sys.stdout.write
    counts = ", ".join(f"{len(document[kind])} {kind}" for kind in ("added", "changed", "replaced", "deleted"))
    out(f"qnom surge {args.state} {document['stack']}: {counts}\n")
    for kind in ("added", "changed", "deleted"):
        for change in document[kind]:
            inputs = ", ".join(change.get("inputs", {}))
            out(f"  {kind:<8} {change['name']}{f' ({inputs})' if inputs else ''}\n")
    if document["refused"]:
        out("refused (exit 3):\n" + "".join(f"  - {reason}\n" for reason in document["refused"]))
        return
    for region, size in document["apiSurgeSize"].items():
        out(f"  {region}: API group held at {size} instances\n")
    if document["kubernetesMinReplicas"]:
        out(f"  Kubernetes api-hpa minimum: {document['kubernetesMinReplicas']} api-deployment pods\n")
    if not document["written"]:
        out(f"{SURGE_KEY} is already {'on' if document['surge'] else 'off'} in {args.stack_file.name}; nothing written\n")
        return
    out(f"wrote {SURGE_KEY}: \"{'true' if document['surge'] else 'false'}\" to {args.stack_file.name}; next:\n")
    for command in document["next"]:
        out(f"  {command}\n")
