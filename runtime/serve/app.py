"""The FastAPI app of `postag serve`: endpoints, request limits and the error shape.

    postag serve artifacts/postag-en-ewt --port 8000
    curl -s localhost:8000/v1/tag -H 'content-type: application/json' \\
         -d '{"text": "I don't know. Do you?"}'

Requests are checked against :class:`~postag.serve.config.ServeConfig`'s limits, then
tagged through the :class:`~postag.serve.batcher.MicroBatcher`.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator

from .. import __version__
from ..batching import flatten, split_documents
from ..tagger import Tagger
from .batcher import MicroBatcher
from .config import ServeConfig
from .errors import HTTPError, error_response


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
            split = split_documents(texts)
            sents = flatten(split)
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
