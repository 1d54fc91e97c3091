"""``cxml data import VENDOR PATH... --out FILE``: a helpdesk or survey export as a cxml table."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cxml.console import output
from cxml.errors import BadInputError

__all__ = ["data_import"]


class Vendor(StrEnum):
    zendesk = "zendesk"
    freshdesk = "freshdesk"
    intercom = "intercom"
    qualtrics = "qualtrics"


def data_import(
    vendor: Annotated[Vendor, typer.Argument(help="Whose export the files are.")],
    paths: Annotated[list[Path], typer.Argument(help="Export files: JSON pages, JSON Lines, CSV.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="The canonical table (.csv/.jsonl/.parquet).")
    ],
    related: Annotated[
        list[Path] | None,
        typer.Option(
            "--with",
            help="Exports that complete the main one: Zendesk comments or ticket events, "
            "Freshdesk conversations or satisfaction ratings (repeatable).",
        ),
    ] = None,
    field: Annotated[
        list[str] | None,
        typer.Option(
            "--field",
            help="FIELD=SOURCE for a field without a fixed place: a custom field id "
            "(category=360001234) or a survey question id or text (text=QID4); also "
            "time_zone=Area/City for times written without offset (repeatable).",
        ),
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Text encoding of CSV exports (detected).")
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option("--rejects", help="Rejected records (default: <out>.rejects.csv)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the counts and the mapping as JSON.")
    ] = False,
) -> None:
    """Turn a helpdesk or survey export into the canonical ticket or comment table.

    Records read = imported + older versions superseded + deleted + rejected; each reject is
    written with its file, line, field and reason. Survey answers (rating, its comment and
    time) land in label columns that no model reads as a feature.
    """
    from cxml.connectors import import_export

    fields: dict[str, str] = {}
    for item in field or []:
        name, sep, source = item.partition("=")
        if not sep or not name.strip() or not source.strip():
            raise BadInputError(f"--field {item!r}: expected FIELD=SOURCE, e.g. category=360001")
        fields[name.strip()] = source.strip()
    with output.steps(f"reading the {vendor.value} export"):
        result = import_export(
            vendor.value, paths, related=related or (), fields=fields, encoding=encoding
        )
    written, rejects_path = result.write(out, rejects)
    summary = result.summary
    if as_json:
        typer.echo(json.dumps(summary.as_dict() | {"out": str(written)}, indent=2))
        return
    for line in summary.mapping():
        output.note(line)
    where = f"; rejects in {rejects_path}" if rejects_path else ""
    output.result(f"{written}: {summary.describe()}{where}")
