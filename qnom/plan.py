"""Builds the `qnom.plan/v1` document (docs/plan-document.md, docs/schemas/) from a recorded program run."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from phases.settings import PLAN_DATE_KEY, StackSettings, settings_from_config
from qnom.engine import PROJECT_DIR, PROJECT_NAME, ProgramRun, run_program
from qnom.stackfile import read_stack_config, stack_file_path

SCHEMA = "qnom.plan/v1"


def load_config(stack: str, stack_file: Path | None = None, phase: str | int | None = None,
                plan_date: date | None = None) -> dict[str, Any]:
    """The stack's config, with `phase` and `plan_date` (when given) replacing `qnom:phase` and
    `qnom:planDate`."""
    config = read_stack_config(stack_file or stack_file_path(PROJECT_DIR, stack))
    if phase is not None:
        config["qnom:phase"] = phase
    if plan_date is not None:
        config[PLAN_DATE_KEY] = plan_date.isoformat()
    return config


def build_plan(stack: str, stack_file: Path | None = None, phase: str | int | None = None,
               plan_date: date | None = None, *, settings: StackSettings | None = None) -> dict[str, Any]:
    """Runs the program offline for `stack` (as of `plan_date`, default the stack's own) and
    returns the plan document.

    Settings are validated before the program runs, so invalid settings register nothing;
    `settings`, when the caller has already validated this same config, is not built twice.
    """
    config = load_config(stack, stack_file, phase, plan_date)
    settings = settings or settings_from_config(config, stack=stack)
    run = run_program(stack, config)
    return plan_document(run, environment=settings.environment,
                         phase={"number": settings.phase.number, "name": settings.phase.name},
                         regions=[region.name for region in settings.phase.regions])


def plan_document(run: ProgramRun, *, environment: str, phase: dict, regions: list[str]) -> dict[str, Any]:
    resources = [
        {
            "urn": resource.urn,
            "type": resource.type,
            "name": resource.name,
            "custom": resource.custom,
            "parent": resource.parent,
            "provider": resource.provider,
            "region": run.region_of(resource),
            "inputs": resource.inputs,
            "options": resource.options,
            "dependencies": resource.dependencies,
        }
        for resource in run.resources
    ]
    return {
        "schema": SCHEMA,
        "project": PROJECT_NAME,
        "stack": run.stack,
        "environment": environment,
        "phase": phase,
        "regions": regions,
        "resources": resources,
        "outputs": run.outputs,
        "summary": {
            "resourceCount": len(resources),
            "byType": dict(sorted(Counter(resource["type"] for resource in resources).items())),
        },
    }


def to_json(document: dict[str, Any] | list[dict[str, Any]]) -> str:
    """Deterministic JSON: sorted keys, stable separators, one trailing newline (a document, or
    the array of documents `qnom plan` prints for several phases)."""
    return json.dumps(document, sort_keys=True, indent=2) + "\n"


