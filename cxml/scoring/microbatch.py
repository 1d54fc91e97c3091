"""Score the jobs of concurrent requests together, in one model call.

Scoring one ticket costs about as much as scoring ten: the fixed cost of a call (building the
input frame, parsing its times, the text model's and the booster's per-call work) dwarfs the
per-row work. A :class:`MicroBatcher` lets requests that arrive while a call is running wait for
the next call, which scores all of them: an idle service scores a lone request at once (no
waiting for company), a busy one shares each call's fixed cost among the requests waiting.
Model outputs are row by row, so a row's scores do not depend on its company.

A call of a few items is made on the event loop itself, which it blocks for a few milliseconds:
requests that arrive meanwhile wait in the socket buffers and form the next call. That is
cheaper than handing each call to a worker thread, where it would also compete with the loop for
the GIL. A larger job (a request with many tickets) is scored alone in a worker thread, so the
loop keeps answering other requests meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from starlette.concurrency import run_in_threadpool

__all__ = ["MicroBatcher"]

log = logging.getLogger("cxml.serve")

#: Turns of the event loop without a new job before a call starts.
_TURNS = 3

Job = TypeVar("Job")
Result = TypeVar("Result")


class MicroBatcher(Generic[Job, Result]):
    """Run ``score`` on the jobs submitted while the previous call ran, all together.

    Parameters
    ----------
    score : callable
        Jobs -> one result per job, in order; never runs on two batches at once.
    size : callable
        Items in a job (tickets in a request).
    max_items : int
        Most items in one call, which runs on the event loop; a larger job is scored alone, in
        a worker thread.

    Notes
    -----
    When a call fails and it held several jobs, each job is scored again alone, so a job that
    breaks the model fails only its own request.

    Examples
    --------
    >>> import asyncio
    >>> calls = []
    >>> def double(jobs):
    ...     calls.append(list(jobs))
    ...     return [2 * j for j in jobs]
    >>> batcher = MicroBatcher(double, size=lambda job: 1, max_items=8)
    >>> async def three_at_once():
    ...     return await asyncio.gather(*(batcher.submit(j) for j in (1, 2, 3)))
    >>> asyncio.run(three_at_once())
    [2, 4, 6]
    >>> calls
    [[1, 2, 3]]
    """

    def __init__(
        self,
        score: Callable[[Sequence[Job]], Sequence[Result]],
        *,
        size: Callable[[Job], int],
        max_items: int,
    ) -> None:
        self.score = score
        self.size = size
        self.max_items = max_items
        self._waiting: list[tuple[Job, asyncio.Future[Result]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def submit(self, job: Job) -> Result:
        """Score ``job`` in the next call; its result, or the exception scoring it raised."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((job, future))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        """Score what waits, call after call, until nothing does."""
        while True:
            await self._gather()
            if not self._waiting:
                return
            batch = self._take()
            jobs = [job for job, _ in batch]
            try:
                if sum(self.size(job) for job in jobs) <= self.max_items:
                    results = self._score_each_alone_on_failure(jobs)
                else:
                    results = await run_in_threadpool(self._score_each_alone_on_failure, jobs)
            except BaseException:  # cancelled (the loop is closing): no request may hang
                for _, future in [*batch, *self._waiting]:
                    future.cancel()
                self._waiting = []
                raise
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():  # the request was cancelled (client gone)
                    continue
                if isinstance(result, _Failed):
                    future.set_exception(result.error)
                else:
                    future.set_result(result)

    async def _gather(self) -> None:
        """Let the loop send the last call's answers and read the requests that came meanwhile,
        until a few turns of the loop bring no new job (each request needs a turn to be read
        and another to reach :meth:`submit`)."""
        seen = -1
        while seen != len(self._waiting) and sum(self._sizes()) < self.max_items:
            seen = len(self._waiting)
            for _ in range(_TURNS):
                await asyncio.sleep(0)

    def _sizes(self) -> list[int]:
        return [self.size(job) for job, _ in self._waiting]

    def _take(self) -> list[tuple[Job, asyncio.Future[Result]]]:
        """The first waiting job and those after it that fit in :attr:`max_items` with it."""
        taken, items = [self._waiting[0]], self.size(self._waiting[0][0])
        rest = []
        for entry in self._waiting[1:]:
            n = self.size(entry[0])
            if items + n <= self.max_items:
                taken.append(entry)
                items += n
            else:
                rest.append(entry)
        self._waiting = rest
        return taken

    def _score_each_alone_on_failure(self, jobs: list[Job]) -> list[Result | _Failed]:
        try:
            results: list[Result | _Failed] = list(self.score(jobs))
        except Exception as exc:
            if len(jobs) == 1:
                return [_Failed(exc)]
            log.warning("a batch of %d jobs failed (%s); scoring each alone", len(jobs), exc)
            return [self._score_each_alone_on_failure([job])[0] for job in jobs]
        if len(results) != len(jobs):
            raise RuntimeError(f"{len(jobs)} jobs scored but {len(results)} results")
        return results


class _Failed:
    """The exception that scoring one job raised, handed to its request."""

    def __init__(self, error: Exception) -> None:
        self.error = error
