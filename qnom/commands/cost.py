"""`qnom cost`: the monthly cost of a stack's plan, offline, from the dated price table.

Both cost profiles are shown: the stack's own (`qnom:costProfile`) and the other one, priced from
the same plan (a profile changes instance types and nothing else).

Per component, per region and per resource, the total against the phase's budget, and the
usage-based items with their assumptions (`qnom.cost`). `--compare M` prices a second phase and
shows the two side by side with the delta. `--format markdown` prints a table that fits a
pull-request comment (the pull-request workflow posts it); `--json` is `--format json`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from phases.settings import settings_from_config
from qnom.commands import EXIT_OK, add_date_option, add_stack_options, resolve_stack
from qnom.cost import cost_document
from qnom.engine import run_program
from qnom.plan import load_config


def register(commands) -> None:
    cost = commands.add_parser("cost", help="what a stack's plan costs a month, offline")
    add_stack_options(cost)
    cost.add_argument("--phase", help="phase to price (1-4 or name), replacing qnom:phase")
    cost.add_argument("--compare", metavar="M", help="a second phase to price beside it, with the delta")
    formats = cost.add_mutually_exclusive_group()
    formats.add_argument("--format", choices=("table", "json", "markdown"), default="table",
                         help="table (default), json (the qnom.cost/v1 document) or markdown (a pull-request comment)")
    formats.add_argument("--json", action="store_const", dest="format", const="json", help="same as --format json")
    add_date_option(cost)
    cost.set_defaults(handler=run)


def price(args: argparse.Namespace, phase: str | None) -> dict[str, Any]:
    config = load_config(args.stack, args.stack_file, phase, args.date)
    settings = settings_from_config(config, stack=args.stack)
    return cost_document(run_program(args.stack, config), settings)


def compare(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """Two phases side by side: the first document with the second and the delta of every sum."""
    def delta(key: str) -> dict[str, float]:
        names = sorted(set(first[key]) | set(second[key]))
        return {name: round(second[key].get(name, 0) - first[key].get(name, 0), 2) for name in names}

    return {**first, "compare": second, "delta": {
        "total": round(second["total"] - first["total"], 2), "byComponent": delta("byComponent"),
        "byRegion": delta("byRegion")}}


def run(args: argparse.Namespace) -> int:
    resolve_stack(args)
    document = price(args, args.phase)
    if args.compare is not None:
        document = compare(document, price(args, args.compare))
    if args.format == "json":
        sys.stdout.write(json.dumps(document, sort_keys=True, indent=2) + "\n")
    elif args.format == "markdown":
        sys.stdout.write(markdown(document))
    else:
        table(document)
    return EXIT_OK


def _money(value: float | None) -> str:
    return "-" if value is None else f"${value:,.2f}"


def _title(document: dict[str, Any]) -> str:
    phase = document["phase"]
    return f"{document['stack']} phase {phase['number']} ({phase['name']})"


def _summary_rows(document: dict[str, Any]) -> list[tuple[str, ...]]:
    """(what, this phase[, other phase, delta]) rows: components, regions, the total and the budget."""
    other, rows = document.get("compare"), []
    for key, label in (("byComponent", "component"), ("byRegion", "region")):
        names = list(document[key]) + [name for name in (other or {}).get(key, {}) if name not in document[key]]
        for name in names:
            row = (f"{label} {name}", _money(document[key].get(name, 0)))
            if other:
                row += (_money(other[key].get(name, 0)), _money(document["delta"][key][name]))
            rows.append(row)
    total = ("**total (fixed)**", _money(document["total"]))
    budget = ("budget", _money(document["budget"]))
    share = ("share of budget", f"{document['budgetShare']:.2f}x")
    if other:
        total += (_money(other["total"]), _money(document["delta"]["total"]))
        budget += (_money(other["budget"]), _money(other["budget"] - document["budget"]))
        share += (f"{other['budgetShare']:.2f}x", "")
    rows += [total, budget, share]
    for name, profile in document["profiles"].items():
        if name == document["costProfile"]:
            continue
        row = (f"with qnom:costProfile {name}", f"{_money(profile['total'])} ({profile['budgetShare']:.2f}x)")
        if other:
            alternative = other["profiles"][name]
            row += (f"{_money(alternative['total'])} ({alternative['budgetShare']:.2f}x)",
                    _money(alternative["total"] - profile["total"]))
        rows.append(row)
    return rows


def markdown(document: dict[str, Any]) -> str:
    other = document.get("compare")
    heading = f"### qnom cost: {_title(document)}" + (f" vs phase {other['phase']['number']} "
                                                       f"({other['phase']['name']})" if other else "")
    header = ["", _title(document)] + ([f"phase {other['phase']['number']}", "delta"] if other else [])
    lines = [heading, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in _summary_rows(document):
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "Usage-based, estimated apart:", ""]
    for item in document["usageBased"]:
        if item["monthly"] is not None:
            lines.append(f"- {item['item']}: {_money(item['monthly'])} ({item['assumption']})")
    lines.append(f"- cost per request: ${document['costPerRequest']:.6f} (target ${document['costPerRequestTarget']})")
    lines += ["", f"On-demand list prices as of {document['priceDate']} (qnom/prices/prices.yaml).", ""]
    return "\n".join(lines)


def table(document: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console, other = Console(), document.get("compare")
    summary = Table(title=f"qnom cost  {_title(document)}  (USD a month, on-demand list prices of "
                          f"{document['priceDate']})")
    for column in ["", _title(document)] + ([f"phase {other['phase']['number']}", "delta"] if other else []):
        summary.add_column(column, justify="left" if not column else "right")
    for row in _summary_rows(document):
        summary.add_row(*[cell.replace("**", "") for cell in row])
    console.print(summary)
    resources = Table(title="per resource")
    for column in ("resource", "region", "component", "monthly", "basis"):
        resources.add_column(column, justify="right" if column == "monthly" else "left")
    for item in sorted(document["resources"], key=lambda item: -item["monthly"]):
        resources.add_row(item["name"], item["region"], item["component"], _money(item["monthly"]), item["basis"])
    console.print(resources)
    usage = Table(title="usage-based (not in the total)")
    for column in ("item", "monthly", "assumption"):
        usage.add_column(column)
    for item in document["usageBased"]:
        usage.add_row(item["item"], _money(item["monthly"]), item["assumption"])
    console.print(usage)
    console.print(f"cost per request ${document['costPerRequest']:.6f} (seed target "
                  f"${document['costPerRequestTarget']}) at {document['requestsPerMonth']:,} requests a month")
