"""Shared by the offset tests: what every word's offsets must satisfy, the texts that make
them hard (random Unicode, EWT's raw text) and the one-line reason to skip without EWT.

    check_offsets(text, [(words, starts, ends), …])   # text[start:end] == word, in order
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import regex
from hypothesis import strategies as st

from tests.conftest import EWT

EWT_TEST = EWT / "en_ewt-ud-test.conllu"
NO_EWT = f"the EWT corpus is not at {EWT} (its raw text is rebuilt from en_ewt-ud-test.conllu)"

#: Pieces that make offsets hard: line ends of every kind, tabs, combining marks, ZWJ
#: emoji sequences, flags, skin tones, right-to-left text, astral letters, clitics.
PIECES = st.sampled_from(
    [
        "\r\n",
        "\r",
        "\n",
        "\n\n",
        "\r\n\r\n",
        "\t",
        " ",
        "e\u0301",
        "\u0301",
        "👨\u200d👩\u200d👧",
        "🇺🇸",
        "👍🏽",
        "שָׁלוֹם",
        "مرحبا",
        "𝒜𝓑",
        "\U00020000",
        "don't",
        "Mr.",
        "U.S.",
        ". ",
        "! ",
        "word",
        "cafe\u0301.",
        "\u200b",
        "\ufeff",
        "\x00",
        "\x85",
        "\u2028",
        "co\u00adoperate",
        "\u00ad",
        "\u202eword\u202c",
        "\u200e",
        "\u200f",
        "\u2066",
        "\u2069",
        "\u2060",
        "\u200d",
    ]
)
#: Random Unicode text (no lone surrogates: they cannot be written as UTF-8) and pieces.
UNICODE = st.lists(st.one_of(st.characters(exclude_categories=["Cs"]), PIECES), max_size=80).map(
    "".join
)


_INVISIBLE = regex.compile(r"[\s\p{Cc}\p{Cf}]+")


def invisible(gap: str) -> bool:
    """What a tokenizer may leave out of every word: whitespace, control characters and
    format characters (Cf: soft hyphens, bidi marks, a BOM, a lone joiner, …)."""
    return _INVISIBLE.fullmatch(gap) is not None


def check_offsets(
    text: str,
    sentences: Iterable[Sequence],
    blank: Callable[[str], bool] = invisible,
) -> int:
    """Every word is ``text[start:end]``, non-empty, and the words are strictly in order
    and disjoint through all ``sentences``; what lies between them (and around them) is
    ``blank``: nothing visible was skipped. No word is made of format characters only,
    nor starts or ends with whitespace. Returns the number of words."""
    prev, n = 0, 0
    for sentence in sentences:
        words, starts, ends = sentence[:3]  # a TextSentence also lists multiword tokens
        assert len(words) == len(starts) == len(ends), (words, starts, ends)
        for word, start, end in zip(words, starts, ends, strict=True):
            assert prev <= start < end, (word, prev, start, end)
            assert text[start:end] == word, (text[start:end], word, start, end)
            assert not invisible(word) and word == word.strip(), word
            assert prev == start or blank(text[prev:start]), text[prev:start]
            prev = end
            n += 1
    assert prev == len(text) or blank(text[prev:]), text[prev:]
    return n


def ewt_raw_text(newline: str = "\n") -> str:
    """EWT test's raw text rebuilt from its ``# text =`` lines: a line per sentence, a
    blank line before each new paragraph or document, lines ending in ``newline``."""
    lines: list[str] = []
    for line in EWT_TEST.read_text(encoding="utf-8").splitlines():
        if line.startswith(("# newpar", "# newdoc")) and lines and lines[-1]:
            lines.append("")
        elif line.startswith("# text = "):
            lines.append(line.removeprefix("# text = "))
    return newline.join(lines) + newline
