"""Read CoNLL-U into (words, UPOS tags) sentences with the `conllu` library, and write
predicted tags back into CoNLL-U.

Kept: FORM and UPOS of every syntactic word, the sentence id and text. Skipped:
multiword-token ranges (``3-4``) and empty nodes (``5.1``). Any problem raises
:class:`CorpusError` naming the file and the line.

    from postag.data import read_conllu, write_conllu_with_tags
    gold = read_conllu("en_ewt-ud-dev.conllu")                    # training/eval: UPOS required
    raw = read_conllu("untagged.conllu", require_tags=False)     # to be tagged: UPOS may be "_"
    write_conllu_with_tags(text, [["DET", "NOUN"]], misc=[[{"UPOSProb": "0.9812"}, {}]])

Gold UPOS is required unless ``require_tags=False``; a sentence whose words do not all
have one then gets ``tags == []``. Written CoNLL-U ends every sentence with exactly one
blank line, so outputs of several files concatenate without merging sentences.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import conllu
from conllu.exceptions import ParseException

from .errors import CorpusError

_INT_ID = re.compile(r"^[1-9][0-9]*$")
_RANGE_ID = re.compile(r"^[1-9][0-9]*-[1-9][0-9]*$")
_EMPTY_ID = re.compile(r"^[0-9]+\.[1-9][0-9]*$")

#: A CoNLL-U sentence as read: the number of its first line and its (non-blank) lines.
Block = tuple[int, list[str]]


@dataclass
class Sentence:
    """One sentence: tokens and gold tags (empty when the input has none): UPOS, XPOS and
    FEATS (XPOS and FEATS as written, ``_`` when empty; FEATS as its whole string)."""

    words: list[str]
    tags: list[str] = field(default_factory=list)  # UPOS
    sent_id: str | None = None
    text: str | None = None
    xpos: list[str] = field(default_factory=list)
    feats: list[str] = field(default_factory=list)  # whole FEATS strings, "_" = none

    def labels(self, head: str) -> list[str]:
        """The gold labels of one head: ``upos``, ``xpos`` or ``feats``."""
        return {"upos": self.tags, "xpos": self.xpos, "feats": self.feats}[head]

    def __len__(self) -> int:
        return len(self.words)


def feats_string(feats: Mapping[str, str] | None) -> str:
    """The `conllu` library's FEATS dict back to its CoNLL-U string (``_`` when empty)."""
    return "|".join(f"{k}={v}" for k, v in feats.items()) if feats else "_"


def _check_token_line(line: str, where: str, require_tags: bool) -> str | None:
    """Validate one token line; return its ID kind ('int', 'range', 'empty')."""
    cols = line.split("\t")
    if len(cols) != 10:
        raise CorpusError(f"{where}: expected 10 tab-separated columns, found {len(cols)}")
    tok_id = cols[0]
    if _INT_ID.match(tok_id):
        if not cols[1]:
            raise CorpusError(f"{where}: empty FORM")
        if require_tags and cols[3] in ("", "_"):
            raise CorpusError(f"{where}: word {tok_id} has no UPOS")
        return "int"
    if _RANGE_ID.match(tok_id):
        return "range"
    if _EMPTY_ID.match(tok_id):
        return "empty"
    raise CorpusError(f"{where}: invalid token ID {tok_id!r}")


def conllu_blocks(
    lines: Iterable[tuple[int, str]], max_chars: int | None = None, source: str = "<string>"
) -> Iterator[Block]:
    """Group numbered lines into sentences: (first line number, lines) for each run of
    non-blank lines. Streams; blank lines are never kept, however many there are. A
    sentence of more than ``max_chars`` characters (its lines together) is a
    :class:`CorpusError` naming ``source`` and its first line: an endless one is never
    held whole."""
    block: list[str] = []
    start = 1
    size = 0
    for number, line in lines:
        if line.strip() == "":
            if block:
                yield start, block
                block, size = [], 0
        else:
            if not block:
                start = number
            block.append(line)
            size += len(line)
            if max_chars is not None and size > max_chars:
                raise CorpusError(
                    f"{source}:{start}: a sentence of more than {max_chars:,} characters "
                    f"(its lines together, up to line {number}); no real sentence is that "
                    "long (a missing blank line between sentences?)"
                )
    if block:
        yield start, block


def _check_block(start: int, block: list[str], source: str, require_tags: bool) -> None:
    expected = 1
    for offset, line in enumerate(block):
        if line.startswith("#"):
            continue
        if _check_token_line(line, f"{source}:{start + offset}", require_tags) == "int":
            tok_id = int(line.split("\t", 1)[0])
            if tok_id != expected:
                raise CorpusError(
                    f"{source}:{start + offset}: word ID {tok_id}, expected {expected}"
                )
            expected += 1
    if expected == 1:
        raise CorpusError(f"{source}:{start}: sentence has no words")


def parse_block(block: Block, source: str = "<string>", require_tags: bool = True) -> Sentence:
    """One sentence's lines → :class:`Sentence`; ``source`` names it in error messages."""
    start, lines = block
    _check_block(start, lines, source, require_tags)
    try:
        (token_list,) = conllu.parse("\n".join(lines) + "\n\n")
    except (ParseException, ValueError) as exc:
        raise CorpusError(f"{source}:{start}: {exc}") from exc
    syntactic = [t for t in token_list if isinstance(t["id"], int)]  # no ranges/empty nodes
    tags = [t["upos"] for t in syntactic]
    meta = token_list.metadata
    return Sentence(
        words=[t["form"] for t in syntactic],
        tags=tags if all(t not in (None, "", "_") for t in tags) else [],
        sent_id=meta.get("sent_id"),
        text=meta.get("text"),
        xpos=[t["xpos"] or "_" for t in syntactic],
        feats=[feats_string(t["feats"]) for t in syntactic],
    )


def parse_conllu(text: str, source: str = "<string>", require_tags: bool = True) -> list[Sentence]:
    """Parse CoNLL-U text; ``source`` names it in error messages. ``require_tags``:
    every word must have a UPOS (training and evaluation); ``False`` accepts ``_``."""
    blocks = conllu_blocks(enumerate(text.split("\n"), start=1))
    return [parse_block(b, source, require_tags) for b in blocks]


def read_conllu(path: str | Path, require_tags: bool = True) -> list[Sentence]:
    """Read a CoNLL-U file. Raises :class:`CorpusError` on any problem, naming file:line;
    ``require_tags`` as in :func:`parse_conllu`."""
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
    sentences = parse_conllu(text.replace("\r\n", "\n"), str(path), require_tags)
    if not sentences:
        raise CorpusError(f"{path}: no sentences (empty file?)")
    return sentences


def set_misc(misc: str, items: Mapping[str, str]) -> str:
    """A MISC column with ``items`` set: an entry with the same key is replaced in place,
    new keys are appended, every other entry is kept as it was (``_`` means none)."""
    entries = [] if misc in ("", "_") else misc.split("|")
    todo = dict(items)
    for k, entry in enumerate(entries):
        key = entry.split("=", 1)[0]
        if key in todo:
            entries[k] = f"{key}={todo.pop(key)}"
    entries += [f"{key}={value}" for key, value in todo.items()]
    return "|".join(entries) or "_"


#: The CoNLL-U column (0-based) each head fills: UPOS, XPOS, FEATS (columns 4-6).
HEAD_COLUMNS = {"upos": 3, "xpos": 4, "feats": 5}


def retag_block(
    lines: Sequence[str],
    tags: Sequence[str] | Mapping[str, Sequence[str]],
    misc: Sequence[Mapping[str, str]] | None = None,
) -> str:
    """One sentence with column 4 (UPOS) set to ``tags`` (or each head's column, for
    ``{head: labels}``: UPOS, XPOS, FEATS) and ``misc[i]`` merged into word i's MISC
    (:func:`set_misc`); every other byte is kept. Ends with one blank line."""
    by_head = tags if isinstance(tags, Mapping) else {"upos": tags}
    columns = [(HEAD_COLUMNS[h], labels) for h, labels in by_head.items()]
    tags = next(iter(by_head.values()))  # any head's list: one label per word
    out = []
    word = 0
    for line in lines:
        if not line.startswith("#"):
            cols = line.split("\t")
            if _INT_ID.match(cols[0]):
                for col, labels in columns:
                    cols[col] = labels[word]
                if misc is not None and misc[word]:
                    cols[9] = set_misc(cols[9], misc[word])
                word += 1
                line = "\t".join(cols)
        out.append(line)
    if word != len(tags):
        raise ValueError(f"{len(tags)} tags for a sentence of {word} words")
    return "\n".join(out) + "\n\n"


def write_conllu_with_tags(
    src_text: str,
    predicted: Sequence[Sequence[str]] | Mapping[str, Sequence[Sequence[str]]],
    misc: Sequence[Sequence[Mapping[str, str]]] | None = None,
) -> str:
    """Return ``src_text`` with column 4 (UPOS) replaced by ``predicted`` (or, for
    ``{head: labels per sentence}``, each head's column: UPOS, XPOS, FEATS), and ``misc``
    merged into MISC, sentence by sentence; comments, ranges, empty nodes and other
    columns are kept. Each sentence ends with exactly one blank line."""
    by_head = predicted if isinstance(predicted, Mapping) else {"upos": predicted}
    blocks = list(conllu_blocks(enumerate(src_text.split("\n"), start=1)))
    n = len(next(iter(by_head.values())))
    if len(blocks) != n:
        raise ValueError(f"{n} tag lists for {len(blocks)} sentences")
    return "".join(
        retag_block(
            lines,
            {h: labels[k] for h, labels in by_head.items()},
            None if misc is None else misc[k],
        )
        for k, (_, lines) in enumerate(blocks)
    )
