"""The CoNLL 2018 raw-text scorer (postag.conll18): tokens, sentences, words and tags of a
system file aligned with the gold one on characters. Agreement with the shared task's
script ``conll18_ud_eval.py`` (MPL-2.0, at ../shared/tools/; run as a subprocess, never
copied) on inline fixtures, on random tokenizations with multiword tokens on both sides
and, with ../shared/data/ud-english-ewt, on the shipped model's raw-text output for the
first 200 sentences of EWT dev. Without the script (or the data) those are skipped,
saying so."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from postag.conll18 import (
    Conll18Result,
    Count,
    TextMismatchError,
    align_words,
    evaluate,
    parse_treebank,
    raw_text,
    raw_text_from,
    read_treebank,
    score_files,
    tagged_conllu,
    universal_feats,
)
from postag.errors import CorpusError
from postag.tagger import TaggedSentence

REPO = Path(__file__).resolve().parents[2]
OFFICIAL = (REPO / ".." / "shared" / "tools" / "conll18_ud_eval.py").resolve()
NO_OFFICIAL = f"the CoNLL 2018 evaluation script is not at {OFFICIAL}"
EWT_DEV = (REPO / ".." / "shared" / "data" / "ud-english-ewt" / "en_ewt-ud-dev.conllu").resolve()
NO_EWT = f"UD English EWT dev is not at {EWT_DEV}"

# -- fixtures -------------------------------------------------------------------------------

#: A token: "form/UPOS[/XPOS[/FEATS]]", or a multiword token (form, [its words]).
Tok = str | tuple[str, list[str]]


def _word(n: int, spec: str) -> str:
    """Word ``n`` of a sentence; a placeholder tree (word 1 the root) so the official
    script, which checks trees, reads it."""
    form, upos, xpos, feats = (spec.split("/") + ["_"] * 3)[:4]
    head, deprel = (0, "root") if n == 1 else (1, "dep")
    return f"{n}\t{form}\t_\t{upos}\t{xpos}\t{feats}\t{head}\t{deprel}\t_\t_"


def conllu(*sentences: list[Tok]) -> str:
    out = []
    for sent in sentences:
        lines, n = [], 0
        for tok in sent:
            if isinstance(tok, tuple):
                form, parts = tok
                lines.append(f"{n + 1}-{n + len(parts)}\t{form}" + "\t_" * 8)
                for part in parts:
                    n += 1
                    lines.append(_word(n, part))
            else:
                n += 1
                lines.append(_word(n, tok))
        out.append("\n".join(lines) + "\n\n")
    return "".join(out)


def score(gold: str, system: str) -> Conll18Result:
    return evaluate(parse_treebank(gold, "gold"), parse_treebank(system, "system"))


def official(tmp_path: Path, gold: str, system: str, flag: str) -> list[str]:
    """The script's table (``-v`` or ``-c``) for our metrics: its first 9 lines."""
    if not OFFICIAL.is_file():
        pytest.skip(NO_OFFICIAL)
    g, s = tmp_path / "gold.conllu", tmp_path / "system.conllu"
    g.write_text(gold, encoding="utf-8")
    s.write_text(system, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, str(OFFICIAL), flag, str(g), str(s)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.splitlines()[:9]


def assert_agrees(tmp_path: Path, gold: str, system: str) -> Conll18Result:
    """Our tables are the script's, line for line (percentages and counts)."""
    ours = score(gold, system)
    assert ours.table().splitlines() == official(tmp_path, gold, system, "-v")
    assert ours.counts_table().splitlines() == official(tmp_path, gold, system, "-c")
    return ours


SENT_A = [
    "The/DET/DT/Definite=Def|PronType=Art",
    "cat/NOUN/NN/Number=Sing",
    "sat/VERB/VBD",
    "./PUNCT/.",
]
SENT_B = ["It/PRON/PRP", ("didn't", ["did/AUX/VBD", "n't/PART/RB/Polarity=Neg"]), "./PUNCT/."]
GOLD = conllu(SENT_A, SENT_B)


# -- the metrics ----------------------------------------------------------------------------


def test_a_perfect_match_is_100_everywhere(tmp_path):
    r = assert_agrees(tmp_path, GOLD, GOLD)
    for name, c in r.metrics().items():
        assert (c.precision, c.recall, c.f1) == (1.0, 1.0, 1.0), name
    assert r.tokens == Count(7, 7, 7)  # "didn't" is one token
    assert r.sentences == Count(2, 2, 2)
    assert r.words == Count(8, 8, 8)
    assert r.upos == Count(8, 8, 8, aligned=8)
    assert r.alltags.aligned_accuracy == 1.0
    assert r.words.aligned_accuracy is None


def test_a_split_and_a_merged_token(tmp_path):
    gold = conllu(["can/AUX", "not/PART", "go/VERB", "home/ADV", "./PUNCT"])
    system = conllu(["cannot/AUX", "go/VERB", "ho/ADV", "me/ADV", "./PUNCT"])
    r = assert_agrees(tmp_path, gold, system)
    assert r.tokens == Count(2, 5, 5)  # "go", "."
    assert r.words == Count(2, 5, 5)
    assert r.upos == Count(2, 5, 5, aligned=2)
    assert r.upos.aligned_accuracy == 1.0
    assert r.words.f1 == pytest.approx(0.4)
    assert r.sentences == Count(1, 1, 1)


def test_a_missed_sentence_boundary(tmp_path):
    system = conllu(SENT_A + SENT_B)
    r = assert_agrees(tmp_path, GOLD, system)
    assert r.sentences == Count(0, 2, 1)
    assert r.sentences.f1 == 0.0
    assert r.tokens == Count(7, 7, 7)
    assert r.upos == Count(8, 8, 8, aligned=8)
    split_late = conllu(SENT_A + SENT_B[:1], SENT_B[1:])
    assert score(GOLD, split_late).sentences == Count(0, 2, 2)


def test_a_multiword_token_in_gold_only(tmp_path):
    system = conllu(SENT_A, ["It/PRON/PRP", "did/AUX/VBD", "n't/PART/RB/Polarity=Neg", "./PUNCT/."])
    r = assert_agrees(tmp_path, GOLD, system)
    assert r.tokens == Count(6, 7, 8)  # "didn't" (0, 6) ≠ "did" + "n't"
    assert r.words == Count(8, 8, 8)  # the LCS of the span aligns both words
    assert r.alltags == Count(8, 8, 8, aligned=8)


def test_multiword_tokens_in_both(tmp_path):
    gold = conllu(["Il/PRON", "va/VERB", ("au", ["à/ADP", "le/DET"]), ("du", ["de/ADP", "le/DET"])])
    # "au" split differently (à + les), "du" the same words with other tags, cased otherwise
    system = conllu(
        ["Il/PRON", "va/VERB", ("au", ["à/ADP", "les/DET"]), ("du", ["DE/ADP", "le/PRON"])]
    )
    r = assert_agrees(tmp_path, gold, system)
    assert r.tokens == Count(4, 4, 4)
    assert r.words == Count(5, 6, 6)  # à, de (case ignored), le; not le/les
    assert r.upos == Count(4, 6, 6, aligned=5)  # de/le's UPOS differs
    assert r.upos.aligned_accuracy == pytest.approx(0.8)


def test_overlapping_multiword_tokens_make_one_span(tmp_path):
    # the shared task's own alignment cases, as tokens (form, [words])
    gold = conllu([("abc", ["a/X", "b/X", "c/X"]), ("de", ["d/X", "e/X"])])
    system = conllu(["a/X", ("bcd", ["b/X", "c/X", "d/X"]), "e/X"])
    r = assert_agrees(tmp_path, gold, system)
    assert r.words == Count(5, 5, 5)
    gold = conllu(["a/X", ("bc", ["b/X", "c/X"]), "d/X"])
    system = conllu([("ab", ["AX/X", "BX/X"]), ("cd", ["CX/X", "a/X"])])
    r = assert_agrees(tmp_path, gold, system)
    assert r.words == Count(1, 4, 4)  # only "a" (gold's first word, system's last)


def test_wrong_upos(tmp_path):
    system = GOLD.replace("\tcat\t_\tNOUN\t", "\tcat\t_\tVERB\t")
    r = assert_agrees(tmp_path, GOLD, system)
    assert r.upos == Count(7, 8, 8, aligned=8)
    assert r.alltags == Count(7, 8, 8, aligned=8)
    assert r.xpos == Count(8, 8, 8, aligned=8)
    assert r.ufeats == Count(8, 8, 8, aligned=8)


def test_ufeats_compares_universal_features_only(tmp_path):
    gold = conllu(["two/NUM/CD/NumForm=Word|NumType=Card", "cats/NOUN/NNS/Number=Plur"])
    system = conllu(["two/NUM/CD/NumType=Card", "cats/NOUN/NNS/Number=Plur|Typo=Yes"])
    r = assert_agrees(tmp_path, gold, system)
    assert r.ufeats == Count(2, 2, 2, aligned=2)
    assert universal_feats("Number[psor]=Sing|Number=Plur|Case=Nom") == "Case=Nom|Number=Plur"
    assert universal_feats("_") == universal_feats("NumForm=Word") == ""


def test_whitespace_is_ignored(tmp_path):
    # a gold token with spaces (Zs: U+0020, U+00A0) against the system's pieces
    gold = conllu(["10 000/NUM", "euros/NOUN"], ["Fin/NOUN"])
    system = conllu(["10/NUM", "000/NUM", "eu\u00a0ros/NOUN"], ["Fin/NOUN"])
    r = assert_agrees(tmp_path, gold, system)
    assert r.tokens == Count(2, 3, 4)
    assert r.words == Count(2, 3, 4)
    # the files' own whitespace: CR LF, a BOM, extra blank lines, no final blank line
    messy = "\ufeff" + system.replace("\n", "\r\n").replace("\r\n\r\n", "\r\n\r\n\r\n")
    assert score(gold, messy.rstrip("\r\n")).to_dict() == r.to_dict()


def test_comments_empty_nodes_and_placeholder_heads_are_read_through():
    system = (
        "# newdoc\n# sent_id = 1\n# text = The cat sat.\n"
        "1\tThe\tthe\tDET\tDT\t_\t_\t_\t_\t_\n2\tcat\t_\tNOUN\tNNS\t_\t_\t_\t_\t_\n"
        "2.1\tgone\t_\t_\t_\t_\t_\t_\t_\t_\n# a comment inside\n"
        "3\tsat\t_\tVERB\tVBD\t_\t_\t_\t_\t_\n4\t.\t_\tPUNCT\t.\t_\t_\t_\t_\t_\n\n"
        "# only comments\n\n" + conllu(SENT_B)
    )
    r = score(GOLD, system)
    assert r.words == Count(8, 8, 8)
    assert r.xpos == Count(7, 8, 8, aligned=8)  # cat: NNS, not NN
    assert r.ufeats == Count(6, 8, 8, aligned=8)  # The, cat: no FEATS given
    assert r.sentences == Count(2, 2, 2)


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1\tThe\t_\tDET\n", "gold:1: expected 10 tab-separated columns, found 4"),
        (_word(1, "a/X") + "\nx\tb" + "\t_" * 8 + "\n", "gold:2: invalid ID 'x'"),
        (_word(1, "a/X") + "\n" + _word(3, "b/X") + "\n", "gold:2: ID 3, expected 2 next"),
        ("1\t\t_\tX\t_\t_\t0\troot\t_\t_\n", "gold:1: empty FORM"),
        ("1\t \t_\tX\t_\t_\t0\troot\t_\t_\n", "gold:1: FORM ' ' is only space separators"),
        ("1-2\tab" + "\t_" * 8 + "\n" + _word(1, "a/X") + "\n\n", "gold:1: multiword token 1-2"),
        (
            "1-2\tab" + "\t_" * 8 + "\n" + _word(1, "a/X") + "\n2-3\tbc" + "\t_" * 8,
            "gold:1: multiword token 1-2 lacks word 2",
        ),
        (_word(1, "a/X") + "\n2-1\tb" + "\t_" * 8, "gold:2: multiword token range 2-1 ends before"),
        ("# text = x\n1.1\tx" + "\t_" * 8 + "\n\n", "gold:2: sentence has no words"),
    ],
)
def test_malformed_input_is_a_clear_error(text, message):
    with pytest.raises(CorpusError, match="^" + message.replace("(", r"\(").replace("'", ".")):
        parse_treebank(text, "gold")


def test_files_that_are_missing_or_not_utf8(tmp_path):
    with pytest.raises(CorpusError, match="no such file"):
        read_treebank(tmp_path / "absent.conllu")
    bad = tmp_path / "bad.conllu"
    bad.write_bytes(GOLD.encode() + b"1\t\xff\t_\tX\t_\t_\t0\troot\t_\t_\n")
    with pytest.raises(CorpusError, match=r"bad.conllu:12: not valid UTF-8"):
        read_treebank(bad)


def test_different_texts_cannot_be_aligned():
    system = GOLD.replace("\tcat\t", "\tcar\t")
    with pytest.raises(TextMismatchError) as e:
        score(GOLD, system)
    assert str(e.value).endswith(
        """differ from character 5 on: gold line 2 has "tsat.Itdidn't.", """
        """system line 2 has "rsat.Itdidn't.\""""
    )
    with pytest.raises(TextMismatchError, match=r"character 10 on: gold line 6 has .Itdidn't"):
        score(GOLD, conllu(SENT_A))  # ..., system has no more
    assert isinstance(e.value, CorpusError)


# -- linear time ----------------------------------------------------------------------------


def _random_tokens(
    chars: str, rng: random.Random, mwt: float
) -> list[list[tuple[str, list[str] | None]]]:
    """``chars`` cut into sentences of tokens of 1-4 characters; a token of 2 or more is a
    multiword token with probability ``mwt``, its 2-3 words its pieces, some uppercased
    or replaced by another form (so that the LCS has choices to make)."""
    sents, i = [], 0
    while i < len(chars):
        sent = []
        for _ in range(rng.randint(1, 12)):
            if i >= len(chars):
                break
            tok = chars[i : i + rng.randint(1, 4)]
            i += len(tok)
            words = None
            if len(tok) > 1 and rng.random() < mwt:
                cuts = sorted(rng.sample(range(1, len(tok)), min(len(tok) - 1, rng.randint(1, 2))))
                words = [tok[a:b] for a, b in zip([0, *cuts], [*cuts, len(tok)], strict=True)]
                words = [
                    w.upper()
                    if rng.random() < 0.2
                    else rng.choice("xyab")
                    if rng.random() < 0.2
                    else w
                    for w in words
                ]
            sent.append((tok, words))
        sents.append(sent)
    return sents


def _perturbed(sents: list[list[tuple[str, list[str] | None]]], rng: random.Random) -> list:
    """Another tokenization of the same text: tokens merged, split, made (or unmade)
    multiword tokens, sentences joined and cut."""
    out: list[list[tuple[str, list[str] | None]]] = []
    for sent in sents:
        cur: list[tuple[str, list[str] | None]] = []
        for tok, words in sent:
            r = rng.random()
            if r < 0.08 and cur:
                cur[-1] = (cur[-1][0] + tok, None)
            elif r < 0.16 and len(tok) > 1 and words is None:
                cur += [(tok[:1], None), (tok[1:], None)]
            elif r < 0.24:
                cur.append((tok, None if words else [tok[:1], tok[1:]] if len(tok) > 1 else None))
            else:
                cur.append((tok, words))
            if rng.random() < 0.05:
                out.append(cur)
                cur = []
        if cur and out and rng.random() < 0.1:
            out[-1] += cur
        elif cur:
            out.append(cur)
    return out


def _render(sents: list, rng: random.Random, flip: float) -> str:
    """CoNLL-U of tokenized sentences; labels follow the form (so two files agree where
    their words do), each flipped with probability ``flip``; a token's FORM sometimes
    holds a space."""
    feats = ["_", "Number=Sing", "Number=Plur|NumForm=Digit", "Foreign=Yes"]

    def spec(form: str) -> str:
        upos, xpos, f = "NV"[ord(form[0]) % 2], f"X{len(form) % 3}", feats[ord(form[-1]) % 4]
        if rng.random() < flip:
            upos, xpos, f = rng.choice([("A", xpos, f), (upos, "Y", f), (upos, xpos, "Case=Nom")])
        return f"{form}/{upos}/{xpos}/{f}"

    def spaced(tok: str) -> str:
        k = rng.randrange(1, len(tok)) if len(tok) > 1 and rng.random() < 0.05 else 0
        return f"{tok[:k]} {tok[k:]}" if k else tok

    return conllu(
        *[
            [
                (spaced(tok), [spec(w) for w in words]) if words else spec(spaced(tok))
                for tok, words in s
            ]
            for s in sents
        ]
    )


def random_pair(seed: int, chars: int, independent: bool) -> tuple[str, str]:
    """Gold and system CoNLL-U over the same random text, tokenized independently or the
    system's as a perturbation of the gold's."""
    rng = random.Random(seed)
    text = "".join(rng.choice("abcdeAB") for _ in range(chars))
    gold = _random_tokens(text, rng, 0.25)
    system = _random_tokens(text, rng, 0.25) if independent else _perturbed(gold, rng)
    return _render(gold, rng, 0.0), _render(system, rng, 0.2)


@pytest.mark.parametrize("independent", [False, True])
def test_alignment_steps_grow_linearly(independent):
    gold, system = random_pair(7, 3000, independent)
    steps = []
    for copies in (1, 8):
        g = parse_treebank(gold * copies, "gold")
        s = parse_treebank(system * copies, "system")
        alignment = align_words(g.words, s.words)
        assert len(alignment.pairs) > (len(g.words) // 10 if independent else len(g.words) // 2)
        steps.append(alignment.steps)
    assert steps[0] >= len(parse_treebank(gold, "gold").words)
    assert 7.9 <= steps[1] / steps[0] <= 8.1, steps  # quadratic would be ≈ 64


def test_a_long_document_aligns_in_linear_steps():
    # one sentence of n and of 8n tokens, a multiword token every few words in each file
    def doc(n: int, every: int, offset: int) -> str:
        toks: list[Tok] = [
            ("ab", ["a/X", "b/X"]) if (k + offset) % every == 0 else "ab/X" for k in range(n)
        ]
        return conllu(toks)

    steps = []
    for n in (2000, 16000):
        g, s = parse_treebank(doc(n, 3, 0), "g"), parse_treebank(doc(n, 5, 1), "s")
        steps.append(align_words(g.words, s.words).steps)
    assert steps[1] / steps[0] == pytest.approx(8, rel=0.01)


# -- agreement with the official script -----------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("independent", [False, True])
def test_agrees_with_the_official_script_on_random_tokenizations(tmp_path, seed, independent):
    gold, system = random_pair(seed, 1500, independent)
    r = assert_agrees(tmp_path, gold, system)
    assert 0 < r.words.correct < r.words.gold  # nothing trivial: some aligned, some not
    for doc in (gold, system):  # multiword tokens on both sides
        assert sum("-" in line.split("\t", 1)[0] for line in doc.splitlines()) > 20


@pytest.mark.skipif(not EWT_DEV.is_file(), reason=NO_EWT)
def test_agrees_on_the_shipped_models_raw_text_output_for_ewt_dev(tmp_path):
    from postag import Tagger

    if not OFFICIAL.is_file():
        pytest.skip(NO_OFFICIAL)
    blocks = EWT_DEV.read_text(encoding="utf-8").split("\n\n")[:200]
    gold = tmp_path / "gold.conllu"
    gold.write_text("\n\n".join(blocks) + "\n\n", encoding="utf-8")
    text = raw_text(gold)
    assert text.count("\n\n") >= 20  # EWT marks its documents and paragraphs
    tagged = Tagger.load().tag_text(text)
    system = tmp_path / "system.conllu"
    system.write_text(tagged_conllu(tagged, text), encoding="utf-8")
    ours = score_files(gold, system)
    for flag, table in (("-v", ours.table()), ("-c", ours.counts_table())):
        out = subprocess.run(
            [sys.executable, str(OFFICIAL), flag, str(gold), str(system)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert out.splitlines()[:9] == table.splitlines()
    assert ours.words.gold == sum(
        1 for b in blocks for line in b.splitlines() if line.split("\t", 1)[0].isdigit()
    )
    assert ours.tokens.f1 > 0.9 and ours.upos.aligned_accuracy > 0.9  # a working pipeline


# -- raw text and system output -------------------------------------------------------------


def test_raw_text_joins_sentences_and_paragraphs():
    doc = (
        "# newdoc id = d1\n# newpar\n# text = Hello there.\n"
        + conllu(["Hello/X", "there/X", "./X"])
        + "# text = How are you?\n" + conllu(["How/X", "are/X", "you/X", "?/X"])
        + "# newpar id = p2\n# text = Fine.\n" + conllu(["Fine/X", "./X"])
        + "# newdoc id = d2\n# text =   Bye.  \n" + conllu(["Bye/X", "./X"])
    )  # fmt: skip
    assert raw_text_from(doc) == "Hello there. How are you?\n\nFine.\n\nBye.\n"
    assert raw_text_from("") == ""


def test_raw_text_without_text_lines_follows_space_after():
    doc = (
        "1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n" + _word(1, "do/AUX") + "\n" + _word(2, "n't/PART")
        + "\n3\tgo\t_\tVERB\t_\t_\t1\tdep\t_\tSpaceAfter=No\n4\t!\t_\tPUNCT\t_\t_\t1\tdep\t_\t_\n\n"
        + conllu(["Ok/X"])
    )  # fmt: skip
    assert raw_text_from(doc) == "don't go! Ok\n"  # no # newpar anywhere: one paragraph


def test_raw_text_reads_a_file(tmp_path):
    path = tmp_path / "g.conllu"
    path.write_bytes(b"\xef\xbb\xbf# text = A b.\r\n" + conllu(["A/X", "b./X"]).encode())
    assert raw_text(path) == "A b.\n"


def test_tagged_conllu_is_what_the_scorer_and_the_script_read(tmp_path):
    text = "Hi there.\nBye!"
    sents = [
        TaggedSentence(["Hi", "there", "."], ["INTJ", "ADV", "PUNCT"], xpos=["UH", "RB", "."],
                       feats=["_", "_", "_"], start=[0, 3, 8], end=[2, 8, 9]),
        TaggedSentence(["Bye", "!"], ["INTJ", "PUNCT"], start=[10, 13], end=[13, 14]),
    ]  # fmt: skip
    out = tagged_conllu(sents, text)
    assert out.splitlines()[:5] == [
        "# sent_id = 1",
        "# text = Hi there.",
        "1\tHi\t_\tINTJ\tUH\t_\t0\troot\t_\tTokenRange=0:2",
        "2\tthere\t_\tADV\tRB\t_\t1\tdep\t_\tSpaceAfter=No|TokenRange=3:8",
        "3\t.\t_\tPUNCT\t.\t_\t1\tdep\t_\tTokenRange=8:9",
    ]
    assert "1\tBye\t_\tINTJ\t_\t_\t0\troot\t_\tSpaceAfter=No|TokenRange=10:13" in out
    assert out.endswith("2\t!\t_\tPUNCT\t_\t_\t1\tdep\t_\tSpaceAfter=No|TokenRange=13:14\n\n")
    gold = conllu(["Hi/INTJ/UH", "there/ADV/RB", "./PUNCT/."], ["Bye/INTJ/UH", "!/PUNCT/."])
    r = assert_agrees(tmp_path, gold, out)
    assert r.upos == Count(5, 5, 5, aligned=5) and r.xpos == Count(3, 5, 5, aligned=5)
    with pytest.raises(ValueError, match="with offsets"):
        tagged_conllu([TaggedSentence(["Hi"], ["INTJ"])], "Hi")


def test_a_paragraph_mark_in_a_comment_only_block_carries_on():
    doc = (
        "# text = One.\n" + conllu(["One/X", "./X"])
        + "# newdoc id = d2\n\n# text = Two.\n" + conllu(["Two/X", "./X"])
    )  # fmt: skip
    assert raw_text_from(doc) == "One.\n\nTwo.\n"


def test_the_command_prints_the_tables(tmp_path, capsys):
    from postag.conll18 import main

    gold, system = tmp_path / "g.conllu", tmp_path / "s.conllu"
    gold.write_text(GOLD, encoding="utf-8")
    system.write_text(GOLD.replace("\tcat\t_\tNOUN\t", "\tcat\t_\tVERB\t"), encoding="utf-8")
    assert main([str(gold), str(system)]) == 0
    assert "UPOS       |     87.50 |     87.50 |     87.50 |     87.50" in capsys.readouterr().out
    assert main(["-c", str(gold), str(system)]) == 0
    assert "UPOS       |         7 |         8 |         8 |         8" in capsys.readouterr().out
    system.write_text(conllu(SENT_A), encoding="utf-8")
    assert main([str(gold), str(system)]) == 2
    assert "error: the gold and system tokens do not spell" in capsys.readouterr().err


def test_the_scorer_is_torch_free():
    code = "import sys, postag.conll18; print(sorted({'torch', 'onnxruntime'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
