"""What the segmenter learns from and sees, all torch-free (numpy): a treebank's raw text
with one label per character, the character id table and features, the windows the
text is cut into, and labels back into token and sentence spans.

    from postag.export.segment.data import read_document, CharTable, decode
    doc = read_document("fr_sequoia-ud-train.conllu")
    doc.text[:40], doc.labels[:40]          # the raw text; uint8 (len(text),)
    decode(doc.text, doc.labels).tokens == doc.tokens    # gold labels give the gold spans
    table = CharTable.build([doc.text]); table.encode("du vin")   # int64 ids, 0 pad, 1 unknown

**Text.** Exactly :func:`postag.conll18.raw_text` of the file (each sentence's ``#
text``, or its tokens spaced as ``SpaceAfter=No`` says; sentences of a paragraph joined
by one space; a blank line before each ``# newpar``/``# newdoc``), so a segmenter that
reproduces the labels scores 100 Tokens and Sentences with :mod:`postag.conll18` and the
official script. Tokens, sentences and multiword ranges come from
:func:`postag.conll18.parse_treebank` (nothing is parsed twice here): its characters
(token FORMs, Unicode space separators removed) are the text's non-whitespace
characters, in order; a sentence whose tokens do not spell its ``# text`` (whitespace
aside) is a :class:`~postag.errors.CorpusError` naming the file, line and ``sent_id``.

**Labels** (Stanza's encoding), one per character of the text, on the last character of
each token: :data:`TOKEN` (1), :data:`SENTENCE` (2: the token ends a sentence),
:data:`MWT` (3: a multiword token, "du", "don't"), :data:`MWT_SENTENCE` (4: both);
every other character, whitespace included, is :data:`NONE` (0). A token holding a
space ("10 000" in some treebanks) ends at its last non-space character. Paragraphs
(``Document.paragraphs``) are the text's blank-line-separated blocks; a paragraph always
ends a sentence, and :func:`decode` forces that on any input (a run of whitespace with
two line breaks), as it forces the text's last token to end a sentence.

**Model input.** :class:`CharTable`: characters seen in training at least ``min_count``
times get ids 2…; 0 is padding, 1 unknown (rarer training characters are unknown while
training too, so the unknown row is trained); stored as a plain JSON list whose index
is the id. :func:`char_features`: per character (is space, is upper, is digit, is
punctuation), which an unknown character keeps. :func:`windows`: the text cut into
windows of at most ``size`` characters, each predicting only its middle (``context``
characters of look-around on each side): ``ceil(n / (size - 2 * context))`` windows
for ``n`` characters, so the work is linear and the memory bounded for any length.

Cost: one pass over the text and one over the tokens (linear); a mismatching ``# text``
is then located by one more pass over the sentences.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from postag.conll18 import parse_treebank, raw_text_from
from postag.data import conllu_blocks
from postag.errors import CorpusError

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
_SENT_ID = re.compile(r"#\s*sent_id\s*=\s*(.*)")

Span = tuple[int, int]  # (start, end) offsets into the text, end exclusive


@dataclass(frozen=True, eq=False)
class Document:
    """A treebank file as the segmenter learns it: its raw text, one label per character
    (``labels``: uint8, ``(len(text),)``) and the gold spans of its tokens, sentences
    and paragraphs in that text (``text[start:end]``)."""

    source: str
    text: str
    labels: np.ndarray  # (len(text),) uint8
    tokens: list[Span]
    sentences: list[Span]
    paragraphs: list[Span]

    def counts(self) -> dict[str, int]:
        """How many characters carry each label."""
        n = np.bincount(self.labels, minlength=N_LABELS)
        return {name: int(k) for name, k in zip(LABELS, n, strict=True)}


def is_space(text: str) -> np.ndarray:
    """(len(text),) bool: which characters are whitespace (``str.isspace``)."""
    return np.fromiter((c.isspace() for c in text), dtype=bool, count=len(text))


def document_from_conllu(conllu: str, source: str = "<string>") -> Document:
    """CoNLL-U text → :class:`Document`; ``source`` names it in error messages."""
    conllu = conllu.removeprefix("\ufeff")
    text = raw_text_from(conllu)
    tb = parse_treebank(conllu, source)
    space = is_space(text)
    pos = np.flatnonzero(~space)  # (chars,): text offset of each non-whitespace character
    if len(pos) != len(tb.chars) or "".join(text[i] for i in pos) != tb.chars:
        raise _mismatch(conllu, source)
    labels = np.zeros(len(text), dtype=np.uint8)  # (len(text),)
    multiword = {(w.start, w.end) for w in tb.words if w.multiword}
    sentence_ends = {end for _, end in tb.sentences}
    tokens: list[Span] = []
    for start, end in tb.tokens:
        last = int(pos[end - 1])
        label = MWT if (start, end) in multiword else TOKEN
        labels[last] = label + (end in sentence_ends)  # TOKEN → SENTENCE, MWT → MWT_SENTENCE
        tokens.append((int(pos[start]), last + 1))
    sentences = [(int(pos[s]), int(pos[e - 1]) + 1) for s, e in tb.sentences]
    return Document(source, text, labels, tokens, sentences, paragraph_spans(text))


def read_document(path: str | Path) -> Document:
    """:func:`document_from_conllu` of a CoNLL-U file (UTF-8)."""
    try:
        conllu = Path(path).read_bytes().decode("utf-8")
    except OSError as exc:
        raise CorpusError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{path}: not valid UTF-8 ({exc.reason})") from None
    return document_from_conllu(conllu, str(path))


def _mismatch(conllu: str, source: str) -> CorpusError:
    """The first sentence whose tokens do not spell its ``# text`` (whitespace aside),
    found sentence by sentence (only once the whole file is known to mismatch)."""
    lines = enumerate(conllu.replace("\r\n", "\n").split("\n"), start=1)
    for start, block in conllu_blocks(lines, source=source):
        one = "\n".join(block) + "\n"
        chars = parse_treebank(one, source).chars
        text = "".join(raw_text_from(one).split())
        if chars != text:
            same = min(len(chars), len(text))
            k = next((i for i, (a, b) in enumerate(zip(chars, text, strict=False)) if a != b), same)
            sent_id = next((m.group(1) for x in block if (m := _SENT_ID.fullmatch(x))), "?")
            return CorpusError(
                f"{source}:{start}: sentence {sent_id}: its tokens do not spell its # text "
                f"(whitespace aside): from character {k}, the text has {text[k : k + 20]!r}, "
                f"the tokens {chars[k : k + 20]!r}"
            )
    return CorpusError(f"{source}: its tokens do not spell its text (whitespace aside)")


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
    """Labels (``(len(text),)``, any integer type) → spans. A token runs from the first
    non-space character after the previous token to a character labelled non-zero;
    labels on whitespace are ignored; the last non-space character before a paragraph
    break and at the end of the text always ends a token and a sentence. Linear."""
    n = len(text)
    if labels.shape != (n,):
        raise ValueError(f"labels of shape {labels.shape} for {n} characters")
    space = is_space(text)
    labels = np.where(space, NONE, labels.astype(np.int64))  # (n,)
    idx = np.arange(n)
    # last non-space character at or before i; first at or after i (n: none)
    last_ns = np.maximum.accumulate(np.where(space, -1, idx)) if n else idx  # (n,)
    next_ns = np.minimum.accumulate(np.where(space, n, idx)[::-1])[::-1] if n else idx  # (n,)
    forced = [m.start() for m in _PARAGRAPH_BREAK.finditer(text)] + [n]
    for at in forced:
        if at > 0 and (p := int(last_ns[at - 1])) >= 0:
            labels[p] = MWT_SENTENCE if labels[p] in (MWT, MWT_SENTENCE) else SENTENCE
    tokens: list[Span] = []
    multiword: list[bool] = []
    sentences: list[Span] = []
    sent_start = -1
    for end in np.flatnonzero(labels).tolist():
        start = int(next_ns[tokens[-1][1]]) if tokens else int(next_ns[0])
        tokens.append((start, end + 1))
        label = int(labels[end])
        multiword.append(label in (MWT, MWT_SENTENCE))
        if sent_start < 0:
            sent_start = start
        if label in (SENTENCE, MWT_SENTENCE):
            sentences.append((sent_start, end + 1))
            sent_start = -1
    return Segments(tokens, multiword, sentences)


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
