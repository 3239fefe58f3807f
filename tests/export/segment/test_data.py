"""postag.export.segment.data: a treebank's raw text with one label per character, labels
back into token / sentence / multiword spans, the character table and features, and
the windows a long text is cut into. Inline CoNLL-U fixtures and, when ../shared/data
has it, UD French Sequoia train."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from postag.conll18 import parse_treebank
from postag.errors import CorpusError
from postag.export.segment.data import (
    MWT,
    MWT_SENTENCE,
    NONE,
    PAD,
    SENTENCE,
    TOKEN,
    UNK,
    UNK_ID,
    CharTable,
    char_features,
    decode,
    document_from_conllu,
    paragraph_spans,
    read_document,
    windows,
)

REPO = Path(__file__).resolve().parents[3]
SEQUOIA_TRAIN = (
    REPO / ".." / "shared" / "data" / "ud-french-sequoia" / "fr_sequoia-ud-train.conllu"
).resolve()


def _conllu(*rows: str) -> str:
    """Lines with ``|`` for tabs (readable fixtures), one blank line after the last."""
    return "\n".join(r.replace("|", "\t") for r in rows) + "\n\n"


FR = _conllu(
    "# newdoc id = d1",
    "# newpar",
    "# sent_id = fr-1",
    "# text = Il parle du vin.",
    "1|Il|il|PRON|_|_|2|nsubj|_|_",
    "2|parle|parler|VERB|_|_|0|root|_|_",
    "3-4|du|_|_|_|_|_|_|_|_",
    "3|de|de|ADP|_|_|5|case|_|_",
    "4|le|le|DET|_|_|5|det|_|_",
    "5|vin|vin|NOUN|_|_|2|obj|_|SpaceAfter=No",
    "6|.|.|PUNCT|_|_|2|punct|_|_",
)
EN = _conllu(
    "# sent_id = en-1",
    "# text = I don't know.",
    "1|I|I|PRON|_|_|4|nsubj|_|_",
    "2-3|don't|_|_|_|_|_|_|_|_",
    "2|do|do|AUX|_|_|4|aux|_|_",
    "3|n't|not|PART|_|_|4|advmod|_|_",
    "4|know|know|VERB|_|_|0|root|_|SpaceAfter=No",
    "5|.|.|PUNCT|_|_|4|punct|_|_",
)
# no "# text": the tokens spaced as SpaceAfter=No says; a multiword token ends it
EN_NO_TEXT = _conllu(
    "# newpar",
    "# sent_id = en-2",
    "1|Yes|yes|INTJ|_|_|3|discourse|_|SpaceAfter=No",
    "2|,|,|PUNCT|_|_|1|punct|_|_",
    "3-4|I'm|_|_|_|_|_|_|_|_",
    "3|I|I|PRON|_|_|0|root|_|_",
    "4|'m|be|AUX|_|_|3|cop|_|_",
)
DOC = FR + EN + EN_NO_TEXT
TEXT = "Il parle du vin. I don't know.\n\nYes, I'm\n"
FORMS = ["Il", "parle", "du", "vin", ".", "I", "don't", "know", ".", "Yes", ",", "I'm"]
MULTIWORD = [f in ("du", "don't", "I'm") for f in FORMS]
SENTENCES = ["Il parle du vin.", "I don't know.", "Yes, I'm"]


@pytest.fixture(scope="module")
def doc():
    return document_from_conllu(DOC, "fixture.conllu")


def test_text_is_the_raw_text(doc):
    assert doc.source == "fixture.conllu"
    assert doc.text == TEXT
    assert doc.paragraphs == [(0, 30), (32, 40)]
    assert [TEXT[s:e] for s, e in doc.paragraphs] == ["Il parle du vin. I don't know.", "Yes, I'm"]


def test_gold_spans_are_the_tokens_and_sentences(doc):
    assert [doc.text[s:e] for s, e in doc.tokens] == FORMS
    assert [doc.text[s:e] for s, e in doc.sentences] == SENTENCES


def test_labels_on_the_last_character_of_each_token(doc):
    assert doc.labels.dtype == np.uint8 and doc.labels.shape == (len(TEXT),)
    expected = np.zeros(len(TEXT), dtype=np.uint8)
    for (_, end), mwt in zip(doc.tokens, MULTIWORD, strict=True):
        expected[end - 1] = MWT if mwt else TOKEN
    for _, end in doc.sentences:
        expected[end - 1] += 1  # TOKEN → SENTENCE, MWT → MWT_SENTENCE
    assert doc.labels.tolist() == expected.tolist()
    assert doc.labels[TEXT.index("du") + 1] == MWT
    assert doc.labels[TEXT.index("don't") + 4] == MWT
    assert doc.labels[TEXT.index(".")] == SENTENCE
    assert doc.labels[len(TEXT) - 2] == MWT_SENTENCE  # the "m" of "I'm"
    assert doc.labels[TEXT.index(" ")] == NONE
    assert doc.counts() == {"none": 29, "token": 7, "sentence": 2, "mwt": 2, "mwt_sentence": 1}


def test_decode_of_the_gold_labels_gives_the_gold_spans(doc):
    seg = decode(doc.text, doc.labels)
    assert seg.tokens == doc.tokens
    assert seg.sentences == doc.sentences
    assert seg.multiword == MULTIWORD
    assert [doc.text[s:e] for s, e in seg.tokens] == FORMS


def test_a_token_holding_a_space_ends_at_its_last_non_space_character():
    conllu = _conllu(
        "# sent_id = n-1",
        "# text = Il a 10 000 euros.",
        "1|Il|il|PRON|_|_|2|nsubj|_|_",
        "2|a|avoir|VERB|_|_|0|root|_|_",
        "3|10 000|10 000|NUM|_|_|4|nummod|_|_",
        "4|euros|euro|NOUN|_|_|2|obj|_|SpaceAfter=No",
        "5|.|.|PUNCT|_|_|2|punct|_|_",
    )
    doc = document_from_conllu(conllu)
    assert [doc.text[s:e] for s, e in doc.tokens] == ["Il", "a", "10 000", "euros", "."]
    assert decode(doc.text, doc.labels).tokens == doc.tokens


def test_a_text_mismatch_names_the_file_line_and_sent_id():
    bad = _conllu(
        "# sent_id = bad-2",
        "# text = I do not know.",
        "1|I|I|PRON|_|_|0|root|_|_",
        "2|don't|do|AUX|_|_|1|aux|_|_",
        "3|know|know|VERB|_|_|1|root|_|_",
    )
    with pytest.raises(
        CorpusError,
        match=r"^fx\.conllu:13: sentence bad-2: .* character 4, the text has 'otknow\.'",
    ):
        document_from_conllu(FR + bad + EN, "fx.conllu")


def test_read_document(tmp_path):
    path = tmp_path / "doc.conllu"
    path.write_bytes(("\ufeff" + DOC).replace("\n", "\r\n").encode("utf-8"))
    doc = read_document(path)
    assert doc.source == str(path) and doc.text == TEXT
    assert doc.labels.tolist() == document_from_conllu(DOC).labels.tolist()
    with pytest.raises(CorpusError, match="missing.conllu"):
        read_document(tmp_path / "missing.conllu")
    (tmp_path / "latin1.conllu").write_bytes(b"1\t\xe9t\xe9\t_\t_\t_\t_\t0\troot\t_\t_\n")
    with pytest.raises(CorpusError, match="not valid UTF-8"):
        read_document(tmp_path / "latin1.conllu")


def test_paragraph_spans():
    text = "  a b\n\n\n c \n \n d\ne\n  "
    assert [text[s:e] for s, e in paragraph_spans(text)] == ["a b", "c", "d\ne"]
    assert paragraph_spans("") == [] and paragraph_spans(" \n\n ") == []


def _labels(text: str, at: dict[str, int]) -> np.ndarray:
    labels = np.zeros(len(text), dtype=np.int64)
    for sub, label in at.items():
        labels[text.index(sub) + len(sub) - 1] = label
    return labels


def test_decode_forces_a_sentence_end_at_a_paragraph_break_and_at_the_end():
    text = "a b\n \nc d \n"
    seg = decode(text, np.zeros(len(text), dtype=np.uint8))
    assert [text[s:e] for s, e in seg.tokens] == ["a b", "c d"]  # a token runs to a label
    assert seg.sentences == seg.tokens and seg.multiword == [False, False]
    seg = decode(text, _labels(text, {"a": TOKEN, "b": MWT, "c": TOKEN}))
    assert [text[s:e] for s, e in seg.tokens] == ["a", "b", "c", "d"]
    assert [text[s:e] for s, e in seg.sentences] == ["a b", "c d"]
    assert seg.multiword == [False, True, False, False]  # MWT kept, made MWT_SENTENCE


def test_decode_one_line_break_is_no_paragraph_and_space_labels_are_ignored():
    text = "a\nb c"
    labels = np.full(len(text), NONE)
    labels[[1, 3]] = SENTENCE  # on whitespace: ignored
    seg = decode(text, labels)
    assert seg.tokens == [(0, 5)] and seg.sentences == [(0, 5)]
    seg = decode(text, _labels(text, {"a": SENTENCE, "b": TOKEN}))
    assert [text[s:e] for s, e in seg.tokens] == ["a", "b", "c"]
    assert [text[s:e] for s, e in seg.sentences] == ["a", "b c"]


def test_decode_of_nothing_and_of_bad_shapes():
    assert decode("", np.zeros(0, dtype=np.uint8)).tokens == []
    empty = decode(" \n\n ", np.full(4, SENTENCE))
    assert (empty.tokens, empty.multiword, empty.sentences) == ([], [], [])
    with pytest.raises(ValueError, match="shape"):
        decode("abc", np.zeros(2))


def test_char_table():
    table = CharTable.build(["aab", "bcb", " "], min_count=2)
    assert table.chars == (PAD, UNK, "b", "a")  # most frequent first
    assert len(table) == 4
    ids = table.encode("abcz")
    assert ids.dtype == np.int64 and ids.tolist() == [3, 2, UNK_ID, UNK_ID]
    assert table.encode("").shape == (0,)
    assert CharTable.build(["ba"], min_count=1).chars == (PAD, UNK, "a", "b")  # ties: code point
    back = CharTable.from_list(json.loads(json.dumps(table.to_list())))
    assert back == table and back.encode("abcz").tolist() == ids.tolist()
    for bad in [[], ["a", PAD, UNK], [PAD, UNK, "a", "a"]]:
        with pytest.raises(ValueError):
            CharTable.from_list(bad)


def test_char_features():
    feats = char_features("A1 ,é\nΩ")
    assert feats.dtype == np.float32 and feats.shape == (7, 4)
    assert feats.tolist() == [
        [0, 1, 0, 0],  # A
        [0, 0, 1, 0],  # 1
        [1, 0, 0, 0],  # space
        [0, 0, 0, 1],  # ,
        [0, 0, 0, 0],  # é
        [1, 0, 0, 0],  # newline
        [0, 1, 0, 0],  # Ω: an unknown character keeps its features
    ]
    assert char_features("").shape == (0, 4)


@pytest.mark.parametrize(("size", "context"), [(10, 2), (7, 3), (5, 0), (1, 0), (64, 16)])
def test_windows_keep_every_character_once(size, context):
    step = size - 2 * context
    for n in range(0, 70):
        ws = list(windows(n, size, context))
        assert len(ws) == math.ceil(n / step)
        kept = [i for w in ws for i in range(w.keep_start, w.keep_end)]
        assert kept == list(range(n))  # every character's middle, exactly once, in order
        for w in ws:
            assert w.end - w.start <= size
            assert w.start == max(0, w.keep_start - context)
            assert w.end == min(n, w.keep_end + context)
            assert 0 <= w.start <= w.keep_start < w.keep_end <= w.end <= n


@pytest.mark.parametrize(
    ("n", "size", "context"), [(10, 4, 2), (10, 0, 0), (10, 3, -1), (-1, 5, 1)]
)
def test_windows_refuse_bad_arguments_at_the_call(n, size, context):
    with pytest.raises(ValueError):
        windows(n, size, context)  # not only once iterated


@pytest.mark.skipif(not SEQUOIA_TRAIN.is_file(), reason=f"UD French Sequoia not at {SEQUOIA_TRAIN}")
def test_sequoia_train_gold_labels_decode_to_its_gold_tokens():
    doc = read_document(SEQUOIA_TRAIN)
    seg = decode(doc.text, doc.labels)
    assert seg.tokens == doc.tokens and seg.sentences == doc.sentences
    tb = parse_treebank(SEQUOIA_TRAIN.read_text(encoding="utf-8"))
    assert len(seg.tokens) == len(tb.tokens) and len(seg.sentences) == len(tb.sentences)
    assert ["".join(doc.text[s:e].split()) for s, e in seg.tokens] == [
        tb.chars[s:e] for s, e in tb.tokens
    ]
    assert sum(seg.multiword) == doc.counts()["mwt"] + doc.counts()["mwt_sentence"] > 1000
