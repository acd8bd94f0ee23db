"""`qnom policy`: the CrossGuard pack against a stack's offline plan. Exit 0 when no mandatory rule
fails, 1 when one does (2 on invalid settings, through the CLI)."""

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
                        help="pack config JSON (as for pulumi --policy-pack-config): per-rule levels and settings")
    policy.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    resolve_stack(args)
    from qnom.policy import check_stack, to_json

    report = check_stack(args.stack, args.stack_file, args.phase, args.policy_config, args.date)
    if args.json:
        sys.stdout.write(to_json(report))
    else:
        from rich.console import Console

        from qnom.render import render_policy

        render_policy(report, Console(width=160))
    return EXIT_OK if report.passed else EXIT_FAILURE
