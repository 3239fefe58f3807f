"""postag.serve.app: endpoints, inputs, limits and the error shape."""

from __future__ import annotations

import json

import pytest

from postag.batching import MAX_BATCH_TOKENS

from .conftest import SENTS

fastapi = pytest.importorskip("fastapi", reason="needs the serve extra (pip install '.[serve]')")


def assert_error(r, status: int, code: str) -> None:  # noqa: ANN001
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error"}
    assert r.json()["error"]["code"] == code and r.json()["error"]["message"]


def post_raw(c, body: bytes):  # noqa: ANN001, ANN201
    return c.post("/v1/tag", content=body, headers={"content-type": "application/json"})


def test_health_info_and_openapi(client_for):
    with client_for() as c:
        assert c.get("/v1/health").json()["model_loaded"] is True
        info = c.get("/v1/info").json()
        assert info["name"] == "toy" and info["provider"] == "CPUExecutionProvider"
        assert info["serve"]["max_batch_tokens"] == MAX_BATCH_TOKENS
        schema = c.get("/openapi.json").json()
    tag = schema["paths"]["/v1/tag"]["post"]
    body = tag["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {"text", "texts", "sentences", "top_k", "probs"}
    assert body["additionalProperties"] is False
    assert tag["responses"]["413"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ErrorResponse"
    )


def test_tag_inputs_match_direct_tagging(tagger, client_for):
    with client_for() as c:
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
        assert c.post("/v1/tag", json={"text": ""}).json()["sentences"] == []


def test_short_and_long_sentences_render_alike(tagger, client_for):
    """Short sentences go through the C JSON encoder, long ones (over 256 tokens) through
    the streaming one: both give ``TaggedSentence.to_dict()``."""
    long = ["She", "runs", "quickly", "."] * 100
    with client_for(max_tokens=1000) as c:
        r = c.post("/v1/tag", json={"sentences": [SENTS[0], long], "top_k": 3, "probs": True})
    assert r.status_code == 200
    want = [t.to_dict() for t in tagger.tag_batch([SENTS[0], long], top_k=3, probs=True)]
    assert r.json()["sentences"] == json.loads(json.dumps(want))
    assert r.json()["tokens"] == len(SENTS[0]) + len(long)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"sentences": [["a"]] * 11}, 413, "too_many_sentences"),
        ({"sentences": [["a"] * 30]}, 413, "too_many_tokens"),
        ({"text": "a " * 30}, 413, "too_many_tokens"),  # counted in the text worker
        ({"texts": ["Hi."] * 11}, 413, "too_many_sentences"),
        ({"sentences": [["x" * 51]]}, 422, "invalid_token"),
        ({"sentences": [["a", ""]]}, 422, "invalid_token"),
        ({"sentences": [[" a"]]}, 422, "invalid_token"),
        ({"sentences": [["New York"]]}, 422, "invalid_token"),
        ({"sentences": [["New\tYork", "City"]]}, 422, "invalid_token"),
        ({"sentences": [["New\u00a0York"]]}, 422, "invalid_token"),
        ({"sentences": [[]]}, 422, "invalid_request"),
        ({"sentences": "not a list"}, 422, "invalid_request"),
        ({"text": "a", "sentences": [["a"]]}, 422, "invalid_request"),
        ({}, 422, "invalid_request"),
        ({"text": "a", "top_k": 99}, 422, "invalid_request"),
        ({"text": "a", "top_k": -1}, 422, "invalid_request"),
        ({"text": "a", "topk": 3}, 422, "invalid_request"),
        ([{"text": "a"}], 422, "invalid_request"),
    ],
)
def test_limits_and_bad_requests(client_for, body, status, code):
    with client_for(max_sentences=10, max_tokens=20, max_token_chars=50) as c:
        r = c.post("/v1/tag", json=body)
    assert_error(r, status, code)


def test_unknown_field_is_named_and_non_finite_numbers_refused(client_for):
    with client_for() as c:
        r = c.post("/v1/tag", json={"text": "Hi", "topk": 3})
        assert_error(r, 422, "invalid_request")
        assert "topk" in r.json()["error"]["message"]
        assert_error(post_raw(c, b'{"text": "a", "top_k": NaN}'), 422, "invalid_request")


@pytest.mark.parametrize(
    "body",
    [
        rb'{"sentences": [["\ud800"]]}',
        rb'{"text": "a \udfff b"}',
        rb'{"texts": ["fine", "\ud83d"]}',
        rb'{"\ud800": 1}',
    ],
)
def test_lone_surrogates_are_invalid_json(client_for, body):
    with client_for() as c:
        assert_error(post_raw(c, body), 400, "invalid_json")
        # a surrogate *pair* is an ordinary character
        r = c.post("/v1/tag", json={"sentences": [["Hi", "\U0001f600"]]})
        assert r.status_code == 200 and r.json()["sentences"][0]["words"][1] == "\U0001f600"


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b'{"text": "caf\xe9"}',  # Latin-1, not UTF-8
        b'{"text": "\xff\xfe"}',
        b"[" * 100_000,
        b'{"text": ' + b'{"a": ' * 5_000 + b"1" + b"}" * 5_001,
    ],
)
def test_unparseable_bodies_are_400_in_the_error_shape(client_for, body):
    with client_for() as c:
        assert_error(post_raw(c, body), 400, "invalid_json")


def test_404_and_405_in_the_error_shape(client_for):
    with client_for() as c:
        assert_error(c.get("/v1/nothing"), 404, "not_found")
        r = c.get("/v1/tag")
        assert_error(r, 405, "method_not_allowed")
        assert r.headers["allow"] == "POST"
        assert_error(c.post("/v1/health", json={}), 405, "method_not_allowed")


def test_oversized_body(client_for):
    with client_for(max_body_bytes=200) as c:
        r = post_raw(c, json.dumps({"text": "a " * 500}).encode())
        assert_error(r, 413, "body_too_large")
        assert c.post("/v1/tag", json={"text": "Hi."}).status_code == 200


def test_an_unexpected_failure_is_a_500_in_the_error_shape(tagger, monkeypatch):
    from fastapi.testclient import TestClient

    from postag.serve.app import create_app

    def broken(*_a, **_k):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("session exploded")

    monkeypatch.setattr(tagger, "tag_batch", broken)
    with TestClient(create_app(tagger), raise_server_exceptions=False) as c:
        r = c.post("/v1/tag", json={"sentences": [["Hi"]]})
        assert_error(r, 500, "internal_error")
        assert "exploded" not in r.text  # details go to the server log, not the client
        assert c.get("/v1/health").status_code == 200
