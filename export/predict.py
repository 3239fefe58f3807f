"""Batched inference with the PyTorch model (used by training's dev evaluation,
`postag eval` and the verification gate's reference outputs)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from postag.vocab import Encoder

from .model import TaggerModel


def length_batches(lengths: Sequence[int], max_tokens: int) -> list[list[int]]:
    """Indices grouped into batches of similar length, each ≤ ``max_tokens`` padded tokens."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    cur: list[int] = []
    for i in order:
        if cur and (len(cur) + 1) * lengths[i] > max_tokens:
            batches.append(cur)
            cur = []
        cur.append(i)
    if cur:
        batches.append(cur)
    return batches


@torch.inference_mode()
def predict_log_probs(
    model: TaggerModel,
    encoder: Encoder,
    sentences: Sequence[Sequence[str]],
    max_tokens: int = 4096,
) -> list[np.ndarray]:
    """Per-sentence log-probabilities ``(len, n_tags)`` in input order."""
    was_training = model.training
    model.eval()
    out: list[np.ndarray] = [np.empty(0)] * len(sentences)
    for idx in length_batches([len(s) for s in sentences], max_tokens):
        enc = encoder.encode([sentences[i] for i in idx])
        lp = model(
            torch.from_numpy(enc.word_ids),
            torch.from_numpy(enc.char_ids),
            torch.from_numpy(enc.lengths),
        ).numpy()  # (batch, seq, tags)
        for row, i in enumerate(idx):
            out[i] = lp[row, : len(sentences[i])]
    model.train(was_training)
    return out


def predict_tags(
    model: TaggerModel, encoder: Encoder, sentences: Sequence[Sequence[str]]
) -> list[list[int]]:
    return [lp.argmax(-1).tolist() for lp in predict_log_probs(model, encoder, sentences)]
