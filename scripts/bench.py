"""`make bench`: how long one plan takes, what of it is the project's, and the test suite against it.

    venv/bin/python scripts/bench.py [--no-suite]

1. `qnom plan --stack prod --phase 4 --json` in a fresh process (wall time, best of five: a shared
   machine's noise reaches a second).
2. `scripts/bare_registration.py` over that plan: the same resources through the same SDK classes
   with none of the project's code (best of five); the plan's overhead over it is the
   project's own cost (the target: at most 30%).
3. the suite as `make test` runs it (`--pytest-args`, which the Makefile passes; wall time), and its ratio to the plan (the
   target: at most 6, and at most 60 s).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(command: list[str], stdout=subprocess.DEVNULL) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=stdout)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-suite", action="store_true", help="time the plan and the bare registration only")
    parser.add_argument("--repeat", type=int, default=5, help="runs of the plan and of the bare registration")
    parser.add_argument("--pytest-args", default="-q", help="the arguments `make test` gives pytest")
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory() as folder:
        document = Path(folder) / "plan.json"
        plans, bares = [], []
        for _ in range(args.repeat):
            with document.open("w") as out:
                plans.append(timed([python, "-m", "qnom", "plan", "--stack", "prod", "--phase", "4", "--json"], out))
            bares.append(timed([python, "scripts/bare_registration.py", str(document)]))
    plan, bare = min(plans), min(bares)
    print(f"plan prod phase 4:        {plan:6.2f} s  (best of {args.repeat})")
    print(f"bare registration:        {bare:6.2f} s  (same resources and SDK classes, no project code)")
    print(f"project overhead:         {100 * (plan / bare - 1):5.1f} %  (target <= 30 %)")
    if args.no_suite:
        return 0
    suite = timed([python, "-m", "pytest", *args.pytest_args.split()], stdout=None)
    print(f"test suite (make test):   {suite:6.2f} s  (target <= 60 s)")
    print(f"suite / plan:             {suite / plan:6.2f}    (target <= 6)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
