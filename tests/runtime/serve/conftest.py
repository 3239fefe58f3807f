"""Fixtures of the server tests: the toy tagger, in-process clients, a live loopback server
(in a thread), a real `postag serve` process (its log in a file)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
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


@contextlib.contextmanager
def serve_process(
    log: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen]]:
    """`postag serve ARGS` on a free loopback port (the shipped model unless ``args`` name
    another), its log (stderr) written to ``log``, ``env`` added to an environment without
    ``POSTAG_BUNDLE`` or a multiprocess directory from outside: yields (its base URL, the
    process) once ``/v1/health`` answers; stopped with SIGTERM (graceful shutdown) on exit."""
    import httpx

    from postag.serve.loadtest import free_port

    port = free_port()
    cmd = [sys.executable, "-m", "postag", "--threads", "1", "serve", *args]
    cmd += ["--host", "127.0.0.1", "--port", str(port)]
    with open(log, "w") as err:
        server = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=err, env=_clean_env() | (env or {})
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/v1/health", timeout=2).status_code == 200:
                    break
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"postag serve did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield base, server
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def postag_serve(tmp_path: Path) -> Callable[..., Any]:
    """``with postag_serve(*args, env=…) as (base, process)``: a real `postag serve`
    (:func:`serve_process`), its log in ``tmp_path / "serve.log"``."""
    return lambda *args, env=None: serve_process(tmp_path / "serve.log", *args, env=env)


def _clean_env() -> dict[str, str]:
    drop = ("POSTAG_BUNDLE", "PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir")
    return {k: v for k, v in os.environ.items() if k not in drop}
