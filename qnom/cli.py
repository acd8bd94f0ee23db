"""`python -m qnom`: offline commands over the Pulumi program (no AWS, no Pulumi CLI).

Exit codes: 0 success; 2 invalid settings or arguments (message on stderr, no traceback); 1
anything else. `--date` plans as of a given day instead of today (e.g. Black Friday's surge).
`policy` also exits 1 when a mandatory rule of the policy pack fails. A program that makes a
request AWS would refuse (`qnom.awsrules`) exits 1 with one line per refused request on stderr.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from datetime import date
from pathlib import Path

from rich.console import Console

from phases.settings import SettingsError, parse_plan_date, settings_from_config
from qnom.awsrules import AwsRuleViolation
from qnom.plan import build_plan, load_config, to_json

EXIT_OK, EXIT_FAILURE, EXIT_INVALID = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own exit code is also 2
        self.print_usage(sys.stderr)
        self.exit(EXIT_INVALID, f"{self.prog}: error: {message}\n")


def _day(text: str) -> date:
    """A `--date` value, read as `qnom:planDate` is."""
    try:
        return parse_plan_date(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _date_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", type=_day, metavar="YYYY-MM-DD",
                        help="plan as of this day, replacing qnom:planDate (default: today in the schedule's "
                             "time zone); e.g. a Black Friday to preview its surge")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="qnom", description="Offline tools for the QNom Pulumi program.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    plan = commands.add_parser("plan", help="show what a stack provisions, offline")
    plan.add_argument("--stack", required=True, help="stack name; reads Pulumi.<stack>.yaml (dev, prod)")
    plan.add_argument("--stack-file", type=Path, help="read this stack file instead of Pulumi.<stack>.yaml")
    phases = plan.add_mutually_exclusive_group()
    phases.add_argument("--phase", help="phase to plan (1-4 or name), replacing qnom:phase; "
                                        "several, comma-separated (1,2,3,4), plan each in turn")
    phases.add_argument("--all-phases", action="store_true", help="plan phases 1-4 in turn (as --phase 1,2,3,4)")
    plan.add_argument("--json", action="store_true",
                      help="print the qnom.plan/v1 JSON document (several phases: a JSON array of them)")
    _date_option(plan)
    plan.set_defaults(handler=_plan)
    policy = commands.add_parser("policy", help="run the CrossGuard policy pack against a stack's plan, offline")
    policy.add_argument("--stack", required=True, help="stack name; reads Pulumi.<stack>.yaml (dev, prod)")
    policy.add_argument("--stack-file", type=Path, help="read this stack file instead of Pulumi.<stack>.yaml")
    policy.add_argument("--phase", help="phase to check (1-4 or name), replacing qnom:phase")
    policy.add_argument("--json", action="store_true", help="print the qnom.policy/v1 JSON report")
    _date_option(policy)
    policy.add_argument("--policy-config", type=Path,
                        help="pack config JSON (as for pulumi --policy-pack-config): per-rule levels and settings")
    policy.set_defaults(handler=_policy)
    return parser


def _plan_phases(args: argparse.Namespace) -> list[str | None] | None:
    """The phases `--phase`/`--all-phases` ask for; None for one plan (one document, not an array)."""
    if args.all_phases:
        return ["1", "2", "3", "4"]
    if args.phase is None or "," not in args.phase:
        return None
    return [phase.strip() for phase in args.phase.split(",")]


def _plan(args: argparse.Namespace) -> int:
    phases = _plan_phases(args)
    # Several phases in one process pay the imports once; every phase's settings are checked
    # before the first program runs, so a bad phase in the list prints nothing.
    for phase in phases or ():
        settings_from_config(load_config(args.stack, args.stack_file, phase, args.date), stack=args.stack)
    documents = [build_plan(args.stack, args.stack_file, phase, args.date) for phase in phases or [args.phase]]
    if args.json:
        sys.stdout.write(to_json(documents if phases is not None else documents[0]))
        return EXIT_OK
    from qnom.render import render

    for document in documents:
        render(document, Console(width=160))
    return EXIT_OK


def _policy(args: argparse.Namespace) -> int:
    """Exit 0 when no mandatory rule fails, 1 when one does (2 on invalid settings, via main)."""
    from qnom.policy import check_stack, to_json

    report = check_stack(args.stack, args.stack_file, args.phase, args.policy_config, args.date)
    if args.json:
        sys.stdout.write(to_json(report))
    else:
        from qnom.render import render_policy

        render_policy(report, Console(width=160))
    return EXIT_OK if report.passed else EXIT_FAILURE


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.handler(args)
    except SettingsError as error:
        print(f"qnom: {error}", file=sys.stderr)
        return EXIT_INVALID
    except AwsRuleViolation as error:
        for violation in error.violations:
            print(f"qnom: AWS would refuse {violation.urn}: {violation.message} [{violation.rule}]", file=sys.stderr)
        return EXIT_FAILURE
    except Exception:  # noqa: BLE001 any other failure is exit 1 with its traceback
        traceback.print_exc()
        return EXIT_FAILURE
