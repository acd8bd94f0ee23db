"""One program run per distinct stack setting for the whole test session, across xdist workers.

Plans are deterministic for the same stack, program and settings (the plan date is one of
them, `qnom:planDate`), so the engine's optional run cache serves every later request for the
same run from the first one. The key of the real program is its validated settings (two
configs that validate to the same settings, such as phase `4` and `"4"`, run the same program;
a config without a plan date is keyed on the day it resolves to), plus the program's text; a
test program is keyed on its raw config. Runs are shared between
xdist workers through pickles in the session's common temporary folder: the first worker
to need a run builds it under a file lock, the others wait for it and load it. Failed runs
are never cached, so every test that expects an error sees it raised.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import pickle
from pathlib import Path
from typing import Any, Callable

from phases.settings import SettingsError, settings_from_config
from qnom.engine import PROJECT_DIR, ProgramRun, engine_config

MAIN_PROGRAM = PROJECT_DIR / "__main__.py"


def run_key(stack: str, config: dict[str, Any], program: Path) -> str:
    """What decides a run's outcome, hashed."""
    source = program.read_text(encoding="utf-8")
    settings: str | None = None
    if program.resolve() == MAIN_PROGRAM:
        try:
            # Overrides written in another key order are the same settings: sorted, they share the run.
            ordered = {key: json.loads(json.dumps(value, sort_keys=True)) if isinstance(value, dict) else value
                       for key, value in config.items()}
            settings = repr(settings_from_config(ordered, stack=stack))
        except SettingsError:
            settings = None  # invalid settings: keyed on the raw config, and never cached anyway
    described = settings or json.dumps(engine_config(config), sort_keys=True)
    text = "\n".join([stack, str(program.resolve()), source, described])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class SharedRunCache:
    """Memory first, then the pickles another worker left in `folder`."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._memory: dict[str, ProgramRun] = {}

    def __call__(self, stack: str, config: dict[str, Any], program: Path,
                 run: Callable[[], ProgramRun]) -> ProgramRun:
        key = run_key(stack, config, program)
        if key not in self._memory:
            self._memory[key] = self._shared(key, run)
        return self._memory[key]

    def _shared(self, key: str, run: Callable[[], ProgramRun]) -> ProgramRun:
        stored = self.folder / f"{key}.pickle"
        with open(self.folder / f"{key}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if stored.exists():
                return pickle.loads(stored.read_bytes())
            result = run()
            partial = stored.with_suffix(".partial")
            partial.write_bytes(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
            partial.replace(stored)
            return result
