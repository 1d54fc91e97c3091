"""``cxml monitor tickets|comments``: drift, estimated and realized performance, alerts.

Exit codes: 0 no alert, 3 at least one alert (a scheduler can page on it), 2 bad input, 1 an
unexpected failure.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from cxml.console import output
from cxml.errors import SAID_NO, BadInputError

if TYPE_CHECKING:
    from cxml.monitoring.monitor import MonitorResult

__all__ = ["monitor_app"]

monitor_app = typer.Typer(
    help="Watch scored rows for drift and estimated or realized performance; exit 3 on alerts.",
    no_args_is_help=True,
)


class MonitorPeriod(StrEnum):
    D = "D"
    W = "W"
    M = "M"


LogOpt = Annotated[
    str | None,
    typer.Option("--log", help="Prediction log (folder or fsspec URL) written by --log scoring."),
]
ScoredOpt = Annotated[
    Path | None,
    typer.Option(
        "--scored", help="A file scored by cxml score / analyze instead of a log (by created_at)."
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(help="Model whose reference profile and rows to use (default: the champion)."),
]
PeriodOpt = Annotated[MonitorPeriod, typer.Option(help="Period: D, W (Monday to Sunday) or M.")]
SinceOpt = Annotated[str | None, typer.Option("--since", help="First moment (ISO 8601, UTC).")]
UntilOpt = Annotated[str | None, typer.Option("--until", help="End moment, excluded.")]
AlphaOpt = Annotated[
    float, typer.Option(min=1e-6, max=0.5, help="Chance a period without change alerts.")
]
OutOpt = Annotated[
    Path | None, typer.Option("--out", "-o", help="Tidy table of every figure (CSV or Parquet).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
ReportOpt = Annotated[Path | None, typer.Option(help="Write an HTML monitoring report here.")]
TrackOpt = Annotated[
    bool, typer.Option("--track/--no-track", help="Log the job as an MLflow run (one per job).")
]


@monitor_app.command("tickets")
def monitor_tickets(
    log: LogOpt = None,
    scored: ScoredOpt = None,
    model: ModelOpt = None,
    ratings: Annotated[
        Path | None,
        typer.Option(help="Ratings that arrived later: ticket_id (or id), rating, rated_at."),
    ] = None,
    period: PeriodOpt = MonitorPeriod.W,
    since: SinceOpt = None,
    until: UntilOpt = None,
    alpha: AlphaOpt = 0.01,
    out: OutOpt = None,
    as_json: JsonOpt = False,
    report: ReportOpt = None,
    track: TrackOpt = True,
) -> None:
    """Monitor the ticket model: input drift, expected bad rate and ROC-AUC, realized figures."""
    _run(
        "csat",
        log,
        scored,
        model,
        ratings,
        period,
        since,
        until,
        alpha,
        out,
        as_json,
        report,
        track,
    )


@monitor_app.command("comments")
def monitor_comments(
    log: LogOpt = None,
    scored: ScoredOpt = None,
    model: Annotated[
        str | None,
        typer.Option(help="sentiment or themes model (default: the sentiment champion)."),
    ] = None,
    period: PeriodOpt = MonitorPeriod.W,
    since: SinceOpt = None,
    until: UntilOpt = None,
    alpha: AlphaOpt = 0.01,
    out: OutOpt = None,
    as_json: JsonOpt = False,
    report: ReportOpt = None,
    track: TrackOpt = True,
) -> None:
    """Monitor a comment model: language mix, text length, new words, label mix."""
    _run(None, log, scored, model, None, period, since, until, alpha, out, as_json, report, track)


def _run(
    task: str | None,
    log: str | None,
    scored: Path | None,
    model: str | None,
    ratings: Path | None,
    period: MonitorPeriod,
    since: str | None,
    until: str | None,
    alpha: float,
    out: Path | None,
    as_json: bool,
    report: Path | None,
    track: bool,
) -> None:
    from cxml.data import write_table
    from cxml.monitoring.job import MonitorJob, tidy

    if (log is None) == (scored is None):
        raise BadInputError("name the rows to monitor: either --log URL or --scored FILE")
    job = MonitorJob(
        task=task,
        model=model,
        log=log,
        scored=scored,
        ratings=ratings,
        period=period.value,
        since=since,
        until=until,
        alpha=alpha,
    )
    with output.steps("monitoring") as step:
        step("reading the rows and the reference profile")
        rows = job.read()
        step(f"testing {len(rows):,} rows by {period.value}")
        result = job.run(rows)
        if out is not None:
            step(f"writing {out}")
            write_table(tidy(result), out)
        if report is not None:
            from cxml.report import build_monitoring_report

            step(f"writing {report}")
            build_monitoring_report(result, out=report)
        if track:
            step("logging the MLflow run")
            job.track(result)
    for note in job.notes:
        output.note(note)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2, default=str))
    elif not output.quiet:
        output.out.print(_summary(result))
    alerts = result.alerts
    for alert in alerts:
        output.note(f"ALERT {alert.period}: {alert.message}")
    if not as_json:  # stdout holds the JSON alone
        output.result(
            f"{result.model_name} {result.model_version}: {len(result.periods)} periods, "
            f"{len(alerts)} alerts" + (f" -> {out}" if out else "")
        )
    if alerts:
        raise typer.Exit(SAID_NO)


def _summary(result: MonitorResult) -> Table:
    """One line a period: rows, estimated (and realized) bad rate and ROC-AUC, alerts."""
    shown = [
        ("rows", "rows", "{:,.0f}"),
        ("estimated_bad_rate", "est. bad", "{:.1%}"),
        ("realized_bad_rate", "real bad", "{:.1%}"),
        ("estimated_roc_auc", "est. AUC", "{:.3f}"),
        ("realized_roc_auc", "real AUC", "{:.3f}"),
        ("alerts", "alerts", "{:.0f}"),
    ]
    columns = [c for c in shown if c[0] in result.periods]
    table = Table("period", *(title for _, title, _ in columns), box=None)
    for figures in result.periods.to_dict("records"):
        cells = [
            "-"
            if figures[name] is None or figures[name] != figures[name]
            else form.format(figures[name])
            for name, _, form in columns
        ]
        table.add_row(str(figures["period"]), *cells)
    return table
