"""`python -m qnom`: offline commands over the Pulumi program (no AWS, no Pulumi CLI).

Exit codes: 0 success; 2 invalid settings, stack file, policy config or arguments (message on
stderr, no traceback); 1 anything else; 130 interrupted. `--date` plans as of a given day instead of today (e.g. Black Friday's surge).
`policy` also exits 1 when a mandatory rule of the policy pack fails. A program that makes a
request AWS would refuse (`qnom.awsrules`) exits 1 with one line per refused request on stderr.
Each command lives in its own module under `qnom/commands/`.
"""

from __future__ import annotations

import argparse
import sys
import traceback

from phases.settings import SettingsError
from qnom import __version__
from qnom.awsrules import AwsRuleViolation
from qnom.commands import EXIT_FAILURE, EXIT_INVALID
from qnom.commands import capacity, cost, plan, policy, promote, render, surge

COMMANDS = (plan, policy, cost, promote, capacity, surge, render)
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C
EXIT_CODES = """\
exit codes:
  0    success (policy: no mandatory rule failed)
  1    a mandatory policy rule failed (or could not run in the preview, without --allow-unknown),
       AWS would refuse a request, or an internal error
  2    invalid arguments, stack name, stack file, settings or policy config
  3    promote or surge refused: a data store would be replaced or deleted, or a phase skipped or gone down
  130  interrupted
"""
EPILOG = """\
examples:
  python -m qnom plan --stack dev                      the dev stack's plan (Pulumi.dev.yaml)
  python -m qnom plan --stack prod --phase 3           prod promoted to phase 3
  python -m qnom plan --stack prod --all-phases --json phases 1-4 as a JSON array
  python -m qnom policy --stack prod                   the policy pack against prod's plan
  python -m qnom policy --stack prod --failed-only     only what fails, then the counts
  python -m qnom policy --stack prod --policy-config policy/policy-config.example.json
  python -m qnom promote --stack prod --to 3           what promoting prod to phase 3 changes
  python -m qnom capacity --users 50000 --stack prod   the phase 50,000 users need, against prod
  python -m qnom surge on --stack prod                 the emergency playbook: qnom:surge on
  python -m qnom render k8s --stack prod --phase 3 --out k8s/   Kubernetes objects as YAML, validated
  python -m qnom cost --stack prod --phase 2 --compare 3   what prod costs in phase 2 and 3

""" + EXIT_CODES + """
Run from the project root with the project's virtualenv (venv/bin/python -m qnom ...), or from
anywhere as venv/bin/python path/to/project/qnom ...; `make plan` creates the virtualenv.
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own exit code is also 2
        self.print_usage(sys.stderr)
        self.exit(EXIT_INVALID, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="qnom", description="Offline tools for the QNom Pulumi program.", epilog=EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for command in COMMANDS:
        command.register(commands)
    for subcommand in commands.choices.values():
        subcommand.epilog, subcommand.formatter_class = EXIT_CODES, argparse.RawDescriptionHelpFormatter
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
    except KeyboardInterrupt:
        print("qnom: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception:  # noqa: BLE001 any other failure is exit 1 with its traceback
        traceback.print_exc()
        return EXIT_FAILURE
