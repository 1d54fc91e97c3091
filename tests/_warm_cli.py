"""A warm parent for ``python -m cxml``: it imports the heavy libraries once, then forks one child
per command, so each test's command runs in its own fresh process without paying ~5-10 s of
imports again.

Protocol, one JSON line each way on stdin/stdout: the request ``{"args", "cwd", "env", "out",
"err"}``; the answers ``{"pid"}`` when the child starts and ``{"code"}`` when it ends. The child
takes the request's folder and environment, writes its stdout and stderr to the two files named,
and runs ``cxml`` as ``python -m cxml`` would. Only libraries that read no settings from the
environment at import are imported ahead (not the service's metrics, which do).
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import traceback

WARM = ("numpy", "pandas", "scipy", "sklearn", "torch", "transformers", "mlflow")


def _child(request: dict) -> None:
    os.chdir(request["cwd"])
    sys.path[0] = request["cwd"]  # as ``python -m`` puts the current folder first
    os.environ.clear()
    os.environ.update(request["env"])
    stdin = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)
    for fd, path in ((1, request["out"]), (2, request["err"])):
        os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
    sys.argv = ["cxml", *request["args"]]
    code = 0
    try:
        runpy.run_module("cxml", run_name="__main__", alter_sys=True)
    except SystemExit as stop:
        if stop.code is None:
            code = 0
        elif isinstance(stop.code, int):
            code = stop.code
        else:
            print(stop.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def main() -> None:
    for name in WARM:
        __import__(name)
    answer = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        answer.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request)
        answer.write(json.dumps({"pid": pid}) + "\n")
        answer.flush()
        _, status = os.waitpid(pid, 0)
        answer.write(json.dumps({"code": os.waitstatus_to_exitcode(status)}) + "\n")
        answer.flush()


if __name__ == "__main__":
    main()
