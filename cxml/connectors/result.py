"""What one import produced: the canonical table, its rejects, and counts that add up."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cxml.contracts.fields import Schema, get_schema
from cxml.data.io import write_table
from cxml.data.reader import check_paths, default_rejects_path

__all__ = [
    "IMPORT_REJECT_COLUMNS",
    "Collector",
    "ImportResult",
    "ImportSummary",
    "RecordError",
    "Where",
]

#: Columns of an import's rejects file: where the record was, what was wrong, the record itself.
IMPORT_REJECT_COLUMNS = ["_file", "_line", "_record", "_field", "_reason", "_raw"]
_RAW_CHARS = 2000


class RecordError(ValueError):
    """One record's field that cannot be mapped: the record is rejected with ``reason``."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason


@dataclass(frozen=True)
class Where:
    """Where a record was read: the file, its line (1-based; the line a JSON page or a CSV row
    starts on) and its place in the page's list (0-based; 0 for a record on its own)."""

    file: str
    line: int
    record: int = 0

    def __str__(self) -> str:
        return f"{self.file}, line {self.line}" + (f", record {self.record}" if self.record else "")


@dataclass
class ImportSummary:
    """Counts of one import: records read = imported + superseded + deleted + rejected."""

    vendor: str
    table: str
    files: list[str] = field(default_factory=list)
    read: int = 0
    imported: int = 0
    #: Older versions of a record read again later (incremental exports repeat records).
    superseded: int = 0
    #: Records of deleted tickets (or spam, merged away): dropped on purpose.
    deleted: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    #: Canonical fields filled in at least one imported row, and those filled in none.
    found: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    #: Findings on rows that were kept (e.g. "satisfaction offered, not answered: 12").
    notes: Counter[str] = field(default_factory=Counter)

    @property
    def balanced(self) -> bool:
        """Whether every record read is in exactly one count."""
        return self.read == self.imported + self.superseded + self.deleted + self.rejected

    def describe(self) -> str:
        """One line: ``1,204 records: 1,150 imported, 40 superseded, 4 deleted, 10 rejected
        (created_at: 6, id: 4)``."""
        text = (
            f"{self.read:,} records: {self.imported:,} imported, {self.superseded:,} older "
            f"versions superseded, {self.deleted:,} deleted, {self.rejected:,} rejected"
        )
        if self.reasons:
            text += " (" + ", ".join(f"{k}: {v:,}" for k, v in self.reasons.most_common()) + ")"
        return text

    def mapping(self) -> list[str]:
        """The mapping in lines: fields found, fields missing, notes."""
        lines = [f"fields found: {', '.join(self.found) or '(none)'}"]
        lines.append(f"fields missing: {', '.join(self.missing) or '(none)'}")
        lines.extend(f"{note}: {count:,}" for note, count in self.notes.most_common())
        return lines

    def as_dict(self) -> dict[str, Any]:
        """Plain values, for ``--json`` and MLflow."""
        return {
            "vendor": self.vendor,
            "table": self.table,
            "files": list(self.files),
            "read": self.read,
            "imported": self.imported,
            "superseded": self.superseded,
            "deleted": self.deleted,
            "rejected": self.rejected,
            "reasons": dict(self.reasons),
            "found": list(self.found),
            "missing": list(self.missing),
            "notes": dict(self.notes),
        }


@dataclass
class ImportResult:
    """The canonical table (schema fields first, other columns after), rejects and summary."""

    frame: pd.DataFrame
    rejects: pd.DataFrame
    summary: ImportSummary

    def write(self, out: str | Path, rejects: str | Path | None = None) -> tuple[Path, Path | None]:
        """Write the table to ``out`` (format by extension) and the rejects to ``rejects``
        (default ``<out>.rejects.csv``); returns both paths (None: nothing rejected). Each file
        is written under a temporary name and moved into place."""
        target = Path(out)
        sink = Path(rejects) if rejects is not None else default_rejects_path(target)
        for source in self.summary.files:
            check_paths(source, output=target, rejects=sink)
        written = write_table(self.frame, target)
        if len(self.rejects) or sink.exists():  # what is at ``sink`` belongs to this run
            write_table(self.rejects[IMPORT_REJECT_COLUMNS], sink)
        return written, sink if len(self.rejects) else None


class Collector:
    """Builds one import: keeps the latest version of each id, drops deleted ids, and puts
    every record read into exactly one count of the :class:`ImportSummary`.

    Vendor modules call :meth:`read` once per record, then one of :meth:`add`,
    :meth:`delete` or :meth:`reject`; :meth:`result` orders the table by the schema.
    """

    def __init__(self, vendor: str, table: str, files: list[Path]) -> None:
        self.schema: Schema = get_schema(table)
        self.summary = ImportSummary(vendor, table, files=[str(f) for f in files])
        #: The latest record of each id: its version, its row (None: deleted) and its notes.
        self._latest: dict[Hashable, tuple[Any, dict[str, Any] | None, tuple[str, ...]]] = {}
        self._rejects: list[dict[str, Any]] = []

    def read(self, count: int = 1) -> None:
        """Count records read."""
        self.summary.read += count

    def add(
        self, key: Hashable, version: Any, row: Mapping[str, Any], notes: Sequence[str] = ()
    ) -> None:
        """Keep ``row`` as the record of ``key`` unless one at least as new was read (``version``
        compares; None is older than any). Of two records of one version the later wins.
        ``notes`` are findings on this record, counted only if it is the version kept."""
        self._keep(key, version, dict(row), tuple(notes))

    def delete(self, key: Hashable, version: Any = None) -> None:
        """A record saying ``key`` was deleted: the id is dropped unless a newer record of it
        is read (a restored ticket)."""
        self._keep(key, version, None, ())

    def _keep(
        self, key: Hashable, version: Any, row: dict[str, Any] | None, notes: tuple[str, ...]
    ) -> None:
        if key in self._latest:
            self.summary.superseded += 1
            if _newer(self._latest[key][0], version):
                return
        self._latest[key] = (version, row, notes)

    def reject(self, where: Where, field_name: str, reason: str, raw: Any) -> None:
        """A record that cannot be imported, with where it was and why."""
        self.summary.rejected += 1
        self.summary.reasons[field_name] += 1
        self._rejects.append(
            {
                "_file": where.file,
                "_line": where.line,
                "_record": where.record,
                "_field": field_name,
                "_reason": reason,
                "_raw": str(raw)[:_RAW_CHARS],
            }
        )

    def note(self, finding: str, count: int = 1) -> None:
        """Count a finding on kept rows (shown with the mapping)."""
        self.summary.notes[finding] += count

    def result(self) -> ImportResult:
        """The table of the kept rows in schema order, with the rejects and the summary."""
        rows = [row for _, row, _ in self._latest.values() if row is not None]
        summary = self.summary
        for _, _, notes in self._latest.values():  # a deleted id has none
            summary.notes.update(notes)
        summary.deleted = len(self._latest) - len(rows)
        summary.imported = len(rows)
        frame = pd.DataFrame(rows)
        names = self.schema.names
        ordered = [n for n in names if n in frame] + [c for c in frame if c not in names]
        frame = frame[ordered] if rows else pd.DataFrame(columns=[self.schema.id_field])
        filled = {c for c in frame if frame[c].notna().any()}
        summary.found = [n for n in names if n in filled]
        summary.missing = [n for n in names if n not in filled]
        rejects = pd.DataFrame(self._rejects, columns=IMPORT_REJECT_COLUMNS)
        return ImportResult(frame.reset_index(drop=True), rejects, summary)


def _newer(kept: Any, version: Any) -> bool:
    """Whether ``kept`` is strictly newer than ``version`` (None: older than anything)."""
    if kept is None:
        return False
    if version is None:
        return True
    return bool(kept > version)
