"""Read CoNLL-U into (words, UPOS tags) sentences with the `conllu` library.

Kept: FORM and UPOS of every syntactic word, the sentence id and text. Skipped:
multiword-token ranges (``3-4``) and empty nodes (``5.1``). Any problem raises
:class:`CorpusError` naming the file and the line.

    from postag.data import read_conllu
    sentences = read_conllu("en_ewt-ud-dev.conllu")
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import conllu
from conllu.exceptions import ParseException

from .errors import CorpusError

_INT_ID = re.compile(r"^[1-9][0-9]*$")
_RANGE_ID = re.compile(r"^[1-9][0-9]*-[1-9][0-9]*$")
_EMPTY_ID = re.compile(r"^[0-9]+\.[1-9][0-9]*$")


@dataclass
class Sentence:
    """One sentence: gold tokens and (possibly empty) gold tags."""

    words: list[str]
    tags: list[str] = field(default_factory=list)
    sent_id: str | None = None
    text: str | None = None

    def __len__(self) -> int:
        return len(self.words)


def _check_token_line(line: str, where: str) -> str | None:
    """Validate one token line; return its ID kind ('int', 'range', 'empty')."""
    cols = line.split("\t")
    if len(cols) != 10:
        raise CorpusError(f"{where}: expected 10 tab-separated columns, found {len(cols)}")
    tok_id = cols[0]
    if _INT_ID.match(tok_id):
        if not cols[1]:
            raise CorpusError(f"{where}: empty FORM")
        if cols[3] in ("", "_"):
            raise CorpusError(f"{where}: word {tok_id} has no UPOS")
        return "int"
    if _RANGE_ID.match(tok_id):
        return "range"
    if _EMPTY_ID.match(tok_id):
        return "empty"
    raise CorpusError(f"{where}: invalid token ID {tok_id!r}")


def _blocks(path: Path, lines: list[str]) -> Iterator[tuple[int, list[str]]]:
    """Yield (first line number, lines) for each blank-line separated block."""
    block: list[str] = []
    start = 1
    for number, line in enumerate(lines, start=1):
        if line.strip() == "":
            if block:
                yield start, block
            block = []
            start = number + 1
        else:
            if not block:
                start = number
            block.append(line)
    if block:
        yield start, block


def parse_conllu(text: str, source: str = "<string>") -> list[Sentence]:
    """Parse CoNLL-U text; ``source`` names it in error messages."""
    sentences: list[Sentence] = []
    for start, block in _blocks(Path(source), text.split("\n")):
        expected = 1
        for offset, line in enumerate(block):
            if line.startswith("#"):
                continue
            kind = _check_token_line(line, f"{source}:{start + offset}")
            if kind == "int":
                tok_id = int(line.split("\t", 1)[0])
                if tok_id != expected:
                    raise CorpusError(
                        f"{source}:{start + offset}: word ID {tok_id}, expected {expected}"
                    )
                expected += 1
        if expected == 1:
            raise CorpusError(f"{source}:{start}: sentence has no words")
        try:
            (token_list,) = conllu.parse("\n".join(block) + "\n\n")
        except (ParseException, ValueError) as exc:
            raise CorpusError(f"{source}:{start}: {exc}") from exc
        words, tags = [], []
        for token in token_list:
            if not isinstance(token["id"], int):  # ranges are tuples, empty nodes too
                continue
            words.append(token["form"])
            tags.append(token["upos"])
        meta = token_list.metadata
        sentences.append(
            Sentence(words=words, tags=tags, sent_id=meta.get("sent_id"), text=meta.get("text"))
        )
    return sentences


def read_conllu(path: str | Path) -> list[Sentence]:
    """Read a CoNLL-U file. Raises :class:`CorpusError` on any problem, naming file:line."""
    path = Path(path)
    if not path.exists():
        raise CorpusError(f"{path}: no such file")
    if not path.is_file():
        raise CorpusError(f"{path}: not a file")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CorpusError(f"{path}:{line}: not valid UTF-8 ({exc.reason})") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    sentences = parse_conllu(text.replace("\r\n", "\n"), str(path))
    if not sentences:
        raise CorpusError(f"{path}: no sentences (empty file?)")
    return sentences


def write_conllu_with_tags(src_text: str, predicted: list[list[str]]) -> str:
    """Return ``src_text`` with column 4 (UPOS) replaced by ``predicted``, sentence by
    sentence; every other byte (comments, ranges, empty nodes, other columns) is kept."""
    out = io.StringIO()
    sent = 0
    word = 0
    in_block = False
    for line in src_text.split("\n"):
        if line.strip() == "":
            if in_block:
                sent += 1
                word = 0
            in_block = False
            out.write(line + "\n")
            continue
        in_block = True
        if not line.startswith("#"):
            cols = line.split("\t")
            if _INT_ID.match(cols[0]):
                cols[3] = predicted[sent][word]
                word += 1
                line = "\t".join(cols)
        out.write(line + "\n")
    return out.getvalue()[:-1]
