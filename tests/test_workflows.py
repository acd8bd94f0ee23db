"""The GitHub workflows: pinned actions, no persisted Git token, credentials only where an
environment (and its approval) guards them, and previews that cannot change anything."""

from __future__ import annotations

import re
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
    assert {path.name for path in WORKFLOWS.glob("*.yml")} == {"deploy.yml", "pull-request.yml"}


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


def test_deploy_jobs_run_in_their_environment():
    jobs = _load("deploy.yml")["jobs"]
    deploying = {job_id: _environments(job) for job_id, job in jobs.items() if _runs_pulumi(job, "up")}
    assert deploying == {"dev": ["dev"], "prod": ["production"]}
    assert jobs["prod"]["needs"] in ("dev", ["dev"])
    for job in jobs.values():
        assert "needs.credentials" not in yaml.safe_dump(job)


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
