"""Property-based tests over hostile files: the data-integrity invariant of every batch job.

For every generated file (encodings, quotes and line breaks inside cells, huge cells, sparse and
late-appearing columns, mixed types, odd Unicode, dates at and beyond the edges of what can be
represented) a job either stops with a clear error that names the file, or scores every good row,
rejects every bad one with a reason, and the counts add up: rows read = scored + rejected.
The generator knows which rows break the contract, so "good" and "bad" are checked row by row.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest
from helpers import in_folder
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from cxml.config import CsatConfig, SentimentConfig
from cxml.data.synth import make_comments, make_tickets
from cxml.errors import BadInputError
from cxml.scoring import analyze_comments_file, score_tickets_file

pytestmark = pytest.mark.slow

HYPOTHESIS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failing file is printed as it is
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
AS_OF = pd.Timestamp("2026-07-01T09:00:00Z")

# Texts: plain, with the characters that break naive CSV writers and readers, odd Unicode
WORDS = ["refund", "late", "great", "support", "환불", "배송", "좋아요", "café", "naïve", "€5"]
ODD = ["\x00", "\u200b", "\ufeff", "\u200d", '"', "'", ",", ";", "\n", "\r\n", "\t", "\\"]
BLANK = ["", "   ", "\u200b", "\u200b \u200d", "\t", "\ufeff"]
# Dates: ISO forms in range, then values nobody can represent or read
GOOD_DATES = ["2026-03-04T10:00:00Z", "2026-03-04", "2026-03-04T10:00:00+09:00", "1990-01-01"]
BAD_DATES = ["0001-01-01T00:00:00Z", "3000-01-01T00:00:00Z", "9999-12-31T23:00:00-05:00",
             "1500-01-01", "not a date", "12345", "2026-13-45"]  # fmt: skip


@dataclass
class Row:
    """One generated record and whether the contract accepts it."""

    values: dict[str, Any]
    good: bool
    why: str = ""


@dataclass
class HostileFile:
    rows: list[Row] = field(default_factory=list)
    suffix: str = ".csv"
    encoding: str = "utf-8"
    late_column_at: int = 0

    def __repr__(self) -> str:  # huge cells shortened, so a failure stays readable
        rows = [
            {k: (v[:60] + f"...({len(v)} chars)" if isinstance(v, str) and len(v) > 80 else v)
             for k, v in row.values.items()} | {"_good": row.good}
            for row in self.rows
        ]  # fmt: skip
        return f"HostileFile({self.suffix}, {self.encoding}, rows={rows})"


@st.composite
def texts(draw: st.DrawFn) -> tuple[str, bool]:
    """A comment text and whether it is acceptable (blank-looking texts are not)."""
    kind = draw(st.sampled_from(["plain", "odd", "blank", "huge", "surrogate"]))
    if kind == "blank":
        return draw(st.sampled_from(BLANK)), False
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=6))
    text = " ".join(words)
    if kind == "odd":
        for char in draw(st.lists(st.sampled_from(ODD), min_size=1, max_size=4)):
            cut = draw(st.integers(0, len(text)))
            text = text[:cut] + char + text[cut:]
        return text, True
    if kind == "huge":  # over csv's default 128 KB field limit: read and cut, never rejected
        return text + " x" * 90_000, True
    if kind == "surrogate":  # only JSON can carry one: replaced by U+FFFD, never a crash
        return text + "\ud800", True
    return text, True


@st.composite
def comment_files(draw: st.DrawFn) -> HostileFile:
    n = draw(st.integers(1, 30))
    suffix = draw(st.sampled_from([".csv", ".jsonl", ".tsv"]))
    spec = HostileFile(suffix=suffix, late_column_at=draw(st.integers(0, n)))
    ids: list[str] = []
    for i in range(n):
        text, ok = draw(texts())
        if suffix != ".jsonl":
            text = text.replace("\ud800", "")
        date_kind = draw(st.sampled_from(["good", "good", "empty", "bad"]))
        date = {"good": draw(st.sampled_from(GOOD_DATES)), "empty": ""}.get(
            date_kind, draw(st.sampled_from(BAD_DATES))
        )
        rating = draw(st.sampled_from(["1", "5", "", "7", "11", "three", "4.5"]))
        broken = [
            ("text", not ok),
            ("created_at", date_kind == "bad"),
            ("rating", rating in ("11", "three", "4.5")),  # 0-10 is valid
        ]
        bad_reasons = [why for why, is_bad in broken if is_bad]
        # an id seen on an earlier accepted row: a duplicate (a rejected row does not claim it)
        duplicate = bool(ids) and draw(st.integers(0, 9)) == 0
        row_id = draw(st.sampled_from(ids)) if duplicate else f"r{i}"
        if duplicate:
            bad_reasons.append("id")
        elif not bad_reasons:
            ids.append(row_id)
        values: dict[str, Any] = {"id": row_id, "text": text, "created_at": date, "rating": rating}
        if i >= spec.late_column_at:  # a column that is empty (or absent) until late in the file
            values["segment"] = draw(st.sampled_from(["north", 3, 2.5, "", None, "남부"]))
        good = not bad_reasons
        spec.rows.append(Row(values, good, ",".join(bad_reasons)))
    if suffix != ".jsonl":
        spec.encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp949"]))
    return spec


def write(spec: HostileFile, folder: Path) -> Path:
    path = folder / f"input{spec.suffix}"
    if spec.suffix == ".jsonl":
        lines = []
        for row in spec.rows:
            record = {k: v for k, v in row.values.items() if v != "" and v is not None}
            lines.append(json.dumps(record, ensure_ascii=True))  # \ud800 stays an escape
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path
    frame = pd.DataFrame([row.values for row in spec.rows]).fillna("")
    sep = "\t" if spec.suffix == ".tsv" else ","
    text = frame.to_csv(index=False, sep=sep, lineterminator="\r\n")
    try:
        path.write_bytes(text.encode(spec.encoding))
    except UnicodeEncodeError:  # cp949 cannot hold every character: write UTF-8 instead
        spec.encoding = "utf-8"
        path.write_bytes(text.encode("utf-8"))
    return path


def check_invariant(
    spec: HostileFile, path: Path, out: Path, rejects: Path, run: Any, id_field: str = "id"
) -> pd.DataFrame | None:
    """Run the job; check "clear error" or "every row scored or rejected with a reason"."""
    try:
        result = run(path, out, rejects=rejects, chunksize=7)
    except BadInputError as exc:
        assert path.name in str(exc), f"the error does not name the file: {exc}"
        assert not any(spec_row.good for spec_row in spec.rows), f"good rows lost: {exc}"
        return None
    scored = pd.read_parquet(out)
    rejected = pd.read_csv(rejects, dtype={"_reason": str}) if rejects.exists() else None
    n = len(spec.rows)
    n_rejected = 0 if rejected is None else len(rejected)
    assert result.data.rows == n, (result.data.describe(), n)
    assert len(scored) + n_rejected == n, (len(scored), n_rejected, n)
    assert result.data.good == len(scored) and result.data.rejected == n_rejected
    rejected_rows = set() if rejected is None else set(rejected["_row"].astype(int))
    assert rejected is None or rejected["_reason"].str.len().min() > 0
    scored_rows = set(range(1, n + 1)) - rejected_rows
    expected_ids = {str(spec.rows[number - 1].values[id_field]) for number in scored_rows}
    assert set(scored[id_field].astype(str)) == expected_ids
    for number, row in enumerate(spec.rows, start=1):
        if row.good:
            assert number in scored_rows, f"row {number} is good but was rejected: {row.values}"
        else:
            assert number in rejected_rows, f"row {number} ({row.why}) was not rejected"
    texts_out = [str(t) for t in scored["text"]] if "text" in scored else []
    assert not any(re.search("[\x00\ud800-\udfff]", t) for t in texts_out)
    return scored


@pytest.fixture(scope="module")
def sentiment_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny sentiment model in a local folder (trained once for the module)."""
    from cxml.training.sentiment import train_sentiment

    folder = tmp_path_factory.mktemp("sentiment")
    data = folder / "train.jsonl"
    make_comments(500, lang="mixed", seed=3).to_json(data, orient="records", lines=True)
    with in_folder(folder):
        result = train_sentiment(SentimentConfig(), data=data)
        return mlflow.artifacts.download_artifacts(result.model_uri, dst_path=str(folder / "m"))


@given(spec=comment_files())
@HYPOTHESIS
def test_comment_jobs_keep_the_data_integrity_promise(
    spec: HostileFile, sentiment_model: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = write(spec, folder)

        def run(path: Path, out: Path, **kwargs: Any) -> Any:
            return analyze_comments_file(path, out, models=[sentiment_model], **kwargs)

        scored = check_invariant(spec, path, folder / "out.parquet", folder / "rejects.csv", run)
        if scored is not None:
            assert scored["sentiment"].isin(["negative", "neutral", "positive"]).all()


# Tickets: the dates around a ticket's life, at and beyond the edges


@st.composite
def ticket_files(draw: st.DrawFn) -> HostileFile:
    n = draw(st.integers(1, 25))
    spec = HostileFile(suffix=draw(st.sampled_from([".csv", ".jsonl"])))
    for i in range(n):
        created_kind = draw(st.sampled_from(["good", "good", "good", "bad", "empty"]))
        created = {"good": "2026-06-20T08:00:00Z", "empty": ""}.get(
            created_kind, draw(st.sampled_from(BAD_DATES))
        )
        reply_kind = draw(st.sampled_from(["none", "after", "before", "future", "bad"]))
        reply = {
            "none": "",
            "after": "2026-06-20T09:30:00Z",
            "before": "2026-06-19T08:00:00Z",  # impossible order: flagged, duration missing
            "future": "2026-08-01T00:00:00Z",  # after the scoring moment: not yet happened
        }.get(reply_kind, draw(st.sampled_from(BAD_DATES)))
        text, _ = draw(texts())
        values = {
            "ticket_id": f"r{i}",
            "created_at": created,
            "first_response_at": reply,
            "channel": draw(st.sampled_from(["email", "chat", "", "전화"])),
            "replies": draw(st.sampled_from(["0", "3", "", "-1", "many"])),
            "text": text.replace("\ud800", "") if spec.suffix != ".jsonl" else text,
        }
        broken = [
            ("created_at", created_kind != "good"),
            ("first_response_at", reply_kind == "bad"),
            ("replies", values["replies"] in ("-1", "many")),
        ]
        bad = ",".join(why for why, is_bad in broken if is_bad)
        good = not bad  # text is optional on a ticket: a blank one is no text
        spec.rows.append(Row(values, good, bad))
    return spec


@pytest.fixture(scope="module")
def ticket_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny ticket model in a local folder (trained once for the module)."""
    from cxml.training.csat import train_csat

    folder = tmp_path_factory.mktemp("csat")
    data = folder / "tickets.csv"
    make_tickets(800, seed=9).to_csv(data, index=False)
    with in_folder(folder):
        config = CsatConfig.model_validate({"split": {"refit": False}})
        result = train_csat(config, data=data)
        return mlflow.artifacts.download_artifacts(result.model_uri, dst_path=str(folder / "m"))


@given(spec=ticket_files())
@HYPOTHESIS
def test_ticket_jobs_keep_the_data_integrity_promise(spec: HostileFile, ticket_model: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = write(spec, folder)

        def run(path: Path, out: Path, **kwargs: Any) -> Any:
            return score_tickets_file(path, out, model=ticket_model, as_of=AS_OF, **kwargs)

        out, rejects = folder / "out.parquet", folder / "rejects.csv"
        scored = check_invariant(spec, path, out, rejects, run, id_field="ticket_id")
        if scored is None:
            return
        assert scored["bad_rating_probability"].between(0, 1).all()
        days = scored["reasons"].map(lambda r: re.findall(r"([\d.,]+) days", " ".join(r)))
        assert all(float(d.replace(",", "")) < 400 for ds in days for d in ds), days
