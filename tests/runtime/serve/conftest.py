"""Fixtures of the server tests: the toy tagger, in-process clients, a live loopback server."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from postag import Tagger

SENTS = [
    ["Alice", "saw", "Paris", "."],
    ["the", "dog", "runs"],
    ["Bob", "likes", "it", "!"],
    ["She", "runs", "quickly", "."] * 5,
    ["Hi"],
]


@pytest.fixture(scope="module")
def tagger(toy_bundle: tuple) -> Tagger:
    return Tagger.load(toy_bundle[0], provider="cpu", threads=1)


@pytest.fixture(scope="module")
def upos_tagger(upos_bundle: tuple) -> Tagger:
    """A UPOS-only model (older bundles, the ``seed`` preset)."""
    return Tagger.load(upos_bundle[0], provider="cpu", threads=1)


@pytest.fixture
def client_for(tagger: Tagger) -> Callable[..., Any]:
    """``client_for(max_tokens=20, …)``: a TestClient of the app with those settings."""
    from fastapi.testclient import TestClient

    from postag.serve.app import create_app
    from postag.serve.config import ServeConfig

    return lambda **cfg: TestClient(create_app(tagger, ServeConfig(**cfg)))


@contextlib.contextmanager
def _live(app: Any) -> Iterator[tuple[Any, int]]:
    import uvicorn

    from postag.serve.loadtest import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield server, port
    finally:
        server.should_exit = True
        thread.join(30)
    assert not thread.is_alive(), "the server did not stop"


@pytest.fixture
def live_server() -> Callable[[Any], contextlib.AbstractContextManager[tuple[Any, int]]]:
    """``with live_server(app) as (server, port)``: ``app`` served by uvicorn on a free
    loopback port, in a thread; stopped (gracefully) on exit."""
    return _live
