"""`python -m qnom`: offline commands over the Pulumi program (no AWS, no Pulumi CLI).

Exit codes: 0 success; 2 invalid settings or arguments (message on stderr, no traceback); 1
anything else. `--date` plans as of a given day instead of today (e.g. Black Friday's surge).
`policy` also exits 1 when a mandatory rule of the policy pack fails. A program that makes a
request AWS would refuse (`qnom.awsrules`) exits 1 with one line per refused request on stderr.
Each command lives in its own module under `qnom/commands/`.
"""

from __future__ import annotations

import argparse
import sys
import traceback

from phases.settings import SettingsError
from qnom.awsrules import AwsRuleViolation
from qnom.commands import EXIT_FAILURE, EXIT_INVALID
from qnom.commands import plan, policy

COMMANDS = (plan, policy)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own exit code is also 2
        self.print_usage(sys.stderr)
        self.exit(EXIT_INVALID, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="qnom", description="Offline tools for the QNom Pulumi program.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for command in COMMANDS:
        command.register(commands)
    return parser


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
