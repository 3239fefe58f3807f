"""postag.serve.app: endpoints, inputs, limits and the error shape."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings

from postag.batching import MAX_BATCH_TOKENS
from postag.tokenizer import tokenize
from tests.runtime.spans import UNICODE, check_offsets

from .conftest import SENTS

fastapi = pytest.importorskip("fastapi", reason="needs the serve extra (pip install '.[serve]')")


def assert_error(r, status: int, code: str) -> None:  # noqa: ANN001
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error"}
    assert r.json()["error"]["code"] == code and r.json()["error"]["message"]


def post_raw(c, body: bytes):  # noqa: ANN001, ANN201
    return c.post("/v1/tag", content=body, headers={"content-type": "application/json"})


HEAD_FIELDS = {
    "upos": ("tags", "probs", "top_k"),
    "xpos": ("xpos", "xpos_probs", "xpos_top_k"),
    "feats": ("feats", "feats_probs", "feats_top_k"),
}


def response_schema(c) -> tuple[dict, dict]:  # noqa: ANN001
    """The declared 200 answer of ``POST /v1/tag`` in /openapi.json: (the answer's
    schema, a sentence's schema), references resolved."""
    schema = c.get("/openapi.json").json()
    models = schema["components"]["schemas"]
    ok = schema["paths"]["/v1/tag"]["post"]["responses"]["200"]["content"]["application/json"]
    answer = models[ok["schema"]["$ref"].rsplit("/", 1)[1]]
    sentence = models[answer["properties"]["sentences"]["items"]["$ref"].rsplit("/", 1)[1]]
    return answer, sentence


def assert_declared(c, body: dict) -> None:  # noqa: ANN001
    """Every key the server sent is declared in OpenAPI, and the answer validates
    against the declared response model (no undeclared key, every type right)."""
    from postag.serve.app import TagResponse

    answer, sentence = response_schema(c)
    assert set(body) <= set(answer["properties"]) and set(answer["required"]) <= set(body)
    for s in body["sentences"]:
        assert set(s) <= set(sentence["properties"]), set(s) - set(sentence["properties"])
        assert set(sentence["required"]) <= set(s)
    TagResponse.model_validate(body)


#: Raw text whose offsets are easy to get wrong: CR LF, a blank line between paragraphs,
#: decomposed accents, a ZWJ emoji sequence, a flag, an astral letter, right-to-left script.
AWKWARD = (
    "Cafe\u0301 au lait,\r\nnaïve 👨\u200d👩\u200d👧 fun.\r\n\r\n"
    "New 🇺🇸 para\u0301graph 𝒜 שָׁלוֹם.\tDon't stop!"
)


def test_health_info_and_openapi(tagger, client_for):
    with client_for() as c:
        assert c.get("/v1/health").json()["model_loaded"] is True
        info = c.get("/v1/info").json()
        assert info["name"] == "toy" and info["provider"] == "CPUExecutionProvider"
        assert info["serve"]["max_batch_tokens"] == MAX_BATCH_TOKENS
        assert info["heads"] == {h: len(tagger.labels[h]) for h in ("upos", "xpos", "feats")}
        schema = c.get("/openapi.json").json()
        answer, sentence = response_schema(c)
    tag = schema["paths"]["/v1/tag"]["post"]
    body = tag["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {"text", "texts", "sentences", "top_k", "probs"}
    assert body["additionalProperties"] is False
    assert tag["responses"]["413"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ErrorResponse"
    )
    # every head's fields are declared, optional but for words and UPOS tags
    fields = {f for head in HEAD_FIELDS.values() for f in head}
    assert set(sentence["properties"]) == fields | {"words", "start", "end", "text"}
    for key in ("start", "end"):  # documented as code points
        assert "code points" in sentence["properties"][key]["description"]
    assert set(sentence["required"]) == {"words", "tags"}
    assert sentence["additionalProperties"] is False
    assert set(answer["required"]) == {"sentences", "model", "tokens"}


def expected(tagger, body: dict) -> list[dict]:  # noqa: ANN001
    """What ``POST /v1/tag`` with ``body`` must answer, from the Tagger directly."""
    opts = {"top_k": body.get("top_k", 0), "probs": body.get("probs", False)}
    if "sentences" in body:
        out = [t.to_dict() for t in tagger.tag_batch(body["sentences"], **opts)]
    elif "text" in body:
        out = [t.to_dict() for t in tagger.tag_text(body["text"], **opts)]
    else:
        docs = tagger.tag_many(body["texts"], **opts)
        out = [t.to_dict() | {"text": i} for i, doc in enumerate(docs) for t in doc]
    return json.loads(json.dumps(out))


INPUTS = [
    {"sentences": SENTS},
    {"text": "Alice saw Paris. Bob runs quickly! The dog likes it."},
    {"texts": ["Alice saw Paris.", "", "She runs. Bob likes the big dog."]},
]
OPTIONS = [{}, {"probs": True}, {"top_k": 2}, {"top_k": 20, "probs": True}]


@pytest.fixture(scope="module")
def joint_client(tagger):
    """One app of the joint toy tagger for the cases below (an app starts text workers)."""
    from fastapi.testclient import TestClient

    from postag.serve.app import create_app

    with TestClient(create_app(tagger)) as c:
        yield c


@pytest.fixture(scope="module")
def upos_client(upos_tagger):
    from fastapi.testclient import TestClient

    from postag.serve.app import create_app

    with TestClient(create_app(upos_tagger)) as c:
        yield c


@pytest.mark.parametrize("options", OPTIONS, ids=["plain", "probs", "top2", "top20"])
@pytest.mark.parametrize("given", INPUTS, ids=["sentences", "text", "texts"])
def test_every_head_for_every_input_equals_the_tagger(tagger, joint_client, given, options):
    """text, texts and sentences inputs: every head's labels (and probabilities and
    top-k, for every head, when asked) are the Tagger's, and OpenAPI declares them all."""
    body = given | options
    r = joint_client.post("/v1/tag", json=body)
    assert r.status_code == 200, r.text
    assert_declared(joint_client, r.json())
    got = r.json()["sentences"]
    assert got == expected(tagger, body) and got
    k = options.get("top_k", 0)
    for s in got:
        for head, (labels, probs, top) in HEAD_FIELDS.items():
            assert len(s[labels]) == len(s["words"])
            assert (probs in s) == bool(k or options.get("probs"))
            assert (top in s) == bool(k)
            if k:  # capped at the head's label count; the best is the chosen label
                assert {len(row) for row in s[top]} == {min(k, len(tagger.labels[head]))}
                assert [row[0][0] for row in s[top]] == s[labels]
                assert [row[0][1] for row in s[top]] == s[probs]


@pytest.mark.parametrize("given", INPUTS, ids=["sentences", "text", "texts"])
def test_a_upos_only_model_answers_without_xpos_and_feats(upos_tagger, upos_client, given):
    body = given | {"top_k": 3, "probs": True}
    r = upos_client.post("/v1/tag", json=body)
    assert r.status_code == 200, r.text
    assert_declared(upos_client, r.json())
    assert upos_client.get("/v1/info").json()["heads"] == {"upos": len(upos_tagger.tags)}
    got = r.json()["sentences"]
    assert got == expected(upos_tagger, body) and got
    offsets = set() if "sentences" in body else {"start", "end"}
    for s in got:
        numbered = {"text"} if "texts" in body else set()
        assert set(s) == {"words", *HEAD_FIELDS["upos"]} | offsets | numbered


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
    """Small sentences go through the C JSON encoder, big ones (over
    ``C_ENCODE_MAX_VALUES`` values) through the streaming one: both give
    ``TaggedSentence.to_dict()``."""
    from postag.serve.app import C_ENCODE_MAX_VALUES, _values

    long = ["She", "runs", "quickly", "."] * 100
    with client_for(max_tokens=1000) as c:
        r = c.post("/v1/tag", json={"sentences": [SENTS[0], long], "top_k": 3, "probs": True})
    assert r.status_code == 200
    want = [t.to_dict() for t in tagger.tag_batch([SENTS[0], long], top_k=3, probs=True)]
    assert _values(want[0]) <= C_ENCODE_MAX_VALUES < _values(want[1])  # one of each
    assert r.json()["sentences"] == json.loads(json.dumps(want))
    assert r.json()["tokens"] == len(SENTS[0]) + len(long)


def test_raw_text_words_carry_their_offsets_in_code_points(tagger, joint_client):
    """``start``/``end`` (computed in the text workers) index each word in its own text,
    as Python ``str`` indices; pre-tokenized sentences have none."""
    texts = [AWKWARD, "", "Hi. \U0001f600 Bye."]
    r = joint_client.post("/v1/tag", json={"texts": texts})
    assert r.status_code == 200, r.text
    got = r.json()["sentences"]
    assert {s["text"] for s in got} == {0, 2}
    for i in (0, 2):  # in order and disjoint through each whole text, nothing skipped
        mine = [(s["words"], s["start"], s["end"]) for s in got if s["text"] == i]
        assert check_offsets(texts[i], mine) == len(tokenize(texts[i]))
    want = [t.to_dict() for doc in tagger.tag_many(texts) for t in doc]
    assert [(s["start"], s["end"]) for s in got] == [(w["start"], w["end"]) for w in want]
    r = joint_client.post("/v1/tag", json={"text": AWKWARD})
    assert r.json()["sentences"][0]["words"][:2] == ["Cafe\u0301", "au"]
    r = joint_client.post("/v1/tag", json={"sentences": [["Hi", "."]]})
    assert not {"start", "end"} & set(r.json()["sentences"][0])


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=UNICODE)
def test_offsets_hold_for_any_unicode_text(joint_client, text):
    r = joint_client.post("/v1/tag", json={"text": text})
    assert r.status_code == 200, r.text
    got = r.json()["sentences"]
    check_offsets(text, [(s["words"], s["start"], s["end"]) for s in got])


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
