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
* ``conllu``: CoNLL-U sentences (FORM of every syntactic word is tagged).

Bad bytes: invalid UTF-8 is an error naming the file and line (``errors="strict"``), or is
replaced by U+FFFD (``errors="replace"``). Control characters (other than tab/newline) are
treated as whitespace. Nothing is read whole: memory is bounded by the chunk size, one
sentence and the longest line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from ..data import parse_conllu, write_conllu_with_tags
from ..errors import CorpusError, PostagError
from ..tagger import TaggedSentence
from ..tokenizer import MAX_SENTENCE_TOKENS, Token, iter_sentences

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\ufeff]")


class InputError(PostagError):
    """Input that cannot be read as asked (bad encoding, malformed CoNLL-U)."""


@dataclass
class Unit:
    """A chunk of sentences to tag, and how to write them back."""

    sentences: list[list[str]]
    texts: list[str | None] = field(default_factory=list)  # original text of each sentence
    space_after: list[list[bool]] = field(default_factory=list)
    conllu_block: str | None = None  # the original CoNLL-U text (conllu input)


def decoded_lines(stream: IO[bytes], name: str, errors: str) -> Iterator[tuple[int, str]]:
    """(line number, text without newline) with the encoding policy applied."""
    for number, raw in enumerate(stream, start=1):
        try:
            line = raw.decode("utf-8", errors=errors)
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{name}:{number}: not valid UTF-8 ({exc.reason} at byte {exc.start}); "
                "use --encoding-errors replace to substitute U+FFFD"
            ) from None
        if number == 1:
            line = line.lstrip("\ufeff")
        yield number, line.rstrip("\r\n")


def clean(line: str) -> str:
    return _CONTROL.sub(" ", line)


def _text_unit(text: str, sents: list[list[Token]]) -> Unit:
    return Unit(
        sentences=[[t.text for t in s] for s in sents],
        texts=[text[s[0].start : s[-1].end].replace("\n", " ") for s in sents],
        space_after=[
            [a.end < b.start for a, b in zip(s, s[1:], strict=False)] + [True] for s in sents
        ],
    )


def _text_units(
    text: str, chunk_chars: int, max_tokens: int, final: bool
) -> Generator[Unit, None, int]:
    """Units of about ``chunk_chars`` characters of ``text``'s sentences, streamed. Unless
    ``final``, the last sentence may go on in the lines to come: it is held back, and its
    start offset returned (``len(text)`` when nothing is held back)."""
    unit: list[list[Token]] = []
    size = 0
    held: list[Token] | None = None
    for sent in iter_sentences(text, max_tokens=max_tokens):
        if held is not None:
            unit.append(held)
            size += held[-1].end - held[0].start
            if size >= chunk_chars:
                yield _text_unit(text, unit)
                unit, size = [], 0
        held = sent
    if held is not None and final:
        unit.append(held)
        held = None
    if unit:
        yield _text_unit(text, unit)
    return held[0].start if held is not None else len(text)


def read_text(
    lines: Iterator[tuple[int, str]],
    chunk_chars: int,
    max_sentence_tokens: int = MAX_SENTENCE_TOKENS,
) -> Iterator[Unit]:
    """Units of whole sentences from raw text lines (see the module docstring). Holds at
    most the unfinished sentence plus ``max(chunk_chars, its size)`` new characters (and
    one line), and tokenizes each character at most about twice."""
    para: list[str] = []
    size = carried = 0  # characters in para; of them, carried over from the last cut
    for _, line in lines:
        line = clean(line)
        if not line or line.isspace():  # a blank line ends the paragraph (no copy)
            if para:
                yield from _text_units("\n".join(para), chunk_chars, max_sentence_tokens, True)
            para, size, carried = [], 0, 0
            continue
        para.append(line)
        size += len(line) + 1
        if size - carried >= max(chunk_chars, carried):
            text = "\n".join(para)
            cut = yield from _text_units(text, chunk_chars, max_sentence_tokens, False)
            para = [text[cut:]] if cut < len(text) else []
            size = carried = len(text) - cut
    if para:
        yield from _text_units("\n".join(para), chunk_chars, max_sentence_tokens, True)


def read_pretokenized(lines: Iterator[tuple[int, str]], chunk_lines: int) -> Iterator[Unit]:
    unit = Unit([])
    for _, line in lines:
        words = clean(line).split()
        if not words:
            continue
        unit.sentences.append(words)
        unit.texts.append(" ".join(words))
        unit.space_after.append([True] * len(words))
        if len(unit.sentences) >= chunk_lines:
            yield unit
            unit = Unit([])
    if unit.sentences:
        yield unit


def read_conllu_stream(
    lines: Iterator[tuple[int, str]], name: str, chunk_lines: int
) -> Iterator[Unit]:
    block: list[str] = []
    first = 1
    n_sent = 0

    def flush() -> Unit:
        text = "\n".join(block) + "\n"
        try:
            sents = parse_conllu(text, name)
        except CorpusError as exc:  # re-number lines relative to the whole stream
            msg = str(exc)
            m = re.match(rf"{re.escape(name)}:(\d+): (.*)", msg, re.S)
            if m:
                msg = f"{name}:{int(m.group(1)) + first - 1}: {m.group(2)}"
            raise InputError(msg) from None
        return Unit(
            sentences=[s.words for s in sents], texts=[s.text for s in sents], conllu_block=text
        )

    for number, line in lines:
        if not block:
            first = number
        block.append(line)
        if not line.strip():
            n_sent += 1
            if n_sent >= chunk_lines and any(b.strip() for b in block):
                yield flush()
                block, n_sent = [], 0
    if any(b.strip() for b in block):
        yield flush()


class Writer:
    """Writes tagged units as ``text`` (word/TAG), ``json`` (one object per sentence) or
    ``conllu`` (valid CoNLL-U with UPOS filled)."""

    def __init__(self, out: IO[str], fmt: str) -> None:
        self.out = out
        self.fmt = fmt
        self.count = 0

    def write(self, unit: Unit, tagged: list[TaggedSentence]) -> None:
        if self.fmt == "conllu" and unit.conllu_block is not None:
            self.out.write(write_conllu_with_tags(unit.conllu_block, [t.tags for t in tagged]))
            self.count += len(tagged)
            return
        for k, res in enumerate(tagged):
            self.count += 1
            text = unit.texts[k] if k < len(unit.texts) else None
            if self.fmt == "text":
                self.out.write(
                    " ".join(f"{w}/{t}" for w, t in zip(res.words, res.tags, strict=True)) + "\n"
                )
            elif self.fmt == "json":
                obj: dict[str, Any] = {"sentence": self.count}
                if text is not None:
                    obj["text"] = text
                obj.update(res.to_dict())
                self.out.write(json.dumps(obj, ensure_ascii=False) + "\n")
            else:
                self.out.write(
                    self._conllu(
                        res, text, unit.space_after[k] if k < len(unit.space_after) else None
                    )
                )

    def _conllu(self, res: TaggedSentence, text: str | None, space: list[bool] | None) -> str:
        lines = [f"# sent_id = {self.count}"]
        if text is not None:
            lines.append(f"# text = {text}")
        for i, (w, t) in enumerate(zip(res.words, res.tags, strict=True), start=1):
            misc = "SpaceAfter=No" if space is not None and not space[i - 1] else "_"
            if res.probs is not None:
                p = f"UPOSProb={res.probs[i - 1]:.4f}"
                misc = p if misc == "_" else f"{misc}|{p}"
            lines.append(f"{i}\t{w}\t_\t{t}\t_\t_\t_\t_\t_\t{misc}")
        return "\n".join(lines) + "\n\n"
