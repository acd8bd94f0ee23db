"""The offline commands, one module each (`plan`, `policy`), over the shared engine
(`qnom.engine`), documents (`qnom.plan`, `qnom.policy`) and rendering (`qnom.render`).

Each module has `register(commands)`, which adds its subcommand to the CLI's subparsers, and the
handler it sets, which returns the exit code. The options every command shares live here, and
`resolve_stack`, which each handler calls first: it finds the stack file (an unknown stack name lists
the stacks there are) and warns on stderr about keys that look like the project's in another namespace.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from phases.settings import parse_plan_date
from qnom.engine import PROJECT_DIR
from qnom.stackfile import lookalike_keys, read_stack_config, stack_config_path

EXIT_OK, EXIT_FAILURE, EXIT_INVALID = 0, 1, 2


def _day(text: str) -> date:
    """A `--date` value, read as `qnom:planDate` is."""
    try:
        return parse_plan_date(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_stack_options(parser: argparse.ArgumentParser) -> None:
    """`--stack` and `--stack-file`, the same for every command."""
    parser.add_argument("--stack", required=True,
                        help="stack name; reads Pulumi.<stack>.yaml at the project root (dev, staging, prod)")
    parser.add_argument("--stack-file", type=Path, help="read this stack file instead of Pulumi.<stack>.yaml")


def add_date_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", type=_day, metavar="YYYY-MM-DD",
                        help="plan as of this day, replacing qnom:planDate (default: today in the schedule's "
                             "time zone); e.g. a Black Friday to preview its surge")


def resolve_stack(args: argparse.Namespace) -> None:
    """Sets `args.stack_file` to the file the stack's config is read from (SettingsError when the
    stack does not exist or the file cannot be read) and warns about lookalike keys, once."""
    # The project root is the package's parent, so the command works from any directory.
    args.stack_file = stack_config_path(PROJECT_DIR, args.stack, args.stack_file)
    for warning in lookalike_keys(read_stack_config(args.stack_file)):
        print(f"qnom: warning: {args.stack_file.name}: {warning}", file=sys.stderr)
