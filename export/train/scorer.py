"""Scoring, per head (UPOS, XPOS, UFeats): accuracy, known/unknown-word accuracy, per-label
P/R/F1, confusion matrix; and AllTags (every head right) for the joint tagger. UFeats
labels are whole FEATS strings, as the head predicts them.

Also the tagging metrics of the CoNLL 2018 shared task (:func:`conll18_scores`), which
agree with its evaluation script ``conll18_ud_eval.py`` on gold tokenization: UPOS and
XPOS as above, but UFeats (and so AllTags) compare universal features only.

A word is *known* when its normalised form is in the model's word table (i.e. it does
not map to ``<unk>``); with the default ``min_freq = 1`` that is every word form seen in
training.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from postag.contract import HEAD_NAMES

#: A gold label the model's label list lacks (a FEATS combination unseen in training).
UNSEEN = "<unseen>"


def seen_bigrams(sequences: Sequence[Sequence[int]]) -> set[tuple[int, int]]:
    """Every adjacent label pair in ``sequences`` (label ids, one list per sentence)."""
    return {(a, b) for seq in sequences for a, b in zip(seq, seq[1:], strict=False)}


def unseen_bigram_sentences(sequences: Sequence[Sequence[int]], seen: set[tuple[int, int]]) -> int:
    """How many sentences contain an adjacent label pair that is not in ``seen`` (pairs
    of the training data): sequences no tagger trained on that data would output."""
    return sum(
        any((a, b) not in seen for a, b in zip(seq, seq[1:], strict=False)) for seq in sequences
    )


@dataclass
class Score:
    tags: list[str]
    confusion: np.ndarray  # (gold, predicted) counts
    known_total: int
    known_correct: int
    unknown_total: int
    unknown_correct: int
    head: str = "upos"

    @property
    def total(self) -> int:
        return int(self.confusion.sum())

    @property
    def accuracy(self) -> float:
        return float(np.trace(self.confusion) / max(1, self.total))

    @property
    def known_accuracy(self) -> float:
        return self.known_correct / max(1, self.known_total)

    @property
    def unknown_accuracy(self) -> float:
        return self.unknown_correct / max(1, self.unknown_total)

    def per_tag(self) -> dict[str, dict[str, float]]:
        out = {}
        for i, tag in enumerate(self.tags):
            tp = float(self.confusion[i, i])
            pred = float(self.confusion[:, i].sum())
            gold = float(self.confusion[i, :].sum())
            p = tp / pred if pred else 0.0
            r = tp / gold if gold else 0.0
            f = 2 * p * r / (p + r) if p + r else 0.0
            out[tag] = {"precision": p, "recall": r, "f1": f, "support": int(gold)}
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "tokens": self.total,
            "accuracy": self.accuracy,
            "known": {"tokens": self.known_total, "accuracy": self.known_accuracy},
            "unknown": {"tokens": self.unknown_total, "accuracy": self.unknown_accuracy},
            "per_tag": self.per_tag(),
            "confusion": {"labels": self.tags, "matrix": self.confusion.tolist()},
        }

    def table(self) -> str:
        lines = [
            f"{HEAD_NAMES[self.head]} accuracy  {100 * self.accuracy:6.2f}%  ({self.total} tokens)",
            f"  known words  {100 * self.known_accuracy:6.2f}%  ({self.known_total})",
            f"unknown words  {100 * self.unknown_accuracy:6.2f}%  ({self.unknown_total})",
            "",
            f"{'label':<{self._w}} {'prec':>6} {'rec':>6} {'F1':>6} {'support':>8}",
        ]
        for tag, m in self.per_tag().items():
            lines.append(
                f"{tag:<{self._w}} {100 * m['precision']:6.2f} {100 * m['recall']:6.2f} "
                f"{100 * m['f1']:6.2f} {m['support']:>8}"
            )
        lines += ["", "confusion (rows gold, columns predicted):", self.confusion_table()]
        return "\n".join(lines)

    @property
    def _w(self) -> int:  # width of the label column
        return max(6, *(len(t) for t in self.tags)) if self.tags else 6

    def confusion_table(self) -> str:
        w = max(5, len(str(int(self.confusion.max(initial=0)))) + 1)
        head = " " * self._w + "".join(f"{t[: w - 1]:>{w}}" for t in self.tags)
        rows = [
            f"{t:<{self._w}}" + "".join(f"{int(v):>{w}}" for v in self.confusion[i])
            for i, t in enumerate(self.tags)
        ]
        return "\n".join([head, *rows])

    def plot_confusion(self, path: str | Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        # Row-normalised so rare tags are visible; counts annotate off-diagonal errors.
        norm = self.confusion / np.maximum(1, self.confusion.sum(1, keepdims=True))
        fig, ax = plt.subplots(figsize=(9, 8))
        im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
        ax.set_xticks(range(len(self.tags)), self.tags, rotation=90)
        ax.set_yticks(range(len(self.tags)), self.tags)
        ax.set_xlabel("predicted")
        ax.set_ylabel("gold")
        for i in range(len(self.tags)):
            for j in range(len(self.tags)):
                if i != j and self.confusion[i, j] >= 5:
                    ax.text(j, i, int(self.confusion[i, j]), ha="center", va="center", fontsize=6)
        name = HEAD_NAMES[self.head]
        ax.set_title(f"{name} confusion (row-normalised), accuracy {100 * self.accuracy:.2f}%")
        fig.colorbar(im, ax=ax, fraction=0.046)
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        plt.close(fig)


def score(
    tags: Sequence[str],
    gold: Sequence[Sequence[int]],
    pred: Sequence[Sequence[int]],
    known: Sequence[Sequence[bool]],
    head: str = "upos",
) -> Score:
    """Score predicted label ids against gold ones; ``known`` flags each word. A negative
    gold id is a label the model cannot predict: it counts as an error, in an
    :data:`UNSEEN` row of the confusion matrix."""
    tags = list(tags)
    if any(g < 0 for gs in gold for g in gs):
        tags.append(UNSEEN)
        gold = [[g if g >= 0 else len(tags) - 1 for g in gs] for gs in gold]
    n = len(tags)
    conf = np.zeros((n, n), dtype=np.int64)
    kt = kc = ut = uc = 0
    for g_s, p_s, k_s in zip(gold, pred, known, strict=True):
        if not (len(g_s) == len(p_s) == len(k_s)):
            raise ValueError("gold, predicted and known sequences differ in length")
        for g, p, k in zip(g_s, p_s, k_s, strict=True):
            conf[g, p] += 1
            if k:
                kt += 1
                kc += g == p
            else:
                ut += 1
                uc += g == p
    return Score(tags, conf, kt, kc, ut, uc, head)


#: The universal features of UD v2 as the CoNLL 2018 shared task scores them (the 21 of
#: the UD guidelines of its time, https://universaldependencies.org/u/feat/index.html):
#: lexical, then nominal, then verbal inflection. Features added to the guidelines since
#: (``Typo``, ``ExtPos``, ``NounClass``, ``Deixis``, ``DeixisRef``, ``Clusivity``),
#: language-specific ones (English ``NumForm``, ``Style``) and layered ones
#: (``Number[psor]``) are not among them.
UNIVERSAL_FEATURES = frozenset(
    {"PronType", "NumType", "Poss", "Reflex", "Foreign", "Abbr",
     "Gender", "Animacy", "Number", "Case", "Definite", "Degree",
     "VerbForm", "Mood", "Tense", "Aspect", "Voice", "Evident", "Polarity", "Person", "Polite"}
)  # fmt: skip

#: The CoNLL 2018 tagging metrics, each with the heads a word must have right.
CONLL18_METRICS = {
    "UPOS": ("upos",),
    "XPOS": ("xpos",),
    "UFeats": ("feats",),
    "AllTags": ("upos", "xpos", "feats"),
}


def universal_feats(feats: str) -> str:
    """A FEATS string as the CoNLL 2018 evaluation compares it: its ``Feature=Value``
    pairs whose feature is in :data:`UNIVERSAL_FEATURES`, sorted, ``|``-joined; ``""``
    when none is left (``_``, or language-specific features only)."""
    pairs = (p for p in feats.split("|") if p.split("=", 1)[0] in UNIVERSAL_FEATURES)
    return "|".join(sorted(pairs))


def conll18_key(head: str, label: str) -> str:
    """What the CoNLL 2018 evaluation compares of one head's label: the label itself,
    and for UFeats its universal features (:func:`universal_feats`)."""
    return universal_feats(label) if head == "feats" else label


@dataclass
class Conll18:
    """The tagging metrics of the CoNLL 2018 shared task's evaluation script
    (``conll18_ud_eval.py``: UPOS, XPOS, UFeats, AllTags) on gold tokenization, where
    every gold word aligns with the system word of the same position, so precision,
    recall, F1 and aligned accuracy all equal ``correct / words``. UFeats compares
    universal features only (:func:`universal_feats`); AllTags = UPOS, XPOS and those
    universal features all right. A metric is measured only when the model predicts
    every head it compares (the other columns of ``--conllu-out`` are gold)."""

    words: int
    correct: dict[str, int]  # per measured metric, in CONLL18_METRICS order

    def accuracy(self, metric: str) -> float:
        return self.correct[metric] / max(1, self.words)

    def to_dict(self) -> dict[str, Any]:
        return {"words": self.words, **{m: self.accuracy(m) for m in self.correct}}

    def line(self) -> str:
        return "   ".join(f"{m} {100 * self.accuracy(m):6.2f}%" for m in self.correct)


def conll18_scores(
    gold: Mapping[str, Sequence[Sequence[str]]], pred: Mapping[str, Sequence[Sequence[str]]]
) -> Conll18:
    """The CoNLL 2018 tagging metrics of predicted labels (strings, as ``--conllu-out``
    writes them) against gold ones: ``{head: one label list per sentence}``, the heads of
    ``pred`` (``gold`` may hold more)."""
    heads = list(pred)
    metrics = {m: hs for m, hs in CONLL18_METRICS.items() if all(h in pred for h in hs)}
    if any(len(gold[h]) != len(pred[h]) for h in heads):
        raise ValueError("gold and predicted labels differ in their number of sentences")
    correct = dict.fromkeys(metrics, 0)
    words = 0
    for k in range(len(pred[heads[0]])):
        n = len(gold[heads[0]][k])
        if any(len(gold[h][k]) != n or len(pred[h][k]) != n for h in heads):
            raise ValueError(f"sentence {k}: gold and predicted label lists differ in length")
        for j in range(n):
            right = {
                h: conll18_key(h, gold[h][k][j]) == conll18_key(h, pred[h][k][j]) for h in heads
            }
            for m, hs in metrics.items():
                correct[m] += all(right[h] for h in hs)
        words += n
    return Conll18(words, correct)
