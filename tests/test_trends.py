"""Theme spikes: the beta-binomial / quasi-binomial test, its false alarms, the trends job."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cxml.data.synth import Drift, make_comments
from cxml.errors import BadInputError
from cxml.monitoring.trends import baseline_windows, known_themes, spike_tests, trends
from cxml.report.trends import trends_section

SHARES = np.array([0.22, 0.20, 0.10, 0.14, 0.08, 0.06, 0.08, 0.07, 0.05])
NEGATIVE = np.array([0.38, 0.35, 0.40, 0.28, 0.72, 0.60, 0.50, 0.45, 0.50])


def test_binomial_limit_matches_scipy() -> None:
    """Without wander and with a huge baseline, the p-value is the binomial tail."""
    result = spike_tests([25, 40], [200, 200], [[10**6] * 8, [10**6] * 8], [[10**7] * 8] * 2, 1e-3)
    expected = stats.binom.sf([24, 39], 200, 0.1)
    assert result.p_value == pytest.approx(expected, rel=1e-3)
    assert result.usual == pytest.approx([0.1, 0.1], rel=1e-6)
    # the smallest count that rejects at 1e-3: binomial isf + 1
    assert result.threshold[0] * 200 == stats.binom.isf(1e-3, 200, 0.1) + 1


def test_dispersion_by_hand() -> None:
    """Shares 10 % and 30 % of 100 each: pooled p = 40.5 / 201, Pearson dispersion
    (100 (0.1 - p)^2 + 100 (0.3 - p)^2) / (1 p (1 - p)), t with 1 degree of freedom."""
    p = 40.5 / 201
    dispersion = (100 * (0.1 - p) ** 2 + 100 * (0.3 - p) ** 2) / (p * (1 - p))
    scale = np.sqrt(dispersion * p * (1 - p) * (1 / 100 + 1 / 200))
    expected_t = stats.t.sf((0.6 - p) / scale, 1)
    result = spike_tests([60], [100], [[10, 30]], [[100, 100]], 0.01)
    binomial = stats.betabinom.sf(59, 100, p * 200, (1 - p) * 200)
    assert result.p_value[0] == pytest.approx(max(expected_t, binomial), rel=1e-6)
    assert expected_t > binomial  # the wander, not the counts, decides here


def _null_alarm_rate(seed: int, n_mean: int, cv: float, series: int = 60, periods: int = 20):
    """Share of tested periods in which any of 9 themes x 2 shares fires without any change."""
    rng = np.random.default_rng(seed)
    k = len(SHARES)
    n = rng.poisson(n_mean, size=(series, periods))

    def wander(mean: np.ndarray) -> np.ndarray:
        if cv == 0:
            return np.broadcast_to(mean, (series, periods, k))
        c = mean * (1 - mean) / (cv * mean) ** 2 - 1
        return rng.beta(mean * c, (1 - mean) * c, size=(series, periods, k))

    x = rng.binomial(n[..., None], wander(SHARES))
    neg = rng.binomial(x, wander(NEGATIVE))
    starts = list(pd.date_range("2026-01-05", periods=periods, freq="W-MON", tz="UTC"))
    level = 0.01 / (2 * k)
    fired = tested = 0
    for t, window in enumerate(baseline_windows(starts, "W")):
        if not window:
            continue
        totals = np.repeat(n[:, window, None], k, axis=2).transpose(0, 2, 1)
        volume = spike_tests(
            x[:, t],
            np.repeat(n[:, t, None], k, axis=1),
            x[:, window].transpose(0, 2, 1),
            totals,
            level,
        )
        negative = spike_tests(
            neg[:, t],
            x[:, t],
            neg[:, window].transpose(0, 2, 1),
            x[:, window].transpose(0, 2, 1),
            level,
        )
        alarms = (volume.p_value.reshape(series, k) <= level) | (
            negative.p_value.reshape(series, k) <= level
        )
        fired += int(alarms.any(axis=1).sum())
        tested += series
    return fired / tested, tested


@pytest.mark.parametrize(
    ("n_mean", "cv"),
    [(400, 0.0), (400, 0.1), (60, 0.2)],
    ids=["binomial", "wandering", "small-wandering"],
)
def test_false_alarms_at_most_one_in_a_hundred_periods(n_mean: int, cv: float) -> None:
    """Over many null series (no floor: the statistic alone), 18 tests a period at alpha 0.01."""
    rates = [_null_alarm_rate(seed, n_mean, cv) for seed in range(3)]
    periods = sum(t for _, t in rates)
    rate = sum(r * t for r, t in rates) / periods
    assert periods >= 2_000
    assert rate <= 0.01, rate


def test_planted_spike_is_found() -> None:
    """A theme going from 8 % to 20 % of 400 comments is flagged in nearly every series (8 % to
    16 %: in 64 %, the price of not trusting the binomial variance over 8 baseline periods)."""
    rng = np.random.default_rng(7)
    history = rng.binomial(400, 0.08, size=(200, 8))
    now = rng.binomial(400, 0.20, size=200)
    result = spike_tests(now, 400, history, np.full((200, 8), 400), 0.01 / 18)
    assert (result.p_value <= 0.01 / 18).mean() >= 0.9
    quiet = spike_tests(rng.binomial(400, 0.08, size=200), 400, history, 400, 0.01 / 18)
    assert (quiet.p_value <= 0.01 / 18).mean() <= 0.01


def test_seasonal_baseline_for_days() -> None:
    """A theme 2.5 times as common on Saturdays: once 4 weeks of history give same-weekday
    baselines, its Saturdays do not alarm (the first Saturdays, against weekdays, may)."""
    days = pd.date_range("2026-01-05", periods=84, freq="D", tz="UTC")
    rows = []
    rng = np.random.default_rng(3)
    for day in days:
        share = 0.30 if day.weekday() == 5 else 0.12
        for i in range(300):
            rows.append(
                {
                    "created_at": day + pd.Timedelta(minutes=i),
                    "themes": ["a"] * (rng.random() < share),
                }
            )
    frame = pd.DataFrame(rows)
    seasonal = trends(frame, period="D")
    assert not [a for a in seasonal.alerts if a.period >= "2026-02-02"]
    windows = baseline_windows(list(days), "D")
    assert windows[40] == [5, 12, 19, 26, 33]


def test_trends_on_generated_streams() -> None:
    """No change: no alert; more and angrier waiting-time comments from week 10: alerts there."""
    kwargs = {"seed": 5, "start": "2026-01-05", "days": 7 * 14, "spike": False}
    quiet = trends(make_comments(7_000, **kwargs), period="W")
    assert quiet.alerts == []
    assert len(quiet.periods) == 14 and quiet.periods["tests"].iloc[4] == 18
    changed = trends(
        make_comments(7_000, drift=Drift("slow_queues", week=10), **kwargs), period="W"
    )
    fired = {(a.period, a.test) for a in changed.alerts}
    assert ("2026-03-16", "waiting_time.volume") in fired
    assert all(period >= "2026-03-16" for period, _ in fired)
    message = next(a.message for a in changed.alerts if a.test == "waiting_time.volume")
    assert message.startswith("theme 'waiting_time' mentioned by ")
    assert "% of comments (usual " in message and "95 % band" in message
    payload = changed.to_json()
    assert set(payload) >= {"task", "period", "alpha", "alerts", "periods", "counts"}


def test_discovered_theme_column_and_errors() -> None:
    frame = make_comments(3_000, seed=2, start="2026-01-05", days=7 * 10, spike=False)
    discovered = frame.assign(theme=[t[0] if t else "" for t in frame["themes"]]).drop(
        columns=["themes", "theme_sentiment"]
    )
    result = trends(discovered, period="W")
    assert set(result.tests["theme"]) <= set(frame["themes"].explode().dropna())
    assert result.counts["no_theme"] == sum(not t for t in frame["themes"])
    with pytest.raises(BadInputError, match="created_at"):
        trends(frame.drop(columns=["created_at"]))
    with pytest.raises(BadInputError, match="themes"):
        trends(frame.drop(columns=["themes"]))


def test_cli_exit_code_json_and_table(tmp_path) -> None:
    from tests.helpers import run_cli

    kwargs = {"seed": 5, "start": "2026-01-05", "days": 7 * 12, "spike": False}
    quiet = tmp_path / "quiet.jsonl"
    make_comments(4_000, **kwargs).to_json(quiet, orient="records", lines=True)
    changed = tmp_path / "changed.jsonl"
    drifted = make_comments(4_000, drift=Drift("category_surge", week=9), **kwargs)
    drifted.to_json(changed, orient="records", lines=True)
    # emerging themes have their own tests: here the spikes' exit code, JSON, table and report
    done = run_cli("trends", str(quiet), "--period", "W", "--no-emerging")
    assert done.returncode == 0, done.stderr
    done = run_cli(
        "trends",
        str(changed),
        "--no-emerging",
        "--json",
        "--out",
        str(tmp_path / "tests.csv"),
        "--report",
        str(tmp_path / "report.html"),
    )
    assert done.returncode == 3, done.stderr
    payload = json.loads(done.stdout)
    assert payload["period"] == "W" and payload["alpha"] == 0.01
    assert any(a["test"] == "billing_payment.volume" for a in payload["alerts"])
    assert "ALERT 2026-03-09: theme 'billing_payment'" in done.stderr
    table = pd.read_csv(tmp_path / "tests.csv")
    assert table["alert"].sum() == len(payload["alerts"])
    page = (tmp_path / "report.html").read_text()
    assert 'id="trends"' in page and "theme &#39;billing_payment&#39; mentioned by" in page
    assert (tmp_path / "trends_tests.csv").is_file()
    done = run_cli("trends", str(tmp_path / "missing.csv"))
    assert done.returncode == 2


@pytest.mark.slow
def test_emerging_theme_alerts_in_its_first_week(monkeypatch, tmp_path) -> None:
    """A new theme (the support chatbot) from week 8: the week-8 job names it; week 7's does not."""
    from cxml.discovery import KnownThemes, discover

    monkeypatch.setenv("CXML_CACHE_DIR", str(tmp_path / "cache"))
    frame = make_comments(
        1_800, seed=3, start="2026-01-05", days=84, spike=False, drift=Drift("new_theme", week=8)
    )
    times = pd.to_datetime(frame["created_at"], utc=True)
    week = ((times - pd.Timestamp("2026-01-05", tz="UTC")).dt.days // 7).to_numpy()
    known = KnownThemes.from_discovery(discover(frame[week < 4]))
    before = trends(frame[week <= 7], known=known)
    assert not [a for a in before.alerts if a.test.startswith("emerging.")]
    after = trends(frame[week <= 8], known=known)
    emerging = [a for a in after.alerts if a.test.startswith("emerging.")]
    assert emerging and all(a.period == "2026-03-02" for a in emerging)
    assert any("bot" in a.message.lower() for a in emerging)
    assert after.to_json()["emerging"]

    # known themes taken from the comments' own themes (cxml trends without --taxonomy), and
    # the growth of the emerging theme over every week: the earlier weeks count by the theme
    # their comments would join
    derived = known_themes(frame[week <= 8], "W")
    assert derived is not None and set(derived.names) == {
        t for row in frame["themes"][week < 8] for t in row
    }
    result = trends(frame[week <= 8], known=derived)
    grown = result.emerging
    bot = grown[grown["label"].str.contains("bot")].iloc[0]
    assert len(bot["shares"]) == 9 and len(bot["counts"]) == 9
    assert bot["shares"][-1] == pytest.approx(bot["share"])
    # earlier weeks' comments about the human chat agents join it too (up to 5.7 % a week)
    assert bot["shares"][-1] > 2 * max(bot["shares"][:-1]) and bot["slope"] > 0
    shown = next(e for e in trends_section(result)[0]["emerging"] if e["id"] == bot["id"])
    assert shown["growth"].count("→") == 5 and shown["growth"].endswith(f"{100 * bot['share']:.1f}")


@pytest.mark.integration
def test_report_section_in_headless_chromium(tmp_path) -> None:
    from helpers import open_in_chromium

    from cxml.report import build_report

    comments = make_comments(
        4_000,
        seed=5,
        start="2026-01-05",
        days=84,
        spike=False,
        drift=Drift("category_surge", week=9),
    )
    result = trends(comments, period="W")
    page = build_report(comments, out=tmp_path / "r.html", period="W", trends=result)
    dom, _, pixels = open_in_chromium(page.html, tmp_path)
    assert "<h2>Trends and emerging themes</h2>" in dom
    assert '<a href="#trends">' in dom
    assert "theme 'billing_payment' mentioned by" in dom
    assert "No emerging theme" in dom
    assert pixels.std() > 20
