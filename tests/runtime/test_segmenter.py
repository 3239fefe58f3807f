"""postag.segmenter: the trained segmenter at run time, on a hand-built ONNX graph (no
torch): its labels, window by window, equal a per-character reference; its sentences
equal postag.segmentation.decode's, streamed; offsets are exact on NFC, NFD and emoji
text; multiword tokens are expanded by the lexicon; every malformed file is a
BundleError naming it; the work grows linearly and the batches stay bounded on hostile
input (counted, never timed).

The graph scores character ``i`` as ``E_cur[id_i] + E_next[id_i+1] + features_i @ W_cur
+ features_i+1 @ W_next`` (Gather, Slice, Pad, MatMul): a character before whitespace
ends a token, one before ``.``/``,``/``!``/``?`` too; ``.``/``!``/``?`` end a sentence,
``,`` a token; a token ending in ``u`` or ``x`` ("du", "au", "aux") is multiword.
"""

from __future__ import annotations

import json
import math
import random
import string
import subprocess
import sys
import tracemalloc
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from postag.errors import BundleError
from postag.mwt import MwtLexicon
from postag.segmentation import (
    LABELS,
    MWT,
    N_FEATURES,
    N_LABELS,
    NONE,
    PAD_ID,
    SENTENCE,
    TOKEN,
    CharTable,
    char_features,
    decode,
)
from postag.segmenter import (
    JSON_FILE,
    MAX_MULTIWORD_CHARS,
    ONNX_FILE,
    SegmentedSentence,
    SegmentedToken,
    Segmenter,
    SegmenterSpec,
    iter_token_spans,
    segmented_sentences,
)
from postag.tokenizer import Token, sentence_words
from postag.tokenizer_bench import FAMILIES

# -- the fixture model --------------------------------------------------------------------------

CHARS = ["<pad>", "<unk>", *" \n\t.,!?'é", *string.ascii_letters, *string.digits]
TABLE = CharTable.from_list(CHARS)
ID = {c: i for i, c in enumerate(CHARS)}
SPACE, PUNCT = 0, 3  # columns of char_features


def _scores() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """E_cur, E_next (vocab, 5) and W_cur, W_next (4, 5) of the fixture graph."""
    v = len(CHARS)
    e_cur = np.zeros((v, N_LABELS), dtype=np.float32)
    e_next = np.zeros((v, N_LABELS), dtype=np.float32)
    w_cur = np.zeros((N_FEATURES, N_LABELS), dtype=np.float32)
    w_next = np.zeros((N_FEATURES, N_LABELS), dtype=np.float32)
    ends_token = [0, 2, 0, 1.9, 0]  # TOKEN, or MWT for a character that leans to it
    w_next[SPACE] = ends_token  # before any whitespace (known to the table or not)
    w_cur[SPACE, NONE] = 3  # whitespace itself: NONE (decode ignores it anyway)
    for c in ".,!?":
        e_next[ID[c]] = ends_token
    for c in ".!?":
        e_cur[ID[c], SENTENCE] = 5
    e_cur[ID[","], TOKEN] = 3
    for c in "ux":  # NONE inside a word, MWT at its end
        e_cur[ID[c]] = [1, 0, 0, 0.5, 0]
    return e_cur, e_next, w_cur, w_next


E_CUR, E_NEXT, W_CUR, W_NEXT = _scores()


def reference_labels(text: str) -> np.ndarray:
    """What the fixture graph gives each character, computed per character (no windows)."""
    ids = TABLE.encode(text)
    feats = char_features(text)
    nxt = np.append(ids[1:], PAD_ID)
    nf = np.vstack([feats[1:], np.zeros((1, N_FEATURES), np.float32)])[: len(text)]
    scores = E_CUR[ids] + E_NEXT[nxt] + feats @ W_CUR + nf @ W_NEXT
    return scores.argmax(-1).astype(np.uint8)


def build_graph(
    *,
    names: tuple[str, str, str] = ("chars", "features", "label_scores"),
    chars_type: int = TensorProto.INT64,
    rows: int | None = None,
    flat_output: bool = False,
) -> onnx.ModelProto:
    """The fixture graph; the keywords make it wrong in one way each."""
    chars, feats, out = names
    e_cur = E_CUR if rows is None else E_CUR[:rows]
    inits = [
        numpy_helper.from_array(e_cur, "E_cur"),
        numpy_helper.from_array(E_NEXT, "E_next"),
        numpy_helper.from_array(W_CUR, "W_cur"),
        numpy_helper.from_array(W_NEXT, "W_next"),
        numpy_helper.from_array(np.array([1], np.int64), "one"),
        numpy_helper.from_array(np.array([1 << 62], np.int64), "big"),
        numpy_helper.from_array(np.array([0, 0, 0, 1], np.int64), "pad2"),
        numpy_helper.from_array(np.array([0, 0, 0, 0, 1, 0], np.int64), "pad3"),
        numpy_helper.from_array(
            np.array(0, np.int64 if chars_type == TensorProto.INT64 else np.int32), "zero_id"
        ),
        numpy_helper.from_array(np.array([-1], np.int64), "last"),
    ]
    nodes = [
        helper.make_node("Gather", ["E_cur", chars], ["cur"]),
        helper.make_node("Slice", [chars, "one", "big", "one"], ["tail_ids"]),
        helper.make_node("Pad", ["tail_ids", "pad2", "zero_id"], ["next_ids"]),
        helper.make_node("Gather", ["E_next", "next_ids"], ["nxt"]),
        helper.make_node("MatMul", [feats, "W_cur"], ["fc"]),
        helper.make_node("Slice", [feats, "one", "big", "one"], ["tail_f"]),
        helper.make_node("Pad", ["tail_f", "pad3"], ["next_f"]),
        helper.make_node("MatMul", ["next_f", "W_next"], ["fn"]),
        helper.make_node("Add", ["cur", "nxt"], ["s1"]),
        helper.make_node("Add", ["s1", "fc"], ["s2"]),
        helper.make_node("Add", ["s2", "fn"], ["s3" if flat_output else out]),
    ]
    out_shape: list[str | int] = ["batch", "length", N_LABELS]
    if flat_output:
        nodes.append(helper.make_node("ReduceSum", ["s3", "last"], [out], keepdims=0))
        out_shape = ["batch", "length"]
    graph = helper.make_graph(
        nodes,
        "segmenter_fixture",
        [
            helper.make_tensor_value_info(chars, chars_type, ["batch", "length"]),
            helper.make_tensor_value_info(feats, TensorProto.FLOAT, ["batch", "length", 4]),
        ],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, out_shape)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


LEXICON = MwtLexicon.learn([("du", ("de", "le")), ("au", ("à", "le")), ("aux", ("à", "les"))])


def settings(size: int = 16, context: int = 3, **extra: Any) -> dict[str, Any]:
    return {
        "format": 1,
        "chars": CHARS,
        "labels": list(LABELS),
        "window": {"size": size, "context": context},
        "config": {"size": size, "context": context},
        "mwt": LEXICON.to_dict(),
        "treebank": "fr_fixture",
        "metrics": {},
        **extra,
    }


def write_segmenter(
    directory: Path, data: dict[str, Any] | None = None, graph: onnx.ModelProto | None = None
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    onnx.save(graph or build_graph(), directory / ONNX_FILE)
    text = json.dumps(settings() if data is None else data, ensure_ascii=False)
    (directory / JSON_FILE).write_text(text, encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def seg_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_segmenter(tmp_path_factory.mktemp("segmenter"))


@pytest.fixture(scope="module")
def seg(seg_dir: Path) -> Segmenter:
    return Segmenter.load(seg_dir, threads=1)


class Counting:
    """A predict that counts its calls and windows and keeps the largest batch shape."""

    def __init__(self, predict: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> None:
        self.predict = predict
        self.calls = self.windows = self.max_elems = 0
        self.max_shape: tuple[int, ...] = (0, 0)

    def __call__(self, ids: np.ndarray, feats: np.ndarray) -> np.ndarray:
        self.calls += 1
        self.windows += ids.shape[0]
        if ids.size > self.max_elems:
            self.max_elems, self.max_shape = ids.size, ids.shape
        return self.predict(ids, feats)


def counting(
    seg: Segmenter, batch: int = 16, size: int | None = None
) -> tuple[Segmenter, Counting]:
    spec = seg.spec
    if size is not None:
        spec = SegmenterSpec(spec.table, size, spec.context, spec.lexicon, spec.treebank)
    counter = Counting(seg.predict)
    return Segmenter(spec, counter, batch=batch), counter


# -- loading ------------------------------------------------------------------------------------


def test_load_directory_or_pair(seg_dir: Path, seg: Segmenter) -> None:
    pair = Segmenter.load(seg_dir / ONNX_FILE, seg_dir / JSON_FILE, provider="cpu", threads=1)
    text = "Il parle du vin. Tu vas au marché"
    assert np.array_equal(pair.labels(text), seg.labels(text))
    assert seg.spec.size == 16 and seg.spec.context == 3 and seg.spec.table == TABLE
    assert seg.spec.lexicon == LEXICON and seg.spec.treebank == "fr_fixture"
    assert seg.describe() == (
        "fr_fixture: 71 characters, windows of 16 (3 of context), 3 multiword forms"
    )
    assert str(seg_dir / ONNX_FILE) == seg.source


def test_the_module_imports_neither_torch_nor_export() -> None:
    code = (
        "import sys, postag.segmenter; "
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('postag.export')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- segmentation -------------------------------------------------------------------------------

FRENCH = "Il parle du vin. Du pain aux amis!\n\nTu vas au marché"


def test_sentences_tokens_and_words(seg: Segmenter) -> None:
    sents = seg.sentences(FRENCH)
    assert [[t.text for t in s.tokens] for s in sents] == [
        ["Il", "parle", "du", "vin", "."],
        ["Du", "pain", "aux", "amis", "!"],
        ["Tu", "vas", "au", "marché"],  # the paragraph break and the end force the ends
    ]
    assert [s.words for s in sents] == [
        ("Il", "parle", "de", "le", "vin", "."),
        ("De", "le", "pain", "à", "les", "amis", "!"),  # "Du": the lexicon's "du", re-cased
        ("Tu", "vas", "à", "le", "marché"),  # "Tu": marked multiword, unknown: one word
    ]
    du = sents[0].tokens[2]
    assert du == SegmentedToken("du", 9, 11, True, ("de", "le"))
    assert sents[2].tokens[0] == SegmentedToken("Tu", 36, 38, True, ("Tu",))
    assert sents[0].tokens[1] == SegmentedToken("parle", 3, 8, False, ("parle",))
    for s in sents:
        assert (s.start, s.end) == (s.tokens[0].start, s.tokens[-1].end)
        for t in s.tokens:
            assert FRENCH[t.start : t.end] == t.text
    # the same as decode's spans, and labels as the graph gives them per character
    labels = seg.labels(FRENCH)
    assert np.array_equal(labels, reference_labels(FRENCH))
    segs = seg.segment(FRENCH)
    assert segs == decode(FRENCH, labels)
    assert segs.tokens == [(t.start, t.end) for s in sents for t in s.tokens]
    assert segs.multiword == [t.multiword for s in sents for t in s.tokens]
    assert segs.sentences == [(s.start, s.end) for s in sents]
    assert labels[10] == MWT and labels[3 + 4] == TOKEN and labels[15] == SENTENCE


def test_rule_tokenizer_shapes(seg: Segmenter) -> None:
    """iter_sentences gives what postag.tokenizer.iter_sentences gives: lists of Token, a
    multiword token with its words; text_sentences what sentence_words makes of them."""
    first = next(seg.iter_sentences(FRENCH))
    assert first == [
        Token("Il", 0, 2),
        Token("parle", 3, 8),
        Token("du", 9, 11, ("de", "le")),
        Token("vin", 12, 15),
        Token(".", 15, 16),
    ]
    split = seg.split_sentences(FRENCH)
    assert split[2][0] == Token("Tu", 36, 38)  # one word: not multiword for the tagger
    ts = seg.text_sentences(FRENCH)
    assert ts == [sentence_words(s) for s in split]
    assert ts[0].words == ["Il", "parle", "de", "le", "vin", "."]
    assert ts[0].starts == [0, 3, 9, 9, 12, 15] and ts[0].ends == [2, 8, 11, 11, 15, 16]
    assert ts[0].multiword == [(2, 3, "du")]
    assert ts[1].multiword == [(0, 1, "Du"), (3, 4, "aux")]
    assert ts[2].multiword == [(2, 3, "au")]
    assert [s.text_sentence() for s in seg.sentences(FRENCH)] == ts


def test_splitter_takes_it(seg: Segmenter) -> None:
    """The bundle's splitter ("model") reads the segmenter through iter_sentences."""
    from postag.splitter import Splitter

    splitter = Splitter("model", None, seg)
    assert splitter.text_sentences(FRENCH) == seg.text_sentences(FRENCH)
    assert "fr_fixture" in splitter.describe()


@pytest.mark.parametrize("form", ["NFC", "NFD"])
def test_offsets_exact_on_composed_decomposed_and_emoji_text(seg: Segmenter, form: str) -> None:
    raw = "Le café 👨\u200d👩\u200d👧 et 🇺🇸 naïve, résumé. Fin\t👍🏽!"
    text = unicodedata.normalize(form, raw)
    sents = seg.sentences(text)
    toks = [t for s in sents for t in s.tokens]
    for t in toks:
        assert text[t.start : t.end] == t.text
        assert t.words == (t.text,)
    nfc = [unicodedata.normalize("NFC", t.text) for t in toks]
    want = "Le café 👨\u200d👩\u200d👧 et 🇺🇸 naïve , résumé . Fin 👍🏽 !"
    assert nfc == want.split()
    assert [len(s.tokens) for s in sents] == [9, 3]
    if form == "NFD":  # a decomposed accent is two characters of the token, offsets count both
        cafe = toks[1]
        assert (cafe.start, cafe.end) == (3, 8) and cafe.text == "cafe\u0301"


def test_empty_and_blank_text(seg: Segmenter) -> None:
    for text in ["", " ", "\n\n\n", " \t\u2003 "]:
        assert seg.sentences(text) == []
        assert seg.labels(text).shape == (len(text),)
    assert seg.sentences("x") == [SegmentedSentence((SegmentedToken("x", 0, 1, False, ("x",)),))]


# -- windows ------------------------------------------------------------------------------------

ALPHABET = "abcuxé .,!?\n\t'Z9\u0301🇺👍\u2003"


@pytest.mark.parametrize(("size", "context"), [(5, 1), (8, 2), (16, 3), (64, 8)])
@pytest.mark.parametrize("batch", [1, 3, 16])
def test_windows_give_the_per_character_labels(
    seg: Segmenter, size: int, context: int, batch: int
) -> None:
    """Texts of 0 to several hundred windows: each window predicts only its middle, so
    the labels equal the per-character reference; the graph runs once per ``batch``
    windows, each batch at most ``batch x size``."""
    spec = SegmenterSpec(TABLE, size, context, LEXICON)
    rng = random.Random(size * 100 + batch)
    step = size - 2 * context
    for n in [0, 1, step - 1, step, step + 1, size, 3 * step, 7 * size + 3, 1000]:
        text = "".join(rng.choice(ALPHABET) for _ in range(n))
        counter = Counting(seg.predict)
        got = Segmenter(spec, counter, batch=batch).labels(text)
        assert np.array_equal(got, reference_labels(text)), (size, context, batch, n)
        windows = math.ceil(n / step)
        assert counter.windows == windows and counter.calls == math.ceil(windows / batch)
        assert counter.max_shape[0] <= batch and counter.max_shape[1] <= size


# -- labels → sentences, streamed ---------------------------------------------------------------

SPACES = " \t\n\r\u2003\u00a0"


@pytest.mark.parametrize("block", [1, 5, 64, 1 << 16])
def test_streamed_spans_are_decodes(monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    """Random texts (paragraph breaks, every kind of whitespace) and random labels: the
    streamed tokens and sentences are decode's, whatever the block size."""
    monkeypatch.setattr("postag.segmentation.BLOCK", block)
    rng = random.Random(block)
    for _ in range(400):
        n = rng.randrange(0, 80)
        text = "".join(rng.choice("ab.é" + SPACES + "\n\n") for _ in range(n))
        labels = np.array([rng.choice([0, 0, 0, 1, 2, 3, 4]) for _ in range(n)], np.int64)
        want = decode(text, labels)
        spans = list(iter_token_spans(text, labels))
        assert [(a, b) for a, b, _ in spans] == want.tokens
        assert [lab in (3, 4) for *_, lab in spans] == want.multiword
        big = 10**9
        sents = list(segmented_sentences(text, labels, LEXICON, big, big))
        assert [(s.start, s.end) for s in sents] == want.sentences
        assert [(t.start, t.end) for s in sents for t in s.tokens] == want.tokens


def test_labels_checked() -> None:
    with pytest.raises(ValueError, match="shape"):
        iter_token_spans("abc", np.zeros(2, np.uint8))  # at the call, not at the first span
    with pytest.raises(ValueError, match="outside"):
        list(iter_token_spans("abc", np.array([0, 7, 1])))
    with pytest.raises(ValueError, match="at least 1"):
        segmented_sentences("abc", np.zeros(3, np.uint8), LEXICON, max_tokens=0)


def test_sentences_are_bounded(seg: Segmenter) -> None:
    """No sentence end in sight: a sentence is closed after max_tokens tokens, or before
    a token that would make it span more than max_chars characters."""
    text = "mot " * 2500
    sents = seg.sentences(text, max_tokens=1000)
    assert [len(s.tokens) for s in sents] == [1000, 1000, 500]
    assert sum(len(s) for s in seg.split_sentences(text)) == 2500
    sents = seg.sentences(text, max_chars=100)
    assert all(s.end - s.start <= 100 for s in sents)
    assert [len(s.tokens) for s in sents[:2]] == [25, 25]
    one = seg.sentences("x" * 500, max_chars=10)  # one token longer than max_chars: alone
    assert [(s.start, s.end) for s in one] == [(0, 500)]


def test_a_long_multiword_token_is_one_word(seg: Segmenter) -> None:
    """The lexicon's suffix rule is quadratic in the token's length: a "multiword" token
    longer than MAX_MULTIWORD_CHARS stays one word, the lexicon never asked."""
    asked: list[str] = []

    class Spy(MwtLexicon):
        def expand(self, surface: str) -> list[str]:
            asked.append(surface)
            return super().expand(surface)

    spy = Spy.learn([("du", ("de", "le"))])
    spec = SegmenterSpec(TABLE, 16, 3, spy)
    long = "a" * MAX_MULTIWORD_CHARS + "u"
    text = f"du {long} du"
    sents = Segmenter(spec, seg.predict).sentences(text)
    assert [(t.multiword, t.words) for t in sents[0].tokens] == [
        (True, ("de", "le")),
        (True, (long,)),
        (False, ("du",)),  # the text's last character: decode forces SENTENCE, not MWT
    ]
    assert asked == ["du"]


# -- linear work and bounded memory on hostile input --------------------------------------------


class CountingStr(str):
    """A text that counts the characters sliced out of it (``text[a:b]``)."""

    sliced: int

    def __getitem__(self, key: Any) -> str:  # type: ignore[override]
        piece = str.__getitem__(self, key)
        self.sliced += len(piece)
        return piece


HOSTILE = [
    "ordinary",
    "one-char",
    "no-spaces",
    "spaced-initials",
    "nfd-words",
    "flags",
    "zwj-emoji",
    "combining",
    "controls",
    "glued-sentences",
]


@pytest.mark.parametrize("family", HOSTILE)
def test_work_grows_linearly(seg: Segmenter, family: str) -> None:
    """n vs 8n characters of each adversarial family of postag.tokenizer_bench: the graph
    runs over ceil(n / step) windows (so 8x the windows, never 64x), and the whole path
    slices at most 6 characters per character of the text (label_text encodes each
    batch's stretch, context included, twice: ids and features; labels → sentences at
    most 3; no copy of the rest of the text per token or per sentence). Work is
    counted, not timed."""
    step = seg.spec.size - 2 * seg.spec.context
    counts = []
    for n in (4_000, 32_000):
        text = CountingStr(FAMILIES[family](n))
        text.sliced = 0
        probe, counter = counting(seg)
        tokens = sum(len(s.tokens) for s in probe.iter_segmented(text))
        assert counter.windows == math.ceil(n / step)
        assert text.sliced <= 6 * n, (family, n, text.sliced)
        assert tokens <= n
        counts.append((counter.calls, text.sliced))
    (calls_n, sliced_n), (calls_8n, sliced_8n) = counts
    assert calls_8n <= 8 * calls_n + 1
    assert sliced_8n <= 8 * sliced_n + 6 * 4_000


def test_a_million_characters_in_bounded_batches(seg: Segmenter) -> None:
    """1M characters: every graph run gets at most batch x size characters."""
    n = 1_000_000
    text = FAMILIES["ordinary"](n)
    probe, counter = counting(seg, batch=16, size=256)
    labels = probe.labels(text)
    assert counter.max_shape[0] <= 16 and counter.max_shape[1] <= 256
    assert counter.max_elems <= 16 * 256
    assert counter.windows == math.ceil(n / (256 - 2 * 3))
    assert counter.calls == math.ceil(counter.windows / 16)
    assert np.array_equal(labels[:4999], reference_labels(text[:5000])[:4999])


def test_streaming_holds_one_block_and_one_sentence(
    seg: Segmenter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Labels → sentences, consumed one at a time, allocates at most one block of labels
    and one sentence at its peak, not the text's tokens (25,000 of them here: their
    list alone would take megabytes)."""
    monkeypatch.setattr("postag.segmentation.BLOCK", 4096)
    text = FAMILIES["ordinary"](100_000)
    labels = seg.labels(text)
    tracemalloc.start()
    try:
        tokens = 0
        for s in segmented_sentences(text, labels, LEXICON):
            tokens += len(s.tokens)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert tokens == len(decode(text, labels).tokens) > 20_000
    assert peak < 500_000, peak


# -- malformed files ----------------------------------------------------------------------------


def _without(key: str) -> dict[str, Any]:
    data = settings()
    del data[key]
    return data


BAD_SETTINGS: list[tuple[str, Any, str]] = [
    *[
        (f"no {k}", _without(k), "missing key")
        for k in ("format", "chars", "labels", "window", "mwt")
    ],
    ("format 2", settings(format=2), "format 2"),
    ("format true", settings(format=True), "format True"),
    ("not an object", [1, 2], "JSON object"),
    ("labels reordered", settings(labels=list(reversed(LABELS))), "labels"),
    ("labels short", settings(labels=list(LABELS[:4])), "labels"),
    ("chars not a list", settings(chars="abc"), "'chars'"),
    ("chars without specials", settings(chars=["a", "b"]), "'chars'"),
    ("chars with a string", settings(chars=[*CHARS, "ab"]), "single characters"),
    ("chars with a number", settings(chars=[*CHARS, 5]), "single characters"),
    ("chars duplicated", settings(chars=[*CHARS, "a"]), "duplicates"),
    ("window not an object", settings(window=[16, 3]), "'window'"),
    ("window without context", settings(window={"size": 16}), "integers"),
    ("window size a string", settings(window={"size": "16", "context": 3}), "integers"),
    ("window size a bool", settings(window={"size": True, "context": 0}), "integers"),
    ("window too small", settings(size=6, context=3), "must exceed twice"),
    ("window negative context", settings(size=6, context=-1), "must exceed twice"),
    ("mwt format", settings(mwt={"format": 9, "analyses": [], "suffixes": []}), "'mwt'"),
    (
        "mwt analysis",
        settings(mwt={"format": 1, "analyses": [["du", [[[], 1]]]], "suffixes": []}),
        "'mwt'",
    ),
    ("mwt not an object", settings(mwt=None), "'mwt'"),
    ("treebank a number", settings(treebank=5), "'treebank'"),
    ("metrics a list", settings(metrics=[]), "'metrics'"),
]


@pytest.mark.parametrize(
    ("data", "message"), [b[1:] for b in BAD_SETTINGS], ids=[b[0] for b in BAD_SETTINGS]
)
def test_malformed_settings(tmp_path: Path, data: Any, message: str) -> None:
    directory = tmp_path / "seg"
    write_segmenter(directory, settings())
    (directory / JSON_FILE).write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(BundleError, match=message) as err:
        Segmenter.load(directory, threads=1)
    assert str(directory / JSON_FILE) in str(err.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b'{"format": 1,', "not valid JSON"), (b"\xff\xfe{}", "not valid UTF-8")],
)
def test_unreadable_settings(tmp_path: Path, content: bytes, message: str) -> None:
    directory = write_segmenter(tmp_path / "seg")
    (directory / JSON_FILE).write_bytes(content)
    with pytest.raises(BundleError, match=message) as err:
        Segmenter.load(directory, threads=1)
    assert str(directory / JSON_FILE) in str(err.value)


def test_missing_files(tmp_path: Path) -> None:
    directory = write_segmenter(tmp_path / "seg")
    with pytest.raises(BundleError, match="not a segmenter directory"):
        Segmenter.load(tmp_path / "nowhere")
    with pytest.raises(BundleError, match="not a segmenter directory"):
        Segmenter.load(directory / ONNX_FILE)  # the graph without its settings
    with pytest.raises(BundleError, match="no such file") as err:
        Segmenter.load(directory / ONNX_FILE, tmp_path / "missing.json")
    assert "missing.json" in str(err.value)
    (directory / JSON_FILE).unlink()
    with pytest.raises(BundleError, match=f"{JSON_FILE}: no such file"):
        Segmenter.load(directory)
    write_segmenter(directory)
    (directory / ONNX_FILE).unlink()
    with pytest.raises(BundleError, match=f"{ONNX_FILE}: no such file"):
        Segmenter.load(directory)


BAD_GRAPHS: list[tuple[str, Callable[[], onnx.ModelProto], str]] = [
    ("input names", lambda: build_graph(names=("ids", "features", "label_scores")), "graph I/O"),
    ("output name", lambda: build_graph(names=("chars", "features", "scores")), "graph I/O"),
    ("chars int32", lambda: build_graph(chars_type=TensorProto.INT32), "'chars' is tensor"),
    ("flat output", lambda: build_graph(flat_output=True), "'label_scores' is tensor"),
    ("fewer characters", lambda: build_graph(rows=20), "different exports"),
]


@pytest.mark.parametrize(
    ("make", "message"), [b[1:] for b in BAD_GRAPHS], ids=[b[0] for b in BAD_GRAPHS]
)
def test_malformed_graph(tmp_path: Path, make: Callable[[], onnx.ModelProto], message: str) -> None:
    directory = write_segmenter(tmp_path / "seg", graph=make())
    with pytest.raises(BundleError, match=message) as err:
        Segmenter.load(directory, threads=1)
    assert str(directory / ONNX_FILE) in str(err.value)


def test_not_a_graph_and_unknown_provider(tmp_path: Path) -> None:
    directory = write_segmenter(tmp_path / "seg")
    with pytest.raises(BundleError, match="no-such-provider"):
        Segmenter.load(directory, provider="no-such-provider")
    (directory / ONNX_FILE).write_bytes(b"not onnx")
    with pytest.raises(BundleError, match="onnxruntime cannot load") as err:
        Segmenter.load(directory, threads=1)
    assert str(directory / ONNX_FILE) in str(err.value)


def test_spec_round_trip() -> None:
    spec = SegmenterSpec.from_dict(settings(size=32, context=4))
    assert (spec.size, spec.context, spec.table, spec.lexicon) == (32, 4, TABLE, LEXICON)
    assert spec.config == {"size": 32, "context": 4}
    bare = {k: v for k, v in settings().items() if k not in ("config", "treebank", "metrics")}
    assert SegmenterSpec.from_dict(bare).treebank == ""
    with pytest.raises(ValueError, match="batch"):
        Segmenter(spec, lambda x, f: x, batch=0)
