"""Trust at the edges: nothing the user owns is lost or overwritten, counts add up, hostile
files (quotes, encodings, huge cells, odd Unicode, empty files) end in a clear answer."""

from __future__ import annotations

import json
import os
import stat
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from helpers import in_folder, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cxml
from cxml.config import DataConfig, SentimentConfig
from cxml.contracts.fields import COMMENTS
from cxml.data import read_valid, write_table
from cxml.data.synth import make_comments
from cxml.errors import DataError
from cxml.scoring import analyze_comments_file
from cxml.scoring.service import create_app
from cxml.scoring.settings import ServiceSettings
from cxml.training.sentiment import train_sentiment

SENTIMENT = "models:/cxml-sentiment@champion"
_JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder whose MLflow store has a registered cxml-sentiment champion."""
    folder = tmp_path_factory.mktemp("integrity-store")
    with in_folder(folder):
        data = write_table(make_comments(600, lang="mixed", seed=41), folder / "train.jsonl")
        train_sentiment(SentimentConfig(), data=data)
    yield folder


@pytest.fixture()
def env(store: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The store's tracking URI, for this process and for ``run_cli``."""
    uri = f"sqlite:///{store / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return {"MLFLOW_TRACKING_URI": uri}


def _files() -> list[str]:
    return sorted(p.name for p in Path.cwd().iterdir() if not p.name.startswith(".cache"))


def _comments(n: int = 3000) -> list[str]:
    texts = make_comments(n, lang="en", seed=7)["text"].str.replace('"', "'")
    return [f"{i},{text.replace(',', ' ')}" for i, text in enumerate(texts, start=1)]


def test_validate_only_reads_and_never_deletes_its_input() -> None:
    Path("feedback.rejects.csv").write_text("id,text\n1,good\n2,\n")
    before = Path("feedback.rejects.csv").read_bytes()
    done = run_cli("data", "validate", "feedback.rejects.csv")
    assert done.returncode == 0, done.stderr
    assert "2 rows: 1 good, 1 rejected (text: 1)" in done.stdout
    assert 'row 2: text: empty text | {"id": "2"}' in done.stderr
    assert _files() == ["feedback.rejects.csv"]
    done = run_cli("data", "validate", "feedback.rejects.csv", "--rejects", "feedback.rejects.csv")
    assert done.returncode == 2 and "would be the same file as the input" in done.stderr
    assert Path("feedback.rejects.csv").read_bytes() == before
    done = run_cli("data", "validate", "feedback.rejects.csv", "--rejects", "r.csv")
    assert done.returncode == 0 and pd.read_csv("r.csv")["_row"].tolist() == [2]


@pytest.mark.slow
def test_read_only_commands_write_and_delete_nothing(env: dict[str, str]) -> None:
    Path("dd.csv").write_text("id,text,rating\n1,great,5\n2,,3\n3,slow,1\n")
    done = run_cli("analyze", "comments", "dd.csv", "--out", "scored.jsonl", env=env)
    assert done.returncode == 0, done.stderr
    assert "1 rejects in scored.jsonl.rejects.csv" in done.stdout
    files = {name: Path(name).read_bytes() for name in _files()}
    run_cli("drivers", "scored.jsonl", env=env)
    run_cli("metrics", "dd.csv", "--metric", "csat", "--min-count", "1", env=env)
    assert {name: Path(name).read_bytes() for name in _files()} == files


@pytest.mark.slow
def test_a_batch_job_never_writes_over_its_input(env: dict[str, str]) -> None:
    Path("dd.csv").write_text("id,text\n1,great\n2,\n")
    before = Path("dd.csv").read_bytes()
    for args in (["--out", "dd.csv"], ["--out", "o.csv", "--rejects", "dd.csv"]):
        done = run_cli("analyze", "comments", "dd.csv", *args, env=env)
        assert done.returncode == 2 and "would be the same file as the input" in done.stderr
    done = run_cli("analyze", "comments", "dd.csv", "--out", "o.csv", "--rejects", "o.csv", env=env)
    assert done.returncode == 2 and "would be the same file as the output" in done.stderr
    assert _files() == ["dd.csv"] and Path("dd.csv").read_bytes() == before
    # the command: an output named like the old default rejects file
    done = run_cli("analyze", "comments", "dd.csv", "--out", "dd.rejects.csv", env=env)
    assert done.returncode == 0, done.stderr
    assert pd.read_csv("dd.rejects.csv")["id"].tolist() == [1]
    assert pd.read_csv("dd.rejects.csv.rejects.csv")["_row"].tolist() == [2]


@pytest.mark.slow
def test_a_stray_quote_is_reported_at_its_line_and_the_counts_add_up(env: dict[str, str]) -> None:
    lines = _comments()
    lines[10] = '11,"a stray quote'
    Path("q.csv").write_text("id,text\n" + "\n".join(lines) + "\n\n")
    done = run_cli("analyze", "comments", "q.csv", "--out", "q.parquet", env=env)
    assert done.returncode == 0, done.stderr
    assert "3,001 rows: 2,999 good, 1 rejected ((record): 1), 1 skipped (blank line: 1)" in (
        done.stderr
    )
    assert "scored 2,999 comments" in done.stdout
    reason = pd.read_csv("q.parquet.rejects.csv")["_reason"].item()
    assert "malformed CSV at line 12: a quote opened there swallowed the 2,990 line(s)" in reason
    assert len(pd.read_parquet("q.parquet")) == 2999
    result = analyze_comments_file("q.csv", "q2.csv", models=[SENTIMENT])
    data = result.data
    assert data.rows == result.rows + data.rejected + data.skipped.total() == 3001


@pytest.mark.slow
def test_too_many_unreadable_lines_stop_the_job_and_leave_nothing(env: dict[str, str]) -> None:
    lines = _comments()
    for i in range(5, 3000, 50):
        lines[i] = f'{i + 1},"oops'
    Path("q.csv").write_text("id,text\n" + "\n".join(lines) + "\n")
    done = run_cli("analyze", "comments", "q.csv", "--out", "q.parquet", env=env)
    assert done.returncode == 2
    assert "q.csv: 60 of 3,000 lines (2.0%) are not readable records, more than" in done.stderr
    assert _files() == ["q.csv"]


def test_utf16_files_are_read_and_validate_takes_an_encoding() -> None:
    Path("u16.csv").write_bytes("id,text\n1,café au lait\n2,배송 빨라요\n".encode("utf-16"))
    for extra in ([], ["--encoding", "utf-16"]):
        done = run_cli("data", "validate", "u16.csv", *extra)
        assert done.returncode == 0, done.stderr
        assert "2 rows: 2 good, 0 rejected" in done.stdout and "cp1252" not in done.stderr
    Path("k.csv").write_bytes("id,text\n1,환불 문의\n".encode("cp949"))
    done = run_cli("data", "validate", "k.csv", "--encoding", "utf-8")
    assert done.returncode == 2 and "not utf-8" in done.stderr and "--encoding" in done.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "content"), [("e.csv", ""), ("h.csv", "id,text\n"), ("e.jsonl", "")]
)
def test_empty_files_are_an_error_naming_the_file(
    name: str, content: str, env: dict[str, str]
) -> None:
    Path(name).write_text(content)
    for command in (["data", "validate", name], ["analyze", "comments", name, "--out", "o.csv"]):
        done = run_cli(*command, env=env)
        assert done.returncode == 2 and f"error: {name}: " in done.stderr
        assert "None" not in done.stderr
    assert _files() == [name]


@pytest.mark.slow
def test_outputs_get_the_permissions_of_any_new_file(env: dict[str, str]) -> None:
    Path("dd.csv").write_text("id,text\n1,great\n2,\n")
    umask = os.umask(0)
    os.umask(umask)
    result = analyze_comments_file("dd.csv", "o.parquet", models=[SENTIMENT])
    assert result.rejects is not None
    for path in (result.output, result.rejects):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


@pytest.mark.slow
def test_odd_texts_are_judged_alike_in_batch_python_and_http(env: dict[str, str]) -> None:
    texts = ["Great service", "  ", "\u200b\u200d\ufeff", "ok\x00 then", "bad \ud800 half", "\t\n"]
    ids = [f"c{i}" for i in range(len(texts))]
    Path("odd.jsonl").write_text(
        "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in zip(ids, texts, strict=True))
    )
    batch = analyze_comments_file("odd.jsonl", "odd.out.jsonl", models=[SENTIMENT])
    scored, _ = cxml.data.read_table(batch.output)
    batch_scores = dict(zip(scored["id"], scored["sentiment_score"], strict=True))
    assert set(batch_scores) == {"c0", "c3", "c4"}
    assert scored["text"].tolist() == ["Great service", "ok then", "bad \ufffd half"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        given = pd.DataFrame({"id": ids, "text": texts}, dtype=object)
        frame = cxml.analyze_comments(given, models=[SENTIMENT])
    assert dict(zip(frame["id"], frame["sentiment_score"], strict=True)) == batch_scores
    assert [r["_reason"] for r in frame.attrs["rejects"]] == ["text: empty text"] * 3
    app = create_app(ServiceSettings(sentiment_model=SENTIMENT, themes_model=None, csat_model=None))
    with TestClient(app) as client:
        for id_, text in zip(ids, texts, strict=True):
            body = json.dumps({"comment": {"id": id_, "text": text}})  # "\ud800" escaped
            answer = client.post("/v1/comments:analyze", content=body, headers=_JSON)
            if id_ in batch_scores:
                assert answer.status_code == 200, answer.text
                item = answer.json()["items"][0]
                assert item["sentiment_score"] == pytest.approx(batch_scores[id_])
            else:
                assert answer.status_code == 422
                error = answer.json()["detail"][0]
                assert error["loc"][-1] == "text" and "empty text" in error["msg"]


_PIECES = st.sampled_from(
    [
        "fine text",
        '"quoted, with comma"',
        '"stray',
        'mid"quote',
        '"multi\nline"',
        "",
        " ",
        "\u200b",
        "nul\x00byte",
        "x" * 140_000,
        "a,b",
        "환불 문의",
        '"closed" trailing',
    ]
)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    cells=st.lists(st.tuples(st.integers(0, 99), _PIECES), max_size=25),
    blank=st.lists(st.booleans(), max_size=25),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp949"]),
)
def test_any_csv_gives_a_clear_error_or_counts_that_add_up(
    cells: list[tuple[int, str]], blank: list[bool], encoding: str, tmp_path: Path
) -> None:
    lines = []
    for i, (number, text) in enumerate(cells):
        lines.append(f"{number},{text}")
        if i < len(blank) and blank[i]:
            lines.append("")
    path = tmp_path / "hostile.csv"
    path.write_bytes(("id,text\n" + "\n".join(lines) + "\n").encode(encoding, "replace"))
    rejects = tmp_path / "hostile.rejects.csv"
    try:
        good, summary, written = read_valid(
            path, COMMENTS, config=DataConfig(max_lost_share=1.0), rejects=rejects
        )
    except DataError as exc:
        assert str(exc).startswith(f"{path}: ")
        return
    assert summary.rows == summary.good + summary.rejected + summary.skipped.total()
    assert len(good) == summary.good
    assert good["text"].map(lambda t: bool(t.strip("\u200b \t\r\n"))).all()
    assert "\x00" not in "".join(good["text"])
    table = pd.read_csv(written) if written else pd.DataFrame(columns=["_reason"])
    assert len(table) == summary.rejected and table["_reason"].map(bool).all()
