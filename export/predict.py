"""Batched inference with the PyTorch model (training's dev evaluation, `postag eval`,
the verification gate's reference)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from postag.batching import MAX_BATCH_TOKENS, run_batched
from postag.vocab import EncodedBatch, Encoder

from .model import TaggerModel


def torch_heads_runner(module: torch.nn.Module, heads: Sequence[str]):  # noqa: ANN201
    """EncodedBatch → {head: log-probs (batch, seq, labels)} with a torch module (eager or
    scripted) whose outputs are the heads in ``heads`` order (a module scripted before
    the joint tagger returns one tensor: UPOS)."""

    @torch.inference_mode()
    def run(batch: EncodedBatch) -> dict[str, np.ndarray]:
        outs = module(
            torch.from_numpy(batch.word_ids),
            torch.from_numpy(batch.char_ids),
            torch.from_numpy(batch.lengths),
        )
        if isinstance(outs, torch.Tensor):
            outs = [outs]
        return {h: o.numpy() for h, o in zip(heads, outs, strict=True)}

    return run


def as_heads(
    out: np.ndarray | dict[str, np.ndarray], heads: Sequence[str]
) -> dict[str, np.ndarray]:
    """A runner's output as ``{head: log-probs}`` (a bare array is a one-head model's)."""
    return out if isinstance(out, dict) else {heads[0]: out}


def predict_log_probs(
    model: TaggerModel,
    encoder: Encoder,
    sentences: Sequence[Sequence[str]],
    max_tokens: int = MAX_BATCH_TOKENS,
) -> list[dict[str, np.ndarray]]:
    """Per sentence: {head: log-probs (len, labels)}."""
    was_training = model.training
    model.eval()
    try:
        run = torch_heads_runner(model, model.cfg.heads)
        return run_batched(run, encoder, sentences, max_tokens)
    finally:
        model.train(was_training)


def predict_labels(
    model: TaggerModel, encoder: Encoder, sentences: Sequence[Sequence[str]]
) -> dict[str, list[list[int]]]:
    """Argmax label ids per head: {head: one list per sentence}."""
    lps = predict_log_probs(model, encoder, sentences)
    return {h: [lp[h].argmax(-1).tolist() for lp in lps] for h in model.cfg.heads}


def predict_tags(
    model: TaggerModel, encoder: Encoder, sentences: Sequence[Sequence[str]]
) -> list[list[int]]:
    """UPOS label ids, one list per sentence."""
    return predict_labels(model, encoder, sentences)["upos"]
