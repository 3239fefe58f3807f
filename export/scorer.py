"""Scoring, per head (UPOS, XPOS, UFeats): accuracy, known/unknown-word accuracy, per-label
P/R/F1, confusion matrix; and AllTags (every head right) for the joint tagger.

A word is *known* when its normalised form is in the model's word table (i.e. it does
not map to ``<unk>``); with the default ``min_freq = 1`` that is every word form seen in
training.
"""

from __future__ import annotations

from collections.abc import Sequence
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
