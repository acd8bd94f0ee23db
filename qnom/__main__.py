"""`python -m qnom` from the project root, or `python path/to/project/qnom` from anywhere.

Run as a directory, the package's parent (the project root) is not on `sys.path`; it is added so
the program's own packages import. A Python without the project's requirements (not the
virtualenv) gets one line saying how to make and use it, exit code 2, instead of a traceback.
The whole command runs under the garbage collector thresholds of a program run (`qnom/collection.py`).
"""
import gc
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if not __package__:
    sys.path.insert(0, str(ROOT))

from qnom.collection import PROGRAM_THRESHOLDS  # noqa: E402  (no imports of its own)

gc.set_threshold(*PROGRAM_THRESHOLDS)
try:
    from qnom.cli import main
except ModuleNotFoundError as error:
    print(f"qnom: the Python package {error.name!r} is not installed for {sys.executable}; use the project's "
          f"virtualenv: `make plan` in {ROOT} creates venv/ from requirements.txt, then run "
          f"{ROOT / 'venv' / 'bin' / 'python'} -m qnom ...", file=sys.stderr)
    sys.exit(2)

sys.exit(main())
