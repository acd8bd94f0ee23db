"""`qnom promote`: what moving a stack to another phase changes, and the guarded edit of its stack file.

Plans the stack at its current phase and at `--to` in one process and prints the change grouped by
component (added, changed with every input's old and new value, replaced, deleted: `qnom.diff`),
the fixed-cost delta (`qnom.cost`) and the capacity delta (`qnom.capacity`). Refuses, exit 3, when a stateful resource
would be replaced, deleted or moved (naming the resource and the input), or when the step skips a
phase or goes down one without `--allow-skip` / `--allow-downgrade`. With `--yes` (and no refusal)
it writes `qnom:phase` into the stack file, line by line so comments and key order stay, and prints
the Pulumi commands to run next. `--json` prints the same as one document. `--gradual` instead writes
the seed's four-week plan (`qnom.gradual`) as one stack file per week, and plans each week and runs
the policy pack on it (exit 1 when a week fails a mandatory rule).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pathlib import Path

import yaml

from phases.catalog import deep_merge
from phases.settings import settings_from_config
from qnom.capacity import capacity_delta
from qnom.commands import EXIT_FAILURE, EXIT_OK, add_date_option, add_stack_options, resolve_stack
from qnom.diff import PlanDiff, diff_runs, refusals
from qnom.cost import cost_document
from qnom.engine import run_program
from qnom.gradual import gradual_weeks
from qnom.plan import load_config
from qnom.stackfile import read_stack_config, set_config_value

EXIT_REFUSED = 3
PHASE_KEY = "qnom:phase"
OVERRIDES_KEY = "qnom:overrides"
SHOWN_VALUE = 70
"""Characters of an input value the readable view shows (policies and scripts are long)."""


def register(commands) -> None:
    promote = commands.add_parser("promote", help="show what promoting a stack to another phase changes; "
                                                  "refuse anything that would lose data")
    add_stack_options(promote)
    promote.add_argument("--to", required=True, help="target phase (1-4 or name)")
    promote.add_argument("--yes", action="store_true",
                         help="write qnom:phase into the stack file when nothing is refused")
    promote.add_argument("--allow-skip", action="store_true", help="allow skipping a phase (1 -> 3)")
    promote.add_argument("--allow-downgrade", action="store_true", help="allow going down a phase (3 -> 2)")
    promote.add_argument("--gradual", action="store_true",
                         help="write the seed's 4-week gradual plan as one stack file per week (each planned and "
                              "checked against the policy pack) instead of promoting at once")
    promote.add_argument("--out", type=Path, help="folder of the --gradual weekly stack files (default: the stack "
                                                  "file's folder)")
    promote.add_argument("--json", action="store_true", help="print the promotion as one JSON document")
    add_date_option(promote)
    promote.set_defaults(handler=run)


def promotion(args: argparse.Namespace) -> dict[str, Any]:
    """The promotion document (docs/architecture.md's CLI contract: `stack`, `from`, `to`, `added`,
    `changed`, `replaced`, `deleted`, `costDelta`, `capacityDelta`, `refused`)."""
    current_config = load_config(args.stack, args.stack_file, None, args.date)
    current = settings_from_config(current_config, stack=args.stack)
    target = settings_from_config(load_config(args.stack, args.stack_file, args.to, args.date), stack=args.stack)
    before = run_program(args.stack, current_config)
    after = run_program(args.stack, load_config(args.stack, args.stack_file, target.phase.number, args.date))
    diff = diff_runs(before, after)
    refused = _phase_step_refusals(current.phase.number, target.phase.number, args)
    refused += [{"urn": hazard.urn, "resource": hazard.name, "type": hazard.type, "reason": hazard.reason,
                 "input": hazard.input, "detail": hazard.detail, "message": str(hazard)}
                for hazard in refusals(before, after)]
    # The fixed monthly cost of each plan as `qnom cost` prices it (the dated price table), beside
    # the phases' budgets.
    old_cost, new_cost = cost_document(before, current)["total"], cost_document(after, target)["total"]
    return {
        "stack": args.stack,
        "from": current.phase.number,
        "to": target.phase.number,
        **diff.to_json(),
        "costDelta": {"basis": "fixed monthly cost of each plan at on-demand list prices (qnom cost), USD",
                      "from": old_cost, "to": new_cost, "delta": round(new_cost - old_cost, 2),
                      "budgetFrom": current.phase.budget.monthly_usd, "budgetTo": target.phase.budget.monthly_usd},
        "capacityDelta": capacity_delta(current.phase, target.phase),
        "refused": refused,
        "_diff": diff,
    }


def _phase_step_refusals(current: int, target: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    if target > current + 1 and not args.allow_skip:
        return [{"reason": "skips", "message": f"phase {current} -> {target} skips phase {current + 1}; promote one "
                                              f"phase at a time or pass --allow-skip"}]
    if target < current and not args.allow_downgrade:
        return [{"reason": "downgrade", "message": f"phase {current} -> {target} goes down; pass --allow-downgrade "
                                                  f"(stateful resources are still never removed)"}]
    return []


def next_commands(stack: str) -> list[str]:
    return [f"pulumi preview --stack {stack} --policy-pack policy --diff",
            f"pulumi up --stack {stack} --policy-pack policy"]


def gradual(args: argparse.Namespace) -> dict[str, Any]:
    """The seed's gradual plan (`qnom.gradual`): one stack file per week, each planned and checked."""
    from qnom.policy import check_stack

    config = read_stack_config(args.stack_file)
    current = settings_from_config(load_config(args.stack, args.stack_file, None, args.date), stack=args.stack)
    target = settings_from_config(load_config(args.stack, args.stack_file, args.to, args.date), stack=args.stack)
    refused = _phase_step_refusals(current.phase.number, target.phase.number, args)
    if target.phase.number != current.phase.number + 1:
        refused.append({"reason": "gradual", "message": "--gradual goes up exactly one phase"})
    document: dict[str, Any] = {"stack": args.stack, "from": current.phase.number, "to": target.phase.number,
                                "weeks": [], "refused": refused}
    if refused:
        return document
    folder = args.out or args.stack_file.parent
    folder.mkdir(parents=True, exist_ok=True)
    for week in gradual_weeks(current.phase, target.phase):
        path = folder / f"Pulumi.{args.stack}-week{week.number}.yaml"
        values = {**config, PHASE_KEY: str(week.phase)}
        overrides = deep_merge(config.get(OVERRIDES_KEY) or {}, week.overrides)
        if overrides:
            values[OVERRIDES_KEY] = overrides
        header = (f"# Week {week.number} of 4 of the gradual plan for stack {args.stack}, phase {current.phase.number} "
                  f"-> {target.phase.number} (seed: Gradual Scaling Playbook).\n# Database: {week.database}.\n"
                  f"# pulumi up --stack {args.stack} --config-file {path.name} --policy-pack policy\n")
        path.write_text(header + yaml.safe_dump({"config": values}, sort_keys=False), encoding="utf-8")
        report = check_stack(args.stack, path, None, None, args.date)
        document["weeks"].append({"week": week.number, "phase": week.phase, "file": str(path),
                                  "overrides": week.overrides, "database": week.database,
                                  "policyPassed": report.passed, "mandatoryViolations": len(report.mandatory)})
    return document


def _run_gradual(args: argparse.Namespace) -> int:
    document = gradual(args)
    if args.json:
        sys.stdout.write(json.dumps(document, sort_keys=True, indent=2) + "\n")
    else:
        out = sys.stdout.write
        out(f"qnom promote {args.stack} --gradual: phase {document['from']} -> {document['to']} over four weeks\n")
        for week in document["weeks"]:
            verdict = "policy passed" if week["policyPassed"] else f"{week['mandatoryViolations']} mandatory violation(s)"
            out(f"  week {week['week']}: {week['file']} (phase {week['phase']}; {week['database']}): {verdict}\n")
            for region, values in week["overrides"].get("regions", {}).items():
                sizes = ", ".join(f"{key} {value}" for key, value in values.items())
                out(f"    {region}: {sizes}\n")
        for refusal in document["refused"]:
            out(f"refused (exit 3): {refusal['message']}\n")
    if document["refused"]:
        return EXIT_REFUSED
    return EXIT_OK if all(week["policyPassed"] for week in document["weeks"]) else EXIT_FAILURE


def run(args: argparse.Namespace) -> int:
    resolve_stack(args)
    if args.gradual:
        return _run_gradual(args)
    document = promotion(args)
    diff: PlanDiff = document.pop("_diff")
    written = False
    if args.yes and not document["refused"] and document["from"] != document["to"]:
        set_config_value(args.stack_file, PHASE_KEY, str(document["to"]))
        written = True
    document["written"] = written
    document["next"] = next_commands(args.stack) if written else []
    if args.json:
        sys.stdout.write(json.dumps(document, sort_keys=True, indent=2) + "\n")
    else:
        _print(document, diff, args)
    return EXIT_REFUSED if document["refused"] else EXIT_OK


def _differing(old: Any, new: Any) -> tuple[Any, Any]:
    """The parts of two values that differ: a list's changed items, a mapping's changed keys (for the view)."""
    if isinstance(old, dict) and isinstance(new, dict):
        keys = [key for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)]
        pairs = {key: _differing(old[key], new[key]) if key in old and key in new else (old.get(key), new.get(key))
                 for key in keys}
        # A named entry (a parameter, a tag) keeps its name.
        named = {key: old[key] for key in ("name", "key") if key in old and old[key] == new.get(key)}
        return ({**named, **{key: pair[0] for key, pair in pairs.items() if key in old}},
                {**named, **{key: pair[1] for key, pair in pairs.items() if key in new}})
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        changed = [index for index, (a, b) in enumerate(zip(old, new)) if a != b]
        pairs = [_differing(old[index], new[index]) for index in changed]
        return [pair[0] for pair in pairs], [pair[1] for pair in pairs]
    return old, new


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= SHOWN_VALUE else text[:SHOWN_VALUE - 3] + "..."


def _print(document: dict[str, Any], diff: PlanDiff, args: argparse.Namespace) -> None:
    out = sys.stdout.write
    counts = ", ".join(f"{len(getattr(diff, kind))} {kind}" for kind in ("added", "changed", "replaced", "deleted"))
    out(f"qnom promote {document['stack']}: phase {document['from']} -> {document['to']} ({counts})\n")
    for component, kinds in diff.by_component().items():
        out(f"\n{component}\n")
        for kind, changes in kinds.items():
            if kind in ("added", "deleted"):
                # One line per kind: what a step adds or deletes has no inputs to compare.
                out(f"  {kind:<8} {len(changes)}: {', '.join(change.name for change in changes)}\n")
                continue
            for change in changes:
                out(f"  {kind:<8} {change.name} ({change.type})\n")
                for reason in change.reasons:
                    out(f"             forced by {_short(reason)}\n")
                for name, values in change.inputs.items():
                    if "old" in values and "new" in values:
                        old, new = (_short(value) for value in _differing(values["old"], values["new"]))
                    else:
                        old = _short(values["old"]) if "old" in values else "(absent)"
                        new = _short(values["new"]) if "new" in values else "(absent)"
                    out(f"             {name}: {old} -> {new}\n")
    cost = document["costDelta"]
    out(f"\nfixed cost: ${cost['from']:,.2f}/month -> ${cost['to']:,.2f}/month ({cost['delta']:+,.2f}; "
        f"budget ${cost['budgetFrom']:,} -> ${cost['budgetTo']:,})\n")
    out("capacity:\n")
    for region, changes in document["capacityDelta"].items():
        for key, values in changes.items():
            out(f"  {region} {key}: {json.dumps(values['from'])} -> {json.dumps(values['to'])}\n")
    if document["refused"]:
        out("\nrefused (exit 3):\n")
        for refusal in document["refused"]:
            out(f"  - {refusal['message']}\n")
        return
    if document["written"]:
        out(f"\nwrote {PHASE_KEY}: \"{document['to']}\" to {args.stack_file.name}; next:\n")
        for command in document["next"]:
            out(f"  {command}\n")
    elif document["from"] != document["to"]:
        out(f"\nnothing written; rerun with --yes to set {PHASE_KEY} to {document['to']} in {args.stack_file.name}\n")
    else:
        out(f"\n{args.stack_file.name} is already at phase {document['to']}: nothing to promote\n")
