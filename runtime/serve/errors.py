"""The service's error shape: every error answers ``{"error": {"code", "message"}}``.

    raise HTTPError(413, "too_many_tokens", "30000 tokens; the limit is 20000")
    install_error_handlers(app)   # 404, 405, validation errors, anything unexpected: same shape

Nothing a client sends reaches the catch-all 500 (the tests post hostile and random
bodies to prove it); it is there so that a bug still answers in the documented shape,
while Starlette re-raises the exception for the server log.
"""

from __future__ import annotations

from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from ..errors import PostagError


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


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPError)
    return error_response(exc.status, exc.code, exc.message, exc.headers)


async def _starlette_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, _code(exc.status_code), str(exc.detail), exc.headers)


async def _invalid(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return await _http_error(_, validation_error(exc))


async def _internal(_: Request, exc: Exception) -> JSONResponse:
    return error_response(500, "internal_error", "internal server error (see the server log)")


def install_error_handlers(app: FastAPI) -> None:
    """Every error the app can answer (ours, routing's 404/405, FastAPI's validation,
    anything unexpected) in the one documented shape."""
    app.add_exception_handler(HTTPError, _http_error)
    app.add_exception_handler(HTTPException, _starlette_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(Exception, _internal)
