"""Distillation: several trained taggers (an ensemble of seeds) taught to one model, so the
runtime still runs a single network.

    postag train --seed 1 --out s1.pt; postag train --seed 2 --out s2.pt; ...
    postag train --distill-from s1.pt,s2.pt,s3.pt --distill-weight 0.5 --out student.pt

The teachers tag the training set once, before the first epoch; their label distributions
are averaged per word and head (the ensemble's prediction), and each head's loss becomes
``(1 - w) * NLL(gold) + w * CE(ensemble, model)`` (``TrainConfig.distill_weight`` = w;
cross-entropy against the soft targets, i.e. KL up to a constant). Teachers must tag with
the same label lists as the model being trained (the same training data gives them);
heads decoded by a CRF are refused (their sequence loss has no per-word target).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from postag.data import Sentence
from postag.errors import ConfigError
from postag.export.train.checkpoint import Checkpoint
from postag.export.train.predict import predict_log_probs
from postag.vocab import Vocab

#: Per training sentence: {head: the teachers' mean probabilities (words, labels) float32}.
SoftTargets = list[dict[str, np.ndarray]]


def teacher_targets(
    paths: Sequence[str],
    sentences: Sequence[Sentence],
    labels: dict[str, Vocab],
    training_forms: Sequence[str] | None = None,
) -> SoftTargets:
    """The ensemble's label distributions on ``sentences`` (the mean over ``paths``), for
    each head in ``labels`` (the model-to-be's label lists, which every teacher must share;
    with ``training_forms``, the model-to-be's training-form word table, which every teacher
    must share too: the same training data and ``--min-freq``). Torch's random state is
    left as it was, so distilling does not shift the student's dropout masks."""
    if not paths:
        raise ConfigError("distillation needs at least one teacher checkpoint")
    if len(set(paths)) != len(paths):
        raise ConfigError(f"a teacher is listed twice: {list(paths)}")
    words = [s.words for s in sentences]
    total: SoftTargets | None = None
    with torch.random.fork_rng(devices=[]):  # building a teacher draws initial weights
        for path in paths:
            ckpt = Checkpoint.load(path)
            check_teacher(path, ckpt, labels, training_forms)
            outs = predict_log_probs(ckpt.model(), ckpt.encoder(), words)
            if total is None:
                total = [{h: np.exp(o[h]) for h in labels} for o in outs]
                continue
            for acc, o in zip(total, outs, strict=True):
                for h in labels:
                    acc[h] += np.exp(o[h])
            del outs
    assert total is not None
    for acc in total:
        for h in labels:
            acc[h] /= len(paths)  # (words, labels), each row sums to 1
    return total


def check_teacher(
    path: str, ckpt: Checkpoint, labels: dict[str, Vocab], training_forms: Sequence[str] | None
) -> None:
    """A teacher tags with the model-to-be's label lists, per word (no CRF), and was
    trained on the same training forms."""
    theirs = ckpt.labels()
    for head, vocab in labels.items():
        if head not in theirs or theirs[head].items != vocab.items:
            raise ConfigError(
                f"teacher {path}: its {head.upper()} labels differ from the model's "
                "(teachers must be trained on the same training data)"
            )
        if head in ckpt.model_config.crf:
            raise ConfigError(f"teacher {path}: {head.upper()} is decoded by a CRF")
    if training_forms is not None:
        if ckpt.words.items[: ckpt.training_words()] != list(training_forms):
            raise ConfigError(
                f"teacher {path}: its training forms differ from the model's (teachers must "
                "be trained on the same training data with the same --min-freq)"
            )
