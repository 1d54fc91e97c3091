"""Which tool an annotated export comes from, and its reader."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cxml.errors import BadInputError, DataError
from cxml.labelling import argilla, label_studio
from cxml.labelling.annotations import ImportSummary, Item, load_json

__all__ = ["FORMATS", "detect_format", "read_export"]

FORMATS = {"label-studio": label_studio.read_export, "argilla": argilla.read_export}


def detect_format(path: Path) -> str:
    """``"label-studio"`` (a list of tasks with ``data``) or ``"argilla"`` (a folder, or a list
    of records with ``fields``), from the first item of ``path``."""
    if path.is_dir():
        return "argilla"
    found = load_json(path)
    first = (
        next((x for x in found if isinstance(x, dict)), None) if isinstance(found, list) else None
    )
    if first is not None and "data" in first:
        return "label-studio"
    if first is not None and "fields" in first:
        return "argilla"
    raise DataError(
        f"{path}: neither a Label Studio export (tasks with 'data') nor Argilla records (with "
        "'fields'); name the tool with --format"
    )


def read_export(kind: str, paths: Sequence[Path], summary: ImportSummary) -> list[Item]:
    """The items of ``paths``, exports of the tool ``kind`` (see :data:`FORMATS`)."""
    if kind not in FORMATS:
        raise BadInputError(f"unknown format {kind!r}; expected one of {', '.join(FORMATS)}")
    return FORMATS[kind](paths, summary)
