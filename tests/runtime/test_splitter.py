"""The splitter a bundle names (postag.splitter): the rule tokenizer's pieces joined into
multiword tokens by the bundle's lexicon, the words they expand to, and how every output
(Tagger, `postag tag` text/json/conllu, the raw-text scorer) writes them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from postag.bundle import SplitterRef, identity_sha256, load_manifest, parse_manifest
from postag.cli import cli
from postag.conll18 import evaluate, parse_treebank, read_treebank, tagged_conllu
from postag.errors import BundleError
from postag.mwt import MwtLexicon
from postag.splitter import RULES, Splitter, load_splitter, summary
from postag.tokenizer import Token, join_multiword, sentence_words, tokenize
from tests.conftest import TOY_MWT

LEX = MwtLexicon.learn([*TOY_MWT, ("gonna", ["gon", "na"]), ("Ben's", ["Ben", "'s"])])


def _joined(text: str) -> list[tuple[str, tuple[str, ...]]]:
    return [(t.text, t.words) for t in join_multiword(tokenize(text), LEX)]


# -- joining the rule tokenizer's pieces -------------------------------------------------


def test_touching_pieces_the_lexicon_expands_to_become_one_token() -> None:
    assert _joined("I don't know") == [("I", ()), ("don't", ("do", "n't")), ("know", ())]
    assert _joined("We cannot go") == [("We", ()), ("cannot", ("can", "not")), ("go", ())]


def test_case_and_the_learned_suffix_rule_are_the_lexicons() -> None:
    # "DON'T": seen in another case; "Sam's": unseen, the suffix 's learned from Ben's
    assert _joined("DON'T") == [("DON'T", ("DO", "N'T"))]
    assert _joined("Sam's car") == [("Sam's", ("Sam", "'s")), ("car", ())]


def test_pieces_apart_or_not_spelling_the_analysis_stay_as_they_are() -> None:
    # a space between the pieces: two tokens, whatever the lexicon says
    toks = [Token("do", 0, 2), Token("n't", 3, 6)]
    assert join_multiword(toks, LEX) == toks
    # touching, but "can" + "not" + "go" is no multiword token; "can" + "not" is
    toks = [Token("can", 0, 3), Token("not", 3, 6), Token("go", 6, 8)]
    joined = join_multiword(toks, LEX)
    assert [(t.text, t.words, t.start, t.end) for t in joined] == [
        ("cannot", ("can", "not"), 0, 6),
        ("go", (), 6, 8),
    ]
    # a word the lexicon would split by suffix only where the pieces are those words
    assert join_multiword([Token("Bens", 0, 4)], LEX) == [Token("Bens", 0, 4)]


def test_sentence_words_expand_multiword_tokens_with_the_tokens_offsets() -> None:
    text = "I don't, gonna."
    sent = sentence_words(join_multiword(tokenize(text), LEX))
    assert sent.words == ["I", "do", "n't", ",", "gon", "na", "."]
    assert sent.multiword == [(1, 2, "don't"), (4, 5, "gonna")]
    for i, w in enumerate(sent.words):  # a multiword token's words share its offsets
        assert text[sent.starts[i] : sent.ends[i]] in (w, "don't", "gonna")
    assert (sent.starts[1], sent.ends[2]) == (2, 7)


def test_the_splitter_without_a_lexicon_is_the_rule_tokenizer() -> None:
    text = "I don't know. Alice's here."
    assert RULES.text_sentences(text)[0].multiword == []
    with_lex = Splitter("rules", LEX).text_sentences(text)
    assert [s.multiword for s in with_lex] == [[(1, 2, "don't")], [(0, 1, "Alice's")]]
    # the words are the same either way: only how they group into tokens differs
    assert [s.words for s in with_lex] == [s.words for s in RULES.text_sentences(text)]


# -- a bundle with a lexicon ---------------------------------------------------------------


@pytest.fixture(scope="module")
def bundle(mwt_bundle) -> Path:
    return mwt_bundle[0]


def test_the_manifest_names_the_lexicon_and_the_identity_covers_it(bundle: Path) -> None:
    man = load_manifest(bundle)
    assert man.splitter == SplitterRef("rules", mwt="mwt.json")
    assert MwtLexicon.from_dict(json.loads((bundle / "mwt.json").read_text())) == MwtLexicon.learn(
        TOY_MWT
    )
    assert "multiword tokens from a lexicon of 3 forms" in summary(man)
    # another lexicon, even with every hash recomputed, is another identity
    core = dict(man.data)
    sha = {n: e.sha256 for n, e in man.files.items()}
    assert identity_sha256(core, {**sha, "mwt.json": "0" * 64}) != man.identity


def test_the_tagger_tags_the_words_and_lists_the_multiword_tokens(bundle: Path) -> None:
    from postag import Tagger

    tagger = Tagger.load(bundle, provider="cpu", threads=1)
    assert tagger.splitter.kind == "rules" and tagger.splitter.lexicon is not None
    text = "Alice's dog don't run."
    [sent] = tagger.tag_text(text)
    assert sent.words == ["Alice", "'s", "dog", "do", "n't", "run", "."]
    assert sent.multiword == [(0, 1, "Alice's"), (3, 4, "don't")]
    assert len(sent.tags) == len(sent.words)
    assert [text[a:b] for a, b in zip(sent.start, sent.end, strict=True)][:5] == [
        "Alice's",
        "Alice's",
        "dog",
        "don't",
        "don't",
    ]
    d = sent.to_dict()
    assert d["multiword"] == [[0, 1, "Alice's"], [3, 4, "don't"]]


def test_tag_writes_range_lines_with_the_tokens_placement(bundle: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        cli,
        ["--threads", "1", "tag", "--bundle", str(bundle), "--format", "conllu"],
        input="She don't run.\n",
    )
    assert res.exit_code == 0, res.output
    rows = [line.split("\t") for line in res.output.splitlines() if line and line[0] != "#"]
    assert [r[0] for r in rows] == ["1", "2-3", "2", "3", "4", "5"]
    assert rows[1][1] == "don't" and rows[1][2:9] == ["_"] * 7
    assert rows[1][9] == "TokenRange=4:9"  # "don't" is followed by a space
    assert rows[2][9] == "_" and rows[3][9] == "_"  # the words carry no placement
    assert rows[4][9] == "SpaceAfter=No|TokenRange=10:13"
    # the output is valid CoNLL-U whose tokens spell the text
    tb = parse_treebank(res.output.replace("\t_\t_\t_\t", "\t0\troot\t_\t"), "out")
    assert tb.chars == "Shedon'trun."


def test_tag_json_says_which_words_come_from_one_token(bundle: Path) -> None:
    res = CliRunner().invoke(
        cli,
        ["--threads", "1", "tag", "--bundle", str(bundle), "--format", "json"],
        input="They cannot run.\n",
    )
    assert res.exit_code == 0, res.output
    obj = json.loads(res.output)
    assert obj["words"] == ["They", "can", "not", "run", "."]
    assert obj["multiword"] == [[1, 2, "cannot"]]
    assert (obj["start"][1], obj["end"][2]) == (5, 11)


def test_info_says_how_the_bundle_splits_raw_text(bundle: Path, toy_bundle) -> None:
    res = CliRunner().invoke(cli, ["info", str(bundle)])
    assert "raw text: rule tokenizer" in res.output and "lexicon of 3 forms" in res.output
    res = CliRunner().invoke(cli, ["info", str(toy_bundle[0])])
    assert "raw text: rule tokenizer" in res.output and "no multiword tokens" in res.output


def test_the_raw_text_scorer_reads_the_range_lines_as_tokens(bundle: Path, tmp_path: Path) -> None:
    from postag import Tagger

    tagger = Tagger.load(bundle, provider="cpu", threads=1)
    text = "She don't run. Alice's dog sees Bob."
    system = tagged_conllu(tagger.tag_text(text), text)
    assert "2-3\tdon't\t_" in system and "1-2\tAlice's\t_" in system
    (tmp_path / "sys.conllu").write_text(system)
    got = read_treebank(tmp_path / "sys.conllu")
    gold = parse_treebank(system, "gold")
    scores = evaluate(gold, got).to_dict()
    assert scores["Tokens"]["f1"] == scores["Words"]["f1"] == 1.0
    assert len(got.tokens) == 9 and len(got.words) == 11


# -- a manifest that says something else ---------------------------------------------------


def _edited(bundle: Path, tmp_path: Path, edit) -> Path:  # noqa: ANN001
    copy = tmp_path / "b"
    shutil.copytree(bundle, copy)
    data = json.loads((copy / "manifest.json").read_text())
    edit(data)
    (copy / "manifest.json").write_text(json.dumps(data))
    return copy


@pytest.mark.parametrize(
    ("splitter", "message"),
    [
        ({"kind": "magic"}, "splitter.kind"),
        ({"kind": "rules", "mwt": "nowhere.json"}, "not in 'files'"),
        ({"kind": "model", "mwt": "mwt.json"}, "does not name both"),
        ({"kind": "rules", "segmenter": "mwt.json"}, "names a segmenter"),
        ({"kind": "rules", "mwt": 3}, "splitter.mwt"),
    ],
)
def test_a_malformed_splitter_field_is_one_clear_error(
    bundle: Path, tmp_path: Path, splitter: dict, message: str
) -> None:
    copy = _edited(bundle, tmp_path, lambda d: d.update(splitter=splitter))
    with pytest.raises(BundleError, match=message):
        parse_manifest(copy, json.loads((copy / "manifest.json").read_text()))


def test_a_lexicon_edited_after_export_is_refused(bundle: Path, tmp_path: Path) -> None:
    copy = tmp_path / "b"
    shutil.copytree(bundle, copy)
    (copy / "mwt.json").write_text(json.dumps(MwtLexicon.learn(TOY_MWT[:1]).to_dict()))
    with pytest.raises(BundleError, match="sha256 mismatch"):
        load_manifest(copy)


def test_a_malformed_lexicon_is_a_bundle_error_naming_the_file(
    bundle: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "b"
    shutil.copytree(bundle, copy)
    (copy / "mwt.json").write_text('{"format": 1, "analyses": [["x", [[[], 1]]]]}')
    man = load_manifest(copy, verify_hashes=False, check_model=False)
    with pytest.raises(BundleError, match="mwt.json: malformed MWT lexicon"):
        load_splitter(man)
