"""The service's error shape: every error answers ``{"error": {"code", "message"}}``.

    raise HTTPError(413, "too_many_tokens", "30000 tokens; the limit is 20000")
    install_error_handlers(app, rejected)  # 404, 405, validation, anything unexpected: same shape

``rejected(status, code)`` hears of every refusal (the metrics count them). Nothing a
client sends reaches the catch-all 500 (the tests post hostile and random bodies to prove
it); it is there so that a bug still answers in the documented shape, while Starlette
re-raises the exception for the server log.

A client that leaves before its request body has all arrived (a slow sender that gives
up, a ``Content-Length`` larger than what it sends) is one warning line in the server log
(uvicorn's error logger, no traceback) and a refusal with code ``disconnect`` and status
499 (nginx's "client closed request"; nobody is left to read it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from ..errors import PostagError

#: The server's log: uvicorn's error logger (its format, its ``--log-level``).
log = logging.getLogger("uvicorn.error")

#: Told of every refused request: (HTTP status, error code).
Rejected = Callable[[int, str], None]

#: The status of an answer to a client that has left (nginx's "client closed request").
CLIENT_CLOSED = 499


class HTTPError(PostagError):
    """An error answer: HTTP status, a stable machine-readable code and a message."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    # a message may quote client input (a field name); lone surrogates can't be UTF-8
    safe = message.encode("utf-8", "backslashreplace").decode("utf-8")
    return JSONResponse(
        {"error": {"code": code, "message": safe}}, status_code=status, headers=headers
    )


def validation_error(exc: ValidationError | RequestValidationError) -> HTTPError:
    """Pydantic's errors → 400 ``invalid_json`` (unparseable body: bad syntax, invalid
    UTF-8, lone surrogates, nesting too deep) or 422 ``invalid_request``."""
    errors = exc.errors()
    bad_json = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if bad_json is not None:
        return HTTPError(400, "invalid_json", f"the body is not valid JSON: {bad_json['msg']}")
    msg = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ())) or 'body'}: {e.get('msg')}"
        for e in errors[:5]
    )
    return HTTPError(422, "invalid_request", msg)


def _code(status: int) -> str:
    """404 → ``not_found``, 405 → ``method_not_allowed`` …"""
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "http_error"


def _ignore(status: int, code: str) -> None:
    pass


def install_error_handlers(app: FastAPI, rejected: Rejected = _ignore) -> None:
    """Every error the app can answer (ours, routing's 404/405, FastAPI's validation, a
    client gone mid-body, anything unexpected) in the one documented shape; each refusal
    (not the 500) is told to ``rejected``."""

    def refuse(
        status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> JSONResponse:
        rejected(status, code)
        return error_response(status, code, message, headers)

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPError)
        return refuse(exc.status, exc.code, exc.message, exc.headers)

    async def starlette_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        code = _code(exc.status_code)
        return refuse(exc.status_code, code, str(exc.detail), exc.headers)

    async def invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return await http_error(_, validation_error(exc))

    async def disconnected(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ClientDisconnect)
        client = f"{request.client.host}:{request.client.port}" if request.client else "?"
        log.warning(
            "%s %s: the client (%s) left before its request body had arrived",
            request.method,
            request.url.path,
            client,
        )
        rejected(CLIENT_CLOSED, "disconnect")
        return Response(status_code=CLIENT_CLOSED)

    app.add_exception_handler(HTTPError, http_error)
    app.add_exception_handler(HTTPException, starlette_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(ClientDisconnect, disconnected)
    app.add_exception_handler(Exception, _internal)


async def _internal(_: Request, exc: Exception) -> JSONResponse:
    return error_response(500, "internal_error", "internal server error (see the server log)")
