"""postag.serve.batcher: micro-batching, a full queue, graceful shutdown."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

fastapi = pytest.importorskip("fastapi", reason="needs the serve extra (pip install '.[serve]')")
from fastapi.testclient import TestClient  # noqa: E402

from postag import Tagger  # noqa: E402
from postag.serve.app import create_app  # noqa: E402
from postag.serve.config import ServeConfig  # noqa: E402

SENTS = [
    ["Alice", "saw", "Paris", "."],
    ["the", "dog", "runs"],
    ["Bob", "likes", "it", "!"],
    ["She", "runs", "quickly", "."] * 5,
    ["Hi"],
]


@pytest.fixture(scope="module")
def tagger(toy_bundle):
    return Tagger.load(toy_bundle[0], provider="cpu", threads=1)


def client_for(tagger, **cfg) -> TestClient:
    return TestClient(create_app(tagger, ServeConfig(**cfg)))


def test_concurrent_requests_are_micro_batched_with_identical_results(tagger):
    with client_for(tagger, max_wait_ms=50) as c, ThreadPoolExecutor(24) as pool:
        bodies = [{"sentences": [SENTS[i % len(SENTS)]], "probs": i % 2 == 0} for i in range(48)]
        responses = list(pool.map(lambda b: c.post("/v1/tag", json=b), bodies))
        stats = c.get("/v1/info").json()["stats"]
    assert all(r.status_code == 200 for r in responses)
    for b, r in zip(bodies, responses, strict=True):
        direct = tagger.tag(b["sentences"][0], probs=True)
        out = r.json()["sentences"][0]
        assert out["tags"] == direct.tags
        if b["probs"]:
            assert out["probs"] == pytest.approx(direct.probs, abs=1e-5)
        else:
            assert "probs" not in out
    assert stats["requests"] == 48 and stats["max_requests_per_batch"] > 1
    assert stats["batches"] < 48


def slow(tagger, seconds: float):
    original = tagger.tag_batch

    def tag_batch(*a, **k):
        time.sleep(seconds)
        return original(*a, **k)

    return tag_batch


def test_full_queue_answers_503_with_retry_after(tagger, monkeypatch):
    monkeypatch.setattr(tagger, "tag_batch", slow(tagger, 0.4))
    with client_for(tagger, queue_size=1, max_wait_ms=0) as c, ThreadPoolExecutor(6) as pool:
        responses = list(
            pool.map(lambda _: c.post("/v1/tag", json={"sentences": [["Hi"]]}), range(6))
        )
    codes = sorted(r.status_code for r in responses)
    assert 503 in codes and 200 in codes and set(codes) <= {200, 503}
    busy = next(r for r in responses if r.status_code == 503)
    assert busy.headers["retry-after"] == "1"
    assert busy.json()["error"]["code"] == "overloaded"


def test_graceful_shutdown_finishes_in_flight_requests(tagger, monkeypatch):
    import httpx
    import uvicorn

    from postag.serve.loadtest import free_port

    monkeypatch.setattr(tagger, "tag_batch", slow(tagger, 0.8))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(tagger), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    result = {}

    def call() -> None:
        result["r"] = httpx.post(
            f"http://127.0.0.1:{port}/v1/tag", json={"sentences": [["Hi", "there"]]}, timeout=10
        )

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.3)  # the request is now inside the (slow) session run
    server.should_exit = True
    caller.join(10)
    thread.join(10)
    assert result["r"].status_code == 200
    assert len(result["r"].json()["sentences"][0]["tags"]) == 2
    assert not thread.is_alive()
