"""`postag serve`: the HTTP service (needs the ``serve`` extra: FastAPI + uvicorn).

* :mod:`.config`   — :class:`ServeConfig`, the settings (no web dependencies);
* :mod:`.app`      — the FastAPI app: the endpoints and the steps of a request;
* :mod:`.request`  — what a request may be: the body limit, the request model, the limits;
* :mod:`.texts`    — raw texts split into sentences in worker processes;
* :mod:`.batcher`  — dynamic micro-batching of concurrent requests;
* :mod:`.errors`   — ``{"error": {"code", "message"}}`` responses, for every error;
* :mod:`.metrics`  — ``GET /metrics`` (Prometheus; summed over ``--workers`` processes);
* :mod:`.page`     — ``GET /``, a self-contained page to look at tags;
* :mod:`.loadtest` — a bounded loopback load test (`postag loadtest`), hostile requests too.
"""
