"""Checkpoints that make batch scoring resumable, even after ``kill -9``.

Each scored chunk (its output rows and its rejects) is stored in ``<output>.checkpoint/`` as
one file, written to a temporary name and renamed, so a chunk is either wholly there or absent.
A rerun of the same command on the same input with the same models skips the chunks already
stored; the output is then written from the stored chunks in order, exactly as an uninterrupted
run writes it, and the checkpoint is removed. A job that stops with an error removes it too;
only an interrupted one (Ctrl-C, a kill) leaves it for the rerun. The folder holds cxml's own
pickles, read back only by the job that wrote them.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["Checkpoint"]


class Checkpoint:
    """The stored chunks of one batch job.

    Parameters
    ----------
    output : Path
        The job's output file; the checkpoint lives beside it.
    job : dict
        What makes two runs the same job (input file and its size and time, models, chunk size,
        options). A checkpoint of another job is discarded.
    state : dict, default=None
        Values fixed when the job first started (such as the scoring moment "now"); a resumed
        job gets the stored ones back in :attr:`state`.
    """

    def __init__(
        self, output: Path, job: dict[str, Any], state: dict[str, Any] | None = None
    ) -> None:
        self.folder = output.with_name(output.name + ".checkpoint")
        self.key = hashlib.sha256(json.dumps(job, sort_keys=True, default=str).encode()).hexdigest()
        stored_path = self.folder / "job.json"
        stored = json.loads(stored_path.read_text()) if stored_path.is_file() else {}
        self.resumed = stored.get("key") == self.key
        self.state: dict[str, Any] = stored.get("state", {}) if self.resumed else dict(state or {})
        if not self.resumed:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder.mkdir(parents=True)
            record = {"key": self.key, "job": job, "state": self.state}
            _write_atomic(stored_path, json.dumps(record, default=str).encode())

    def _part(self, index: int) -> Path:
        return self.folder / f"chunk-{index:06d}.pkl"

    def done(self, index: int) -> bool:
        """Whether chunk ``index`` is stored."""
        return self._part(index).is_file()

    def stored(self) -> int:
        """How many chunks are stored."""
        return len(list(self.folder.glob("chunk-*.pkl")))

    def store(self, index: int, scored: pd.DataFrame, rejected: pd.DataFrame) -> None:
        """Store chunk ``index`` (atomically)."""
        payload = pickle.dumps((scored, rejected), protocol=pickle.HIGHEST_PROTOCOL)
        _write_atomic(self._part(index), payload)

    def chunks(self) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
        """The stored chunks in order, one at a time."""
        index = 0
        while self.done(index):
            with self._part(index).open("rb") as fh:
                yield pickle.load(fh)
            index += 1

    def logged(self, index: int) -> bool:
        """Whether chunk ``index``'s rows are in the prediction log."""
        return (self.folder / f"logged-{index:06d}").is_file()

    def mark_logged(self, index: int) -> None:
        """Record that chunk ``index``'s rows are in the prediction log."""
        _write_atomic(self.folder / f"logged-{index:06d}", b"")

    def remove(self) -> None:
        """Delete the checkpoint (after the output is in place)."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
