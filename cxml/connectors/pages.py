"""Read the JSON shapes helpdesk APIs export: a page object, an array, or JSON Lines.

A page is ``{"tickets": [...], "metric_sets": [...], "end_of_stream": true, ...}``: one list of
records under a known key, and whatever else the API sent beside it (side-loaded records,
cursors). A file holds one page (as saved from one API call), a JSON array of records, or JSON
Lines where each line is a record or a whole page. A line that is no JSON becomes a page with
an ``error``, so the caller rejects it as one record and goes on; a whole file that is no JSON is
a :class:`~cxml.errors.DataError` naming the line and column.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cxml.connectors.result import Where
from cxml.data.io import detect_encoding
from cxml.errors import DataError

__all__ = ["Page", "read_pages"]

_SAMPLE = 1 << 16


@dataclass
class Page:
    """Records read together, with where they start and what came beside them."""

    where: Where
    records: list[Any]
    #: Every other key of the page object (side-loaded lists, cursors, counts).
    extra: dict[str, Any] = field(default_factory=dict)
    #: Why the line could not be read (then ``records`` holds the raw line).
    error: str = ""
    #: The key of ``keys`` the records were listed under ("" for an array or a lone record).
    key: str = ""


def read_pages(path: Path, keys: Sequence[str], encoding: str | None = None) -> Iterator[Page]:
    """The pages of ``path``; a page's records are the list under the first of ``keys`` it has.

    An object without any of ``keys`` is a record on its own (one JSON Lines line per ticket).

    Raises
    ------
    DataError
        When the file cannot be opened or decoded, or a file that is not JSON Lines is no JSON.
    """
    try:
        with path.open("rb") as fh:
            sample = fh.read(_SAMPLE)
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if encoding is None:
        encoding = detect_encoding(sample)[0]
    if not sample.strip():
        raise DataError(f"{path}: the file is empty")
    try:
        if _json_lines(path, encoding):
            yield from _lines(path, keys, encoding)
            return
        text = path.read_text(encoding=encoding).lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not {encoding} text ({exc.reason}); pass the encoding") from None
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path}, line {exc.lineno}, column {exc.colno}: not JSON ({exc.msg})"
        ) from None
    yield _page(body, Where(str(path), 1), keys)


def _json_lines(path: Path, encoding: str) -> bool:
    """Whether the file is JSON Lines: its first non-blank line is JSON on its own, and another
    non-blank line follows."""
    with path.open("r", encoding=encoding) as fh:
        lines = (line for line in fh if line.strip())
        first = next(lines, "")
        try:
            json.loads(first.lstrip("\ufeff"))
        except json.JSONDecodeError:
            return False
        return next(lines, None) is not None


def _lines(path: Path, keys: Sequence[str], encoding: str) -> Iterator[Page]:
    with path.open("r", encoding=encoding) as fh:
        for number, line in enumerate(fh, start=1):
            text = line.strip().lstrip("\ufeff")
            if not text:
                continue
            where = Where(str(path), number)
            try:
                body = json.loads(text)
            except json.JSONDecodeError as exc:
                yield Page(where, [text], error=f"not JSON ({exc.msg}, column {exc.colno})")
                continue
            yield _page(body, where, keys)


def _page(body: Any, where: Where, keys: Sequence[str]) -> Page:
    if isinstance(body, list):
        return Page(where, body)
    if isinstance(body, dict):
        for key in keys:
            if isinstance(body.get(key), list):
                extra = {k: v for k, v in body.items() if k != key}
                return Page(where, body[key], extra, key=key)
        return Page(where, [body])
    return Page(where, [body], error=f"expected a JSON object or array, got {type(body).__name__}")
