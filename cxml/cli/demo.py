"""``cxml demo``: the whole loop on generated data, in one folder, in a couple of minutes."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from cxml.config import CsatConfig, DataConfig, SentimentConfig, ThemesConfig
from cxml.console import output
from cxml.data import write_table
from cxml.data.synth import make_comments, make_tickets
from cxml.tracking import tracking_uri

__all__ = ["run_demo"]


def run_demo(folder: Path, *, rows: int = 4000, seed: int = 7) -> dict[str, Path]:
    """Generate comments and tickets; train and register ``cxml-sentiment``, ``cxml-themes`` and
    ``cxml-csat``; score new comments and open tickets; discover themes; write the VoC report.

    Everything is written under ``folder``: data and outputs in ``folder/cxml-demo/``, the MLflow
    store in ``folder/mlflow.db`` and ``folder/mlruns/`` (unless ``MLFLOW_TRACKING_URI`` is set).
    Returns the paths it wrote.
    """
    from cxml.contracts.fields import COMMENTS, TICKETS
    from cxml.contracts.times import parse_instant
    from cxml.data import read_valid
    from cxml.discovery import discover, write_discovery
    from cxml.report import build_report
    from cxml.scoring import analyze_comments_file, score_tickets_file
    from cxml.training.csat import train_csat
    from cxml.training.sentiment import train_sentiment
    from cxml.training.themes import train_themes

    started = time.perf_counter()
    work = folder / "cxml-demo"
    work.mkdir(parents=True, exist_ok=True)
    with output.steps("cxml demo") as step:
        step("generating labelled comments (English and Korean)")
        train_path = write_table(make_comments(rows, lang="mixed", seed=seed), work / "train.jsonl")
        new = make_comments(max(rows // 4, 200), lang="mixed", seed=seed + 1)
        new = new.drop(columns=["themes", "theme_sentiment", "sentiment"])
        new_path = write_table(new, work / "new_comments.csv")
        config = SentimentConfig(data=DataConfig(rejects=work / "train.rejects.csv"))
        result = train_sentiment(config, data=train_path, on_step=step)
        themes_config = ThemesConfig(data=DataConfig(rejects=work / "train.rejects.csv"))
        themes = train_themes(themes_config, data=train_path, on_step=step)
        step("scoring new comments with the champions")
        scored = analyze_comments_file(new_path, work / "new_comments.scored.csv")
        step("generating tickets; training the ticket bad-rating model")
        tickets = make_tickets(
            max(rows, 2000), lang="mixed", seed=seed, days=120, open_share=0.1, stations=True
        )
        tickets_path = write_table(tickets, work / "tickets.csv")
        csat = train_csat(
            CsatConfig(data=DataConfig(rejects=work / "tickets.rejects.csv")),
            data=tickets_path,
            on_step=step,
        )
        step("scoring the open tickets")
        open_path = write_table(tickets[tickets["rating"].isna()], work / "open_tickets.csv")
        moment = parse_instant(tickets["created_at"].max(), name="created_at")
        at_risk = score_tickets_file(open_path, work / "open_tickets.scored.csv", as_of=moment)
        step("discovering themes in the new comments")
        discovered = discover(pd.read_csv(new_path))
        discovery_paths = write_discovery(discovered, work / "discovered")
        step("writing the VoC report")
        comments, _, _ = read_valid(scored.output, COMMENTS)
        ticket_rows, _, _ = read_valid(tickets_path, TICKETS)
        report = build_report(
            comments,
            out=work / "report" / "report.html",
            tickets=ticket_rows,
            discovered=discovered,
            segment="region",
        )
    reg = result.registered
    reg_themes = themes.registered
    lines = [
        f"[bold]cxml demo[/] finished in {time.perf_counter() - started:.0f}s",
        f"  training data     {train_path} ({result.data.good:,} comments)",
        f"  validation        accuracy {result.metrics['val_accuracy']:.3f}, "
        f"macro-F1 {result.metrics['val_macro_f1']:.3f}",
        f"  themes            micro-F1 {themes.metrics['val_theme_micro_f1']:.3f}, theme "
        f"sentiment accuracy {themes.metrics['val_theme_sentiment_accuracy']:.3f}",
        f"  registered        {reg.name} v{reg.version} {list(reg.aliases)}" if reg else "",
        f"  registered        {reg_themes.name} v{reg_themes.version} {list(reg_themes.aliases)}"
        if reg_themes
        else "",
        f"  scored file       {scored.output} ({scored.rows:,} rows)",
        f"  ticket model      newest tickets ROC-AUC {csat.metrics['val_roc_auc']:.3f}, ECE "
        f"{csat.metrics['val_ece']:.3f}",
        f"  at-risk tickets   {at_risk.output} ({at_risk.rows:,} open tickets scored)",
        f"  discovered        {len(discovered.themes)} themes -> {discovery_paths['taxonomy']}",
        f"  VoC report        {report.html} (open it in a browser; CSVs beside it)",
        f"  MLflow store      {tracking_uri()}",
        "  open the MLflow UI: mlflow ui --backend-store-uri sqlite:///mlflow.db "
        "(then http://127.0.0.1:5000)",
    ]
    output.note("\n".join(line for line in lines if line))
    output.result(f"demo outputs in {work}; models {', '.join(scored.models)}")
    return {
        "train": train_path,
        "new": new_path,
        "scored": scored.output,
        "tickets": tickets_path,
        "at_risk": at_risk.output,
        **{f"discovered_{k}": v for k, v in discovery_paths.items()},
        "report": report.html,
    }
