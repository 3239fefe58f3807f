"""Training: length-bucketed mini-batches, Adam (or SGD), gradient clipping, word
dropout, early stopping on dev accuracy, the best checkpoint kept.

    postag train                      # default model on EWT → artifacts/checkpoints/default.pt
    postag train --preset seed        # the tutorials' original LSTMTagger, for comparison
"""

from __future__ import annotations

import copy
import math
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from postag.data import Sentence
from postag.errors import CorpusError
from postag.vocab import UNK_ID, Encoder, Vocab, build_vocabs

from .checkpoint import Checkpoint
from .config import ModelConfig, TrainConfig
from .model import TaggerModel
from .predict import predict_tags


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def tag_ids(sentences: Sequence[Sentence], tags: Vocab, split: str) -> list[list[int]]:
    out = []
    for s in sentences:
        try:
            out.append([tags.id(t) for t in s.tags])
        except KeyError as exc:
            raise CorpusError(
                f"{split} sentence {s.sent_id or '?'}: tag {exc} never occurs in training data"
            ) from None
    return out


def accuracy(gold: Sequence[Sequence[int]], pred: Sequence[Sequence[int]]) -> float:
    hits = sum(
        g == p for gs, ps in zip(gold, pred, strict=True) for g, p in zip(gs, ps, strict=True)
    )
    return hits / max(1, sum(len(g) for g in gold))


def bucketed(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Sentences of similar length batched together; fresh buckets and order each epoch."""
    keys = [n + rng.uniform(0, 2) for n in lengths]
    order = sorted(range(len(lengths)), key=keys.__getitem__)
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@dataclass
class EpochLog:
    epoch: int
    loss: float
    dev_accuracy: float
    seconds: float

    def to_dict(self) -> dict[str, float]:
        return {
            "epoch": self.epoch,
            "loss": self.loss,
            "dev_accuracy": self.dev_accuracy,
            "seconds": self.seconds,
        }


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg.lr, fused=True)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.lr)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r} (adam or sgd)")


def word_dropout_probs(words: Vocab, counts: Counter[str], alpha: float) -> torch.Tensor:
    """Word dropout: a word seen c times becomes <unk> with p = alpha / (alpha + c)."""
    p_drop = torch.zeros(len(words))  # (words,)
    if alpha > 0:
        for i, w in enumerate(words.items[2:], start=2):
            p_drop[i] = alpha / (alpha + counts[w])
    return p_drop


def batch_loss(
    model: TaggerModel,
    encoder: Encoder,
    sentences: Sequence[Sequence[str]],
    gold_ids: Sequence[Sequence[int]],
    p_drop: torch.Tensor,
) -> tuple[torch.Tensor, int]:
    """Mean NLL over the real tokens of one batch, and their number."""
    enc = encoder.encode(sentences)
    w = torch.from_numpy(enc.word_ids)  # (batch, seq)
    if bool(p_drop.any()):
        w = w.masked_fill(torch.rand(w.shape) < p_drop[w], UNK_ID)
    gold = torch.full(w.shape, -100, dtype=torch.long)  # (batch, seq); -100 = padding
    for row, ids in enumerate(gold_ids):
        gold[row, : len(ids)] = torch.tensor(ids)
    # Character features once per distinct word type in the batch.
    feats = model.char_features(torch.from_numpy(enc.type_chars))  # (types + 1, c)
    char_feats = feats[torch.from_numpy(enc.type_idx)]  # (batch, seq, c)
    lp = model.tag(w, char_feats, torch.from_numpy(enc.lengths))  # (batch, seq, tags)
    loss = nn.functional.nll_loss(lp.reshape(-1, lp.size(-1)), gold.reshape(-1), ignore_index=-100)
    return loss, int((gold != -100).sum())


def train_epoch(
    model: TaggerModel,
    opt: torch.optim.Optimizer,
    encoder: Encoder,
    train_set: Sequence[Sentence],
    train_tags: Sequence[Sequence[int]],
    p_drop: torch.Tensor,
    cfg: TrainConfig,
    rng: random.Random,
    desc: str = "",
    progress: bool | None = None,
) -> float:
    """One pass over the training set in length buckets; the mean loss per token."""
    model.train()
    total_loss, total_tokens = 0.0, 0
    batches = bucketed([len(s) for s in train_set], cfg.batch_size, rng)
    disable = progress is False if progress is not None else None
    for idx in tqdm(batches, desc=desc, leave=False, disable=disable, unit="batch"):
        loss, n = batch_loss(
            model, encoder, [train_set[i].words for i in idx], [train_tags[i] for i in idx], p_drop
        )
        opt.zero_grad()
        loss.backward()
        if cfg.clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        opt.step()
        total_loss += loss.item() * n
        total_tokens += n
    return total_loss / max(1, total_tokens)


@dataclass
class Progress:
    """The best epoch so far and when to stop."""

    cfg: TrainConfig
    start: float
    best_acc: float = -1.0
    best_epoch: int = 0
    best_state: dict | None = None

    def update(self, model: nn.Module, epoch: int, dev_acc: float) -> bool:
        """Record an epoch; True when it improved on the best dev accuracy."""
        if dev_acc > self.best_acc:
            self.best_acc, self.best_epoch = dev_acc, epoch
            self.best_state = copy.deepcopy(model.state_dict())
            return True
        return False

    def stop_reason(self, epoch: int) -> str | None:
        if epoch - self.best_epoch >= self.cfg.patience:
            return f"early stop: no dev improvement for {self.cfg.patience} epochs"
        elapsed = time.perf_counter() - self.start
        mean_epoch = elapsed / epoch
        if epoch < self.cfg.epochs and elapsed + mean_epoch > 60 * self.cfg.max_minutes:
            return (
                f"stopping: another epoch (~{mean_epoch:.0f}s) would exceed the "
                f"{self.cfg.max_minutes:g} min budget"
            )
        return None


def train(
    train_set: Sequence[Sentence],
    dev_set: Sequence[Sentence],
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    *,
    preset: str = "default",
    corpus: dict | None = None,
    checkpoint_path: str | Path | None = None,
    log: Callable[[str], None] = print,
    progress: bool | None = None,
) -> Checkpoint:
    """Train, keeping the best-on-dev weights; saves after every improvement when a
    ``checkpoint_path`` is given, so an interrupted run still leaves its best model."""
    if not train_set or not dev_set:
        raise CorpusError("training needs a non-empty train and dev set")
    set_seed(train_cfg.seed)
    torch.set_num_threads(train_cfg.threads or os.cpu_count() or 1)
    words, chars, tags, counts = build_vocabs(
        ((s.words, s.tags) for s in train_set), train_cfg.min_freq
    )
    model_cfg = model_cfg.replace(n_words=len(words), n_chars=len(chars), n_tags=len(tags))
    encoder = Encoder(words, chars, model_cfg.max_word_len)
    model = TaggerModel(model_cfg)
    train_tags = tag_ids(train_set, tags, "train")
    dev_tags = tag_ids(dev_set, tags, "dev")
    opt = make_optimizer(model, train_cfg)
    p_drop = word_dropout_probs(words, counts, train_cfg.word_dropout)
    rng = random.Random(train_cfg.seed)
    n_params = count_params(model)
    log(
        f"model: {n_params:,} parameters; vocab words={len(words)} chars={len(chars)} "
        f"tags={len(tags)}; train {len(train_set)} sentences, dev {len(dev_set)}"
    )
    ckpt = Checkpoint(
        model_cfg, train_cfg, words, chars, tags, {}, preset=preset, corpus=corpus or {}
    )
    run = Progress(train_cfg, time.perf_counter())
    history: list[EpochLog] = []
    for epoch in range(1, train_cfg.epochs + 1):
        t0 = time.perf_counter()
        loss = train_epoch(
            model, opt, encoder, train_set, train_tags, p_drop, train_cfg, rng,
            f"epoch {epoch}", progress,
        )  # fmt: skip
        dev_acc = accuracy(dev_tags, predict_tags(model, encoder, [s.words for s in dev_set]))
        history.append(EpochLog(epoch, loss, dev_acc, time.perf_counter() - t0))
        improved = run.update(model, epoch, dev_acc)
        if not improved and train_cfg.lr_decay != 1.0:
            for group in opt.param_groups:
                group["lr"] *= train_cfg.lr_decay
        log(
            f"epoch {epoch:>2}  loss {loss:.4f}  dev {100 * dev_acc:6.2f}%  "
            f"{history[-1].seconds:5.1f}s{'  *best' if improved else ''}"
        )
        ckpt.state_dict = run.best_state or {}
        ckpt.history = [h.to_dict() for h in history]
        ckpt.metrics = {
            "dev_accuracy": run.best_acc,
            "best_epoch": run.best_epoch,
            "epochs_run": epoch,
            "train_seconds": time.perf_counter() - run.start,
            "parameters": n_params,
        }
        if improved and checkpoint_path:
            ckpt.save(checkpoint_path)
        if not math.isfinite(loss):
            raise RuntimeError(f"training diverged at epoch {epoch} (loss {loss})")
        if reason := run.stop_reason(epoch):
            log(reason)
            break
    if checkpoint_path:
        ckpt.save(checkpoint_path)  # final metrics/history, best weights
    return ckpt


def plot_history(history: Sequence[dict], path: str | Path, title: str = "") -> None:
    """Training curve: train loss and dev accuracy per epoch, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, ax1 = plt.subplots(figsize=(7, 4))
    ax1.plot(epochs, [h["loss"] for h in history], "o-", color="tab:red", label="train loss")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("train loss (NLL / token)", color="tab:red")
    ax2 = ax1.twinx()
    ax2.plot(
        epochs,
        [100 * h["dev_accuracy"] for h in history],
        "s-",
        color="tab:blue",
        label="dev accuracy",
    )
    ax2.set_ylabel("dev UPOS accuracy (%)", color="tab:blue")
    ax1.set_title(title or "training curve")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
