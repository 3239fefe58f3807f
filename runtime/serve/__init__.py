"""`postag serve`: the HTTP service (needs the ``serve`` extra: FastAPI + uvicorn).

* :mod:`.config`   — :class:`ServeConfig`, the settings (no web dependencies);
* :mod:`.app`      — the FastAPI app: endpoints, request limits, the error shape;
* :mod:`.batcher`  — dynamic micro-batching of concurrent requests;
* :mod:`.errors`   — ``{"error": {"code", "message"}}`` responses;
* :mod:`.loadtest` — a bounded loopback load test (`postag loadtest`).
"""
