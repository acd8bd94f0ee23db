"""Shared test setup: each distinct program run happens once per session.

Plans are built as of a fixed day: `tests/support.py` sets `qnom:planDate` (PLAN_DATE) in
every stack config it makes, so every plan, and every literal size asserted on it, is the
same on any day the suite runs; a test that plans another day passes that day. The engine's
run cache (`tests/run_cache.py`) then serves every test that plans the same settings from
one run, shared by the xdist workers. Each worker runs under the collector thresholds of a
program run (`qnom/collection.py`), as `python -m qnom` does.
"""

from __future__ import annotations

import gc
import os

import pytest

from qnom import engine
from qnom.collection import PROGRAM_THRESHOLDS
from tests.run_cache import SharedRunCache

gc.set_threshold(*PROGRAM_THRESHOLDS)


@pytest.fixture(autouse=True, scope="session")
def shared_program_runs(tmp_path_factory):
    # Under xdist each worker's temporary root sits in the session's common one; without
    # xdist the session's own root is the common one. Either way it is new each session.
    session_root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        session_root = session_root.parent
    engine.set_run_cache(SharedRunCache(session_root / "program-runs"))
    yield
    engine.set_run_cache(None)


def pytest_collection_finish(session):
    # Everything imported and collected so far lives as long as the worker: out of the collector's sight.
    gc.freeze()
