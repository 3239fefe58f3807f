"""What a `POST /v1/tag` request may be: the body limit, the request model, the limits.

    app.add_middleware(BodyLimit, max_bytes=cfg.max_body_bytes)   # bytes actually received
    check_content_type(request.headers.get("content-type"))      # JSON only, or 415
    req = parse_request(body, cfg)                # JSON → TagRequest, or 400/422
    sents, n_tokens = check_sentences(docs, cfg)  # counts (413), then every token (422)

The checks are plain CPU work with no event loop: the app runs them in threads (and splits
raw text in worker processes, :mod:`.texts`), so a big or hostile body never stalls
``/v1/health``. Each step's work is bounded: the body by ``max_body_bytes`` (counted as it
arrives, chunked or not), sentences and tokens by ``max_sentences``/``max_tokens`` before
anything is tagged.

The body must say it is JSON (``Content-Type: application/json``, with ``charset=utf-8`` or
no charset): any other type, or none, is a 415 before the body is read. The request
model is strict, with the Python API's rules: ``top_k`` is an integer and not a boolean
(``true`` is no count: :meth:`postag.Tagger.tag_batch` raises ``TypeError`` for it, as for
``2.0`` or ``"2"``) and ``probs`` a boolean (not ``1``, not ``"true"``); ``null`` is refused
for both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    model_validator,
)
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..batching import flatten
from .config import ServeConfig
from .errors import HTTPError, Rejected, error_response, validation_error
from .texts import Offsets

#: Whitespace anywhere in a token: "New York" is two tokens.
_SPACE = re.compile(r"\s")


class TagRequest(BaseModel):
    """Exactly one of ``text`` (raw text), ``texts`` (several raw texts) or ``sentences``
    (pre-tokenized). Unknown fields are refused; no value is converted (strict: a
    boolean is no ``top_k``, a number no ``probs``, a number no text)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    text: str | None = Field(None, description="Raw English text: tokenized and split.")
    texts: list[str] | None = Field(None, description="Several raw texts, tagged together.")
    sentences: list[list[str]] | None = Field(None, description="Pre-tokenized sentences.")
    top_k: StrictInt = Field(
        0,
        ge=0,
        description="Also return the k most probable labels per word, for every head (at "
        "most each head's label count), and their probabilities.",
    )
    probs: StrictBool = Field(
        False, description="Also return each chosen label's probability, for every head."
    )

    @model_validator(mode="after")
    def one_input(self) -> TagRequest:
        given = [n for n in ("text", "texts", "sentences") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of text, texts, sentences (got {given or 'none'})")
        return self


@dataclass
class Documents:
    """A request's sentences per input document (one document for ``text`` and
    ``sentences``); ``numbered``: answers say which of ``texts`` they came from;
    ``offsets``: raw text's sentences' word offsets in their text (all documents' in one
    list, in order), ``None`` for pre-tokenized ``sentences``."""

    docs: list[list[list[str]]]
    numbered: bool
    offsets: list[Offsets] | None = None


#: The one media type of a request body, and the one charset it may name.
JSON_TYPE, JSON_CHARSET = "application/json", "utf-8"


def check_content_type(header: str | None) -> None:
    """415 ``unsupported_media_type`` unless ``header`` (the request's ``Content-Type``)
    is ``application/json``, its charset (if it names one) UTF-8. A missing header is
    refused too: a body of unknown type is not guessed to be JSON."""
    if header is None:
        raise HTTPError(
            415,
            "unsupported_media_type",
            f"the request has no Content-Type; send the JSON body as {JSON_TYPE}",
        )
    media_type, *params = header.split(";")
    if media_type.strip().lower() != JSON_TYPE:
        raise HTTPError(
            415,
            "unsupported_media_type",
            f"Content-Type {media_type.strip()[:100]!r} is not supported; send {JSON_TYPE}",
        )
    for param in params:
        key, _, value = param.partition("=")
        charset = value.strip().strip('"').lower()
        if key.strip().lower() == "charset" and charset not in (JSON_CHARSET, "utf8"):
            raise HTTPError(
                415,
                "unsupported_media_type",
                f"charset {charset[:50]!r} is not supported; JSON is sent as UTF-8",
            )


def parse_request(body: bytes, cfg: ServeConfig) -> TagRequest:
    """The JSON body → a :class:`TagRequest`. 400 ``invalid_json`` when it is not JSON
    (bad syntax, invalid UTF-8, lone surrogates, nesting deeper than the parser's limit),
    422 ``invalid_request`` when it is the wrong shape or asks for more than the limits."""
    try:
        req = TagRequest.model_validate_json(body)
    except ValidationError as exc:
        raise validation_error(exc) from None
    if req.top_k > cfg.max_top_k:
        raise HTTPError(422, "invalid_request", f"top_k must be ≤ {cfg.max_top_k}")
    return req


def check_counts(n_sentences: int, n_tokens: int, cfg: ServeConfig) -> None:
    """413 past ``max_sentences`` or ``max_tokens``."""
    if n_sentences > cfg.max_sentences:
        raise HTTPError(
            413, "too_many_sentences", f"{n_sentences} sentences; the limit is {cfg.max_sentences}"
        )
    if n_tokens > cfg.max_tokens:
        raise HTTPError(413, "too_many_tokens", f"{n_tokens} tokens; the limit is {cfg.max_tokens}")


def check_sentences(docs: Documents, cfg: ServeConfig) -> tuple[list[list[str]], int]:
    """The per-request limits, counts first (413), then every token (422). Returns the
    sentences in one list and their number of tokens."""
    sents = flatten(docs.docs)
    n_tokens = sum(len(s) for s in sents)
    check_counts(len(sents), n_tokens, cfg)
    for i, s in enumerate(sents):
        if not s:
            raise HTTPError(422, "invalid_request", f"sentences[{i}] is empty")
        for j, w in enumerate(s):
            if not w or len(w) > cfg.max_token_chars or _SPACE.search(w):
                raise HTTPError(
                    422,
                    "invalid_token",
                    f"sentences[{i}][{j}]: tokens must be non-empty, without whitespace, "
                    f"≤ {cfg.max_token_chars} characters",
                )
    return sents, n_tokens


class _BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Pure ASGI middleware: a request body may be at most ``max_bytes``, counted as the
    bytes arrive (chunked or not, whatever ``Content-Length`` says). Past the limit the
    answer is 413 ``body_too_large`` at once; the rest of the body is never read.
    ``rejected`` hears of each such refusal."""

    def __init__(self, app: ASGIApp, max_bytes: int, rejected: Rejected | None = None) -> None:
        self.app, self.max_bytes, self.rejected = app, max_bytes, rejected

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _BodyTooLarge:
            if started:  # the app answered before reading all of the body: nothing to add
                raise
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.rejected is not None:
            self.rejected(413, "body_too_large")
        response = error_response(
            413, "body_too_large", f"request body over {self.max_bytes} bytes"
        )
        await response(scope, receive, send)
