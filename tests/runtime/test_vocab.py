import json
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postag.errors import VocabError
from postag.vocab import PAD_ID, UNK_ID, Encoder, Vocab, build_vocabs, normalize_word


def test_normalisation_lowercases_and_maps_digits():
    assert normalize_word("The") == "the"
    assert normalize_word("COVID-19") == "covid-00"
    assert normalize_word("Éclair") == "éclair"


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def test_lookups_use_the_composed_form():
    assert nfd("Éclair") != "Éclair"
    assert normalize_word(nfd("Éclair")) == "éclair"
    enc = make_encoder()  # knows "é" as one character
    composed, decomposed = enc.encode([["Thé"]]), enc.encode([[nfd("Thé")]])
    assert decomposed.char_ids.tolist() == composed.char_ids.tolist()
    assert enc.chars.index["é"] in decomposed.char_ids[0, 0].tolist()
    assert decomposed.types == ["Thé"]  # one type for both spellings
    assert enc.encode([["Thé", nfd("Thé")]]).types == ["Thé"]
    assert enc.clip(nfd("é") * 10) == "é" * 8


def test_build_vocabs_keys_are_composed():
    words, chars, _, _ = build_vocabs([([nfd("café"), "café"], ["NOUN", "NOUN"])])
    assert words.items == ["<pad>", "<unk>", "café"]
    assert "é" in chars and "\u0301" not in chars
    assert words.id(normalize_word(nfd("Café"))) == words.id("café")


def test_build_vocabs_specials_order_and_min_freq():
    data = [(["The", "cat", "the"], ["DET", "NOUN", "DET"]), (["A", "dog"], ["DET", "NOUN"])]
    words, chars, tags, counts = build_vocabs(data, min_freq=2)
    assert words.items == ["<pad>", "<unk>", "the"]  # "cat", "a", "dog" seen once
    assert chars.items[:2] == ["<pad>", "<unk>"] and "T" in chars and "t" in chars
    assert tags.items == ["DET", "NOUN"]  # the tag set has no specials
    assert counts["the"] == 2
    assert words.id("zebra") == UNK_ID and words.id("<pad>") == PAD_ID


def test_vocab_json_round_trip_and_validation(tmp_path: Path):
    v = Vocab.from_counts(Counter({"b": 2, "a": 2, "c": 5}))
    assert v.items == ["<pad>", "<unk>", "c", "a", "b"]  # by count, ties alphabetical
    v.save(tmp_path / "w.json")
    assert json.loads((tmp_path / "w.json").read_text()) == v.items
    assert Vocab.load(tmp_path / "w.json") == v
    (tmp_path / "bad.json").write_text('["<unk>", "<pad>", "x"]')
    with pytest.raises(VocabError, match="must start with"):
        Vocab.load(tmp_path / "bad.json")
    (tmp_path / "dup.json").write_text('["<pad>", "<unk>", "x", "x"]')
    with pytest.raises(VocabError, match="duplicate"):
        Vocab.load(tmp_path / "dup.json")
    (tmp_path / "obj.json").write_text('{"a": 1}')
    with pytest.raises(VocabError, match="JSON list"):
        Vocab.load(tmp_path / "obj.json")
    with pytest.raises(VocabError, match="cannot read"):
        Vocab.load(tmp_path / "missing.json")
    with pytest.raises(VocabError, match="tag set cannot contain"):
        Vocab(["<unk>", "NOUN"], specials=False)


def make_encoder(max_word_len: int = 8) -> Encoder:
    words = Vocab(["<pad>", "<unk>", "the", "cat", "0"])
    chars = Vocab(["<pad>", "<unk>", *"Thecatsé"])
    return Encoder(words, chars, max_word_len)


def test_encode_shapes_ids_and_padding():
    enc = make_encoder()
    b = enc.encode([["The", "cat", "sat"], ["7"]])
    assert b.word_ids.tolist() == [[2, 3, 1], [4, 0, 0]]  # "sat" unknown, "7" → "0"
    assert b.lengths.tolist() == [3, 1]
    assert b.char_ids.shape == (2, 3, 3)
    c = enc.chars.index
    assert b.char_ids[0, 0].tolist() == [c["T"], c["h"], c["e"]]
    assert b.char_ids[0, 2].tolist() == [c["s"], c["a"], c["t"]]
    assert b.char_ids[1, 0].tolist() == [UNK_ID, 0, 0]  # "7" is an unknown character
    assert not b.char_ids[1, 1:].any()  # padding words are all zeros
    assert all(a.dtype == np.int64 for a in (b.word_ids, b.char_ids, b.lengths))


def test_long_words_keep_prefix_and_suffix():
    enc = make_encoder(max_word_len=6)
    assert enc.clip("abcdefghij") == "abchij"
    assert enc.clip("abcdef") == "abcdef"
    b = enc.encode([["x" * 500]])
    assert b.char_ids.shape == (1, 1, 6)


def test_empty_batches_and_sentences_are_rejected():
    enc = make_encoder()
    with pytest.raises(ValueError, match="empty batch"):
        enc.encode([])
    with pytest.raises(ValueError, match="empty sentence"):
        enc.encode([["a"], []])


def naive_char_ids(enc: Encoder, token: str) -> list[int]:
    return [enc.chars.index.get(ch, UNK_ID) for ch in enc.clip(token)]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=6), min_size=1, max_size=5
    )
)
def test_vectorised_char_encoding_equals_naive_lookup(sentences):
    enc = make_encoder()
    b = enc.encode(sentences)
    for i, sent in enumerate(sentences):
        for j, tok in enumerate(sent):
            ids = naive_char_ids(enc, tok)
            assert b.char_ids[i, j, : len(ids)].tolist() == ids
            assert not b.char_ids[i, j, len(ids) :].any()
        assert b.word_ids[i, : len(sent)].tolist() == enc.word_ids(sent)
