"""``cxml label check DATA``: rank the rows whose label is likely wrong (cleanlab on out-of-fold
predictions, :mod:`cxml.training.label_check`)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cxml.console import output

__all__ = ["label_check"]


class CheckTask(StrEnum):
    sentiment = "sentiment"
    themes = "themes"


def label_check(
    data: Annotated[Path, typer.Argument(help="Labelled comments (CSV, JSON Lines, Parquet).")],
    task: Annotated[CheckTask, typer.Option(help="Which label to check.")] = CheckTask.sentiment,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="The task's training config: its model is the check model, its data section "
            "reads the file (default: built-in defaults, TF-IDF + logistic regression).",
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a config key: --set split.seed=7 (repeatable)."),
    ] = None,
    folds: Annotated[int, typer.Option(min=2, max=20, help="Cross-validation folds.")] = 5,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write every flagged row, ranked (CSV/JSONL/Parquet)."),
    ] = None,
    top: Annotated[int, typer.Option(min=0, help="Flagged rows to show.")] = 10,
    rejects: Annotated[
        Path | None, typer.Option("--rejects", help="Write every rejected row here.")
    ] = None,
) -> None:
    """Rank the comments whose sentiment or themes look mislabelled.

    Every row is predicted by a model trained without it (--folds); cleanlab flags rows whose
    label disagrees with those predictions, most likely first (lowest label quality). Review
    them, or train with labels.check=exclude.
    """
    from cxml.cli import _read_rows
    from cxml.config import SentimentConfig, ThemesConfig, load_config
    from cxml.contracts.fields import COMMENTS
    from cxml.data import write_table
    from cxml.training.label_check import check_labels

    cfg: SentimentConfig | ThemesConfig
    if task is CheckTask.sentiment:
        cfg = load_config(SentimentConfig, config, set_ or [])
    else:
        cfg = load_config(ThemesConfig, config, set_ or [])
    frame = _read_rows(data, COMMENTS, cfg.data, require=[task.value], rejects=rejects)
    if task is CheckTask.themes:
        frame["themes"] = frame["themes"].map(list)
    with output.steps(f"checking {task.value} labels of {data.name}") as step:
        step(f"{folds}-fold out-of-fold predictions and cleanlab")
        result = check_labels(task.value, frame, cfg, folds=folds)
        if out is not None:
            step(f"writing {out}")
            write_table(result.issues, out)
    shown = result.issues.head(top)
    if len(shown) and not output.quiet:
        table = Table("rank", "id", "given", "suggested", "quality", "text", box=None)
        for row in shown.itertuples():
            text = row.text if len(row.text) <= 60 else row.text[:57] + "..."
            quality = f"{row.quality:.3f}"
            table.add_row(str(row.rank), row.id, row.given, row.suggested, quality, text)
        output.out.print(table)
    where = f" -> {out}" if out is not None else ""
    output.result(result.describe() + where)
