"""``cxml serve``: the HTTP scoring service (FastAPI + uvicorn).

Endpoints: ``POST /v1/comments:analyze`` (sentiment, themes and theme sentiment),
``POST /v1/tickets:score`` (bad-rating probability, flag and reasons),
``POST /v1/webhooks/zendesk`` (a signed Zendesk webhook's ticket, scored, with the update that
flags it: :mod:`cxml.scoring.webhooks`), ``GET /v1/models``,
``GET /healthz`` (the process is up), ``GET /readyz`` (models loaded), ``GET /metrics``
(Prometheus) and ``GET /docs`` (Swagger UI, served from an installed package: no CDN). Paths
under ``/v1/`` need the ``X-API-Key`` header when a key is configured.

Models are loaded through :func:`cxml.tracking.load_model` by a :class:`ModelHolder` when the
app starts; every ``reload_seconds`` the holder asks the registry whether an alias moved and
swaps in the new version without dropping a request. Scoring is synchronous CPU work, done in a
worker thread. Tickets reach the model exactly as in batch scoring: :func:`tickets_input` hands
the request's tickets to :func:`cxml.contracts.tickets.ticket_inputs_from_columns`, the
definition of the model's input that :func:`cxml.contracts.tickets.ticket_inputs` uses for a
file's rows. The tickets of requests that arrive while the model is busy are scored together in
its next call (:class:`~cxml.scoring.microbatch.MicroBatcher`): one ticket costs about as much to
score as ten, so under load this is most of the service's speed.

With a prediction log (``settings.log``), every scored ticket is handed to a
:class:`~cxml.monitoring.log.LogQueue`, run by a child process of each worker
(:class:`~cxml.scoring.logprocess.ProcessLogQueue`), once its response is computed: the
hand-over never blocks or fails a request (rows that do not fit in the queue are dropped and
counted), the rows are written in the background and flushed when the service stops, and
``/metrics`` reports rows written, dropped and lost to errors, and the rows waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import gc
import logging
import os
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from fastapi import APIRouter, FastAPI, HTTPException, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import APIKeyHeader
from fastapi.staticfiles import StaticFiles
from mlflow.exceptions import MlflowException
from swagger_ui_bundle import swagger_ui_path

from cxml._version import __version__
from cxml.contracts.tickets import TICKET_FIELDS, ticket_inputs_from_columns
from cxml.scoring.api import (
    AnalyzeCommentsRequest,
    AnalyzeCommentsResponse,
    Comment,
    CommentResult,
    ErrorBody,
    Health,
    ModelInfo,
    ModelsResponse,
    Readiness,
    ScoreTicketsRequest,
    ScoreTicketsResponse,
    Ticket,
    TicketScore,
)
from cxml.scoring.batch import COMMENT_INPUTS, score_frame
from cxml.scoring.holder import ModelHolder
from cxml.scoring.languages import lang_counts, unseen_lang_notes
from cxml.scoring.logprocess import ProcessLogQueue
from cxml.scoring.microbatch import MicroBatcher
from cxml.scoring.middleware import (
    ApiKeyMiddleware,
    BodyLimitMiddleware,
    MetricsMiddleware,
    ServiceMetrics,
)
from cxml.scoring.settings import ServiceSettings
from cxml.scoring.webhooks import OPENAPI, RESPONSES, Score, zendesk_webhook
from cxml.text.lang import detect_lang
from cxml.tracking.loader import LoadedModel
from cxml.tracking.pyfunc import CxmlModel

__all__ = ["comments_frame", "create_app", "serve", "tickets_input"]

log = logging.getLogger("cxml.serve")

COMMENT_TASKS = ("sentiment", "themes")
_COMMENT_OUTPUTS = tuple(CommentResult.model_fields)
#: Where ``/docs`` finds Swagger UI's scripts and styles.
_DOCS_ASSETS = "/docs/assets"
#: Most tickets scored in one model call when requests are scored together.
BATCH_TICKETS = 64
#: Seconds between copies of the prediction log's counters into the metrics.
_LOG_METRICS_SECONDS = 1.0
#: Seconds the prediction log gets to write what is queued when the service stops.
_LOG_CLOSE_SECONDS = 60.0

#: Documented in OpenAPI; :class:`ApiKeyMiddleware` does the checking, before any body is read.
_API_KEY = APIKeyHeader(
    name="X-API-Key", scheme_name="ApiKey", auto_error=False, description="the service's API key"
)
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing or wrong API key"},
    413: {"model": ErrorBody, "description": "body or batch too large"},
    503: {"model": ErrorBody, "description": "the model for this endpoint is not loaded"},
}


def comments_frame(comments: Sequence[Comment]) -> pd.DataFrame:
    """The comment models' input frame: ``id``, ``text`` and ``lang`` (detected when missing)."""
    texts = [c.text for c in comments]
    langs: list[Any] = [c.lang for c in comments]
    if None in langs:
        langs = [given or found for given, found in zip(langs, detect_lang(texts), strict=True)]
    ids = pd.Series([c.id for c in comments], dtype=object)  # None stays None, not NaN
    return pd.DataFrame({"id": ids, "text": texts, "lang": langs})


def tickets_input(tickets: Sequence[Ticket], as_of: datetime | Sequence[datetime]) -> pd.DataFrame:
    """The ticket model's input for ``tickets`` seen at ``as_of``, as batch scoring makes it.

    The validated fields go straight to :func:`ticket_inputs_from_columns`, with no frame of
    rows in between (times become ISO 8601 strings in UTC; a time without an offset is UTC). A
    missing ``lang`` is detected from ``text`` when there is one, as the batch reader does.
    ``as_of`` is one moment for every ticket, or one per ticket (requests scored together).
    """
    columns = {name: [getattr(t, name) for t in tickets] for name in TICKET_FIELDS}
    if not isinstance(as_of, datetime):  # each one as the single moment below would be given
        columns["as_of"] = [pd.Timestamp(moment).isoformat() for moment in as_of]
    langs, texts = columns["lang"], columns["text"]
    unknown = [i for i, t in enumerate(tickets) if t.lang is None and t.text is not None]
    if unknown:
        detected = detect_lang([texts[i] for i in unknown]).tolist()
        for i, lang in zip(unknown, detected, strict=True):
            langs[i] = lang
    moment = pd.Timestamp(as_of) if isinstance(as_of, datetime) else None
    return ticket_inputs_from_columns(columns, pd.RangeIndex(len(tickets)), moment)


def _predict(model: LoadedModel, inputs: pd.DataFrame) -> pd.DataFrame:
    """``model.predict(inputs)`` without MLflow's check of the input against the signature.

    The request models and :func:`tickets_input` already give the signature's columns and
    types, and the check costs more than a third of scoring one ticket. Models that are not a
    :class:`~cxml.tracking.pyfunc.CxmlModel` go through the pyfunc.
    """
    try:
        python_model = model.pyfunc.unwrap_python_model()
    except MlflowException:  # not a Python model
        python_model = None
    if not isinstance(python_model, CxmlModel):
        return model.predict(inputs)
    return python_model.predict(None, inputs)


@dataclass(frozen=True)
class _TicketJob:
    """One request's tickets, the model it was given and its scoring moment."""

    model: LoadedModel
    tickets: list[Ticket]
    as_of: datetime


class _TicketScorer:
    """Score the tickets of several requests in one call of each model, and log them."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        self.metrics = metrics
        self.log: ProcessLogQueue | None = None  # set while the app runs with a log

    def __call__(self, jobs: Sequence[_TicketJob]) -> list[list[TicketScore]]:
        results: list[list[TicketScore]] = [[] for _ in jobs]
        scored_calls = []  # logged once every call succeeded: a failed batch is scored again
        by_model: dict[int, list[int]] = {}  # a reload between requests: one call per model
        for i, job in enumerate(jobs):
            by_model.setdefault(id(job.model), []).append(i)
        for positions in by_model.values():
            model = jobs[positions[0]].model
            tickets = [t for i in positions for t in jobs[i].tickets]
            moments = [jobs[i].as_of for i in positions for _ in jobs[i].tickets]
            inputs = tickets_input(tickets, moments)
            scored = _predict(model, inputs)
            self.metrics.call_items.labels("tickets").observe(len(tickets))
            scores = iter(
                TicketScore(
                    ticket_id=ticket.ticket_id,
                    bad_rating_probability=probability,
                    at_risk=at_risk,
                    reasons=list(reasons),
                    model_name=model.name,
                    model_version=model.version,
                )
                for ticket, probability, at_risk, reasons in zip(
                    tickets,
                    scored["bad_rating_probability"].tolist(),
                    scored["at_risk"].tolist(),
                    scored["reasons"].tolist(),
                    strict=True,
                )
            )
            for i in positions:
                results[i] = [next(scores) for _ in jobs[i].tickets]
            scored_calls.append((model, scored, tickets, inputs))
        for call in scored_calls:
            self._log(*call)
        return results

    def _log(
        self, model: LoadedModel, scored: pd.DataFrame, tickets: list[Ticket], inputs: pd.DataFrame
    ) -> None:
        """Hand the scored rows to the prediction log; never raises (a failure is counted)."""
        if self.log is None:
            return
        try:
            ids = [t.ticket_id for t in tickets]
            self.log.put("csat", scored, ids, inputs, model.estimator, "service")
        except Exception:
            log.exception("prediction log: cannot queue %d ticket(s)", len(tickets))
            self.metrics.log_errors.inc(len(tickets))


def _warm_up(model: LoadedModel) -> None:
    """Score the model's stored input example once, so no request pays for first-call loading
    (the Korean tokenizer's dictionary alone takes seconds)."""
    example = model.pyfunc.input_example
    if example is None:
        return
    started = time.perf_counter()
    try:
        model.predict(example)
    except Exception as exc:  # the requests will show the failure; loading goes on
        log.warning("%s version %s fails on its input example: %s", model.name, model.version, exc)
        return
    log.info(
        "%s version %s warmed up in %.1f s",
        model.name,
        model.version,
        time.perf_counter() - started,
    )


def _records(frame: pd.DataFrame, fields: Sequence[str]) -> list[dict[str, Any]]:
    """Rows of ``frame`` as plain Python values, for the ``fields`` it has."""
    columns = {f: frame[f].tolist() for f in fields if f in frame}
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _check_batch(n: int, limit: int) -> None:
    if n > limit:
        raise HTTPException(413, f"{n} items in one request; at most {limit} (CXML_MAX_BATCH)")


def _unavailable(what: str, holder: ModelHolder, tasks: Sequence[str]) -> HTTPException:
    reasons = [
        f"{task}: {holder.status[task].error}" if task in holder.status else f"{task}: not served"
        for task in tasks
    ]
    return HTTPException(503, f"no {what} model is loaded ({'; '.join(reasons)})")


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """Build the service; ``settings`` default to :meth:`ServiceSettings.from_env`.

    The models load when the app starts, before the server accepts connections (so with
    several workers no worker answers before its models are in), each scoring its stored input
    example once so that no request pays for loading done on first use, then follow their
    aliases every ``settings.reload_seconds``. ``/readyz`` answers 503 while no model is loaded.
    """
    settings = settings or ServiceSettings.from_env()
    metrics = ServiceMetrics()

    def on_load(model: LoadedModel) -> None:
        _warm_up(model)
        metrics.model_loaded(model)

    holder = ModelHolder(settings.model_uris(), on_load=on_load)
    scorer = _TicketScorer(metrics)
    batcher = MicroBatcher(scorer, size=lambda job: len(job.tickets), max_items=BATCH_TICKETS)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(holder.refresh)  # before the server accepts a connection
        tasks = [asyncio.create_task(_follow_aliases(holder, settings.reload_seconds))]
        if settings.log is not None:
            model = holder.get("csat")
            example = None if model is None else model.pyfunc.input_example
            warm_up = [("csat", model.estimator, example)] if model and example is not None else []
            scorer.log = await run_in_threadpool(
                lambda: ProcessLogQueue(
                    str(settings.log), maxsize=settings.log_queue_rows, warm_up=warm_up
                )
            )
            tasks.append(asyncio.create_task(_copy_log_counters(scorer.log, metrics)))
        app.state.log = scorer.log
        # What is loaded by now lives as long as the app: out of the collector's full passes,
        # which otherwise stop the worker for ~0.2 s every few thousand requests.
        gc.collect()
        gc.freeze()
        yield
        gc.unfreeze()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if scorer.log is not None:  # requests are done: write what they queued
            if not await run_in_threadpool(scorer.log.close, _LOG_CLOSE_SECONDS):
                log.error("prediction log: rows still unwritten after %.0f s", _LOG_CLOSE_SECONDS)
            metrics.log_counters(scorer.log)

    app = FastAPI(
        title="cxml scoring service",
        version=__version__,
        summary="Comment themes and sentiment, ticket bad-rating risk.",
        lifespan=lifespan,
        docs_url=None,  # _add_docs serves it without a CDN; ReDoc would need one
        redoc_url=None,
    )
    _add_docs(app)
    app.state.settings = settings
    app.state.holder = holder
    app.state.metrics = metrics
    v1 = APIRouter(prefix="/v1", dependencies=[Security(_API_KEY)], responses=_ERRORS)

    @v1.post("/comments:analyze", summary="Sentiment, themes and theme sentiment of comments")
    def analyze_comments(request: AnalyzeCommentsRequest) -> AnalyzeCommentsResponse:
        """Score one comment or a batch with the served comment models (sentiment, themes)."""
        comments = request.items
        _check_batch(len(comments), settings.max_batch)
        models = [m for task in COMMENT_TASKS if (m := holder.get(task)) is not None]
        if not models:
            raise _unavailable("comment", holder, COMMENT_TASKS)
        if not comments:
            return AnalyzeCommentsResponse(items=[])
        frame = comments_frame(comments)
        scored = score_frame(frame, models, COMMENT_INPUTS, evidence=request.evidence)
        metrics.items.labels("comments").inc(len(comments))
        items = [CommentResult(**row) for row in _records(scored, _COMMENT_OUTPUTS)]
        notes = unseen_lang_notes(lang_counts(scored), models)
        return AnalyzeCommentsResponse(items=items, notes=notes)

    @v1.post("/tickets:score", summary="Probability that open tickets get a bad CSAT rating")
    async def score_tickets(request: ScoreTicketsRequest) -> ScoreTicketsResponse:
        """Score one ticket or a batch with the served ``cxml-csat`` model."""
        tickets = request.items
        _check_batch(len(tickets), settings.max_batch)
        model = holder.get("csat")
        if model is None:
            raise _unavailable("ticket", holder, ["csat"])
        as_of = request.as_of or datetime.now(UTC)  # the request's is UTC already
        if not tickets:
            return ScoreTicketsResponse(items=[], as_of=as_of)
        items = await batcher.submit(_TicketJob(model, tickets, as_of))
        metrics.items.labels("tickets").inc(len(tickets))
        return ScoreTicketsResponse(items=items, as_of=as_of)

    @v1.get("/models", summary="The configured models and the versions served")
    def list_models() -> ModelsResponse:
        """What each task's URI resolves to now, when it was loaded, or why it is not."""
        infos = []
        for task, status in holder.status.items():
            model = status.model
            loaded_at = status.loaded_at
            infos.append(
                ModelInfo(
                    task=task,
                    uri=status.uri,
                    loaded=model is not None,
                    name=model.name if model else None,
                    version=model.version if model else None,
                    loaded_at=datetime.fromtimestamp(loaded_at, UTC) if loaded_at else None,
                    error=status.error,
                )
            )
        return ModelsResponse(models=infos)

    def ticket_scorer() -> Score:
        """Score one ticket with the ticket model loaded now (503 when there is none)."""
        model = holder.get("csat")
        if model is None:
            raise _unavailable("ticket", holder, ["csat"])

        async def score(ticket: Ticket, as_of: datetime) -> TicketScore:
            (item,) = await batcher.submit(_TicketJob(model, [ticket], as_of))
            metrics.items.labels("tickets").inc()
            return item

        return score

    v1.add_api_route(
        "/webhooks/zendesk",
        zendesk_webhook(settings, ticket_scorer),
        methods=["POST"],
        summary="Score the ticket of a signed Zendesk webhook and answer its flag update",
        responses=RESPONSES,
        openapi_extra=OPENAPI,
    )
    app.include_router(v1)

    @app.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> Health:
        return Health()

    @app.get(
        "/readyz",
        summary="Readiness: models are loaded",
        responses={503: {"model": Readiness, "description": "not ready"}},
    )
    async def readyz(response: Response) -> Readiness:
        models = {
            task: f"{s.model.name}/{s.model.version}" if s.model else f"missing: {s.error}"
            for task, s in holder.status.items()
        }
        body = Readiness(ready=holder.loaded_once and bool(holder.models), models=models)
        if not body.ready:
            response.status_code = 503
        return body

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus() -> Response:
        if scorer.log is not None:
            metrics.log_counters(scorer.log)
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    app.exception_handler(RequestValidationError)(_validation_error)
    app.exception_handler(Exception)(_internal_error)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.api_key is not None:
        app.add_middleware(ApiKeyMiddleware, key=settings.api_key.get_secret_value())
    else:
        log.warning("CXML_API_KEY is not set: /v1/ endpoints answer without an API key")
    paths = [getattr(route, "path", "") for route in (*app.routes, *v1.routes)]
    app.add_middleware(MetricsMiddleware, metrics=metrics, endpoints=paths)
    return app


def _add_docs(app: FastAPI) -> None:
    """``/docs``: Swagger UI from the files of the installed ``swagger-ui-bundle-v2`` package
    under :data:`_DOCS_ASSETS`, so that it renders with no network (FastAPI's loads a CDN)."""
    app.mount(_DOCS_ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=str(app.openapi_url),
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{_DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{_DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{_DOCS_ASSETS}/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},  # no calls to an online validator
        )


async def _follow_aliases(holder: ModelHolder, every: float) -> None:
    """Look for moved aliases (and models still missing) every ``every`` seconds (0: never)."""
    while every > 0:
        await asyncio.sleep(every)
        await run_in_threadpool(holder.refresh)


async def _copy_log_counters(queue: ProcessLogQueue, metrics: ServiceMetrics) -> None:
    """Copy the prediction log's counters into the metrics every second (with several workers,
    the worker that answers ``/metrics`` adds up what each one copied)."""
    while True:
        await asyncio.sleep(_LOG_METRICS_SECONDS)
        metrics.log_counters(queue)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 with each problem's location, message and type (the input is not echoed back)."""
    errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
    return JSONResponse({"detail": errors}, status_code=422)


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    """500 without internals; uvicorn logs the traceback."""
    return JSONResponse({"detail": "internal error; see the service log"}, status_code=500)


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    settings: ServiceSettings | None = None,
    workers: int = 1,
    graceful_seconds: int = 30,
    log_level: str = "info",
    access_log: bool = False,
) -> None:
    """Run the service with uvicorn until SIGINT / SIGTERM.

    On a signal the server stops accepting connections, lets requests in flight finish (for at
    most ``graceful_seconds``), then stops the model reloads and exits. With ``workers`` > 1,
    that many processes share the port (each loads the models; settings reach them through the
    environment) and ``/metrics`` adds up their metrics.
    """
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG
    from uvicorn.supervisors import Multiprocess

    log_config = copy.deepcopy(LOGGING_CONFIG)
    # Not on to the root logger too, where the CLI has its own handler: each line once.
    log_config["loggers"]["cxml"] = {
        "handlers": ["default"],
        "level": log_level.upper(),
        "propagate": False,
    }
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "timeout_graceful_shutdown": graceful_seconds,
        "log_level": log_level,
        "log_config": log_config,
        "access_log": access_log,
    }
    if workers == 1:
        uvicorn.run(create_app(settings), **options)
        return
    if settings is not None:
        os.environ.update(settings.to_env())
    with tempfile.TemporaryDirectory(prefix="cxml-metrics-") as metrics_dir:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        # What uvicorn.run does for several workers, but with TCP_NODELAY on the shared socket
        # (connections inherit it): uvicorn opens that socket without naming TCP, so asyncio does
        # not set it per connection as it does with one worker, and a response then waits for the
        # client's delayed ACK, ~40 ms, between its headers and its body.
        config = uvicorn.Config(f"{__name__}:create_app", factory=True, workers=workers, **options)
        sock = config.bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with contextlib.suppress(KeyboardInterrupt):
            Multiprocess(config, sockets=[sock]).run()
