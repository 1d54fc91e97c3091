"""The ``cxml`` command: every job a user runs.

Exit codes: 0 success, 1 unexpected failure, 2 bad input (config, data, model URI, options),
3 the check said no: ``cxml monitor`` found alerts, ``cxml promote --if-better`` or
``cxml retrain`` kept the champion (also: not enough data to train or compare, so the champion
stays). See :mod:`cxml.errors`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import pandas as pd
import typer
from rich.table import Table

from cxml._version import __version__
from cxml.cli.data_import import data_import
from cxml.cli.label import label_app
from cxml.cli.monitor import monitor_app
from cxml.cli.trends import trends
from cxml.config import CsatConfig, DataConfig, SentimentConfig, ThemesConfig, load_config
from cxml.console import output
from cxml.errors import SAID_NO, BadInputError, CxmlError

if TYPE_CHECKING:
    from cxml.contracts.fields import Schema
    from cxml.data import ReadSummary
    from cxml.scoring import BatchResult
    from cxml.training.common import TrainResult
    from cxml.training.compare import Comparison, Gate

app = typer.Typer(
    name="cxml",
    help="Customer-experience ML: comment sentiment and themes, ticket risk, MLflow, scoring.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
data_app = typer.Typer(help="Generate, import and check data.", no_args_is_help=True)
train_app = typer.Typer(help="Train, evaluate, log and register a model.", no_args_is_help=True)
analyze_app = typer.Typer(help="Score comment files with registered models.", no_args_is_help=True)
score_app = typer.Typer(help="Score ticket files with the registered model.", no_args_is_help=True)
models_app = typer.Typer(help="Registered models and their aliases.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(train_app, name="train")
app.add_typer(analyze_app, name="analyze")
app.add_typer(score_app, name="score")
app.add_typer(models_app, name="models")
app.add_typer(monitor_app, name="monitor")
app.add_typer(label_app, name="label")
data_app.command("import")(data_import)
app.command("trends")(trends)


class Kind(StrEnum):
    comments = "comments"
    tickets = "tickets"


class Engine(StrEnum):
    local = "local"
    spark = "spark"


class Helpdesk(StrEnum):
    zendesk = "zendesk"
    freshdesk = "freshdesk"
    intercom = "intercom"


_FLAGS_PANEL = "Flags back to the helpdesk (--format)"


EngineOpt = Annotated[
    Engine,
    typer.Option(help="local: chunked, resumable, one machine; spark: mlflow spark_udf, Parquet."),
]
MasterOpt = Annotated[str, typer.Option(help="Spark master for --engine spark.")]
PredictionLogOpt = Annotated[
    str | None,
    typer.Option(
        "--log",
        help="Prediction log (folder or fsspec URL) that gets the scored rows once the output "
        "is written, for cxml monitor.",
    ),
]


class Period(StrEnum):
    D = "D"
    W = "W"
    M = "M"
    Q = "Q"
    Y = "Y"


class Score(StrEnum):
    auto = "auto"
    csat = "csat"
    nps = "nps"


class Lang(StrEnum):
    en = "en"
    ko = "ko"
    mixed = "mixed"


ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML config (default: built-in defaults).")
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a config key: --set split.seed=7 (repeatable)."),
]
ColumnOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--column",
        help='Map a field to your column: --column text="Customer Remarks" (repeatable).',
    ),
]
EncodingOpt = Annotated[
    str | None, typer.Option(help="Input text encoding, e.g. utf-16 or cp949 (detected).")
]
DayfirstOpt = Annotated[
    bool | None,
    typer.Option(
        "--dayfirst/--monthfirst",
        help="Read dates such as 01/08/2023 day first (1 August) or month first (8 January); "
        "unset, a file with such dates stops with an error.",
        show_default=False,
    ),
]
BatchRejectsOpt = Annotated[
    Path | None,
    typer.Option("--rejects", help="Rejects file (default: <output file name>.rejects.csv)."),
]
ChunksizeOpt = Annotated[int, typer.Option(min=1, help="Rows per chunk.")]
ReadRejectsOpt = Annotated[
    Path | None,
    typer.Option(
        "--rejects", help="Write every rejected row here (default: only a summary is printed)."
    ),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cxml {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="More detail.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    output.setup(quiet=quiet, verbose=verbose)


def _columns(items: list[str] | None) -> dict[str, str]:
    mapping = {}
    for item in items or []:
        field, sep, column = item.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise BadInputError(f"--column {item!r}: expected FIELD=COLUMN, e.g. text=Remarks")
        mapping[field.strip()] = column.strip()
    return mapping


@data_app.command("synth")
def data_synth(
    kind: Annotated[Kind, typer.Argument(help="comments or tickets")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file (.csv/.jsonl/.parquet).")],
    n: Annotated[
        int | None, typer.Option("--n", min=1, help="Number of rows [default: 1000].")
    ] = None,
    lang: Annotated[Lang, typer.Option("--lang", help="Language of the texts.")] = Lang.en,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same file).")] = 0,
    open_share: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Tickets only: share still open at the end of the window (no solve, no rating); "
            "1 gives a file of open tickets to score.",
        ),
    ] = 0.0,
    start: Annotated[str, typer.Option(help="First day of the window.")] = "2026-01-01",
    weeks: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Window of whole weeks (Monday-Sunday) from the first Monday on/after --start.",
        ),
    ] = None,
    per_week: Annotated[
        int | None, typer.Option(min=1, help="Rows per week of --weeks (instead of --n).")
    ] = None,
    drift: Annotated[
        str | None,
        typer.Option(
            help="Inject a change: category_surge, slow_queues, language_mix (needs --lang "
            "mixed) or new_theme (docs/synthetic_data.md)."
        ),
    ] = None,
    drift_week: Annotated[
        int, typer.Option(min=0, help="First changed week; week 0 holds --start's Monday.")
    ] = 0,
    drift_strength: Annotated[float, typer.Option(help="Scales the change (> 0).")] = 1.0,
    drift_target: Annotated[
        str | None,
        typer.Option(help="The surging category (tickets) or theme (comments); the slow channel."),
    ] = None,
    spike: Annotated[
        bool,
        typer.Option(help="The built-in delivery spike from 35 % to 50 % of the window."),
    ] = True,
    binary_ratings: Annotated[
        bool, typer.Option(help="Tickets only: ratings as good / bad (1-2 bad, 3-5 good).")
    ] = False,
    stations: Annotated[
        bool, typer.Option(help="Tickets only: add group_stations and assignee_stations.")
    ] = False,
) -> None:
    """Generate realistic synthetic comments or tickets (deterministic for a seed).

    Rows are created from --start (2026-01-01) over 180 days, or over --weeks; open tickets are
    seen as of the window's end (2026-06-30), so score them with --as-of 2026-07-01. For a
    monitoring stream: --weeks 16 --per-week 1000 --no-spike [--drift KIND --drift-week 8].
    """
    import numpy as np

    from cxml.data import write_table
    from cxml.data.synth import Drift, make_comments, make_tickets
    from cxml.data.synth.drift import DriftKind

    if kind == Kind.comments and (open_share or binary_ratings or stations):
        raise BadInputError(
            "--open-share, --binary-ratings and --stations apply to tickets, not comments"
        )
    if per_week is not None and (weeks is None or n is not None):
        raise BadInputError("--per-week needs --weeks and replaces --n")
    if drift is None and drift_target is not None:
        raise BadInputError("--drift-target needs --drift")
    days, rows = 180, n or 1000
    try:
        if weeks is not None:
            monday = np.busday_offset(np.datetime64(start, "D"), 0, roll="forward", weekmask="Mon")
            start, days, rows = str(monday), 7 * weeks, weeks * per_week if per_week else rows
        change = None
        if drift is not None:
            change = Drift(cast("DriftKind", drift), drift_week, drift_strength, drift_target)
        with output.steps(f"generating {rows:,} {kind.value}"):
            if kind == Kind.comments:
                frame = make_comments(
                    rows,
                    lang=lang.value,
                    seed=seed,
                    start=start,
                    days=days,
                    drift=change,
                    spike=spike,
                )
            else:
                frame = make_tickets(
                    rows,
                    lang=lang.value,
                    seed=seed,
                    start=start,
                    days=days,
                    open_share=open_share,
                    drift=change,
                    spike=spike,
                    binary_ratings=binary_ratings,
                    stations=stations,
                )
    except ValueError as exc:
        raise BadInputError(str(exc)) from exc
    path = write_table(frame, out)
    opened = f", {int(frame['rating'].isna().sum()):,} open" if kind == Kind.tickets else ""
    output.result(f"wrote {len(frame):,} synthetic {kind.value} ({lang.value}{opened}) to {path}")
    if change is not None:
        first_day = change.first_day(np.datetime64(start, "s"))
        output.result(f"{change.kind} from week {change.week} ({first_day})")


@data_app.command("validate")
def data_validate(
    file: Annotated[Path, typer.Argument(help="File to check.")],
    kind: Annotated[Kind, typer.Option("--kind", help="Which contract.")] = Kind.comments,
    column: ColumnOpt = None,
    require: Annotated[
        list[str] | None, typer.Option("--require", help="Fields every row needs (repeatable).")
    ] = None,
    encoding: EncodingOpt = None,
    dayfirst: DayfirstOpt = None,
    rejects: ReadRejectsOpt = None,
) -> None:
    """Check a file against the data contract: counts, and the reasons rows are rejected.

    Nothing is written unless --rejects names a file for the rejected rows.
    """
    from cxml.contracts.fields import get_schema
    from cxml.data import read_valid

    config = DataConfig(columns=_columns(column), encoding=encoding, dayfirst=dayfirst)
    with output.steps(f"validating {file}"):
        _, summary, rejects_path = read_valid(
            file, get_schema(kind.value), config=config, require=require or (), rejects=rejects
        )
    _rejected_note(summary, rejects_path)
    where = f"; rejects in {rejects_path}" if rejects_path else ""
    output.result(f"{file}: {summary.describe()}{where}")


def _require_rows(file: Path, summary: ReadSummary) -> None:
    """Stop (exit 2) when ``file`` has no usable row, saying why: an empty table answers nothing."""
    if summary.good:
        return
    if not summary.rejected:
        raise BadInputError(f"{file}: no rows to work on")
    why = "\n".join(f"  {line}" for line in summary.explain())
    raise BadInputError(f"{file}: every row was rejected ({summary.describe()}):\n{why}")


def _read_rows(
    file: Path,
    schema: Schema,
    config: DataConfig,
    *,
    require: list[str] | None = None,
    rejects: Path | None = None,
) -> pd.DataFrame:
    """The good rows of ``file`` for an analysis: counts and reasons printed, exit 2 when none."""
    from cxml.data import read_valid

    frame, summary, rejects_path = read_valid(
        file, schema, config=config, require=require or (), rejects=rejects
    )
    output.note(f"data: {summary.describe()}")
    _require_rows(file, summary)
    _rejected_note(summary, rejects_path)
    return frame


def _rejected_note(summary: ReadSummary, rejects: Path | None, *, option: bool = True) -> None:
    """Without a rejects file, the most common reasons rows were rejected, with examples."""
    if not summary.rejected or rejects is not None:
        return
    for line in summary.explain():
        output.note(f"  {line}")
    if option:
        output.note("  (--rejects FILE writes every rejected row)")


def _train(
    title: str,
    pipeline: Callable[..., TrainResult],
    config: SentimentConfig | ThemesConfig | CsatConfig,
    data: Path | None,
    summary: Callable[[dict[str, float]], str],
) -> None:
    """Run a training pipeline under step output, then print the data notes and one line:
    ``<summary> in <seconds>s; run <id>; registered <name> v<version> [aliases]``.

    A run without metrics (zero-shot themes) read no data: no notes, and no time on that line.
    """
    started = time.perf_counter()
    with output.steps(title) as step:
        result = pipeline(config, data=data, on_step=step)
    line = summary(result.metrics)
    if result.metrics:
        output.note(f"data: {result.data.describe()}")
        if result.rejects:
            output.note(f"rejected rows: {result.rejects}")
        line += f" in {time.perf_counter() - started:.0f}s"
    reg = result.registered
    where = f"registered {reg.name} v{reg.version} {list(reg.aliases)}" if reg else "not registered"
    output.result(f"{line}; run {result.run_id}; {where}")


@train_app.command("sentiment")
def train_sentiment(
    config: ConfigOpt = None,
    data: Annotated[Path | None, typer.Option("--data", "-d", help="Training file.")] = None,
    set_: SetOpt = None,
) -> None:
    """Train the comment sentiment model and register it as cxml-sentiment (challenger)."""
    from cxml.training.sentiment import train_sentiment as run

    def summary(m: dict[str, float]) -> str:
        return f"sentiment: val accuracy {m['val_accuracy']:.3f}, macro-F1 {m['val_macro_f1']:.3f}"

    cfg = load_config(SentimentConfig, config, set_ or [])
    _train("training sentiment", run, cfg, data, summary)


@train_app.command("themes")
def train_themes(
    config: ConfigOpt = None,
    data: Annotated[Path | None, typer.Option("--data", "-d", help="Training file.")] = None,
    taxonomy: Annotated[
        Path | None,
        typer.Option(
            "--taxonomy",
            help="Taxonomy YAML: zero-shot themes without --data, few-shot with it "
            "(e.g. configs/taxonomy/cx_default.yaml).",
        ),
    ] = None,
    set_: SetOpt = None,
) -> None:
    """Train the theme and theme-sentiment models; register them as cxml-themes (challenger)."""
    from cxml.training.themes import train_themes as run

    overrides = [*(set_ or []), *([f"taxonomy={taxonomy}"] if taxonomy else [])]
    cfg = load_config(ThemesConfig, config, overrides)

    def summary(m: dict[str, float]) -> str:
        if not m:
            return f"themes: zero-shot from {cfg.taxonomy}"
        sentiment = (
            f", theme sentiment accuracy {m['val_theme_sentiment_accuracy']:.3f}"
            if "val_theme_sentiment_accuracy" in m
            else ""
        )
        return (
            f"themes: val micro-F1 {m['val_theme_micro_f1']:.3f}, macro-F1 "
            f"{m['val_theme_macro_f1']:.3f}{sentiment}"
        )

    _train("training themes", run, cfg, data, summary)


@train_app.command("csat")
def train_csat(
    config: ConfigOpt = None,
    data: Annotated[Path | None, typer.Option("--data", "-d", help="Rated tickets file.")] = None,
    column: ColumnOpt = None,
    allow_leak: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-leak",
            help="Train although the leakage audit suspects this field (repeatable; logged with "
            "the run; see docs/leakage.md).",
        ),
    ] = None,
    set_: SetOpt = None,
) -> None:
    """Train the ticket bad-rating model and register it as cxml-csat (challenger).

    Before fitting, the fields the model reads are audited for traces of the survey; a suspected
    leak stops training (exit 2) unless allowed with --allow-leak.
    """
    from cxml.training.csat import train_csat as run

    def summary(m: dict[str, float]) -> str:
        return (
            f"csat: newest tickets ROC-AUC {m['val_roc_auc']:.3f} (logistic regression "
            f"{m['val_logistic_roc_auc']:.3f}), average precision "
            f"{m['val_average_precision']:.3f}, ECE {m['val_ece']:.3f}; flags "
            f"{m['val_flagged_share']:.0%} at precision {m['val_precision_at_policy']:.2f}, "
            f"recall {m['val_recall_at_policy']:.2f}"
        )

    cfg = load_config(CsatConfig, config, set_ or [])
    if column:
        cfg.data.columns = {**cfg.data.columns, **_columns(column)}
    if allow_leak:
        cfg.features.allow_leaks = list(dict.fromkeys([*cfg.features.allow_leaks, *allow_leak]))
    _train("training the ticket bad-rating model", run, cfg, data, summary)


@score_app.command("tickets")
def score_tickets(
    file: Annotated[Path, typer.Argument(help="Tickets file (CSV, JSON Lines, Parquet, Excel).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file; format by extension.")],
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="models:/NAME@ALIAS, a run URI or a folder (default: the cxml-csat champion).",
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Scoring moment of open tickets, ISO 8601 (default: now)."),
    ] = None,
    column: ColumnOpt = None,
    encoding: EncodingOpt = None,
    dayfirst: DayfirstOpt = None,
    rejects: BatchRejectsOpt = None,
    chunksize: ChunksizeOpt = 10_000,
    engine: EngineOpt = Engine.local,
    master: MasterOpt = "local[2]",
    log: PredictionLogOpt = None,
    helpdesk: Annotated[
        Helpdesk | None,
        typer.Option(
            "--format",
            help="Write the requests that flag the tickets in this helpdesk to --out (JSON "
            "Lines, one request a line) instead of the scored table.",
            rich_help_panel=_FLAGS_PANEL,
        ),
    ] = None,
    tag: Annotated[
        str | None,
        typer.Option(
            help="Zendesk: tag of tickets at risk (default cxml_at_risk); Intercom: the tag's id.",
            rich_help_panel=_FLAGS_PANEL,
        ),
    ] = None,
    probability_field: Annotated[
        str | None,
        typer.Option(
            help="Field that gets the probability: Zendesk numeric field id, Freshdesk cf_ "
            "name, Intercom attribute.",
            rich_help_panel=_FLAGS_PANEL,
        ),
    ] = None,
    flag_field: Annotated[
        str | None,
        typer.Option(
            help="Field that gets at_risk (true/false): Zendesk checkbox id, Freshdesk cf_ "
            "name, Intercom attribute.",
            rich_help_panel=_FLAGS_PANEL,
        ),
    ] = None,
    admin_id: Annotated[
        str | None,
        typer.Option(help="Intercom: the admin who applies --tag.", rich_help_panel=_FLAGS_PANEL),
    ] = None,
) -> None:
    """Add bad_rating_probability, at_risk and reasons to every ticket of a file.

    With --format, --out gets ready-to-send helpdesk requests instead (see docs/connectors.md).
    An interrupted run (even killed) continues where it stopped when run again.
    """
    from cxml.connectors.flags import FlagTarget
    from cxml.contracts.times import parse_instant
    from cxml.scoring import score_tickets_file

    moment = None if as_of is None else parse_instant(as_of, name="--as-of")
    config = DataConfig(columns=_columns(column), encoding=encoding, dayfirst=dayfirst)
    flags = None
    if helpdesk is not None:
        flags = FlagTarget(helpdesk.value, tag, probability_field, flag_field, admin_id)
    elif (tag, probability_field, flag_field, admin_id) != (None,) * 4:
        raise BadInputError(
            "--tag, --probability-field, --flag-field and --admin-id go with --format"
        )
    if engine is Engine.spark:
        if flags is not None:
            raise BadInputError("--format writes requests with --engine local only")
        _spark(file, out, "tickets", [model] if model else None, moment, config, master, log)
        return
    _batch(
        file,
        "tickets",
        lambda advance: score_tickets_file(
            file,
            out,
            model=model,
            as_of=moment,
            config=config,
            rejects=rejects,
            chunksize=chunksize,
            on_rows=advance,
            log=log,
            flags=flags,
        ),
    )


@analyze_app.command("comments")
def analyze_comments(
    file: Annotated[Path, typer.Argument(help="Comments file (CSV, JSON Lines, Parquet, Excel).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file; format by extension.")],
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            help="models:/NAME@ALIAS, a run URI or a folder (repeatable; default: the "
            "champions of cxml-sentiment and cxml-themes that are registered).",
        ),
    ] = None,
    column: ColumnOpt = None,
    encoding: EncodingOpt = None,
    dayfirst: DayfirstOpt = None,
    rejects: BatchRejectsOpt = None,
    chunksize: ChunksizeOpt = 10_000,
    engine: EngineOpt = Engine.local,
    master: MasterOpt = "local[2]",
    log: PredictionLogOpt = None,
    evidence: Annotated[
        bool,
        typer.Option(
            "--evidence",
            help="Add an 'evidence' column: the words behind each prediction, with their "
            "character offsets (docs/evidence.md).",
        ),
    ] = False,
) -> None:
    """Add sentiment, themes and theme-level sentiment to every comment of a file.

    An interrupted run (even killed) continues where it stopped when run again.
    """
    from cxml.scoring import analyze_comments_file

    config = DataConfig(columns=_columns(column), encoding=encoding, dayfirst=dayfirst)
    if engine is Engine.spark:
        if evidence:
            raise BadInputError("--evidence is not available with --engine spark; score locally")
        _spark(file, out, "comments", model, None, config, master, log)
        return
    _batch(
        file,
        "comments",
        lambda advance: analyze_comments_file(
            file,
            out,
            models=model,
            config=config,
            rejects=rejects,
            chunksize=chunksize,
            on_rows=advance,
            log=log,
            evidence=evidence,
        ),
    )


def _batch(file: Path, what: str, job: Callable[[Callable[[int], None]], BatchResult]) -> None:
    """Run a batch ``job`` (given the progress callback) under a progress bar over ``file``'s
    rows, then print its counts and summary."""
    from cxml.data.io import count_rows

    started = time.perf_counter()
    with output.rows(f"scoring {file.name}", count_rows(file)) as advance:
        result = job(advance)
    seconds = time.perf_counter() - started
    output.note(f"data: {result.data.describe()}")
    for note in result.notes:
        output.note(note)
    if result.resumed:
        output.note("resumed from the checkpoint of an interrupted run")
    where = f"; {result.data.rejected:,} rejects in {result.rejects}" if result.rejects else ""
    rate = result.rows / max(seconds, 1e-9)
    requests = (
        ""
        if result.requests is None
        else f"{result.requests:,} request{'' if result.requests == 1 else 's'} "
    )
    output.result(
        f"scored {result.rows:,} {what} with {', '.join(result.models)} in {seconds:.1f}s "
        f"({rate:,.{0 if rate >= 10 else 1}f} rows/s) -> {requests}{result.output}{where}"
    )


def _spark(
    file: Path,
    out: Path,
    task: str,
    models: list[str] | None,
    as_of: pd.Timestamp | None,
    config: DataConfig,
    master: str,
    log: str | None,
) -> None:
    from cxml.scoring.spark import score_with_spark

    started = time.perf_counter()
    with output.steps(f"scoring {file.name} on Spark ({master})") as step:
        step("starting Spark and scoring")
        result = score_with_spark(
            file,
            out,
            task=task,
            models=models,
            as_of=as_of,
            config=config,
            master=master,
            log=log,
        )
    for note in result.notes:
        output.note(note)
    where = f"; {result.rejected:,} rejects in {result.rejects}" if result.rejects else ""
    output.result(
        f"scored {result.rows:,} {task} on Spark with {', '.join(result.models)} in "
        f"{time.perf_counter() - started:.1f}s -> {result.output}/ (Parquet){where}"
    )


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Processes; each loads the models.")] = 1,
    sentiment_model: Annotated[
        str | None, typer.Option(help="Sentiment model URI ('' = none; env CXML_SENTIMENT_MODEL).")
    ] = None,
    themes_model: Annotated[
        str | None, typer.Option(help="Themes model URI ('' = none; env CXML_THEMES_MODEL).")
    ] = None,
    csat_model: Annotated[
        str | None, typer.Option(help="Ticket model URI ('' = none; env CXML_CSAT_MODEL).")
    ] = None,
    reload_seconds: Annotated[
        float | None, typer.Option(min=0, help="How often to check for moved aliases; 0: never.")
    ] = None,
    max_body_bytes: Annotated[int | None, typer.Option(min=1024, help="Largest body.")] = None,
    max_batch: Annotated[int | None, typer.Option(min=1, help="Most items a request.")] = None,
    log: Annotated[
        str | None,
        typer.Option(help="Prediction log folder or URL ('' = none; env CXML_PREDICTION_LOG)."),
    ] = None,
    graceful_seconds: Annotated[
        int, typer.Option(min=0, help="Time given to requests in flight on shutdown.")
    ] = 30,
) -> None:
    """Serve comment analysis and ticket scoring over HTTP (API key from CXML_API_KEY)."""
    from cxml.scoring.service import serve as run
    from cxml.scoring.settings import ServiceSettings

    given = {
        "sentiment_model": sentiment_model,
        "themes_model": themes_model,
        "csat_model": csat_model,
        "reload_seconds": reload_seconds,
        "max_body_bytes": max_body_bytes,
        "max_batch": max_batch,
        "log": log,
    }
    overrides = {
        k: (v or None) if k.endswith("_model") or k == "log" else v
        for k, v in given.items()
        if v is not None
    }
    base = ServiceSettings.from_env()
    settings = ServiceSettings.model_validate(base.model_dump() | overrides)
    run(host, port, settings=settings, workers=workers, graceful_seconds=graceful_seconds)


@app.command("discover")
def discover(
    file: Annotated[Path, typer.Argument(help="Comments file (CSV, JSON Lines, Parquet, Excel).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the outputs.")],
    column: ColumnOpt = None,
    max_themes: Annotated[int, typer.Option(min=2, help="Most themes to find.")] = 40,
    min_theme_size: Annotated[int, typer.Option(min=2, help="Fewest comments a theme.")] = 10,
    taxonomy: Annotated[
        Path | None,
        typer.Option(
            help="Known themes to keep (a taxonomy YAML, e.g. a taxonomy.yaml written "
            "here, renamed, merged or split); only the rest becomes new themes."
        ),
    ] = None,
    encoding: EncodingOpt = None,
    dayfirst: DayfirstOpt = None,
    rejects: ReadRejectsOpt = None,
) -> None:
    """Find the themes customers talk about; writes assignments, themes.csv and taxonomy.yaml.

    Deterministic: the same rows in any order give the same themes. Rename the themes in
    taxonomy.yaml, then classify with: cxml train themes --taxonomy DIR/taxonomy.yaml, or
    re-run with --taxonomy DIR/taxonomy.yaml to keep them (with their ids) and add new ones.
    """
    from cxml.comments.zeroshot import load_taxonomy
    from cxml.contracts.fields import COMMENTS
    from cxml.data import read_valid
    from cxml.discovery import discover as run
    from cxml.discovery import write_discovery

    known = load_taxonomy(taxonomy) if taxonomy else None
    config = DataConfig(columns=_columns(column), encoding=encoding, dayfirst=dayfirst)
    frame, summary, rejects_path = read_valid(
        file, COMMENTS, config=config, require=["text"], rejects=rejects
    )
    output.note(f"data: {summary.describe()}")
    _rejected_note(summary, rejects_path)
    with output.steps(f"discovering themes in {file.name}") as step:
        step("encoding and clustering")
        result = run(frame, max_themes=max_themes, min_theme_size=min_theme_size, taxonomy=known)
        step("writing")
        paths = write_discovery(result, out)
    table = Table("theme", "id", "status", "size", "share", box=None)
    for row in result.themes.itertuples():
        table.add_row(
            str(row.theme), str(row.id), str(row.status), f"{row.size:,}", f"{row.share:.1%}"
        )
    if not output.quiet:
        output.out.print(table)
    where = f"; rejects in {rejects_path}" if rejects_path else ""
    output.result(
        f"{len(result.themes)} themes, {result.outlier_share:.1%} outliers -> "
        f"{', '.join(str(p) for p in paths.values())}{where}"
    )


@app.command("metrics")
def metrics(
    file: Annotated[Path, typer.Argument(help="Survey answers or tickets (any table format).")],
    metric: Annotated[
        str, typer.Option(help="csat, nps, ces, fcr, resolution_time, retention, churn, referral.")
    ] = "csat",
    kind: Annotated[Kind, typer.Option(help="What the file holds.")] = Kind.comments,
    by: Annotated[list[str] | None, typer.Option(help="Segment column (repeatable).")] = None,
    period: Annotated[Period | None, typer.Option(help="Calendar period.")] = Period.M,
    min_count: Annotated[int, typer.Option(min=1, help="Fewest answers for a value.")] = 30,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the table here.")] = None,
    column: ColumnOpt = None,
    encoding: EncodingOpt = None,
    dayfirst: DayfirstOpt = None,
    rejects: ReadRejectsOpt = None,
) -> None:
    """CX metrics by segment and period, each with a 95 % confidence interval."""
    from cxml.contracts.fields import get_schema
    from cxml.data import write_table
    from cxml.metrics import metric_table

    config = DataConfig(columns=_columns(column), encoding=encoding, dayfirst=dayfirst)
    frame = _read_rows(file, get_schema(kind.value), config, rejects=rejects)
    table = metric_table(
        frame,
        metric,  # type: ignore[arg-type]
        by=by or (),
        period=period.value if period else None,
        min_count=min_count,
    )
    if out:
        write_table(table, out)
    if not output.quiet:
        output.out.print(table.to_string(index=False))
    output.result(f"{metric}: {len(table)} rows" + (f" -> {out}" if out else ""))


@app.command("drivers")
def drivers(
    file: Annotated[Path, typer.Argument(help="Analysed comments with themes and a rating.")],
    score: Annotated[str, typer.Option(help="csat (ratings 1-5) or nps (0-10).")] = "csat",
    min_count: Annotated[int, typer.Option(min=1, help="Fewest comments a theme.")] = 30,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the table here.")] = None,
    column: ColumnOpt = None,
    encoding: EncodingOpt = None,
    dayfirst: DayfirstOpt = None,
    rejects: ReadRejectsOpt = None,
) -> None:
    """Rank themes by how much they pull the score down, with significance."""
    from cxml.contracts.fields import COMMENTS
    from cxml.data import write_table
    from cxml.metrics import driver_table

    config = DataConfig(columns=_columns(column), encoding=encoding, dayfirst=dayfirst)
    frame = _read_rows(file, COMMENTS, config, require=["rating"], rejects=rejects)
    table = driver_table(frame, score=score, min_count=min_count)  # type: ignore[arg-type]
    if table.empty:
        raise BadInputError(
            f"{file}: no themes to rank: no comment has both a theme and a rating on the "
            f"{score} scale; analyse the comments with a themes model first (cxml analyze)"
        )
    if out:
        write_table(table, out)
    if not output.quiet:
        shown = ["theme", "count", "impact", "bad_with", "bad_without", "q_value", "importance"]
        output.out.print(table[shown].to_string(index=False))
    output.result(f"drivers of {score}: {len(table)} themes" + (f" -> {out}" if out else ""))


@app.command("report")
def report(
    file: Annotated[Path, typer.Argument(help="Analysed comments (from cxml analyze comments).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file; CSVs go beside it.")] = Path(
        "report.html"
    ),
    tickets: Annotated[
        Path | None,
        typer.Option(help="Tickets (scored by cxml score tickets for the at-risk share)."),
    ] = None,
    discovered: Annotated[
        Path | None, typer.Option(help="Folder written by cxml discover (reads its themes.csv).")
    ] = None,
    title: Annotated[str, typer.Option(help="Page title.")] = "Customer experience report",
    period: Annotated[Period, typer.Option(help="Period of the figures over time.")] = Period.M,
    segment: Annotated[str | None, typer.Option(help="Break figures down by this column.")] = None,
    score: Annotated[Score, typer.Option(help="csat (1-5), nps (0-10) or auto.")] = Score.auto,
    min_count: Annotated[int, typer.Option(min=1, help="Fewest observations a figure.")] = 30,
    column: ColumnOpt = None,
    dayfirst: DayfirstOpt = None,
) -> None:
    """One self-contained HTML report (charts embedded, personal data redacted) and CSVs."""
    from cxml.contracts.fields import COMMENTS, TICKETS
    from cxml.data import read_valid
    from cxml.report import build_report

    themes_csv = discovered / "themes.csv" if discovered else None
    if themes_csv is not None and not themes_csv.is_file():
        raise BadInputError(
            f"{discovered}: no themes.csv; point --discovered at a discovery folder"
        )
    config = DataConfig(columns=_columns(column), dayfirst=dayfirst)
    comments, summary, _ = read_valid(file, COMMENTS, config=config)
    output.note(f"data: {summary.describe()}")
    _require_rows(file, summary)
    _rejected_note(summary, None, option=False)
    ticket_frame = None
    if tickets is not None:
        ticket_frame, ticket_summary, _ = read_valid(
            tickets, TICKETS, config=DataConfig(dayfirst=dayfirst)
        )
        output.note(f"tickets: {ticket_summary.describe()}")
        _require_rows(tickets, ticket_summary)
        _rejected_note(ticket_summary, None, option=False)
    with output.steps("building the report") as step:
        step("metrics, drivers, charts")
        result = build_report(
            comments,
            out=out,
            tickets=ticket_frame,
            discovered=pd.read_csv(themes_csv) if themes_csv else None,
            title=title,
            period=period.value,
            segment=segment,
            score=score.value,
            min_count=min_count,
        )
    output.result(f"wrote {result.html} and {len(result.tables)} CSV files beside it")


@models_app.command("list")
def models_list() -> None:
    """Registered models, versions and aliases in the current MLflow store."""
    from cxml.tracking import list_models, tracking_uri

    rows = list_models()
    if not rows:
        output.result(f"no registered models in {tracking_uri()}")
        return
    table = Table("model", "version", "aliases", "run", box=None)
    for mv in rows:
        table.add_row(mv.name, mv.version, ", ".join(mv.aliases) or "-", mv.run_id or "-")
    if not output.quiet:
        output.out.print(table)


class Task(StrEnum):
    csat = "csat"
    sentiment = "sentiment"
    themes = "themes"


MarginOpt = Annotated[
    float | None,
    typer.Option(
        min=0,
        help="How much worse the challenger may be in the decisive metric (csat ROC-AUC, "
        "sentiment macro-F1, themes micro-F1) and still be promoted (default: 0.01).",
    ),
]


def _task_config(
    task: str, config: Path | None, set_: list[str] | None
) -> SentimentConfig | ThemesConfig | CsatConfig:
    if task == "csat":
        return load_config(CsatConfig, config, set_ or [])
    if task == "sentiment":
        return load_config(SentimentConfig, config, set_ or [])
    return load_config(ThemesConfig, config, set_ or [])


def _show_comparison(comparison: Comparison) -> None:
    """Rows compared, then a table: the tested metrics first, then the others, untested."""
    c, a, b = comparison, comparison.champion, comparison.challenger
    output.note(
        f"compared on {c.source}: {c.rows_used:,} labelled rows ({c.rows_read:,} read, "
        f"{c.rows_rejected:,} rejected)"
    )
    head = ("metric", f"champion v{a.version}", f"challenger v{b.version}", "difference")
    table = Table(*head, "95 % CI", "p", "test", box=None)
    for t in c.tests:
        ci = "-" if pd.isna(t.ci_low) else f"{t.ci_low:+.4f} to {t.ci_high:+.4f}"
        row = (f"{t.champion:.4f}", f"{t.challenger:.4f}", f"{t.diff:+.4f}")
        table.add_row(t.metric, *row, ci, f"{t.p_value:.3g}", t.test)
    tested = {t.metric for t in c.tests}
    for name, value in a.metrics.items():
        if name not in tested and name in b.metrics:
            other = b.metrics[name]
            table.add_row(name, f"{value:.4f}", f"{other:.4f}", f"{other - value:+.4f}", "-", "-")
    if not output.quiet:
        output.out.print(table)


def _show_gate(gate: Gate) -> None:
    """The comparison and the decision; exit 3 when the champion was kept."""
    _show_comparison(gate.comparison)
    a, b = gate.comparison.champion, gate.comparison.challenger
    output.note(f"comparison logged: run {gate.run_id} (experiment cxml-gate)")
    if gate.decision.promote:
        output.result(f"promoted {b.name} v{b.version} to champion: {gate.decision.reason}")
        return
    output.result(f"kept champion {a.name} v{a.version}: {gate.decision.reason}")
    raise typer.Exit(SAID_NO)


@app.command("evaluate")
def evaluate(
    task: Annotated[Task, typer.Argument(help="csat, sentiment or themes.")],
    data: Annotated[Path, typer.Option("--data", "-d", help="Labelled file to compare on.")],
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            help="Model URI, twice: the reference (as champion), then the candidate "
            "(default: the registered champion and challenger of the task's model).",
        ),
    ] = None,
    margin: MarginOpt = None,
    json_: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Score two models on the same labelled rows and test the differences (paired tests)."""
    import json
    from dataclasses import asdict

    from cxml.training.compare import DEFAULT_MARGIN, compare_models, contenders

    cfg = _task_config(task, config, set_)
    if model and len(model) != 2:
        raise BadInputError(f"--model: give two models (champion, challenger), got {len(model)}")
    champion, challenger = model or contenders(cfg.registry.name)
    with output.steps(f"comparing {task} models") as step:
        step("reading, scoring and testing")
        comparison = compare_models(task, data, champion, challenger, config=cfg)
    decision = comparison.decide(DEFAULT_MARGIN if margin is None else margin)
    if json_:
        typer.echo(json.dumps({**comparison.to_dict(), "decision": asdict(decision)}, indent=2))
        return
    _show_comparison(comparison)
    verdict = "would promote" if decision.promote else "would keep the champion"
    output.result(f"{verdict}: {decision.reason}")


@app.command("promote")
def promote(
    name: Annotated[
        str,
        typer.Argument(
            help="Registered model, e.g. cxml-sentiment; with --if-better also a task "
            "(csat, sentiment, themes: its configured model name)."
        ),
    ],
    version: Annotated[
        str | None, typer.Option(help="Version to promote (default: the challenger).")
    ] = None,
    if_better: Annotated[
        bool,
        typer.Option(
            "--if-better",
            help="Only if a paired test on --data shows the challenger is not worse than the "
            "champion by more than --margin (logged to MLflow, experiment cxml-gate); "
            "else exit 3, the champion unchanged.",
        ),
    ] = False,
    data: Annotated[
        Path | None, typer.Option("--data", "-d", help="Labelled rows for --if-better.")
    ] = None,
    margin: MarginOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Make a version (by default the challenger) the champion that scoring uses."""
    from cxml.tracking import promote as run

    if if_better:
        if data is None:
            raise BadInputError("--if-better needs --data FILE: labelled rows to compare on")
        _promote_if_better(name, version, data, margin, config, set_)
        return
    if data is not None or margin is not None or config is not None or set_:
        raise BadInputError("--data, --margin, --config and --set go with --if-better")
    mv = run(name, version)
    output.result(f"{mv.name} v{mv.version} is now champion")


def _promote_if_better(
    target: str,
    version: str | None,
    data: Path,
    margin: float | None,
    config: Path | None,
    set_: list[str] | None,
) -> None:
    from cxml.tracking import load_model
    from cxml.tracking.pyfunc import TASK_MODEL_NAMES
    from cxml.training.compare import DEFAULT_MARGIN, apply_gate, compare_models, contenders

    if target in Task.__members__:
        task = target
        cfg = _task_config(task, config, set_)
        name = cfg.registry.name
    else:
        name = target
        tasks = {model: task for task, model in TASK_MODEL_NAMES.items()}
        task = tasks.get(name) or load_model(name).task
        cfg = _task_config(task, config, set_)
    champion, challenger = contenders(name, version)
    if champion == challenger:
        output.result(f"{challenger.removeprefix('models:/')} is already champion")
        return
    with output.steps(f"comparing {name} champion and challenger") as step:
        step("reading, scoring and testing")
        comparison = compare_models(task, data, champion, challenger, config=cfg)
        step("logging the comparison")
        gate = apply_gate(
            comparison, config=cfg, margin=DEFAULT_MARGIN if margin is None else margin
        )
    _show_gate(gate)


@app.command("retrain")
def retrain(
    task: Annotated[Task, typer.Argument(help="csat, sentiment or themes.")],
    data: Annotated[Path, typer.Option("--data", "-d", help="Labelled training file.")],
    eval_data: Annotated[
        Path | None,
        typer.Option(
            "--eval-data",
            help="Newer labelled rows to judge the challenger on (rows also in --data are "
            "left out); default: hold out part of --data (see --holdout).",
        ),
    ] = None,
    holdout: Annotated[
        float | None,
        typer.Option(
            min=0.05,
            max=0.5,
            help="Share of --data held out from training to judge the challenger, the newest "
            "by created_at (default: 0.2).",
        ),
    ] = None,
    margin: MarginOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Train a challenger, compare it with the champion on labelled rows it never saw, and
    promote it only if it is not worse: exit 0 promoted (or the first champion), 3 kept."""
    from cxml.training.compare import DEFAULT_MARGIN
    from cxml.training.retrain import DEFAULT_HOLDOUT
    from cxml.training.retrain import retrain as run

    cfg = _task_config(task, config, set_)
    with output.steps(f"retraining {task}") as step:
        result = run(
            task,
            data,
            config=cfg,
            eval_data=eval_data,
            holdout=DEFAULT_HOLDOUT if holdout is None else holdout,
            margin=DEFAULT_MARGIN if margin is None else margin,
            on_step=step,
        )
    training, registered = result.training, result.training.registered
    output.note(f"data: {training.data.describe()}")
    assert registered is not None  # retraining always registers
    output.note(f"trained {registered.name} v{registered.version}; run {training.run_id}")
    if result.gate is None:
        output.result(f"no champion yet: {registered.name} v{registered.version} is now champion")
        return
    _show_gate(result.gate)


@app.command("demo")
def demo(
    rows: Annotated[int, typer.Option(min=500, help="Comments to generate for training.")] = 4000,
) -> None:
    """Generate data, train and register a model, score a file: all in the current folder."""
    from cxml.cli.demo import run_demo

    run_demo(Path.cwd(), rows=rows)


def main() -> None:
    """Entry point of the ``cxml`` console script: maps errors to exit codes.

    Typer itself handles usage errors (exit 2), ``--help`` and ``--version``.
    """
    try:
        app()
    except CxmlError as exc:
        output.error(str(exc))
        raise SystemExit(exc.exit_code) from None
    except Exception as exc:
        if output.verbose:
            output.err.print_exception()
        output.error(f"unexpected failure: {type(exc).__name__}: {exc} (run with -v for details)")
        raise SystemExit(1) from None
