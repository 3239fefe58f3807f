"""Batched inference with the PyTorch model (training's dev evaluation, `postag eval`,
the verification gate's reference)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from postag.batching import MAX_BATCH_TOKENS, run_batched
from postag.vocab import EncodedBatch, Encoder

from .model import TaggerModel


def torch_runner(module: torch.nn.Module):  # noqa: ANN201 - returns a Runner
    """EncodedBatch → log-probs (batch, seq, tags) with a torch module (eager or scripted)."""

    @torch.inference_mode()
    def run(batch: EncodedBatch) -> np.ndarray:
        return module(
            torch.from_numpy(batch.word_ids),
            torch.from_numpy(batch.char_ids),
            torch.from_numpy(batch.lengths),
        ).numpy()

    return run


def predict_log_probs(
    model: TaggerModel,
    encoder: Encoder,
    sentences: Sequence[Sequence[str]],
    max_tokens: int = MAX_BATCH_TOKENS,
) -> list[np.ndarray]:
    was_training = model.training
    model.eval()
    try:
        return run_batched(torch_runner(model), encoder, sentences, max_tokens)
    finally:
        model.train(was_training)


def predict_tags(
    model: TaggerModel, encoder: Encoder, sentences: Sequence[Sequence[str]]
) -> list[list[int]]:
    return [lp.argmax(-1).tolist() for lp in predict_log_probs(model, encoder, sentences)]
