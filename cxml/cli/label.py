"""``cxml label``: the labelling loop (export uncertain comments, import annotations) and the
label-error check."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from cxml.cli.label_check import label_check
from cxml.console import output
from cxml.errors import BadInputError

__all__ = ["label_app"]

label_app = typer.Typer(
    help="Pick comments to label, read annotations back, find likely mislabelled rows.",
    no_args_is_help=True,
)


class LabelFormat(StrEnum):
    label_studio = "label-studio"
    argilla = "argilla"


class ImportFormat(StrEnum):
    auto = "auto"
    label_studio = "label-studio"
    argilla = "argilla"


class ResolveHow(StrEnum):
    majority = "majority"
    drop = "drop"


class Strategy(StrEnum):
    margin = "margin"
    entropy = "entropy"


#: ``--model sentiment`` / ``--model themes``: the champion of that task's registered model.
_SHORT_MODELS = {"sentiment": "cxml-sentiment", "themes": "cxml-themes"}


@label_app.command("export")
def label_export(
    file: Annotated[Path, typer.Argument(help="Comments file (CSV, JSON Lines, Parquet, Excel).")],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Tasks / records JSON; the Label Studio config (<out>.label_config.xml) or "
            "the Argilla settings (<out>.settings.json) are written beside it.",
        ),
    ],
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            help="sentiment, themes (their champions) or a model URI (repeatable; default: "
            "the sentiment and themes champions that are registered).",
        ),
    ] = None,
    n: Annotated[int, typer.Option("--n", min=1, help="How many comments to pick.")] = 200,
    format: Annotated[
        LabelFormat, typer.Option("--format", help="label-studio or argilla.")
    ] = LabelFormat.label_studio,
    exclude: Annotated[
        list[Path] | None,
        typer.Option(
            "--exclude", help="A file of labelled comments: its ids are skipped (repeatable)."
        ),
    ] = None,
    encoder: Annotated[
        str, typer.Option(help="Sentence encoder for diversity: use, minilm or a model folder.")
    ] = "use",
    strategy: Annotated[
        Strategy, typer.Option(help="Sentiment uncertainty: margin or entropy.")
    ] = Strategy.margin,
    column: Annotated[
        list[str] | None,
        typer.Option("--column", help='Map a field to your column: --column text="Remarks".'),
    ] = None,
) -> None:
    """Pick the comments the models are least sure of (and unlike each other) for labelling,
    with the models' answers as pre-annotations."""
    from cxml.cli import _columns, _read_rows
    from cxml.config import DataConfig
    from cxml.contracts.fields import COMMENTS
    from cxml.data import check_paths, read_table
    from cxml.data.io import write_text
    from cxml.labelling import argilla, label_studio
    from cxml.labelling.select import select_comments
    from cxml.scoring.batch import load_comment_models

    check_paths(file, output=out)
    uris = [_SHORT_MODELS.get(m, m) for m in model] if model else None
    frame = _read_rows(file, COMMENTS, DataConfig(columns=_columns(column)))
    done: set[str] = set()
    for path in exclude or []:
        labelled, _ = read_table(path)
        if "id" not in labelled:
            raise BadInputError(f"{path}: no 'id' column to exclude comments by")
        done |= set(labelled["id"].astype(str))
    models = load_comment_models(uris)
    with output.steps("picking comments") as step:
        step(f"scoring {len(frame):,} comments and encoding them ({encoder})")
        picked = select_comments(
            frame, models, n, exclude=done, encoder=encoder, strategy=strategy.value
        )
        rows = picked.rows
        if not len(rows):
            raise BadInputError(
                f"{file}: no comment left to pick ({picked.excluded:,} already labelled, "
                f"{picked.repeated:,} repeated ids)"
            )
        step(f"writing {out}")
        themes = sorted({t for s in rows.get("theme_scores", []) for t in s})
        asks_sentiment = "sentiment" in rows
        if format is LabelFormat.label_studio:
            body: object = label_studio.tasks(rows)
            side = out.with_name(out.name + ".label_config.xml")
            side_text = label_studio.label_config(themes, sentiment=asks_sentiment)
        else:
            body = argilla.records(rows)
            side = out.with_name(out.name + ".settings.json")
            side_text = json.dumps(argilla.settings(themes, sentiment=asks_sentiment), indent=2)
        write_text(out, json.dumps(body, indent=2, ensure_ascii=False) + "\n")
        write_text(side, side_text)
    skipped = f"{picked.excluded:,} already labelled, {picked.repeated:,} repeated ids skipped"
    output.result(
        f"picked {len(rows):,} of {picked.candidates:,} comments ({skipped}) with "
        f"{', '.join(f'{m.name}/{m.version}' for m in models)} -> {out} + {side.name}"
    )


@label_app.command("import")
def label_import(
    exports: Annotated[
        list[Path],
        typer.Argument(help="Annotated exports: Label Studio JSON, Argilla records (file/folder)."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Training file; format by extension.")],
    format: Annotated[
        ImportFormat, typer.Option("--format", help="auto, label-studio or argilla.")
    ] = ImportFormat.auto,
    resolve: Annotated[
        ResolveHow,
        typer.Option(
            help="majority: a field keeps the answer of more than half of its annotators; "
            "drop: leave out every item the annotators disagree on."
        ),
    ] = ResolveHow.majority,
    conflicts: Annotated[
        Path | None,
        typer.Option(help="Conflicts table (default: <out>.conflicts.csv, when there are any)."),
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option("--rejects", help="Rejected items (default: <out>.rejects.csv)."),
    ] = None,
) -> None:
    """Read annotated exports back into the training format (id, text, sentiment, themes,
    theme_sentiment), report the annotators' conflicts and agreement."""
    from cxml.data import check_paths, default_rejects_path, write_table
    from cxml.labelling.annotations import ImportSummary, resolve_items
    from cxml.labelling.formats import detect_format, read_export

    conflicts = conflicts or out.with_name(out.name + ".conflicts.csv")
    rejects = rejects or default_rejects_path(out)
    for path in exports:  # nothing overwrites an export, nor one output another
        check_paths(path, output=out, rejects=rejects)
        check_paths(path, output=conflicts)
    check_paths(conflicts, output=out, rejects=rejects)
    summary = ImportSummary()
    kind = format.value if format is not ImportFormat.auto else detect_format(exports[0])
    items = read_export(kind, exports, summary)
    result = resolve_items(items, summary, resolve.value)
    if summary.rejects:
        write_table(pd.DataFrame(summary.rejects), rejects)
        output.note(f"{summary.rejected:,} items rejected -> {rejects}")
        for bad in summary.rejects[:5]:
            output.note(f"  {Path(bad['_file']).name} item {bad['_item']}: {bad['_reason']}")
    if not len(result.rows):
        raise BadInputError(f"no annotated item to import ({summary.describe()})")
    write_table(result.rows, out)
    if len(result.conflicts):
        write_table(result.conflicts, conflicts)
        output.note(f"{len(result.conflicts):,} conflicts between annotators -> {conflicts}")
    if not output.quiet and len(result.agreement):
        output.out.print(_agreement(result.agreement))
    output.result(f"{summary.describe()} -> {out}")


def _agreement(table: pd.DataFrame) -> Table:
    shown = Table("field", "statistic", "value", "items", box=None)
    for row in table.to_dict("records"):
        value = "-" if row["value"] != row["value"] else f"{row['value']:.3f}"
        shown.add_row(str(row["field"]), str(row["statistic"]), value, f"{row['items']:,}")
    return shown


label_app.command("check")(label_check)
