"""Test helpers: plans built through the offline engine (one run per distinct setting: see run_cache)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from phases.settings import PLAN_DATE_KEY, settings_from_config
from qnom.engine import ProgramRun, RecordedResource, run_program

PLAN_DATE = date(2025, 11, 1)
PROD_DOMAIN = "api.qnom.io"
"""The committed prod stack's `qnom:domain`."""
"""The day test plans are built as of (`qnom:planDate`): a Saturday outside every seasonal
window, four weeks before Black Friday 2025."""


@dataclass(frozen=True)
class Plan:
    """A recorded program run with finders for assertions."""

    run: ProgramRun

    @property
    def resources(self) -> list[RecordedResource]:
        return self.run.resources

    def of_type(self, resource_type: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == resource_type]

    def named(self, name: str, resource_type: str | None = None) -> RecordedResource:
        found = [r for r in self.resources if r.name == name and (resource_type is None or r.type == resource_type)]
        assert len(found) == 1, f"expected one resource named {name!r}, found {len(found)}"
        return found[0]

    def children_of(self, parent: RecordedResource) -> list[RecordedResource]:
        return [r for r in self.resources if r.parent == parent.urn]

    def enclosing_region(self, resource: RecordedResource) -> str | None:
        return self.run.enclosing_region(resource)

    def region_of(self, resource: RecordedResource) -> str | None:
        return self.run.region_of(resource)

    @property
    def outputs(self) -> dict[str, Any]:
        return self.run.outputs


def stack_config(environment: str = "prod", phase: int | str = 2, overrides: dict | None = None,
                 plan_date: date | None = PLAN_DATE, **settings: Any) -> dict[str, Any]:
    """A stack's config; `plan_date` None leaves `qnom:planDate` unset (the program's today).

    A prod stack serves the committed prod stack's domain unless `domain` says otherwise
    (`domain=None`: no domain), so the tests plan what `Pulumi.prod.yaml` deploys and share its runs.
    """
    if environment == "prod":
        settings = {"domain": PROD_DOMAIN, **settings}
    settings = {key: value for key, value in settings.items() if value is not None}
    config = {"aws:region": "us-east-1", "qnom:phase": phase, "qnom:environment": environment}
    if overrides:
        config["qnom:overrides"] = overrides
    if plan_date is not None:
        config[PLAN_DATE_KEY] = plan_date.isoformat()
    config.update({f"qnom:{key}": value for key, value in settings.items()})
    return config


def build(environment: str = "prod", phase: int | str = 2, overrides: dict | None = None,
          plan_date: date | None = PLAN_DATE, **settings: Any) -> Plan:
    """Runs the real program offline for one stack setting as of `plan_date` (the session's
    run cache serves repeats)."""
    return Plan(run_program(environment, stack_config(environment, phase, overrides, plan_date, **settings)))


def settings_for(environment: str = "prod", phase: int | str = 2, overrides: dict | None = None,
                 plan_date: date | None = PLAN_DATE, **settings: Any):
    return settings_from_config(stack_config(environment, phase, overrides, plan_date, **settings),
                                stack=environment)


@dataclass(frozen=True)
class CliResult:
    """What `python -m qnom ...` gives back, run in-process."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(capsys, *args: str) -> CliResult:
    """Runs the CLI's `main` in this process (no interpreter start, and the session's run cache)."""
    from qnom.cli import main

    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)

