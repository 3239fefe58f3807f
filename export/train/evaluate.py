"""Evaluate a checkpoint on gold-tokenized sentences (`postag eval`): a :class:`Score` per
head and AllTags (every head right on a word), and the CoNLL 2018 shared task's tagging
metrics (:class:`Conll18`: UFeats and AllTags on universal features only, as its
``conll18_ud_eval.py`` scores them).

    result = evaluate_checkpoint(Checkpoint.load("artifacts/checkpoints/default.pt"), test)
    print(result.summary(), result.heads["xpos"].table())
    result.conll18.accuracy("UFeats")  # = conll18_ud_eval.py on `postag eval --conllu-out`
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from postag.contract import HEAD_NAMES
from postag.data import Sentence
from postag.export.train.checkpoint import Checkpoint
from postag.export.train.predict import predict_labels
from postag.export.train.scorer import (
    Conll18,
    Score,
    conll18_scores,
    score,
    seen_bigrams,
    unseen_bigram_sentences,
)
from postag.export.train.trainer import tag_ids
from postag.vocab import UNK_ID


@dataclass
class Evaluation:
    heads: dict[str, Score]  # per head, in the model's head order
    predicted: dict[str, list[list[int]]]  # label ids per head, one list per sentence
    all_tags_correct: int  # words with every head right
    total: int
    # per head: sentences whose predicted / gold labels hold a bigram unseen in training
    # (only when the training sentences were given)
    unseen_bigrams: dict[str, int] | None = None
    gold_unseen_bigrams: dict[str, int] | None = None
    conll18: Conll18 | None = None  # the CoNLL 2018 metrics of the heads the model has

    @property
    def upos(self) -> Score:
        return self.heads["upos"]

    @property
    def all_tags(self) -> float:
        """AllTags: the share of words whose every head is right."""
        return self.all_tags_correct / max(1, self.total)

    def summary(self) -> str:
        lines = []
        for h, s in self.heads.items():
            lines.append(
                f"{HEAD_NAMES[h]:<7} {100 * s.accuracy:6.2f}%   known "
                f"{100 * s.known_accuracy:6.2f}%  unknown {100 * s.unknown_accuracy:6.2f}%"
                + ("   (whole FEATS strings)" if h == "feats" else "")
            )
        if len(self.heads) > 1:
            lines.append(f"{'AllTags':<7} {100 * self.all_tags:6.2f}%   ({self.total} words)")
        if self.conll18 is not None:
            lines += [
                f"CoNLL 2018 shared task metrics ({self.conll18.words} words; UFeats and "
                "AllTags: universal features only):",
                self.conll18.line(),
            ]
        if self.unseen_bigrams is not None and self.gold_unseen_bigrams is not None:
            n = len(self.predicted[next(iter(self.heads))])
            lines.append(
                f"sentences with a label bigram never seen in training (of {n}): "
                + ", ".join(
                    f"{HEAD_NAMES[h]} {k} (gold {self.gold_unseen_bigrams[h]})"
                    for h, k in self.unseen_bigrams.items()
                )
            )
        return "\n".join(lines)

    def metrics(self, split: str) -> dict[str, float]:
        """Flat metrics for the checkpoint and manifest: ``<split>_accuracy`` (UPOS),
        ``<split>_<head>_accuracy``, ``<split>_all_tags``, known/unknown per head."""
        out: dict[str, float] = {}
        for h, s in self.heads.items():
            key = f"{split}_" if h == "upos" else f"{split}_{h}_"
            out[f"{key}accuracy"] = s.accuracy
            out[f"{key}known_accuracy"] = s.known_accuracy
            out[f"{key}unknown_accuracy"] = s.unknown_accuracy
        if len(self.heads) > 1:
            out[f"{split}_all_tags"] = self.all_tags
        return out

    def to_dict(self) -> dict[str, Any]:
        extra = (
            {"unseen_bigram_sentences": self.unseen_bigrams,
             "gold_unseen_bigram_sentences": self.gold_unseen_bigrams}
            if self.unseen_bigrams is not None else {}
        )  # fmt: skip
        official = {} if self.conll18 is None else self.conll18.to_dict()
        return {
            "heads": {
                h: {
                    **s.to_dict(),
                    **(
                        {"conll18_accuracy": official[HEAD_NAMES[h]]}
                        if HEAD_NAMES[h] in official
                        else {}
                    ),
                }
                for h, s in self.heads.items()
            },
            **({"all_tags": self.all_tags} if len(self.heads) > 1 else {}),
            **extra,
        }


def evaluate_checkpoint(
    ckpt: Checkpoint, sentences: Sequence[Sentence], train: Sequence[Sentence] | None = None
) -> Evaluation:
    """Score ``ckpt`` on ``sentences``; with the ``train`` sentences, also count the
    sentences whose labels hold a bigram never seen in training (predicted and gold)."""
    encoder = ckpt.encoder()
    words = [s.words for s in sentences]
    pred = predict_labels(ckpt.model(), encoder, words)
    n_train = ckpt.training_words()  # known = a training-set form (not a vectors-only word)
    known = [[i != UNK_ID and i < n_train for i in encoder.word_ids(w)] for w in words]
    heads, gold = {}, {}
    for h, labels in ckpt.labels().items():
        gold[h] = tag_ids(sentences, labels, "eval", h)
        heads[h] = score(labels.items, gold[h], pred[h], known, head=h)
    correct = sum(
        all(gold[h][i][j] == pred[h][i][j] for h in heads)
        for i, s in enumerate(words)
        for j in range(len(s))
    )
    result = Evaluation(heads, pred, correct, sum(len(s) for s in words))
    result.conll18 = conll18_scores(
        {h: [s.labels(h) for s in sentences] for h in heads},
        {
            h: [[labels.items[i] for i in ids] for ids in pred[h]]
            for h, labels in ckpt.labels().items()
        },
    )
    if train is not None:
        seen = {
            h: seen_bigrams(tag_ids(train, labels, "train", h))
            for h, labels in ckpt.labels().items()
        }
        result.unseen_bigrams = {h: unseen_bigram_sentences(pred[h], seen[h]) for h in heads}
        result.gold_unseen_bigrams = {h: unseen_bigram_sentences(gold[h], seen[h]) for h in heads}
    return result
