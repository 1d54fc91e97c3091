"""Helpdesk and survey exports in, the canonical ticket and comment tables out.

Each vendor module (``zendesk``, ``freshdesk``, ``intercom``, ``qualtrics``) reads that vendor's
documented export shapes into an :class:`ImportResult`: the canonical table, the records it
rejected (file, line, field, reason) and a summary whose counts add up. :func:`import_export`
picks the module by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import import_module
from pathlib import Path

from cxml.connectors.result import IMPORT_REJECT_COLUMNS, ImportResult, ImportSummary
from cxml.errors import BadInputError

__all__ = [
    "IMPORT_REJECT_COLUMNS",
    "VENDORS",
    "ImportResult",
    "ImportSummary",
    "import_export",
]

#: The exports :func:`import_export` reads, and the table each becomes.
VENDORS = {
    "zendesk": "tickets",
    "freshdesk": "tickets",
    "intercom": "tickets",
    "qualtrics": "comments",
}


def import_export(
    vendor: str,
    paths: Sequence[str | Path],
    *,
    related: Sequence[str | Path] = (),
    fields: Mapping[str, str] | None = None,
    encoding: str | None = None,
) -> ImportResult:
    """Read ``paths`` (one vendor's export files) into the canonical table.

    Parameters
    ----------
    vendor : str
        One of :data:`VENDORS`.
    paths : sequence of path
        The main export: ticket pages, conversations, survey responses.
    related : sequence of path, default=()
        Exports that complete it (Zendesk comments or ticket events, Freshdesk conversations or
        satisfaction ratings), where the vendor has them.
    fields : mapping of str to str, default=None
        Canonical field -> the vendor's source for it (a custom field id, a question id or text),
        for the fields that have no fixed place in the export.
    encoding : str, default=None
        Text encoding of CSV exports (detected when None).

    Raises
    ------
    BadInputError
        For an unknown vendor, a file that cannot be read at all, or an option the vendor has not.
    """
    if vendor not in VENDORS:
        raise BadInputError(f"unknown export {vendor!r}; expected one of {', '.join(VENDORS)}")
    if not paths:
        raise BadInputError(f"{vendor}: name at least one export file")
    module = import_module(f"cxml.connectors.{vendor}")
    result: ImportResult = module.read_export(
        [Path(p) for p in paths],
        related=[Path(p) for p in related],
        fields=dict(fields or {}),
        encoding=encoding,
    )
    return result
