"""The service's prediction log, written by a child process so that it never holds the GIL of a
process that answers requests.

A :class:`~cxml.monitoring.log.LogQueue` does its work (the watched inputs of every row, the
Parquet files) in a thread. Run in a service worker, that thread takes the worker's GIL for tens
of milliseconds once a second, and every request in flight meanwhile waits for it: the slowest
1 % of the answers took two to three times longer. :class:`ProcessLogQueue` runs the
``LogQueue`` in a child process instead (started with ``spawn``) and hands it the scored rows
through a pipe; the child runs at a lower scheduling priority, so under full load it yields the
cores to the workers and catches up when they idle.

The estimator that scored the rows is sent to the child once per model (a reload sends the new
one), so the child holds a copy of the model in memory. The models known at start are warmed up
in the child before it lowers its priority: their first use there (unpickling, the Korean
tokenizer's dictionary) costs seconds of CPU, which a machine kept busy by other processes would
otherwise never give it (a graceful stop then found nothing written). Afterwards each batch
costs milliseconds. Rows are stamped ``scored_at`` when the child queues them, milliseconds
after scoring. When the service process dies without stopping it (``kill -9``), the child
notices within a second, writes the rows it was handed and exits.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import threading
import time
from collections.abc import Sequence
from multiprocessing.sharedctypes import Synchronized
from queue import Empty
from typing import Any

import pandas as pd

from cxml.monitoring.inputs import drift_inputs
from cxml.monitoring.log import LogQueue, PredictionLog

__all__ = ["ProcessLogQueue"]

logger = logging.getLogger(__name__)

#: How much lower the child's scheduling priority is than the service's (``nice`` steps): the
#: lowest, so on a busy machine the log's writes yield to answering requests (p99 at 10 clients
#: on 2 cores: 27 ms at nice 10, 21-23 ms at 19).
NICENESS = 19
#: Seconds between the child's copies of its queue's counters into shared memory.
_PUBLISH_SECONDS = 0.2
#: Seconds the child gets to start.
_START_SECONDS = 120.0
#: Models whose estimator the child keeps: a reload's new one, and the one still finishing.
_MODELS_KEPT = 2
_COUNTERS = ("received", "written", "dropped", "errors", "depth")


class ProcessLogQueue:
    """A :class:`~cxml.monitoring.log.LogQueue` in a child process, with the same ``put`` /
    ``close`` and counters.

    Parameters
    ----------
    url : str
        The prediction log (:class:`~cxml.monitoring.log.PredictionLog`'s root).
    maxsize : int, default=10_000
        Rows handed over but not yet written, at most; a ``put`` that does not fit, or comes
        after ``close``, is dropped and counted; one the child cannot take (it died) counts as
        errors.
    flush_seconds : float, default=1.0
        The child queue's ``flush_seconds``.
    warm_up : sequence of (task, estimator, inputs), default=()
        Models to send the child at start: it computes the watched inputs of each ``inputs``
        (the model's input example) with its ``estimator`` before it lowers its priority and
        reports started.

    Attributes
    ----------
    written, dropped, errors, depth : int
        As :class:`~cxml.monitoring.log.LogQueue`'s, both processes together (as last
        published by the child, every 0.2 s and when it stops).
    """

    def __init__(
        self,
        url: str,
        *,
        maxsize: int = 10_000,
        flush_seconds: float = 1.0,
        warm_up: Sequence[tuple[str, Any, pd.DataFrame]] = (),
    ) -> None:
        context = mp.get_context("spawn")
        warm = [(id(estimator), task, estimator, inputs) for task, estimator, inputs in warm_up]
        self.maxsize = maxsize
        self._pipe: Any = context.Queue()
        self._shared: dict[str, Synchronized[int]] = {
            name: context.Value("q", 0, lock=False) for name in _COUNTERS
        }
        self._started = context.Event()
        self._process = context.Process(
            target=_child,
            args=(url, maxsize, flush_seconds, warm, self._pipe, self._shared, self._started),
            name="cxml-prediction-log",
            daemon=True,
        )
        self._process.start()
        deadline = time.monotonic() + _START_SECONDS
        while not self._started.wait(0.1):
            if not self._process.is_alive() or time.monotonic() > deadline:
                self._process.kill()
                raise RuntimeError("the prediction log process did not start; see its errors")
        self._sent = 0
        self._dropped = 0
        self._errors = 0
        # those the child has; held, so ids stay unique
        self._estimators: dict[int, Any] = _newest({key: est for key, _, est, _ in warm})
        self._closed = False
        self._lock = threading.Lock()

    @property
    def written(self) -> int:
        return self._shared["written"].value

    @property
    def dropped(self) -> int:
        return self._dropped + self._shared["dropped"].value

    @property
    def errors(self) -> int:
        return self._errors + self._shared["errors"].value

    @property
    def depth(self) -> int:
        """Rows handed over and not yet written (read in the opposite order of the child's
        writes, so a row the child is taking is counted once or twice, never missed)."""
        received = self._shared["received"].value
        return self._sent - received + self._shared["depth"].value

    def put(
        self,
        task: str,
        outputs: pd.DataFrame,
        ids: Sequence[Any],
        inputs_frame: pd.DataFrame,
        estimator: Any,
        source: str,
    ) -> bool:
        """Hand scored rows to the child without blocking; False when they were dropped."""
        rows = len(outputs)
        with self._lock:
            if self._closed or self.depth + rows > self.maxsize:
                self._dropped += rows
                return False
            if not self._process.is_alive():
                self._errors += rows
                return False
            key = id(estimator)
            if key not in self._estimators:
                self._estimators = _newest({**self._estimators, key: estimator})
                self._pipe.put_nowait(("estimator", key, estimator))
            self._pipe.put_nowait(("rows", key, (task, outputs, list(ids), inputs_frame, source)))
            self._sent += rows
        return True

    def close(self, timeout: float | None = 10.0) -> bool:
        """Stop taking rows, let the child write what is queued and stop (at most ``timeout``
        seconds); True when it finished. A child still writing then is stopped, and the rows
        it had not written count as errors, so that rows handed over = written + dropped +
        errors still holds."""
        with self._lock:
            self._closed = True
        if self._process.is_alive():
            self._pipe.put_nowait(None)
        self._process.join(timeout)
        finished = not self._process.is_alive()
        if not finished:
            self._process.kill()
            self._process.join()
            shared = self._shared
            done = shared["written"].value + shared["dropped"].value + shared["errors"].value
            self._errors += max(self._sent - done, 0)
        self._pipe.close()
        return finished


def _child(
    url: str,
    maxsize: int,
    flush_seconds: float,
    warm: list[tuple[int, str, Any, pd.DataFrame]],
    pipe: Any,
    shared: dict[str, Synchronized[int]],
    started: Any,
) -> None:
    """The child: the models in ``warm`` warmed up, then a LogQueue fed from ``pipe`` until
    ``None`` comes, at a lower priority, its counters published."""
    for _, task, estimator, inputs in warm:
        try:
            drift_inputs(task, estimator, inputs)
        except Exception:  # the rows will show the failure; logging goes on
            logger.exception("prediction log: the %s model fails on its input example", task)
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    queue = LogQueue(PredictionLog(url), maxsize=maxsize, flush_seconds=flush_seconds)
    estimators = _newest({key: estimator for key, _, estimator, _ in warm})
    stop = threading.Event()

    def publish() -> None:
        for name in ("written", "dropped", "errors", "depth"):
            shared[name].value = getattr(queue, name)

    def publish_often() -> None:
        while not stop.wait(_PUBLISH_SECONDS):
            publish()

    threading.Thread(target=publish_often, daemon=True).start()
    parent = os.getppid()
    started.set()
    while True:
        try:
            message = pipe.get(timeout=1.0)
        except Empty:
            if os.getppid() != parent:  # the service process died: write what it handed over
                break
            continue
        if message is None:
            break
        kind, key, body = message
        if kind == "estimator":
            estimators = _newest({**estimators, key: body})
            continue
        task, outputs, ids, inputs, source = body
        queue.put(task, outputs, ids, inputs, estimators.get(key), source)
        shared["depth"].value = queue.depth
        shared["received"].value += len(outputs)
    queue.close(timeout=None)
    stop.set()
    publish()


def _newest(estimators: dict[int, Any]) -> dict[int, Any]:
    """The last :data:`_MODELS_KEPT` of ``estimators`` (in the order they came)."""
    return dict(list(estimators.items())[-_MODELS_KEPT:])
