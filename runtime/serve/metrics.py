"""`GET /metrics`: what `postag serve` counts, for Prometheus (the ``prometheus-client`` library).

    postag serve --port 8000
    curl -s localhost:8000/metrics

Each app has its own :class:`ServeMetrics` and its own ``CollectorRegistry`` (never the
library's global one), so several apps in one process (the tests) never share a count:

* ``postag_requests_total{endpoint, status}``: answered requests, by route and status
  (paths that are no route count as ``endpoint="other"``);
* ``postag_request_duration_seconds{endpoint}``: the time from a request's arrival to
  its answer's last byte handed to the server;
* ``postag_request_tokens``: the tokens of each tagged (200) ``POST /v1/tag``;
* ``postag_batch_requests`` / ``postag_batch_tokens``: requests and tokens per session
  run of the micro-batcher;
* ``postag_queue_depth``: requests waiting for a session run (``/v1/health``'s ``queue``);
* ``postag_rejected_total{status, reason}``: requests refused, ``reason`` being the error
  answer's ``code`` (``body_too_large``, ``too_many_tokens``, ``invalid_request``,
  ``unsupported_media_type``, ``overloaded``, …), or ``disconnect`` (status 499) for a
  client gone before its body arrived;
* ``postag_model_info{name, version, identity, provider}``: the bundle served (always 1).

**Several worker processes** (`postag serve --workers N`): each process counts for
itself, and a scrape reaches one of them, so the CLI then runs prometheus-client's
multiprocess mode: it creates a temporary directory, names it in
``PROMETHEUS_MULTIPROC_DIR`` before the workers start (the library reads it when it is
first imported), and removes it when the server stops. Every worker writes its values
there, and ``/metrics`` answers the sum over all workers (``MultiProcessCollector``); the
queue depth is summed over the live workers. The model info, the same in every worker,
is the answering worker's own (Info metrics have no multiprocess form). One app per
process in this mode: two apps in one process would add into the same files.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Seconds: the library's default buckets, and a tail for the biggest requests.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
#: Tokens per request and per session run (the default limit is 20,000 per request).
TOKEN_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 20_000, 50_000)
#: Requests per session run.
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
#: Where a request that matches no route is counted (one value, whatever the path).
OTHER = "other"


def multiprocess_dir() -> str | None:
    """The multiprocess directory prometheus-client uses, if it is in that mode."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class ServeMetrics:
    """The metrics of one app, and their exposition (:meth:`exposition`)."""

    def __init__(self, model: Mapping[str, str]) -> None:
        self.multiprocess = multiprocess_dir()
        self.registry = CollectorRegistry()
        # multiprocess mode: the values go to the directory's files (registered nowhere)
        # and a scrape reads them all back; else they live in this app's registry
        own = None if self.multiprocess else self.registry
        if self.multiprocess:
            MultiProcessCollector(self.registry, path=self.multiprocess)
        self.requests = Counter(
            "postag_requests",
            "Requests answered, by endpoint and HTTP status.",
            ["endpoint", "status"],
            registry=own,
        )
        self.latency = Histogram(
            "postag_request_duration_seconds",
            "Time from a request's arrival to its answer, by endpoint.",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=own,
        )
        self.tokens = Histogram(
            "postag_request_tokens",
            "Tokens tagged per successful POST /v1/tag.",
            buckets=TOKEN_BUCKETS,
            registry=own,
        )
        self.batch_requests = Histogram(
            "postag_batch_requests",
            "Requests per micro-batch (one session run).",
            buckets=BATCH_BUCKETS,
            registry=own,
        )
        self.batch_tokens = Histogram(
            "postag_batch_tokens",
            "Tokens per micro-batch (one session run).",
            buckets=TOKEN_BUCKETS,
            registry=own,
        )
        self.queue_depth = Gauge(
            "postag_queue_depth",
            "Requests waiting in the micro-batch queue.",
            multiprocess_mode="livesum",
            registry=own,
        )
        self.rejected = Counter(
            "postag_rejected",
            "Requests refused, by HTTP status and reason (the error code, or disconnect).",
            ["status", "reason"],
            registry=own,
        )
        info = Info("postag_model", "The model served.", registry=self.registry)
        info.info(dict(model))

    def reject(self, status: int, reason: str) -> None:
        self.rejected.labels(str(status), reason).inc()

    def answered(self, endpoint: str, status: int, seconds: float) -> None:
        self.requests.labels(endpoint, str(status)).inc()
        self.latency.labels(endpoint).observe(seconds)

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The scrape's body and content type: the Prometheus text format, or OpenMetrics
        when ``accept`` asks for it. Reads files in multiprocess mode: run it in a thread."""
        encode, content_type = choose_encoder(accept or "")
        return encode(self.registry), content_type

    def close(self) -> None:
        """Multiprocess mode: this process's live gauges (the queue depth) stop counting."""
        if self.multiprocess:
            mark_process_dead(os.getpid(), self.multiprocess)


class RequestMetrics:
    """Pure ASGI middleware (the outermost): every HTTP request's status and latency, by
    endpoint. An exception the app lets through counts as a 500 (the answer Starlette
    gives it), unless the answer had already started."""

    def __init__(self, app: ASGIApp, metrics: ServeMetrics) -> None:
        self.app, self.metrics = app, metrics
        self._paths: set[str] | None = None

    def endpoint(self, scope: Scope) -> str:
        if self._paths is None:  # the routes are all added before the first request
            routes = getattr(scope.get("app"), "routes", [])
            self._paths = {p for r in routes if isinstance(p := getattr(r, "path", None), str)}
        path = scope.get("path", "")
        return path if path in self._paths else OTHER

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            self.metrics.answered(self.endpoint(scope), status, time.perf_counter() - start)
