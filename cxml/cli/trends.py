"""``cxml trends FILE``: spikes of each theme's volume and negative share, and emerging themes.

Exit codes as ``cxml monitor``: 0 no alert, 3 at least one alert, 2 bad input, 1 an unexpected
failure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cxml.cli.monitor import AlphaOpt, JsonOpt, MonitorPeriod, OutOpt, ReportOpt
from cxml.console import output
from cxml.errors import SAID_NO, BadInputError

__all__ = ["trends"]


def trends(
    file: Annotated[
        Path, typer.Argument(help="Analysed comments (themes) or cxml discover's assignments.")
    ],
    period: Annotated[
        MonitorPeriod, typer.Option(help="Period: D, W (Monday to Sunday) or M.")
    ] = MonitorPeriod.W,
    taxonomy: Annotated[
        Path | None,
        typer.Option(
            help="Known themes (taxonomy YAML) to look for emerging themes against (default: "
            "the themes of the comments before the last period, when the file has text)."
        ),
    ] = None,
    emerging: Annotated[
        bool, typer.Option("--emerging/--no-emerging", help="Look for emerging themes.")
    ] = True,
    encoder: Annotated[
        str,
        typer.Option(
            help="Sentence encoder of the emerging themes: auto (use+minilm for English, else "
            "use), use, minilm, use+minilm or a model folder."
        ),
    ] = "auto",
    alpha: AlphaOpt = 0.01,
    out: OutOpt = None,
    as_json: JsonOpt = False,
    report: ReportOpt = None,
    dayfirst: Annotated[
        bool | None,
        typer.Option("--dayfirst/--monthfirst", help="Order of day/month dates (when ambiguous)."),
    ] = None,
) -> None:
    """Flag themes mentioned more, or more negatively, than their own recent history says.

    Per theme and period: its share of comments and its negative share, against the theme's
    trailing 8 periods (same weekday for days); a period without change alerts with probability
    at most --alpha. The last period's comments are clustered, and clusters far from every known
    theme (--taxonomy, or the themes the earlier comments have) are emerging themes. Exit code 3
    when anything alerts.
    """
    from cxml.config import DataConfig
    from cxml.contracts.fields import COMMENTS
    from cxml.data import read_valid, write_table
    from cxml.monitoring.trends import trends as run

    comments, summary, _ = read_valid(
        file, COMMENTS, config=DataConfig(dayfirst=dayfirst), require=["created_at"]
    )
    output.note(f"data: {summary.describe()}")
    if not summary.good:
        raise BadInputError(f"{file}: no usable row ({summary.describe()})")
    with output.steps("trends") as step:
        known = None
        if emerging and taxonomy is not None:
            from cxml.discovery.known import KnownThemes
            from cxml.text.encoders import resolve_encoder

            step(f"embedding the themes of {taxonomy.name}")
            texts = comments["text"].astype(str).tolist() if "text" in comments else []
            known = KnownThemes.from_taxonomy(taxonomy, encoder=resolve_encoder(encoder, texts))
        elif emerging:
            from cxml.monitoring.trends import known_themes

            step("embedding the earlier comments' themes")
            known = known_themes(comments, period.value, encoder=encoder)
        step(f"testing {len(comments):,} comments by {period.value}")
        result = run(comments, period=period.value, alpha=alpha, known=known)
        if out is not None:
            step(f"writing {out}")
            write_table(result.tests, out)
        if report is not None:
            from cxml.report import build_report

            step(f"writing {report}")
            build_report(comments, out=report, period=period.value, trends=result)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2, default=str))
    elif not output.quiet:
        table = Table("period", "rows", "tests", "alerts", box=None)
        for row in result.periods.itertuples():
            table.add_row(str(row.period), f"{row.rows:,}", str(row.tests), str(row.alerts))
        output.out.print(table)
    alerts = result.alerts
    for alert in alerts:
        output.note(f"ALERT {alert.period}: {alert.message}")
    if not as_json:
        output.result(
            f"{len(result.periods)} periods, {len(result.emerging)} emerging themes, "
            f"{len(alerts)} alerts" + (f" -> {out}" if out else "")
        )
    if alerts:
        raise typer.Exit(SAID_NO)
