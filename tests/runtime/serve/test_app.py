"""postag.serve.app: endpoints, inputs, limits and the error shape."""

from __future__ import annotations

import json

import pytest

from postag.batching import MAX_BATCH_TOKENS

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


def test_health_info_and_openapi(tagger):
    with client_for(tagger) as c:
        assert c.get("/v1/health").json()["model_loaded"] is True
        info = c.get("/v1/info").json()
        assert info["name"] == "toy" and info["provider"] == "CPUExecutionProvider"
        assert info["serve"]["max_batch_tokens"] == MAX_BATCH_TOKENS
        schema = c.get("/openapi.json").json()
        assert "/v1/tag" in schema["paths"] and "TagRequest" in schema["components"]["schemas"]


def test_tag_inputs_match_direct_tagging(tagger):
    with client_for(tagger) as c:
        r = c.post("/v1/tag", json={"sentences": SENTS})
        assert r.status_code == 200
        body = r.json()
        assert [s["tags"] for s in body["sentences"]] == [t.tags for t in tagger.tag_batch(SENTS)]
        assert body["tokens"] == sum(map(len, SENTS)) and "probs" not in body["sentences"][0]
        r = c.post("/v1/tag", json={"text": "Alice saw Paris. Bob runs!", "top_k": 2})
        got = r.json()["sentences"]
        want = tagger.tag_text("Alice saw Paris. Bob runs!", top_k=2)
        assert [s["words"] for s in got] == [w.words for w in want]
        assert [s["tags"] for s in got] == [w.tags for w in want]
        assert all(len(row) == 2 for s in got for row in s["top_k"])
        r = c.post("/v1/tag", json={"texts": ["Alice saw Paris.", "", "Hi. Bye."]})
        assert [s["text"] for s in r.json()["sentences"]] == [0, 2, 2]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"sentences": [["a"]] * 11}, 413, "too_many_sentences"),
        ({"sentences": [["a"] * 30]}, 413, "too_many_tokens"),
        ({"sentences": [["x" * 51]]}, 422, "invalid_token"),
        ({"sentences": [["a", ""]]}, 422, "invalid_token"),
        ({"sentences": [[" a"]]}, 422, "invalid_token"),
        ({"sentences": [[]]}, 422, "invalid_request"),
        ({"sentences": "not a list"}, 422, "invalid_request"),
        ({"text": "a", "sentences": [["a"]]}, 422, "invalid_request"),
        ({}, 422, "invalid_request"),
        ({"text": "a", "top_k": 99}, 422, "invalid_request"),
        ({"text": "a", "top_k": -1}, 422, "invalid_request"),
    ],
)
def test_limits_and_bad_requests(tagger, body, status, code):
    with client_for(tagger, max_sentences=10, max_tokens=20, max_token_chars=50) as c:
        r = c.post("/v1/tag", json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code and r.json()["error"]["message"]


def test_malformed_json_and_oversized_body(tagger):
    with client_for(tagger, max_body_bytes=200) as c:
        r = c.post("/v1/tag", content=b"{not json", headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
        r = c.post(
            "/v1/tag",
            content=json.dumps({"text": "a " * 500}).encode(),
            headers={"content-type": "application/json"},
        )
        assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"
