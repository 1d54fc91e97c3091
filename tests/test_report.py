"""The HTML report: self-contained, the sections the data supports, redacted, deterministic."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import open_in_chromium

from cxml.contracts.fields import COMMENTS
from cxml.data import read_valid, write_table
from cxml.data.synth import THEMES, make_comments, make_tickets
from cxml.errors import BadInputError
from cxml.metrics import csat
from cxml.report import ReportResult, build_report

EMAIL, PHONE, CARD, ORDER = (
    "jane.doe@example.com",
    "010-1234-5678",
    "4111 1111 1111 1111",
    "12345678",
)
PLANTED = (
    f"Still waiting! Reach me at {EMAIL} or {PHONE}; card {CARD} was charged for order #{ORDER}."
)
REDACTED = (
    "Still waiting! Reach me at [email] or [phone]; card [card] was charged for order #[order]."
)
TITLE = "CX <b>Q2</b> & more"
SECTIONS = [
    "Headline figures",
    "Over time",
    "By region",
    "Themes by sentiment",
    "Drivers",
    "Discovered themes",
    "Example comments",
    "Tickets",
]


def _inputs(folder: Path) -> dict[str, Any]:
    """Generated comments with PII planted in the latest one, read back like the CLI reads them;
    tickets with a risk flag; a discovered-themes table as read back from ``themes.csv``."""
    comments = make_comments(1200, lang="mixed", seed=7)
    latest = len(comments) - 1
    comments.at[latest, "text"] = PLANTED
    comments.at[latest, "lang"] = "en"
    comments.at[latest, "themes"] = ["delivery"]
    comments.at[latest, "theme_sentiment"] = {"delivery": "negative"}
    comments.at[latest, "created_at"] = "2026-06-30T23:00:00"
    write_table(comments, folder / "comments.csv")
    frame, _, _ = read_valid(folder / "comments.csv", COMMENTS, rejects=folder / "rejects.csv")
    tickets = make_tickets(600, seed=3)
    tickets["at_risk"] = tickets["true_bad_probability"] >= 0.5
    discovered = pd.DataFrame(
        {
            "theme_id": [0, 1],
            "theme": ["late parcel week", "배송 지연"],
            "size": [40, 25],
            "share": [0.4, 0.25],
            "top_terms": [["late", "parcel", "week"], ["배송", "지연"]],
            "representatives": [[f"parcel late again, mail {EMAIL}"], ["배송이 너무 늦어요"]],
        }
    )
    write_table(discovered, folder / "themes.csv")
    return {
        "comments": frame,
        "tickets": tickets,
        "discovered": pd.read_csv(folder / "themes.csv"),
        "segment": "region",
        "title": TITLE,
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[ReportResult, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("report")
    inputs = _inputs(folder)
    return build_report(**inputs, out=folder / "out" / "report.html"), inputs


def _html(result: ReportResult) -> str:
    return result.html.read_text(encoding="utf-8")


def test_writes_the_page_and_its_csv_exports(built: tuple[ReportResult, Any]) -> None:
    result, _ = built
    assert result.html.is_file()
    assert set(result.tables) == {
        "metrics_over_time",
        "segments",
        "themes_by_sentiment",
        "drivers",
        "discovered_themes",
        "examples",
        "tickets_over_time",
        "ticket_ratings",
    }
    for name, path in result.tables.items():
        assert path == result.html.parent / f"{name}.csv" and path.stat().st_size > 0
    drivers = pd.read_csv(result.tables["drivers"])
    assert drivers["significant"].any()
    over_time = pd.read_csv(result.tables["metrics_over_time"])
    assert set(over_time["metric"]) == {"csat", "negative_share"}


def test_page_loads_nothing_from_outside(built: tuple[ReportResult, Any]) -> None:
    html = _html(built[0])
    assert not re.search(r"https?://|<script|<link|@import|url\(", html, re.IGNORECASE)
    sources = re.findall(r'\ssrc="([^"]*)"', html)
    assert len(sources) >= 5
    assert all(s.startswith("data:image/svg+xml;base64,") for s in sources)
    assert all(h.startswith("#") for h in re.findall(r'\shref="([^"]*)"', html))


def test_shows_the_sections_themes_and_headline_figures(built: tuple[ReportResult, Any]) -> None:
    result, inputs = built
    html = _html(result)
    assert re.findall(r"<h2>(.*?)</h2>", html) == SECTIONS
    assert all(f">{theme}<" in html for theme in THEMES)
    assert ">late parcel week<" in html and ">배송 지연<" in html
    value = csat(inputs["comments"]["rating"]).value
    assert f'<div class="value">{value:.1f}<span class="unit">%</span>' in html
    assert "Generated from 1,200 comments, 2026-01-01 to 2026-06-30." in html
    assert 'class="significant"' in html
    assert "At risk of a bad rating" in html


def test_personal_data_is_redacted_in_page_and_exports(built: tuple[ReportResult, Any]) -> None:
    result, _ = built
    outputs = {"html": _html(result)}
    outputs |= {name: path.read_text(encoding="utf-8") for name, path in result.tables.items()}
    for name, text in outputs.items():
        for secret in (EMAIL, PHONE, CARD, ORDER):
            assert secret not in text, f"{secret!r} leaked into {name}"
    assert REDACTED in outputs["html"] and REDACTED in outputs["examples"]
    assert "parcel late again, mail [email]" in outputs["discovered_themes"]


def test_text_from_the_data_is_escaped(built: tuple[ReportResult, Any]) -> None:
    html = _html(built[0])
    assert "<b>Q2" not in html
    assert "<title>CX &lt;b&gt;Q2&lt;/b&gt; &amp; more</title>" in html


def test_same_input_gives_the_same_bytes(
    built: tuple[ReportResult, dict[str, Any]], tmp_path: Path
) -> None:
    first, inputs = built
    again = build_report(**inputs, out=tmp_path / "report.html")
    assert again.html.read_bytes() == first.html.read_bytes()
    for name, path in first.tables.items():
        assert again.tables[name].read_bytes() == path.read_bytes(), name


def test_sparse_nps_comments_show_guards_and_skip_what_they_cannot(tmp_path: Path) -> None:
    comments = make_comments(90, seed=2).drop(columns=["themes", "theme_sentiment"])
    comments["rating"] = np.random.default_rng(0).integers(0, 11, len(comments))
    result = build_report(comments, out=tmp_path / "r.html", period="W", min_count=30)
    html = _html(result)
    assert re.findall(r"<h2>(.*?)</h2>", html) == [
        "Headline figures",
        "Over time",
        "Themes by sentiment",
        "Example comments",
    ]
    assert '<div class="label">NPS</div>' in html
    assert "fewer than 30 responses" in html  # weeks of about 4 comments
    assert "<h3>all comments</h3>" in html
    assert set(result.tables) == {"metrics_over_time", "themes_by_sentiment", "examples"}
    weekly = pd.read_csv(result.tables["metrics_over_time"])
    assert weekly["value"].isna().all() and weekly["note"].notna().all()


def test_bad_inputs_are_named(tmp_path: Path) -> None:
    comments = make_comments(50, seed=1)
    with pytest.raises(BadInputError, match="'text' column"):
        build_report(comments.drop(columns="text"), out=tmp_path / "r.html")
    with pytest.raises(BadInputError, match="segment column 'store'"):
        build_report(comments, out=tmp_path / "r.html", segment="store")
    with pytest.raises(BadInputError, match="no comments"):
        build_report(comments.iloc[:0], out=tmp_path / "r.html")
    with pytest.raises(BadInputError, match=r"out must be an \.html file"):
        build_report(comments, out=tmp_path)
    assert not (tmp_path / "r.html").exists()


@pytest.mark.integration
def test_renders_in_headless_chromium(
    built: tuple[ReportResult, dict[str, Any]], tmp_path: Path
) -> None:
    result, inputs = built
    dom, (loaded, images), pixels = open_in_chromium(result.html, tmp_path)
    assert loaded == images and images >= 5
    value = csat(inputs["comments"]["rating"]).value
    assert f'<div class="value">{value:.1f}<span class="unit">%</span>' in dom
    assert all(f"<h2>{heading}</h2>" in dom for heading in SECTIONS)
    assert pixels.shape == (1400, 1100)
    assert pixels.std() > 20 and (pixels < 200).mean() > 0.02  # text and charts, not blank
