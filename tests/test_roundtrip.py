"""Round trips: ``analyze`` output read back by ``drivers``, ``report`` and ``metrics`` in every
output format, and the Python API's index and empty frames. Models are tiny, trained here."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import mlflow
import pandas as pd
import pytest

import cxml
from cxml.cli import main
from cxml.config import CsatConfig, SentimentConfig, ThemesConfig
from cxml.data import write_table
from cxml.data.synth import make_comments, make_tickets
from cxml.metrics import driver_table
from cxml.scoring.batch import analyze_comments_file
from cxml.training.csat import train_csat
from cxml.training.sentiment import train_sentiment
from cxml.training.themes import train_themes

pytestmark = pytest.mark.slow  # every test reads the models a module fixture trains

FORMATS = ("parquet", "csv", "jsonl")
COMMENT_OUTPUTS = ["sentiment", "sentiment_score", "themes", "theme_scores", "theme_sentiment"]
TICKET_OUTPUTS = ["bad_rating_probability", "at_risk", "reasons"]
Cli = Callable[..., subprocess.CompletedProcess[str]]
#: Backend parameters of models that train in a second or two (quality is not the point here).
TINY = {"char_ngrams": [2, 3], "max_features": 3000, "morphemes": False, "max_iter": 200}


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    """``cli(*args)`` runs ``cxml ARGS`` in this process, exit code and output as
    ``helpers.run_cli`` gives them, without starting Python again for each command."""
    monkeypatch.setenv("COLUMNS", "200")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["cxml", *args])
        with pytest.raises(SystemExit) as stopped:
            main()
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), int(stopped.value.code or 0), out, err)

    return run


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder with tiny registered sentiment, themes and ticket models, new comments
    (``remarks.jsonl``) and their analysis in each of :data:`FORMATS` (``scored.<format>``)."""
    folder = tmp_path_factory.mktemp("roundtrip")
    old = Path.cwd()
    os.chdir(folder)
    try:
        data = write_table(make_comments(300, lang="en", seed=11), folder / "train.jsonl")
        train_sentiment(SentimentConfig.model_validate({"model": {"params": TINY}}), data=data)
        themes = {"model": {"params": TINY, "threshold": 0.4}, "theme_sentiment": {"params": TINY}}
        train_themes(ThemesConfig.model_validate(themes), data=data)
        tickets = write_table(make_tickets(600, seed=31, open_share=0.05), folder / "t.csv")
        train_csat(CsatConfig.model_validate({"split": {"refit": False}}), data=tickets)
        write_table(make_comments(240, lang="mixed", seed=12), folder / "remarks.jsonl")
        for fmt in FORMATS:
            analyze_comments_file("remarks.jsonl", f"scored.{fmt}")
    finally:
        os.chdir(old)
        mlflow.set_tracking_uri(None)
    yield folder


@pytest.mark.parametrize("fmt", FORMATS)
def test_analyze_output_feeds_drivers_report_and_metrics(
    store: Path, monkeypatch: pytest.MonkeyPatch, cli: Cli, fmt: str
) -> None:
    """The README flow: Parquet gave back theme_sentiment as [key, value] pairs, which the
    validator refused, so drivers ranked nothing (exit 0) and the report had no comments."""
    monkeypatch.chdir(store)
    scored = f"scored.{fmt}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = driver_table(cxml.analyze_comments(pd.read_json("remarks.jsonl", lines=True)))

    done = cli("drivers", scored, "--score", "csat", "--out", f"drivers_{fmt}.csv")
    assert done.returncode == 0, done.stderr
    assert "240 rows: 240 good, 0 rejected" in done.stderr
    drivers = pd.read_csv(f"drivers_{fmt}.csv")
    columns = ["theme", "count", "negative", "impact", "q_value"]
    pd.testing.assert_frame_equal(drivers[columns], expected[columns], check_dtype=False)

    done = cli("report", scored, "--out", f"report_{fmt}/voc.html", "--segment", "region")
    assert done.returncode == 0, done.stderr
    in_report = pd.read_csv(f"report_{fmt}/drivers.csv")
    assert in_report["theme"].tolist() == expected["theme"].tolist()
    themes = pd.read_csv(f"report_{fmt}/themes_by_sentiment.csv")
    assert themes["mentions"].sum() == expected["count"].sum()  # theme-level polarities read

    done = cli("metrics", scored, "--metric", "csat", "--by", "region", "--out", "m.csv")
    assert done.returncode == 0, done.stderr
    assert pd.read_csv("m.csv")["n"].sum() == 240


def test_runs_where_every_row_is_rejected_exit_2_saying_why(
    store: Path, monkeypatch: pytest.MonkeyPatch, cli: Cli
) -> None:
    monkeypatch.chdir(store)
    scored = pd.read_csv("scored.csv").head(40)
    scored["theme_sentiment"] = '{"delivery": "furious"}'
    scored.to_csv("broken.csv", index=False)
    for args in (["drivers", "broken.csv"], ["report", "broken.csv", "--out", "r/voc.html"]):
        done = cli(*args)
        assert done.returncode == 2, done.stdout
        assert "broken.csv: every row was rejected" in done.stderr
        assert "theme_sentiment: polarities {'delivery': 'furious'}" in done.stderr
    assert not Path("r/voc.html").exists()
    scored.assign(themes="[]", theme_sentiment=None).to_csv("unthemed.csv", index=False)
    done = cli("drivers", "unthemed.csv", "--min-count", "5")
    assert done.returncode == 2 and "no themes to rank" in done.stderr


def test_the_python_api_keeps_the_callers_index(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The result had a fresh 0..n index and row-N ids instead of the caller's labels."""
    monkeypatch.chdir(store)
    comments = pd.DataFrame(
        {"text": ["Parcel came late", "", "Lovely staff"]}, index=pd.Index([30, 10, 20], name="k")
    )
    with pytest.warns(UserWarning, match="1 of 3 rows were left out"):
        scored = cxml.analyze_comments(comments)
    assert scored.index.equals(pd.Index([30, 20], name="k"))
    assert "id" not in scored and set(COMMENT_OUTPUTS) <= set(scored.columns)
    assert scored.loc[20, "text"] == "Lovely staff"
    [reject] = scored.attrs["rejects"]
    assert (reject["_index"], reject["_row"], reject["_field"]) == (10, 2, "text")
    tickets = make_tickets(5, seed=3, open_share=1.0).set_index("ticket_id", drop=False)
    at_risk = cxml.score_tickets(tickets.iloc[::-1], as_of="2026-07-01T00:00:00Z")
    assert at_risk.index.tolist() == tickets.index[::-1].tolist()


def test_empty_and_all_rejected_frames_give_empty_results(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both raised scikit-learn's "Found array with 0 sample(s)"."""
    monkeypatch.chdir(store)
    comments = pd.DataFrame({"text": ["   ", ""]}, index=["a", "b"])
    with pytest.warns(UserWarning, match="2 of 2 rows were left out"):
        none_left = cxml.analyze_comments(comments)
    assert none_left.empty and set(COMMENT_OUTPUTS) <= set(none_left.columns)
    assert [r["_index"] for r in none_left.attrs["rejects"]] == ["a", "b"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing rejected, nothing to warn about
        empty = cxml.analyze_comments(comments.iloc[:0])
    assert empty.empty and set(COMMENT_OUTPUTS) <= set(empty.columns)
    tickets = make_tickets(3, seed=4, open_share=1.0)
    no_tickets = cxml.score_tickets(tickets.iloc[:0], as_of="2026-07-01T00:00:00Z")
    assert no_tickets.empty and set(TICKET_OUTPUTS) <= set(no_tickets.columns)
