"""The monitoring section of the HTML report: alerts in words, expected against realized
performance, one row a drift test; self-contained, deterministic, and rendered by a browser."""

from __future__ import annotations

import base64
import inspect
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import open_in_chromium
from matplotlib.figure import Figure

from cxml.data.synth import make_comments
from cxml.errors import BadInputError
from cxml.monitoring.inputs import DriftInputs
from cxml.monitoring.log import log_frame
from cxml.monitoring.monitor import MonitorResult, monitor
from cxml.monitoring.profile import build_profile
from cxml.monitoring.realized import JoinSummary, realized_metrics
from cxml.report import ReportResult, build_monitoring_report, build_report
from cxml.report.charts import _error_bars
from cxml.report.monitoring import REALIZED_CONFIDENCE, drift_table, numeric

WEEKS = ["2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23"]
SURGE = "category: account 12% -> 28% <b>again</b>"
SLOWER = "first response hours: median 6.0 -> 15"


def _tickets_result() -> MonitorResult:
    """Four weeks of a ticket model: a surge alerting in weeks 3 and 4, slower replies in week
    3, no ratings in week 3 (its realized figures are None, as an object column gives them)."""
    periods = pd.DataFrame(
        {
            "period": WEEKS,
            "rows": [1000, 980, 1010, 990],
            "rescored": [0, 3, 0, 1],
            "estimated_bad_rate": [0.20, 0.21, 0.26, 0.25],
            "estimated_roc_auc": [0.80, 0.79, 0.74, 0.75],
            "estimated_precision": [0.50, 0.50, 0.45, 0.46],
            "estimated_recall": [0.60, 0.60, 0.55, 0.56],
            "flag_share": [0.24, 0.25, 0.30, 0.30],
            "rated": [150, 160, 0, 140],
            "realized_bad_rate": [0.19, 0.22, None, 0.27],
            "realized_bad_rate_low": [0.15, 0.17, None, 0.20],
            "realized_bad_rate_high": [0.24, 0.28, None, 0.35],
            "realized_roc_auc": [0.81, 0.78, None, 0.73],
            "realized_roc_auc_low": [0.74, 0.70, None, 0.64],
            "realized_roc_auc_high": [0.88, 0.86, None, 0.82],
            "alerts": [0, 0, 2, 1],
        },
    ).astype({"realized_roc_auc": object})
    rows = []
    for week in WEEKS:
        surge, slow = week >= "2026-03-16", week == "2026-03-16"
        rows += [
            (week, "lang", "category", "psi", 0.01, 0.04, 0.05, False, "en 70%", "en 69%", "lang"),
            (
                week,
                "category",
                "category",
                "psi",
                0.30 if surge else 0.01,
                0.04,
                0.05,
                surge,
                "billing 30%, account 12%",
                "account 28%" if surge else "account 12%",
                SURGE,
            ),
            (
                week,
                "first_response_hours",
                "number",
                "wasserstein",
                0.90 if slow else 0.05,
                0.25,
                0.20,
                slow,
                "median 6.0",
                "median 15" if slow else "median 6.1",
                SLOWER,
            ),
        ]
    columns = [
        "period", "test", "kind", "statistic", "value", "threshold", "floor", "alert",
        "reference", "current", "message",
    ]  # fmt: skip
    return MonitorResult(
        task="csat",
        model_name="cxml-csat",
        model_version="3",
        period="W",
        periods=periods,
        tests=pd.DataFrame(rows, columns=columns),
        counts={"rows_read": 4000, "other_versions": 12, "no_time": 0},
        join=JoinSummary(500, 450, 20, 10, 5, 15, 7, {"blank rating": 15}),
    )


def _comments_result(tests: pd.DataFrame) -> MonitorResult:
    """A sentiment model's two quiet weeks: no expected figures, no ratings, no alert."""
    quiet = tests[tests["period"].isin(WEEKS[:2]) & (tests["test"] == "lang")]
    periods = pd.DataFrame({"period": WEEKS[:2], "rows": [300, 310], "rescored": 0, "alerts": 0})
    return MonitorResult("sentiment", "cxml-sentiment", "7", "W", periods, quiet.copy())


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[ReportResult, MonitorResult]:
    result = _tickets_result()
    folder = tmp_path_factory.mktemp("monitoring")
    return build_monitoring_report(result, out=folder / "monitoring.html"), result


def _html(result: ReportResult) -> str:
    return result.html.read_text(encoding="utf-8")


def _text(html: str) -> str:
    """The page's words: tags dropped, white space collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_writes_the_page_and_only_its_two_csv_files(tmp_path: Path) -> None:
    (tmp_path / "metrics_over_time.csv").write_text("keep me\n")
    (tmp_path / "themes.csv").write_text("mine\n")
    result = build_monitoring_report(_tickets_result(), out=tmp_path / "m.html")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "m.html",
        "metrics_over_time.csv",
        "monitoring_periods.csv",
        "monitoring_tests.csv",
        "themes.csv",
    ]
    assert (tmp_path / "metrics_over_time.csv").read_text() == "keep me\n"
    assert result.tables == {
        "monitoring_periods": tmp_path / "monitoring_periods.csv",
        "monitoring_tests": tmp_path / "monitoring_tests.csv",
    }
    periods = pd.read_csv(result.tables["monitoring_periods"])
    assert periods["realized_roc_auc"].tolist()[:2] == [0.81, 0.78]
    assert np.isnan(periods["realized_roc_auc"][2])
    tests = pd.read_csv(result.tables["monitoring_tests"])
    assert len(tests) == 12 and tests["alert"].sum() == 3
    with pytest.raises(BadInputError, match=r"out must be an \.html file"):
        build_monitoring_report(_tickets_result(), out=tmp_path / "m.txt")


def test_alerts_are_said_in_words_by_period(built: tuple[ReportResult, MonitorResult]) -> None:
    html = _html(built[0])
    words = _text(html)
    assert "<b>again" not in html  # the message is text, escaped
    surge = "category: account 12% -&gt; 28% &lt;b&gt;again&lt;/b&gt;"
    slower = SLOWER.replace(">", "&gt;")
    week3 = f"Week of 2026-03-16 {surge} (PSI 0.300, limit 0.050) {slower} "
    week3 += "(Wasserstein distance (reference IQRs) 0.900, limit 0.250)"
    assert week3 in words
    assert f"Week of 2026-03-23 {surge} (PSI 0.300, limit 0.050)" in words
    assert "Week of 2026-03-02" not in words and "Week of 2026-03-09" not in words
    assert "Alerts 3 in 2 of 4 weeks" in words
    assert "4,000 rows read; 12 rows of other model versions (left out)" in words
    assert "20 for tickets never scored" in words and "15 rejected: blank rating" in words


def test_performance_table_sets_expected_beside_realized(
    built: tuple[ReportResult, MonitorResult],
) -> None:
    words = _text(_html(built[0]))
    header = (
        "Week Rows Rated Alerts Bad rate ROC-AUC Precision at the policy Recall at the policy "
        "Flagged at risk expected realized expected realized expected expected scored"
    )
    assert header in words
    # week 1: bad rate 20.0 expected, 19.0 realized (15.0-24.0); ROC-AUC 0.800 / 0.810 ...
    week1 = "2026-03-02 1,000 150 0 20.0 19.0 (15.0–24.0) 0.800 0.810 (0.740–0.880) 50.0 60.0 24.0"
    assert week1 in words
    assert "2026-03-16 1,010 0 2 26.0 — 0.740 — 45.0 55.0 30.0" in words  # no ratings that week


def test_drift_table_has_one_row_a_test_alerted_first() -> None:
    table = drift_table(_tickets_result().tests)
    assert table["test"].tolist() == ["category", "first_response_hours", "lang"]
    category, hours, lang = table.to_dict("records")
    assert category["period"] == "2026-03-23" and category["value"] == 0.30
    assert category["limit"] == 0.05 and category["alert"]  # max(threshold 0.04, floor 0.05)
    assert category["alerted"] == "2026-03-16, 2026-03-23" and category["alerts"] == 2
    assert hours["value"] == 0.05 and hours["limit"] == 0.25 and not hours["alert"]
    assert hours["alerted"] == "2026-03-16" and hours["current"] == "median 6.1"
    assert lang["alerts"] == 0 and lang["alerted"] == ""
    assert hours["statistic"] == "Wasserstein distance (reference IQRs)"
    assert drift_table(_tickets_result().tests.iloc[:0]).empty


def test_drift_table_in_the_page(built: tuple[ReportResult, MonitorResult]) -> None:
    words = _text(_html(built[0]))
    assert (
        "category category billing 30%, account 12% account 28% PSI 0.300 ▲ 0.050 "
        "2026-03-16, 2026-03-23" in words
    )
    assert "lang category en 70% en 69% PSI 0.010 0.050 none" in words


def test_the_interval_level_said_is_that_of_the_realized_figures() -> None:
    default = inspect.signature(realized_metrics).parameters["confidence"].default
    assert round(100 * default) == REALIZED_CONFIDENCE


def test_periods_become_numbers() -> None:
    periods = numeric(_tickets_result().periods)
    assert periods["realized_roc_auc"].dtype == np.float64
    assert np.isnan(periods["realized_roc_auc"][2]) and periods["rows"].dtype == np.int64


def test_page_loads_nothing_and_same_result_gives_same_bytes(
    built: tuple[ReportResult, MonitorResult], tmp_path: Path
) -> None:
    first, result = built
    html = _html(first)
    assert not re.search(r"https?://|<script|<link|@import|url\(", html, re.IGNORECASE)
    sources = re.findall(r'\ssrc="([^"]*)"', html)
    assert len(sources) == 1 and sources[0].startswith("data:image/svg+xml;base64,")
    assert all(h.startswith("#") for h in re.findall(r'\shref="([^"]*)"', html))
    assert re.findall(r"<h2[^>]*>(.*?)</h2>", html) == [
        "Alerts",
        "Performance over time",
        "Drift tests",
    ]
    again = build_monitoring_report(result, out=tmp_path / "monitoring.html")
    assert again.html.read_bytes() == first.html.read_bytes()
    for name, path in first.tables.items():
        assert again.tables[name].read_bytes() == path.read_bytes(), name


def test_chart_has_expected_and_realized_panels(built: tuple[ReportResult, MonitorResult]) -> None:
    source = re.search(r'src="data:image/svg\+xml;base64,([^"]*)"', _html(built[0]))
    assert source
    svg = base64.b64decode(source[1]).decode("utf-8")
    for words in ("Bad rate (%)", "ROC-AUC", "expected", "realized (95 % CI)", "alerts per period"):
        assert words in svg


def test_error_bars_span_the_interval_and_skip_missing_values() -> None:
    ax = Figure().subplots()
    value = pd.Series([0.19, np.nan, 0.27])
    low, high = pd.Series([0.15, np.nan, 0.28]), pd.Series([0.24, np.nan, 0.35])
    _error_bars(ax, np.arange(3), value, low, high, scale=100.0, label="realized")
    container = ax.containers[0]
    points = container.lines[0]
    assert points.get_xdata().tolist() == [0, 2]
    np.testing.assert_allclose(points.get_ydata(), [19.0, 27.0])
    segments = container.lines[2][0].get_segments()
    np.testing.assert_allclose(segments[0], [[0, 15.0], [0, 24.0]])
    # an interval that misses its value (bootstrap) reaches the value, never below zero length
    np.testing.assert_allclose(segments[1], [[2, 27.0], [2, 35.0]])


def test_comment_model_without_alerts(tmp_path: Path) -> None:
    result = build_monitoring_report(
        _comments_result(_tickets_result().tests), out=tmp_path / "m.html", title="Sentiment"
    )
    html = _html(result)
    words = _text(html)
    assert "<title>Sentiment</title>" in html
    assert "No alert: in every week, every test stayed within its limit." in words
    assert "has no expected performance" in words and "Rated" not in words
    assert "2026-03-02 300 0" in words
    source = re.search(r'src="data:image/svg\+xml;base64,([^"]*)"', html)
    assert source and "Bad rate" not in base64.b64decode(source[1]).decode("utf-8")


def test_no_rows_to_monitor(tmp_path: Path) -> None:
    empty = MonitorResult(
        "csat", "cxml-csat", "3", "W", pd.DataFrame([]), _tickets_result().tests.iloc[:0]
    )
    words = _text(_html(build_monitoring_report(empty, out=tmp_path / "m.html")))
    assert "No test ran: there were no rows to monitor." in words
    assert "No alert" in words


def test_monitor_result_of_a_generated_log(tmp_path: Path) -> None:
    """The real job's result: slower first replies from week 3, an account surge in week 4."""
    rng = np.random.default_rng(0)

    def scored(
        n: int, slower: float = 1.0, account: float = 0.1
    ) -> tuple[DriftInputs, pd.DataFrame]:
        p = rng.beta(2, 6, n)
        kinds = rng.choice(["billing", "account", "delivery"], n, p=[0.9 - account, account, 0.1])
        inputs = DriftInputs(
            pd.DataFrame({"first_response_hours": slower * rng.gamma(2, 3, n)}),
            pd.DataFrame({"category": kinds.astype(object)}),
            [[] for _ in range(n)],
        )
        outputs = pd.DataFrame(
            {"bad_rating_probability": p, "at_risk": p >= 0.4, "reasons": [[]] * n}
        ).assign(model_name="cxml-csat", model_version="3")
        return inputs, outputs

    profile = build_profile("csat", *scored(3000), {"val_roc_auc": 0.7}, {"threshold": 0.4})
    weeks = []
    for week in range(4):
        inputs, outputs = scored(500, 2.5 if week >= 2 else 1.0, 0.4 if week == 3 else 0.1)
        start = pd.Timestamp(WEEKS[week], tz="UTC")
        times = pd.Series(start + pd.to_timedelta(rng.uniform(0, 6, 500), unit="D"))
        weeks.append(log_frame("csat", outputs, [f"{week}-{i}" for i in range(500)], inputs, times))
    log = pd.concat(weeks, ignore_index=True)
    sample = log.sample(400, random_state=0)
    bad = rng.random(400) < sample["bad_rating_probability"]
    ratings = pd.DataFrame({"id": sample["id"], "rating": np.where(bad, 1, 5)})
    result = monitor(log, profile, ratings=ratings)
    assert result.alerts, "the generated change should alert"

    report = build_report(make_comments(120, seed=1), out=tmp_path / "voc.html", monitoring=result)
    html = _html(report)
    headings = re.findall(r"<h2[^>]*>(.*?)</h2>", html)
    assert headings[-1] == "Monitoring" and '<a href="#monitoring">Monitoring</a>' in html
    assert re.findall(r"<h3[^>]*>(.*?)</h3>", html)[-3:] == [
        "Alerts",
        "Performance over time",
        "Drift tests",
    ]
    assert {"monitoring_periods", "monitoring_tests", "examples"} <= set(report.tables)
    for alert in result.alerts:
        assert alert.message.replace(">", "&gt;") in html
    first = result.periods.iloc[0]
    auc = f"{first['realized_roc_auc']:.3f} ({first['realized_roc_auc_low']:.3f}–"
    assert f"{first['estimated_roc_auc']:.3f}</td>" in html and auc in html
    exported = pd.read_csv(report.tables["monitoring_periods"])
    np.testing.assert_allclose(
        exported["estimated_bad_rate"], result.periods["estimated_bad_rate"], atol=5e-5
    )


@pytest.mark.integration
def test_renders_in_headless_chromium(
    built: tuple[ReportResult, MonitorResult], tmp_path: Path
) -> None:
    dom, (loaded, images), pixels = open_in_chromium(built[0].html, tmp_path)
    assert loaded == images == 1
    assert "first response hours: median 6.0 -&gt; 15" in dom
    assert '<h2 id="monitoring-drift">Drift tests</h2>' in dom
    assert pixels.shape == (1400, 1100)
    assert pixels.std() > 20 and (pixels < 200).mean() > 0.02  # text and charts, not blank
