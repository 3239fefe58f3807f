"""postag.serve on a real loopback server: the body limit on streamed bytes, the event
loop free while a text is split, a text worker that dies."""

from __future__ import annotations

import json
import multiprocessing
import select
import socket
import threading
import time

import pytest

from postag.serve import texts
from postag.serve.texts import Split, split_counted

fastapi = pytest.importorskip("fastapi", reason="needs the serve extra (pip install '.[serve]')")
import httpx  # noqa: E402

from postag.serve.app import create_app  # noqa: E402
from postag.serve.config import ServeConfig  # noqa: E402

SLOW_SPLIT_S = 2.0


def slow_split(texts: list[str], max_sentences: int, max_tokens: int) -> Split:
    """Runs in the text worker (which imports it from here): CPU-bound for a while, so
    the test does not depend on how fast the tokenizer is."""
    end = time.perf_counter() + SLOW_SPLIT_S
    n = 0
    while time.perf_counter() < end:
        n += 1
    return split_counted(texts, max_sentences, max_tokens)


def chunked_upload(port: int, total: int, chunk: int = 1 << 16) -> tuple[int, bytes]:
    """POST ``total`` bytes to /v1/tag with ``Transfer-Encoding: chunked`` (no
    Content-Length), stopping as soon as the server answers. Returns the bytes sent and
    the raw answer."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(10)
    head = b"POST /v1/tag HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
    sock.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n")
    piece = b"%x\r\n" % chunk + b" " * chunk + b"\r\n"
    sent = 0
    try:
        while sent < total and not select.select([sock], [], [], 0)[0]:
            sock.sendall(piece)
            sent += chunk
    except OSError:  # the server answered and closed while we were sending
        pass
    answer = b""
    try:
        while data := sock.recv(1 << 16):
            answer += data
            if b"\r\n\r\n" in answer and answer.rstrip().endswith(b"}"):
                break
    except OSError:
        pass
    sock.close()
    return sent, answer


def test_chunked_body_over_the_limit_is_refused_as_it_arrives(tagger, live_server):
    app = create_app(tagger, ServeConfig(max_body_bytes=100_000))
    with live_server(app) as (_, port):
        sent, answer = chunked_upload(port, total=200_000_000)
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/v1/health").status_code == 200
        ok = httpx.post(f"{base}/v1/tag", json={"sentences": [["Hi", "there"]]})
        assert ok.status_code == 200
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 413"), answer[:200]
    body = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert body["error"]["code"] == "body_too_large"
    assert sent < 20_000_000  # answered after ~100 kB, not after reading 200 MB


def test_health_answers_while_a_slow_text_is_split(tagger, live_server, monkeypatch):
    monkeypatch.setattr(texts, "split_counted", slow_split)
    with live_server(create_app(tagger)) as (_, port):
        base = f"http://127.0.0.1:{port}"
        done: dict[str, float | httpx.Response] = {}

        def tag_text() -> None:
            done["r"] = httpx.post(f"{base}/v1/tag", json={"text": "Alice saw Paris."}, timeout=60)
            done["at"] = time.perf_counter()

        caller = threading.Thread(target=tag_text)
        caller.start()
        time.sleep(0.5)  # the text is now in the worker (spawning it, then splitting)
        health = [httpx.get(f"{base}/v1/health", timeout=60) for _ in range(5)]
        health_at = time.perf_counter()
        caller.join(60)
    assert all(h.status_code == 200 for h in health)
    assert health_at < done["at"]  # answered while the text was still being split
    assert done["r"].status_code == 200
    assert done["r"].json()["sentences"][0]["words"] == ["Alice", "saw", "Paris", "."]


def test_a_dead_text_worker_is_a_503_then_replaced(tagger, live_server):
    with live_server(create_app(tagger)) as (_, port):
        base = f"http://127.0.0.1:{port}"
        body = {"text": "Alice saw Paris."}
        assert httpx.post(f"{base}/v1/tag", json=body).status_code == 200
        workers = multiprocessing.active_children()
        assert workers  # the text pool's worker
        for w in workers:
            w.kill()
            w.join(10)
        r = httpx.post(f"{base}/v1/tag", json=body)
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        assert r.json()["error"]["code"] == "overloaded"
        r = httpx.post(f"{base}/v1/tag", json=body)
        assert r.status_code == 200 and r.json()["sentences"][0]["tags"]
