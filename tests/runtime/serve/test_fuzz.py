"""postag.serve: random bodies never get a 500, and every error has the documented shape.

Hypothesis posts random JSON (any nesting, odd characters, lone surrogates, non-finite
numbers), random dicts with the real keys, well-formed requests with random contents, and
random bytes. An exception the app does not handle would be re-raised by the TestClient
and fail the test as well. Every answer has the declared shape (every head of the joint
toy tagger, only the fields OpenAPI declares).
"""

from __future__ import annotations

import json

import pytest

fastapi = pytest.importorskip("fastapi", reason="needs the serve extra (pip install '.[serve]')")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

CHARS = st.characters(exclude_categories=()) | st.sampled_from(
    ["\ud800", "\udfff", " ", "\t", "-", ".", "'", "\x00", "é", "\U0001f600", "\u00a0"]
)
TEXT = st.text(CHARS, max_size=30)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | TEXT
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(TEXT, children, max_size=5),
    max_leaves=30,
)
TOKENS = st.lists(st.lists(TEXT | JSON, max_size=6), max_size=6)
REQUEST = st.fixed_dictionaries(
    {},
    optional={
        "text": TEXT | JSON,
        "texts": st.lists(TEXT, max_size=4) | JSON,
        "sentences": TOKENS | JSON,
        "top_k": st.integers(-3, 30) | JSON,
        "probs": st.booleans() | JSON,
        "topk": JSON,
    },
)
ONE_INPUT = st.one_of(
    st.fixed_dictionaries({"text": TEXT}),
    st.fixed_dictionaries({"texts": st.lists(TEXT, max_size=4)}),
    st.fixed_dictionaries(
        {"sentences": st.lists(st.lists(TEXT, min_size=1, max_size=6), max_size=6)}
    ),
)
OPTIONS = st.fixed_dictionaries({}, optional={"top_k": st.integers(-1, 21), "probs": st.booleans()})
WELL_FORMED = st.builds(lambda a, b: a | b, ONE_INPUT, OPTIONS)
BODIES = st.one_of(
    st.builds(lambda v: json.dumps(v).encode(), WELL_FORMED),
    st.builds(lambda v: json.dumps(v).encode(), WELL_FORMED),
    st.builds(lambda v: json.dumps(v).encode(), REQUEST),
    st.builds(lambda v: json.dumps(v).encode(), JSON),
    st.builds(  # raw lone surrogates: not UTF-8
        lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass"),
        REQUEST | WELL_FORMED,
    ),
    st.binary(max_size=200),
)


@pytest.fixture(scope="module")
def client(toy_bundle):
    from fastapi.testclient import TestClient

    from postag import Tagger
    from postag.serve.app import create_app
    from postag.serve.config import ServeConfig

    tagger = Tagger.load(toy_bundle[0], provider="cpu", threads=1)
    with TestClient(create_app(tagger, ServeConfig(max_tokens=50, max_token_chars=20))) as c:
        yield c


@settings(max_examples=150, deadline=None)
@given(body=BODIES)
def test_random_bodies_never_500(client, body):
    r = client.post("/v1/tag", content=body, headers={"content-type": "application/json"})
    assert r.status_code != 500, r.text
    out = r.json()
    if r.status_code == 200:
        from postag.serve.app import TagResponse

        assert set(out) == {"sentences", "model", "tokens"}
        TagResponse.model_validate(out)  # only declared keys, of the declared types
        for s in out["sentences"]:
            assert len(s["words"]) == len(s["tags"]) == len(s["xpos"]) == len(s["feats"])
    else:
        assert r.status_code in (400, 413, 422), r.text
        assert set(out) == {"error"} and set(out["error"]) == {"code", "message"}
        assert out["error"]["code"] and out["error"]["message"]
