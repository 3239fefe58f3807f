import numpy as np
import pytest

from postag.export.train.scorer import score


def test_score_values():
    s = score(
        ["A", "B", "C"],
        gold=[[0, 1, 1], [2]],
        pred=[[0, 1, 2], [2]],
        known=[[True, False, True], [False]],
    )
    assert s.accuracy == pytest.approx(3 / 4)
    assert (s.known_total, s.known_correct) == (2, 1)
    assert (s.unknown_total, s.unknown_correct) == (2, 2)
    np.testing.assert_array_equal(s.confusion, [[1, 0, 0], [0, 1, 1], [0, 0, 1]])
    per = s.per_tag()
    assert per["B"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert per["C"]["precision"] == 0.5
    assert "UPOS accuracy   75.00%" in s.table()
    d = s.to_dict()
    assert d["confusion"]["matrix"][1] == [0, 1, 1] and d["tokens"] == 4


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError):
        score(["A"], [[0, 0]], [[0]], [[True, True]])


def test_confusion_png(tmp_path):
    s = score(["A", "B"], [[0, 1, 1]], [[0, 0, 1]], [[True] * 3])
    s.plot_confusion(tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unseen_bigram_sentences_counts_sentences_not_pairs():
    from postag.export.train.scorer import seen_bigrams, unseen_bigram_sentences

    seen = seen_bigrams([[0, 1, 2], [2, 0]])
    assert seen == {(0, 1), (1, 2), (2, 0)}
    # [0, 1, 2, 0] only has seen pairs; [1, 0] has one unseen; [2, 1, 1] two (one sentence)
    assert unseen_bigram_sentences([[0, 1, 2, 0], [1, 0], [2, 1, 1], [5]], seen) == 2


def test_universal_feats():
    """FEATS as the CoNLL 2018 UFeats compares them: universal features only, sorted."""
    from postag.export.train.scorer import universal_feats

    assert universal_feats("_") == ""
    assert universal_feats("NumForm=Digit|Typo=Yes|ExtPos=ADP|Style=Slng") == ""
    assert universal_feats("Tense=Past|Abbr=Yes|Number[psor]=Sing|Mood=Ind") == (
        "Abbr=Yes|Mood=Ind|Tense=Past"
    )
    assert universal_feats("PronType=Int,Rel") == "PronType=Int,Rel"
