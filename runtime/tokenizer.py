"""A rule-based tokenizer for raw English text that splits the way UD English EWT does.

* sentences end after ``.``, ``!``, ``?``, ``…`` (and runs of them) when the next token
  starts a sentence; line breaks that leave a blank line always end a sentence;
* punctuation is split off words; hyphenated compounds are split (``long - term``) and so
  are slashes (``and / or``), as in EWT;
* clitics become their own words: ``n't``, ``'s``, ``'re``, ``'ll``, ``'m``, ``'ve``, ``'d``
  (``don't`` → ``do n't``, ``can't`` → ``ca n't``, ``won't`` → ``wo n't``, ``I'm`` → ``I 'm``),
  plus ``cannot`` → ``can not`` and ``gonna``/``wanna``/``gotta`` → ``gon na`` …;
* URLs, e-mail addresses, numbers (``1,000.50``, ``12:30``, ``3/4``), abbreviations
  (``U.S.``, ``e.g.``, ``Mr.``), emoticons-free ellipses (``...``) are kept whole.

Every token carries its character offsets in the input, so tokenization quality can be
measured against gold spans (``postag.tokenizer.span_f1``).

    >>> [t.text for t in tokenize("I don't think so.")]
    ['I', 'do', "n't", 'think', 'so', '.']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

#: Words that keep a following period ("Mr.", "Inc."). "No." only before a number.
ABBREVIATIONS = set(
    """mr mrs ms dr prof sr jr st mt ft vs inc ltd co corp dept univ jan feb mar apr jun jul
    aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun no nos vol p pp gen
    gov sen rep rev sgt capt col lt cmdr ave blvd rd est approx min max misc fig e.g i.e a.m
    p.m u.s u.k u.n d.c ph.d b.s m.s""".split()
)
#: Abbreviations that are also common words: see :func:`_is_abbreviation`.
ALSO_WORDS = set("sat sun wed mar dec min max est gen rep rev col fig".split())
#: Words EWT splits although they have no apostrophe: word → cut points.
SPECIAL_WORDS: dict[str, tuple[int, ...]] = {
    "cannot": (3,), "gonna": (3,), "wanna": (3,), "gotta": (3,), "dunno": (2, 3),
    "gimme": (3,), "lemme": (3,), "dont": (2,), "didnt": (3,), "doesnt": (4,), "isnt": (2,),
    "wasnt": (3,), "arent": (3,), "havent": (4,), "couldnt": (5,), "wouldnt": (5,),
    "shouldnt": (6,), "cant": (2,), "im": (1,), "ive": (1,), "alot": (1,),
}  # fmt: skip
#: Hyphenated words whose first part is one of these stay whole ("non-profit", "e-mail");
#: EWT splits every other hyphenated compound ("long - term").
HYPHEN_PREFIXES = tuple(
    """e non pre anti mid re post co over pro multi ex sub semi cross neo psycho socio
    counter intra vice micro un mis""".split()
)

_URL = r"(?:https?://|ftp://|www\.)[^\s<>\"]*[^\s<>\".,;:!?)\]}'’]"
_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*"
_EMOTICON = r"[:;=]-?[()DPp/|?](?=\s|$)"
_INITIALS = r"(?:[A-Za-z]\.){2,}|[A-Z]\.(?=\s+[A-Z])"
_SLASHED = r"(?<![\w/])[A-Za-z]/[A-Za-z](?![\w/])"  # "b/c", "w/o"
_DOTTED = r"[A-Za-z]\w*(?:\.[a-z]\w*)+"  # file names, domains, newsgroups: "API.pdf"
_PREFIXED = rf"(?<![\w-])(?i:{'|'.join(HYPHEN_PREFIXES)})-[^\W\d_]+(?:['’][^\W\d_]+)?"
_NUMBER = r"\d{3}-\d{3}-\d{4}|\d{3}-\d{4}(?!\d)|[+-]?(?:\d+(?:[.,:/]\d+)*|\.\d+)(?:st|nd|rd|th|s)?"
_WORD = r"[^\W\d_](?:[\w]|['’](?=[^\W\d_])|\.(?=[^\W\d_]\.))*|\d+[^\W\d_]+[\w]*|\w+"
_PUNCT = r"\.{2,}|-{2,}|[!?]+|\*+|=+|\++|\$+|#+|~+|_+|>+|<+|\^+|…|\S"
TOKEN_RE = re.compile(
    "|".join(
        f"(?P<{n}>{p})"
        for n, p in [
            ("url", _URL),
            ("email", _EMAIL),
            ("emoticon", _EMOTICON),
            ("initials", _INITIALS),
            ("number", _NUMBER),
            ("slashed", _SLASHED),
            ("dotted", _DOTTED),
            ("prefixed", _PREFIXED),
            ("word", _WORD),
            ("punct", _PUNCT),
        ]
    )
)
_CLITIC_RE = re.compile(r"(?i)(n['’]t|['’](?:s|re|ll|m|ve|d))$")
_SENT_END = re.compile(r"^(?:[.!?…]+|\.{2,})$")
_CLOSERS = set("\"'”’)]}»")


@dataclass(frozen=True)
class Token:
    text: str
    start: int  # character offset in the input
    end: int


def _split_word(text: str, start: int) -> Iterator[Token]:
    """Split clitics and EWT's special words off a word token."""
    lower = text.lower()
    if lower in SPECIAL_WORDS:
        cut = 0
        for n in (*SPECIAL_WORDS[lower], len(text)):
            yield Token(text[cut:n], start + cut, start + n)
            cut = n
        return
    m = _CLITIC_RE.search(text)
    if m and m.start() > 0:
        yield Token(text[: m.start()], start, start + m.start())
        yield Token(m.group(0), start + m.start(), start + len(text))
        return
    yield Token(text, start, start + len(text))


def _is_abbreviation(word: str, text: str, after: int) -> bool:
    """Does the period at ``text[after]`` belong to ``word`` ("Mr.", "No. 5")? Words that
    are also ordinary words ("sat", "sun", "min") keep it only when more text follows and
    they are capitalised or the text goes on in lower case ("Sat. 12th", "5 min. later";
    but "The cat sat." and "It sat. Then" end a sentence)."""
    lower = word.lower()
    if lower in ("no", "nos"):
        return bool(re.match(r"\.\s*\d", text[after : after + 4]))
    if lower in ALSO_WORDS:
        nxt = re.match(r"\.\s*(\S)", text[after:])  # the next visible character
        return bool(nxt) and (word[0].isupper() or nxt.group(1).islower())
    return lower in ABBREVIATIONS


def tokenize(text: str) -> list[Token]:
    """All tokens of ``text``, with offsets (no sentence boundaries)."""
    out: list[Token] = []
    absorbed = -1  # offset of a period already attached to an abbreviation
    for m in TOKEN_RE.finditer(text):
        kind, tok, s, e = m.lastgroup, m.group(), m.start(), m.end()
        if s == absorbed:
            continue
        if kind in ("word", "prefixed"):
            if e < len(text) and text[e] == "." and _is_abbreviation(tok, text, e):
                out.append(Token(text[s : e + 1], s, e + 1))
                absorbed = e
                continue
            out.extend(_split_word(tok, s))
        elif (
            kind == "punct"
            and tok.startswith(".")
            and len(tok) > 1
            and out
            and out[-1].end == s
            and out[-1].text.lower() in ABBREVIATIONS
        ):
            out.append(Token(tok, s, e))
        else:
            out.append(Token(tok, s, e))
    return out


def _starts_sentence(tok: Token) -> bool:
    c = tok.text[0]
    return c.isupper() or c.isdigit() or c in "\"'“‘(["


def split_sentences(text: str, tokens: Sequence[Token] | None = None) -> list[list[Token]]:
    """Group tokens into sentences: after a terminator (``.``, ``!``, ``?``, ``…`` and runs
    of them, plus any closing quotes/brackets right behind it) when the next token starts
    a sentence or a line break follows; a blank line always ends a sentence."""
    toks = list(tokens) if tokens is not None else tokenize(text)
    out: list[list[Token]] = []
    cur: list[Token] = []
    i = 0
    while i < len(toks):
        tok = toks[i]
        if cur and "\n\n" in text[cur[-1].end : tok.start].replace("\r", ""):
            out.append(cur)
            cur = []
        cur.append(tok)
        if _SENT_END.match(tok.text):
            while (
                i + 1 < len(toks)
                and toks[i + 1].text in _CLOSERS
                and (toks[i + 1].start == cur[-1].end)
            ):
                i += 1
                cur.append(toks[i])
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            if nxt is None or _starts_sentence(nxt) or "\n" in text[cur[-1].end : nxt.start]:
                out.append(cur)
                cur = []
        i += 1
    if cur:
        out.append(cur)
    return out


def sentences(text: str) -> list[list[str]]:
    """Raw text → sentences of token strings."""
    return [[t.text for t in s] for s in split_sentences(text)]


def gold_spans(text: str, words: Iterable[str]) -> list[tuple[int, int]]:
    """Character spans of gold ``words`` in ``text`` (found left to right)."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for w in words:
        at = text.find(w, pos)
        if at < 0:
            continue  # a form that is not in the text (rare): counts as a miss
        spans.append((at, at + len(w)))
        pos = at + len(w)
    return spans


def span_f1(pairs: Iterable[tuple[str, Sequence[str]]]) -> dict[str, float]:
    """Token-level precision/recall/F1 of :func:`tokenize` against gold words, by exact
    character spans, over (text, gold words) pairs."""
    tp = n_pred = n_gold = 0
    for text, words in pairs:
        gold = set(gold_spans(text, words))
        pred = {(t.start, t.end) for t in tokenize(text)}
        tp += len(gold & pred)
        n_pred += len(pred)
        n_gold += len(list(words))
    p = tp / max(1, n_pred)
    r = tp / max(1, n_gold)
    return {
        "precision": p,
        "recall": r,
        "f1": 2 * p * r / max(1e-12, p + r),
        "gold": n_gold,
        "predicted": n_pred,
    }


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m postag.tokenizer FILE.conllu...``: token F1 against gold tokenization."""
    import sys

    from .data import read_conllu

    for path in argv if argv is not None else sys.argv[1:]:
        m = span_f1((s.text or " ".join(s.words), s.words) for s in read_conllu(path))
        print(
            f"{path}: precision {100 * m['precision']:.2f}%  recall {100 * m['recall']:.2f}%"
            f"  F1 {100 * m['f1']:.2f}%  ({m['gold']} gold words, {m['predicted']} predicted)"
        )


if __name__ == "__main__":
    main()
