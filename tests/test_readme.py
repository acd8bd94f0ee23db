"""The README's commands and stack files run as it says.

Every fenced `sh` block is split into commands (a trailing `# ...` is a comment) and each command is
run or checked according to its program:
- `python -m qnom ...` (or the virtualenv's python) runs in-process and must exit 0. The day is the
  tests' plan date (`--date` is added where the README leaves it to today), so the plans are the ones
  the other tests build; a README line that names its own `--date` keeps it.
- `pulumi config set` lines of a block write the stack file `pulumi stack init` would create, so the
  block's own `qnom plan` reads what the README's commands configured.
- `pulumi ...`: the Pulumi CLI is not installed where the tests run, so each line is checked against
  the commands and flags of the Pulumi CLI v3 reference (pulumi.com/docs/iac/cli/commands/).
- `make <target>` must be a target of the Makefile (`make -n`, which runs nothing).
- `aws eks update-kubeconfig` and `kubectl` need a running cluster: the cluster, namespace and
  objects they name must be ones the prod stack declares in phase 3.
Every `$ python -m qnom ...` line of a `text` block runs the same way, and each line the README
shows under it must be among the lines the command prints.
Every fenced `yaml` block holding `config:` is a stack file: it must plan, and pass `qnom policy`
with the `json` pack config that follows it in the README, if any (and fail without it when the
README says the policy needs it). A command of any other program fails the test, so nothing new in
the README goes unchecked.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from qnom.engine import PROJECT_DIR
from tests.support import PLAN_DATE, build, run_cli

README = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
BLOCKS = [(language, body) for language, body in FENCE.findall(README)]
SH_BLOCKS = [body for language, body in BLOCKS if language == "sh"]
README_STACK = "readme"

# Pulumi CLI v3 commands the README uses, with the flags each accepts (Pulumi docs, CLI reference:
# `pulumi login`, `pulumi stack init|select|rm`, `pulumi config set`, `pulumi preview`, `pulumi up`,
# `pulumi refresh`, `pulumi destroy`, `pulumi state unprotect`, `pulumi stack output`).
COMMON_FLAGS = {"--stack", "-s", "--yes", "-y", "--non-interactive"}
PULUMI_COMMANDS: dict[tuple[str, ...], set[str]] = {
    ("login",): {"--local", "--cloud-url"},
    ("stack", "init"): {"--secrets-provider"},
    ("stack", "select"): {"--create"},
    ("stack", "rm"): {"--force"},
    ("stack", "output"): {"--json", "--show-secrets"},
    ("config", "set"): {"--secret", "--path", "--plaintext"},
    ("preview",): {"--policy-pack", "--policy-pack-config", "--save-plan", "--refresh", "--expect-no-changes",
                   "--diff", "--json"},
    ("up",): {"--policy-pack", "--policy-pack-config", "--plan", "--refresh", "--diff", "--skip-preview"},
    ("refresh",): {"--preview-only", "--expect-no-changes"},
    ("destroy",): {"--remove"},
    ("state", "unprotect"): {"--all"},
}


def _commands(block: str) -> list[list[str]]:
    commands = []
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        if words:
            commands.append(words)
    return commands


def _qnom_args(words: list[str]) -> list[str] | None:
    """The CLI arguments of a `python -m qnom ...` line, or None for another program."""
    if len(words) > 2 and words[0] in ("python", "venv/bin/python") and words[1:3] == ["-m", "qnom"]:
        return words[3:]
    return None


DATED_COMMANDS = ("plan", "policy", "promote", "render", "cost", "surge", "capacity")
"""Commands that plan, and so take `--date` (today may be a seasonal window's day, which changes the plan)."""
WRITING_COMMANDS = ("promote", "surge")
"""Commands that may write the stack file (`--yes`, `surge on`): they get a copy of it."""
COVERED_ELSEWHERE = {"--gradual": "tests/test_promote_gradual.py"}
"""Flags whose command plans several new stacks (four weekly phase-3 plans): their own test module
runs the command, so this one does not plan them twice."""


def _with_date(args: list[str]) -> list[str]:
    if args[:1] and args[0] in DATED_COMMANDS and "--date" not in args:
        return [*args, "--date", PLAN_DATE.isoformat()]
    return args


def _stack_file(config: dict, tmp_path: Path, name: str = README_STACK) -> Path:
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump({"config": config}), encoding="utf-8")
    return path


def _copy_of_stack_file(stack: str, tmp_path: Path) -> Path:
    """The project's stack file copied under `tmp_path`, for a command that writes into its stack file."""
    copy = tmp_path / f"Pulumi.{stack}.yaml"
    copy.write_text((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    return copy


def _qnom_cases() -> list[tuple[int, list[str], dict]]:
    """(block, CLI arguments, the config `pulumi config set` gave the block's stack so far)."""
    cases = []
    for index, block in enumerate(SH_BLOCKS):
        configured: dict = {}
        for words in _commands(block):
            if words[:3] == ["pulumi", "config", "set"]:
                configured[words[3]] = words[4]
            args = _qnom_args(words)
            if args is not None:
                cases.append((index, args, dict(configured)))
    return cases


QNOM_CASES = _qnom_cases()


def test_the_readme_has_commands_to_run():
    assert len(QNOM_CASES) >= 12
    assert any(args[:1] == ["policy"] for _, args, _ in QNOM_CASES)


@pytest.mark.parametrize(("block", "args", "configured"), QNOM_CASES,
                         ids=[" ".join(args) for _, args, _ in QNOM_CASES])
def test_each_qnom_command_exits_0(block, args, configured, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(PROJECT_DIR)  # the README's relative paths are relative to the project root
    covered = [flag for flag in COVERED_ELSEWHERE if flag in args]
    if covered:
        # That module runs the same command through the CLI.
        assert f'"{args[0]}"' in (PROJECT_DIR / COVERED_ELSEWHERE[covered[0]]).read_text(encoding="utf-8")
        assert f'"{covered[0]}"' in (PROJECT_DIR / COVERED_ELSEWHERE[covered[0]]).read_text(encoding="utf-8")
        return
    args = _with_date(args)
    stack = args[args.index("--stack") + 1] if "--stack" in args else None
    if configured and stack is not None and "--stack-file" not in args:
        # The block created this stack with `pulumi stack init` and `pulumi config set`.
        args = [*args, "--stack-file", str(_stack_file(configured, tmp_path, stack))]
    elif args[0] in WRITING_COMMANDS and stack is not None and "--stack-file" not in args:
        args = [*args, "--stack-file", str(_copy_of_stack_file(stack, tmp_path))]
    stack_files = {path: path.read_bytes() for path in PROJECT_DIR.glob("Pulumi*.yaml")}
    result = run_cli(capsys, *args)
    assert result.returncode == 0, result.stderr + result.stdout[-2000:]
    assert "Traceback" not in result.stderr
    assert {path: path.read_bytes() for path in PROJECT_DIR.glob("Pulumi*.yaml")} == stack_files


PULUMI_LINES = [words for block in SH_BLOCKS for words in _commands(block) if words[0] == "pulumi"]


@pytest.mark.parametrize("words", PULUMI_LINES, ids=[" ".join(words) for words in PULUMI_LINES])
def test_each_pulumi_command_is_one_the_cli_has(words):
    command = next((key for key in sorted(PULUMI_COMMANDS, key=len, reverse=True)
                    if tuple(words[1:1 + len(key)]) == key), None)
    assert command is not None, f"not a Pulumi CLI command this test knows: {' '.join(words)}"
    flags = {word.split("=", 1)[0] for word in words if word.startswith("-")}
    unknown = flags - PULUMI_COMMANDS[command] - COMMON_FLAGS
    assert not unknown, f"pulumi {' '.join(command)} has no flag {sorted(unknown)}"
    if "--policy-pack" in words:
        assert (PROJECT_DIR / words[words.index("--policy-pack") + 1] / "PulumiPolicy.yaml").is_file()
    for flag in ("--policy-pack-config",):
        if flag in words:
            assert (PROJECT_DIR / words[words.index(flag) + 1]).is_file()


def test_every_command_is_checked_by_one_of_these_tests():
    programs = {words[0] for block in SH_BLOCKS for words in _commands(block)}
    checked = {"python", "venv/bin/python", "pulumi", "make", "aws", "kubectl"}
    assert programs <= checked, f"README commands nobody checks: {sorted(programs - checked)}"
    others = [words for block in SH_BLOCKS for words in _commands(block)
              if words[0] in ("python", "venv/bin/python") and _qnom_args(words) is None]
    assert others == []


MAKE_LINES = [words for block in SH_BLOCKS for words in _commands(block) if words[0] == "make"]


@pytest.mark.parametrize("words", MAKE_LINES, ids=[" ".join(words) for words in MAKE_LINES])
def test_each_make_target_exists(words):
    result = subprocess.run(["make", "-n", *words[1:]], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def _stack_files() -> list[tuple[str, str | None]]:
    """Each `config:` YAML block and the JSON pack config block right after it (None without one)."""
    found = []
    for position, (language, body) in enumerate(BLOCKS):
        if language == "yaml" and body.lstrip().startswith("config:"):
            following = BLOCKS[position + 1] if position + 1 < len(BLOCKS) else ("", "")
            found.append((body, following[1] if following[0] == "json" else None))
    return found


STACK_FILES = _stack_files()


def test_the_override_example_is_checked():
    assert any(pack_config for _, pack_config in STACK_FILES)


@pytest.mark.parametrize(("body", "pack_config"), STACK_FILES, ids=[f"stack-file-{i}" for i in range(len(STACK_FILES))])
def test_each_stack_file_plans_and_passes_its_policy(body, pack_config, capsys, tmp_path):
    stack_file = tmp_path / f"Pulumi.{README_STACK}.yaml"
    stack_file.write_text(body, encoding="utf-8")
    common = ["--stack", README_STACK, "--stack-file", str(stack_file), "--date", PLAN_DATE.isoformat()]
    plan = run_cli(capsys, "plan", *common, "--summary")
    assert plan.returncode == 0, plan.stderr
    policy_args = ["policy", *common, "--json"]
    if pack_config is not None:
        config_file = tmp_path / "policy-config.json"
        config_file.write_text(pack_config, encoding="utf-8")
        # The README says this stack needs its pack config: without it, the capacity rule fails.
        without = json.loads(run_cli(capsys, *policy_args).stdout)
        assert {item["rule"] for item in without["violations"]} == {"capacity-within-phase-ceilings"}
        policy_args += ["--policy-config", str(config_file)]
    policy = run_cli(capsys, *policy_args)
    assert policy.returncode == 0, policy.stdout[-3000:]
    assert json.loads(policy.stdout)["summary"]["mandatoryViolations"] == 0


CLUSTER_LINES = [words for block in SH_BLOCKS for words in _commands(block) if words[0] in ("aws", "kubectl")]
KUBECTL_KINDS = {"deployment": "kubernetes:apps/v1:Deployment",
                 "hpa": "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
                 "service": "kubernetes:core/v1:Service", "pdb": "kubernetes:policy/v1:PodDisruptionBudget"}


@pytest.mark.parametrize("words", CLUSTER_LINES, ids=[" ".join(words) for words in CLUSTER_LINES])
def test_each_cluster_command_names_what_prod_declares_in_phase_3(words):
    plan = build("prod", 3)
    option = dict(zip(words[1:], words[2:]))
    if words[0] == "aws":
        assert words[1:3] == ["eks", "update-kubeconfig"]
        clusters = {(r.inputs["name"], plan.region_of(r)) for r in plan.resources if r.type == "aws:eks/cluster:Cluster"}
        assert (option["--name"], option["--region"]) in clusters
        return
    verb, kind, name = [word for word in words[1:] if word not in ("-n", option["-n"])]
    assert verb == "get"
    declared = {(r.inputs["metadata"].get("namespace"), r.inputs["metadata"]["name"])
                for r in plan.resources if r.type == KUBECTL_KINDS[kind]}
    assert (option["-n"], name) in declared



def _shown_commands() -> list[tuple[list[str], list[str]]]:
    """`$ python -m qnom ...` lines of the README's `text` blocks and the output shown under each."""
    found = []
    for language, body in BLOCKS:
        if language != "text":
            continue
        current = None
        for line in body.splitlines():
            if line.startswith("$ "):
                current = (line[2:], [])
                found.append(current)
            elif current is not None and line.strip() not in ("", "..."):
                current[1].append(line.rstrip())
    return [(command.split(" | ")[0].split(), output) for command, output in found]


SHOWN = _shown_commands()


@pytest.mark.parametrize(("words", "shown"), SHOWN, ids=[" ".join(words) for words, _ in SHOWN])
def test_each_shown_command_prints_what_the_readme_shows(words, shown, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(PROJECT_DIR)
    args = _qnom_args(words)
    assert args is not None, words
    if any(flag in args for flag in COVERED_ELSEWHERE):
        return  # run by its own module (see test_each_qnom_command_exits_0)
    if args[0] in WRITING_COMMANDS:
        stack = args[args.index("--stack") + 1]
        args = [*args, "--stack-file", str(_copy_of_stack_file(stack, tmp_path))]
    result = run_cli(capsys, *_with_date(args))
    assert result.returncode == 0, result.stderr
    printed = [line.rstrip() for line in result.stdout.splitlines()]
    missing = [line for line in shown if line not in printed]
    assert missing == [], f"the README shows lines the command does not print: {missing[:3]} in {printed}"
