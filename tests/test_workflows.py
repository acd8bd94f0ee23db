"""The GitHub workflows: pinned actions, no persisted Git token, credentials only where an
environment (and its approval) guards them, and previews that cannot change anything."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

from qnom.engine import PROJECT_DIR

WORKFLOWS = PROJECT_DIR / ".github" / "workflows"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"#\s*v\d+\.\d+\.\d+\b")
DEPLOY_CREDENTIALS = ("AWS_ROLE_TO_ASSUME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


def _load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))


def _steps(workflow: dict):
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, step


def _environments(job: dict) -> list[str]:
    """The environment names a job runs in (a matrix expression resolved over its includes)."""
    environment = job.get("environment")
    if isinstance(environment, dict):
        environment = environment.get("name")
    if not isinstance(environment, str):
        return []
    match = re.fullmatch(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", environment)
    if match:
        return [entry[match.group(1)] for entry in job["strategy"]["matrix"]["include"]]
    return [environment]


def _runs_pulumi(job: dict, command: str) -> bool:
    return any(re.search(rf"\bpulumi {command}\b", step.get("run", "")) for step in job.get("steps", []))


@pytest.fixture(params=sorted(path.name for path in WORKFLOWS.glob("*.yml")))
def workflow_file(request) -> str:
    return request.param


def test_the_workflows_exist():
    assert {path.name for path in WORKFLOWS.glob("*.yml")} == {"deploy.yml", "drift.yml", "pull-request.yml"}


def test_every_action_is_pinned_to_a_commit_with_its_version(workflow_file):
    lines = (WORKFLOWS / workflow_file).read_text(encoding="utf-8").splitlines()
    uses_lines = [line for line in lines if re.match(r"^\s*(-\s+)?uses:", line)]
    assert uses_lines
    for line in uses_lines:
        reference = line.split("uses:", 1)[1].split("#", 1)[0].strip()
        assert PINNED.match(reference), line
        assert VERSION_COMMENT.search(line), f"no version comment: {line}"
    parsed = [step["uses"] for _, step in _steps(_load(workflow_file)) if "uses" in step]
    assert len(parsed) == len(uses_lines)


def test_checkouts_do_not_persist_the_git_token(workflow_file):
    checkouts = [step for _, step in _steps(_load(workflow_file)) if step.get("uses", "").startswith("actions/checkout@")]
    assert checkouts
    for step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False


def test_secrets_are_read_only_in_jobs_that_name_an_environment(workflow_file):
    # Environment-scoped secrets are invisible to a job without `environment:`: a check there
    # always finds nothing. Credentials are checked in the job that uses them.
    for job_id, job in _load(workflow_file)["jobs"].items():
        if "secrets." in yaml.safe_dump(job):
            assert _environments(job), job_id
            first = job["steps"][0]
            assert first.get("id") == "credentials", job_id
            gated = [step for step in job["steps"][1:]
                     if "secrets." in yaml.safe_dump(step) or re.search(r"\bpulumi (up|preview)\b", step.get("run", ""))]
            assert gated, job_id
            for step in gated:
                assert step.get("if") == "steps.credentials.outputs.available == 'true'", (job_id, step)


def test_deploy_jobs_run_in_their_environment_and_never_wait_for_each_other():
    workflow = _load("deploy.yml")
    jobs = workflow["jobs"]
    deploying = {job_id: _environments(job) for job_id, job in jobs.items() if _runs_pulumi(job, "up")}
    assert deploying == {"deploy": ["dev"], "apply": ["production"]}
    # prod no longer follows dev: each chain needs only the stack list (and apply its own plan).
    assert jobs["deploy"]["needs"] == "stacks"
    assert jobs["preview"]["needs"] == "stacks"
    assert jobs["apply"]["needs"] == ["stacks", "preview"]
    # No run-wide lock: a prod plan waiting for approval holds only its own stack's group.
    assert "concurrency" not in workflow
    for job_id in ("deploy", "preview", "apply"):
        assert jobs[job_id]["concurrency"] == {"group": "deploy-${{ matrix.stack }}", "cancel-in-progress": False}
    for job in jobs.values():
        assert "needs.credentials" not in yaml.safe_dump(job)


def test_the_deploy_matrices_come_from_the_stack_files():
    jobs = _load("deploy.yml")["jobs"]
    assert jobs["deploy"]["strategy"]["matrix"] == {"stack": "${{ fromJSON(needs.stacks.outputs.direct) }}"}
    assert jobs["preview"]["strategy"]["matrix"] == {"stack": "${{ fromJSON(needs.stacks.outputs.approved) }}"}
    assert jobs["apply"]["strategy"]["matrix"] == {"stack": "${{ fromJSON(needs.stacks.outputs.approved) }}"}
    for job_id in ("deploy", "preview", "apply"):
        text = yaml.safe_dump(jobs[job_id])
        assert "--stack dev" not in text and "--stack prod" not in text, job_id


def test_prod_applies_exactly_the_plan_shown_before_the_approval():
    jobs = _load("deploy.yml")["jobs"]
    preview, apply = jobs["preview"], jobs["apply"]
    # The plan is made before any approval, with a role that cannot change the account.
    assert _environments(preview) == ["production-preview"]
    [configure] = [step for step in preview["steps"] if step.get("uses", "").startswith("aws-actions/")]
    assert set(configure["with"]) == {"role-to-assume", "aws-region"}
    assert configure["with"]["role-to-assume"] == "${{ secrets.AWS_PREVIEW_ROLE_TO_ASSUME }}"
    assert not _runs_pulumi(preview, "up")
    [previewing] = [step for step in preview["steps"] if "pulumi preview" in step.get("run", "")]
    assert ("pulumi preview --stack \"$STACK\" --policy-pack policy --save-plan plan.json"
            in " ".join(previewing["run"].replace("\\\n", " ").split()))
    assert '>> "$GITHUB_STEP_SUMMARY"' in previewing["run"] and "set -uo pipefail" in previewing["run"]
    [upload] = [step for step in preview["steps"] if step.get("uses", "").startswith("actions/upload-artifact@")]
    assert upload["with"]["name"] == "plan-${{ matrix.stack }}"
    assert "plan.json" in upload["with"]["path"].split() and upload["with"]["if-no-files-found"] == "error"
    assert preview["steps"].index(upload) > preview["steps"].index(previewing)
    # The approved job downloads that artifact and applies only it.
    [download] = [step for step in apply["steps"] if step.get("uses", "").startswith("actions/download-artifact@")]
    assert download["with"]["name"] == upload["with"]["name"]
    ups = [step["run"] for step in apply["steps"] if re.search(r"\bpulumi up\b", step.get("run", ""))]
    assert ups == ['pulumi up --stack "$STACK" --plan plan.json --policy-pack policy --yes --non-interactive --diff']
    assert not _runs_pulumi(apply, "preview")
    assert [step for step in apply["steps"] if step.get("run") == ups[0]][0] is apply["steps"][-1]
    assert apply["steps"].index(download) < len(apply["steps"]) - 1


def _list_stacks(workflow: str, directory: Path, output: Path) -> dict[str, list[str]]:
    [step] = [step for step in _load(workflow)["jobs"]["stacks"]["steps"] if step.get("id") == "list"]
    output.write_text("", encoding="utf-8")
    result = subprocess.run(["bash", "-c", step["run"]], cwd=directory, capture_output=True, text=True,
                            env={**os.environ, "GITHUB_OUTPUT": str(output)})
    assert result.returncode == 0, result.stderr
    return {key: json.loads(value) for key, value in
            (line.split("=", 1) for line in output.read_text(encoding="utf-8").splitlines())}


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed (GitHub's runners have it)")
def test_the_stack_list_reads_every_stack_file_and_its_profile(tmp_path):
    output = tmp_path / "github-output"
    # The committed stack files: staging deploys directly like dev, only the prod profile waits for approval.
    assert _list_stacks("deploy.yml", PROJECT_DIR, output) == {
        "all": ["dev", "prod", "staging"], "direct": ["dev", "staging"], "approved": ["prod"]}
    project = tmp_path / "project"
    project.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml"):
        shutil.copy(PROJECT_DIR / name, project / name)
    (project / "Pulumi.eu.yaml").write_text('config:\n  qnom:phase: "3"\n  qnom:environment: "prod"\n', encoding="utf-8")
    (project / "Pulumi.qa.yaml").write_text("config:\n  qnom:phase: 1\n  qnom:environment: dev\n", encoding="utf-8")
    assert _list_stacks("drift.yml", project, output) == {"all": ["dev", "eu", "prod", "qa"], "direct": ["dev", "qa"],
                                                   "approved": ["eu", "prod"]}


def test_deploy_and_drift_list_the_stacks_with_the_same_step():
    [deploy] = [s for s in _load("deploy.yml")["jobs"]["stacks"]["steps"] if s.get("id") == "list"]
    [drift] = [s for s in _load("drift.yml")["jobs"]["stacks"]["steps"] if s.get("id") == "list"]
    assert deploy["run"] == drift["run"]


def test_the_pulumi_cli_is_pinned_to_the_sdk_version(workflow_file):
    sdk = re.search(r"^pulumi==([\d.]+)$", (PROJECT_DIR / "requirements.txt").read_text(encoding="utf-8"), re.M)[1]
    workflow = _load(workflow_file)
    for job_id, job in workflow["jobs"].items():
        if _runs_pulumi(job, "(up|preview)"):
            installs = [step for step in job["steps"] if step.get("uses", "").startswith("pulumi/actions@")]
            assert len(installs) == 1, job_id
            assert installs[0]["with"] == {"pulumi-version": sdk}, job_id


def _check_credentials(job: dict, **secrets: str) -> str:
    step = job["steps"][0]
    with tempfile.TemporaryDirectory() as directory:
        output = Path(directory) / "github-output"
        environment = {"PATH": os.environ["PATH"], "GITHUB_OUTPUT": str(output),
                       **{name: "" for name in BACKEND_SECRETS}, **secrets}
        script = re.sub(r"\$\{\{.*?\}\}", "expression", step["run"])  # GitHub fills these in first
        subprocess.run(["bash", "-e", "-c", script], env=environment, check=True, capture_output=True)
        return output.read_text(encoding="utf-8").strip()


BACKEND_SECRETS = ("PULUMI_ACCESS_TOKEN", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE")


def test_pulumi_cloud_or_a_self_managed_backend(workflow_file):
    for job_id, job in _load(workflow_file)["jobs"].items():
        if not _runs_pulumi(job, "(up|preview)"):
            continue
        assert {name: job["env"][name] for name in BACKEND_SECRETS} == {
            name: f"${{{{ secrets.{name} }}}}" for name in BACKEND_SECRETS}, job_id
        aws = {"AWS_PREVIEW_ROLE_TO_ASSUME" if "PREVIEW_ROLE" in job["steps"][0]["run"] else "AWS_ROLE_TO_ASSUME": "arn"}
        available = "available=true"
        assert _check_credentials(job, PULUMI_ACCESS_TOKEN="pul-x", **aws) == available, job_id
        assert _check_credentials(job, PULUMI_BACKEND_URL="s3://state", PULUMI_CONFIG_PASSPHRASE="p", **aws) == available
        assert _check_credentials(job, PULUMI_BACKEND_URL="s3://state", PULUMI_ACCESS_TOKEN="pul-x", **aws) != available
        assert _check_credentials(job, PULUMI_ACCESS_TOKEN="pul-x") != available
        # The login picks the backend, after the AWS credentials (an S3 backend needs them) and
        # before the first pulumi command.
        runs = [step.get("run", "") for step in job["steps"]]
        [login] = [i for i, run in enumerate(runs) if "pulumi login" in run]
        assert 'pulumi login "$PULUMI_BACKEND_URL"; else pulumi login; fi' in runs[login]
        configure = [i for i, step in enumerate(job["steps"]) if step.get("uses", "").startswith("aws-actions/")]
        first = min(i for i, run in enumerate(runs) if re.search(r"^\s*pulumi (up|preview)\b", run, re.M))
        assert configure[0] < login < first, job_id


def test_the_drift_check_runs_on_a_schedule_fails_visibly_and_opens_nothing():
    workflow = _load("drift.yml")
    assert [entry["cron"] for entry in workflow[True]["schedule"]] == ["17 6 * * *"]  # YAML reads `on` as True
    assert workflow["permissions"] == {"contents": "read"}
    drift = workflow["jobs"]["drift"]
    assert drift["strategy"]["matrix"] == {"stack": "${{ fromJSON(needs.stacks.outputs.all) }}"}
    assert drift["permissions"] == {"contents": "read", "id-token": "write"}
    assert _environments(drift) == ["drift"]
    [check] = [step["run"] for step in drift["steps"] if "pulumi preview" in step.get("run", "")]
    assert ('pulumi preview --stack "$STACK" --refresh --expect-no-changes'
            in " ".join(check.replace("\\\n", " ").split()))
    assert 'exit "$status"' in check and "::error " in check and "set -uo pipefail" in check
    assert not _runs_pulumi(drift, "up")
    text = (WORKFLOWS / "drift.yml").read_text(encoding="utf-8")
    for opener in ("issues", "pull-requests", "gh issue", "github-script", "create-issue"):
        assert opener not in text, opener
    [configure] = [step for step in drift["steps"] if step.get("uses", "").startswith("aws-actions/")]
    assert configure["with"] == {"role-to-assume": "${{ secrets.AWS_PREVIEW_ROLE_TO_ASSUME }}", "aws-region": "us-east-1"}


def test_previews_use_a_read_only_role_and_prod_waits_for_approval():
    workflow = _load("pull-request.yml")
    previews = {job_id: job for job_id, job in workflow["jobs"].items() if _runs_pulumi(job, "preview")}
    assert previews
    for job_id, job in workflow["jobs"].items():
        assert not _runs_pulumi(job, "up"), job_id
        text = yaml.safe_dump(job)
        for name in DEPLOY_CREDENTIALS:
            assert f"secrets.{name}" not in text, (job_id, name)
    [preview] = previews.values()
    assert _environments(preview) == ["dev-preview", "prod-preview"]
    assert [entry["stack"] for entry in preview["strategy"]["matrix"]["include"]] == ["dev", "prod"]
    [configure] = [step for step in preview["steps"]
                   if step.get("uses", "").startswith("aws-actions/configure-aws-credentials@")]
    assert configure["with"]["role-to-assume"] == "${{ secrets.AWS_PREVIEW_ROLE_TO_ASSUME }}"
    assert set(configure["with"]) == {"role-to-assume", "aws-region"}


def test_the_pull_request_workflow_documents_the_preview_role():
    header = (WORKFLOWS / "pull-request.yml").read_text(encoding="utf-8").split("\nname:", 1)[0]
    assert "AWS_PREVIEW_ROLE_TO_ASSUME" in header and "read-only" in header and "prod-preview" in header


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_shellcheck_finds_no_warning_in_the_run_steps(workflow_file, tmp_path):
    paths = []
    for job_id, step in _steps(_load(workflow_file)):
        if "run" in step:
            path = tmp_path / f"{job_id}-{len(paths)}.sh"
            # GitHub fills in the expressions before bash reads the script.
            path.write_text("#!/bin/bash\n" + re.sub(r"\$\{\{.*?\}\}", "expression", step["run"]), encoding="utf-8")
            paths.append(str(path))
    result = subprocess.run(["shellcheck", "--severity=warning", *paths], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_the_readme_documents_every_environment_and_secret_the_workflows_use():
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    for path in WORKFLOWS.glob("*.yml"):
        workflow = _load(path.name)
        for job in workflow["jobs"].values():
            for environment in _environments(job):
                assert f"`{environment}`" in readme, (path.name, environment)
        for secret in set(re.findall(r"secrets\.(\w+)", path.read_text(encoding="utf-8"))):
            assert f"`{secret}`" in readme, (path.name, secret)
    assert "pulumi up --plan plan.json" in readme and "--refresh\n--expect-no-changes" in readme
