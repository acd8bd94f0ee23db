"""Shared test setup: plans are built on a pinned date.

The program reads the date once (`components.schedule.today`) to date the seasonal
scaling windows; on a window's day it also sizes the API group for the surge. Pinning the
date for the whole session keeps every plan, and every literal size asserted on it, the
same on any day the suite runs. A test that needs another date monkeypatches it again.
"""

from __future__ import annotations

from datetime import date

import pytest

from components import schedule as traffic

PINNED_DATE = date(2025, 11, 1)
"""A Saturday outside every seasonal window, four weeks before Black Friday 2025."""


@pytest.fixture(autouse=True, scope="session")
def pinned_schedule_date():
    original = traffic.today
    traffic.today = lambda time_zone: PINNED_DATE
    yield PINNED_DATE
    traffic.today = original
