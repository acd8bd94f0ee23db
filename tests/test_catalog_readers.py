"""Every field of the phase catalog's models is read by a component or a command.

A field is read when some module of `components/`, `qnom/`, `policy/` or `phases/` accesses it as an
attribute (`.field`): data nothing reads is a promise nobody keeps. Blocks whose readers arrive with
their own issue are listed in PENDING; each listed field must still be unread, so a reader that
lands without shrinking the list fails here too.
"""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel

import phases.models as models
from qnom.engine import PROJECT_DIR

READER_PACKAGES = ("components", "qnom", "policy", "phases")
# Model -> fields, with the issue that brings their readers (Kubernetes: 12; alarms, budgets: 13).
PENDING = {
    "Kubernetes": {"services"},
    "ServiceSize": {"cpu", "memory"},
    "Hpa": {"cpu_utilization_percent", "memory_utilization_percent", "requests_per_second_per_pod"},
    "ScaleBehavior": {"stabilization_window_seconds", "policies", "select_policy"},
    "ScalePolicy": {"period_seconds"},
    "Monitoring": {"response_time_ms", "error_rate_percent", "availability_percent", "cpu_utilization_percent",
                   "memory_utilization_percent", "connections_percent", "queue_depth_messages", "alerts"},
    "Threshold": {"target", "critical"},
    "Alert": {"condition", "duration", "action"},
    "Phase": {"monitoring"},
    "Budget": {"warning_ratio", "daily_anomaly_factor"},
}


def _sources() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for package in READER_PACKAGES
                     for path in sorted((PROJECT_DIR / package).rglob("*.py")))


SOURCES = _sources()
FIELDS = sorted((name, field) for name, model in vars(models).items()
                if isinstance(model, type) and issubclass(model, BaseModel) and model.__module__ == models.__name__
                for field in model.model_fields)


def _read(field: str) -> bool:
    return re.search(rf"\.{re.escape(field)}\b", SOURCES) is not None


@pytest.mark.parametrize(("model", "field"), [pair for pair in FIELDS if pair[1] not in PENDING.get(pair[0], ())],
                         ids=[f"{m}.{f}" for m, f in FIELDS if f not in PENDING.get(m, ())])
def test_every_catalog_field_has_a_reader(model, field):
    assert _read(field), f"phases.models.{model}.{field}: nothing in {', '.join(READER_PACKAGES)} reads it"


def test_pending_fields_exist_and_are_still_unread():
    known = set(FIELDS)
    for model, fields in PENDING.items():
        for field in fields:
            assert (model, field) in known, f"{model}.{field} is no longer in the catalog: drop it from PENDING"
            assert not _read(field), f"{model}.{field} has a reader now: drop it from PENDING"


def test_the_human_view_reads_the_phase_audience_and_budget():
    assert _read("users") and _read("monthly_usd")
