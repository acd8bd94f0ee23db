"""Writes or compares the plan documents of every committed stack in every phase, as of one date.

    venv/bin/python scripts/plan_snapshot.py write DIR [--date 2025-11-01]
    venv/bin/python scripts/plan_snapshot.py compare DIR [--date 2025-11-01]

Covers dev and prod in phases 1-4 and prod phase 4 with `qnom:databaseCutover` and with
`qnom:retireRegionalCaches` too: the ten plans a refactoring must leave byte-identical. The date
is the plans' `qnom:planDate` (as `qnom plan --date` sets it), so they never depend on today. `compare`
prints one line per plan (identical, or the URNs added, removed and changed) and exits 1 on any
difference.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from phases.settings import settings_from_config  # noqa: E402
from qnom.engine import run_program  # noqa: E402
from qnom.plan import load_config, plan_document, to_json  # noqa: E402

VARIANTS = {
    **{f"{stack}-phase-{phase}": (stack, phase, {}) for stack in ("dev", "prod") for phase in (1, 2, 3, 4)},
    "prod-phase-4-cutover": ("prod", 4, {"qnom:databaseCutover": True}),
    "prod-phase-4-retired": ("prod", 4, {"qnom:databaseCutover": True, "qnom:retireRegionalCaches": True}),
}


def plans(on: date) -> dict[str, str]:
    documents = {}
    for name, (stack, phase, extra) in VARIANTS.items():
        config = {**load_config(stack, phase=str(phase), plan_date=on), **extra}
        settings = settings_from_config(config, stack=stack)
        run = run_program(stack, config)
        documents[name] = to_json(plan_document(
            run, environment=settings.environment,
            phase={"number": settings.phase.number, "name": settings.phase.name},
            regions=[region.name for region in settings.phase.regions]))
    return documents


def _differences(old: str, new: str) -> str:
    before = {r["urn"]: r for r in json.loads(old)["resources"]}
    after = {r["urn"]: r for r in json.loads(new)["resources"]}
    changed = sorted(urn for urn in before.keys() & after.keys() if before[urn] != after[urn])
    parts = [f"{len(after.keys() - before.keys())} added", f"{len(before.keys() - after.keys())} removed",
             f"{len(changed)} changed"]
    names = [urn.rsplit("::", 1)[1] for urn in sorted(after.keys() ^ before.keys())[:5] + changed[:5]]
    return ", ".join(parts) + (f" (e.g. {', '.join(names)})" if names else "") + (
        "; outputs differ" if json.loads(old)["outputs"] != json.loads(new)["outputs"] else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("write", "compare"))
    parser.add_argument("folder", type=Path)
    parser.add_argument("--date", type=date.fromisoformat, default=date(2025, 11, 1))
    args = parser.parse_args()
    documents = plans(args.date)
    if args.action == "write":
        args.folder.mkdir(parents=True, exist_ok=True)
        for name, text in documents.items():
            (args.folder / f"{name}.json").write_text(text, encoding="utf-8")
        print(f"wrote {len(documents)} plans to {args.folder}")
        return 0
    different = 0
    for name, text in documents.items():
        old = (args.folder / f"{name}.json").read_text(encoding="utf-8")
        same = old == text
        different += not same
        print(f"{name}: {'identical' if same else _differences(old, text)}")
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main())
