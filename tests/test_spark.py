"""``--engine spark``: mlflow's spark_udf on local Spark gives the local batch's scores."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from cxml.config import CsatConfig, SentimentConfig
from cxml.data.synth import make_comments, make_tickets
from cxml.scoring import analyze_comments_file, score_tickets_file
from cxml.scoring.spark import score_with_spark
from cxml.training.csat import train_csat
from cxml.training.sentiment import train_sentiment

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java (17)"),
]


def test_spark_scores_equal_the_local_batch(tmp_path: Path) -> None:
    make_comments(500, lang="mixed", seed=51).to_json("c.jsonl", orient="records", lines=True)
    train_sentiment(SentimentConfig(), data="c.jsonl")
    make_tickets(1200, seed=52).to_csv("t.csv", index=False)
    train_csat(CsatConfig.model_validate({"split": {"refit": False}}), data="t.csv")

    comments = make_comments(300, lang="mixed", seed=53)[["id", "text", "sentiment"]]
    comments.loc[5, "text"] = " "
    comments.loc[7, "text"] = "Die Lieferung kam drei Tage zu spät und niemand hat geantwortet."
    comments.to_csv("comments.csv", index=False)
    tickets = make_tickets(200, seed=54, open_share=0.3, start="2026-08-01", days=20)
    tickets.loc[3, "replies"] = None
    tickets.to_csv("tickets.csv", index=False)
    moment = pd.Timestamp("2026-08-21T12:00", tz="UTC")

    analyze_comments_file("comments.csv", "local_comments.parquet")
    score_tickets_file("tickets.csv", "local_tickets.parquet", as_of=moment)
    spark_comments = score_with_spark("comments.csv", "spark_comments", task="comments")
    spark_tickets = score_with_spark("tickets.csv", "spark_tickets", task="tickets", as_of=moment)
    assert spark_comments.rejected == 1 and spark_comments.rows == 299
    assert spark_tickets.rows == 200

    local = pd.read_parquet("local_comments.parquet").set_index("id")
    remote = pd.read_parquet("spark_comments").set_index("id").loc[local.index]
    assert (remote["sentiment"] == local["sentiment"]).all()
    assert (remote["sentiment_score"] - local["sentiment_score"]).abs().max() < 1e-9
    assert (remote["sentiment_input"] == local["sentiment_input"]).all()
    # the language as the local batch detects it, and the same note on the German comment
    assert (remote["lang"] == local["lang"]).all() and local["lang"].value_counts()["de"] == 1
    assert len(spark_comments.notes) == 1 and "(de 1)" in spark_comments.notes[0]
    assert set(remote["model_version"]) == {"1"}

    local = pd.read_parquet("local_tickets.parquet").set_index("ticket_id")
    remote = pd.read_parquet("spark_tickets").set_index("ticket_id").loc[local.index]
    gap = (remote["bad_rating_probability"] - local["bad_rating_probability"]).abs().max()
    assert gap < 1e-9
    assert (remote["at_risk"] == local["at_risk"]).all()
    assert remote["reasons"].map(list).tolist() == local["reasons"].map(list).tolist()
