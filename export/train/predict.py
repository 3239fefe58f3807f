"""Batched inference with the PyTorch model (training's dev evaluation, `postag eval`,
the verification gate's reference)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from postag.batching import MAX_BATCH_TOKENS, run_batched
from postag.contract import CONTRACT, decoded
from postag.export.train.model import TaggerModel
from postag.vocab import EncodedBatch, Encoder


def torch_heads_runner(module: torch.nn.Module, keys: Sequence[str]):  # noqa: ANN201
    """EncodedBatch → {head: log-probs (batch, seq, labels), "upos_path": …} with a torch
    module (eager or scripted) whose outputs are ``keys`` in order (the contract's
    ``output_keys``; a module scripted before the joint tagger returns one tensor: UPOS)."""

    @torch.inference_mode()
    def run(batch: EncodedBatch) -> dict[str, np.ndarray]:
        outs = module(
            torch.from_numpy(batch.word_ids),
            torch.from_numpy(batch.char_ids),
            torch.from_numpy(batch.lengths),
        )
        if isinstance(outs, torch.Tensor):
            outs = [outs]
        return {k: o.numpy() for k, o in zip(keys, outs, strict=True)}

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
    """Per sentence: {head: log-probs (len, labels)}, and a CRF head's path (len,)."""
    was_training = model.training
    model.eval()
    try:
        run = torch_heads_runner(model, model_keys(model))
        return run_batched(run, encoder, sentences, max_tokens)
    finally:
        model.train(was_training)


def predict_labels(
    model: TaggerModel, encoder: Encoder, sentences: Sequence[Sequence[str]]
) -> dict[str, list[list[int]]]:
    """Label ids per head (a CRF head's Viterbi path, else the argmax): {head: one list
    per sentence}."""
    outs = [decoded(o) for o in predict_log_probs(model, encoder, sentences)]
    return {h: [o[h].tolist() for o in outs] for h in model.cfg.heads}


def model_keys(model: TaggerModel) -> list[str]:
    """The keys of the model's outputs, in order (its contract's ``output_keys``)."""
    return CONTRACT.with_heads(model.cfg.heads, model.cfg.crf).output_keys


def predict_tags(
    model: TaggerModel, encoder: Encoder, sentences: Sequence[Sequence[str]]
) -> list[list[int]]:
    """UPOS label ids, one list per sentence."""
    return predict_labels(model, encoder, sentences)["upos"]
