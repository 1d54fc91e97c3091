"""Terminal output shared by the commands: a console on stderr, progress, and verbosity."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

__all__ = ["Output", "output"]


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} rows/s" if speed else "", style="progress.data.speed")


class Output:
    """Where commands talk to the user: results on stdout, progress and notes on stderr."""

    def __init__(self) -> None:
        self.err = Console(stderr=True)
        self.out = Console()
        self.quiet = False
        self.verbose = False

    def setup(self, *, quiet: bool, verbose: bool) -> None:
        """Apply ``--quiet`` / ``--verbose`` and route library warnings through rich."""
        self.quiet, self.verbose = quiet, verbose
        level = logging.ERROR if quiet else logging.DEBUG if verbose else logging.WARNING
        logging.basicConfig(
            level=level,
            format="%(message)s",
            handlers=[RichHandler(console=self.err, show_path=verbose, show_time=False)],
            force=True,
        )
        # cxml's own progress notes (fine-tuning epochs, the service) show unless --quiet
        logging.getLogger("cxml").setLevel(logging.ERROR if quiet else logging.INFO)

    def note(self, message: str) -> None:
        """A line for the user on stderr (hidden by ``--quiet``)."""
        if not self.quiet:
            self.err.print(message, highlight=False)

    def result(self, message: str) -> None:
        """The closing one-line summary on stdout (hidden by ``--quiet``)."""
        if not self.quiet:
            self.out.print(message, highlight=False, soft_wrap=True)

    def error(self, message: str) -> None:
        """An error on stderr, always shown."""
        self.err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)

    @contextmanager
    def steps(self, title: str) -> Iterator[Any]:
        """A spinner showing the current step; yields ``step(description)``."""
        if self.quiet:
            yield lambda description: None
            return
        if not self.err.is_terminal:  # no spinner in a log: one line a step, with the time
            started = time.perf_counter()
            self.err.print(f"{title}...", highlight=False)

            def line(description: str) -> None:
                elapsed = time.perf_counter() - started
                self.err.print(f"  [{elapsed:6.0f}s] {description}", highlight=False)

            yield line
            return
        with self.err.status(f"{title}...") as status:

            def step(description: str) -> None:
                status.update(f"{title}: {description}...")
                if self.verbose:
                    self.err.print(f"  {description}", highlight=False)

            yield step

    @contextmanager
    def rows(self, title: str, total: int | None) -> Iterator[Any]:
        """A progress bar over rows with rate and ETA; yields ``advance(n)``."""
        if self.quiet:
            yield lambda n: None
            return
        columns = [
            SpinnerColumn(),
            TextColumn(title),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        ]
        with Progress(*columns, console=self.err, transient=True) as progress:
            task = progress.add_task(title, total=total)
            yield lambda n: progress.advance(task, n)


output = Output()
