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
  even without a terminator, or before it would span more than
  :data:`MAX_SENTENCE_CHARS` characters (words far apart), so one endless "sentence"
  never holds more than that;
* **streaming**: :func:`iter_tokens` and :func:`iter_sentences` are generators that hold
  one sentence (plus one token of lookahead), so callers can bound memory;
  :func:`tokenize` / :func:`split_sentences` / :func:`sentences` are their list forms.

    for sent in iter_sentences(huge_text):   # memory: one sentence at a time
        print(" ".join(t.text for t in sent))

Invisible characters are never words:

* **format characters are read through**: a format character (Unicode category Cf) that
  is a grapheme cluster of its own — the soft hyphen U+00AD, the zero-width space U+200B,
  the word joiner U+2060, the byte order mark U+FEFF, the direction marks U+200E, U+200F,
  U+061C, the bidi embeddings, overrides and isolates U+202A..U+202E and U+2066..U+2069,
  the invisible operators U+2061..U+2064 (:func:`is_format`) — is tokenized as if it
  were not there: inside a word it belongs to the word (``co\\u00adoperate`` is one
  word, ``text[start:end]`` including the soft hyphen), at a word's edge, between words
  or alone it belongs to no word and separates nothing. A leading byte order mark is
  such a character too: never a word, and offsets count it (they index the text as
  given). The other format characters (the joiners U+200C/U+200D, the emoji tag
  characters, the prepended concatenation marks) belong to grapheme clusters and stay
  with the characters they join; a token made of format characters only is dropped.
  The model looks a word up without its format characters (:func:`lookup_form`);
* **control characters separate words**: a control character (category Cc, NUL
  included) that ``str.isspace()`` does not count as whitespace is read as a space.
"""

from __future__ import annotations

import functools
import re
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import regex

if TYPE_CHECKING:
    from .mwt import MwtLexicon

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
#: A sentence is also closed before a token that would make it span more than this many
#: characters (whitespace and format characters between its words count): no real
#: sentence does, and it bounds what a streaming reader carries over for one.
MAX_SENTENCE_CHARS = 100_000

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
# Format characters that are grapheme clusters of their own (the tokenizer reads through
# them) and control characters that are not whitespace (read as spaces).
_FORMAT = r"[\p{Cf}&&\p{Grapheme_Cluster_Break=Control}]"
_CONTROL = r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]"
_FORMAT_RUN = regex.compile(f"{_FORMAT}+", regex.V1)
_FORMAT_CHAR = regex.compile(_FORMAT, regex.V1)
_CONTROL_CHAR = regex.compile(_CONTROL)
_HIDDEN = regex.compile(f"{_FORMAT}|{_CONTROL}", regex.V1)
_EDGE = regex.compile(f"[{_WS}]|{_FORMAT}|{_CONTROL}", regex.V1)
_ONLY_FORMAT = regex.compile(r"\p{Cf}+")


@dataclass(frozen=True, slots=True)
class Token:
    """A token of the input: ``text[start:end]``. A multiword token ("don't", French
    "du") has its syntactic ``words`` ("do", "n't"); any other token is one word, itself
    (``words`` empty)."""

    text: str
    start: int  # character offset in the input
    end: int
    words: tuple[str, ...] = ()

    def syntactic_words(self) -> tuple[str, ...]:
        """The words the tagger tags: ``words``, or the token itself."""
        return self.words or (self.text,)


def is_format(char: str) -> bool:
    """Is ``char`` a format character the tokenizer reads through (a Cf character that is
    a grapheme cluster of its own: soft hyphen, zero-width space, byte order mark, bidi
    and direction marks, word joiner, …)?"""
    return _FORMAT_CHAR.fullmatch(char) is not None


def lookup_form(word: str) -> str:
    """``word`` as the model looks it up: without the format characters the tokenizer
    reads through (``co\\u00adoperate`` → ``cooperate``); a word made of nothing else
    stays as it is. The word itself, and its offsets, keep them."""
    if word.isascii():
        return word
    return _FORMAT_RUN.sub("", word) or word


def word_span(text: str, start: int = 0, end: int | None = None) -> tuple[int, int] | None:
    """The word in the whitespace-separated ``text[start:end]`` (a pre-tokenized token):
    without the whitespace, control and format characters at its edges; None when
    nothing else is left (format characters are never a word by themselves)."""
    end = len(text) if end is None else end
    while start < end and _EDGE.match(text, start, start + 1):
        start += 1
    while end > start and _EDGE.match(text, end - 1, end):
        end -= 1
    if start == end or _ONLY_FORMAT.fullmatch(text, start, end):
        return None
    return start, end


class _Visible:
    """``text`` as the tokenizer reads it (:attr:`text`): format characters taken out,
    control characters as spaces; maps offsets in it back to the original text. Holds
    the visible text and two integers per run of format characters."""

    def __init__(self, text: str) -> None:
        self.original = text
        self.runs = array("q")  # where each run of format characters was, in self.text
        self.shift = array("q")  # characters taken out up to and including that run
        pieces: list[str] = []
        pos = removed = 0
        for m in _FORMAT_RUN.finditer(text):
            pieces.append(text[pos : m.start()])
            self.runs.append(m.start() - removed)
            removed += m.end() - m.start()
            self.shift.append(removed)
            pos = m.end()
        pieces.append(text[pos:])
        self.text = _CONTROL_CHAR.sub(" ", "".join(pieces))

    @classmethod
    def of(cls, text: str) -> _Visible | None:
        """The visible form of ``text``, or None when it has nothing to hide."""
        return cls(text) if _HIDDEN.search(text) else None

    def offset(self, pos: int) -> int:
        """The original offset of the character at ``pos`` in :attr:`text`."""
        k = bisect_right(self.runs, pos)
        return pos + (self.shift[k - 1] if k else 0)

    def token(self, tok: Token) -> Token:
        """A token of :attr:`text` as a token of the original text: from its first to its
        last character there (so with the format characters inside it, none at its
        edges)."""
        start, end = self.offset(tok.start), self.offset(tok.end - 1) + 1
        return Token(self.original[start:end], start, end)


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
    more than ``max_run_chars`` non-space characters are cut into pieces first. Format
    characters are read through, control characters as spaces (see the module
    docstring)."""
    if max_run_chars < 1:
        raise ValueError("max_run_chars must be at least 1")
    visible = _Visible.of(text)
    if visible is None:
        yield from _visible_tokens(text, max_run_chars)
    else:
        for tok in _visible_tokens(visible.text, max_run_chars):
            yield visible.token(tok)


def _visible_tokens(text: str, max_run_chars: int) -> Iterator[Token]:
    """The tokens of a text with no format or control characters to hide."""
    for lo, hi in _segments(text, max_run_chars):
        for tok in _whole_clusters(text, _raw_tokens(text, lo, hi), hi):
            # a joiner (or another format character of a cluster) alone: not a word
            if tok.text[0] < "\u0600" or not _ONLY_FORMAT.fullmatch(tok.text):
                yield tok


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
    max_chars: int = MAX_SENTENCE_CHARS,
) -> Iterator[list[Token]]:
    """Group tokens into sentences, one at a time: after a terminator (``.``, ``!``,
    ``?``, ``…`` and runs of them, plus any closing quotes/brackets right behind it) when
    the next token starts a sentence or a line break follows; a blank line always ends a
    sentence, and so does reaching ``max_tokens`` tokens or a token that would make it
    span more than ``max_chars`` characters of ``text``. Holds one sentence and one
    token of lookahead. Without ``tokens``, format characters are read through (a line
    holding only them is blank) and control characters are spaces, as for
    :func:`iter_tokens`."""
    if max_tokens < 1 or max_chars < 1:
        raise ValueError("max_tokens and max_chars must be at least 1")
    visible = _Visible.of(text) if tokens is None else None
    if visible is None:
        yield from _sentences(text, tokens, max_tokens, max_chars)
        return
    for sent in _sentences(visible.text, None, max_tokens, max_chars, visible.offset):
        yield [visible.token(t) for t in sent]


def _sentences(
    text: str,
    tokens: Iterable[Token] | None,
    max_tokens: int,
    max_chars: int,
    offset: Callable[[int], int] | None = None,
) -> Iterator[list[Token]]:
    """:func:`iter_sentences` of a text with nothing to hide, or of given tokens;
    ``offset`` maps an offset in ``text`` to the original text's (where spans count)."""
    toks = iter(tokens if tokens is not None else _visible_tokens(text, MAX_RUN_CHARS))
    cur: list[Token] = []
    first = 0  # where cur starts in the original text
    nxt = next(toks, None)
    while nxt is not None:
        tok, nxt = nxt, next(toks, None)
        if cur and (
            len(cur) >= max_tokens
            or (offset(tok.end - 1) + 1 if offset else tok.end) - first > max_chars
            or _blank_line(text, cur[-1].end, tok.start)
        ):
            yield cur
            cur = []
        if not cur:
            first = offset(tok.start) if offset else tok.start
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
    max_chars: int = MAX_SENTENCE_CHARS,
) -> list[list[Token]]:
    """All sentences of ``text`` (see :func:`iter_sentences`)."""
    return list(iter_sentences(text, tokens, max_tokens, max_chars))


def sentences(text: str) -> list[list[str]]:
    """Raw text → sentences of token strings."""
    return [[t.text for t in s] for s in iter_sentences(text)]


#: A multiword token of a sentence: its first and last word (0-based, inclusive) and its
#: text ("don't" over the words do, n't).
Multiword = tuple[int, int, str]


class TextSentence(NamedTuple):
    """A sentence of raw text: its words and each one's offsets in the text
    (``text[starts[i]:ends[i]] == words[i]``; the words of a multiword token all have
    the token's offsets), and its multiword tokens. Plain lists: cheap to send to
    another process."""

    words: list[str]
    starts: list[int]
    ends: list[int]
    multiword: list[Multiword] = []  # noqa: RUF012 (never mutated: a new list per sentence)


def sentence_words(tokens: Sequence[Token]) -> TextSentence:
    """A sentence's tokens → its words with their offsets and multiword tokens: the one
    place a multiword token becomes words, for every splitter and surface."""
    words: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    multiword: list[Multiword] = []
    for t in tokens:
        parts = t.syntactic_words()
        if len(parts) > 1:
            multiword.append((len(words), len(words) + len(parts) - 1, t.text))
        words.extend(parts)
        starts.extend([t.start] * len(parts))
        ends.extend([t.end] * len(parts))
    return TextSentence(words, starts, ends, multiword)


def text_sentences(text: str, lexicon: MwtLexicon | None = None) -> list[TextSentence]:
    """Raw text → sentences of words with their offsets (the rule tokenizer; with a
    ``lexicon``, its pieces joined into multiword tokens by :func:`join_multiword`)."""
    sents = iter_sentences(text)
    return [sentence_words(join_multiword(s, lexicon) if lexicon else s) for s in sents]


def join_multiword(tokens: Sequence[Token], lexicon: MwtLexicon) -> list[Token]:
    """The rule tokenizer's pieces joined back into the multiword tokens a treebank
    writes: two or three touching pieces (no space between) whose joined text the
    ``lexicon`` expands into exactly those pieces ("do" + "n't" → don't; "can" + "not" →
    cannot; "Ben" + "'s" by the learned suffix rule) become one token with those words.
    The longest such run wins; everything else is kept. Linear in the tokens."""
    out: list[Token] = []
    i, n = 0, len(tokens)
    while i < n:
        for k in (3, 2):
            run = tokens[i : i + k]
            if len(run) < k or any(a.end != b.start for a, b in zip(run, run[1:], strict=False)):
                continue
            if any(t.words for t in run):
                continue
            pieces = tuple(t.text for t in run)
            surface = "".join(pieces)
            if tuple(lexicon.expand(surface)) == pieces:
                out.append(Token(surface, run[0].start, run[-1].end, pieces))
                i += k
                break
        else:
            out.append(tokens[i])
            i += 1
    return out


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
