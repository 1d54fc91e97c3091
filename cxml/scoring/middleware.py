"""ASGI middleware of the scoring service: Prometheus metrics, the API key and the body limit.

They are plain ASGI classes (no per-request task or copy of the body beyond the limit), and run
before FastAPI reads a body: an unauthenticated or oversize request is answered without parsing.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Collection
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cxml.tracking.loader import LoadedModel

__all__ = [
    "ApiKeyMiddleware",
    "BodyLimitMiddleware",
    "LogCounters",
    "MetricsMiddleware",
    "ServiceMetrics",
]

_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_CALL_ITEMS_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class LogCounters(Protocol):
    """What the metrics read of a prediction log queue (:class:`~cxml.monitoring.log.LogQueue`)."""

    @property
    def written(self) -> int: ...
    @property
    def dropped(self) -> int: ...
    @property
    def errors(self) -> int: ...
    @property
    def depth(self) -> int: ...


class ServiceMetrics:
    """The service's Prometheus metrics, in a registry of its own (one per app).

    With ``PROMETHEUS_MULTIPROC_DIR`` set (``serve(workers=N)`` sets it), every worker process
    writes its values there and :meth:`render` adds them up.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "cxml_http_requests",
            "HTTP requests by endpoint, method and status.",
            ["endpoint", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "cxml_http_request_duration_seconds",
            "Time from request to the end of the response, by endpoint, method and status.",
            ["endpoint", "method", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.items = Counter(
            "cxml_scored_items",
            "Comments and tickets scored, by task.",
            ["task"],
            registry=self.registry,
        )
        self.call_items = Histogram(
            "cxml_model_call_items",
            "Items scored per model call (requests waiting for the model are scored together).",
            ["task"],
            buckets=_CALL_ITEMS_BUCKETS,
            registry=self.registry,
        )
        self.models = Gauge(
            "cxml_model_info",
            "1 for the model version each task is served by (0 once replaced).",
            ["name", "task", "version"],  # in the order the exposition sorts them
            multiprocess_mode="max",
            registry=self.registry,
        )
        self.loads = Counter(
            "cxml_model_loads",
            "Models loaded, at startup and when an alias moved, by task.",
            ["task"],
            registry=self.registry,
        )
        self.log_rows = Counter(
            "cxml_prediction_log_rows",
            "Rows written to the prediction log.",
            registry=self.registry,
        )
        self.log_dropped = Counter(
            "cxml_prediction_log_dropped",
            "Scored rows not logged because the prediction log's queue was full.",
            registry=self.registry,
        )
        self.log_errors = Counter(
            "cxml_prediction_log_errors",
            "Scored rows lost to an error while queueing or writing them to the prediction log.",
            registry=self.registry,
        )
        self.log_queue_depth = Gauge(
            "cxml_prediction_log_queue_depth",
            "Rows waiting to be written to the prediction log.",
            multiprocess_mode="livesum",
            registry=self.registry,
        )
        self._served: dict[str, tuple[str, str]] = {}
        self._log_seen = {"written": 0, "dropped": 0, "errors": 0}

    def model_loaded(self, model: LoadedModel) -> None:
        """Record that ``model`` now serves its task."""
        if (old := self._served.get(model.task)) is not None:
            self.models.labels(old[0], model.task, old[1]).set(0)
        self._served[model.task] = (model.name, model.version)
        self.models.labels(model.name, model.task, model.version).set(1)
        self.loads.labels(model.task).inc()

    def log_counters(self, queue: LogCounters) -> None:
        """Bring the prediction log metrics up to ``queue``'s counters (call from one thread)."""
        for name, counter in (
            ("written", self.log_rows),
            ("dropped", self.log_dropped),
            ("errors", self.log_errors),
        ):
            value = getattr(queue, name)
            counter.inc(value - self._log_seen[name])
            self._log_seen[name] = value
        self.log_queue_depth.set(queue.depth)

    def render(self) -> bytes:
        """The metrics in the Prometheus text format (of every worker process, if several)."""
        if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry)


class MetricsMiddleware:
    """Count and time every HTTP request by endpoint (unknown paths: ``other``) and status."""

    def __init__(self, app: ASGIApp, *, metrics: ServiceMetrics, endpoints: Collection[str]):
        self.app = app
        self.metrics = metrics
        self.endpoints = frozenset(endpoints)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless a response starts

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            path = scope["path"]
            labels = (path if path in self.endpoints else "other", scope["method"], str(status))
            self.metrics.requests.labels(*labels).inc()
            self.metrics.latency.labels(*labels).observe(time.perf_counter() - started)


class ApiKeyMiddleware:
    """Answer 401 to requests under ``prefix`` without the right ``X-API-Key`` header.

    The key is compared in constant time (:func:`hmac.compare_digest`).
    """

    def __init__(self, app: ASGIApp, *, key: str, prefix: str = "/v1/"):
        self.app = app
        self.key = key.encode()
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefix):
            given = next((v for k, v in scope["headers"] if k == b"x-api-key"), None)
            if given is None or not hmac.compare_digest(given, self.key):
                reason = "missing" if given is None else "wrong"
                response = JSONResponse(
                    {"detail": f"{reason} API key: send it in the X-API-Key header"},
                    status_code=401,
                    headers={"WWW-Authenticate": "ApiKey"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """Answer 413 to bodies over ``max_bytes``, by ``Content-Length`` or as they stream in.

    The body is read here (up to the limit) and handed on whole, as FastAPI would read it.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        pending = [{"type": "http.request", "body": bytes(body), "more_body": False}]

        async def replay() -> Message:
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(
            {"detail": f"request body larger than {self.max_bytes} bytes"},
            status_code=413,
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)
