"""`qnom plan`: what a stack provisions, offline; one phase, or several in one process.

The readable view opens with a summary per region (`--summary`: only that) and fits the
terminal's width (rich's detection, `COLUMNS` when stdout is not a terminal). While it works it
names the step it is on (settings, program, rendering) with a spinner on stderr, only when stderr
is a terminal, so pipes and CI logs stay clean.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator

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
    views = plan.add_mutually_exclusive_group()
    views.add_argument("--json", action="store_true",
                       help="print the qnom.plan/v1 JSON document (several phases: a JSON array of them)")
    views.add_argument("--summary", action="store_true",
                       help="print only the summary: per region, the sizes of every tier and the protected resources")
    add_date_option(plan)
    plan.set_defaults(handler=run)


def _phases(args: argparse.Namespace) -> list[str | None] | None:
    """The phases `--phase`/`--all-phases` ask for; None for one plan (one document, not an array)."""
    if args.all_phases:
        return ["1", "2", "3", "4"]
    if args.phase is None or "," not in args.phase:
        return None
    return [phase.strip() for phase in args.phase.split(",")]


@contextlib.contextmanager
def _progress() -> Iterator:
    """Yields `step(text)`, which names the work under way in a spinner on stderr; does nothing
    when stderr is not a terminal."""
    if not sys.stderr.isatty():
        yield lambda text: None
        return
    from rich.console import Console

    with Console(stderr=True).status("qnom plan") as status:
        yield lambda text: status.update(f"qnom plan: {text}")


def run(args: argparse.Namespace) -> int:
    resolve_stack(args)
    phases = _phases(args)
    with _progress() as step:
        # Several phases in one process pay the imports once; every phase's settings are checked
        # before the first program runs, so a bad phase in the list prints nothing.
        step("checking the settings")
        settings = [settings_from_config(load_config(args.stack, args.stack_file, phase, args.date), stack=args.stack)
                    for phase in phases or [args.phase]]
        documents = []
        for phase, each in zip(phases or [args.phase], settings):
            step(f"running the program offline (phase {each.phase.number}, {each.phase.name})")
            documents.append(build_plan(args.stack, args.stack_file, phase, args.date, settings=each))
        if args.json:
            sys.stdout.write(to_json(documents if phases is not None else documents[0]))
            return EXIT_OK
        step("rendering")
        from rich.console import Console

        from qnom.render import render

        # Rich sizes the view to the terminal (COLUMNS when stdout is not one); no fixed width.
        console = Console()
        for document, each in zip(documents, settings):
            render(document, console, each, summary_only=args.summary)
    return EXIT_OK
