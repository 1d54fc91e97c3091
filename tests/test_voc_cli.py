"""VoC analytics from the command line: discover, metrics, drivers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers import run_cli

from cxml.data.synth import make_comments


@pytest.mark.slow
def test_discover_metrics_and_drivers_from_the_cli() -> None:
    comments = make_comments(900, lang="mixed", seed=61)
    comments.to_json("comments.jsonl", orient="records", lines=True, force_ascii=False)

    done = run_cli("discover", "comments.jsonl", "--out", "themes", "--max-themes", "12")
    assert done.returncode == 0, done.stderr
    assert "outliers" in done.stdout
    taxonomy = yaml.safe_load(Path("themes/taxonomy.yaml").read_text(encoding="utf-8"))
    assert taxonomy and pd.read_csv("themes/themes.csv")["size"].sum() <= 900

    done = run_cli(
        "metrics", "comments.jsonl", "--metric", "csat", "--by", "region", "--out", "csat.csv"
    )
    assert done.returncode == 0, done.stderr
    table = pd.read_csv("csat.csv")
    assert {"region", "period", "value", "ci_low", "ci_high", "n"} <= set(table.columns)
    assert (table["ci_low"].dropna() <= table["value"].dropna()).all()

    done = run_cli("drivers", "comments.jsonl", "--out", "drivers.csv")
    assert done.returncode == 0, done.stderr
    drivers = pd.read_csv("drivers.csv")
    assert drivers.iloc[0]["impact"] < 0
    assert drivers["q_value"].notna().any()

    done = run_cli("metrics", "comments.jsonl", "--metric", "happiness")
    assert done.returncode == 2

    done = run_cli(
        "report",
        "comments.jsonl",
        "--out",
        "report/voc.html",
        "--discovered",
        "themes",
        "--segment",
        "region",
    )
    assert done.returncode == 0, done.stderr
    html = Path("report/voc.html").read_text(encoding="utf-8")
    assert "Drivers" in html and "Discovered themes" in html
    assert Path("report/drivers.csv").is_file()
