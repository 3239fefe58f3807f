import gc
import itertools
import time
import tracemalloc
import unicodedata

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postag.cli.formats import read_text
from postag.tokenizer import (
    MAX_RUN_CHARS,
    MAX_SENTENCE_CHARS,
    is_format,
    iter_sentences,
    lookup_form,
    sentences,
    span_f1,
    split_sentences,
    text_sentences,
    tokenize,
    word_span,
)
from postag.tokenizer_bench import FAMILIES
from tests.conftest import EWT
from tests.runtime.spans import (
    EWT_TEST,
    NO_EWT,
    UNICODE,
    check_offsets,
    ewt_raw_text,
    invisible,
)


def words(text: str) -> list[str]:
    return [t.text for t in tokenize(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I don't know.", ["I", "do", "n't", "know", "."]),
        (
            "We can't, won't, and shouldn't.",
            ["We", "ca", "n't", ",", "wo", "n't", ",", "and", "should", "n't", "."],
        ),
        (
            "I'm sure you're right; they'll see we've won. He'd go.",
            [
                "I",
                "'m",
                "sure",
                "you",
                "'re",
                "right",
                ";",
                "they",
                "'ll",
                "see",
                "we",
                "'ve",
                "won",
                ".",
                "He",
                "'d",
                "go",
                ".",
            ],
        ),
        ("John's dog’s bone", ["John", "'s", "dog", "’s", "bone"]),
        ("I cannot, I'm gonna", ["I", "can", "not", ",", "I", "'m", "gon", "na"]),
        ("a long-term, non-profit e-mail", ["a", "long", "-", "term", ",", "non-profit", "e-mail"]),
        ("and/or b/c", ["and", "/", "or", "b/c"]),
        (
            "Visit https://example.com/a?b=1, or mail jo.doe@mail.example.org.",
            [
                "Visit",
                "https://example.com/a?b=1",
                ",",
                "or",
                "mail",
                "jo.doe@mail.example.org",
                ".",
            ],
        ),
        (
            "It costs $1,000.50 (about 5%) at 12:30 on 3/4.",
            [
                "It",
                "costs",
                "$",
                "1,000.50",
                "(",
                "about",
                "5",
                "%",
                ")",
                "at",
                "12:30",
                "on",
                "3/4",
                ".",
            ],
        ),
        (
            "The U.S. and Mr. Smith, e.g. here...",
            ["The", "U.S.", "and", "Mr.", "Smith", ",", "e.g.", "here", "..."],
        ),
        ("Wow!!! Really?! :) ok", ["Wow", "!!!", "Really", "?!", ":)", "ok"]),
        ("Call 713-853-3242 now", ["Call", "713-853-3242", "now"]),
        ("see API.pdf", ["see", "API.pdf"]),
        ("Jennifer M. Anderson", ["Jennifer", "M.", "Anderson"]),
        # abbreviations that are also words keep the period only mid-sentence
        ("The cat sat.", ["The", "cat", "sat", "."]),
        ("It sat. Then", ["It", "sat", ".", "Then"]),
        ("the sun.", ["the", "sun", "."]),
        ("See you Sat. 12th", ["See", "you", "Sat.", "12th"]),
        ("5 min. later", ["5", "min.", "later"]),
        ("", []),
        ("   \n\t ", []),
        # a period after an abbreviation is never lost
        ("CCNG, Inc..", ["CCNG", ",", "Inc.", "."]),
        ("again Nov.28.", ["again", "Nov.", "28", "."]),
        ("Mr.. x", ["Mr.", ".", "x"]),
        ("CO₂ and m²", ["CO₂", "and", "m²"]),
    ],
)
def test_ewt_style_tokens(text, expected):
    assert words(text) == expected


def test_offsets_point_into_the_text():
    text = "Don't stop — café ☕ naïve 東京."
    for t in tokenize(text):
        assert text[t.start : t.end] == t.text


def test_sentence_splitting():
    text = (
        'Mr. Smith went to Washington D.C. on Jan. 5. He said "I can\'t go." '
        "Then he left!! OK?\n\nNo period here\nand the line goes on"
    )
    got = sentences(text)
    assert [s[0] for s in got] == ["Mr.", "He", "Then", "OK", "No"]
    assert got[1][-2:] == [".", '"']  # the closing quote stays with its sentence
    assert got[-1] == ["No", "period", "here", "and", "the", "line", "goes", "on"]


def test_other_scripts_emoji_and_long_words_do_not_crash():
    # 👍🏽 (thumb + skin tone) is one grapheme cluster: one token
    assert words("東京 は 👍🏽 ok") == ["東京", "は", "👍🏽", "ok"]
    assert words("x" * 500) == ["x" * 500]
    assert len(words("word " * 20000)) == 20000


def test_span_f1_counts():
    m = span_f1([("I don't know.", ["I", "do", "n't", "know", "."]), ("a-b", ["a-b"])])
    assert m["gold"] == 6 and m["predicted"] == 8
    assert m["precision"] == pytest.approx(5 / 8) and m["recall"] == pytest.approx(5 / 6)


@pytest.mark.skipif(not EWT.is_dir(), reason="../shared/data/ud-english-ewt is not present")
def test_f1_against_ewt_dev_tokenization():
    from postag.data import read_conllu

    dev = read_conllu(EWT / "en_ewt-ud-dev.conllu")
    m = span_f1((s.text, s.words) for s in dev)
    assert m["f1"] >= 0.97, m


# --- Unicode: a token never splits a grapheme cluster --------------------------------


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


@pytest.mark.parametrize(
    "text",
    [
        "I had a café au lait, naïve as ever, and sent my résumé.",
        "Ångström's Zoë Brontë; São Paulo (Ñandú) — Dvořák!",
        "שָׁלוֹם עוֹלָם, מַה שְּׁלוֹמְךָ?",  # Hebrew with niqqud
        "हिन्दी भाषा में स्वागत है।",  # Devanagari: virama, vowel signs
        "Tiếng Việt có dấu.",
    ],
)
def test_decomposed_text_gives_the_same_tokens(text):
    """NFD input tokenizes exactly as NFC does (accents stay inside their word)."""
    assert words(nfd(text)) == [nfd(w) for w in words(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (nfd("café naïve résumé"), [nfd("café"), nfd("naïve"), nfd("résumé")]),
        ("שָׁלוֹם עוֹלָם", ["שָׁלוֹם", "עוֹלָם"]),
        ("हिन्दी में", ["हिन्दी", "में"]),
        ("family 👨\u200d👩\u200d👧!", ["family", "👨\u200d👩\u200d👧", "!"]),
        ("🇺🇸🇫🇷 flags", ["🇺🇸", "🇫🇷", "flags"]),
        ("👍🏽👍🏿.", ["👍🏽", "👍🏿", "."]),
        ("1\ufe0f\u20e3 keycap", ["1\ufe0f\u20e3", "keycap"]),
        ("x!\u0301 y", ["x", "!\u0301", "y"]),  # an accent on punctuation stays on it
    ],
)
def test_grapheme_clusters_stay_whole(text, expected):
    toks = tokenize(text)
    assert [t.text for t in toks] == expected
    assert all(text[t.start : t.end] == t.text for t in toks)


def spans(text: str) -> list[tuple[str, int, int]]:
    return [(t.text, t.start, t.end) for t in tokenize(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a soft hyphen inside a word belongs to it (one word, not co / SHY / operate)
        ("We co\u00adoperate.", [("We", 0, 2), ("co\u00adoperate", 3, 13), (".", 13, 14)]),
        # bidi override and pop around a word, marks alone: part of no word
        ("a \u202eword\u202c \u200f \u200e b", [("a", 0, 1), ("word", 3, 7), ("b", 13, 14)]),
        ("\u2066x\u2069 y", [("x", 1, 2), ("y", 4, 5)]),  # isolates
        ("a\u200bb \u200b", [("a\u200bb", 0, 3)]),  # zero-width space: Cf, read through
        ("a\u2060b", [("a\u2060b", 0, 3)]),  # word joiner
        # a leading BOM is no word and offsets count it; a BOM further on is read through
        ("\ufeffHi there", [("Hi", 1, 3), ("there", 4, 9)]),
        ("\ufeff\ufeff", []),
        ("Hi.\ufeffOK", [("Hi", 0, 2), (".", 2, 3), ("OK", 4, 6)]),
        # clitics and compounds are split as without the soft hyphen
        ("don\u00ad't", [("do", 0, 2), ("n\u00ad't", 2, 6)]),
        ("long\u00ad-term", [("long", 0, 4), ("-", 5, 6), ("term", 6, 10)]),
        ("Mr\u00ad. Smith", [("Mr\u00ad.", 0, 4), ("Smith", 5, 10)]),
        # a joiner alone is no word; inside an emoji sequence it stays
        ("x \u200d y 👨\u200d👩", [("x", 0, 1), ("y", 4, 5), ("👨\u200d👩", 6, 9)]),
        # control characters (NUL, ESC) separate words like spaces
        ("a\x00b \x1b\x07 c\x7f", [("a", 0, 1), ("b", 2, 3), ("c", 7, 8)]),
    ],
)
def test_invisible_characters_are_never_words(text, expected):
    assert spans(text) == expected
    assert [t.text for s in split_sentences(text) for t in s] == [w for w, _, _ in expected]


def test_a_line_of_format_characters_is_blank():
    """A blank line ends a sentence even when it holds a BOM or bidi marks."""
    text = "It ends here\n\u200e\ufeff\n\nand a new one starts"
    assert sentences(text) == [["It", "ends", "here"], ["and", "a", "new", "one", "starts"]]
    assert sentences("It ends here\n\u200b\nand goes on") == [
        ["It", "ends", "here"],
        ["and", "goes", "on"],
    ]
    # a terminator and a visible start, bidi marks between: a boundary as without them
    assert sentences("Done.\u200f \u202eNext one.") == [["Done", "."], ["Next", "one", "."]]


def test_lookup_form_and_word_span():
    assert lookup_form("co\u00adoperate") == "cooperate"
    assert lookup_form("\u202eword\u202c") == "word"
    assert lookup_form("plain") == "plain" and lookup_form("café") == "café"
    assert lookup_form("\u200b") == "\u200b"  # nothing else: stays as it is
    assert lookup_form("👨\u200d👩") == "👨\u200d👩"  # a joiner is part of its cluster
    assert word_span("\u202eHi\u202c") == (1, 3)
    assert word_span(" \ufeffco\u00adop \x00") == (2, 7)
    assert word_span("\u200b\u00ad") is None and word_span("\u200d") is None
    assert word_span("") is None and word_span("  \t") is None
    assert [c for c in "\u00ad\u200b\u200e\u202e\u2066\ufeff\u2060" if is_format(c)] == list(
        "\u00ad\u200b\u200e\u202e\u2066\ufeff\u2060"
    )
    assert not any(is_format(c) for c in "a \u200c\u200d\U000e0041\u0600")


#: Format characters the tokenizer reads through.
FORMAT_CHARS = st.sampled_from(
    list("\u00ad\u200b\u200e\u200f\u202a\u202e\u202c\u2066\u2069\u2060\ufeff")
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_format_characters_change_nothing_but_offsets(data):
    """Format characters inserted anywhere (inside words, clusters, line ends, runs of
    flags) give the same words, looked up as the model sees them, and the same sentences;
    every word is still its stretch of the text."""
    text = data.draw(TEXT)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=12)))
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    marked = "".join(p + data.draw(FORMAT_CHARS) for p in pieces[:-1]) + pieces[-1]

    def looked_up(t: str) -> list[list[str]]:
        return [[lookup_form(w.text) for w in s] for s in split_sentences(t)]

    assert looked_up(marked) == looked_up(text)
    check_tokens(marked, tokenize(marked))
    assert check_offsets(marked, text_sentences(marked)) == len(tokenize(text))


def test_long_runs_are_cut_into_pieces_at_cluster_boundaries():
    toks = tokenize("x" * 10_000)
    assert [len(t.text) for t in toks] == [MAX_RUN_CHARS, MAX_RUN_CHARS, 10_000 - 2 * 4096]
    # an odd offset: the cut lands between two flags, never inside one
    text = "a" + "🇺🇸" * 3_000
    toks = tokenize(text)
    assert "".join(t.text for t in toks) == text
    assert all(len(t.text) <= MAX_RUN_CHARS for t in toks)
    assert all(t.start % 2 == 1 for t in toks[1:])  # flags start at odd offsets
    # one "cluster" longer than the cap (stacked accents) is the one thing cut inside
    monster = "a" + "\u0301" * 9_000
    assert [len(t.text) for t in tokenize(monster)] == [4096, 4096, 809]


def test_sentences_are_capped_and_iter_sentences_streams():
    lengths = [len(s) for s in split_sentences("a " * 2_500)]
    assert lengths == [1000, 1000, 500]
    assert [len(s) for s in split_sentences("a " * 10, max_tokens=4)] == [4, 4, 2]

    def boom():
        raise AssertionError("iter_sentences read past its one token of lookahead")
        yield

    text = "Hi there. Bye now. And more"
    toks = itertools.chain(tokenize(text)[:5], boom())
    first = next(iter_sentences(text, toks))  # needs "Bye" to close the sentence, no more
    assert [t.text for t in first] == ["Hi", "there", "."]


# --- property: any Unicode text ----------------------------------------------------


def run_boundaries(text: str) -> set[int]:
    """The grapheme-cluster boundaries of each whitespace-free run of ``text``."""
    out: set[int] = set()
    for m in regex.finditer(r"[^\s\x1c-\x1f]+", text):
        for g in regex.finditer(r"\X", m.group()):
            out.update((m.start() + g.start(), m.start() + g.end()))
    return out


def inside_long_cluster(text: str, pos: int, cap: int) -> bool:
    """Is ``pos`` inside a cluster longer than ``cap`` (where a long run may be cut)?"""
    for m in regex.finditer(r"[^\s\x1c-\x1f]+", text):
        for g in regex.finditer(r"\X", m.group()):
            s, e = m.start() + g.start(), m.start() + g.end()
            if s < pos < e:
                return e - s > cap
    return False


def check_tokens(text: str, toks: list, cap: int = MAX_RUN_CHARS) -> None:
    prev = 0
    for t in toks:
        assert text[t.start : t.end] == t.text
        assert prev <= t.start < t.end  # in order, non-overlapping, non-empty
        # only whitespace, control and format characters skipped
        assert invisible(text[prev : t.start]) or prev == t.start
        assert not any(c.isspace() for c in t.text) and not invisible(t.text)
        prev = t.end
    assert invisible(text[prev:]) or prev == len(text)  # every visible char covered
    bounds = run_boundaries(text)
    for t in toks:
        for pos in (t.start, t.end):
            assert pos in bounds or inside_long_cluster(text, pos, cap), (text, t)


TRICKY = st.sampled_from(
    [*"aZ.-'@/ \n:;)(\"’!?…$#", "\u0301", "\u200d", "\u0600", "🇺", "🇸", "👍", "🏽", "\r\n"]
    + ["www.", "http://", "Mr", "sat", "No", "n't", "e.g", "U.S", "non-", "1,000", "\ufe0f"]
    + ["\u00ad", "\u200b", "\u202e", "\u202c", "\u2066", "\ufeff", "\x00", "\x1b"]
)
TEXT = st.lists(st.one_of(st.characters(), TRICKY), max_size=60).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(TEXT)
def test_tokens_cover_the_text_and_sentences_partition_them(text):
    toks = tokenize(text)
    check_tokens(text, toks)
    sents = split_sentences(text)
    assert all(sents) and [t for s in sents for t in s] == toks


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(TEXT)
def test_long_run_pieces_keep_the_same_guarantees(text):
    check_tokens(text, tokenize(text, max_run_chars=6), cap=6)


# --- offsets: text[start:end] is the word ------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(UNICODE)
def test_text_sentences_offsets_index_the_words_in_any_unicode(text):
    """Code points of the text as given: CR LF, lone CR, tabs, combining marks, ZWJ
    sequences, right-to-left and astral text change nothing; no word is normalised."""
    got = text_sentences(text)
    assert [s.words for s in got] == sentences(text)
    assert check_offsets(text, got) == len(tokenize(text))


def test_offsets_of_clitics_and_decomposed_text():
    text = "I don't\r\nsee cafe\u0301s 👨\u200d👩\u200d👧 𝒜."
    (sent,) = text_sentences(text)
    assert sent.words == ["I", "do", "n't", "see", "cafe\u0301s", "👨\u200d👩\u200d👧", "𝒜", "."]
    assert list(zip(sent.starts, sent.ends, strict=True)) == [
        (0, 1), (2, 4), (4, 7), (9, 12), (13, 19), (20, 25), (26, 27), (27, 28)
    ]  # fmt: skip


@pytest.mark.skipif(not EWT_TEST.is_file(), reason=NO_EWT)
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_offsets_over_the_ewt_raw_text(newline):
    text = ewt_raw_text(newline)
    got = text_sentences(text)
    assert check_offsets(text, got) > 20_000 and len(got) > 1_500


# --- linear time ---------------------------------------------------------------------


def best_time(fn, repeats: int = 5) -> float:
    """The fastest of ``repeats`` runs, garbage collection off (a collection landing in one
    run is noise on a shared machine, not the algorithm's cost)."""
    best = float("inf")
    gc.disable()
    try:
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
    finally:
        gc.enable()
    return best


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_time_is_linear_on_adversarial_input(family):
    """n vs 8n: linear ≈ 8, quadratic ≈ 64. Runs are not cut into pieces here
    (max_run_chars=10**9): the patterns themselves must be linear, not just the cap."""
    n = 5_000

    def run(size: int):
        text = FAMILIES[family](size)
        return lambda: split_sentences(text, tokenize(text, max_run_chars=10**9))

    ratio = best_time(run(8 * n)) / best_time(run(n))
    assert ratio < 20, f"{family}: t(8n)/t(n) = {ratio:.1f}"


@pytest.mark.parametrize("family", ["one-char", "flags", "combining", "word-run"])
def test_time_is_linear_with_runs_cut_into_pieces(family):
    n = 10_000  # 3 pieces of MAX_RUN_CHARS, and 20
    texts = {k: FAMILIES[family](k) for k in (n, 8 * n)}
    ratio = best_time(lambda: split_sentences(texts[8 * n]), 3) / best_time(
        lambda: split_sentences(texts[n]), 3
    )
    assert ratio < 20, f"{family}: t(8n)/t(n) = {ratio:.1f}"


def crlf_paragraphs(size: int) -> list[str]:
    """Hard-wrapped prose in paragraphs of 2,000 characters, CR LF line ends."""
    paras = [wrapped(FAMILIES["ordinary"](2_000)) for _ in range(max(1, size // 2_000))]
    return [line + "\r\n" for para in paras for line in [*para, ""]]


def spaced_sentence(size: int) -> list[str]:
    """One sentence over two lines, two of its words apart by a run of ``size`` spaces
    and tabs: its one-line text is made by a pattern that must not rescan the run."""
    return ["a" + " \t" * (size // 2) + "b", "c.\n"]


@pytest.mark.parametrize("make", [crlf_paragraphs, spaced_sentence])
def test_time_is_linear_with_offsets_through_the_reader(make):
    """``postag tag``'s reader, offsets and sentence texts and all (n vs 8n characters),
    cut into chunks."""
    n = 20_000
    small, big = (list(enumerate(make(k), 1)) for k in (n, 8 * n))

    def run(given: list[tuple[int, str]]):
        return lambda: sum(len(s) for u in read_text(iter(given), 1_000) for s in u.starts)

    ratio = best_time(run(big), 3) / best_time(run(small), 3)
    assert ratio < 20, f"t(8n)/t(n) = {ratio:.1f}"


# --- read_text (postag tag's reader) -------------------------------------------------


def wrapped(text: str, width: int = 60) -> list[str]:
    lines, cur = [], ""
    for w in text.split(" "):
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}" if cur else w
    return [*lines, cur]


def read_all(lines: list[str], chunk_chars: int) -> tuple[list[list[str]], list[str]]:
    units = list(read_text(iter(enumerate(lines, 1)), chunk_chars))
    return [s for u in units for s in u.sentences], [t for u in units for t in u.texts]


def test_read_text_cuts_only_at_sentence_boundaries():
    prose = FAMILIES["ordinary"](20_000)
    lines = wrapped(prose)  # hard-wrapped, no blank line: one paragraph
    whole = split_sentences("\n".join(lines))
    for chunk in (200, 1_000, 7_000):
        got, texts = read_all(lines, chunk)
        assert got == [[t.text for t in s] for s in whole], chunk
        text = "\n".join(lines)
        assert texts == [text[s[0].start : s[-1].end].replace("\n", " ") for s in whole]


def test_read_text_bounds_memory_on_one_giant_line():
    line = FAMILIES["ordinary"](150_000)
    tracemalloc.start()
    n_tok = 0
    for unit in read_text(iter([(1, line)]), 6_400):
        n_tok += sum(map(len, unit.sentences))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert n_tok == len(tokenize(line))
    # all 33k tokens at once take 5.6 MB (split_sentences); a unit at a time: 0.7 MB
    # (0.4 MB of it before words had offsets)
    assert peak < 1.5 * 2**20, peak


def test_sentences_spanning_too_far_are_closed():
    """Words far apart (whitespace, or format characters read through) make no sentence
    of more than MAX_SENTENCE_CHARS characters, counted in the text as given."""
    for gap in (" ", "\u00ad", "\x00"):
        text = ("a" + gap * 30_000 + " ") * 10
        got = split_sentences(text)
        assert [len(s) for s in got] == [4, 4, 2], gap
        assert all(s[-1].end - s[0].start <= MAX_SENTENCE_CHARS for s in got)
    assert [len(s) for s in split_sentences("a b c d e", max_chars=3)] == [2, 2, 1]
    with pytest.raises(ValueError, match="at least 1"):
        split_sentences("a", max_chars=0)


def test_read_text_bounds_memory_on_lines_of_far_apart_words():
    """Endless lines of one word and 100,000 spaces: the sentence carried over from chunk
    to chunk stays short, so what the reader holds does not grow with the input."""
    line = "word" + " " * 100_000 + "\n"

    def peak(n_lines: int) -> int:
        tracemalloc.start()
        n = sum(
            len(s)
            for u in read_text(((i, line) for i in range(n_lines)), 1_000)
            for s in u.sentences
        )
        got = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert n == n_lines
        return got

    small, big = peak(5), peak(40)
    assert big < 1.5 * small + 2**20, (small, big)  # flat, not 8x


def test_read_text_caps_a_sentence_without_boundary():
    line = "word " * 3_000
    units = list(read_text(iter([(1, line)]), 1_000))
    lengths = [len(s) for u in units for s in u.sentences]
    assert lengths == [1000, 1000, 1000]
