"""Every field of the phase catalog's models is read by a component or a command.

A field is read when some module of `components/`, `qnom/`, `policy/` or `phases/` accesses it as an
attribute (`.field`): data nothing reads is a promise nobody keeps. The models' own module counts only
through the methods and properties another module uses (`weekend_capacity()`, `major_version`): a
validator that checks a field's value is not a reader of it. Blocks arrive in the catalog with their
readers (docs/architecture.md, "Catalog blocks arrive with their readers").
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

import phases.models as models
from qnom.engine import PROJECT_DIR

READER_PACKAGES = ("components", "qnom", "policy", "phases")
MODELS_FILE = Path(models.__file__).resolve()
VALIDATORS = {"field_validator", "model_validator"}


def _accessed(name: str, text: str) -> bool:
    return re.search(rf"\.{re.escape(name)}\b", text) is not None


def _is_validator(function: ast.FunctionDef) -> bool:
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Name) and target.id in VALIDATORS:
            return True
    return False


def model_readers(source: str, elsewhere: str) -> str:
    """The text of the models' methods and properties that read on behalf of other modules.

    A method counts once `elsewhere` (or a method already counted) uses it; validators never count,
    nor do the module's plain functions, which only validators call.
    """
    methods = [node for cls in ast.parse(source).body if isinstance(cls, ast.ClassDef)
               for node in cls.body if isinstance(node, ast.FunctionDef) and not _is_validator(node)]
    used: list[str] = []
    pending = list(methods)
    while True:
        found = [method for method in pending if _accessed(method.name, "\n".join([elsewhere, *used]))]
        if not found:
            return "\n".join(used)
        used += [ast.get_source_segment(source, method) for method in found]
        pending = [method for method in pending if method not in found]


def _elsewhere() -> str:
    paths = [path for package in READER_PACKAGES for path in sorted((PROJECT_DIR / package).rglob("*.py"))]
    return "\n".join(path.read_text(encoding="utf-8") for path in paths if path.resolve() != MODELS_FILE)


MODELS_SOURCE = MODELS_FILE.read_text(encoding="utf-8")
ELSEWHERE = _elsewhere()
SOURCES = ELSEWHERE + "\n" + model_readers(MODELS_SOURCE, ELSEWHERE)
FIELDS = sorted((name, field) for name, model in vars(models).items()
                if isinstance(model, type) and issubclass(model, BaseModel) and model.__module__ == models.__name__
                for field in model.model_fields)


def _read(field: str) -> bool:
    return _accessed(field, SOURCES)


@pytest.mark.parametrize(("model", "field"), FIELDS, ids=[f"{m}.{f}" for m, f in FIELDS])
def test_every_catalog_field_has_a_reader(model, field):
    assert _read(field), f"phases.models.{model}.{field}: nothing in {', '.join(READER_PACKAGES)} reads it"


SAMPLE = '''
class Window(Model):
    low: int
    high: int

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.low > self.high:
            raise ValueError("low must be <= high")
        return self

    def width(self) -> int:
        return self.high - self.low
'''


def test_a_models_own_validator_is_no_reader():
    assert not _accessed("low", model_readers(SAMPLE, elsewhere=""))
    counted = model_readers(SAMPLE, elsewhere="size = window.width()")
    assert _accessed("low", counted) and _accessed("high", counted)


def test_a_model_method_reads_for_the_component_that_calls_it():
    # weekend_factor is read only inside TrafficSchedule.weekend_capacity(), which the schedule uses.
    assert _read("weekend_factor")
    uncalled = ELSEWHERE.replace(".weekend_capacity(", ".other_method(")
    assert not _accessed("weekend_factor", uncalled + model_readers(MODELS_SOURCE, uncalled))


def test_the_human_view_reads_the_phase_audience_and_budget():
    assert _read("users") and _read("monthly_usd")
