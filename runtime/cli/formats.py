"""Input readers and output writers for `postag tag`, streaming in bounded chunks.

Inputs (each yields *units*: a list of pre-tokenized sentences plus what the writer needs):

* ``text``: raw text. Lines are gathered into paragraphs (a blank line ends one), each
  paragraph is tokenized and split into sentences. Inside a paragraph a line break is
  whitespace, as in Stanza: hard-wrapped text stays whole. A paragraph is only ever cut at
  a sentence boundary: once ``chunk_chars`` new characters have come in, its complete
  sentences are tagged and the unfinished one is carried over to the lines that follow,
  so the sentences are the same as for the whole paragraph at once. A "sentence" with no
  boundary is closed after ``MAX_SENTENCE_TOKENS`` (1,000) tokens.
* ``pretokenized``: one sentence per line, tokens separated by whitespace; blank lines skip.
* ``conllu``: CoNLL-U sentences (FORM of every syntactic word is tagged; UPOS may be
  ``_``). Units are cut only between sentences.

Offsets: from ``text`` and ``pretokenized`` input every word gets its character offsets
``start``/``end`` in its input file, ``text[start:end]`` being the word, where ``text`` is
the whole file decoded as UTF-8, i.e. ``open(path, encoding="utf-8-sig",
newline="").read()``: Python ``str`` indices (code points, not bytes), a byte order mark at
the start not counted, line ends counted as they are (CR LF is two characters, no
newline translation), with ``--encoding-errors replace`` each U+FFFD counted once for the
bytes it replaces. Control characters read as spaces keep their place; paragraphs and
chunks change nothing. Each input file (or standard input) starts again at 0. CoNLL-U
input has offsets only where its MISC has them (``TokenRange``, on the word or on its
multiword token).

Outputs (:class:`Writer`) show the *columns* (heads) asked for: ``upos``, ``xpos``,
``feats`` (``--columns``; default ``upos`` for text, every head the model has for json
and conllu). What each format writes, and what ``--probs`` / ``--top-k K`` add:

* ``text``: ``word/UPOS`` per word, one sentence per line; with more columns their
  labels in the order asked, each after a ``/`` (``word/UPOS/XPOS/FEATS``). ``--probs``
  puts each label's probability after it: ``word/NOUN:0.9812/NN:0.9700``; ``--top-k`` is
  refused (:func:`refused_options`). The word is everything before the last ``/`` but one
  per column, and a probability follows the last ``:`` of its field (XPOS has ``:`` and
  ``,`` as labels). No UPOS, XPOS or FEATS label of UD English EWT holds a ``/`` (nor can
  a UD FEATS); should a model's label hold one, it is written ``%2F`` (and ``%`` as
  ``%25``), so ``urllib.parse.unquote`` gives the label back.
* ``json``: one object per sentence: ``sentence``, ``text``, ``words``, ``start`` and
  ``end`` (each word's offsets, where known) and, per column, ``tags`` (UPOS), ``xpos``,
  ``feats``; ``--probs`` adds ``probs``, ``xpos_probs``,
  ``feats_probs``; ``--top-k`` adds ``top_k``, ``xpos_top_k``, ``feats_top_k``
  (``[[["NOUN", 0.91], …], …]``), each for the columns shown.
* ``conllu``: UPOS, XPOS and FEATS (columns 4-6) filled for the columns shown, ``_``
  elsewhere; MISC has ``SpaceAfter=No`` and ``TokenRange=start:end`` (the offsets, as
  UDPipe writes them); ``--probs`` sets ``UPOSProb=0.9812`` (``XPOSProb``, ``FeatsProb``)
  and ``--top-k`` sets ``UPOSTopK=NOUN:0.9100,VERB:0.0500`` (``XPOSTopK``,
  ``FeatsTopK``). MISC separates entries with ``|`` and keys from values with ``=``, and
  TopK separates with ``,`` and ``:``; FEATS labels hold ``|`` and ``=`` and XPOS has
  ``,`` and ``:``, so in MISC values those characters and ``%`` are percent-encoded
  (``FeatsTopK=Number%3DSing:0.9100,_:0.0500``; decode a label with
  ``urllib.parse.unquote``). CoNLL-U input: the columns shown are replaced, every other
  byte (other columns, comments, ranges, empty nodes, MISC entries not ours, so
  ``TokenRange`` and ``SpaceAfter`` as they were) is kept;
  every sentence ends with exactly one blank line.

Each unit is written whole and flushed before the next is read: an interrupt (SIGINT) is
held back while a unit is written, so the output always ends with a complete sentence.
A write that fails raises :class:`OutputError`.

Bad bytes: invalid UTF-8 is an error naming the file and line (``errors="strict"``), or is
replaced by U+FFFD (``errors="replace"``). A NUL byte is bad too: UTF-8 text never holds
one (it is binary data, or UTF-16/UTF-32 text), so it is refused naming the line, or
read as U+FFFD with ``replace``. Other control characters (but tab and newline) are read
as spaces; format characters (Cf: soft hyphen, zero-width space, bidi marks, a BOM past
the start) are read through as by the tokenizer: never words, and inside a word part of
it (:mod:`postag.tokenizer`); a pre-tokenized token loses those at its edges
(:func:`postag.tokenizer.word_span`), and one made of nothing else is no word.

Hostile input: nothing is read whole. A line is read with at most ``4 * MAX_LINE_CHARS +
2`` bytes, and one of more than :data:`MAX_LINE_CHARS` characters (its line end not
counted) is refused, naming the file, the line and the cap; a CoNLL-U sentence of more
than :data:`MAX_LINE_CHARS` characters (its lines together) too. A unit holds at most
about ``chunk`` sentences and ``chunk_chars`` characters (plus one line or sentence), and
sentences of more than :data:`postag.tagger.WINDOW_TOKENS` words are tagged in windows:
memory stays flat on an endless stream (``postag tag /dev/zero`` is refused at its first
NUL byte; an endless line at :data:`MAX_LINE_CHARS`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import IO, Any

from ..contract import HEAD_NAMES
from ..data import HEAD_COLUMNS, conllu_blocks, parse_block, retag_block, set_misc
from ..errors import PostagError
from ..tagger import TaggedSentence
from ..tokenizer import (
    MAX_SENTENCE_TOKENS,
    Multiword,
    Token,
    iter_sentences,
    sentence_words,
    word_span,
)

#: The longest line `postag tag` reads, in characters (its line end not counted), and the
#: longest CoNLL-U sentence (its lines together): longer is refused, naming the line. A
#: whole document on one line fits (1,000,000 characters: ~170,000 words).
MAX_LINE_CHARS = 1_000_000

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# the lookbehind tries it only where a run of spaces starts: linear on any run
_LINE_END = re.compile(r"(?<![ \t])[ \t]*\n")
_NON_SPACE = re.compile(r"\S+")  # what str.split() keeps
_TOKEN_RANGE = re.compile(r"TokenRange=(\d{1,15}):(\d{1,15})")
_MULTIWORD_ID = re.compile(r"(\d{1,15})-(\d{1,15})")

#: The heads (output columns) a model may have, in output order, as users read them.
#: Each head's MISC keys in CoNLL-U output: ``<prefix>Prob`` and ``<prefix>TopK``.
MISC_PREFIX = {"upos": "UPOS", "xpos": "XPOS", "feats": "Feats"}
#: Percent-encoding of the characters that would make a label ambiguous: in text output
#: the ``/`` between columns; in a MISC value ``|`` and ``=`` (MISC's own separators) and
#: ``,`` and ``:`` (TopK's). ``%`` itself, so that ``urllib.parse.unquote`` decodes.
_TEXT_ESCAPES = str.maketrans({"%": "%25", "/": "%2F"})
_MISC_ESCAPES = str.maketrans({"%": "%25", "|": "%7C", "=": "%3D", ",": "%2C", ":": "%3A"})


class InputError(PostagError):
    """Input that cannot be read as asked (bad encoding, malformed CoNLL-U)."""


class OutputError(PostagError):
    """The output cannot be written (disk full, standard output closed, reader gone)."""

    def __init__(self, exc: OSError) -> None:
        self.errno = exc.errno
        super().__init__(f"cannot write the output: {exc.strerror or exc}")


@dataclass
class Unit:
    """A chunk of sentences to tag, and how to write them back."""

    sentences: list[list[str]]
    texts: list[str | None] = field(default_factory=list)  # original text of each sentence
    space_after: list[list[bool]] = field(default_factory=list)
    conllu_lines: list[list[str]] | None = None  # each sentence's CoNLL-U lines (conllu input)
    # each word's offsets in the input, per sentence (None: not known)
    starts: list[list[int] | None] = field(default_factory=list)
    ends: list[list[int] | None] = field(default_factory=list)
    # each sentence's multiword tokens (raw text input; empty: none)
    multiword: list[list[Multiword]] = field(default_factory=list)


def decoded_lines(
    stream: IO[bytes],
    name: str,
    errors: str,
    max_chars: int = MAX_LINE_CHARS,
    progress: Callable[[int], object] | None = None,
) -> Iterator[tuple[int, str]]:
    """(line number, text with its line end as in the input) with the encoding policy
    applied (a NUL byte counts as invalid); a byte order mark at the very start is
    dropped. Reads at most ``4 * max_chars + 2`` bytes at a time: a line of more than
    ``max_chars`` characters is an :class:`InputError` naming it. ``progress`` is told
    the number of bytes of each read."""
    limit = 4 * max_chars + 2  # enough for max_chars characters of 4 bytes and CR LF
    number = 0
    while raw := stream.readline(limit):
        number += 1
        if progress is not None:
            progress(len(raw))
        if errors == "strict" and (nul := raw.find(b"\x00")) >= 0:
            raise InputError(
                f"{name}:{number}: a NUL byte (byte {nul + 1} of the line): this is not "
                "UTF-8 text (binary data, or UTF-16/UTF-32 text? convert it with iconv); "
                "use --encoding-errors replace to read it as U+FFFD"
            )
        if len(raw) == limit and not raw.endswith(b"\n"):
            raise InputError(_too_long(name, number, max_chars))
        try:
            line = raw.decode("utf-8", errors=errors)
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{name}:{number}: not valid UTF-8 ({exc.reason} at byte {exc.start}); "
                "use --encoding-errors replace to substitute U+FFFD"
            ) from None
        if number == 1:
            line = line.removeprefix("\ufeff")
        if "\x00" in line:  # errors="replace": a NUL is a bad byte like any other
            line = line.replace("\x00", "\ufffd")
        if len(line) - (2 if line.endswith("\r\n") else line.endswith("\n")) > max_chars:
            raise InputError(_too_long(name, number, max_chars))
        yield number, line


def _too_long(name: str, number: int, max_chars: int) -> str:
    return (
        f"{name}:{number}: a line of more than {max_chars:,} characters; postag tag reads "
        "no longer lines (break it into lines: in raw text a line break inside a "
        "paragraph is a space)"
    )


def clean(line: str) -> str:
    """Control characters (but tab and newline) as spaces: one for one, so offsets hold."""
    return _CONTROL.sub(" ", line)


def _text_lines(lines: Iterator[tuple[int, str]]) -> Iterator[str]:
    """Lines of raw text, cleaned, with their line ends (the CR of a CR LF becomes a
    space: still one character, so offsets count CR LF as two). A line given without a
    line end (lines given without theirs) has a ``\n`` counted for it before the next."""
    missing = False
    for _, raw in lines:
        line = clean(raw)
        ended = line.endswith("\n")
        yield "\n" + line if missing else line
        missing = not ended


def _one_line(text: str) -> str:
    """A sentence's text for ``# text =`` and json's ``text``: each line break, with the
    spaces before it (and a CR LF's CR), as one space."""
    return _LINE_END.sub(" ", text)


def _spaces_after(starts: list[int], ends: list[int]) -> list[bool]:
    """Whether each word is followed by whitespace (the last one: yes); for a multiword
    token what counts is its last word's (the writer puts it on the range line)."""
    return [e < s for e, s in zip(ends, starts[1:], strict=False)] + [True]


def _text_unit(text: str, base: int, sents: list[list[Token]]) -> Unit:
    """Sentences of ``text``, which starts at offset ``base`` in the input (a multiword
    token's words share its offsets; space after is the token's)."""
    unit = Unit([])
    for s in sents:
        sent = sentence_words(s)
        unit.sentences.append(sent.words)
        unit.texts.append(_one_line(text[s[0].start : s[-1].end]))
        unit.space_after.append(_spaces_after(sent.starts, sent.ends))
        unit.starts.append([base + a for a in sent.starts])
        unit.ends.append([base + b for b in sent.ends])
        unit.multiword.append(sent.multiword)
    return unit


#: A splitter: text, max tokens per sentence → sentences of tokens
#: (:meth:`postag.splitter.Splitter.iter_sentences`; the rule tokenizer by default).
Split = Callable[..., Iterator[list[Token]]]


def _rules(text: str, max_tokens: int) -> Iterator[list[Token]]:
    return iter_sentences(text, max_tokens=max_tokens)


def _text_units(
    text: str, base: int, chunk_chars: int, max_tokens: int, final: bool, split: Split = _rules
) -> Generator[Unit, None, int]:
    """Units of about ``chunk_chars`` characters of ``text``'s sentences, streamed
    (``text`` starts at offset ``base`` in the input). Unless ``final``, the last
    sentence may go on in the lines to come: it is held back, and its start offset in
    ``text`` returned (``len(text)`` when nothing is held back)."""
    unit: list[list[Token]] = []
    size = 0
    held: list[Token] | None = None
    for sent in split(text, max_tokens=max_tokens):
        if held is not None:
            unit.append(held)
            size += held[-1].end - held[0].start
            if size >= chunk_chars:
                yield _text_unit(text, base, unit)
                unit, size = [], 0
        held = sent
    if held is not None and final:
        unit.append(held)
        held = None
    if unit:
        yield _text_unit(text, base, unit)
    return held[0].start if held is not None else len(text)


def read_text(
    lines: Iterator[tuple[int, str]],
    chunk_chars: int,
    max_sentence_tokens: int = MAX_SENTENCE_TOKENS,
    split: Split = _rules,
) -> Iterator[Unit]:
    """Units of whole sentences from raw text lines (see the module docstring), each word
    with its offsets in the whole input (lines are given with their line ends, as
    :func:`decoded_lines` gives them; a line without one counts one), split by
    ``split`` (the bundle's splitter; the rule tokenizer by default). Holds at
    most the unfinished sentence plus ``max(chunk_chars, its size)`` new characters (and
    one line), and tokenizes each character at most about twice."""
    para: list[str] = []
    base = pos = 0  # offsets in the input: of para's first character, of the next line
    size = carried = 0  # characters in para; of them, carried over from the last cut
    for line in _text_lines(lines):
        pos += len(line)
        if not line or line.isspace():  # a blank line ends the paragraph
            if para:
                text = "".join(para)
                yield from _text_units(text, base, chunk_chars, max_sentence_tokens, True, split)
            para, size, carried = [], 0, 0
            continue
        if not para:
            base = pos - len(line)
        para.append(line)
        size += len(line)
        if size - carried >= max(chunk_chars, carried):
            text = "".join(para)
            cut = yield from _text_units(text, base, chunk_chars, max_sentence_tokens, False, split)
            para = [text[cut:]] if cut < len(text) else []
            base += cut
            size = carried = len(text) - cut
    if para:
        yield from _text_units("".join(para), base, chunk_chars, max_sentence_tokens, True, split)


def read_pretokenized(
    lines: Iterator[tuple[int, str]], chunk_lines: int, chunk_chars: int | None = None
) -> Iterator[Unit]:
    """One sentence per line, tokens separated by whitespace, each with its offsets in
    the whole input (as for :func:`read_text`); format characters at a token's edges
    are no part of it, and a token of nothing else is no word
    (:func:`postag.tokenizer.word_span`). A unit ends after ``chunk_lines`` sentences
    or once its lines hold ``chunk_chars`` characters."""
    unit = Unit([])
    pos = size = 0
    for line in _text_lines(lines):
        spans = [w for m in _NON_SPACE.finditer(line) if (w := word_span(line, *m.span()))]
        if spans:
            unit.sentences.append([line[a:b] for a, b in spans])
            unit.texts.append(" ".join(unit.sentences[-1]))
            unit.space_after.append([True] * len(spans))
            unit.starts.append([pos + a for a, _ in spans])
            unit.ends.append([pos + b for _, b in spans])
            size += len(line)
        pos += len(line)
        if unit.sentences and (
            len(unit.sentences) >= chunk_lines or (chunk_chars is not None and size >= chunk_chars)
        ):
            yield unit
            unit, size = Unit([]), 0
    if unit.sentences:
        yield unit


def read_conllu_stream(
    lines: Iterator[tuple[int, str]],
    name: str,
    chunk_sentences: int,
    chunk_chars: int | None = None,
    max_sentence_chars: int = MAX_LINE_CHARS,
) -> Iterator[Unit]:
    """CoNLL-U sentences, ``chunk_sentences`` per unit (fewer once they hold
    ``chunk_chars`` characters); gold UPOS is not needed. Errors name ``name`` and the
    line in the whole stream; a sentence of more than ``max_sentence_chars`` characters
    is one. A byte order mark opening a line (files concatenated) is dropped. Words have
    offsets when every one of a sentence's has a ``TokenRange`` in MISC (its own, or its
    multiword token's)."""
    # a BOM opening a line later on is another file's, concatenated (`cat a b`): dropped
    stripped = ((n, line.rstrip("\r\n").removeprefix("\ufeff")) for n, line in lines)
    blocks = conllu_blocks(stripped, max_sentence_chars, name)
    while group := _some_blocks(blocks, chunk_sentences, chunk_chars):
        try:
            sents = [parse_block(b, name, require_tags=False) for b in group]
        except PostagError as exc:
            raise InputError(str(exc)) from None
        ranges = [token_ranges(block) for _, block in group]
        yield Unit(
            sentences=[s.words for s in sents],
            texts=[s.text for s in sents],
            conllu_lines=[lines for _, lines in group],
            starts=[r[0] if r else None for r in ranges],
            ends=[r[1] if r else None for r in ranges],
        )


def _some_blocks(
    blocks: Iterator[tuple[int, list[str]]], most: int, chars: int | None
) -> list[tuple[int, list[str]]]:
    """The next blocks: ``most`` of them, or fewer once they hold ``chars`` characters."""
    if chars is None:
        return list(islice(blocks, most))
    group: list[tuple[int, list[str]]] = []
    size = 0
    for block in blocks:
        group.append(block)
        size += sum(map(len, block[1]))
        if len(group) >= most or size >= chars:
            break
    return group


def token_ranges(lines: Sequence[str]) -> tuple[list[int], list[int]] | None:
    """The offsets of a checked CoNLL-U sentence's words from MISC ``TokenRange=s:e`` (as
    UDPipe writes it): a word's own, else its multiword token's (``1-2`` line); None
    when a word has neither or one is malformed."""
    starts: list[int] = []
    ends: list[int] = []
    multiword: tuple[int, int, str] | None = None  # first and last word ID, MISC
    for line in lines:
        cols = line.split("\t")
        if line.startswith("#") or len(cols) != 10 or "." in cols[0]:
            continue
        if "-" in cols[0]:
            m = _MULTIWORD_ID.fullmatch(cols[0])
            multiword = (int(m.group(1)), int(m.group(2)), cols[9]) if m else None
            continue
        if not cols[0].isdigit() or len(cols[0]) > 15:
            return None
        word = int(cols[0])
        misc = cols[9]
        if _token_range(misc) is None and multiword and multiword[0] <= word <= multiword[1]:
            misc = multiword[2]
        span = _token_range(misc)
        if span is None:
            return None
        starts.append(span[0])
        ends.append(span[1])
    return (starts, ends) if starts else None


def _token_range(misc: str) -> tuple[int, int] | None:
    """``TokenRange=start:end`` in a MISC column, or None."""
    for entry in misc.split("|"):
        if m := _TOKEN_RANGE.fullmatch(entry):
            return int(m.group(1)), int(m.group(2))
    return None


def parse_columns(value: str) -> list[str]:
    """``--columns``: heads separated by commas (``upos,xpos,feats``, any case), each at
    most once, in the order given; a ValueError says what is wrong."""
    names = [name.strip().lower() for name in value.split(",")]
    for name in names:
        if name not in HEAD_NAMES:
            raise ValueError(
                f"unknown column {name!r}: choose from {', '.join(HEAD_NAMES)}, separated by commas"
            )
    if len(set(names)) < len(names):
        raise ValueError(f"{value!r} names a column twice")
    return names


def default_columns(fmt: str, heads: Sequence[str]) -> list[str]:
    """What ``--columns`` is when not given: UPOS for text, every head for json/conllu."""
    return ["upos"] if fmt == "text" else list(heads)


def refused_columns(columns: Sequence[str], heads: Sequence[str], bundle: str) -> str | None:
    """Why the model of ``bundle``, with ``heads``, cannot give ``columns``, or None."""
    missing = [c for c in columns if c not in heads]
    if not missing:
        return None
    return (
        f"--columns {','.join(missing)}: the model in {bundle} has no "
        f"{' or '.join(HEAD_NAMES[c] for c in missing)} head (its heads: {','.join(heads)})"
    )


def refused_options(fmt: str, top_k: int, probs: bool) -> str | None:
    """Why ``--format fmt`` cannot honour the options asked for, or None when it can."""
    if fmt == "text" and top_k:
        return (
            "--top-k needs --format json or conllu (text output has one label per word "
            "and column; --probs adds its probability)"
        )
    return None


@contextlib.contextmanager
def sigint_held() -> Iterator[None]:
    """Hold SIGINT back while the block runs, then raise KeyboardInterrupt if one came:
    what the block writes is never cut short by an interrupt. A no-op unless this is
    the main thread (the only one that may set handlers) and SIGINT has Python's
    default handler (an ignored SIGINT stays ignored)."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):  # off the main thread, or SIGINT ignored or handled by someone else: leave it be
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def discard_output(out: IO[str]) -> None:
    """Point ``out``'s file descriptor at the null device after a failed write, so that
    the interpreter's final flush of what is still buffered cannot fail again."""
    with contextlib.suppress(OSError, ValueError, AttributeError):  # no fd: nothing to do
        target = out.fileno()
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, target)
        finally:
            os.close(null)


class Writer:
    """Writes tagged units as ``text`` (word/UPOS/…), ``json`` (one object per sentence)
    or ``conllu`` (valid CoNLL-U with columns 4-6 filled), showing the heads in
    ``columns`` with exactly the probabilities asked for. ``count`` is the number of
    sentences written (and flushed) so far."""

    def __init__(
        self,
        out: IO[str],
        fmt: str,
        top_k: int = 0,
        probs: bool = False,
        columns: Sequence[str] = ("upos",),
    ) -> None:
        if reason := refused_options(fmt, top_k, probs):
            raise ValueError(reason)
        self.out = out
        self.fmt = fmt
        self.top_k = top_k
        self.probs = probs
        self.columns = list(columns)
        self.count = 0

    def write(self, unit: Unit, tagged: list[TaggedSentence]) -> None:
        """Write one unit whole, then flush it."""
        parts = [self._render(unit, i, res) for i, res in enumerate(tagged)]
        self._emit("".join(parts), len(tagged))

    def _render(self, unit: Unit, i: int, res: TaggedSentence) -> str:
        """Sentence ``i`` of ``unit`` in this writer's format."""
        number = self.count + i + 1
        text = unit.texts[i] if unit.texts else None
        if unit.starts and unit.starts[i] is not None:
            res.start, res.end = unit.starts[i], unit.ends[i]
        if unit.multiword:
            res.multiword = list(unit.multiword[i]) or None
        if self.fmt == "text":
            return self._text(res)
        if self.fmt == "json":
            return self._json(res, number, text)
        misc = [self._misc(res, j) for j in range(len(res.words))]
        if unit.conllu_lines is not None:  # its MISC (TokenRange, SpaceAfter) is kept
            lines = unit.conllu_lines[i]
            return retag_block(lines, self._replaced(lines, res), misc)
        space = unit.space_after[i] if unit.space_after else [True] * len(res.words)
        for j, spaced in enumerate(space):
            misc[j] = {**_placement(res, j, spaced), **misc[j]}
        return self._conllu(res, number, text, misc)

    def _emit(self, text: str, sentences: int) -> None:
        with sigint_held():
            try:
                self.out.write(text)
                self.out.flush()
            except OSError as exc:
                raise OutputError(exc) from None
            self.count += sentences

    def _text(self, res: TaggedSentence) -> str:
        columns = [self._text_labels(res, head) for head in self.columns]
        return " ".join("/".join(word) for word in zip(res.words, *columns, strict=True)) + "\n"

    def _text_labels(self, res: TaggedSentence, head: str) -> list[str]:
        """One column of text output: each word's label (``/`` encoded), with
        ``:probability`` after it when asked."""
        labels = [label.translate(_TEXT_ESCAPES) for label in _labels(res, head)]
        if not self.probs:
            return labels
        probs = res.head_probs(head)
        assert probs is not None
        return [f"{label}:{p:.4f}" for label, p in zip(labels, probs, strict=True)]

    def _json(self, res: TaggedSentence, number: int, text: str | None) -> str:
        obj: dict[str, Any] = {"sentence": number}
        if text is not None:
            obj["text"] = text
        obj.update(res.to_dict())
        for head in HEAD_NAMES:  # keep the columns shown, with what was asked for
            labels, probs, top_k = _json_keys(head)
            shown = head in self.columns
            for key, keep in ((labels, shown), (probs, self.probs), (top_k, self.top_k)):
                if not (shown and keep):
                    obj.pop(key, None)
        return json.dumps(obj, ensure_ascii=False) + "\n"

    def _misc(self, res: TaggedSentence, i: int) -> dict[str, str]:
        """The MISC entries for word ``i``, per column shown: ``<prefix>Prob`` with
        --probs, ``<prefix>TopK`` with --top-k (labels percent-encoded)."""
        items = {}
        for head in self.columns:
            prefix = MISC_PREFIX[head]
            if self.probs:
                probs = res.head_probs(head)
                assert probs is not None
                items[f"{prefix}Prob"] = f"{probs[i]:.4f}"
            if self.top_k:
                top = res.head_top_k(head)
                assert top is not None
                items[f"{prefix}TopK"] = ",".join(
                    f"{label.translate(_MISC_ESCAPES)}:{p:.4f}" for label, p in top[i]
                )
        return items

    def _replaced(self, lines: list[str], res: TaggedSentence) -> dict[str, list[str]]:
        """CoNLL-U input: the columns to replace, {head: labels}. retag_block counts the
        words by UPOS, so when UPOS is not shown it gets the input's UPOS as it is."""
        labels = {head: _labels(res, head) for head in self.columns}
        if "upos" not in labels:
            labels["upos"] = _word_column(lines, HEAD_COLUMNS["upos"])
        return labels

    def _conllu(
        self, res: TaggedSentence, number: int, text: str | None, misc: list[dict[str, str]]
    ) -> str:
        lines = [f"# sent_id = {number}"]
        if text is not None:
            lines.append(f"# text = {text}")
        shown = {head: _labels(res, head) for head in self.columns}
        ranges = {first: (last, form) for first, last, form in res.multiword or ()}
        inside = -1  # the last word of the multiword token being written
        for i, w in enumerate(res.words):
            if i in ranges:  # the range line carries where the token stands in the text
                inside, form = ranges[i]
                place = {k: v for k, v in misc[inside].items() if k in _PLACEMENT}
                blank = "\t_" * 7
                lines.append(f"{i + 1}-{inside + 1}\t{form}{blank}\t{set_misc('_', place)}")
            word_misc = misc[i]
            if i <= inside:
                word_misc = {k: v for k, v in word_misc.items() if k not in _PLACEMENT}
            upos, xpos, feats = (shown[h][i] if h in shown else "_" for h in HEAD_COLUMNS)
            cols = f"{i + 1}\t{w}\t_\t{upos}\t{xpos}\t{feats}\t_\t_\t_"
            lines.append(f"{cols}\t{set_misc('_', word_misc)}")
        return "\n".join(lines) + "\n\n"


#: The MISC keys that say where a token stands in the text: on a multiword token's range
#: line, not on its words (as the UD guidelines and UDPipe write them).
_PLACEMENT = ("SpaceAfter", "TokenRange")


def _placement(res: TaggedSentence, i: int, spaced: bool) -> dict[str, str]:
    """Word ``i``'s MISC entries for where it stands in the text: ``SpaceAfter=No`` when
    no whitespace follows it, ``TokenRange=start:end`` (as UDPipe writes it) when its
    offsets are known."""
    items = {} if spaced else {"SpaceAfter": "No"}
    if res.start is not None and res.end is not None:
        items["TokenRange"] = f"{res.start[i]}:{res.end[i]}"
    return items


def _labels(res: TaggedSentence, head: str) -> list[str]:
    """One column's labels; the tagger fills every head its model has, and `postag tag`
    refuses a column the model lacks (:func:`refused_columns`) before tagging."""
    labels = res.labels(head)
    assert labels is not None, f"the tagged sentence has no {head} labels"
    return labels


def _json_keys(head: str) -> tuple[str, str, str]:
    """A head's keys in :meth:`TaggedSentence.to_dict`: labels, probabilities, top-k."""
    if head == "upos":
        return "tags", "probs", "top_k"
    return head, f"{head}_probs", f"{head}_top_k"


def _word_column(lines: list[str], col: int) -> list[str]:
    """Column ``col`` (0-based) of each word line (integer ID) of a checked CoNLL-U
    sentence, as it is."""
    return [
        cols[col]
        for cols in (line.split("\t") for line in lines if not line.startswith("#"))
        if cols[0].isdigit()
    ]
