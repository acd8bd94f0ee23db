"""The offline commands, one module each (`plan`, `policy`), over the shared engine
(`qnom.engine`), documents (`qnom.plan`, `qnom.policy`) and rendering (`qnom.render`).

Each module has `register(commands)`, which adds its subcommand to the CLI's subparsers, and the
handler it sets, which returns the exit code. The options every command shares live here.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from phases.settings import parse_plan_date

EXIT_OK, EXIT_FAILURE, EXIT_INVALID = 0, 1, 2


def _day(text: str) -> date:
    """A `--date` value, read as `qnom:planDate` is."""
    try:
        return parse_plan_date(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_stack_options(parser: argparse.ArgumentParser) -> None:
    """`--stack` and `--stack-file`, the same for every command."""
    parser.add_argument("--stack", required=True, help="stack name; reads Pulumi.<stack>.yaml (dev, prod)")
    parser.add_argument("--stack-file", type=Path, help="read this stack file instead of Pulumi.<stack>.yaml")


def add_date_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", type=_day, metavar="YYYY-MM-DD",
                        help="plan as of this day, replacing qnom:planDate (default: today in the schedule's "
                             "time zone); e.g. a Black Friday to preview its surge")
