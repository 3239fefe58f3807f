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

Every token carries its character offsets in the input: ``start`` and ``end`` are Python
``str`` indices (Unicode code points, not bytes nor UTF-16 units) and ``text[t.start:t.end]
== t.text`` always holds. A token's text is never normalised: it is exactly its stretch of
the input (decomposed accents stay decomposed; :mod:`postag.vocab` looks words up by their
NFC form, so that costs nothing). Clitics split off a word (``don't`` → ``do`` ``n't``) get
their own spans inside it. Tokenization quality can so be measured against gold spans
(``postag.tokenizer.span_f1``), and :func:`text_sentences` gives every sentence's words
with their offsets.

    >>> [t.text for t in tokenize("I don't think so.")]
    ['I', 'do', "n't", 'think', 'so', '.']
    >>> [t.text for t in tokenize("naïve 🇺🇸👍🏽!")]  # a flag, a thumb with its skin tone
    ['naïve', '🇺🇸', '👍🏽', '!']

Hostile input is normal input:

* **linear time, any input**: no pattern rescans a run of characters from every token
  start, and nothing copies the rest of the text per token (proved by the n vs 8n ratio
  tests; ``python -m postag.tokenizer_bench`` prints the table);
* **grapheme clusters stay whole**: a token boundary never falls inside an extended
  grapheme cluster (``\\X``) of its whitespace-free run (decomposed accents, Hebrew niqqud,
  Devanagari signs, ZWJ emoji sequences, flags, skin tones), so decomposed text gives the
  same tokens as composed text (and :mod:`postag.vocab` looks them up by their NFC form);
* **bounded work per token**: a whitespace-free run longer than :data:`MAX_RUN_CHARS`
  characters (no real word is) is cut into pieces of at most that many characters, at
  grapheme boundaries (only a single "cluster" longer than that, i.e. thousands of stacked
  combining marks, is cut inside), and each piece is tokenized as if it stood alone
  (its end acts as the end of the text);
* **bounded sentences**: a sentence is closed after :data:`MAX_SENTENCE_TOKENS` tokens
  even without a terminator, so one endless "sentence" never holds more than that;
* **streaming**: :func:`iter_tokens` and :func:`iter_sentences` are generators that hold
  one sentence (plus one token of lookahead), so callers can bound memory;
  :func:`tokenize` / :func:`split_sentences` / :func:`sentences` are their list forms.

    for sent in iter_sentences(huge_text):   # memory: one sentence at a time
        print(" ".join(t.text for t in sent))
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import regex

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
#: A whitespace-free run longer than this is cut into pieces of at most this many
#: characters (at grapheme boundaries), each tokenized on its own: it bounds the work
#: and memory of any one match. The longest EWT token (a URL) has 473 characters.
MAX_RUN_CHARS = 4096
#: A sentence is closed after this many tokens even without a terminator (the longest
#: EWT sentence has 159 tokens); it bounds what a caller holds for one sentence.
MAX_SENTENCE_TOKENS = 1000

# The patterns use the `regex` package: its \w covers combining marks (so "cafe\u0301" and
# Devanagari words stay whole) and it has \X (extended grapheme clusters). _W adds what
# `re` also counts as word characters (\p{No}: "CO₂", "m²"); _L is a letter (a word
# character, not a digit or "_"). Whitespace is what str.isspace() says, as in `re`
# (regex's \s leaves out \x1c-\x1f).
_W = r"[\w\p{No}]"
_L = r"(?:[^\W\d_]|\p{No})"
_WS = r"\s\x1c-\x1f"
_URL = rf"(?:https?://|ftp://|www\.)[^{_WS}<>\"]*[^{_WS}<>\".,;:!?)\]}}'’]"
# Only at the start of a [\w.+-] run: a failed attempt scans the run once, not once per
# token in it (that was quadratic on "state-of-the-art-state-of-…").
_EMAIL = r"(?<![\w\p{No}.+-])[\w\p{No}.+-]+@[\w\p{No}-]+(?:\.[\w\p{No}-]+)*"
_EMOTICON = rf"[:;=]-?[()DPp/|?](?=[{_WS}]|$)"
_INITIALS = rf"(?:[A-Za-z]\.){{2,}}|[A-Z]\.(?=[{_WS}]+[A-Z])"
_SLASHED = r"(?<![\w\p{No}/])[A-Za-z]/[A-Za-z](?![\w\p{No}/])"  # "b/c", "w/o"
_DOTTED = rf"[A-Za-z]{_W}*(?:\.[a-z]{_W}*)+"  # file names, domains, newsgroups: "API.pdf"
_PREFIXED = rf"(?<![\w\p{{No}}-])(?i:{'|'.join(HYPHEN_PREFIXES)})-{_L}+(?:['’]{_L}+)?"
_NUMBER = r"\d{3}-\d{3}-\d{4}|\d{3}-\d{4}(?!\d)|[+-]?(?:\d+(?:[.,:/]\d+)*|\.\d+)(?:st|nd|rd|th|s)?"
# a letter, then word characters, with an apostrophe before a letter ("o'clock") or a
# period between letters followed by a period ("e.g") inside
_WORD = (
    rf"{_L}{_W}*(?:(?:['’](?={_L})|\.(?={_L}\.)){_W}*)*"
    rf"|\d+{_L}+{_W}*"
    rf"|{_W}+"
)
# an emoji with its modifiers and ZWJ-joined emoji, or a flag (a pair of regional
# indicators): whole clusters at once (the cluster pass would also join them, slower)
_EMOJI = (
    r"\p{Extended_Pictographic}\p{Grapheme_Cluster_Break=Extend}*"
    r"(?:\u200d\p{Extended_Pictographic}\p{Grapheme_Cluster_Break=Extend}*)*"
    r"|[\U0001F1E6-\U0001F1FF]{2}"
)
_PUNCT = rf"\.{{2,}}|-{{2,}}|[!?]+|\*+|=+|\++|\$+|#+|~+|_+|>+|<+|\^+|…|[^{_WS}]"
TOKEN_RE = regex.compile(
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
            ("emoji", _EMOJI),
            ("punct", _PUNCT),
        ]
    )
)
_CLITIC_RE = re.compile(r"(?i)(n['’]t|['’](?:s|re|ll|m|ve|d))$")
_SENT_END = re.compile(r"^(?:[.!?…]+|\.{2,})$")
_CLOSERS = set("\"'”’)]}»")
_NUMBER_AFTER = re.compile(r"\.\s*\d")
_NEXT_VISIBLE = re.compile(r"\.\s*(\S)")
# All clusters but the last: on text[lo:p + 1] it ends at the last boundary <= p (a break
# depends only on what precedes it and the next character).
_CLUSTERS_BEFORE_LAST = regex.compile(r"\X*(?=\X)")
_CLUSTER = regex.compile(r"\X")
_NON_SPACE = regex.compile(rf"[^{_WS}]*")
# a run of 3 or more regional indicators (flag letters), searched backwards
_FLAG_LETTERS = regex.compile(r"(?r)[\U0001F1E6-\U0001F1FF]{3,}")


@dataclass(frozen=True, slots=True)
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


def _is_abbreviation(word: str, text: str, after: int, end: int) -> bool:
    """Does the period at ``text[after]`` belong to ``word`` ("Mr.", "No. 5")? Words that
    are also ordinary words ("sat", "sun", "min") keep it only when more text follows and
    they are capitalised or the text goes on in lower case ("Sat. 12th", "5 min. later";
    but "The cat sat." and "It sat. Then" end a sentence). Looks no further than ``end``."""
    lower = word.lower()
    if lower in ("no", "nos"):
        return bool(_NUMBER_AFTER.match(text, after, min(end, after + 4)))
    if lower in ALSO_WORDS:
        nxt = _NEXT_VISIBLE.match(text, after, end)  # the next visible character
        return bool(nxt) and (word[0].isupper() or nxt.group(1).islower())
    return lower in ABBREVIATIONS


def _raw_tokens(text: str, lo: int, hi: int) -> Iterator[Token]:
    """Tokens of ``text[lo:hi]`` by :data:`TOKEN_RE`, clitics split, abbreviations joined."""
    pos = lo
    while pos < hi:
        for m in TOKEN_RE.finditer(text, pos, hi):
            s, e = m.span()
            tok = m.group()
            if m.lastgroup not in ("word", "prefixed"):
                yield Token(tok, s, e)
            elif e < hi and text[e] == "." and _is_abbreviation(tok, text, e, hi):
                yield Token(text[s : e + 1], s, e + 1)
                pos = e + 1  # go on after the period: matching resumes there
                break
            elif "'" in tok or "’" in tok or tok.lower() in SPECIAL_WORDS:
                yield from _split_word(tok, s)
            else:
                yield Token(tok, s, e)
        else:
            return


def _boundary_at_or_before(text: str, lo: int, p: int) -> int:
    """The last grapheme-cluster boundary ``<= p``, given one at ``lo`` (``lo < p``).
    Scans ``text[lo:p + 1]`` once."""
    if text[p - 1] < "\x80" and text[p] < "\x80":
        return p  # between two ASCII characters (CR LF is whitespace, never in a run)
    flags = _FLAG_LETTERS.search(text, lo, p)  # the last run of 3+ flag letters before p
    if flags is not None:
        # they pair up from the start of the run: every second position is a boundary
        a, b = flags.span()
        lo = a + 2 * ((min(b - 1, p) - a) // 2)
    # a slice, not pos=: `regex` finds flag pairs by counting back to the start of the
    # string, which made long runs of flags quadratic
    return lo + _CLUSTERS_BEFORE_LAST.match(text[lo : p + 1]).end()


def _cluster_end(text: str, at: int, hi: int) -> int:
    """The end of the grapheme cluster that starts at the boundary ``at``: in its
    whitespace-free run, before ``hi``. The slice looked at doubles until the cluster
    ends inside it, so a cluster of n characters costs O(n)."""
    width = 16
    while True:
        limit = min(hi, at + width)
        run = _NON_SPACE.match(text, at, limit).end()
        end = at + _CLUSTER.match(text[at:run]).end()
        if end < run or run < limit or limit == hi:
            return end
        width *= 2


class _ClusterCursor:
    """Is ``p`` a grapheme-cluster boundary? Asked for increasing ``p`` inside one
    segment ``text[:hi]``, it looks at each character a bounded number of times."""

    def __init__(self, text: str, hi: int) -> None:
        self.text, self.hi = text, hi
        self.known = 0  # a boundary at or before the next question
        self.end = -1  # the end of the cluster that starts at `known`, once computed

    def restart(self, p: int) -> None:
        """``p`` is a boundary (a run starts there)."""
        self.known, self.end = p, -1

    def is_boundary(self, p: int) -> bool:
        text = self.text
        if text[p - 1] < "\x80" and text[p] < "\x80":
            self.restart(p)
            return True
        if self.end >= 0:
            if p < self.end:
                return False  # inside the cluster found last time
            self.restart(self.end)
        if p == self.known:
            return True
        b = _boundary_at_or_before(text, self.known, p)
        if b == p:
            self.restart(p)
            return True
        self.known, self.end = b, _cluster_end(text, b, self.hi)
        return False


def _whole_clusters(text: str, tokens: Iterable[Token], hi: int) -> Iterator[Token]:
    """Merge adjacent tokens whose boundary falls inside a grapheme cluster (an accent
    after "cafe", the halves of a flag, a ZWJ emoji sequence)."""
    cursor = _ClusterCursor(text, hi)
    first: Token | None = None  # the token that opens the pending one
    end = 0  # where the pending token ends (past first.end once tokens are merged in)
    for tok in tokens:
        if first is None or end < tok.start:  # whitespace before it: a run starts
            cursor.restart(tok.start)
        elif not cursor.is_boundary(tok.start):
            end = tok.end
            continue
        if first is not None:
            yield first if end == first.end else Token(text[first.start : end], first.start, end)
        first, end = tok, tok.end
    if first is not None:
        yield first if end == first.end else Token(text[first.start : end], first.start, end)


@functools.lru_cache(maxsize=8)
def _long_run(max_chars: int) -> re.Pattern[str]:
    # the lookbehind tries it only at the start of a run: one scan per run, not per char
    return re.compile(rf"(?<!\S)\S{{{max_chars + 1},}}")


def _pieces(text: str, lo: int, hi: int, max_chars: int) -> Iterator[tuple[int, int]]:
    """A long run ``text[lo:hi]`` cut into pieces of at most ``max_chars`` characters."""
    while hi - lo > max_chars:
        cut = _boundary_at_or_before(text, lo, lo + max_chars)
        if cut == lo:  # one cluster longer than the cap: not text, cut it anyway
            cut = lo + max_chars
        yield lo, cut
        lo = cut
    yield lo, hi


def _segments(text: str, max_chars: int) -> Iterator[tuple[int, int]]:
    """``text`` as spans tokenized independently: stretches of ordinary runs, and the
    pieces of runs longer than ``max_chars``."""
    pos = 0
    for m in _long_run(max_chars).finditer(text):
        if pos < m.start():
            yield pos, m.start()
        yield from _pieces(text, m.start(), m.end(), max_chars)
        pos = m.end()
    if pos < len(text):
        yield pos, len(text)


def iter_tokens(text: str, max_run_chars: int = MAX_RUN_CHARS) -> Iterator[Token]:
    """The tokens of ``text`` one by one, with offsets (no sentence boundaries); runs of
    more than ``max_run_chars`` non-space characters are cut into pieces first."""
    if max_run_chars < 1:
        raise ValueError("max_run_chars must be at least 1")
    for lo, hi in _segments(text, max_run_chars):
        yield from _whole_clusters(text, _raw_tokens(text, lo, hi), hi)


def tokenize(text: str, max_run_chars: int = MAX_RUN_CHARS) -> list[Token]:
    """All tokens of ``text``, with offsets (no sentence boundaries)."""
    return list(iter_tokens(text, max_run_chars))


def _starts_sentence(tok: Token) -> bool:
    c = tok.text[0]
    return c.isupper() or c.isdigit() or c in "\"'“‘(["


def _blank_line(text: str, a: int, b: int) -> bool:
    return b - a > 1 and "\n\n" in text[a:b].replace("\r", "")


def iter_sentences(
    text: str,
    tokens: Iterable[Token] | None = None,
    max_tokens: int = MAX_SENTENCE_TOKENS,
) -> Iterator[list[Token]]:
    """Group tokens into sentences, one at a time: after a terminator (``.``, ``!``,
    ``?``, ``…`` and runs of them, plus any closing quotes/brackets right behind it) when
    the next token starts a sentence or a line break follows; a blank line always ends a
    sentence, and so does reaching ``max_tokens`` tokens. Holds one sentence and one
    token of lookahead."""
    if max_tokens < 1:
        raise ValueError("max_tokens must be at least 1")
    toks = iter(tokens if tokens is not None else iter_tokens(text))
    cur: list[Token] = []
    nxt = next(toks, None)
    while nxt is not None:
        tok, nxt = nxt, next(toks, None)
        if cur and (len(cur) >= max_tokens or _blank_line(text, cur[-1].end, tok.start)):
            yield cur
            cur = []
        cur.append(tok)
        if tok.text[0] not in ".!?…" or not _SENT_END.match(tok.text):
            continue
        while (
            nxt is not None
            and nxt.text in _CLOSERS
            and nxt.start == cur[-1].end
            and len(cur) < max_tokens
        ):
            cur.append(nxt)
            nxt = next(toks, None)
        if nxt is None or _starts_sentence(nxt) or "\n" in text[cur[-1].end : nxt.start]:
            yield cur
            cur = []
    if cur:
        yield cur


def split_sentences(
    text: str,
    tokens: Sequence[Token] | None = None,
    max_tokens: int = MAX_SENTENCE_TOKENS,
) -> list[list[Token]]:
    """All sentences of ``text`` (see :func:`iter_sentences`)."""
    return list(iter_sentences(text, tokens, max_tokens))


def sentences(text: str) -> list[list[str]]:
    """Raw text → sentences of token strings."""
    return [[t.text for t in s] for s in iter_sentences(text)]


class TextSentence(NamedTuple):
    """A sentence of raw text: its words and each one's offsets in the text
    (``text[starts[i]:ends[i]] == words[i]``). Plain lists: cheap to send to another
    process."""

    words: list[str]
    starts: list[int]
    ends: list[int]


def text_sentences(text: str) -> list[TextSentence]:
    """Raw text → sentences of token strings with their offsets."""
    return [
        TextSentence([t.text for t in s], [t.start for t in s], [t.end for t in s])
        for s in iter_sentences(text)
    ]


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
