"""The FastAPI app of `postag serve`: endpoints, request limits and the error shape.

    postag serve artifacts/postag-en-ewt --port 8000
    curl -s localhost:8000/v1/tag -H 'content-type: application/json' \\
         -d '{"text": "I don't know. Do you?"}'
    curl -s localhost:8000/metrics         # Prometheus text format (postag.serve.metrics)
    open http://127.0.0.1:8000/            # a page to look at tags (postag.serve.page)

A ``POST /v1/tag`` goes through named steps (:meth:`TagService.tag`): read the body
(:class:`~postag.serve.request.BodyLimit` counts its bytes), parse and validate it, split
raw text into sentences (:class:`~postag.serve.texts.TextPool`: worker processes), check
the limits, tag through the :class:`~postag.serve.batcher.MicroBatcher`, render the JSON
answer. No CPU-bound step runs on the event loop (they run in threads; tokenizing, the one
whose cost depends on what the text holds, in other processes), so ``/v1/health``
answers promptly whatever the other requests carry (``/metrics`` renders its text in a
thread too). A body that is not ``application/json`` is a 415 before it is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from .. import __version__
from ..batching import regroup
from ..tagger import TaggedSentence, Tagger, TopK
from .batcher import MicroBatcher
from .config import ServeConfig
from .errors import install_error_handlers
from .metrics import RequestMetrics, ServeMetrics
from .page import HEADERS, PAGE
from .request import (
    BodyLimit,
    Documents,
    TagRequest,
    check_content_type,
    check_counts,
    check_sentences,
    parse_request,
)
from .texts import TextPool


class TaggedOut(BaseModel):
    """One tagged sentence. ``tags`` (UPOS) always; ``xpos`` and ``feats`` when the
    model has those heads (``GET /v1/info`` lists them); per head, the probabilities
    and the k best when asked (``probs``, ``top_k``)."""

    model_config = ConfigDict(extra="forbid")

    words: list[str]
    start: list[int] | None = Field(
        None,
        description="Raw text input: each word's offset in its text, in Unicode code points "
        "(Python str indices; not bytes, not UTF-16 units): text[start:end] is the word.",
    )
    end: list[int] | None = Field(
        None, description="Raw text input: the offset just past each word (code points)."
    )
    tags: list[str] = Field(description="UPOS tag of each word.")
    xpos: list[str] | None = Field(
        None, description="XPOS tag of each word (joint models; Penn Treebank for English)."
    )
    feats: list[str] | None = Field(
        None, description="Morphological features of each word, UD FEATS ('_': none)."
    )
    probs: list[float] | None = Field(
        None, description="Probability of each word's UPOS tag (probs or top_k asked)."
    )
    top_k: TopK | None = Field(None, description="Each word's k most probable UPOS tags.")
    xpos_probs: list[float] | None = Field(
        None, description="Probability of each word's XPOS tag (probs or top_k asked)."
    )
    xpos_top_k: TopK | None = Field(None, description="Each word's k most probable XPOS tags.")
    feats_probs: list[float] | None = Field(
        None, description="Probability of each word's FEATS (probs or top_k asked)."
    )
    feats_top_k: TopK | None = Field(None, description="Each word's k most probable FEATS.")
    text: int | None = Field(None, description="Index of the input text (texts input).")


class TagResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sentences: list[TaggedOut]
    model: str
    tokens: int


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorDetail


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
#: Sentences of up to this many values (a word's label or probability is one value, its
#: top-k row k values) are encoded by the C encoder, in one call of well under a
#: millisecond; bigger ones by the pure-Python encoder, in small steps that let the
#: event loop's thread take the GIL in between (one C call for a 20,000-token sentence
#: with top_k 20 would hold it for ~150 ms per head). The bound is 256 words with one
#: head's probabilities and top_k 20: a joint model's answer with top_k 20 for every head
#: goes the small-step way from ~90 words on.
C_ENCODE_MAX_VALUES = 256 * 23


def _values(d: dict[str, Any]) -> int:
    """How many values a rendered sentence holds (what its encoding costs)."""
    per_word = sum(
        len(v[0]) if key.endswith("top_k") and v else 1
        for key, v in d.items()
        if isinstance(v, list)
    )
    return len(d["words"]) * per_word


def _encode_sentence(d: dict[str, Any]) -> str:
    if _values(d) <= C_ENCODE_MAX_VALUES:
        return _ENCODER.encode(d)
    return "".join(_ENCODER.iterencode(d))


def render(results: list[TaggedSentence], docs: Documents, model: str, n_tokens: int) -> bytes:
    """The answer's JSON: sentences in input order (with their text's index for
    ``texts`` and their words' offsets for raw text), the model and the token count."""
    pieces = []
    if docs.offsets is not None:
        for res, (starts, ends, multiword) in zip(results, docs.offsets, strict=True):
            res.start, res.end, res.multiword = starts, ends, list(multiword) or None
    for i, mine in enumerate(regroup(results, docs.docs)):
        for r in mine:
            d = r.to_dict()
            if docs.numbered:
                d["text"] = i
            pieces.append(_encode_sentence(d))
    sentences = ",".join(pieces)
    model_json = _ENCODER.encode(model)
    return f'{{"sentences":[{sentences}],"model":{model_json},"tokens":{n_tokens}}}'.encode()


class TagService:
    """The endpoints' state and steps: the batcher, the text pool, the limits."""

    def __init__(self, tagger: Tagger, cfg: ServeConfig) -> None:
        self.tagger, self.cfg = tagger, cfg
        self.manifest = tagger.manifest.data
        self.model = f"{self.manifest['name']} {self.manifest['version']}"
        self.metrics = ServeMetrics(
            {
                "name": self.manifest["name"],
                "version": self.manifest["version"],
                "identity": tagger.manifest.identity,
                "provider": tagger.provider,
            }
        )
        self.batcher = MicroBatcher(tagger, cfg, self.metrics)
        plain = tagger.splitter.kind == "rules" and tagger.splitter.lexicon is None
        bundle = None if plain else str(tagger.manifest.root)
        self.texts = TextPool(cfg.text_workers, max_waiting=cfg.queue_size, bundle=bundle)

    @contextlib.asynccontextmanager
    async def lifespan(self, _: FastAPI) -> AsyncIterator[None]:
        self.batcher.start()
        yield
        await self.batcher.stop()  # graceful: queued requests are answered first
        self.texts.stop()
        self.metrics.close()

    async def tag(self, request: Request) -> Response:
        """Tag raw text or pre-tokenized sentences; results come back in input order."""
        check_content_type(request.headers.get("content-type"))
        body = await request.body()
        req = await asyncio.to_thread(parse_request, body, self.cfg)
        docs = await self.documents(req)
        sents, n_tokens = await asyncio.to_thread(check_sentences, docs, self.cfg)
        results = await self.batcher.submit(sents, req.top_k, req.probs) if sents else []
        content = await asyncio.to_thread(render, results, docs, self.model, n_tokens)
        self.metrics.tokens.observe(n_tokens)
        return Response(content, media_type="application/json")

    async def documents(self, req: TagRequest) -> Documents:
        """The request's sentences per document: raw texts are split in the text pool's
        worker processes (413 there already when over the limits)."""
        if req.sentences is not None:
            return Documents([req.sentences], numbered=False)
        texts = req.texts if req.texts is not None else [req.text or ""]
        split = await self.texts.split(texts, self.cfg.max_sentences, self.cfg.max_tokens)
        if split.docs is None:
            check_counts(split.sentences, split.tokens, self.cfg)
        return Documents(split.docs or [], req.texts is not None, split.offsets or [])

    async def health(self) -> dict[str, Any]:
        """Liveness, and whether the model is loaded."""
        return {"status": "ok", "model_loaded": True, "queue": self.batcher.queue.qsize()}

    async def info(self) -> dict[str, Any]:
        """Manifest summary, provider and micro-batching settings."""
        man = self.manifest
        return {
            "name": man["name"],
            "version": man["version"],
            "created": man.get("created"),
            "tags": man["tags"],
            "heads": {head: len(labels) for head, labels in self.tagger.labels.items()},
            "producers": man.get("producers"),
            "metrics": man.get("metrics"),
            "evaluation": man.get("evaluation"),
            "provider": self.tagger.provider,
            "serve": asdict(self.cfg),
            "stats": asdict(self.batcher.stats),
        }

    async def scrape(self, request: Request) -> Response:
        """The metrics, in the Prometheus text format (OpenMetrics when the ``Accept``
        header asks for it)."""
        body, content_type = await asyncio.to_thread(
            self.metrics.exposition, request.headers.get("accept")
        )
        return Response(body, headers={"Content-Type": content_type})

    async def page(self) -> Response:
        """A page to look at tags: type a text, see each word's tags (HTML)."""
        return HTMLResponse(PAGE, headers=HEADERS)


#: The request body as OpenAPI documents it (the endpoint reads and validates the body
#: itself, off the event loop).
_TAG_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": TagRequest.model_json_schema()}},
    }
}


def create_app(tagger: Tagger, cfg: ServeConfig | None = None) -> FastAPI:
    """The app: the body limit, the error shape everywhere, the metrics of every request,
    the tagging API and its page."""
    service = TagService(tagger, cfg or ServeConfig())
    app = FastAPI(
        title="postag",
        version=__version__,
        lifespan=service.lifespan,
        description="Part-of-speech tagging with a verified postag bundle.",
    )
    app.state.service = service
    metrics = service.metrics
    app.add_middleware(BodyLimit, max_bytes=service.cfg.max_body_bytes, rejected=metrics.reject)
    app.add_middleware(RequestMetrics, metrics=metrics)  # the outermost: sees every answer
    install_error_handlers(app, metrics.reject)
    errors: dict[int | str, dict[str, Any]] = {
        s: {"model": ErrorResponse} for s in (400, 413, 415, 422, 503)
    }
    app.add_api_route(
        "/v1/tag",
        service.tag,
        methods=["POST"],
        response_model=TagResponse,
        responses=errors,
        openapi_extra=_TAG_BODY,
    )
    app.add_api_route("/v1/health", service.health, methods=["GET"])
    app.add_api_route("/v1/info", service.info, methods=["GET"])
    app.add_api_route(
        "/metrics",
        service.scrape,
        methods=["GET"],
        response_class=PlainTextResponse,
        summary="Metrics (Prometheus text format)",
    )
    app.add_api_route(
        "/", service.page, methods=["GET"], response_class=HTMLResponse, summary="Tagging page"
    )
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (used with several worker processes)."""
    conf = json.loads(os.environ["POSTAG_SERVE"])
    tagger = Tagger.load(
        conf["bundle"], provider=conf.get("provider", "auto"), threads=conf.get("threads", 0)
    )
    app = create_app(tagger, ServeConfig(**conf.get("serve", {})))
    # What is loaded now lives as long as the process: keep it out of the collector's
    # full passes, which otherwise stop every thread (and the event loop) for ~50 ms
    # each time a big request's many small objects trigger one.
    gc.collect()
    gc.freeze()
    return app
