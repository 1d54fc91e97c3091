"""The prediction log: day-partitioned Parquet that every scoring path appends to, safe under
concurrent writers and ``kill -9``; torn or foreign files are skipped and reported."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import in_folder, run_cli

from cxml.config import CsatConfig, SentimentConfig, ThemesConfig
from cxml.contracts.outputs import OUTPUTS
from cxml.contracts.predictions import log_schema
from cxml.data import write_table
from cxml.data.synth import make_comments, make_tickets
from cxml.errors import BadInputError
from cxml.monitoring.inputs import DriftInputs
from cxml.monitoring.log import LogQueue, PredictionLog
from cxml.scoring import analyze_comments_file, score_tickets_file

MOMENT = pd.Timestamp("2026-07-01T09:00:00Z")


def _outputs(task: str, rows: int, seed: int = 0) -> pd.DataFrame:
    """Outputs of ``task`` as its pyfunc returns them, with every kind of value and gaps."""
    rng = np.random.default_rng(seed)
    if task == "csat":
        data: dict[str, Any] = {
            "bad_rating_probability": rng.random(rows),
            "at_risk": rng.random(rows) < 0.3,
            "reasons": [["slow first reply", "reopened"][: i % 3] for i in range(rows)],
        }
    elif task == "sentiment":
        data = {
            "sentiment": rng.choice(["negative", "neutral", "positive"], rows).tolist(),
            "sentiment_score": rng.uniform(-1, 1, rows),
        }
    else:
        data = {
            "themes": [["billing"] if i % 2 else [] for i in range(rows)],
            "theme_scores": [
                {"billing": 0.5 + i / (4 * rows), "delivery": 0.1} for i in range(rows)
            ],
            "theme_sentiment": [{"billing": "negative"} if i % 2 else {} for i in range(rows)],
        }
    frame = pd.DataFrame(data)
    frame["model_name"], frame["model_version"] = f"cxml-{task}", "7"
    return frame


def _drift(rows: int, seed: int = 0) -> DriftInputs:
    rng = np.random.default_rng(seed)
    numbers = pd.DataFrame(
        {"hours_open": rng.random(rows) * 100, "replies": rng.integers(0, 9, rows)}
    )
    numbers = numbers.astype(np.float64)
    numbers.loc[::4, "hours_open"] = np.nan
    channel = np.array(rng.choice(["email", "chat", "phone"], rows), dtype=object)
    channel[::5] = None
    categories = pd.DataFrame({"channel": channel, "lang": ["en"] * rows}, dtype=object)
    tokens = [[int(t) for t in rng.integers(0, 2**32, i % 4)] for i in range(rows)]
    return DriftInputs(numbers, categories, tokens)


def _memory_url() -> str:
    return f"memory://log-{uuid.uuid4().hex}"


@pytest.fixture(params=["folder", "file-url", "memory"])
def root(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The log's root as a folder, a ``file://`` URL and an fsspec memory URL."""
    if request.param == "folder":
        return str(tmp_path / "log")
    if request.param == "file-url":
        return (tmp_path / "log").as_uri()
    return _memory_url()


@pytest.mark.parametrize("task", ["csat", "sentiment", "themes"])
def test_rows_round_trip_with_every_output_and_input_type(root: str, task: str) -> None:
    log = PredictionLog(root)
    outputs, drift = _outputs(task, 40), _drift(40)
    ids = [f"T{i}" for i in range(39)] + [None]
    assert log.append(task, outputs, ids, drift, source="batch", scored_at=MOMENT) == 40

    read = log.read(task)
    assert (read.files, read.torn) == (1, [])
    frame = read.frame
    names = [o.name for o in OUTPUTS[task]]
    assert list(frame.columns) == [
        "id", "scored_at", "model_name", "model_version", "source", *names,
        "num.hours_open", "num.replies", "cat.channel", "cat.lang", "tokens",
    ]  # fmt: skip
    assert frame["id"].tolist()[:39] == ids[:39] and pd.isna(frame["id"].iloc[39])
    assert (frame["scored_at"] == MOMENT).all() and str(frame["scored_at"].dt.tz) == "UTC"
    assert set(frame["source"]) == {"batch"} and set(frame["model_version"]) == {"7"}
    for name in names:
        assert frame[name].tolist() == outputs[name].tolist(), name
    np.testing.assert_array_equal(frame["num.hours_open"], drift.numbers["hours_open"])
    np.testing.assert_array_equal(frame["num.replies"], drift.numbers["replies"])
    assert frame["cat.channel"].tolist() == drift.categories["channel"].tolist()
    assert frame["tokens"].tolist() == drift.tokens
    # the file is in the contract's schema, written under the documented layout
    (path,) = log.files(task)
    assert f"/task={task}/day=2026-07-01/part-2" in path and path.endswith(".parquet")
    with log.fs.open(path, "rb") as fh:
        assert pq.read_schema(fh).equals(log_schema(task), check_metadata=False)


def test_rows_land_in_the_utc_day_they_were_scored_and_read_filters_by_time(root: str) -> None:
    log = PredictionLog(root)
    before = pd.Timestamp("2026-07-01T23:59:59.999999Z")
    after = pd.Timestamp("2026-07-02T08:30:00+09:00")  # 2026-07-01T23:30 UTC
    midnight = pd.Timestamp("2026-07-02T00:00:00Z")
    for i, moment in enumerate([before, after, midnight]):
        log.append("sentiment", _outputs("sentiment", 3), [f"{i}-{j}" for j in range(3)],
                   _drift(3), source="service", scored_at=moment)  # fmt: skip
    days = sorted(p.split("/day=")[1].split("/")[0] for p in log.files("sentiment"))
    assert days == ["2026-07-01", "2026-07-01", "2026-07-02"]
    assert len(log.read("sentiment").frame) == 9
    first_day = log.read("sentiment", end="2026-07-02")  # end excluded
    assert sorted(first_day.frame["id"].str[0]) == ["0"] * 3 + ["1"] * 3
    assert first_day.frame["scored_at"].is_monotonic_increasing
    second_day = log.read("sentiment", start=midnight, end="2026-07-03")
    assert second_day.files == 1 and set(second_day.frame["id"].str[0]) == {"2"}
    late = log.read("sentiment", start="2026-07-01T23:59:00Z")
    assert sorted(set(late.frame["id"].str[0])) == ["0", "2"]
    assert log.read("sentiment", start="2026-08-01").frame.shape[0] == 0
    assert log.read("csat").frame.empty  # a task never logged: no rows, its columns


def test_an_unknown_task_source_or_mismatched_lengths_are_refused(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path)
    with pytest.raises(ValueError, match="unknown task 'nps'"):
        log.append("nps", _outputs("csat", 2), [1, 2], _drift(2), source="batch")
    with pytest.raises(ValueError, match="unknown source 'cron'"):
        log.append("csat", _outputs("csat", 2), [1, 2], _drift(2), source="cron")
    with pytest.raises(ValueError, match="differ in length"):
        log.append("csat", _outputs("csat", 2), [1], _drift(2), source="batch")
    with pytest.raises(BadInputError, match="prediction log 'nosuch://x'"):
        PredictionLog("nosuch://x")
    assert log.read("csat").files == 0 and not any(tmp_path.iterdir())


def test_torn_truncated_and_foreign_files_are_skipped_and_reported(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path)
    log.append("csat", _outputs("csat", 5), list("abcde"), _drift(5), source="batch",
               scored_at=MOMENT)  # fmt: skip
    (good,) = log.files("csat")
    folder = Path(good).parent
    data = Path(good).read_bytes()
    (folder / "part-truncated.parquet").write_bytes(data[: len(data) // 2])
    (folder / "part-empty.parquet").write_bytes(b"")
    pq.write_table(pa.table({"id": ["x"], "rating": [5]}), folder / "part-foreign.parquet")
    other = PredictionLog(tmp_path / "other")
    other.append("sentiment", _outputs("sentiment", 2), ["s1", "s2"], _drift(2), source="batch",
                 scored_at=MOMENT)  # fmt: skip
    shutil.copy(other.files("sentiment")[0], folder / "part-sentiment.parquet")
    (folder / ".part-killed.parquet.tmp").write_bytes(data[:100])  # a writer killed mid-write
    read = log.read("csat")
    assert read.files == 1 and read.frame["id"].tolist() == list("abcde")
    skipped = ["part-empty", "part-foreign", "part-sentiment", "part-truncated"]
    assert sorted(Path(p).stem for p in read.torn) == skipped


def test_fifty_threads_and_three_processes_append_at_once_and_lose_nothing(
    tmp_path: Path,
) -> None:
    log = PredictionLog(tmp_path / "log")
    acknowledged: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(50)

    def writer(n: int) -> None:
        start.wait()
        for k in range(4):
            ids = [f"t{n}-{k}-{j}" for j in range(5)]
            outputs, drift = _outputs("sentiment", 5, n), _drift(5, n)
            log.append("sentiment", outputs, ids, drift, source="service")
            with lock:
                acknowledged.extend(ids)

    processes = [_writer_process(tmp_path / "log", f"p{i}", appends=10) for i in range(3)]
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for process in processes:
        out, _ = process.communicate(timeout=120)
        assert process.returncode == 0
        acknowledged.extend(_acknowledged(out))
    read = log.read("sentiment")
    assert read.torn == [] and read.files == 50 * 4 + 3 * 10
    assert sorted(read.frame["id"]) == sorted(acknowledged)
    assert len(acknowledged) == 50 * 4 * 5 + 3 * 10 * 5


_WRITER = textwrap.dedent(
    """
    import json, sys
    import pandas as pd
    from cxml.monitoring.inputs import drift_inputs
    from cxml.monitoring.log import PredictionLog

    root, name, appends, rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    log = PredictionLog(root)
    texts = pd.DataFrame({"text": ["late parcel again"] * rows, "lang": ["en"] * rows})
    drift = drift_inputs("sentiment", None, texts)
    outputs = pd.DataFrame({"sentiment": ["negative"] * rows, "sentiment_score": -0.5,
                            "model_name": "cxml-sentiment", "model_version": "1"})
    done = []
    for k in range(appends):
        ids = [f"{name}-{k}-{j}" for j in range(rows)]
        log.append("sentiment", outputs, ids, drift, source="batch")
        done.extend(ids)
        print(json.dumps({"acknowledged": len(done), "ids": done[-rows:]}), flush=True)
    """
)


def _writer_process(root: Path, name: str, *, appends: int, rows: int = 5) -> subprocess.Popen[str]:
    """A process appending ``appends`` times ``rows`` sentiment rows; after each append it
    prints the ids it has been acknowledged (one JSON line)."""
    return subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(root), name, str(appends), str(rows)],
        stdout=subprocess.PIPE,
        text=True,
    )


def _acknowledged(lines: str) -> list[str]:
    """The ids a writer process printed as acknowledged (a torn last line is no promise)."""
    ids = []
    for line in lines.splitlines():
        try:
            ids.extend(json.loads(line)["ids"])
        except ValueError:
            break
    return ids


@pytest.mark.parametrize("when", ["random", "mid-write"])
def test_kill_9_loses_nothing_acknowledged_and_leaves_no_torn_rows(
    tmp_path: Path, when: str
) -> None:
    root = tmp_path / "log"
    process = _writer_process(root, "k", appends=10_000, rows=3000)
    assert process.stdout is not None
    first = [process.stdout.readline() for _ in range(3)]  # three appends acknowledged
    if when == "random":
        time.sleep(random.uniform(0, 0.5))
    else:  # while a file is being written (it has its temporary name)
        deadline = time.monotonic() + 60
        while not _temporary(root) and time.monotonic() < deadline:
            pass
    process.send_signal(signal.SIGKILL)
    rest, _ = process.communicate(timeout=60)
    acknowledged = set(_acknowledged("".join(first) + rest))
    read = PredictionLog(root).read("sentiment")
    assert read.torn == []
    ids = read.frame["id"]
    assert not ids.duplicated().any()
    written = set(ids)
    assert {f"k-{k}-{j}" for k in range(3) for j in range(3000)} <= written
    assert acknowledged <= written
    assert len(written - acknowledged) <= 3000  # at most the append killed before it said so
    assert len(written) % 3000 == 0
    if when == "mid-write":
        assert _temporary(root)  # left behind by the kill, and never read


def _temporary(root: Path) -> list[Path]:
    return list(root.glob("task=*/day=*/.part-*.parquet.tmp"))


class _StuckLog(PredictionLog):
    """A log whose writes wait until ``release`` is set."""

    def __init__(self, root: str) -> None:
        super().__init__(root)
        self.release = threading.Event()

    def write(self, task: str, table: pa.Table) -> int:
        self.release.wait(timeout=60)
        return super().write(task, table)


def _comment_rows(rows: int, start: int = 0) -> tuple[pd.DataFrame, list[str], pd.DataFrame]:
    """Sentiment outputs, ids and the input frame of ``rows`` comments."""
    inputs = pd.DataFrame({"text": ["refund took weeks"] * rows, "lang": ["en"] * rows})
    return _outputs("sentiment", rows), [f"c{start + i}" for i in range(rows)], inputs


def test_the_queue_never_blocks_counts_drops_and_writes_the_rest_on_close() -> None:
    log = _StuckLog(_memory_url())
    queue = LogQueue(log, maxsize=10, flush_seconds=0.01)
    assert queue.put("sentiment", *_comment_rows(1), None, "service")
    deadline = time.monotonic() + 10
    while queue.depth and time.monotonic() < deadline:  # the writer took it and is stuck
        time.sleep(0.01)
    results, slowest = [], 0.0
    for i in range(6):
        started = time.perf_counter()
        results.append(queue.put("sentiment", *_comment_rows(4, 100 + 10 * i), None, "service"))
        slowest = max(slowest, time.perf_counter() - started)
    assert slowest < 0.05
    assert results == [True, True, False, False, False, False]
    assert (queue.dropped, queue.depth, queue.written) == (16, 8, 0)
    log.release.set()
    assert queue.close(timeout=30)
    assert (queue.written, queue.errors, queue.dropped) == (9, 0, 16)
    assert not queue.put("sentiment", *_comment_rows(1), None, "service")  # closed
    assert queue.dropped == 17
    read = log.read("sentiment")
    assert sorted(read.frame["id"]) == [
        "c0",
        *(f"c{100 + 10 * i + j}" for i in (0, 1) for j in range(4)),
    ]
    assert set(read.frame["source"]) == {"service"} and read.frame["num.text_chars"].eq(17).all()


def test_close_flushes_everything_queued_by_fifty_threads(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path / "log")
    queue = LogQueue(log, maxsize=100_000, flush_seconds=60)  # nothing written before close
    start = threading.Barrier(50)

    def client(n: int) -> None:
        start.wait()
        for k in range(20):
            assert queue.put("sentiment", *_comment_rows(1, 1000 * n + k), None, "service")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert queue.written == 0 and queue.depth == 1000
    assert queue.close(timeout=60)
    assert (queue.written, queue.dropped, queue.errors, queue.depth) == (1000, 0, 0, 0)
    ids = log.read("sentiment").frame["id"]
    assert sorted(ids) == sorted(f"c{1000 * n + k}" for n in range(50) for k in range(20))


def test_rows_that_cannot_be_logged_are_counted_as_errors_and_others_still_written() -> None:
    log = PredictionLog(_memory_url())
    queue = LogQueue(log, flush_seconds=60)
    outputs, ids, inputs = _comment_rows(3)
    assert queue.put("sentiment", outputs, ids, inputs, None, "cron")  # checked by the writer
    assert queue.put("sentiment", outputs.drop(columns="sentiment"), ids, inputs, None, "service")
    assert queue.put("sentiment", outputs, ids, inputs, None, "service")
    assert queue.close()
    assert (queue.written, queue.errors) == (3, 6)
    assert len(log.read("sentiment").frame) == 3


AS_OF = "2026-07-01T09:00:00Z"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder whose MLflow store has champions of all three tasks, and files to score."""
    from cxml.training.csat import train_csat
    from cxml.training.sentiment import train_sentiment
    from cxml.training.themes import train_themes

    folder = tmp_path_factory.mktemp("log-store")
    with in_folder(folder):
        tickets = write_table(make_tickets(1500, seed=31, open_share=0.05), "train.csv")
        config = {"split": {"refit": False}, "features": {"text": None}}
        train_csat(CsatConfig.model_validate(config), data=tickets)
        make_comments(600, lang="mixed", seed=41).to_json("c.jsonl", orient="records", lines=True)
        train_sentiment(SentimentConfig(), data="c.jsonl")
        train_themes(ThemesConfig(), data="c.jsonl")
        new = make_tickets(900, seed=32, open_share=0.4, start="2026-06-01", days=30)
        new.loc[5, "created_at"] = "not a date"  # a reject: scored and logged never
        new.to_csv("tickets.csv", index=False)
        comments = make_comments(500, lang="mixed", seed=43)[["id", "text", "lang"]]
        comments.loc[7, "text"] = "  "
        comments.to_csv("comments.csv", index=False)
    yield folder


@pytest.mark.slow
def test_score_tickets_with_log_logs_each_scored_ticket_once(store: Path, tmp_path: Path) -> None:
    with in_folder(store):
        log = tmp_path / "log"
        done = run_cli(
            "score", "tickets", "tickets.csv", "--out", f"{tmp_path}/o.parquet", "--as-of", AS_OF,
            "--chunksize", "250", "--log", str(log),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    scored = pd.read_parquet(tmp_path / "o.parquet")
    frame = PredictionLog(log).read("csat").frame
    assert len(frame) == len(scored) == 899
    assert sorted(frame["id"]) == sorted(scored["ticket_id"])
    assert set(frame["model_name"]) == {"cxml-csat"} and set(frame["model_version"]) == {"1"}
    assert set(frame["source"]) == {"batch"} and (frame["scored_at"] == pd.Timestamp(AS_OF)).all()
    joined = frame.set_index("id").loc[scored["ticket_id"]]
    np.testing.assert_allclose(joined["bad_rating_probability"], scored["bad_rating_probability"])
    assert joined["reasons"].tolist() == scored["reasons"].map(list).tolist()
    assert {"num.hours_open", "num.replies", "cat.channel", "cat.priority"} <= set(frame.columns)
    assert frame["tokens"].map(len).gt(0).mean() > 0.9


@pytest.mark.slow
def test_a_failed_job_logs_nothing_and_a_resumed_job_logs_once(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cxml.data import TableWriter

    log = str(tmp_path / "log")
    kwargs: dict[str, Any] = {"as_of": pd.Timestamp(AS_OF), "chunksize": 200, "log": log}
    out = tmp_path / "o.jsonl"
    with in_folder(store):
        with monkeypatch.context() as patch:
            patch.setattr(TableWriter, "close", _fail)
            with pytest.raises(OSError, match="disk full"):
                score_tickets_file("tickets.csv", out, **kwargs)
        assert PredictionLog(log).read("csat").files == 0

        with pytest.raises(KeyboardInterrupt):  # interrupted while scoring: nothing logged yet
            score_tickets_file("tickets.csv", out, on_rows=_stop_at(2), **kwargs)
        assert PredictionLog(log).read("csat").files == 0

        calls = []

        def append_once(self: PredictionLog, *args: Any, **options: Any) -> int:
            calls.append(1)
            if len(calls) == 2:
                raise KeyboardInterrupt  # interrupted while logging, after one chunk
            return original(self, *args, **options)

        original = PredictionLog.append_scored
        with monkeypatch.context() as patch:
            patch.setattr(PredictionLog, "append_scored", append_once)
            with pytest.raises(KeyboardInterrupt):
                score_tickets_file("tickets.csv", out, **kwargs)
        assert len(PredictionLog(log).read("csat").frame) == 199  # chunk 0 has the reject
        result = score_tickets_file("tickets.csv", out, **kwargs)
    assert result.resumed and result.rows == 899
    frame = PredictionLog(log).read("csat").frame
    assert len(frame) == 899 and not frame["id"].duplicated().any()


def _fail(self: Any) -> None:
    raise OSError("disk full")


def _stop_at(chunks: int) -> Any:
    done = []

    def stop(rows: int) -> None:
        done.append(rows)
        if len(done) == chunks:
            raise KeyboardInterrupt

    return stop


@pytest.mark.slow
def test_a_comment_job_logs_one_row_set_per_model_task(store: Path) -> None:
    url = _memory_url()
    with in_folder(store):
        result = analyze_comments_file("comments.csv", "scored-comments.csv", log=url)
    assert result.rows == 499
    log = PredictionLog(url)
    sentiment, themes = log.read("sentiment").frame, log.read("themes").frame
    assert len(sentiment) == len(themes) == 499
    assert sentiment["id"].tolist() == themes["id"].tolist()
    assert set(sentiment["model_name"]) == {"cxml-sentiment"}
    assert set(themes["model_name"]) == {"cxml-themes"}
    assert themes["theme_scores"].map(lambda s: isinstance(s, dict) and len(s) > 0).all()
    assert set(sentiment["cat.lang"]) <= {"en", "ko", None} and "num.text_chars" in themes


@pytest.mark.slow
def test_the_python_api_logs_when_asked(store: Path, tmp_path: Path) -> None:
    import cxml

    tickets = pd.read_csv(store / "tickets.csv").drop(index=5).head(50)
    comments = pd.read_csv(store / "comments.csv").drop(index=7, columns="id").head(20)
    url = (tmp_path / "log").as_uri()
    with in_folder(store):
        scored = cxml.score_tickets(tickets, as_of=AS_OF, log=url)
        cxml.analyze_comments(comments, models=["models:/cxml-sentiment@champion"], log=url)
        cxml.score_tickets(tickets.head(5), as_of=AS_OF)  # not asked: not logged
    log = PredictionLog(url)
    frame = log.read("csat").frame
    assert frame["id"].tolist() == scored["ticket_id"].tolist()
    assert set(frame["source"]) == {"python"} and (frame["scored_at"] == pd.Timestamp(AS_OF)).all()
    sentiment = log.read("sentiment").frame
    assert len(sentiment) == 20 and sentiment["id"].isna().all()  # the caller gave no ids
    assert log.read("themes").files == 0


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java (17)")
def test_spark_jobs_log_their_scored_rows(store: Path, tmp_path: Path) -> None:
    from cxml.scoring.spark import score_with_spark

    log = str(tmp_path / "log")
    with in_folder(store):
        tickets = score_with_spark(
            "tickets.csv", tmp_path / "t", task="tickets", as_of=pd.Timestamp(AS_OF), log=log
        )
        comments = score_with_spark(
            "comments.csv",
            tmp_path / "c",
            task="comments",
            models=["models:/cxml-sentiment@champion"],
            log=log,
        )
    read = PredictionLog(log).read("csat")
    assert read.torn == [] and tickets.logged == len(read.frame) == tickets.rows
    scored = pd.read_parquet(tmp_path / "t").set_index("ticket_id")
    frame = read.frame.set_index("id").loc[scored.index]
    np.testing.assert_allclose(frame["bad_rating_probability"], scored["bad_rating_probability"])
    assert set(frame["source"]) == {"spark"} and (frame["scored_at"] == pd.Timestamp(AS_OF)).all()
    assert frame["num.hours_open"].notna().any()
    sentiment = PredictionLog(log).read("sentiment").frame
    assert comments.logged == len(sentiment) == comments.rows
    assert sorted(sentiment["id"]) == sorted(pd.read_parquet(tmp_path / "c")["id"].astype(str))
