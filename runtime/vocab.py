"""Vocabularies and the token → id encoding, shared by training and the runtime.

A vocabulary is a plain JSON list of strings; position = id, with ``<pad>`` = 0 and
``<unk>`` = 1 fixed for words and characters. The tag set is a plain list too, without
specials: the output layer has exactly one unit per tag. Normalisation (docs/training.md):

* **Unicode**: every lookup (word and character table) is on the NFC form of the token
  (:func:`nfc`), so decomposed text ("cafe\u0301") gets the same ids as composed text
  ("café"); the tokens themselves, and everything written out, keep the original text.
  UD English EWT is NFC throughout (0 of its 254,818 forms change), so trained ids are
  the same as without this step;
* **word table**: :func:`normalize_word` lower-cases the token and maps every ASCII digit
  to ``0`` ("1999" and "2024" share one entry);
* **character table**: characters keep their case — the character BiLSTM sees the token
  as written (composed), which is how unknown and capitalised words get tagged.

Words longer than ``max_word_len`` characters keep their first ``max_word_len // 2`` and
last ``max_word_len - max_word_len // 2`` characters (prefix and suffix carry the
morphology); training and runtime share this code, so both see the same ids.

    enc = Encoder(words=Vocab.load("words.json"), chars=Vocab.load("chars.json"))
    batch = enc.encode([["The", "cat"], ["Hi"]])   # word_ids (2, 2), char_ids (2, 2, 3)
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from .errors import VocabError

PAD = "<pad>"
UNK = "<unk>"
PAD_ID = 0
UNK_ID = 1
SPECIALS = (PAD, UNK)

_DIGIT = re.compile(r"[0-9]")


def nfc(token: str) -> str:
    """``token`` in Unicode normal form C (composed): the form every table lookup uses."""
    return token if token.isascii() else unicodedata.normalize("NFC", token)


def normalize_word(word: str) -> str:
    """The word-table key of a token: NFC, lower-cased, ASCII digits mapped to ``0``."""
    return _DIGIT.sub("0", nfc(word).lower())


class Vocab:
    """An ordered list of strings with ``<pad>`` = 0 and ``<unk>`` = 1."""

    def __init__(self, items: Sequence[str], specials: bool = True) -> None:
        items = list(items)
        if not items:
            raise VocabError("a vocabulary cannot be empty")
        if specials and items[:2] != list(SPECIALS):
            raise VocabError(f"a vocabulary must start with {list(SPECIALS)}, got {items[:2]}")
        if len(set(items)) != len(items):
            dupes = sorted(k for k, n in Counter(items).items() if n > 1)[:5]
            raise VocabError(f"duplicate vocabulary entries: {dupes}")
        if not all(isinstance(x, str) for x in items):
            raise VocabError("vocabulary entries must be strings")
        if not specials and set(items) & set(SPECIALS):
            raise VocabError(f"a tag set cannot contain {list(SPECIALS)}")
        self.items = items
        self.specials = specials
        self.index = {s: i for i, s in enumerate(items)}

    @classmethod
    def from_counts(cls, counts: Counter[str], min_freq: int = 1) -> Vocab:
        """Entries seen at least ``min_freq`` times, most frequent first (ties: sorted)."""
        kept = [s for s, n in counts.items() if n >= min_freq and s not in SPECIALS]
        kept.sort(key=lambda s: (-counts[s], s))
        return cls([*SPECIALS, *kept])

    @classmethod
    def load(cls, path: str | Path, specials: bool = True) -> Vocab:
        """Read a JSON list; a malformed file raises :class:`VocabError`."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise VocabError(f"{path}: cannot read vocabulary: {exc}") from None
        if not isinstance(data, list):
            raise VocabError(f"{path}: a vocabulary must be a JSON list")
        return cls(data, specials=specials)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.items, ensure_ascii=False) + "\n", "utf-8")

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, item: str) -> bool:
        return item in self.index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and other.items == self.items

    def id(self, item: str) -> int:
        """The id of ``item``; ``<unk>`` for unseen entries (a tag set has none: KeyError)."""
        if self.specials:
            return self.index.get(item, UNK_ID)
        return self.index[item]


@dataclass
class EncodedBatch:
    """Model inputs for a batch of sentences (numpy, int64), each distinct token's
    characters stored once: ``char_ids`` is ``type_chars[type_idx]``, built on demand."""

    word_ids: np.ndarray  # (batch, seq)
    type_idx: np.ndarray  # (batch, seq): row of type_chars; 0 = padding
    type_chars: np.ndarray  # (types + 1, word_len); row 0 is the all-padding "word"
    lengths: np.ndarray  # (batch,)
    types: list[str]  # the distinct tokens, types[k] ↔ type_chars[k + 1]

    @cached_property
    def char_ids(self) -> np.ndarray:
        return self.type_chars[self.type_idx]  # (batch, seq, word_len)


class Encoder:
    """Token → id encoding: the one implementation training and runtime both use."""

    def __init__(self, words: Vocab, chars: Vocab, max_word_len: int = 32) -> None:
        if max_word_len < 2:
            raise VocabError("max_word_len must be at least 2")
        self.words = words
        self.chars = chars
        self.max_word_len = max_word_len
        # Characters are single code points; a sorted code-point table lets numpy map a
        # whole batch of characters to ids with one searchsorted.
        pairs = sorted((ord(c), i) for i, c in enumerate(chars.items) if len(c) == 1)
        self._cps = np.array([p[0] for p in pairs] or [0], dtype=np.uint32)
        self._cp_ids = np.array([p[1] for p in pairs] or [UNK_ID], dtype=np.int64)
        self._head = max_word_len // 2
        self._tail = max_word_len - self._head

    def clip(self, token: str) -> str:
        """The characters of ``token`` the character model sees (NFC; prefix + suffix)."""
        token = nfc(token)
        if len(token) <= self.max_word_len:
            return token
        return token[: self._head] + token[-self._tail :]

    def word_ids(self, tokens: Iterable[str]) -> list[int]:
        index = self.words.index
        return [index.get(normalize_word(t), UNK_ID) for t in tokens]

    def char_matrix(self, types: Sequence[str]) -> np.ndarray:
        """Char ids of each distinct token (NFC), ``(len(types), max chars)``; 0 = padding."""
        clipped = [self.clip(t) for t in types]
        lens = np.fromiter((len(t) for t in clipped), dtype=np.int64, count=len(clipped))
        width = max(1, int(lens.max(initial=0)))
        out = np.zeros((len(clipped), width), dtype=np.int64)
        joined = "".join(clipped)
        if joined:
            cps = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
            pos = np.searchsorted(self._cps, cps)
            pos[pos >= len(self._cps)] = 0
            ids = np.where(self._cps[pos] == cps, self._cp_ids[pos], UNK_ID)
            rows = np.repeat(np.arange(len(clipped)), lens)
            starts = np.cumsum(lens) - lens
            cols = np.arange(len(cps)) - np.repeat(starts, lens)
            out[rows, cols] = ids
        return out

    def encode(self, sentences: Sequence[Sequence[str]]) -> EncodedBatch:
        """Encode pre-tokenized sentences, padded to the longest one. Tokens are looked up by
        their NFC form, so ``types`` lists NFC forms (a decomposed and a composed spelling
        share one type)."""
        if not sentences:
            raise ValueError("cannot encode an empty batch")
        lengths = np.fromiter((len(s) for s in sentences), dtype=np.int64, count=len(sentences))
        if lengths.min() == 0:
            raise ValueError("cannot encode an empty sentence")
        batch, seq = len(sentences), int(lengths.max())
        types: dict[str, int] = {}
        type_idx = np.zeros((batch, seq), dtype=np.int64)
        for b, sent in enumerate(sentences):
            type_idx[b, : len(sent)] = [types.setdefault(nfc(t), len(types) + 1) for t in sent]
        # word ids once per distinct token too (normalisation is the costly part)
        type_word = np.array([0, *self.word_ids(types)], dtype=np.int64)  # (types + 1,)
        word_ids = type_word[type_idx]  # (batch, seq); padding → 0
        type_chars = self.char_matrix(["", *types])  # (types + 1, word_len)
        return EncodedBatch(word_ids, type_idx, type_chars, lengths, list(types))


def build_vocabs(
    sentences: Iterable[tuple[Sequence[str], Sequence[str]]], min_freq: int = 1
) -> tuple[Vocab, Vocab, Vocab, Counter[str]]:
    """Word, character and tag vocabularies (plus raw word counts) from training data."""
    words: Counter[str] = Counter()
    chars: Counter[str] = Counter()
    tags: Counter[str] = Counter()
    for toks, tgs in sentences:
        for t in toks:
            words[normalize_word(t)] += 1
            chars.update(nfc(t))
        tags.update(tgs)
    tag_vocab = Vocab(sorted(tags), specials=False)
    return Vocab.from_counts(words, min_freq), Vocab.from_counts(chars, 1), tag_vocab, words
