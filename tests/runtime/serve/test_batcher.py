"""postag.serve.batcher: micro-batching, a full queue, graceful shutdown."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

fastapi = pytest.importorskip("fastapi", reason="needs the serve extra (pip install '.[serve]')")
import httpx  # noqa: E402

from postag.serve.app import create_app  # noqa: E402

from .conftest import SENTS  # noqa: E402


def test_concurrent_requests_are_micro_batched_with_identical_results(tagger, client_for):
    """Requests batched together get every head's labels, and of the probabilities and
    top-k the batch computed exactly what each asked for, per head."""
    with client_for(max_wait_ms=50) as c, ThreadPoolExecutor(24) as pool:
        bodies = [
            {"sentences": [SENTS[i % len(SENTS)]], "probs": i % 2 == 0, "top_k": (0, 1, 3)[i % 3]}
            for i in range(48)
        ]
        responses = list(pool.map(lambda b: c.post("/v1/tag", json=b), bodies))
        stats = c.get("/v1/info").json()["stats"]
    assert all(r.status_code == 200 for r in responses)
    assert tagger.heads == ["upos", "xpos", "feats"]
    for b, r in zip(bodies, responses, strict=True):
        direct = tagger.tag(b["sentences"][0], top_k=3, probs=True)
        out = r.json()["sentences"][0]
        k = b["top_k"]
        for head in tagger.heads:
            prefix = "" if head == "upos" else f"{head}_"
            assert out["tags" if head == "upos" else head] == direct.labels(head)
            if b["probs"] or k:
                assert out[f"{prefix}probs"] == pytest.approx(direct.head_probs(head), abs=1e-5)
            else:
                assert f"{prefix}probs" not in out
            if k:
                want = [row[:k] for row in direct.head_top_k(head)]
                assert [[t for t, _ in row] for row in out[f"{prefix}top_k"]] == [
                    [t for t, _ in row] for row in want
                ]
            else:
                assert f"{prefix}top_k" not in out
    assert stats["requests"] == 48 and stats["max_requests_per_batch"] > 1
    assert stats["batches"] < 48


def slow(tagger, seconds: float):
    original = tagger.tag_batch

    def tag_batch(*a, **k):
        time.sleep(seconds)
        return original(*a, **k)

    return tag_batch


def test_full_queue_answers_503_with_retry_after(tagger, client_for, monkeypatch):
    monkeypatch.setattr(tagger, "tag_batch", slow(tagger, 0.4))
    with client_for(queue_size=1, max_wait_ms=0) as c, ThreadPoolExecutor(6) as pool:
        responses = list(
            pool.map(lambda _: c.post("/v1/tag", json={"sentences": [["Hi"]]}), range(6))
        )
    codes = sorted(r.status_code for r in responses)
    assert 503 in codes and 200 in codes and set(codes) <= {200, 503}
    busy = next(r for r in responses if r.status_code == 503)
    assert busy.headers["retry-after"] == "1"
    assert busy.json()["error"]["code"] == "overloaded"


def test_graceful_shutdown_finishes_in_flight_requests(tagger, live_server, monkeypatch):
    monkeypatch.setattr(tagger, "tag_batch", slow(tagger, 0.8))
    result = {}
    with live_server(create_app(tagger)) as (server, port):

        def call() -> None:
            result["r"] = httpx.post(
                f"http://127.0.0.1:{port}/v1/tag", json={"sentences": [["Hi", "there"]]}, timeout=10
            )

        caller = threading.Thread(target=call)
        caller.start()
        time.sleep(0.3)  # the request is now inside the (slow) session run
        server.should_exit = True
        caller.join(10)
    assert result["r"].status_code == 200
    assert len(result["r"].json()["sentences"][0]["tags"]) == 2
