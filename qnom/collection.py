"""The garbage collector's thresholds while a program runs: the one interpreter setting a plan changes.

A plan allocates millions of short-lived objects (Outputs, futures, tasks and the SDK's input
dictionaries) that reference counting frees at once. CPython's default first-generation threshold
(700 net allocations, `gc.get_threshold()` -> (700, 10, 10)) then runs thousands of collections that
find nearly nothing, and each older-generation pass walks every live object, the SDK's imported
classes included: about a third of a prod phase-4 plan's wall time. Thresholds of (50,000, 20, 20)
keep cycles collected (the same three generations, the youngest about 70 times less often) at a
few more megabytes of memory; the previous thresholds come back when a program run ends. `make
bench` runs its bare registration under the same thresholds, so the project's overhead is measured
like for like.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

PROGRAM_THRESHOLDS = (50_000, 20, 20)
"""`gc.set_threshold` arguments while a program runs."""


@contextmanager
def program_thresholds() -> Iterator[None]:
    """Runs the body under `PROGRAM_THRESHOLDS`, then restores the thresholds it found."""
    previous = gc.get_threshold()
    gc.set_threshold(*PROGRAM_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
