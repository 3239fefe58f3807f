"""Length-bucketed batched inference, shared by every backend (PyTorch, ONNX, ...)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .vocab import EncodedBatch, Encoder


def length_batches(lengths: Sequence[int], max_tokens: int) -> list[list[int]]:
    """Indices grouped by similar length; each batch holds ≤ ``max_tokens`` padded tokens
    (a single sentence longer than the budget gets a batch of its own)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    cur: list[int] = []
    for i in order:  # ascending length: the newest sentence sets the padded width
        if cur and (len(cur) + 1) * lengths[i] > max_tokens:
            batches.append(cur)
            cur = []
        cur.append(i)
    if cur:
        batches.append(cur)
    return batches


def run_batched(
    run: Callable[[EncodedBatch], np.ndarray],
    encoder: Encoder,
    sentences: Sequence[Sequence[str]],
    max_tokens: int = 4096,
) -> list[np.ndarray]:
    """Per-sentence log-probabilities ``(len, tags)``, in input order."""
    out: list[np.ndarray] = [np.empty(0)] * len(sentences)
    for idx in length_batches([len(s) for s in sentences], max_tokens):
        lp = run(encoder.encode([sentences[i] for i in idx]))  # (batch, seq, tags)
        for row, i in enumerate(idx):
            out[i] = lp[row, : len(sentences[i])]
    return out
