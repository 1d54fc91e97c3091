"""The service's prediction log and its scoring of concurrent requests together."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from cxml.config import CsatConfig
from cxml.contracts.fields import POST_SURVEY_FIELDS
from cxml.data import write_table
from cxml.data.synth import make_tickets
from cxml.monitoring.log import PredictionLog
from cxml.scoring.logprocess import ProcessLogQueue
from cxml.scoring.microbatch import MicroBatcher
from cxml.scoring.service import create_app
from cxml.scoring.settings import ServiceSettings
from cxml.training.csat import train_csat
from tests.helpers import in_folder

KEY = "test-key-0123456789"
AUTH = {"X-API-Key": KEY}
AS_OF = "2026-03-01T12:00:00Z"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder whose MLflow store has ``cxml-csat`` version 1 as champion."""
    folder = tmp_path_factory.mktemp("service-log-store")
    with in_folder(folder):
        tickets = write_table(make_tickets(1500, seed=31, open_share=0.05), "tickets.csv")
        train_csat(CsatConfig.model_validate({"split": {"refit": False}}), data=tickets)
    yield folder


def _settings(**changes: Any) -> ServiceSettings:
    values: dict[str, Any] = {
        "api_key": KEY,
        "reload_seconds": 0,
        "sentiment_model": None,
        "themes_model": None,
        "max_batch": 1000,
    }
    return ServiceSettings(**(values | changes))


def _tickets(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` open and solved tickets as request bodies give them, each with its own id."""
    frame = make_tickets(n, seed=seed, lang="mixed", open_share=0.5, start="2026-02-01", days=20)
    frame = frame.drop(columns=[c for c in frame if c in POST_SURVEY_FIELDS])
    frame = frame.drop(columns=["true_bad_probability"], errors="ignore")
    rows: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))
    return rows


def _score_concurrently(
    client: TestClient, bodies: Sequence[dict[str, Any]], clients: int = 50
) -> list[Any]:
    """Each body posted once, by ``clients`` threads at a time; the responses."""

    def post(body: dict[str, Any]) -> Any:
        return client.post("/v1/tickets:score", json=body, headers=AUTH)

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(post, bodies))


def _metric(text: str, name: str) -> float:
    """The value of an unlabelled metric in a Prometheus text exposition."""
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert found, f"{name} not in the metrics"
    return float(found[1])


def test_fifty_clients_log_exactly_the_rows_they_were_answered(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(store)
    rows = _tickets(240)
    bodies: list[dict[str, Any]] = [{"ticket": row, "as_of": AS_OF} for row in rows[:200]]
    bodies += [{"tickets": rows[i : i + 5], "as_of": AS_OF} for i in range(200, 240, 5)]
    app = create_app(_settings(log=str(tmp_path / "log")))
    with TestClient(app) as client:
        answers = _score_concurrently(client, bodies)
        alone = client.post(
            "/v1/tickets:score", json={"tickets": rows, "as_of": AS_OF}, headers=AUTH
        )
        metrics = client.get("/metrics").text
    assert {a.status_code for a in answers} == {200}
    items = [item for answer in answers for item in answer.json()["items"]]
    # requests scored together score as one request with every ticket does
    assert sorted(items, key=lambda i: i["ticket_id"]) == sorted(
        alone.json()["items"], key=lambda i: i["ticket_id"]
    )
    calls = re.findall(r'^cxml_model_call_items_count\{task="tickets"\} (\S+)$', metrics, re.M)
    assert float(calls[0]) < len(bodies) + 1  # some requests did share a model call

    queue = app.state.log  # closed when the app stopped: everything queued is written
    assert (queue.written, queue.dropped, queue.errors, queue.depth) == (480, 0, 0, 0)
    read = PredictionLog(tmp_path / "log").read("csat")
    assert read.torn == []
    logged = read.frame.sort_values("id", ignore_index=True)
    expected = pd.DataFrame(items + alone.json()["items"]).sort_values("ticket_id")
    assert logged["id"].tolist() == expected["ticket_id"].tolist()
    assert logged["bad_rating_probability"].tolist() == expected["bad_rating_probability"].tolist()
    assert logged["reasons"].tolist() == expected["reasons"].tolist()
    assert set(logged["source"]) == {"service"}
    assert set(logged["model_version"]) == {"1"} and set(logged["model_name"]) == {"cxml-csat"}
    assert logged["num.hours_open"].notna().all() and logged["cat.channel"].notna().any()


def test_a_full_queue_drops_rows_counts_them_and_answers_every_request(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(store)
    rows = _tickets(150, seed=8)
    app = create_app(_settings(log=str(tmp_path / "log"), log_queue_rows=1))
    with TestClient(app) as client:
        answers = _score_concurrently(client, [{"ticket": row} for row in rows])
        metrics = client.get("/metrics").text
    assert {a.status_code for a in answers} == {200}
    queue = app.state.log
    assert queue.dropped > 0
    assert _metric(metrics, "cxml_prediction_log_dropped_total") > 0
    assert _metric(metrics, "cxml_prediction_log_dropped_total") <= queue.dropped
    assert _metric(metrics, "cxml_prediction_log_queue_depth") <= 1
    logged = PredictionLog(tmp_path / "log").read("csat").frame
    # errors: rows the child had not written when shutdown stopped it (none unless the machine
    # starves the low-priority child for the whole minute shutdown waits)
    assert len(logged) == queue.written == len(rows) - queue.dropped - queue.errors
    assert set(logged["id"]) <= {row["ticket_id"] for row in rows}


def test_a_log_that_cannot_be_written_fails_no_request(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(store)
    (tmp_path / "a-file").write_text("not a folder")
    app = create_app(_settings(log=str(tmp_path / "a-file" / "log")))
    with TestClient(app) as client:
        answers = _score_concurrently(client, [{"ticket": row} for row in _tickets(20)], 5)
        deadline = time.monotonic() + 30
        while _metric(client.get("/metrics").text, "cxml_prediction_log_errors_total") < 20:
            assert time.monotonic() < deadline, "the write errors were not counted"
            time.sleep(0.2)
        metrics = client.get("/metrics").text
    assert {a.status_code for a in answers} == {200}
    assert _metric(metrics, "cxml_prediction_log_rows_total") == 0
    assert (app.state.log.written, app.state.log.errors) == (0, 20)


def test_without_a_log_nothing_is_queued_and_the_counters_stay_zero(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(store)
    app = create_app(_settings())
    with TestClient(app) as client:
        answer = client.post("/v1/tickets:score", json={"ticket": _tickets(1)[0]}, headers=AUTH)
        metrics = client.get("/metrics").text
    assert answer.status_code == 200 and app.state.log is None
    assert _metric(metrics, "cxml_prediction_log_rows_total") == 0


@pytest.mark.integration
def test_uvicorn_workers_log_every_answered_ticket_by_a_graceful_stop(
    store: Path, tmp_path: Path
) -> None:
    """50 clients against ``serve(workers=2)`` with a log; SIGTERM while they send: every
    ticket answered 200 is in the log once, and nothing else is."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env.update(_settings(log=str(tmp_path / "log")).to_env())
    command = f"from cxml.scoring.service import serve; serve(port={port}, workers=2)"
    server_log = tmp_path / "server.log"
    with server_log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-c", command], cwd=store, env=env, stdout=out, stderr=out
        )
    base = f"http://127.0.0.1:{port}"
    rows = _tickets(400, seed=9)
    answered: list[str] = []
    lock = threading.Lock()
    try:
        _wait_until_ready(base, server, server_log)

        def user(first: int) -> None:
            with httpx.Client(base_url=base, headers=AUTH, timeout=30) as http:
                for row in rows[first::50]:
                    try:
                        answer = http.post("/v1/tickets:score", json={"ticket": row})
                    except httpx.HTTPError:
                        return  # the server stopped taking requests
                    if answer.status_code == 200:
                        with lock:
                            answered.append(answer.json()["items"][0]["ticket_id"])

        users = [threading.Thread(target=user, args=(i,)) for i in range(50)]
        for thread in users:
            thread.start()
        while len(answered) < 100:
            time.sleep(0.01)
        server.send_signal(signal.SIGTERM)  # requests in flight finish, then the log flushes
        for thread in users:
            thread.join()
    finally:
        server.send_signal(signal.SIGTERM)
        returncode = server.wait(timeout=120)
    assert returncode in (0, -signal.SIGTERM), server_log.read_text()
    read = PredictionLog(tmp_path / "log").read("csat")
    assert read.torn == []
    assert sorted(read.frame["id"]) == sorted(answered)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_ready(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    while True:
        assert server.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


# -- MicroBatcher, on its own --


def _batcher(calls: list[list[Any]], max_items: int = 100) -> MicroBatcher[Any, Any]:
    def score(jobs: Sequence[Any]) -> list[Any]:
        calls.append(list(jobs))
        if any(job.startswith("slow") for job in jobs):
            time.sleep(0.2)
        if "bad" in jobs:
            raise ValueError("a job the model cannot score")
        return [job * 2 for job in jobs]

    return MicroBatcher(score, size=lambda job: len(job), max_items=max_items)


def _gather(batcher: MicroBatcher[Any, Any], jobs: Sequence[Any]) -> list[Any]:
    async def submit_all() -> list[Any]:
        return await asyncio.gather(*(batcher.submit(j) for j in jobs), return_exceptions=True)

    return asyncio.run(submit_all())


def test_a_job_that_breaks_the_model_fails_alone() -> None:
    calls: list[list[Any]] = []
    results = _gather(_batcher(calls), ["a", "bad", "c"])
    assert results[0] == "aa" and results[2] == "cc"
    assert isinstance(results[1], ValueError)
    assert calls == [["a", "bad", "c"], ["a"], ["bad"], ["c"]]


def test_a_call_holds_at_most_max_items_and_jobs_keep_their_order() -> None:
    calls: list[list[Any]] = []
    results = _gather(_batcher(calls, max_items=5), ["ab", "cd", "efghij", "k", "lm"])
    assert results == ["abab", "cdcd", "efghijefghij", "kk", "lmlm"]
    assert calls == [["ab", "cd", "k"], ["efghij"], ["lm"]]


def test_jobs_submitted_while_a_call_runs_wait_for_the_next_call() -> None:
    calls: list[list[Any]] = []
    batcher = _batcher(calls)

    async def one_then_three() -> list[Any]:
        first = asyncio.ensure_future(batcher.submit("slow"))
        await asyncio.sleep(0.05)  # the first call is running, alone
        rest = await asyncio.gather(*(batcher.submit(j) for j in ("b", "c", "d")))
        return [await first, *rest]

    assert asyncio.run(one_then_three()) == ["slowslow", "bb", "cc", "dd"]
    assert calls == [["slow"], ["b", "c", "d"]]


def test_the_log_setting_comes_from_the_environment() -> None:
    env = {"CXML_PREDICTION_LOG": "s3://bucket/log", "CXML_PREDICTION_LOG_QUEUE": "50"}
    loaded = ServiceSettings.from_env(env)
    assert (loaded.log, loaded.log_queue_rows) == ("s3://bucket/log", 50)
    assert ServiceSettings.from_env(loaded.to_env()) == loaded
    assert ServiceSettings.from_env({"CXML_PREDICTION_LOG": ""}).log is None


def test_a_job_over_max_items_runs_in_a_thread_while_the_loop_goes_on() -> None:
    calls: list[list[Any]] = []
    batcher = _batcher(calls, max_items=3)
    ticks: list[float] = []

    async def tick_while_scoring() -> Any:
        scoring = asyncio.ensure_future(batcher.submit("slow-and-long"))  # 0.2 s in a thread
        while not scoring.done():
            ticks.append(time.monotonic())
            await asyncio.sleep(0.01)
        return await scoring

    assert asyncio.run(tick_while_scoring()) == "slow-and-long" * 2
    assert len(ticks) > 5  # the event loop was not blocked by the call
    assert calls == [["slow-and-long"]]


# -- ProcessLogQueue, on its own --


def _sentiment_rows(ids: Sequence[str]) -> tuple[pd.DataFrame, list[str], pd.DataFrame]:
    """Sentiment outputs, ids and input frame of comments with these ids."""
    n = len(ids)
    outputs = pd.DataFrame(
        {
            "sentiment": ["negative"] * n,
            "sentiment_score": [0.25] * n,
            "model_name": ["cxml-sentiment"] * n,
            "model_version": ["3"] * n,
        }
    )
    inputs = pd.DataFrame({"text": ["the refund took weeks"] * n, "lang": ["en"] * n})
    return outputs, list(ids), inputs


def test_the_child_process_logs_rows_of_each_model_and_flushes_on_close(tmp_path: Path) -> None:
    # no timed flush before close: what is queued stays queued, however slow the machine
    queue = ProcessLogQueue(str(tmp_path / "log"), maxsize=100, flush_seconds=600)
    first, second = {"model": 1}, {"model": 2}  # a reload: rows of both models in flight
    assert queue.put("sentiment", *_sentiment_rows(["a", "b"]), first, "service")
    assert queue.put("sentiment", *_sentiment_rows(["c"]), second, "service")
    assert queue.put("sentiment", *_sentiment_rows(["d"]), first, "service")
    assert queue.depth == 4
    assert not queue.put("sentiment", *_sentiment_rows([str(i) for i in range(97)]), first, "x")
    assert queue.close(timeout=60)
    assert (queue.written, queue.dropped, queue.errors, queue.depth) == (4, 97, 0, 0)
    logged = PredictionLog(tmp_path / "log").read("sentiment").frame
    assert sorted(logged["id"]) == ["a", "b", "c", "d"]
    assert set(logged["source"]) == {"service"} and logged["num.text_chars"].eq(21).all()
    assert not queue.put("sentiment", *_sentiment_rows(["e"]), first, "service")  # closed


class _PriorityProbe:
    """A ticket model stand-in whose features fail, after noting the niceness they ran at."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.featurizer_ = self

    def transform(self, inputs: pd.DataFrame) -> pd.DataFrame:
        self.path.write_text(str(os.nice(0)))
        raise ValueError("no features for this input")


def test_the_child_warms_models_up_before_it_lowers_its_priority(tmp_path: Path) -> None:
    """The first use of a model (seconds of CPU) runs at the service's priority, so a busy
    machine cannot starve it; a model that fails on its example does not stop the log."""
    probe = _PriorityProbe(tmp_path / "niceness")
    queue = ProcessLogQueue(str(tmp_path / "log"), warm_up=[("csat", probe, pd.DataFrame())])
    assert int(probe.path.read_text()) == os.nice(0)
    assert queue.put("sentiment", *_sentiment_rows(["a"]), None, "service")
    assert queue.close(timeout=60) and queue.written == 1


def test_rows_for_a_child_that_died_are_counted_as_errors(tmp_path: Path) -> None:
    queue = ProcessLogQueue(str(tmp_path / "log"))
    queue._process.kill()
    queue._process.join()
    assert not queue.put("sentiment", *_sentiment_rows(["a", "b"]), None, "service")
    assert queue.errors == 2 and queue.written == 0
    assert queue.close(timeout=10)


def test_rows_a_stopped_child_had_not_written_are_counted_as_errors(tmp_path: Path) -> None:
    queue = ProcessLogQueue(str(tmp_path / "log"), flush_seconds=600)
    assert queue.put("sentiment", *_sentiment_rows(["a", "b", "c"]), None, "service")
    assert not queue.close(timeout=0)  # no time to write: the child is stopped
    assert queue.written + queue.dropped + queue.errors == 3 and queue.errors > 0
    assert len(PredictionLog(tmp_path / "log").read("sentiment").frame) == queue.written


_HAND_OVER_AND_WAIT = """
import sys, time
import pandas as pd
from cxml.scoring.logprocess import ProcessLogQueue

if __name__ == "__main__":  # the log child starts by importing this module
    queue = ProcessLogQueue(sys.argv[1], flush_seconds=60)
    for i in range(20):
        n = 5
        outputs = pd.DataFrame({"sentiment": ["negative"] * n, "sentiment_score": [0.25] * n,
                                "model_name": ["cxml-sentiment"] * n, "model_version": ["3"] * n})
        inputs = pd.DataFrame({"text": ["the refund took weeks"] * n, "lang": ["en"] * n})
        ids = [f"{i}-{j}" for j in range(n)]
        assert queue.put("sentiment", outputs, ids, inputs, None, "service")
    time.sleep(0.5)  # the pipe's feeder thread has passed everything on
    print("handed over", flush=True)
    time.sleep(600)
"""


def test_rows_handed_over_are_written_when_the_service_process_is_killed(tmp_path: Path) -> None:
    """``kill -9`` of the service process: its log child writes what it was handed, and exits."""
    script = tmp_path / "service.py"
    script.write_text(_HAND_OVER_AND_WAIT)
    service = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "log")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # its resource tracker complains of the kill
        text=True,
    )
    assert service.stdout is not None and service.stdout.readline() == "handed over\n"
    service.kill()
    service.wait()
    log, deadline = PredictionLog(tmp_path / "log"), time.monotonic() + 60
    while not log.files("sentiment"):  # the child notices within a second, then writes
        assert time.monotonic() < deadline, "the log child wrote nothing"
        time.sleep(0.2)
    read = log.read("sentiment")
    assert read.torn == [] and len(read.frame) == 100
    assert set(read.frame["id"]) == {f"{i}-{j}" for i in range(20) for j in range(5)}
