"""Multiword tokens (MWT): a lexicon learned from a treebank that expands a surface token
into its syntactic words (EWT "don't" → do n't, "I'm" → I 'm; French "du" → de le, "au"
→ à le). Torch-free: the runtime expands the tokens its segmenter marks as multiword.

    from postag.mwt import MwtLexicon
    lex = MwtLexicon.learn_files(["fr_sequoia-ud-train.conllu"])
    lex.expand("du"), lex.expand("DU"), lex.expand("Des")  # [de, le] [DE, le] [De, les]
    lex.analyses("au")                                     # [(("à", "le"), 250)]
    MwtLexicon.from_dict(json.loads(json.dumps(lex.to_dict()))) == lex

    python -m postag.mwt TRAIN.conllu [DEV.conllu]   # lexicon size; dev coverage and accuracy

What is learned: for each multiword token of the training files (a range line ``3-4``
and its words), its surface FORM → its words' FORMs, with counts, under two keys: the
exact surface form and its lowercased form (words lowercased too). :meth:`expand`:

1. **Seen as written**: the most frequent analysis of that exact form (ties: the
   smallest in Python's order of tuples, so a lexicon read back from JSON agrees), so
   "I'm" → I 'm and "Du" → De le as the treebank writes them.
2. **Seen in another case**: the most frequent lowercased analysis, re-cased from the
   surface: when the words spell the surface (ignoring case: "DON'T" = "do" + "n't")
   each word takes the surface's own characters (DO N'T); otherwise an all-uppercase
   surface upper-cases every word and a capitalised one capitalises the first word
   (Sequoia train has "des" but never "Des": "Des" → De les, as it writes "Du" → De
   le). Sequoia writes "DU" as DE le, so the exact form comes first.
3. **Unseen** (the segmenter says MWT, the lexicon has never seen the form): the
   *suffix rule*, then the *identity* fallback. Suffix rule: among the training MWTs
   whose words spell their surface (EWT's "n't", "'s", "'m", "na" …; Sequoia has
   none), the last words, with counts; an unseen surface that ends with one of them,
   after at least one other character, splits into (rest, suffix), the longest such
   suffix winning ("shouldn't" → should n't). No such suffix: the token stays one
   word (``[form]``), which keeps its characters and offsets intact and costs one
   missing word at most.

Measured (``python -m postag.mwt TRAIN DEV``, train → dev / test): EWT dev has 359
multiword tokens, 66 of them unseen in train (names' possessives: "Ben's", "Google's"),
all 66 expanded right by the suffix rule (identity alone: 0 of them); EWT test 354, 46
unseen, 45 right ("I´m" → I´ m, gold I ´m). Sequoia dev 282, none unseen; test 310, one
unseen ("desdites" → identity; gold de lesdites). Every seen form is expanded right on
all four; lowercasing every key instead of step 1 would lose one on Sequoia dev. Nothing
here is language-specific: the analyses and suffixes are all learned.

Stored in a bundle as plain JSON (:meth:`to_dict`): ``{"format": 1, "analyses": [[form,
[[[word, ...], count], ...]], ...], "suffixes": [[suffix, count], ...]}``; the
lowercased index is rebuilt on load.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .data import conllu_blocks
from .errors import CorpusError

FORMAT = 1
_RANGE_ID = re.compile(r"([1-9][0-9]*)-([1-9][0-9]*)")

#: An analysis: the words of one multiword token.
Analysis = tuple[str, ...]


def multiword_tokens(conllu: str, source: str = "<string>") -> Iterator[tuple[str, Analysis]]:
    """Each multiword token of CoNLL-U text, in order: ``(surface FORM, word FORMs)``.
    A range whose words do not all follow it in the sentence is a :class:`CorpusError`
    naming ``source`` and the line."""
    lines = enumerate(conllu.removeprefix("\ufeff").replace("\r\n", "\n").split("\n"), start=1)
    for start, block in conllu_blocks(lines, source=source):
        words: dict[str, str] = {}  # word ID → FORM, this sentence
        ranges: list[tuple[int, str, int, int]] = []  # (line, surface, first, last)
        for offset, line in enumerate(block):
            if line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) < 2:
                raise CorpusError(f"{source}:{start + offset}: expected 10 tab-separated columns")
            if m := _RANGE_ID.fullmatch(cols[0]):
                ranges.append((start + offset, cols[1], int(m.group(1)), int(m.group(2))))
            else:
                words[cols[0]] = cols[1]
        for line, surface, first, last in ranges:
            ids = [str(i) for i in range(first, last + 1)]
            if last <= first or any(i not in words for i in ids):
                raise CorpusError(
                    f"{source}:{line}: multiword token {first}-{last} ({surface!r}) "
                    "does not cover two or more words of its sentence"
                )
            yield surface, tuple(words[i] for i in ids)


def read_multiword_tokens(path: str | Path) -> list[tuple[str, Analysis]]:
    """:func:`multiword_tokens` of a CoNLL-U file (UTF-8)."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except OSError as exc:
        raise CorpusError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{path}: not valid UTF-8 ({exc.reason})") from None
    return list(multiword_tokens(text, str(path)))


def _spells(surface: str, words: Sequence[str]) -> bool:
    """Whether the words, concatenated, are the surface (ignoring case)."""
    return "".join(words).lower() == surface.lower()


def _is_count(n: object) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and n > 0


def _is_words(words: object) -> bool:
    """A JSON analysis: a non-empty list of non-empty strings."""
    return isinstance(words, list) and bool(words) and all(isinstance(w, str) and w for w in words)


def _best(counts: Counter[Analysis]) -> Analysis:
    """The most frequent analysis; ties: the smallest."""
    return min(counts.items(), key=lambda x: (-x[1], x[0]))[0]


def recase(surface: str, words: Sequence[str]) -> list[str]:
    """Lowercased ``words`` of ``surface``, in the surface's case (see the module
    docstring, step 2)."""
    if _spells(surface, words):
        out, i = [], 0
        for w in words:
            out.append(surface[i : i + len(w)])
            i += len(w)
        # a case mapping that changes the length ("İ".lower() is 2 characters) misaligns
        if i == len(surface) and all(
            a.lower() == w.lower() for a, w in zip(out, words, strict=True)
        ):
            return out
    if surface.isupper() and len(surface) > 1:
        return [w.upper() for w in words]
    if surface[:1].isupper():
        return [words[0][:1].upper() + words[0][1:], *words[1:]]
    return list(words)


@dataclass
class MwtLexicon:
    """Surface form → analyses with counts (see the module docstring)."""

    exact: dict[str, Counter[Analysis]] = field(default_factory=dict)
    suffixes: Counter[str] = field(default_factory=Counter)
    lower: dict[str, Counter[Analysis]] = field(default_factory=dict, compare=False, repr=False)
    longest: int = field(default=0, compare=False, repr=False)  # the longest suffix's length

    # -- learning ---------------------------------------------------------------------------

    def add(self, surface: str, words: Sequence[str], count: int = 1) -> None:
        """Count one multiword token (or ``count`` of them)."""
        analysis = tuple(words)
        self.exact.setdefault(surface, Counter())[analysis] += count
        low = tuple(w.lower() for w in analysis)
        self.lower.setdefault(surface.lower(), Counter())[low] += count
        if _spells(surface, analysis) and len(analysis[-1]) < len(surface):
            self._add_suffix(analysis[-1].lower(), count)

    def _add_suffix(self, suffix: str, count: int) -> None:
        self.suffixes[suffix] += count
        self.longest = max(self.longest, len(suffix))

    @classmethod
    def learn(cls, tokens: Iterable[tuple[str, Sequence[str]]]) -> MwtLexicon:
        """A lexicon of ``(surface, words)`` pairs (:func:`multiword_tokens`)."""
        lex = cls()
        for surface, words in tokens:
            lex.add(surface, words)
        return lex

    @classmethod
    def learn_files(cls, paths: Iterable[str | Path]) -> MwtLexicon:
        """A lexicon of the multiword tokens of CoNLL-U files (the training split)."""
        return cls.learn(t for p in paths for t in read_multiword_tokens(p))

    # -- lookup -----------------------------------------------------------------------------

    def __len__(self) -> int:
        """The number of distinct surface forms (as written)."""
        return len(self.exact)

    def __contains__(self, surface: object) -> bool:
        """Whether ``surface`` was seen as a multiword token, in any case."""
        return isinstance(surface, str) and surface.lower() in self.lower

    def analyses(self, surface: str) -> list[tuple[Analysis, int]]:
        """The analyses of ``surface`` as written, most frequent first (ties: smallest)."""
        return sorted(self.exact.get(surface, Counter()).items(), key=lambda x: (-x[1], x[0]))

    def suffix_split(self, surface: str) -> list[str] | None:
        """The suffix rule (module docstring, step 3): ``[rest, suffix]``, or ``None``."""
        # the longest suffix first, leaving >= 1 char; no suffix is longer than `longest`
        # (plus a little: lowercasing may change a length), so the work per token is
        # bounded by the lexicon, not by the token's length
        for k in range(max(1, len(surface) - self.longest - 2), len(surface)):
            if surface[k:].lower() in self.suffixes:  # (not surface.lower()[k:]: "İ")
                return [surface[:k], surface[k:]]
        return None

    def expand(self, surface: str) -> list[str]:
        """The words of a multiword token (module docstring: seen as written, seen in
        another case, suffix rule, else ``[surface]``)."""
        if surface in self.exact:
            return list(_best(self.exact[surface]))
        if (low := self.lower.get(surface.lower())) is not None:
            return recase(surface, _best(low))
        return self.suffix_split(surface) or [surface]

    def how(self, surface: str) -> str:
        """Which step :meth:`expand` takes: ``exact``, ``case``, ``suffix`` or
        ``identity``."""
        if surface in self.exact:
            return "exact"
        if surface.lower() in self.lower:
            return "case"
        return "suffix" if self.suffix_split(surface) else "identity"

    # -- JSON -------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and dicts (JSON), sorted so that equal lexicons give equal JSON."""
        return {
            "format": FORMAT,
            "analyses": [
                [form, [[list(a), n] for a, n in self.analyses(form)]]
                for form in sorted(self.exact)
            ],
            "suffixes": sorted([s, n] for s, n in self.suffixes.items()),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MwtLexicon:
        """The inverse of :meth:`to_dict`; a malformed dict is a :class:`CorpusError`."""
        try:
            if data["format"] != FORMAT:
                raise CorpusError(f"MWT lexicon format {data['format']!r}, expected {FORMAT}")
            lex = cls()
            for form, analyses in data["analyses"]:
                for words, n in analyses:
                    if not (isinstance(form, str) and _is_count(n) and _is_words(words)):
                        raise ValueError(f"bad analysis {words!r} x {n!r} of {form!r}")
                    analysis = tuple(words)
                    lex.exact.setdefault(form, Counter())[analysis] += n
                    low = tuple(w.lower() for w in analysis)
                    lex.lower.setdefault(form.lower(), Counter())[low] += n
            for s, n in data["suffixes"]:
                if not (isinstance(s, str) and s and _is_count(n)):
                    raise ValueError(f"bad suffix {s!r} x {n!r}")
                lex._add_suffix(s, n)
        except (KeyError, TypeError, ValueError) as exc:
            raise CorpusError(f"malformed MWT lexicon: {exc!r}") from None
        return lex


# -- measurement ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """How a lexicon does on held-out multiword tokens: how many (``total``), by the step
    :meth:`MwtLexicon.expand` took (``steps``), and how many it expanded to exactly the
    gold words, overall and per step."""

    total: int
    correct: int
    steps: dict[str, int]
    steps_correct: dict[str, int]

    @property
    def unseen(self) -> int:
        """Held-out tokens whose form (in any case) the lexicon never saw."""
        return self.steps.get("suffix", 0) + self.steps.get("identity", 0)


def coverage(lex: MwtLexicon, tokens: Iterable[tuple[str, Sequence[str]]]) -> Coverage:
    """Expand each held-out ``(surface, gold words)`` and count (see :class:`Coverage`)."""
    steps: Counter[str] = Counter()
    right: Counter[str] = Counter()
    total = correct = 0
    for surface, words in tokens:
        step = lex.how(surface)
        ok = lex.expand(surface) == list(words)
        steps[step] += 1
        right[step] += ok
        total += 1
        correct += ok
    return Coverage(total, correct, dict(steps), dict(right))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m postag.mwt",
        description="Learn an MWT lexicon from TRAIN; measure it on DEV's multiword tokens.",
    )
    parser.add_argument("train", type=Path)
    parser.add_argument("dev", type=Path, nargs="?")
    args = parser.parse_args(argv)
    try:
        train = read_multiword_tokens(args.train)
        dev = read_multiword_tokens(args.dev) if args.dev else []
    except CorpusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    lex = MwtLexicon.learn(train)
    ambiguous = sum(len(c) > 1 for c in lex.exact.values())
    print(f"train: {len(train)} multiword tokens, {len(lex)} forms ({ambiguous} ambiguous), "
          f"{len(lex.suffixes)} suffixes")  # fmt: skip
    if args.dev:
        cov = coverage(lex, dev)
        print(f"dev: {cov.total} multiword tokens, {cov.unseen} unseen in train; "
              f"expanded right: {cov.correct}/{cov.total}")  # fmt: skip
        for step, n in sorted(cov.steps.items()):
            print(f"  {step:9} {n:5}  right {cov.steps_correct.get(step, 0)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
