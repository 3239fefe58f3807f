"""Character offsets through the API: ``Tagger.tag_text`` / ``tag_many`` results carry
each word's ``start``/``end`` in its text (code points); pre-tokenized input has none."""

import pytest
from hypothesis import HealthCheck, given, settings

from postag import Tagger
from postag.tagger import TaggedSentence
from postag.tokenizer import text_sentences, tokenize
from tests.runtime.spans import EWT_TEST, NO_EWT, UNICODE, check_offsets, ewt_raw_text


@pytest.fixture(scope="module")
def tagger(toy_bundle):
    return Tagger.load(toy_bundle[0], provider="cpu", threads=1)


def spans(results: list[TaggedSentence]) -> list[tuple[list[str], list[int], list[int]]]:
    return [(r.words, r.start, r.end) for r in results]


def test_tag_text_gives_each_word_its_offsets(tagger):
    text = "Bob doesn't\r\nlike cafe\u0301s.\r\n\r\n👍🏽 She runs!"
    out = tagger.tag_text(text)
    assert [r.words for r in out] == [
        ["Bob", "does", "n't", "like", "cafe\u0301s", "."],
        ["👍🏽", "She", "runs", "!"],
    ]
    assert out[0].start == [0, 4, 8, 13, 18, 24] and out[0].end == [3, 8, 11, 17, 24, 25]
    assert out[1].start == [29, 32, 36, 40] and out[1].end == [31, 35, 40, 41]
    assert check_offsets(text, spans(out)) == 10
    d = out[1].to_dict()
    assert list(d)[:3] == ["words", "start", "end"]
    assert (d["start"], d["end"]) == (out[1].start, out[1].end)


def test_format_characters_are_inside_words_or_in_none(tagger):
    """Soft hyphens, bidi marks, a BOM: a word's offsets cover the ones inside it, none
    starts or ends on one, and none is a word; offsets index the text as given."""
    text = "\ufeffCo\u00adop\u00aderate \u202eRTL\u202c\u200f now\u2060s!\u200b\n\u2066x\u2069."
    (first, second) = tagger.tag_text(text)
    assert first.words == ["Co\u00adop\u00aderate", "RTL", "now\u2060s", "!"]
    assert (first.start, first.end) == ([1, 14, 20, 25], [12, 17, 25, 26])
    assert second.words == ["x", "."] and (second.start, second.end) == ([29, 31], [30, 32])
    assert check_offsets(text, spans([first, second])) == 6


def test_tag_many_offsets_are_per_text(tagger):
    texts = ["Alice saw Paris.", "", "Hi. Bye now."]
    docs = tagger.tag_many(texts)
    assert [[(r.start, r.end) for r in doc] for doc in docs] == [
        [([0, 6, 10, 15], [5, 9, 15, 16])],
        [],
        [([0, 2], [2, 3]), ([4, 8, 11], [7, 11, 12])],
    ]
    for text, doc in zip(texts, docs, strict=True):
        check_offsets(text, spans(doc))


def test_pretokenized_input_has_no_offsets(tagger):
    res = tagger.tag(["Alice", "saw", "Paris", "."])
    assert res.start is None and res.end is None
    assert not {"start", "end"} & set(res.to_dict())
    assert all(r.start is None for r in tagger.tag_batch([["Hi"], [], ["Bye", "."]]))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(UNICODE)
def test_offsets_hold_for_any_unicode_text(tagger, text):
    out = tagger.tag_text(text)
    assert check_offsets(text, spans(out)) == len(tokenize(text))


@pytest.mark.skipif(not EWT_TEST.is_file(), reason=NO_EWT)
def test_offsets_over_the_ewt_raw_text(tagger):
    text = ewt_raw_text("\r\n")
    out = tagger.tag_text(text)
    assert check_offsets(text, spans(out)) == sum(len(s.words) for s in text_sentences(text))
