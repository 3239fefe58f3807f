"""postag.mwt: the multiword-token lexicon learned from CoNLL-U range lines, its four
expansion steps (as written, another case, suffix rule, identity), its JSON form, and
the coverage measure; on inline fixtures and, when ../shared/data has it, on Sequoia."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from postag.errors import CorpusError
from postag.mwt import (
    MwtLexicon,
    coverage,
    main,
    multiword_tokens,
    read_multiword_tokens,
    recase,
)

REPO = Path(__file__).resolve().parents[2]
SEQUOIA = (REPO / ".." / "shared" / "data" / "ud-french-sequoia").resolve()


def _conllu(*rows: str) -> str:
    """Lines with ``|`` for tabs (readable fixtures), one blank line after the last."""
    return "\n".join(r.replace("|", "\t") for r in rows) + "\n\n"


TRAIN = _conllu(
    "# newdoc id = d1",
    "# sent_id = fr-1",
    "# text = Il parle du vin.",
    "1|Il|il|PRON|_|_|2|nsubj|_|_",
    "2|parle|parler|VERB|_|_|0|root|_|_",
    "3-4|du|_|_|_|_|_|_|_|_",
    "3|de|de|ADP|_|_|5|case|_|_",
    "4|le|le|DET|_|_|5|det|_|_",
    "5|vin|vin|NOUN|_|_|2|obj|_|SpaceAfter=No",
    "6|.|.|PUNCT|_|_|2|punct|_|_",
) + _conllu(
    "# newpar",
    "# sent_id = en-1",
    "# text = I don't know, it's fine.",
    "1|I|I|PRON|_|_|4|nsubj|_|_",
    "2-3|don't|_|_|_|_|_|_|_|_",
    "2|do|do|AUX|_|_|4|aux|_|_",
    "3|n't|not|PART|_|_|4|advmod|_|_",
    "4|know|know|VERB|_|_|0|root|_|SpaceAfter=No",
    "5|,|,|PUNCT|_|_|4|punct|_|_",
    "6-7|it's|_|_|_|_|_|_|_|_",
    "6|it|it|PRON|_|_|8|nsubj|_|_",
    "7|'s|be|AUX|_|_|8|cop|_|_",
    "8|fine|fine|ADJ|_|_|4|parataxis|_|SpaceAfter=No",
    "9|.|.|PUNCT|_|_|4|punct|_|_",
)


@pytest.fixture(scope="module")
def lex() -> MwtLexicon:
    return MwtLexicon.learn(multiword_tokens(TRAIN, "train"))


def test_multiword_tokens_reads_range_lines_in_order():
    assert list(multiword_tokens(TRAIN)) == [
        ("du", ("de", "le")),
        ("don't", ("do", "n't")),
        ("it's", ("it", "'s")),
    ]


def test_a_range_without_its_words_is_a_corpus_error_naming_source_and_line():
    bad = _conllu("# sent_id = x", "1-2|du|_|_|_|_|_|_|_|_", "1|de|de|ADP|_|_|0|root|_|_")
    with pytest.raises(CorpusError, match=r"^bad\.conllu:2: multiword token 1-2 \('du'\)"):
        list(multiword_tokens(bad, "bad.conllu"))


def test_read_multiword_tokens_names_unreadable_files(tmp_path):
    with pytest.raises(CorpusError, match="missing.conllu"):
        read_multiword_tokens(tmp_path / "missing.conllu")
    (tmp_path / "latin1.conllu").write_bytes(b"1\t\xe9t\xe9\t_\t_\t_\t_\t0\troot\t_\t_\n")
    with pytest.raises(CorpusError, match="not valid UTF-8"):
        read_multiword_tokens(tmp_path / "latin1.conllu")


def test_what_is_learned(lex):
    assert len(lex) == 3
    assert lex.analyses("du") == [(("de", "le"), 1)]
    assert lex.analyses("Du") == []  # as written only
    assert "Du" in lex and "DON'T" in lex and "dont" not in lex and 3 not in lex
    # the last words of the tokens whose words spell them; "du" = "de" + "le" does not
    assert dict(lex.suffixes) == {"n't": 1, "'s": 1}


def test_expand_seen_as_written(lex):
    assert lex.expand("du") == ["de", "le"]
    assert lex.expand("don't") == ["do", "n't"]
    assert lex.how("du") == "exact"


def test_expand_seen_in_another_case_recases_from_the_surface(lex):
    # the words spell the surface: each word takes the surface's own characters
    assert lex.expand("DON'T") == ["DO", "N'T"]
    assert lex.expand("Don't") == ["Do", "n't"]
    # they do not: all upper → every word upper; capitalised → the first word
    assert lex.expand("DU") == ["DE", "LE"]
    assert lex.expand("Du") == ["De", "le"]
    assert lex.how("DU") == "case"


def test_the_exact_form_comes_before_another_case():
    lex = MwtLexicon.learn([("du", ("de", "le")), ("DU", ("DE", "le"))])
    assert lex.expand("DU") == ["DE", "le"]  # as the treebank writes it
    assert lex.expand("dU") == ["de", "le"]  # neither upper nor capitalised: lowercase


def test_expand_unseen_with_a_learned_suffix(lex):
    assert lex.expand("shouldn't") == ["should", "n't"]
    assert lex.expand("Ben's") == ["Ben", "'s"]
    assert lex.expand("WON'T") == ["WO", "N'T"]  # the suffix matched ignoring case
    assert lex.how("shouldn't") == "suffix"


def test_the_longest_suffix_wins_and_leaves_a_character():
    lex = MwtLexicon.learn([("it's", ("it", "'s")), ("lets", ("let", "s"))])
    assert sorted(lex.suffixes) == ["'s", "s"]
    assert lex.expand("Ben's") == ["Ben", "'s"]
    assert lex.expand("cats") == ["cat", "s"]
    assert lex.expand("'s") == ["'", "s"]  # "'s" itself would leave nothing
    assert lex.expand("s") == ["s"]


def test_the_suffix_rule_keeps_offsets_when_lowercasing_changes_length():
    # "İ".lower() is two characters: the split is found on the surface itself
    lex = MwtLexicon.learn([("it's", ("it", "'s"))])
    assert lex.expand("İstanbul's") == ["İstanbul", "'s"]
    assert "".join(lex.expand("İstanbul's")) == "İstanbul's"


def test_expand_unseen_without_a_suffix_is_the_identity(lex):
    assert lex.expand("zum") == ["zum"]
    assert lex.expand("n't") == ["n't"]  # a suffix needs one other character before it
    assert lex.how("zum") == "identity"
    assert MwtLexicon().expand("du") == ["du"]


def test_recase():
    assert recase("DON'T", ("do", "n't")) == ["DO", "N'T"]
    assert recase("Des", ("de", "les")) == ["De", "les"]
    assert recase("AUX", ("à", "les")) == ["À", "LES"]
    assert recase("au", ("à", "le")) == ["à", "le"]
    # lowercasing "İ" adds a character: no slicing of the surface by the words' lengths
    assert recase("İT'S", ("i̇t", "'s")) == ["i̇t".upper(), "'S"]


def test_ties_go_to_the_smallest_analysis_before_and_after_json():
    lex = MwtLexicon.learn([("x", ("a", "c")), ("x", ("a", "b")), ("y", ("q", "r"))])
    lex.add("y", ("p", "r"), count=1)
    lex.add("y", ("q", "r"), count=1)
    assert lex.expand("x") == ["a", "b"]
    assert lex.expand("y") == ["q", "r"]  # 2 against 1
    back = MwtLexicon.from_dict(json.loads(json.dumps(lex.to_dict())))
    assert back.expand("x") == ["a", "b"] and back.expand("y") == ["q", "r"]
    assert back.analyses("y") == [(("q", "r"), 2), (("p", "r"), 1)]


def test_json_round_trip(lex):
    lex.add("DU", ("DE", "le"), count=2)
    data = lex.to_dict()
    assert data == {
        "format": 1,
        "analyses": [
            ["DU", [[["DE", "le"], 2]]],
            ["don't", [[["do", "n't"], 1]]],
            ["du", [[["de", "le"], 1]]],
            ["it's", [[["it", "'s"], 1]]],
        ],
        "suffixes": [["'s", 1], ["n't", 1]],
    }
    back = MwtLexicon.from_dict(json.loads(json.dumps(data)))
    assert back == lex
    assert back.to_dict() == data
    assert back.lower == lex.lower  # the lowercased index is rebuilt
    for form in ["du", "Du", "DU", "DON'T", "Ben's", "zum"]:
        assert back.expand(form) == lex.expand(form)
    assert back != MwtLexicon.learn([("du", ("de", "le"))])


@pytest.mark.parametrize(
    "change",
    [
        {"format": 2},
        {"analyses": None},
        {"analyses": [["du", [["de le", 1]]]]},  # words: a string, not a list
        {"analyses": [["du", [[[], 1]]]]},
        {"analyses": [["du", [[["de", "le"], 0]]]]},
        {"analyses": [["du", [[["de", "le"], True]]]]},
        {"analyses": [["du", [[["de", 7], 1]]]]},
        {"suffixes": [["'s", "many"]]},
        {"suffixes": [["", 1]]},
    ],
)
def test_a_malformed_dict_is_a_corpus_error(change):
    data = {"format": 1, "analyses": [["du", [[["de", "le"], 1]]]], "suffixes": []}
    MwtLexicon.from_dict(data)  # the unchanged dict is fine
    with pytest.raises(CorpusError, match="format 2" if "format" in change else "malformed"):
        MwtLexicon.from_dict({**data, **change})


def test_a_dict_without_its_keys_is_a_corpus_error():
    with pytest.raises(CorpusError, match="malformed"):
        MwtLexicon.from_dict({"format": 1})
    with pytest.raises(CorpusError, match="malformed"):
        MwtLexicon.from_dict([])  # type: ignore[arg-type]


def test_coverage_counts_by_step(lex):
    held_out = [
        ("du", ("de", "le")),  # exact
        ("Du", ("De", "le")),  # case
        ("can't", ("ca", "n't")),  # suffix
        ("Ben's", ("Ben", "'s")),  # suffix
        ("I´m", ("I", "´m")),  # identity (never right: the gold has two words)
    ]
    cov = coverage(lex, held_out)
    assert (cov.total, cov.correct, cov.unseen) == (5, 4, 3)
    assert cov.steps == {"exact": 1, "case": 1, "suffix": 2, "identity": 1}
    assert cov.steps_correct == {"exact": 1, "case": 1, "suffix": 2, "identity": 0}


def test_main_prints_the_lexicon_and_dev_coverage(tmp_path, capsys):
    (tmp_path / "train.conllu").write_text(TRAIN, encoding="utf-8")
    dev = _conllu(
        "1-2|Ben's|_|_|_|_|_|_|_|_",
        "1|Ben|Ben|PROPN|_|_|0|root|_|_",
        "2|'s|'s|PART|_|_|1|case|_|_",
    )
    (tmp_path / "dev.conllu").write_text(dev, encoding="utf-8")
    assert main([str(tmp_path / "train.conllu"), str(tmp_path / "dev.conllu")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "train: 3 multiword tokens, 3 forms (0 ambiguous), 2 suffixes"
    assert out[1] == "dev: 1 multiword tokens, 1 unseen in train; expanded right: 1/1"
    assert out[2].split() == ["suffix", "1", "right", "1"]
    assert main([str(tmp_path / "nope.conllu")]) == 2
    assert "nope.conllu" in capsys.readouterr().err


@pytest.mark.skipif(
    not (SEQUOIA / "fr_sequoia-ud-dev.conllu").is_file(),
    reason=f"UD French Sequoia not at {SEQUOIA}",
)
def test_sequoia_train_expands_every_dev_multiword_token():
    lex = MwtLexicon.learn_files([SEQUOIA / "fr_sequoia-ud-train.conllu"])
    assert lex.expand("du") == ["de", "le"] and lex.expand("Des") == ["De", "les"]
    assert lex.analyses("DU") == [(("DE", "le"), 6)]
    assert not lex.suffixes
    cov = coverage(lex, read_multiword_tokens(SEQUOIA / "fr_sequoia-ud-dev.conllu"))
    assert (cov.total, cov.correct, cov.unseen) == (282, 282, 0)
