"""The server's text path follows the runtime's rules (one implementation: the
tokenizer, which the text pool's workers run): a leading BOM is no word and offsets count
it, as ``Tagger.tag_text`` gives them; soft hyphens, bidi marks and control characters
are never words."""

from __future__ import annotations

import pytest

fastapi = pytest.importorskip("fastapi", reason="needs the serve extra (pip install '.[serve]')")
from postag.serve.texts import split_counted  # noqa: E402

TEXT = "\ufeffAlice sa\u00adw \u202eParis\u202c.\x00"


def test_the_text_pool_splits_as_the_tokenizer_does():
    split = split_counted([TEXT, "\ufeff", "\u200b \u2066"], 100, 1_000)
    assert split.docs == [[["Alice", "sa\u00adw", "Paris", "."]], [], []]
    assert split.offsets == [([1, 7, 13, 19], [6, 11, 18, 20], [])]
    assert (split.sentences, split.tokens) == (1, 4)


def test_raw_text_over_http_matches_tag_text(client_for, tagger):
    with client_for() as c:
        r = c.post("/v1/tag", json={"text": TEXT})
        assert r.status_code == 200, r.text
        (sent,) = r.json()["sentences"]
        r = c.post("/v1/tag", json={"texts": ["\ufeffHi", "\ufeff"]})
        assert r.status_code == 200, r.text
        numbered = r.json()["sentences"]
    (want,) = tagger.tag_text(TEXT)
    assert sent["words"] == want.words == ["Alice", "sa\u00adw", "Paris", "."]
    assert (
        (sent["start"], sent["end"]) == (want.start, want.end) == ([1, 7, 13, 19], [6, 11, 18, 20])
    )
    assert sent["tags"] == want.tags == tagger.tag(["Alice", "saw", "Paris", "."]).tags
    assert [(s["text"], s["words"], s["start"]) for s in numbered] == [(0, ["Hi"], [1])]


def test_the_server_splits_raw_text_with_the_bundles_splitter(mwt_bundle):
    """A bundle with a multiword-token lexicon: the text workers load its splitter, so
    the server answers as Tagger.tag_text does, multiword tokens included."""
    from fastapi.testclient import TestClient

    from postag import Tagger
    from postag.serve.app import create_app
    from postag.serve.config import ServeConfig

    tagger = Tagger.load(mwt_bundle[0], provider="cpu", threads=1)
    text = "She don't run. Alice's dog sees Bob."
    with TestClient(create_app(tagger, ServeConfig(text_workers=1))) as c:
        r = c.post("/v1/tag", json={"text": text})
    assert r.status_code == 200, r.text
    got = r.json()["sentences"]
    want = [s.to_dict() for s in tagger.tag_text(text)]
    assert [s["multiword"] for s in got] == [[[1, 2, "don't"]], [[0, 1, "Alice's"]]]
    assert [(s["words"], s["start"], s["end"], s["tags"]) for s in got] == [
        (s["words"], s["start"], s["end"], s["tags"]) for s in want
    ]
