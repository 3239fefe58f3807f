"""What the segmenter learns from, all torch-free (numpy): a treebank's raw text with one
label per character and its gold spans. The labels, character table, features, windows
and decoding live in the runtime (:mod:`postag.segmentation`, re-exported here), so
training and tagging share one implementation.

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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from postag.conll18 import parse_treebank, raw_text_from
from postag.data import conllu_blocks
from postag.errors import CorpusError
from postag.segmentation import (  # noqa: F401  (re-exported: the labels, table, windows)
    FEATURES,
    LABELS,
    MWT,
    MWT_SENTENCE,
    N_FEATURES,
    N_LABELS,
    NONE,
    PAD,
    PAD_ID,
    SENTENCE,
    TOKEN,
    UNK,
    UNK_ID,
    CharTable,
    Segments,
    Span,
    Window,
    char_features,
    decode,
    is_space,
    label_text,
    paragraph_spans,
    windows,
)

_SENT_ID = re.compile(r"#\s*sent_id\s*=\s*(.*)")


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


_NEWDOC = re.compile(r"^#\s*newdoc\b", re.MULTILINE)


def document_texts(conllu: str) -> list[str]:
    """The raw text of each document of CoNLL-U text (``# newdoc`` starts one; a file
    without any is one document), as :func:`postag.conll18.raw_text_from` gives it: what
    the parity gate runs the segmenter on, document by document. Linear."""
    conllu = conllu.removeprefix("\ufeff")
    cuts = [m.start() for m in _NEWDOC.finditer(conllu)]
    bounds = [0, *(c for c in cuts if c > 0), len(conllu)]
    texts = (raw_text_from(conllu[a:b]) for a, b in zip(bounds, bounds[1:], strict=False))
    return [t for t in texts if t.strip()]
