"""Score a raw-text run (tokenization, sentence splitting and tagging together) against
gold CoNLL-U as the CoNLL 2018 shared task does: the two files are aligned on their
characters, so the system may cut tokens, words and sentences differently from the gold.

    from postag.conll18 import raw_text, score_files
    text = raw_text("en_ewt-ud-dev.conllu")        # what the system is given
    result = score_files("en_ewt-ud-dev.conllu", "system.conllu")
    print(result.table())                          # like conll18_ud_eval.py -v
    result.upos.f1, result.words.recall, result.to_dict()

    python -m postag.conll18 GOLD.conllu SYSTEM.conllu [-c]     # the table (-c: counts)

Metrics (each a :class:`Count`: correct, gold, system and, for the tags, aligned):

* ``Tokens``, ``Sentences``: a system token (sentence) is correct when a gold one covers
  exactly the same characters;
* ``Words``: a system word is correct when it is aligned with a gold word (below);
* ``UPOS``, ``XPOS``, ``UFeats``, ``AllTags``: an aligned word whose label is the gold
  one; UFeats compares universal features only (:data:`UNIVERSAL_FEATURES`, sorted),
  AllTags all three. Besides precision (/ system), recall (/ gold) and F1, these have
  the aligned accuracy (/ aligned words): tagging quality on the words that were found.

Alignment (the shared task's definition; implemented here from its description, not
copied from ``conll18_ud_eval.py``):

1. Every *token* (a word line, or the range line ``3-4`` of a multiword token) is a span
   of the file's characters: the concatenation of all token FORMs with their Unicode
   space separators (Zs) removed. Gold and system must spell the same characters, else
   :class:`TextMismatchError`; whitespace never matters.
2. Words outside multiword tokens align when their spans are equal, found by one merge
   of the two files' words in text order.
3. Where a multiword token stands (in either file), the smallest stretch of text that
   holds it and every multiword token overlapping it (from either file) is a
   *multiword span*; its gold and system words align by the longest common subsequence
   of their lowercased FORMs, ties broken as the official script breaks them.

Cost: linear in the files' size for the parse and the merge; each multiword span adds
(gold words × system words) in it for its LCS table (usually one token of 2-3 words on
each side). :func:`align_words` counts the steps (``Alignment.steps``).

Input is read tolerantly: CR LF line ends, a byte order mark, several blank lines
between sentences, comment-only blocks, a missing final blank line, comments inside a
sentence and ``_`` in HEAD are accepted (the official script refuses some of these).
What cannot be scored is a :class:`~postag.errors.CorpusError` naming the file and line:
a line without 10 tab-separated columns, a bad or out-of-sequence ID, an empty FORM, a
multiword token whose words do not follow it, invalid UTF-8.

Raw text (:func:`raw_text`): each sentence's ``# text`` (else its tokens, spaced as
their ``SpaceAfter=No`` says), joined by one space within a paragraph; a paragraph
(``# newpar``) or document (``# newdoc``) starts after a blank line, as UD's
``conllu_to_text.pl`` makes the shared task's ``.txt`` files, but without wrapping lines
at 80 characters (a line break after ``.`` would tell a raw-text pipeline that a
sentence ends there). A file without ``# newpar``/``# newdoc`` is one paragraph.
"""

from __future__ import annotations

import argparse
import bisect
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import regex

from .errors import CorpusError

if TYPE_CHECKING:
    from .tagger import TaggedSentence

#: The universal features of UD v2 as the CoNLL 2018 shared task scores UFeats (the 21
#: of the guidelines of its time); any other feature (``NumForm``, ``Typo``,
#: ``Number[psor]``, …) is left out before comparing.
UNIVERSAL_FEATURES = frozenset(
    {"PronType", "NumType", "Poss", "Reflex", "Foreign", "Abbr",
     "Gender", "Animacy", "Number", "Case", "Definite", "Degree",
     "VerbForm", "Mood", "Tense", "Aspect", "Voice", "Evident", "Polarity", "Person", "Polite"}
)  # fmt: skip

#: The metrics, in the order of the official script's table.
METRICS = ("Tokens", "Sentences", "Words", "UPOS", "XPOS", "UFeats", "AllTags")
#: The metrics computed on aligned words (they have an aligned accuracy).
TAG_METRICS = ("UPOS", "XPOS", "UFeats", "AllTags")

_SPACE_SEPARATORS = regex.compile(r"\p{Zs}+")  # what is removed from a token's FORM
_WORD_ID = re.compile(r"[1-9][0-9]*")
_RANGE_ID = re.compile(r"([1-9][0-9]*)-([1-9][0-9]*)")
_EMPTY_ID = re.compile(r"[0-9]+\.[1-9][0-9]*")
_TEXT = re.compile(r"#\s*text\s*=\s*(.*)")
_NEW_PARAGRAPH = re.compile(r"#\s*new(?:par|doc)(?:\s|$)")


class TextMismatchError(CorpusError):
    """The gold and system files do not spell the same text (whitespace aside), so they
    cannot be aligned."""


class Word(NamedTuple):
    """One syntactic word. ``start``/``end``: its token's span in the file's characters
    (a multiword token's whole span for each of its words)."""

    start: int
    end: int
    multiword: bool  # part of a multiword token
    form: str  # lowercased (what the LCS of a multiword span compares)
    upos: str
    xpos: str
    ufeats: str  # universal features only, sorted, "|"-joined; "" for none


@dataclass(frozen=True)
class Treebank:
    """A CoNLL-U file as the scorer sees it. Spans are ``(start, end)`` offsets into
    ``chars``, end exclusive."""

    source: str
    chars: str  # every token's FORM, Zs removed, concatenated
    tokens: list[tuple[int, int]]  # one per token: a word, or a multiword token's range
    token_lines: list[int]  # the line each token is on (error messages)
    sentences: list[tuple[int, int]]
    words: list[Word]


def universal_feats(feats: str) -> str:
    """The FEATS column as UFeats compares it: its universal ``Feature=Value`` pairs,
    sorted and ``|``-joined (``_`` and language-specific features only give ``""``)."""
    return "|".join(sorted(f for f in feats.split("|") if f.split("=", 1)[0] in UNIVERSAL_FEATURES))


def _decode(raw: bytes, source: str) -> str:
    """UTF-8 bytes → text without a byte order mark; invalid UTF-8 names the line."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CorpusError(f"{source}:{line}: not valid UTF-8 ({exc.reason})") from None
    return text.removeprefix("\ufeff")


def _read(path: str | Path) -> str:
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    return _decode(path.read_bytes(), str(path))


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line without its line end), from 1."""
    for number, line in enumerate(text.split("\n"), start=1):
        yield number, line[:-1] if line.endswith("\r") else line


def parse_treebank(text: str, source: str = "<string>") -> Treebank:
    """CoNLL-U text → :class:`Treebank`; ``source`` names it in error messages."""
    text = text.removeprefix("\ufeff")
    forms: list[str] = []  # token FORMs, Zs removed
    tokens: list[tuple[int, int]] = []
    token_lines: list[int] = []
    sentences: list[tuple[int, int]] = []
    words: list[Word] = []
    index = 0  # characters so far
    sent_start: int | None = None  # index where the open sentence started
    sent_line = 0
    next_id = 1  # the ID the next word must have
    mwt_last = 0  # the last word ID of the open multiword token (0: none open)
    mwt_id, mwt_line = "", 0  # its ID and line (error messages)
    number = 0  # the line being read

    def close(number: int) -> None:
        nonlocal sent_start, next_id
        if mwt_last:
            raise CorpusError(
                f"{source}:{mwt_line}: multiword token {mwt_id} lacks word {next_id} "
                f"(the sentence ends at line {number})"
            )
        if sent_start is not None:
            if next_id == 1:
                raise CorpusError(f"{source}:{sent_line}: sentence has no words")
            sentences.append((sent_start, index))
        sent_start, next_id = None, 1

    for number, line in _lines(text):
        if not line.strip():
            close(number)
            continue
        if line.startswith("#"):
            continue
        where = f"{source}:{number}"
        cols = line.split("\t")
        if len(cols) != 10:
            raise CorpusError(f"{where}: expected 10 tab-separated columns, found {len(cols)}")
        if sent_start is None:
            sent_start, sent_line = index, number
        tok_id, form = cols[0], cols[1]
        if _EMPTY_ID.fullmatch(tok_id):
            continue  # an empty node: no characters, not a word
        if not form:
            raise CorpusError(f"{where}: empty FORM")
        is_range = _RANGE_ID.fullmatch(tok_id)
        if is_range is None and not _WORD_ID.fullmatch(tok_id):
            raise CorpusError(f"{where}: invalid ID {tok_id!r}")
        first = int(is_range.group(1)) if is_range else int(tok_id)
        if first != next_id:
            raise CorpusError(f"{where}: ID {tok_id}, expected {next_id} next")
        if mwt_last and is_range:
            raise CorpusError(f"{source}:{mwt_line}: multiword token {mwt_id} lacks word {first}")
        if is_range or not mwt_last:  # a token: a multiword token's range, or a plain word
            chars = _SPACE_SEPARATORS.sub("", form)
            if not chars:
                raise CorpusError(f"{where}: FORM {form!r} is only space separators")
            forms.append(chars)
            tokens.append((index, index + len(chars)))
            token_lines.append(number)
            index += len(chars)
            form = chars
        if is_range:
            last = int(is_range.group(2))
            if last < first:
                raise CorpusError(f"{where}: multiword token range {tok_id} ends before it starts")
            mwt_last, mwt_id, mwt_line = last, tok_id, number
            continue
        start, end = tokens[-1]
        words.append(
            Word(
                start, end, bool(mwt_last), form.lower(), cols[3], cols[4], universal_feats(cols[5])
            )
        )
        next_id += 1
        if mwt_last and first == mwt_last:
            mwt_last = 0
    close(number)
    return Treebank(source, "".join(forms), tokens, token_lines, sentences, words)


def read_treebank(path: str | Path) -> Treebank:
    """Read a CoNLL-U file (UTF-8) into a :class:`Treebank`."""
    return parse_treebank(_read(path), str(path))


# -- alignment ------------------------------------------------------------------------------


@dataclass
class Alignment:
    """Aligned word pairs ``(gold index, system index)``, in text order, and the steps
    taken to find them (merge steps + LCS table cells): linear in the input unless
    multiword spans grow long."""

    pairs: list[tuple[int, int]]
    steps: int


def _within(words: Sequence[Word], i: int, end: int) -> bool:
    """Whether word ``i`` belongs to a multiword span that reaches ``end`` so far: a
    multiword token's word when its token starts before ``end``, another word when it
    ends by ``end``."""
    if i >= len(words):
        return False
    w = words[i]
    return w.start < end if w.multiword else w.end <= end


def _multiword_span(
    gold: Sequence[Word], system: Sequence[Word], g: int, s: int
) -> tuple[int, int, int, int]:
    """The multiword span that opens at ``gold[g]`` or ``system[s]`` (one of them is in a
    multiword token): ``(g0, g1, s0, s1)``, its words ``gold[g0:g1]`` and
    ``system[s0:s1]``. A plain word of the other file that starts before the multiword
    token is passed over; the span then takes the words of both files in text order
    (gold first on a tie), each multiword token taken pushing its end to the token's."""
    if gold[g].multiword:
        end = gold[g].end
        if not system[s].multiword and system[s].start < gold[g].start:
            s += 1
    else:
        end = system[s].end
        if not gold[g].multiword and gold[g].start < system[s].start:
            g += 1
    g0, s0 = g, s
    while _within(gold, g, end) or _within(system, s, end):
        if g < len(gold) and (s >= len(system) or gold[g].start <= system[s].start):
            w, g = gold[g], g + 1
        else:
            w, s = system[s], s + 1
        if w.multiword:
            end = max(end, w.end)
    return g0, g, s0, s


def _lcs_pairs(gold: Sequence[Word], system: Sequence[Word]) -> list[tuple[int, int]]:
    """The longest common subsequence of two word lists by lowercased FORM, as index
    pairs. ``table[i, j]``: LCS length of ``gold[i:]`` and ``system[j:]``, built a row at
    a time from the bottom: a match extends the diagonal, which is never below the cell
    under it, and the row is then a running maximum from the right. Read from the top
    left: equal forms pair up; else the gold word is dropped when that keeps the LCS
    length, the system word otherwise."""
    n, m = len(gold), len(system)
    ids: dict[str, int] = {}
    g_ids = np.array([ids.setdefault(w.form, len(ids)) for w in gold], dtype=np.int64)  # (n,)
    s_ids = np.array([ids.setdefault(w.form, len(ids)) for w in system], dtype=np.int64)  # (m,)
    same = g_ids[:, None] == s_ids[None, :]  # (n, m)
    table = np.zeros((n + 1, m + 1), dtype=np.int32)  # row n, column m: empty suffixes
    for i in range(n - 1, -1, -1):
        below = table[i + 1]
        best = np.where(same[i], below[1:] + 1, below[:-1])  # (m,)
        table[i, :m] = np.maximum.accumulate(best[::-1])[::-1]
    pairs = []
    i = j = 0
    while i < n and j < m:
        if same[i, j]:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif table[i, j] == table[i + 1, j]:
            i += 1
        else:
            j += 1
    return pairs


def align_words(gold: Sequence[Word], system: Sequence[Word]) -> Alignment:
    """Align two files' words (see the module docstring)."""
    pairs: list[tuple[int, int]] = []
    steps = 0
    g = s = 0
    while g < len(gold) and s < len(system):
        steps += 1
        gw, sw = gold[g], system[s]
        if gw.multiword or sw.multiword:
            g0, g, s0, s = _multiword_span(gold, system, g, s)
            steps += (g - g0) + (s - s0) + (g - g0) * (s - s0)
            if g > g0 and s > s0:
                found = _lcs_pairs(gold[g0:g], system[s0:s])
                pairs.extend((g0 + i, s0 + j) for i, j in found)
        elif gw.start == sw.start and gw.end == sw.end:
            pairs.append((g, s))
            g, s = g + 1, s + 1
        elif gw.start <= sw.start:
            g += 1
        else:
            s += 1
    return Alignment(pairs, steps)


# -- scores ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    """One metric's counts. ``aligned``: the aligned words it was measured on (tag
    metrics only)."""

    correct: int
    gold: int
    system: int
    aligned: int | None = None

    @property
    def precision(self) -> float:
        return self.correct / self.system if self.system else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        total = self.gold + self.system
        return 2 * self.correct / total if total else 0.0

    @property
    def aligned_accuracy(self) -> float | None:
        if self.aligned is None:
            return None
        return self.correct / self.aligned if self.aligned else 0.0

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"correct": self.correct, "gold": self.gold, "system": self.system}
        d |= {"precision": self.precision, "recall": self.recall, "f1": self.f1}
        if self.aligned is not None:
            d |= {"aligned": self.aligned, "aligned_accuracy": self.aligned_accuracy}
        return d


@dataclass(frozen=True)
class Conll18Result:
    """The CoNLL 2018 tokenization, segmentation and tagging metrics of one system file."""

    tokens: Count
    sentences: Count
    words: Count
    upos: Count
    xpos: Count
    ufeats: Count
    alltags: Count

    def metrics(self) -> dict[str, Count]:
        """{official metric name: counts}, in :data:`METRICS` order."""
        return {name: getattr(self, name.lower()) for name in METRICS}

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {name: c.to_dict() for name, c in self.metrics().items()}

    def table(self) -> str:
        """The rows of ``conll18_ud_eval.py -v`` for these metrics, in its format."""
        lines = [
            "Metric     | Precision |    Recall |  F1 Score | AligndAcc",
            "-----------+-----------+-----------+-----------+-----------",
        ]
        for name, c in self.metrics().items():
            acc = c.aligned_accuracy
            lines.append(
                f"{name:11}|{100 * c.precision:10.2f} |{100 * c.recall:10.2f} |"
                f"{100 * c.f1:10.2f} |{'' if acc is None else f'{100 * acc:10.2f}'}"
            )
        return "\n".join(lines)

    def counts_table(self) -> str:
        """The rows of ``conll18_ud_eval.py -c`` for these metrics, in its format (Words'
        aligned column is its correct count; a blank is no or zero aligned words)."""
        lines = [
            "Metric     | Correct   |      Gold | Predicted | Aligned",
            "-----------+-----------+-----------+-----------+-----------",
        ]
        for name, c in self.metrics().items():
            aligned = c.correct if name == "Words" else c.aligned or ""
            lines.append(f"{name:11}|{c.correct:10} |{c.gold:10} |{c.system:10} |{aligned:10}")
        return "\n".join(lines)


def _same_spans(gold: Iterable[tuple[int, int]], system: Iterable[tuple[int, int]]) -> int:
    """How many spans are in both lists (within a file no two spans start alike)."""
    return len(set(gold) & set(system))


def _mismatch(gold: Treebank, system: Treebank) -> TextMismatchError:
    """Where the two files' characters first differ, with the lines of both."""
    a, b = gold.chars, system.chars
    k = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))

    def where(tb: Treebank) -> str:
        if k >= len(tb.chars):
            return f"{tb.source} has no more"
        t = bisect.bisect_right(tb.tokens, (k, sys.maxsize)) - 1  # the token holding k
        return f"{tb.source} line {tb.token_lines[t]} has {tb.chars[k : k + 20]!r}"

    return TextMismatchError(
        "the gold and system tokens do not spell the same text (whitespace aside): they "
        f"differ from character {k} on: {where(gold)}, {where(system)}"
    )


def evaluate(gold: Treebank, system: Treebank) -> Conll18Result:
    """Score ``system`` against ``gold``; :class:`TextMismatchError` if their characters
    differ."""
    if gold.chars != system.chars:
        raise _mismatch(gold, system)
    alignment = align_words(gold.words, system.words)
    g_words, s_words = gold.words, system.words
    n_aligned = len(alignment.pairs)
    right = {m: 0 for m in TAG_METRICS}
    for gi, si in alignment.pairs:
        gw, sw = g_words[gi], s_words[si]
        upos, xpos, feats = gw.upos == sw.upos, gw.xpos == sw.xpos, gw.ufeats == sw.ufeats
        right["UPOS"] += upos
        right["XPOS"] += xpos
        right["UFeats"] += feats
        right["AllTags"] += upos and xpos and feats
    ng, ns = len(g_words), len(s_words)
    tags = {m: Count(right[m], ng, ns, n_aligned) for m in TAG_METRICS}
    return Conll18Result(
        tokens=Count(_same_spans(gold.tokens, system.tokens), len(gold.tokens), len(system.tokens)),
        sentences=Count(
            _same_spans(gold.sentences, system.sentences),
            len(gold.sentences),
            len(system.sentences),
        ),
        words=Count(n_aligned, ng, ns),
        upos=tags["UPOS"],
        xpos=tags["XPOS"],
        ufeats=tags["UFeats"],
        alltags=tags["AllTags"],
    )


def score_files(gold: str | Path, system: str | Path) -> Conll18Result:
    """Score a system CoNLL-U file against a gold one."""
    return evaluate(read_treebank(gold), read_treebank(system))


# -- raw text and system output -------------------------------------------------------------


def raw_text_from(conllu: str) -> str:
    """The raw text of CoNLL-U text (see the module docstring): paragraphs separated by
    a blank line, the sentences of one joined by a space; ends with a newline (``""``
    for no sentences)."""
    paragraphs: list[list[str]] = []
    text: str | None = None
    new_paragraph = False
    words: list[str] = []  # the sentence's tokens, with the spaces after them

    def close() -> None:
        nonlocal text, new_paragraph, words
        if not (text and text.strip()):
            text = "".join(words)
        if not text.strip():  # a block of comments only: its # newpar/# newdoc carries on
            text, words = None, []
            return
        if new_paragraph or not paragraphs:
            paragraphs.append([])
        paragraphs[-1].append(text.strip())
        text, new_paragraph, words = None, False, []

    skip_to = 0  # the last word of the multiword token just taken: its words are not tokens
    for _, line in _lines(conllu.removeprefix("\ufeff")):
        if not line.strip():
            close()
            skip_to = 0
        elif line.startswith("#"):
            if m := _TEXT.fullmatch(line):
                text = m.group(1)
            elif _NEW_PARAGRAPH.match(line):
                new_paragraph = True
        else:
            cols = line.split("\t")
            if len(cols) != 10:
                continue  # raw text only needs the text; parse_treebank reports bad lines
            if r := _RANGE_ID.fullmatch(cols[0]):
                skip_to = int(r.group(2))
            elif not _WORD_ID.fullmatch(cols[0]) or int(cols[0]) <= skip_to:
                continue
            space = "" if "SpaceAfter=No" in cols[9].split("|") else " "
            words.append(cols[1] + space)
    close()
    return "\n\n".join(" ".join(p) for p in paragraphs) + "\n" if paragraphs else ""


def raw_text(path: str | Path) -> str:
    """The raw text of a CoNLL-U file, as the shared task gives it to a system."""
    return raw_text_from(_read(path))


def _placement(text: str, starts: list[int], ends: list[int], i: int, n: int) -> str:
    """MISC of word (or multiword token ending with word) ``i`` of ``n``:
    ``SpaceAfter=No`` when the next word starts where it ends (after the sentence's last
    word: the text ends or goes on without whitespace), and its ``TokenRange``."""
    spaced = ends[i] < starts[i + 1] if i + 1 < n else text[ends[i] : ends[i] + 1].isspace()
    return ("" if spaced else "SpaceAfter=No|") + f"TokenRange={starts[i]}:{ends[i]}"


def tagged_conllu(sentences: Sequence[TaggedSentence], text: str) -> str:
    """Sentences tagged from raw ``text`` (:meth:`postag.Tagger.tag_text`: with offsets)
    as system CoNLL-U: ``# sent_id``/``# text``, FORM, UPOS, XPOS and FEATS (``_`` for a
    head the model lacks), MISC ``SpaceAfter=No`` and ``TokenRange=start:end`` (on the
    range line of a multiword token, whose words carry none). No
    parser ran, so HEAD/DEPREL are a placeholder tree (word 1 the root, every other word
    its ``dep``): the official script refuses a file without a tree."""
    out = []
    for k, sent in enumerate(sentences, start=1):
        starts, ends = sent.start, sent.end
        if starts is None or ends is None:
            raise ValueError("tagged_conllu() needs sentences tagged from text (with offsets)")
        if not sent.words:
            continue
        n = len(sent.words)
        xpos, feats = (sent.labels(h) or ["_"] * n for h in ("xpos", "feats"))
        lines = [f"# sent_id = {k}", "# text = " + " ".join(text[starts[0] : ends[-1]].split())]
        ranges = {first: (last, form) for first, last, form in sent.multiword or ()}
        inside = -1  # the last word of the multiword token being written
        for i, word in enumerate(sent.words):
            if i in ranges:  # a multiword token: its range line says where it stands
                inside, form = ranges[i]
                misc = _placement(text, starts, ends, inside, n)
                lines.append("\t".join([f"{i + 1}-{inside + 1}", form, *"_" * 7, misc]))
            misc = "_" if i <= inside else _placement(text, starts, ends, i, n)
            tree = "0\troot" if i == 0 else "1\tdep"  # HEAD, DEPREL
            cols = [str(i + 1), word, "_", sent.tags[i], xpos[i], feats[i], tree, "_", misc]
            lines.append("\t".join(cols))
        out.append("\n".join(lines) + "\n\n")
    return "".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m postag.conll18",
        description="CoNLL 2018 raw-text scores of SYSTEM against GOLD (CoNLL-U files).",
    )
    parser.add_argument("gold", type=Path)
    parser.add_argument("system", type=Path)
    parser.add_argument("-c", "--counts", action="store_true", help="counts, not percentages")
    args = parser.parse_args(argv)
    try:
        result = score_files(args.gold, args.system)
    except CorpusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(result.counts_table() if args.counts else result.table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
