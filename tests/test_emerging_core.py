"""Emerging themes: a planted new theme is found in recent comments, with its growth; a stream
without one gives none; the result does not depend on row order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from cxml.data.synth import make_comments
from cxml.data.synth.drift import Drift
from cxml.discovery import KnownThemes, discover, find_emerging, strip_noise
from cxml.discovery.emerging import share_slope
from cxml.text.encoders import encode

CHATBOT = r"chatbot|\bbot\b|virtual assistant|automated assistant"
SPLIT = pd.Timestamp("2026-02-23", tz="UTC")  # the Monday of week 8 of a window from 2026-01-01

#: The mechanics are tested on USE vectors alone (5x faster to compute than the default
#: `auto`, which adds MiniLM for English); the default encoder is tested through the CLI.
ENCODER = "use"

Stream = tuple[pd.DataFrame, np.ndarray, np.ndarray]


def _stream(tmp: pytest.TempPathFactory, drift: Drift | None) -> Stream:
    frame = make_comments(1200, seed=3, days=84, drift=drift, spike=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CXML_CACHE_DIR", str(tmp.mktemp("cache")))
        cleaned = [strip_noise(t) for t in frame["text"]]
        vectors = encode(cleaned, ENCODER)
    early = (pd.to_datetime(frame["created_at"], utc=True) < SPLIT).to_numpy()
    return frame, vectors, early


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Stream:
    return _stream(tmp_path_factory, Drift("new_theme", week=8))


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Stream:
    return _stream(tmp_path_factory, None)


def _weeks(frame: pd.DataFrame) -> pd.Series:
    times = pd.to_datetime(frame["created_at"], utc=True).dt.tz_localize(None)
    return times.dt.to_period("W-SUN").dt.start_time


def _known(stream: Stream) -> KnownThemes:
    frame, vectors, early = stream
    return KnownThemes.from_discovery(
        discover(frame[early], vectors=vectors[early], encoder=ENCODER)
    )


def test_planted_theme_is_found_with_its_growth(planted: Stream) -> None:
    frame, vectors, early = planted
    recent = frame[~early].reset_index(drop=True)
    found = find_emerging(
        recent,
        _known(planted),
        earlier=frame[early],
        vectors=vectors[~early],
        periods=_weeks(recent),
    )
    themes = found.themes
    assert len(themes) >= 1 and not found.note and found.discovery is not None
    assignments = found.discovery.assignments
    chatbot = recent["text"].str.contains(CHATBOT, case=False).to_numpy()
    emerging = assignments["theme_stable_id"].isin(themes["id"]).to_numpy()
    # measured with use: 76 % of the chatbot comments are in an emerging theme (60 % with the
    # default auto encoder), and 97 % of these themes' comments are about the chatbot
    assert emerging[chatbot].mean() >= 0.65
    assert chatbot[emerging].mean() >= 0.85
    assert any("bot" in name or "assistant" in name for name in themes["theme"])
    # rare before the plant (measured 0.13 % with use, 2.8 % with auto: earlier comments about
    # the human chat agents that would join it) and significantly more common now
    assert (themes["earlier_share"] < 0.02).all() and (themes["p_value"] < 0.01).all()
    n_earlier = int(early.sum())
    for row in themes.to_dict(orient="records"):
        before = round(row["earlier_share"] * n_earlier)
        p0 = (before + 0.5) / (n_earlier + 1)
        test = binomtest(row["size"], len(recent), p0, alternative="greater")
        assert row["p_value"] == pytest.approx(test.pvalue)
    weeks = _weeks(recent)
    assert found.periods == sorted(weeks.unique())
    for row in themes.to_dict(orient="records"):
        assert sum(row["counts"]) == row["size"]
        mine = (assignments["theme_stable_id"] == row["id"]).to_numpy()
        expected = [mine[(weeks == w).to_numpy()].mean() for w in found.periods]
        assert row["shares"] == pytest.approx(expected)
        assert row["slope"] == pytest.approx(np.polyfit(np.arange(len(expected)), expected, 1)[0])
    records = found.to_records()
    assert records[0]["id"] == themes["id"].iloc[0] and isinstance(records[0]["size"], int)
    # the same comments in another order give the same emerging themes
    order = np.random.default_rng(5).permutation(len(recent))
    again = find_emerging(
        recent.iloc[order], _known(planted), earlier=frame[early], vectors=vectors[~early][order]
    )
    assert list(again.themes["id"]) == list(themes["id"])
    assert list(again.themes["size"]) == list(themes["size"])


def test_stream_without_a_new_theme_has_none(plain: Stream) -> None:
    frame, vectors, early = plain
    found = find_emerging(
        frame[~early], _known(plain), earlier=frame[early], vectors=vectors[~early]
    )
    assert found.themes.empty and not found.note
    assert found.discovery is not None and (found.discovery.themes["status"] == "known").all()


def test_share_slope_is_least_squares() -> None:
    shares = np.array([0.02, 0.05, 0.04, 0.09])
    assert share_slope(shares) == pytest.approx(np.polyfit(np.arange(4), shares, 1)[0])
    assert np.isnan(share_slope(np.array([0.3])))


def test_too_few_comments_and_bad_periods(planted: Stream) -> None:
    frame, vectors, _ = planted
    known = _known(planted)
    few = find_emerging(frame.head(15), known, vectors=vectors[:15])
    assert few.themes.empty and few.discovery is None
    assert "15 with text, 20 needed" in few.note
    with pytest.raises(ValueError, match="periods has 3 rows"):
        find_emerging(frame.head(30), known, periods=pd.Series([1, 2, 3]))
