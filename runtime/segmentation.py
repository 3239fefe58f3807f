"""Raw text → tokens and sentences with a trained character model, the torch-free half
shared by training (``postag.export.segment``) and the runtime: the per-character labels,
the character table and features the model reads, the bounded windows it runs over, and
labels back into token and sentence spans.

    from postag.segmentation import CharTable, decode, label_text
    table = CharTable.build([train_text]); table.encode("du vin")   # int64 ids, 0 pad, 1 unknown
    labels = label_text(text, table, predict, size=256, context=32)  # (len(text),) uint8
    segs = decode(text, labels); segs.tokens, segs.multiword, segs.sentences

**Labels** (Stanza's encoding), one per character of the text, on the last character of
each token: :data:`TOKEN` (1), :data:`SENTENCE` (2: the token ends a sentence),
:data:`MWT` (3: a multiword token, "du", "don't"), :data:`MWT_SENTENCE` (4: both);
every other character, whitespace included, is :data:`NONE` (0). A paragraph (a run of
whitespace with two line breaks) always ends a sentence, and :func:`decode` forces that
on any input, as it forces the text's last token to end a sentence.

**Model input.** :class:`CharTable`: characters seen in training at least ``min_count``
times get ids 2…; 0 is padding, 1 unknown; stored as a plain JSON list whose index is
the id. :func:`char_features`: per character (is space, is upper, is digit, is
punctuation), which an unknown character keeps. :func:`windows`: the text cut into
windows of at most ``size`` characters, each predicting only its middle (``context``
characters of look-around on each side): ``ceil(n / (size - 2 * context))`` windows
for ``n`` characters, so the work is linear and the memory bounded for any length.
:func:`label_text` runs any model (``predict``: ids and features of a batch of windows
→ label scores) over those windows; the PyTorch model and the ONNX graph are run through
it alike, so the parity gate compares exactly what the runtime does.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

NONE, TOKEN, SENTENCE, MWT, MWT_SENTENCE = range(5)
#: Label names, by label id.
LABELS = ("none", "token", "sentence", "mwt", "mwt_sentence")
N_LABELS = len(LABELS)
#: Ids of the character table's specials.
PAD_ID, UNK_ID = 0, 1
PAD, UNK = "<pad>", "<unk>"
#: :func:`char_features`'s columns.
FEATURES = ("space", "upper", "digit", "punct")
N_FEATURES = len(FEATURES)

#: A paragraph break in any input: a run of whitespace with two line breaks.
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")

Span = tuple[int, int]  # (start, end) offsets into the text, end exclusive


def is_space(text: str) -> np.ndarray:
    """(len(text),) bool: which characters are whitespace (``str.isspace``)."""
    return np.fromiter((c.isspace() for c in text), dtype=bool, count=len(text))


def paragraph_spans(text: str) -> list[Span]:
    """The spans of ``text``'s paragraphs: its non-blank stretches between paragraph
    breaks, leading and trailing whitespace left out."""
    spans: list[Span] = []
    start = 0
    for m in [*_PARAGRAPH_BREAK.finditer(text), None]:
        end = m.start() if m else len(text)
        chunk = text[start:end]
        if chunk.strip():
            lead = len(chunk) - len(chunk.lstrip())
            spans.append((start + lead, start + len(chunk.rstrip())))
        start = m.end() if m else end
    return spans


# -- labels → spans -------------------------------------------------------------------------


@dataclass(frozen=True)
class Segments:
    """Tokens and sentences as spans of the text; ``multiword[i]``: token ``i`` is a
    multiword token (its label is :data:`MWT` or :data:`MWT_SENTENCE`)."""

    tokens: list[Span]
    multiword: list[bool]
    sentences: list[Span]


def decode(text: str, labels: np.ndarray) -> Segments:
    """Labels (``(len(text),)`` integers in ``[0, N_LABELS)``) → spans. A token runs from
    the first non-space character after the previous token to a character labelled
    non-zero; labels on whitespace are ignored; the last non-space character before a
    paragraph break and at the end of the text always ends a token and a sentence
    (:func:`iter_token_spans`, which this collects). Linear."""
    tokens: list[Span] = []
    multiword: list[bool] = []
    sentences: list[Span] = []
    sent_start = -1
    for start, end, label in iter_token_spans(text, labels):
        tokens.append((start, end))
        multiword.append(label in (MWT, MWT_SENTENCE))
        if sent_start < 0:
            sent_start = start
        if label in (SENTENCE, MWT_SENTENCE):
            sentences.append((sent_start, end))
            sent_start = -1
    return Segments(tokens, multiword, sentences)


#: :func:`iter_token_spans` reads this many characters' labels at a time.
BLOCK = 1 << 16
_NON_SPACE = re.compile(r"\S")  # re's \s is exactly str.isspace()


def _forced_ends(text: str) -> Iterator[int]:
    """Where :func:`decode` forces a sentence end, in increasing
    order: the last non-space character before each paragraph break and before the end
    of the text. Each scan back stops at the previous break, so the whole is linear."""
    lo = 0
    for m in itertools.chain(_PARAGRAPH_BREAK.finditer(text), [None]):
        at = m.start() if m else len(text)
        p = at - 1
        while p >= lo and text[p].isspace():
            p -= 1
        if p >= lo:  # else: only whitespace since the last break, already forced there
            yield p
        lo = m.end() if m else at


def iter_token_spans(text: str, labels: np.ndarray) -> Iterator[tuple[int, int, int]]:
    """``(start, end, label)`` of each token of ``text``, in order: exactly the tokens of
    :func:`decode` (``label`` is the token's effective label:
    :data:`~postag.segmentation.SENTENCE` or ``MWT_SENTENCE`` when it ends a sentence).
    Reads the labels :data:`BLOCK` characters at a time and never copies more; linear.
    Labels must be ``(len(text),)`` integers in ``[0, N_LABELS)`` (a wrong shape is a
    :class:`ValueError` at the call, a value out of range when its block is read)."""
    if labels.shape != (len(text),):
        raise ValueError(f"labels of shape {labels.shape} for {len(text)} characters")
    return _token_spans(text, labels)


def _token_spans(text: str, labels: np.ndarray) -> Iterator[tuple[int, int, int]]:
    n = len(text)
    forced = _forced_ends(text)
    next_forced = next(forced, n)
    prev_end = 0
    for a in range(0, n, BLOCK):
        b = min(n, a + BLOCK)
        if int(labels[a:b].max()) >= N_LABELS or int(labels[a:b].min()) < 0:
            raise ValueError(f"labels outside [0, {N_LABELS}) in characters {a}..{b}")
        block = labels[a:b].astype(np.uint8)  # a copy: (b - a,)
        block[is_space(text[a:b])] = NONE
        while next_forced < b:
            i = next_forced - a
            block[i] = MWT_SENTENCE if block[i] in (MWT, MWT_SENTENCE) else SENTENCE
            next_forced = next(forced, n)
        for i in np.flatnonzero(block).tolist():
            end = a + i
            m = _NON_SPACE.search(text, prev_end, end + 1)
            start = m.start() if m else end  # (never None: text[end] is not a space)
            prev_end = end + 1
            yield start, prev_end, int(block[i])


# -- model input ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CharTable:
    """Character → id: ``chars[id]``, ``chars[0] == PAD``, ``chars[1] == UNK``."""

    chars: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.chars[:2] != (PAD, UNK) or len(set(self.chars)) != len(self.chars):
            raise ValueError("a CharTable starts with <pad>, <unk> and has no duplicates")
        object.__setattr__(self, "_ids", {c: i for i, c in enumerate(self.chars)})

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 2) -> CharTable:
        """The characters of ``texts`` seen at least ``min_count`` times, most frequent
        first (ties: by code point)."""
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(text)
        kept = sorted(
            (c for c, k in counts.items() if k >= min_count), key=lambda c: (-counts[c], c)
        )
        return cls((PAD, UNK, *kept))

    @classmethod
    def from_list(cls, chars: list[str]) -> CharTable:
        """The inverse of :meth:`to_list` (a checkpoint's or bundle's JSON list)."""
        return cls(tuple(chars))

    def to_list(self) -> list[str]:
        return list(self.chars)

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """(len(text),) int64 ids, :data:`UNK_ID` for characters not in the table."""
        ids: dict[str, int] = self._ids  # type: ignore[attr-defined]
        return np.fromiter((ids.get(c, UNK_ID) for c in text), dtype=np.int64, count=len(text))


@lru_cache(maxsize=4096)
def _features(c: str) -> tuple[float, float, float, float]:
    return (
        float(c.isspace()),
        float(c.isupper()),
        float(c.isdigit()),
        float(unicodedata.category(c).startswith("P")),
    )


def char_features(text: str) -> np.ndarray:
    """(len(text), N_FEATURES) float32: the :data:`FEATURES` of each character."""
    rows = [_features(c) for c in text]
    return np.array(rows, dtype=np.float32).reshape(len(text), N_FEATURES)


@dataclass(frozen=True)
class Window:
    """Characters ``[start, end)`` go through the model; the labels of ``[keep_start,
    keep_end)`` are taken from this window."""

    start: int
    end: int
    keep_start: int
    keep_end: int


def windows(n: int, size: int, context: int) -> Iterator[Window]:
    """The windows over ``n`` characters: the kept parts tile ``[0, n)`` in steps of
    ``size - 2 * context``, each with up to ``context`` characters of look-around on
    either side (less at the text's ends); none longer than ``size``. Bad arguments are
    a :class:`ValueError` at the call, not at the first window."""
    step = size - 2 * context
    if context < 0 or step <= 0:
        raise ValueError(f"window size {size} must exceed twice its context {context} (>= 0)")
    if n < 0:
        raise ValueError(f"a negative number of characters: {n}")
    return _windows(n, step, context)


def _windows(n: int, step: int, context: int) -> Iterator[Window]:
    for keep in range(0, n, step):
        keep_end = min(n, keep + step)
        yield Window(max(0, keep - context), min(n, keep_end + context), keep, keep_end)


#: A model over a batch of windows: ids ``(batch, length)`` int64 and features
#: ``(batch, length, N_FEATURES)`` float32 → label scores ``(batch, length, N_LABELS)``.
Predict = Callable[[np.ndarray, np.ndarray], np.ndarray]


def label_text(
    text: str,
    table: CharTable,
    predict: Predict,
    size: int,
    context: int,
    batch: int = 16,
) -> np.ndarray:
    """(len(text),) uint8: the label of each character, ``predict`` run over the
    :func:`windows` of the text, ``batch`` windows at a time (padded to the longest of
    the batch with :data:`PAD_ID` and zero features); each character's label is the
    argmax of its scores in the window that keeps it. Linear time in ``len(text)``;
    memory: the labels (one byte per character) and ``batch * size`` characters'
    encoding at a time."""
    n = len(text)
    labels = np.zeros(n, dtype=np.uint8)  # (n,)
    group: list[Window] = []
    for w in windows(n, size, context):
        group.append(w)
        if len(group) == batch:
            _run(group, text, table, predict, labels)
            group = []
    if group:
        _run(group, text, table, predict, labels)
    return labels


def _run(
    group: list[Window], text: str, table: CharTable, predict: Predict, out: np.ndarray
) -> None:
    """One batch of windows: only their stretch of the text is encoded (memory bounded
    by the batch, whatever the text's length)."""
    width = max(w.end - w.start for w in group)
    lo, hi = group[0].start, group[-1].end
    ids, feats = table.encode(text[lo:hi]), char_features(text[lo:hi])  # (hi-lo,), (hi-lo, F)
    x = np.full((len(group), width), PAD_ID, dtype=np.int64)  # (batch, width)
    f = np.zeros((len(group), width, N_FEATURES), dtype=np.float32)  # (batch, width, features)
    for i, w in enumerate(group):
        x[i, : w.end - w.start] = ids[w.start - lo : w.end - lo]
        f[i, : w.end - w.start] = feats[w.start - lo : w.end - lo]
    scores = predict(x, f)  # (batch, width, N_LABELS)
    if scores.shape[:2] != x.shape or scores.shape[2] != N_LABELS:
        raise ValueError(f"the segmenter returned scores of shape {scores.shape} for {x.shape}")
    best = scores.argmax(axis=-1)  # (batch, width)
    for i, w in enumerate(group):
        a, b = w.keep_start - w.start, w.keep_end - w.start
        out[w.keep_start : w.keep_end] = best[i, a:b]
