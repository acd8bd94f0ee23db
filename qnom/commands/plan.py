"""`qnom plan`: what a stack provisions, offline; one phase, or several in one process."""

from __future__ import annotations

import argparse
import sys

from phases.settings import settings_from_config
from qnom.commands import EXIT_OK, add_date_option, add_stack_options, resolve_stack
from qnom.plan import build_plan, load_config, to_json


def register(commands) -> None:
    plan = commands.add_parser("plan", help="show what a stack provisions, offline")
    add_stack_options(plan)
    phases = plan.add_mutually_exclusive_group()
    phases.add_argument("--phase", help="phase to plan (1-4 or name), replacing qnom:phase; "
                                        "several, comma-separated (1,2,3,4), plan each in turn")
    phases.add_argument("--all-phases", action="store_true", help="plan phases 1-4 in turn (as --phase 1,2,3,4)")
    plan.add_argument("--json", action="store_true",
                      help="print the qnom.plan/v1 JSON document (several phases: a JSON array of them)")
    add_date_option(plan)
    plan.set_defaults(handler=run)


def _phases(args: argparse.Namespace) -> list[str | None] | None:
    """The phases `--phase`/`--all-phases` ask for; None for one plan (one document, not an array)."""
    if args.all_phases:
        return ["1", "2", "3", "4"]
    if args.phase is None or "," not in args.phase:
        return None
    return [phase.strip() for phase in args.phase.split(",")]


def run(args: argparse.Namespace) -> int:
    resolve_stack(args)
    phases = _phases(args)
    # Several phases in one process pay the imports once; every phase's settings are checked
    # before the first program runs, so a bad phase in the list prints nothing.
    for phase in phases or ():
        settings_from_config(load_config(args.stack, args.stack_file, phase, args.date), stack=args.stack)
    documents = [build_plan(args.stack, args.stack_file, phase, args.date) for phase in phases or [args.phase]]
    if args.json:
        sys.stdout.write(to_json(documents if phases is not None else documents[0]))
        return EXIT_OK
    from rich.console import Console

    from qnom.render import render

    for document in documents:
        render(document, Console(width=160))
    return EXIT_OK
