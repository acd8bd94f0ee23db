"""`qnom policy`: the CrossGuard pack against a stack's offline plan. Exit 0 when no mandatory rule
fails, 1 when one does or cannot be decided in the preview (values unknown until deployment) and
`--allow-unknown` is not given; 2 on invalid settings, through the CLI."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qnom.commands import EXIT_FAILURE, EXIT_OK, add_date_option, add_stack_options, resolve_stack


def register(commands) -> None:
    policy = commands.add_parser("policy", help="run the CrossGuard policy pack against a stack's plan, offline")
    add_stack_options(policy)
    policy.add_argument("--phase", help="phase to check (1-4 or name), replacing qnom:phase")
    policy.add_argument("--json", action="store_true", help="print the qnom.policy/v1 JSON report")
    add_date_option(policy)
    policy.add_argument("--policy-config", type=Path,
                        help="pack config JSON (as for pulumi --policy-pack-config): per-rule levels and settings; "
                             "policy/policy-config.example.json shows every setting")
    policy.add_argument("--failed-only", action="store_true",
                        help="show only the violations and the rules that could not run, then the counts")
    policy.add_argument("--allow-unknown", action="store_true",
                        help="pass although a mandatory rule could not run in the preview (a value unknown "
                             "until deployment); without it such a rule fails the command")
    policy.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    resolve_stack(args)
    from qnom.policy import check_stack, to_json

    report = check_stack(args.stack, args.stack_file, args.phase, args.policy_config, args.date, args.allow_unknown)
    if args.json:
        sys.stdout.write(to_json(report))
    else:
        from rich.console import Console

        from qnom.render import render_policy

        # Rich sizes the view to the terminal (COLUMNS when stdout is not one), as `qnom plan` does.
        render_policy(report, Console(), failed_only=args.failed_only)
    return EXIT_OK if report.passed else EXIT_FAILURE
