"""Every error a user can cause ends cleanly: exit code 2, a message naming what is wrong and what is
allowed, no traceback. Unknown stacks, unreadable or malformed stack files, invalid policy configs,
another Python than the virtualenv, another working directory; lookalike keys warn; `--version`,
`--help` and `make help` say what there is. None of these runs the program (nothing is planned)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qnom import __version__
from qnom.commands import plan as plan_command
from qnom.stackfile import likely_key, lookalike_keys
from tests.support import run_cli

ROOT = Path(__file__).resolve().parent.parent


def assert_clean_refusal(result, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


# ----------------------------------------------------------------------------- stacks and stack files

def test_unknown_stack_lists_the_stacks_at_the_project_root(capsys):
    result = run_cli(capsys, "plan", "--stack", "prdo")
    assert_clean_refusal(result, "qnom: unknown stack:", "--stack prdo: no stack file Pulumi.prdo.yaml",
                         "stacks: dev, prod", "--stack-file PATH")


def test_non_utf8_stack_file(tmp_path, capsys):
    stack_file = tmp_path / "Pulumi.qa.yaml"
    stack_file.write_bytes("config:\n  qnom:domain: caf\u00e9.example\n".encode("latin-1"))
    result = run_cli(capsys, "plan", "--stack", "qa", "--stack-file", str(stack_file))
    assert_clean_refusal(result, "qnom: invalid stack file:", "Pulumi.qa.yaml: not UTF-8 text (line 2: byte 0xe9,",
                         "save the stack file as UTF-8")


def test_malformed_yaml_names_the_line(tmp_path, capsys):
    stack_file = tmp_path / "Pulumi.qa.yaml"
    stack_file.write_text("config:\n  qnom:phase: 1\n  qnom:environment: [dev\n", encoding="utf-8")
    result = run_cli(capsys, "plan", "--stack", "qa", "--stack-file", str(stack_file))
    assert_clean_refusal(result, "Pulumi.qa.yaml: not valid YAML at line 4, column 1")


def test_unreadable_stack_file(tmp_path, capsys, monkeypatch):
    stack_file = tmp_path / "Pulumi.qa.yaml"
    stack_file.write_text("config:\n  qnom:phase: 1\n", encoding="utf-8")
    original = Path.read_text

    def refuse(path, *args, **kwargs):  # chmod 000 does not stop a root user, so the refusal is simulated
        if path == stack_file:
            raise PermissionError(13, "Permission denied", str(path))
        return original(path, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", refuse)
    result = run_cli(capsys, "plan", "--stack", "qa", "--stack-file", str(stack_file))
    assert_clean_refusal(result, f"Pulumi.qa.yaml: cannot read {stack_file} (Permission denied)")


def test_unknown_aws_region_is_refused(tmp_path, capsys):
    stack_file = tmp_path / "Pulumi.qa.yaml"
    stack_file.write_text("config:\n  aws:region: eu-west-9\n  qnom:phase: 1\n  qnom:environment: dev\n",
                          encoding="utf-8")
    result = run_cli(capsys, "plan", "--stack", "qa", "--stack-file", str(stack_file))
    assert_clean_refusal(result, "aws:region: got 'eu-west-9'; allowed values: us-east-1, us-east-2,",
                         "(the stack's primary region)")


def test_an_override_contradicting_aws_region_is_refused(tmp_path, capsys):
    """aws:region is never silently ignored: a rename of the primary that disagrees with it is refused."""
    stack_file = tmp_path / "Pulumi.qa.yaml"
    stack_file.write_text("config:\n  aws:region: eu-west-1\n  qnom:phase: 1\n  qnom:environment: dev\n"
                          "  qnom:overrides:\n    regions:\n      eu-west-1: {name: eu-central-1}\n", encoding="utf-8")
    result = run_cli(capsys, "plan", "--stack", "qa", "--stack-file", str(stack_file))
    assert_clean_refusal(result, "qnom:overrides.regions: these renames make eu-central-1 the primary region, "
                                 "but aws:region is eu-west-1")


def test_key_without_namespace_names_the_likely_key(tmp_path, capsys):
    stack_file = tmp_path / "Pulumi.qa.yaml"
    stack_file.write_text("config:\n  qnom:phase: 1\n  qnom-domain: api.example.com\n", encoding="utf-8")
    result = run_cli(capsys, "plan", "--stack", "qa", "--stack-file", str(stack_file))
    assert_clean_refusal(result, "config.qnom-domain: keys are namespaced", "did you mean qnom:domain?")


@pytest.mark.parametrize(("key", "likely"), [
    ("qnm:domain", "qnom:domain"),
    ("qnomm:phase", "qnom:phase"),
    ("QNOM:Domain", "qnom:domain"),
    ("qnom-app:routing", "qnom:routing"),
    ("qnom-domain", "qnom:domain"),
    ("qnom_api_image", "qnom:apiImage"),
    ("qnom.plan-date", "qnom:planDate"),
    ("qnom:domain", None),       # ours
    ("aws:region", None),        # a namespace the program reads
    ("datadog:site", None),      # another provider's
    ("qnm:colour", None),        # looks like ours, but no key of ours is near
])
def test_likely_key(key, likely):
    assert likely_key(key) == likely


def test_lookalike_keys_warn_on_stderr(tmp_path, capsys):
    stack_file = tmp_path / "Pulumi.qa.yaml"
    # qnom:environment is left out so the command stops at the settings, after the warning.
    stack_file.write_text("config:\n  qnom:phase: 1\n  qnm:domain: api.example.com\n  aws:region: us-east-1\n",
                          encoding="utf-8")
    result = run_cli(capsys, "plan", "--stack", "qa", "--stack-file", str(stack_file))
    assert_clean_refusal(result, "qnom: warning: Pulumi.qa.yaml: qnm:domain: not read", "did you mean qnom:domain?",
                         "qnom:environment: required setting is missing")
    assert result.stderr.count("warning") == 1


def test_no_warning_when_the_likely_key_is_set():
    assert lookalike_keys({"qnom:domain": "api.qnom.io", "qnm:domain": "api.qnom.io", "aws:region": "us-east-1"}) == []


# ----------------------------------------------------------------------------- policy config

@pytest.mark.parametrize(("config", "fragment"), [
    ({"log-group-retention": {"minimumDays": 0}},
     "log-group-retention.minimumDays: got 0; allowed values: an integer of at least 1 or null"),
    ({"rds-backup-retention": {"minimumDays": 36}},
     "rds-backup-retention.minimumDays: got 36; allowed values: an integer from 1 to 35 or null"),
    ({"asg-min-two-in-prod": {"minimum": "two"}},
     "asg-min-two-in-prod.minimum: got 'two'; allowed values: an integer of at least 1"),
    ({"capacity-within-phase-ceilings": {"headroomPercent": -10}},
     "capacity-within-phase-ceilings.headroomPercent: got -10; allowed values: a number of at least 0"),
    ({"sg-no-world-ingress-except-web": {"allowedPorts": [443, "ssh"]}},
     "sg-no-world-ingress-except-web.allowedPorts[1]: got 'ssh'; allowed values: an array of integer values"),
    ({"required-tags": {"enforcementLevel": ["mandatory"]}},
     "required-tags.enforcementLevel: got ['mandatory']; allowed values: advisory, mandatory"),
])
def test_invalid_policy_config_values(tmp_path, capsys, config, fragment):
    pack_config = tmp_path / "pack.json"
    pack_config.write_text(json.dumps(config), encoding="utf-8")
    result = run_cli(capsys, "policy", "--stack", "dev", "--policy-config", str(pack_config))
    assert_clean_refusal(result, "qnom: invalid policy config:\n", f"pack.json.{fragment}")


def test_non_utf8_policy_config(tmp_path, capsys):
    pack_config = tmp_path / "pack.json"
    pack_config.write_bytes(b'{"required-tags": "advisory", "x": "\xe9"}')
    result = run_cli(capsys, "policy", "--stack", "dev", "--policy-config", str(pack_config))
    assert_clean_refusal(result, "qnom: invalid policy config:", "pack.json: not UTF-8 text")


# ----------------------------------------------------------------------------- the command itself

def test_version(capsys):
    with pytest.raises(SystemExit) as stopped:
        run_cli(capsys, "--version")
    assert stopped.value.code == 0
    assert capsys.readouterr().out == f"qnom {__version__}\n"
    assert __version__ == "0.1.0"


def test_help_shows_examples_and_exit_codes(capsys):
    with pytest.raises(SystemExit) as stopped:
        run_cli(capsys, "--help")
    out = capsys.readouterr().out
    assert stopped.value.code == 0
    assert "examples:\n  python -m qnom plan --stack dev " in out
    assert "exit codes:\n  0    success" in out
    assert "  2    invalid arguments, stack name, stack file, settings or policy config" in out


@pytest.mark.parametrize("command", ["plan", "policy"])
def test_command_help_shows_exit_codes(capsys, command):
    with pytest.raises(SystemExit):
        run_cli(capsys, command, "--help")
    assert "exit codes:\n  0    success (policy: no mandatory rule failed)\n" in capsys.readouterr().out


def test_interrupt_is_not_a_traceback(capsys, monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(plan_command, "resolve_stack", interrupted)
    result = run_cli(capsys, "plan", "--stack", "dev")
    assert (result.returncode, result.stderr) == (130, "qnom: interrupted\n")


def test_runs_from_another_directory(tmp_path):
    """Run by its path, the package finds the project root: stack names resolve there."""
    result = subprocess.run([sys.executable, str(ROOT / "qnom"), "plan", "--stack", "nope"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert f"no stack file Pulumi.nope.yaml in {ROOT}; stacks: dev, prod" in result.stderr


def test_another_python_than_the_virtualenv(tmp_path):
    """-S leaves out site-packages: a Python without the requirements, as outside the virtualenv."""
    result = subprocess.run([sys.executable, "-S", "-m", "qnom", "--version"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "is not installed for" in result.stderr
    assert "use the project's virtualenv: `make plan`" in result.stderr
    assert "venv/bin/python -m qnom" in result.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_help_lists_every_target():
    result = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    listed = [line.split()[1] for line in result.stdout.splitlines()]
    phony = next(line for line in (ROOT / "Makefile").read_text().splitlines() if line.startswith(".PHONY:"))
    assert listed == phony.split()[1:]
    assert "make plan     the dev stack's plan, offline (venv/bin/python -m qnom plan --stack dev)" in result.stdout
