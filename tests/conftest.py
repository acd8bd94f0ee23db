"""Shared test setup: plans are built on a pinned date, and each distinct run once per session.

The program reads the date once (`components.schedule.today`) to date the seasonal
scaling windows; on a window's day it also sizes the API group for the surge. Pinning the
date for the whole session keeps every plan, and every literal size asserted on it, the
same on any day the suite runs. A test that needs another date monkeypatches it again.

The engine's run cache (`tests/run_cache.py`) then serves every test that plans the same
settings on the same date from one run, shared by the xdist workers.
"""

from __future__ import annotations

import os
from datetime import date

import pytest

from components import schedule as traffic
from qnom import engine
from tests.run_cache import SharedRunCache

PINNED_DATE = date(2025, 11, 1)
"""A Saturday outside every seasonal window, four weeks before Black Friday 2025."""


@pytest.fixture(autouse=True, scope="session")
def pinned_schedule_date():
    original = traffic.today
    traffic.today = lambda time_zone: PINNED_DATE
    yield PINNED_DATE
    traffic.today = original


@pytest.fixture(autouse=True, scope="session")
def shared_program_runs(pinned_schedule_date, tmp_path_factory):
    # Under xdist each worker's temporary root sits in the session's common one; without
    # xdist the session's own root is the common one. Either way it is new each session.
    session_root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        session_root = session_root.parent
    engine.set_run_cache(SharedRunCache(session_root / "program-runs"))
    yield
    engine.set_run_cache(None)
