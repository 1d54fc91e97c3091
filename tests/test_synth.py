"""The synthetic comment and ticket generators: determinism, schema, labels and the ticket story."""

from __future__ import annotations

import itertools
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import run_cli
from sklearn.linear_model import LogisticRegression

from cxml.data.synth import (
    DRIFT_KINDS,
    POST_SURVEY_COLUMNS,
    THEMES,
    TICKET_COEFFICIENTS,
    TICKET_COLUMNS,
    Drift,
    make_comments,
    make_tickets,
)
from cxml.data.synth import phrases as ph
from cxml.data.synth.comments import CHANNELS, COMMENT_COLUMNS, REGIONS

HANGUL = re.compile(r"[\uac00-\ud7a3]")
UNRESOLVED = re.compile(r"[{}]|\((?:가|를|는|와|로|나|면|라|예요)\)")


@pytest.fixture(scope="module")
def comments() -> pd.DataFrame:
    return make_comments(6000, lang="mixed", seed=11)


@pytest.fixture(scope="module")
def tickets() -> pd.DataFrame:
    return make_tickets(20000, lang="mixed", seed=5)


def _hours(later: pd.Series, earlier: pd.Series) -> pd.Series:
    return (pd.to_datetime(later) - pd.to_datetime(earlier)).dt.total_seconds() / 3600


# --- phrase banks ---------------------------------------------------------------------------


def test_every_theme_and_polarity_has_enough_templates_in_both_languages() -> None:
    for lang in ("en", "ko"):
        assert set(ph.CLAUSES[lang]) == set(THEMES)
        for bank in ph.CLAUSES[lang].values():
            for polarity in ("positive", "negative", "neutral"):
                assert len(set(bank[polarity])) >= 15
            assert len(bank["conflict"]) >= 5


def test_every_template_renders() -> None:
    draws = ph.Draws([0.5, 0.1, 0.9])
    given = {k: "x" for k in ("issue", "Issue", "ISSUE", "topic", "order", "nth", "hops")}
    banks: list[dict[str, Any]] = [ph.CLAUSES, ph.GENERIC, ph.OPENERS, ph.TICKET_ISSUES]
    banks += [ph.TICKET_TOPICS, ph.TICKET_FRAMES, ph.TICKET_FOLLOWUPS, ph.TICKET_HOPS]
    banks += [ph.SURVEY_COMMENTS, ph.SURVEY_DRIVERS]
    for bank in banks:
        for lang in ("en", "ko"):
            stack: list[object] = [bank[lang]]
            while stack:
                item = stack.pop()
                if isinstance(item, dict):
                    stack.extend(item.values())
                elif isinstance(item, tuple):
                    stack.extend(item)
                else:
                    slots = ph.Slots(lang, draws, {**given, "transfers": "three"})
                    assert "{" not in str(item).format_map(slots)


def test_korean_particles_follow_the_last_syllable() -> None:
    assert ph.resolve_particles("패딩이(가) 왔어요") == "패딩이 왔어요"
    assert ph.resolve_particles("이불이(가) 왔어요") == "이불이 왔어요"
    assert ph.resolve_particles("키보드이(가) 왔어요") == "키보드가 왔어요"
    assert ph.resolve_particles("계좌이체으로(로) 냈어요") == "계좌이체로 냈어요"
    assert ph.resolve_particles("배송 건으로(로)") == "배송 건으로"
    assert ph.resolve_particles("앱 오류으로(로)") == "앱 오류로"
    assert ph.resolve_particles("2주이나(나)") == "2주나"
    assert ph.resolve_particles("8일이나(나)") == "8일이나"


# --- comments -------------------------------------------------------------------------------


def test_comments_are_deterministic() -> None:
    a = make_comments(400, lang="mixed", seed=3)
    pd.testing.assert_frame_equal(a, make_comments(400, lang="mixed", seed=3))
    assert not a["text"].equals(make_comments(400, lang="mixed", seed=4)["text"])


def test_comment_columns_and_types(comments: pd.DataFrame) -> None:
    assert list(comments.columns) == list(COMMENT_COLUMNS)
    assert comments["rating"].dtype == np.int64
    assert comments["rating"].between(1, 5).all()
    assert comments["id"].is_unique
    assert comments["text"].str.strip().str.len().gt(0).all()
    assert not comments["text"].str.contains(UNRESOLVED).any()
    assert set(comments["sentiment"]) == {"negative", "neutral", "positive"}
    assert set(comments["channel"]) <= set(CHANNELS)
    assert set(comments["region"]) <= set(REGIONS)
    created = pd.to_datetime(comments["created_at"], format="ISO8601")
    assert created.is_monotonic_increasing
    assert created.min() >= pd.Timestamp("2026-01-01")
    assert created.max() < pd.Timestamp("2026-01-01") + pd.Timedelta(days=180)


def test_themes_and_theme_sentiment_agree(comments: pd.DataFrame) -> None:
    polarities = {"positive", "negative", "neutral", "conflict"}
    for themes, labels in zip(comments["themes"], comments["theme_sentiment"], strict=True):
        assert themes == sorted(themes)
        assert set(themes) <= set(THEMES)
        assert list(labels) == themes
        assert set(labels.values()) <= polarities
    n_themes = comments["themes"].str.len()
    assert n_themes.max() == 3
    assert 0.07 < (n_themes == 0).mean() < 0.13
    conflict = comments["theme_sentiment"].map(lambda d: "conflict" in d.values())
    assert 0.015 < conflict.mean() < 0.05


def test_multi_theme_comments_mix_sentiments(comments: pd.DataFrame) -> None:
    mixed = comments["theme_sentiment"].map(lambda d: {"positive", "negative"} <= set(d.values()))
    assert mixed.mean() > 0.08


def test_sentiment_follows_the_themes(comments: pd.DataFrame) -> None:
    values = comments["theme_sentiment"].map(lambda d: set(d.values()))
    assert (comments["sentiment"][values == {"negative"}] == "negative").all()
    assert (comments["sentiment"][values == {"positive"}] == "positive").all()
    assert (comments["sentiment"][values == {"neutral"}] == "neutral").all()


def test_rating_correlates_with_sentiment(comments: pd.DataFrame) -> None:
    means = comments.groupby("sentiment")["rating"].mean()
    assert means["negative"] < 2.5 < means["neutral"] < 3.5 < means["positive"]
    score = comments["sentiment"].map({"negative": 0, "neutral": 1, "positive": 2})
    assert 0.6 < comments["rating"].corr(score, method="spearman") < 0.95


def test_languages(comments: pd.DataFrame) -> None:
    is_ko = comments["lang"] == "ko"
    assert 0.25 < is_ko.mean() < 0.35
    assert comments.loc[is_ko, "text"].str.contains(HANGUL).all()
    assert not comments.loc[~is_ko, "text"].str.contains(HANGUL).any()
    assert set(make_comments(50, lang="ko")["lang"]) == {"ko"}
    assert set(make_comments(50, lang="en")["lang"]) == {"en"}


def test_delivery_complaints_rise_in_a_stretch_of_weeks(comments: pd.DataFrame) -> None:
    day = _hours(comments["created_at"], pd.Series("2026-01-01", index=comments.index)) / 24
    negative = comments["theme_sentiment"].map(lambda d: d.get("delivery") == "negative")
    in_spike = (day >= 0.35 * 180) & (day < 0.5 * 180)
    assert negative[in_spike].mean() > 2 * negative[~in_spike].mean()


def test_customers_repeat(comments: pd.DataFrame) -> None:
    per_customer = comments["customer_id"].value_counts()
    assert (per_customer > 1).mean() > 0.3
    assert per_customer.size < len(comments)


# --- tickets --------------------------------------------------------------------------------


def test_tickets_are_deterministic() -> None:
    a = make_tickets(300, lang="mixed", seed=2, open_share=0.1)
    pd.testing.assert_frame_equal(a, make_tickets(300, lang="mixed", seed=2, open_share=0.1))
    assert not a["text"].equals(make_tickets(300, lang="mixed", seed=3, open_share=0.1)["text"])


def test_ticket_columns_and_types(tickets: pd.DataFrame) -> None:
    expected = [*TICKET_COLUMNS, *POST_SURVEY_COLUMNS, "true_bad_probability"]
    assert list(tickets.columns) == expected
    for column in ("replies", "reopens", "reassignments"):
        assert tickets[column].dtype == np.int64
        assert (tickets[column] >= 0).all()
    assert tickets["rating"].dtype == "Int64"
    assert tickets["rating"].between(1, 5).all()
    assert tickets["true_bad_probability"].between(0, 1).all()
    assert tickets["ticket_id"].is_unique
    assert tickets["text"].str.strip().str.len().gt(0).all()
    assert not tickets["text"].str.contains(UNRESOLVED).any()
    assert set(tickets["channel"]) == {"email", "chat", "phone", "web", "social"}
    assert set(tickets["priority"]) == {"low", "normal", "high", "urgent"}
    assert set(tickets["customer_tier"]) == {"standard", "plus", "vip"}
    assert 0.02 < tickets["category"].isna().mean() < 0.08


def test_ticket_timestamps_are_ordered(tickets: pd.DataFrame) -> None:
    steps = ["created_at", "first_response_at", "solved_at", "survey_sent_at"]
    steps.append("survey_answered_at")
    for earlier, later in itertools.pairwise(steps):
        assert (_hours(tickets[later], tickets[earlier]) >= 0).all(), (earlier, later)
    assert pd.to_datetime(tickets["created_at"]).is_monotonic_increasing


def test_ticket_languages(tickets: pd.DataFrame) -> None:
    is_ko = tickets["lang"] == "ko"
    assert 0.25 < is_ko.mean() < 0.35
    assert tickets.loc[is_ko, "text"].str.contains(HANGUL).all()
    assert not tickets.loc[~is_ko, "text"].str.contains(HANGUL).any()


def test_bad_rate_and_signal(tickets: pd.DataFrame) -> None:
    bad = tickets["rating"] <= 2
    assert 0.18 < bad.mean() < 0.28
    assert tickets["true_bad_probability"].mean() == pytest.approx(bad.mean(), abs=0.02)
    # a higher true probability goes with more bad ratings, but ratings stay noisy
    high = tickets["true_bad_probability"] > tickets["true_bad_probability"].median()
    assert 0.05 < bad[~high].mean() < bad[high].mean() < 0.6


def test_reassignments_mostly_zero_or_one_with_a_tail(tickets: pd.DataFrame) -> None:
    share = tickets["reassignments"].value_counts(normalize=True)
    assert share[0] + share[1] > 0.8
    assert (tickets["reassignments"] >= 5).mean() > 0.005
    assert (tickets["reopens"] == 0).mean() > 0.8


def test_logistic_regression_recovers_the_coefficient_signs(tickets: pd.DataFrame) -> None:
    features = pd.DataFrame(
        {
            "log1p_first_response_hours": np.log1p(
                _hours(tickets["first_response_at"], tickets["created_at"])
            ),
            "reassignments": tickets["reassignments"],
            "reopens": tickets["reopens"],
            "log1p_resolution_hours": np.log1p(_hours(tickets["solved_at"], tickets["created_at"])),
        }
    )
    model = LogisticRegression(max_iter=1000).fit(features, tickets["rating"] <= 2)
    for name, coef in zip(features.columns, model.coef_[0], strict=True):
        assert TICKET_COEFFICIENTS[name] > 0
        assert coef > 0, name
    effects = [TICKET_COEFFICIENTS[f"tone={t}"] for t in ("calm", "frustrated", "angry")]
    assert effects == sorted(effects)
    assert TICKET_COEFFICIENTS["ping_pong"] > 0


def test_probability_rises_with_reassignments_and_wait(tickets: pd.DataFrame) -> None:
    p = tickets["true_bad_probability"]
    by_hops = p.groupby(tickets["reassignments"].clip(upper=4)).mean()
    assert by_hops.is_monotonic_increasing
    wait = _hours(tickets["first_response_at"], tickets["created_at"])
    by_wait = p.groupby(pd.qcut(wait, 4, labels=False)).mean()
    assert by_wait.is_monotonic_increasing


def test_open_tickets_have_no_outcome_yet() -> None:
    df = make_tickets(2000, seed=7, open_share=0.25)
    is_open = df["solved_at"].isna()
    assert is_open.sum() == 500
    assert df.loc[is_open, "rating"].isna().all()
    assert df.loc[~is_open, "rating"].notna().all()
    for column in POST_SURVEY_COLUMNS:
        assert df.loc[is_open, column].isna().all()
    assert df.loc[is_open, "true_bad_probability"].between(0, 1).all()
    end = pd.Timestamp("2026-01-01") + pd.Timedelta(days=180)
    assert (pd.to_datetime(df.loc[is_open, "first_response_at"]).dropna() <= end).all()
    unanswered = is_open & df["first_response_at"].isna()
    assert unanswered.any()
    assert (df.loc[unanswered, "replies"] == 0).all()


def test_edge_cases_and_invalid_arguments() -> None:
    assert make_comments(0).empty
    assert make_tickets(0).empty
    assert len(make_comments(1, lang="ko", days=1)) == 1
    assert len(make_tickets(1, open_share=1.0, days=1)) == 1
    with pytest.raises(ValueError, match="lang"):
        make_comments(5, lang="fr")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="open_share"):
        make_tickets(5, open_share=1.5)
    with pytest.raises(ValueError, match="days"):
        make_tickets(5, days=0)


# --- drift ----------------------------------------------------------------------------------

STREAM = {"lang": "mixed", "seed": 21, "start": "2026-01-05", "days": 16 * 7, "spike": False}
WORD = re.compile(r"[^\W\d_]{3,}")
CHATBOT = re.compile(r"chatbot|virtual assistant|automated assistant|\bbot\b|챗봇|상담봇")


def _weeks(frame: pd.DataFrame) -> pd.Series:
    """0-based weeks as the monitor counts them: from the Monday on or before the first row."""
    created = pd.to_datetime(frame["created_at"])
    monday = created.min().normalize() - pd.Timedelta(days=created.min().weekday())
    return (created - monday).dt.days // 7


def _words(texts: Any) -> set[str]:
    """Lower-case words of three letters or more in ``texts`` (nested dicts of tuples too)."""
    if isinstance(texts, dict):
        return set().union(*(_words(v) for v in texts.values()))
    return set(WORD.findall(" ".join(texts).lower()))


def _split(frame: pd.DataFrame, week: int = 8) -> tuple[pd.DataFrame, pd.DataFrame]:
    late = _weeks(frame) >= week
    return frame[~late], frame[late]


@pytest.fixture(scope="module")
def stream() -> pd.DataFrame:
    return make_tickets(12_000, **STREAM)


@pytest.fixture(scope="module")
def comment_stream() -> pd.DataFrame:
    return make_comments(12_000, **STREAM)


def test_drift_validates_its_arguments() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        Drift("surge", week=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="week"):
        Drift("new_theme", week=-1)
    with pytest.raises(ValueError, match="strength"):
        Drift("new_theme", week=1, strength=0.0)
    with pytest.raises(ValueError, match="no target"):
        Drift("language_mix", week=1, target="ko")
    with pytest.raises(ValueError, match="one of email, chat"):
        make_tickets(50, drift=Drift("slow_queues", week=0, target="fax"))
    with pytest.raises(ValueError, match="one of delivery"):
        make_comments(50, drift=Drift("category_surge", week=0, target="account"))
    with pytest.raises(ValueError, match="lang='mixed'"):
        make_tickets(50, lang="en", drift=Drift("language_mix", week=0))


def test_drift_weeks_start_on_the_monday_of_the_start_day() -> None:
    thursday = np.datetime64("2026-01-01T00:00:00")
    assert Drift("new_theme", week=0).start_hours(thursday) == -72.0  # Monday 2025-12-29
    assert Drift("new_theme", week=8).first_day(thursday) == np.datetime64("2026-02-23")
    assert Drift("new_theme", week=8).start_hours(thursday) == (31 + 22) * 24.0
    monday = np.datetime64("2026-01-05T00:00:00")
    assert Drift("new_theme", week=2).start_hours(monday) == 14 * 24.0


def test_no_drift_is_the_default() -> None:
    pd.testing.assert_frame_equal(
        make_tickets(500, lang="mixed", seed=4, drift=None), make_tickets(500, lang="mixed", seed=4)
    )
    pd.testing.assert_frame_equal(
        make_comments(500, lang="mixed", seed=4, drift=None),
        make_comments(500, lang="mixed", seed=4),
    )


@pytest.mark.parametrize("kind", DRIFT_KINDS)
@pytest.mark.parametrize("make", [make_tickets, make_comments], ids=["tickets", "comments"])
def test_rows_before_the_change_are_the_rows_without_it(kind: str, make: Any) -> None:
    plain = make(3000, **STREAM)
    drifted = make(3000, **STREAM, drift=Drift(kind, week=8))  # type: ignore[arg-type]
    before = _weeks(plain) < 8
    assert 0.4 < before.mean() < 0.6
    pd.testing.assert_frame_equal(drifted[before], plain[before])
    assert not drifted[~before].equals(plain[~before])
    assert list(drifted.columns) == list(plain.columns)
    pd.testing.assert_series_equal(drifted["created_at"], plain["created_at"])


def test_without_the_spike_weeks_are_alike(stream: pd.DataFrame) -> None:
    delivery = (stream["category"] == "delivery").groupby(_weeks(stream)).mean()
    assert delivery.between(0.18, 0.30).all()
    spiky = make_tickets(12_000, **{**STREAM, "spike": True})
    assert (spiky["category"] == "delivery").groupby(_weeks(spiky)).mean().max() > 0.33


def test_category_surge_raises_the_share_with_new_wording(stream: pd.DataFrame) -> None:
    drifted = make_tickets(12_000, **STREAM, drift=Drift("category_surge", week=8))
    account = (drifted["category"] == "account").groupby(_weeks(drifted)).mean()
    assert account[:8].between(0.07, 0.17).all()
    assert account[8:].between(0.21, 0.35).all()
    before, after = _split(drifted)
    assert (after["category"] == "account").mean() == pytest.approx(0.28 * 0.95, abs=0.02)
    surge_words = {w for bank in ph.SURGE_ISSUES.values() for w in _words(bank)}
    new_words = surge_words - _words(stream["text"])
    novel = drifted["text"].map(lambda text: bool(_words([text]) & new_words))
    assert not novel[before.index].any()
    is_account = after["category"] == "account"
    assert 0.45 < novel[after.index][is_account].mean() < 0.7  # (28 - 12) / 28 are new
    assert not novel[after.index][after["category"].notna() & ~is_account].any()
    # the rating model is the generator's: calibrated after the change too
    bad = after["rating"] <= 2
    assert bad.mean() == pytest.approx(after["true_bad_probability"].mean(), abs=0.02)


@pytest.mark.parametrize("target", [None, "email"])
def test_slow_queues_slow_first_replies_and_raise_bad_ratings(
    stream: pd.DataFrame, target: str | None
) -> None:
    drifted = make_tickets(12_000, **STREAM, drift=Drift("slow_queues", week=8, target=target))
    wait = _hours(drifted["first_response_at"], drifted["created_at"])
    plain_wait = _hours(stream["first_response_at"], stream["created_at"])
    before, after = _split(drifted)
    assert wait[before.index].equals(plain_wait[before.index])
    for channel in ("email", "chat"):
        on = drifted["channel"] == channel
        ratio = wait[after.index][on].median() / wait[before.index][on].median()
        if target in (None, channel):  # x3 after the opening; chat waits also for the opening
            assert 2.0 < ratio < 3.0 if channel == "email" else 1.8 < ratio < 3.3
        else:
            assert 0.7 < ratio < 1.4
    risen = (
        after["true_bad_probability"].mean()
        - stream.loc[after.index, "true_bad_probability"].mean()
    )
    assert risen > (0.02 if target is None else 0.01)
    bad = after["rating"] <= 2
    assert bad.mean() == pytest.approx(after["true_bad_probability"].mean(), abs=0.02)
    assert bad.mean() > (stream.loc[after.index, "rating"] <= 2).mean()


@pytest.mark.parametrize("make", [make_tickets, make_comments], ids=["tickets", "comments"])
def test_language_mix_raises_the_korean_share(make: Any) -> None:
    drifted = make(12_000, **STREAM, drift=Drift("language_mix", week=8, strength=1.0))
    korean = (drifted["lang"] == "ko").groupby(_weeks(drifted)).mean()
    assert korean[:8].between(0.24, 0.36).all()
    assert korean[8:].between(0.38, 0.52).all()
    _, after = _split(drifted)
    assert (after["lang"] == "ko").mean() == pytest.approx(0.45, abs=0.02)
    assert after.loc[after["lang"] == "ko", "text"].str.contains(HANGUL).all()


def test_new_theme_in_tickets_changes_words_not_ratings(stream: pd.DataFrame) -> None:
    drifted = make_tickets(12_000, **STREAM, drift=Drift("new_theme", week=8, strength=0.5))
    mentions = drifted["text"].str.contains(CHATBOT)
    assert not stream["text"].str.contains(CHATBOT).any()
    before, after = _split(drifted)
    assert not mentions[before.index].any()
    assert mentions[after.index].mean() == pytest.approx(0.15, abs=0.02)
    for column in ("rating", "true_bad_probability", "category", "created_at"):
        pd.testing.assert_series_equal(drifted[column], stream[column])


def test_comment_drifts_move_themes_sentiment_and_words(comment_stream: pd.DataFrame) -> None:
    def share(frame: pd.DataFrame, theme: str, polarity: str | None = None) -> float:
        hit = frame["theme_sentiment"].map(lambda d: theme in d and polarity in (None, d[theme]))
        return float(hit.mean())

    plain_before, plain_after = _split(comment_stream)
    assert share(plain_after, "billing_payment") == pytest.approx(
        share(plain_before, "billing_payment"), abs=0.02
    )
    _, after = _split(make_comments(12_000, **STREAM, drift=Drift("category_surge", week=8)))
    assert share(after, "billing_payment") > 2.5 * share(plain_after, "billing_payment")

    _, after = _split(make_comments(12_000, **STREAM, drift=Drift("slow_queues", week=8)))
    assert share(after, "waiting_time", "negative") > 2 * share(
        plain_after, "waiting_time", "negative"
    )
    assert after["rating"].mean() < plain_after["rating"].mean() - 0.05

    drifted = make_comments(12_000, **STREAM, drift=Drift("new_theme", week=8))
    before, after = _split(drifted)
    mentions = drifted["text"].str.contains(CHATBOT)
    assert not comment_stream["text"].str.contains(CHATBOT).any()
    assert not mentions[before.index].any()
    assert mentions[after.index].mean() == pytest.approx(0.25, abs=0.02)
    assert drifted["themes"].map(lambda t: set(t) <= set(THEMES)).all()  # a theme outside them
    negative = after["sentiment"] == "negative"
    assert negative[mentions].mean() > negative[~mentions].mean() + 0.2
    assert after["rating"][mentions].mean() < after["rating"][~mentions].mean()
    assert not after["text"].str.contains(UNRESOLVED).any()


def test_cli_writes_a_weekly_stream_with_a_change(tmp_path: Any) -> None:
    out = tmp_path / "stream.csv"
    args = ["data", "synth", "tickets", "--weeks", "4", "--per-week", "300", "--lang", "mixed"]
    args += ["--no-spike", "--drift", "category_surge", "--drift-week", "2", "--out", str(out)]
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    assert "category_surge from week 2 (2026-01-19)" in result.stdout
    frame = pd.read_csv(out)
    assert len(frame) == 1200
    created = pd.to_datetime(frame["created_at"])
    assert created.min() >= pd.Timestamp("2026-01-05")  # the first Monday on or after --start
    assert created.max() < pd.Timestamp("2026-02-02")
    expected = make_tickets(
        1200, **{**STREAM, "days": 28, "seed": 0}, drift=Drift("category_surge", week=2)
    )
    assert frame["text"].tolist() == expected["text"].tolist()
    bad = run_cli("data", "synth", "comments", "--drift", "language_mix", "--out", str(out))
    assert bad.returncode == 2
    assert "lang='mixed'" in bad.stderr
