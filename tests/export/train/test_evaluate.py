"""postag's CoNLL 2018 tagging metrics against the shared task's own evaluation script,
``conll18_ud_eval.py`` (MPL-2.0, at ../shared/tools/; called here, never copied): UPOS,
XPOS, UFeats and AllTags agree exactly, on an inline treebank whose system output has
wrong tags and language-specific features, and on `postag eval --conllu-out`'s output.

    .venv/bin/python -m pytest -q tests/export/train/test_evaluate.py

Without ../shared/tools/conll18_ud_eval.py the comparisons are skipped (saying so).
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner

from postag.cli import cli
from postag.data import parse_conllu, read_conllu, write_conllu_with_tags
from postag.export.train.checkpoint import Checkpoint
from postag.export.train.evaluate import evaluate_checkpoint
from postag.export.train.scorer import (
    UNIVERSAL_FEATURES,
    conll18_scores,
    score,
)
from tests.conftest import REPO

OFFICIAL = (REPO / ".." / "shared" / "tools" / "conll18_ud_eval.py").resolve()
NO_OFFICIAL = f"the CoNLL 2018 evaluation script is not at {OFFICIAL} (../shared/tools/)"
METRICS = ("UPOS", "XPOS", "UFeats", "AllTags")
HEADS = ("upos", "xpos", "feats")

# Three sentences with a multiword token (2-3), an empty node (6.1), XPOS "_", and
# features the 2018 script does not count as universal: NumForm, Typo, ExtPos, Style
# (language-specific or added to UD since) and the layered Number[psor]; Abbr is one.
GOLD = """\
# sent_id = a1
# text = I don't owe Dr. Smith 25 dollars.
1\tI\tI\tPRON\tPRP\tCase=Nom|Number=Sing|Person=1|PronType=Prs\t4\tnsubj\t_\t_
2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_
2\tdo\tdo\tAUX\tVBP\tMood=Ind|Number=Sing|Person=1|Tense=Pres|VerbForm=Fin\t4\taux\t_\t_
3\tn't\tnot\tPART\tRB\tPolarity=Neg\t4\tadvmod\t_\t_
4\towe\towe\tVERB\tVB\tVerbForm=Inf\t0\troot\t_\t_
5\tDr.\tDr.\tPROPN\tNNP\tAbbr=Yes|Number=Sing\t6\tcompound\t_\t_
6\tSmith\tSmith\tPROPN\tNNP\tNumber=Sing\t4\tiobj\t_\t_
7\t25\t25\tNUM\tCD\tNumForm=Digit|NumType=Card\t8\tnummod\t_\t_
8\tdollars\tdollar\tNOUN\tNNS\tNumber=Plur\t4\tobj\t_\tSpaceAfter=No
9\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_

# sent_id = a2
# text = Their dog barked and thier cat too, because of the noise lol
1\tTheir\ttheir\tPRON\tPRP$\tNumber=Plur|Person=3|Poss=Yes|PronType=Prs\t2\tnmod:poss\t_\t_
2\tdog\tdog\tNOUN\tNN\tNumber=Sing\t3\tnsubj\t_\t_
3\tbarked\tbark\tVERB\tVBD\tMood=Ind|Tense=Past|VerbForm=Fin\t0\troot\t_\t_
4\tand\tand\tCCONJ\tCC\t_\t6\tcc\t_\t_
5\tthier\ttheir\tPRON\tPRP$\tNumber=Plur|Person=3|Poss=Yes|PronType=Prs|Typo=Yes\t6\tnmod:poss\t_\t_
6\tcat\tcat\tNOUN\tNN\tNumber=Sing\t3\tconj\t_\t_
6.1\tbarked\tbark\tVERB\tVBD\t_\t_\t_\t3:conj\t_
7\ttoo\ttoo\tADV\tRB\t_\t6\tadvmod\t_\tSpaceAfter=No
8\t,\t,\tPUNCT\t,\t_\t3\tpunct\t_\t_
9\tbecause\tbecause\tSCONJ\tIN\tExtPos=ADP\t12\tcase\t_\t_
10\tof\tof\tADP\tIN\t_\t9\tfixed\t_\t_
11\tthe\tthe\tDET\tDT\tDefinite=Def|PronType=Art\t12\tdet\t_\t_
12\tnoise\tnoise\tNOUN\tNN\tNumber=Sing\t3\tobl\t_\t_
13\tlol\tlol\tINTJ\tUH\tStyle=Slng\t3\tdiscourse\t_\t_

# sent_id = a3
# text = She reads its books
1\tShe\tshe\tPRON\t_\tCase=Nom|Gender=Fem|Number=Sing|Person=3|PronType=Prs\t2\tnsubj\t_\t_
2\treads\tread\tVERB\t_\tMood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin\t0\troot\t_\t_
3\tits\tits\tPRON\t_\tNumber[psor]=Sing|Poss=Yes|PronType=Prs\t4\tnmod:poss\t_\t_
4\tbooks\tbook\tNOUN\t_\tNumber=Plur\t2\tobj\t_\t_

"""

# The system's changes, by (sentence, word) (0-based, syntactic words): (UPOS, XPOS,
# FEATS), None = the gold label. Counted as wrong:
#   UPOS   (0,1) (1,1) (1,8)                         -> 23 of 26 right
#   XPOS   (0,3) (1,1) (1,12) (2,0)                  -> 22
#   UFeats, universal features (CoNLL 2018): (0,4) (1,1), Abbr/Number/… differ -> 24
#   UFeats, whole strings: also (0,6) (0,8) (1,4) (1,8) (1,12) (2,1) (2,2)    -> 17
#   AllTags (CoNLL 2018): UPOS, XPOS or universal UFeats wrong: 7 words       -> 19
EDITS = {
    (0, 1): ("VERB", None, None),
    (0, 3): (None, "VBP", None),
    (0, 4): (None, None, "Number=Sing"),  # Abbr is universal: wrong
    (0, 6): (None, None, "NumType=Card"),  # NumForm dropped: right officially
    (0, 8): (None, None, "NumForm=Digit"),  # "_" vs language-specific only: right
    (1, 1): ("VERB", "VBZ", "Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin"),
    (1, 4): (None, None, "Number=Plur|Person=3|Poss=Yes|PronType=Prs"),  # Typo dropped
    (1, 8): ("ADP", None, "_"),  # ExtPos dropped
    (1, 12): (None, "NN", "_"),  # Style dropped
    (2, 0): (None, "PRP", None),  # gold XPOS "_"
    (2, 1): (None, None, "VerbForm=Fin|Mood=Ind|Number=Sing|Person=3|Tense=Pres"),  # order
    (2, 2): (None, None, "Poss=Yes|PronType=Prs"),  # layered Number[psor] dropped
}
WANT = {"words": 26, "UPOS": 23, "XPOS": 22, "UFeats": 24, "AllTags": 19}
WHOLE_FEATS_RIGHT = 17


def load_official() -> ModuleType:
    """conll18_ud_eval.py as a module, imported from its path (skips where it is absent)."""
    if not OFFICIAL.is_file():
        pytest.skip(NO_OFFICIAL)
    spec = importlib.util.spec_from_file_location("conll18_ud_eval", OFFICIAL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def official() -> ModuleType:
    return load_official()


def official_scores(official: ModuleType, gold: Path, system: Path) -> dict:
    """The script's own scores (its ``evaluate`` on its ``load_conllu_file``)."""
    return official.evaluate(
        official.load_conllu_file(str(gold)), official.load_conllu_file(str(system))
    )


def system_labels() -> dict[str, list[list[str]]]:
    """The gold labels with :data:`EDITS` applied: {head: one list per sentence}."""
    out = {h: [list(s.labels(h)) for s in parse_conllu(GOLD)] for h in HEADS}
    for (k, j), change in EDITS.items():
        for h, label in zip(HEADS, change, strict=True):
            if label is not None:
                out[h][k][j] = label
    return out


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    """(gold, system): the system file written as `postag eval --conllu-out` writes one."""
    gold, system = tmp_path / "gold.conllu", tmp_path / "system.conllu"
    gold.write_text(GOLD, encoding="utf-8")
    system.write_text(write_conllu_with_tags(GOLD, system_labels()), encoding="utf-8")
    return gold, system


def test_universal_features_are_the_2018_scripts(official):
    """postag's list (written from the UD guidelines) is the one the script filters by."""
    assert UNIVERSAL_FEATURES == set(official.UNIVERSAL_FEATURES)


def test_conll18_counts_by_hand():
    """The counts worked out in EDITS' comment; whole FEATS strings score lower."""
    gold = {h: [s.labels(h) for s in parse_conllu(GOLD)] for h in HEADS}
    ours = conll18_scores(gold, system_labels())
    assert {"words": ours.words, **ours.correct} == WANT
    feats = sorted({f for lists in (gold, system_labels()) for s in lists["feats"] for f in s})
    whole = score(
        feats,
        [[feats.index(f) for f in s] for s in gold["feats"]],
        [[feats.index(f) for f in s] for s in system_labels()["feats"]],
        [[True] * len(s) for s in gold["feats"]],
        head="feats",
    )
    assert whole.total == 26 and int(whole.confusion.trace()) == WHOLE_FEATS_RIGHT


def test_conll18_scores_equal_the_official_evaluate(official, files):
    """UPOS/XPOS/UFeats/AllTags of :func:`conll18_scores` = the script's, exactly: the
    same correct counts, and accuracy = its precision = recall = F1 = aligned accuracy
    (gold tokenization: every word aligned, multiword token and empty node included)."""
    gold, system = files
    theirs = official_scores(official, gold, system)
    ours = conll18_scores(
        {h: [s.labels(h) for s in read_conllu(gold)] for h in HEADS}, system_labels()
    )
    words = theirs["Words"]
    assert words.gold_total == words.system_total == words.correct == ours.words == 26
    assert theirs["Tokens"].f1 == 1.0
    for m in METRICS:
        t = theirs[m]
        assert (t.correct, t.gold_total, t.system_total, t.aligned_total) == (
            ours.correct[m], ours.words, ours.words, ours.words,
        ), m  # fmt: skip
        for value in (t.precision, t.recall, t.f1, t.aligned_accuracy):
            assert ours.accuracy(m) == pytest.approx(value, abs=1e-9), m
    assert ours.accuracy("UFeats") > WHOLE_FEATS_RIGHT / 26  # the definitions differ here


def test_conll18_scores_equal_the_official_command_line(files):
    """The script run as a command (`-c`: counts; `-v`: percentages, 2 decimals)."""
    if not OFFICIAL.is_file():
        pytest.skip(NO_OFFICIAL)
    gold, system = files
    ours = conll18_scores(
        {h: [s.labels(h) for s in read_conllu(gold)] for h in HEADS}, system_labels()
    )

    def table(flag: str) -> dict[str, list[str]]:
        out = subprocess.run(
            [sys.executable, str(OFFICIAL), flag, str(gold), str(system)],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        rows = (line.split("|") for line in out.splitlines() if "|" in line)
        return {r[0].strip(): [c.strip() for c in r[1:]] for r in rows}

    counts, percent = table("-c"), table("-v")
    n = str(ours.words)
    for m in METRICS:
        assert counts[m] == [str(ours.correct[m]), n, n, n], m
        assert percent[m] == [f"{100 * ours.accuracy(m):.2f}"] * 4, m


def test_conll18_scores_measure_only_predicted_heads():
    """A UPOS-only model: the other columns of its output are gold, so only UPOS."""
    gold = {h: [s.labels(h) for s in parse_conllu(GOLD)] for h in HEADS}
    ours = conll18_scores(gold, {"upos": system_labels()["upos"]})
    assert ours.correct == {"UPOS": 23}
    with pytest.raises(ValueError):
        conll18_scores(gold, {"upos": [["NOUN"]] * 3})
    with pytest.raises(ValueError):
        conll18_scores(gold, {"upos": system_labels()["upos"][:2]})


def with_language_specific_features(text: str) -> str:
    """CoNLL-U with FEATS the toy model never saw: every 4th word gets ``Style=Expr`` (for
    ``_``) or ``|Typo=Yes`` appended, the next word its features in reverse order.
    Whole-string UFeats counts these wrong, the CoNLL 2018 UFeats right."""
    out, k = [], 0
    for line in text.split("\n"):
        cols = line.split("\t")
        if len(cols) == 10 and cols[0].isdigit():
            if k % 4 == 0:
                cols[5] = "Style=Expr" if cols[5] == "_" else cols[5] + "|Typo=Yes"
            elif k % 4 == 1:
                cols[5] = "|".join(reversed(cols[5].split("|")))
            k += 1
            line = "\t".join(cols)
        out.append(line)
    return "\n".join(out)


@pytest.mark.parametrize("gold_kind", ["as written", "with language-specific features"])
def test_postag_eval_agrees_with_the_official_script(official, toy_bundle, tmp_path, gold_kind):
    """`postag eval CKPT test --conllu-out pred.conllu` prints the CoNLL 2018 UPOS, XPOS,
    UFeats and AllTags the script gives on pred.conllu against the gold test file (to
    the printed 2 decimals; exactly through the API and --json-out); its whole-string
    UFeats is also printed, and is lower where the gold has non-universal features."""
    _, ckpt, corpus = toy_bundle
    gold = corpus / "toy-ud-test.conllu"
    if gold_kind != "as written":
        gold = tmp_path / "gold.conllu"
        gold.write_text(
            with_language_specific_features((corpus / "toy-ud-test.conllu").read_text())
        )
    pred, metrics = tmp_path / "pred.conllu", tmp_path / "m.json"
    where = ["test", "--data", str(corpus)] if gold_kind == "as written" else [str(gold)]
    args = ["eval", str(ckpt), *where, "--conllu-out", str(pred), "--json-out", str(metrics)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    theirs = official_scores(official, gold, pred)
    assert theirs["Words"].f1 == 1.0

    lines = res.output.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("CoNLL 2018"))
    words = sum(len(s) for s in read_conllu(gold))
    assert f"({words} words;" in lines[at]
    printed = dict(re.findall(r"(UPOS|XPOS|UFeats|AllTags)\s+([0-9.]+)%", lines[at + 1]))
    assert printed == {m: f"{100 * theirs[m].f1:.2f}" for m in METRICS}

    result = evaluate_checkpoint(Checkpoint.load(ckpt), read_conllu(gold))
    assert result.conll18.words == words == theirs["UPOS"].gold_total
    for m in METRICS:
        assert result.conll18.correct[m] == theirs[m].correct, m
        assert result.conll18.accuracy(m) == pytest.approx(theirs[m].f1, abs=1e-9), m
    heads = json.loads(metrics.read_text())["heads"]
    for h, m in zip(HEADS, METRICS, strict=False):
        assert heads[h]["conll18_accuracy"] == pytest.approx(theirs[m].f1, abs=1e-9), m
    # UPOS and XPOS are one metric; UFeats is two (whole strings vs universal features)
    assert heads["upos"]["accuracy"] == heads["upos"]["conll18_accuracy"]
    assert heads["xpos"]["accuracy"] == heads["xpos"]["conll18_accuracy"]
    whole = re.search(r"^UFeats\s+([0-9.]+)%.*\(whole FEATS strings\)$", res.output, re.M)
    assert whole and float(whole[1]) == pytest.approx(100 * heads["feats"]["accuracy"], abs=0.005)
    if gold_kind == "as written":  # the toy corpus has universal features only, sorted
        assert heads["feats"]["accuracy"] == heads["feats"]["conll18_accuracy"]
    else:
        # a changed gold FEATS string is never one the model saw: always wrong as a whole
        before = [f for s in read_conllu(corpus / "toy-ud-test.conllu") for f in s.feats]
        changed = sum(
            a != b
            for a, b in zip(before, [f for s in read_conllu(gold) for f in s.feats], strict=True)
        )
        assert changed > words / 3
        assert heads["feats"]["accuracy"] <= 1 - changed / words
        assert heads["feats"]["accuracy"] < heads["feats"]["conll18_accuracy"]


def test_official_scorer_benchmark_agrees(toy_bundle, tmp_path, capsys):
    """`python -m postag.export.bench.official_scorer CKPT` runs the script as a command
    and finds every metric equal (exit status 0)."""
    from postag.export.bench.official_scorer import main

    if not OFFICIAL.is_file():
        pytest.skip(NO_OFFICIAL)
    _, ckpt, corpus = toy_bundle
    pred = tmp_path / "pred.conllu"
    args = [str(ckpt), "--split", "test", "--data", str(corpus), "--script", str(OFFICIAL)]
    assert main([*args, "--conllu-out", str(pred)]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("agree: yes, every metric")
    assert [line.split()[0] for line in out.splitlines() if line.endswith(" yes")] == [*METRICS]
    assert len(read_conllu(pred)) == len(read_conllu(corpus / "toy-ud-test.conllu"))
