"""Latency of the HTTP scoring service: ``POST /v1/tickets:score``, one ticket per request.

A ticket model is trained on generated tickets and registered as ``cxml-csat`` in an MLflow
store in ``tracking_dir`` (in a child process, so nothing of MLflow's global state or the working
folder changes here), then ``cxml serve`` runs in another child (uvicorn, one worker, the API
key on, only the ticket model served, the prediction log on) on a free port, measured once every
worker is ready. For each concurrency ``c``, ``c`` threads each hold one keep-alive
``http.client.HTTPConnection`` and send one ticket after another for ``seconds`` (a closed loop:
a client sends its next request when the answer to the last one is in). Latency is the client's
wall time per request, so it includes the clients' own time: on a small machine the clients,
the worker and anything else running share the cores. The standard library's client is used
because it costs the shared cores least: with ``httpx`` clients (used here until 2026-12-01)
the same service measured p99 27.6 ms instead of 15.4 ms at 10 clients without the log in
back-to-back runs, the difference being the clients' own time under one interpreter lock. Once
the service has stopped, the log must hold a row for every ticket answered. The service is then
measured again without the log, at 10 clients.

Run alone: ``python benchmarks/scoring_service.py [--seconds 10] [--dir FOLDER] [--config FILE]``.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np

from cxml.contracts.fields import POST_SURVEY_FIELDS
from cxml.data.synth import make_tickets
from cxml.monitoring.log import PredictionLog

__all__ = ["service_latency"]

#: Rated tickets the served model is trained on (the newest 20 % are held out, no refit).
TRAIN_TICKETS = 5000
#: Distinct tickets the clients send, open and solved, English and Korean.
REQUEST_TICKETS = 500
#: uvicorn workers. On 2 cores one does better than two: with every client's requests in one
#: process, more of them are scored together, and one prediction-log child runs instead of two
#: (about 30 % less CPU per request, clients included); and two workers may split the clients'
#: connections unevenly (in one run of four, one worker took all ten).
WORKERS = 1
_TRAIN = """
from cxml.config import CsatConfig, load_config
from cxml.data.synth import make_tickets
from cxml.training.csat import train_csat

make_tickets({n}, seed=41, open_share=0.05).to_csv("tickets.csv", index=False)
train_csat(load_config(CsatConfig, {config!r}, ["split.refit=false"]), data="tickets.csv")
"""


def service_latency(
    tracking_dir: Path,
    concurrency: tuple[int, ...] = (1, 10, 50),
    seconds: float = 10.0,
    unlogged: tuple[int, ...] = (10,),
    config: Path | None = None,
) -> dict[str, float]:
    """Serve a freshly trained ticket model and measure it under closed-loop clients.

    Parameters
    ----------
    tracking_dir : Path
        Folder of the MLflow store (``mlflow.db`` and ``mlruns/``); created if missing.
    concurrency : tuple of int, default=(1, 10, 50)
        Numbers of concurrent clients, measured one after the other.
    seconds : float, default=10.0
        Measuring time at each concurrency.
    unlogged : tuple of int, default=(10,)
        Concurrencies measured again with the prediction log off.
    config : Path, optional
        The ticket model's config (``configs/csat_reviews_fast.yaml``, ...); the defaults
        (``configs/csat.yaml``) when not given.

    Returns
    -------
    dict of str to float
        ``service_p50_ms_c{c}`` and ``service_p99_ms_c{c}`` for each concurrency,
        ``service_requests_per_second_c{c}`` for each, the same with the suffix ``_nolog`` for
        the ``unlogged`` ones, ``service_errors`` (answers other than 200 and failed requests,
        over every run) and ``service_log_rows_missing`` (tickets answered 200 with the log on
        that it does not hold once the service stopped; 0 when all is well).
    """
    folder = Path(tracking_dir).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    env = _env(folder)
    subprocess.run(
        [sys.executable, "-c", _TRAIN.format(n=TRAIN_TICKETS, config=config and str(config))],
        cwd=folder,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    key = secrets.token_urlsafe(24)
    bodies = _bodies(REQUEST_TICKETS)
    log = folder / "prediction-log"
    shutil.rmtree(log, ignore_errors=True)
    figures: dict[str, float] = {}
    errors = answered = 0
    for suffix, runs, log_url in (("", concurrency, str(log)), ("_nolog", unlogged, "")):
        server_env = env | {"CXML_API_KEY": key, "CXML_PREDICTION_LOG": log_url}
        with _server(folder, server_env) as base:
            for clients in runs:
                latencies, failed, ok = _closed_loop(base, key, bodies, clients, seconds)
                errors += failed
                answered += ok if log_url else 0
                ms = 1000 * np.asarray(latencies) if latencies else np.array([np.nan])
                figures[f"service_p50_ms_c{clients}{suffix}"] = float(np.percentile(ms, 50))
                figures[f"service_p99_ms_c{clients}{suffix}"] = float(np.percentile(ms, 99))
                figures[f"service_requests_per_second_c{clients}{suffix}"] = (
                    len(latencies) / seconds
                )
    figures["service_errors"] = float(errors)
    figures["service_log_rows_missing"] = float(
        answered - len(PredictionLog(log).read("csat").frame)
    )
    return figures


def _env(folder: Path) -> dict[str, str]:
    """The children's environment: this store, only the ticket model."""
    env = dict(os.environ)
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{folder / 'mlflow.db'}"
    env["CXML_SENTIMENT_MODEL"] = ""
    env["CXML_THEMES_MODEL"] = ""
    env["CXML_CSAT_MODEL"] = "models:/cxml-csat@champion"
    return env


def _bodies(n: int) -> list[bytes]:
    """``n`` single-ticket request bodies: generated tickets without their survey fields."""
    tickets = make_tickets(n, seed=42, lang="mixed", open_share=0.5, start="2026-07-01", days=30)
    tickets = tickets.drop(columns=[c for c in tickets if c in POST_SURVEY_FIELDS])
    tickets = tickets.drop(columns=["true_bad_probability"], errors="ignore")
    rows: list[dict[str, Any]] = json.loads(tickets.to_json(orient="records"))
    return [json.dumps({"ticket": row}).encode() for row in rows]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _workers_ready(base: str) -> bool:
    """Whether every worker has loaded its model: ``/metrics`` adds up the workers' loads.

    ``/readyz`` is answered by whichever worker takes the connection, so it turns 200 with the
    first worker; clients that connected then would all stay on that worker."""
    if httpx.get(f"{base}/readyz", timeout=5).status_code != 200:
        return False
    metrics = httpx.get(f"{base}/metrics", timeout=5).text
    loads = re.findall(r'^cxml_model_loads_total\{task="csat"\} (\S+)$', metrics, re.MULTILINE)
    return bool(loads) and float(loads[0]) >= WORKERS


@contextlib.contextmanager
def _server(folder: Path, env: dict[str, str], startup_seconds: float = 300) -> Iterator[str]:
    """``cxml serve`` with :data:`WORKERS` workers; yields its base URL once every worker is
    ready, stops it on exit."""
    port = _free_port()
    command = (
        "from cxml.scoring.service import serve; "
        f"serve(port={port}, workers={WORKERS}, log_level='warning')"
    )
    with (folder / "server.log").open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-c", command],
            cwd=folder,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers can be stopped with it, whatever happens here
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the server exited: {(folder / 'server.log').read_text()}")
            with contextlib.suppress(httpx.TransportError):
                if _workers_ready(base):
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server was not ready in {startup_seconds:.0f} s")
            time.sleep(0.25)
        yield base
    finally:
        server.send_signal(signal.SIGTERM)  # graceful: requests in flight finish
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=60)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)  # the workers too, if any is left
        server.wait()


def _closed_loop(
    base: str, key: str, bodies: list[bytes], clients: int, seconds: float
) -> tuple[list[float], int, int]:
    """``clients`` threads sending one ticket per request for ``seconds``; the latencies of the
    answers that were 200, the number of other answers and failed requests, and the number of
    answers that were 200 including each client's first (unmeasured) request."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures = [0] * clients
    first_ok = [0] * clients
    ready = threading.Barrier(clients + 1)
    stop = threading.Event()
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    address = urlsplit(base)
    host = address.hostname or "127.0.0.1"

    def client(i: int) -> None:
        connection = http.client.HTTPConnection(host, address.port, timeout=60)

        def post(body: bytes) -> int:
            connection.request("POST", "/v1/tickets:score", body=body, headers=headers)
            answer = connection.getresponse()
            answer.read()
            return answer.status

        with contextlib.suppress(OSError, http.client.HTTPException):  # connect
            first_ok[i] = int(post(bodies[i % len(bodies)]) == 200)
        ready.wait(timeout=300)
        n = i
        while not stop.is_set():
            n += clients
            started = time.perf_counter()
            try:
                status = post(bodies[n % len(bodies)])
            except (OSError, http.client.HTTPException):
                failures[i] += 1
                connection.close()  # reconnects on the next request
                time.sleep(0.01)  # no busy loop against a server that is gone
                continue
            if status == 200:
                latencies[i].append(time.perf_counter() - started)
            else:
                failures[i] += 1
        connection.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait(timeout=300)
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    measured = [t for per_client in latencies for t in per_client]
    return measured, sum(failures), len(measured) + sum(first_ok)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--dir", type=Path, default=None, help="store folder (default: temporary)")
    parser.add_argument("--config", type=Path, default=None, help="ticket model config")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cxml-service-bench-") as tmp:
        started = time.perf_counter()
        figures = service_latency(
            args.dir or Path(tmp),
            tuple(args.concurrency),
            args.seconds,
            config=args.config and args.config.resolve(),
        )
    figures = {k: round(v, 2) for k, v in figures.items()}
    print(json.dumps(figures, indent=2))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"load average after: {load}; {os.cpu_count()} CPUs; {time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
