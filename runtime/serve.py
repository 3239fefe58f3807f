"""HTTP service for a bundle, with dynamic micro-batching (`postag serve`).

Needs the ``serve`` extra (FastAPI + uvicorn); the plain runtime install stays light.

    postag serve artifacts/postag-en-ewt --port 8000
    curl -s localhost:8000/v1/tag -H 'content-type: application/json' \\
         -d '{"text": "I don't know. Do you?"}'

Concurrent requests wait in a bounded queue; one worker drains it into batches of at most
``max_batch_tokens`` tokens, waiting at most ``max_wait_ms`` for a batch to fill, runs the
session once per batch in a thread, and hands each request its own results. The fp32
model is padding-invariant, so a request's tags are the same batched or alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator

from . import __version__
from .serve_config import ServeConfig
from .tagger import TaggedSentence, Tagger
from .tokenizer import sentences as split_text


class HTTPError(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


@dataclass
class _Job:
    sentences: list[list[str]]
    top_k: int
    probs: bool
    future: asyncio.Future = field(repr=False)

    @property
    def tokens(self) -> int:
        return sum(len(s) for s in self.sentences)


@dataclass
class BatcherStats:
    requests: int = 0
    batches: int = 0
    max_requests_per_batch: int = 0
    rejected: int = 0


class MicroBatcher:
    """Groups concurrent requests into session runs under a token budget and a max wait."""

    def __init__(self, tagger: Tagger, cfg: ServeConfig) -> None:
        self.tagger = tagger
        self.cfg = cfg
        self.queue: asyncio.Queue[_Job] = asyncio.Queue(maxsize=cfg.queue_size)
        self.stats = BatcherStats()
        self._worker: asyncio.Task | None = None

    def start(self) -> None:
        self._worker = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Finish every queued request, then stop the worker."""
        await self.queue.join()
        if self._worker:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker

    async def submit(
        self, sentences: list[list[str]], top_k: int, probs: bool
    ) -> list[TaggedSentence]:
        job = _Job(sentences, top_k, probs, asyncio.get_running_loop().create_future())
        try:
            self.queue.put_nowait(job)
        except asyncio.QueueFull:
            self.stats.rejected += 1
            raise HTTPError(
                503, "overloaded", "the request queue is full; retry shortly", {"Retry-After": "1"}
            ) from None
        self.stats.requests += 1
        return await job.future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self.queue.get()]
            tokens = batch[0].tokens
            deadline = loop.time() + self.cfg.max_wait_ms / 1000
            while tokens < self.cfg.max_batch_tokens:
                timeout = deadline - loop.time()
                if timeout <= 0:
                    break
                try:
                    job = await asyncio.wait_for(self.queue.get(), timeout)
                except TimeoutError:
                    break
                batch.append(job)
                tokens += job.tokens
            await self._process(batch)

    async def _process(self, batch: list[_Job]) -> None:
        self.stats.batches += 1
        self.stats.max_requests_per_batch = max(self.stats.max_requests_per_batch, len(batch))
        flat = [s for job in batch for s in job.sentences]
        top_k = max(job.top_k for job in batch)
        probs = any(job.probs for job in batch)
        try:
            results = await asyncio.to_thread(
                self.tagger.tag_batch, flat, top_k, probs, self.cfg.max_batch_tokens
            )
        except Exception as exc:  # never leave a request hanging
            for job in batch:
                if not job.future.done():
                    job.future.set_exception(exc)
                self.queue.task_done()
            return
        k = 0
        for job in batch:
            mine = results[k : k + len(job.sentences)]
            k += len(job.sentences)
            for r in mine:  # each request gets exactly what it asked for
                if not (job.probs or job.top_k):
                    r.probs = None
                if job.top_k:
                    r.top_k = [row[: job.top_k] for row in r.top_k or []]
                else:
                    r.top_k = None
            if not job.future.done():
                job.future.set_result(mine)
            self.queue.task_done()


class TagRequest(BaseModel):
    """Exactly one of ``text`` (raw text), ``texts`` (several raw texts) or ``sentences``
    (pre-tokenized)."""

    text: str | None = Field(None, description="Raw English text: tokenized and split.")
    texts: list[str] | None = Field(None, description="Several raw texts, tagged together.")
    sentences: list[list[str]] | None = Field(None, description="Pre-tokenized sentences.")
    top_k: int = Field(0, ge=0, description="Also return the k most probable tags per word.")
    probs: bool = Field(False, description="Also return each chosen tag's probability.")

    @model_validator(mode="after")
    def one_input(self) -> TagRequest:
        given = [n for n in ("text", "texts", "sentences") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of text, texts, sentences (got {given or 'none'})")
        return self


class TaggedOut(BaseModel):
    words: list[str]
    tags: list[str]
    probs: list[float] | None = None
    top_k: list[list[tuple[str, float]]] | None = None
    text: int | None = Field(None, description="Index of the input text (texts input).")


class TagResponse(BaseModel):
    sentences: list[TaggedOut]
    model: str
    tokens: int


def create_app(tagger: Tagger, cfg: ServeConfig | None = None) -> FastAPI:
    cfg = cfg or ServeConfig()
    batcher = MicroBatcher(tagger, cfg)
    man = tagger.manifest.data

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        batcher.start()
        yield
        await batcher.stop()  # graceful: queued requests are answered first

    app = FastAPI(
        title="postag",
        version=__version__,
        lifespan=lifespan,
        description="Part-of-speech tagging with a verified postag bundle.",
    )
    app.state.batcher = batcher

    @app.middleware("http")
    async def limit_body(request: Request, call_next):  # noqa: ANN001, ANN202
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > cfg.max_body_bytes:
            return error_response(
                413, "body_too_large", f"request body over {cfg.max_body_bytes} bytes"
            )
        return await call_next(request)

    @app.exception_handler(HTTPError)
    async def http_error(_: Request, exc: HTTPError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(400, "invalid_json", "the body is not valid JSON")
        msg = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in errors[:5]
        )
        return error_response(422, "invalid_request", msg)

    @app.post(
        "/v1/tag",
        response_model=TagResponse,
        response_model_exclude_none=True,
        responses={400: {}, 413: {}, 422: {}, 503: {}},
    )
    async def tag(req: TagRequest) -> dict[str, Any]:
        """Tag raw text or pre-tokenized sentences; results come back in input order."""
        if req.top_k > cfg.max_top_k:
            raise HTTPError(422, "invalid_request", f"top_k must be ≤ {cfg.max_top_k}")
        origin: list[int | None]
        if req.sentences is not None:
            sents, origin = req.sentences, [None] * len(req.sentences)
        else:
            texts = req.texts if req.texts is not None else [req.text or ""]
            if sum(len(t) for t in texts) > cfg.max_body_bytes:
                raise HTTPError(413, "too_large", "text too long")
            split = [split_text(t) for t in texts]
            sents = [s for doc in split for s in doc]
            origin = [
                i if req.texts is not None else None for i, doc in enumerate(split) for _ in doc
            ]
        if len(sents) > cfg.max_sentences:
            raise HTTPError(
                413,
                "too_many_sentences",
                f"{len(sents)} sentences; the limit is {cfg.max_sentences}",
            )
        n_tokens = sum(len(s) for s in sents)
        if n_tokens > cfg.max_tokens:
            raise HTTPError(
                413, "too_many_tokens", f"{n_tokens} tokens; the limit is {cfg.max_tokens}"
            )
        for i, s in enumerate(sents):
            if not s:
                raise HTTPError(422, "invalid_request", f"sentences[{i}] is empty")
            for j, w in enumerate(s):
                if not w or len(w) > cfg.max_token_chars or w != w.strip():
                    raise HTTPError(
                        422,
                        "invalid_token",
                        f"sentences[{i}][{j}]: tokens must be non-empty, without "
                        f"surrounding spaces, ≤ {cfg.max_token_chars} characters",
                    )
        results = await batcher.submit(sents, req.top_k, req.probs) if sents else []
        out = []
        for r, o in zip(results, origin, strict=True):
            d = {"words": r.words, "tags": r.tags, "probs": r.probs, "top_k": r.top_k}
            if o is not None:
                d["text"] = o
            out.append(d)
        return {"sentences": out, "model": f"{man['name']} {man['version']}", "tokens": n_tokens}

    @app.get("/v1/health")
    async def health() -> dict[str, Any]:
        """Liveness, and whether the model is loaded."""
        return {"status": "ok", "model_loaded": True, "queue": batcher.queue.qsize()}

    @app.get("/v1/info")
    async def info() -> dict[str, Any]:
        """Manifest summary, provider and micro-batching settings."""
        return {
            "name": man["name"],
            "version": man["version"],
            "created": man.get("created"),
            "tags": man["tags"],
            "producers": man.get("producers"),
            "metrics": man.get("metrics"),
            "evaluation": man.get("evaluation"),
            "provider": tagger.provider,
            "serve": asdict(cfg),
            "stats": asdict(batcher.stats),
        }

    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (used with several worker processes)."""
    conf = json.loads(os.environ["POSTAG_SERVE"])
    tagger = Tagger.load(
        conf["bundle"], provider=conf.get("provider", "auto"), threads=conf.get("threads", 0)
    )
    return create_app(tagger, ServeConfig(**conf.get("serve", {})))
