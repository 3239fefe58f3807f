"""Evaluate a checkpoint on gold-tokenized sentences (`postag eval`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from postag.data import Sentence
from postag.vocab import UNK_ID

from .checkpoint import Checkpoint
from .predict import predict_tags
from .scorer import Score, score
from .trainer import tag_ids


@dataclass
class Evaluation(Score):
    predicted: list[list[int]] | None = None


def evaluate_checkpoint(ckpt: Checkpoint, sentences: Sequence[Sentence]) -> Evaluation:
    encoder = ckpt.encoder()
    words = [s.words for s in sentences]
    pred = predict_tags(ckpt.model(), encoder, words)
    gold = tag_ids(sentences, ckpt.tags, "eval")
    known = [[i != UNK_ID for i in encoder.word_ids(w)] for w in words]
    s = score(ckpt.tags.items, gold, pred, known)
    return Evaluation(**s.__dict__, predicted=pred)
