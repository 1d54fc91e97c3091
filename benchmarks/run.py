"""The benchmark command of ``../shared/BENCHMARKS.md``; the tasks are in :mod:`benchmarks.tasks`.

    python benchmarks/run.py TASK [--train FILE] [--test FILE] [--out FILE.json]
    python -m benchmarks.run TASK [...]        # the same, from the repository root

Benchmarks import cxml as a user does (the installed package) and each other as the
``benchmarks`` package. A script run puts ``benchmarks/`` on ``sys.path``, not the repository
root, so the script runs itself again as ``python -P -m benchmarks.run`` with the root on
``PYTHONPATH`` (``-P``: not the current folder), in the same folder, with the same arguments.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if __name__ == "__main__":
    if __package__:
        from benchmarks.tasks import main

        raise SystemExit(main())
    root = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    command = [sys.executable, "-P", "-m", "benchmarks.run", *sys.argv[1:]]
    os.execve(sys.executable, command, {**os.environ, "PYTHONPATH": path})
