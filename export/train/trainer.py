"""Training: length-bucketed mini-batches, Adam (or SGD), gradient clipping, word
dropout, early stopping on dev accuracy, the best checkpoint kept.

    postag train                      # default model on EWT → artifacts/checkpoints/default.pt
    postag train --preset seed        # the tutorials' original LSTMTagger, for comparison
    postag train --vectors glove-6b-50d  # + pretrained word vectors (export/train/vectors.py)
"""

from __future__ import annotations

import copy
import math
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from postag.data import Sentence
from postag.errors import ConfigError, CorpusError
from postag.export.train.checkpoint import Checkpoint
from postag.export.train.config import ModelConfig, TrainConfig
from postag.export.train.crf import CRF
from postag.export.train.distill import SoftTargets, teacher_targets
from postag.export.train.model import TaggerModel, WordVectors
from postag.export.train.predict import predict_labels
from postag.export.train.vectors import bake_state, extend_words, load_vectors, vector_table
from postag.vocab import UNK_ID, Encoder, Vocab, build_vocabs


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def tag_ids(
    sentences: Sequence[Sentence], tags: Vocab, split: str, head: str = "upos"
) -> list[list[int]]:
    """Gold label ids of one head; a label the head never saw in training is an error for
    UPOS and XPOS (closed tag sets) and ``-100`` (ignored, always wrong) for UFeats, whose
    whole-string labels can be new combinations."""
    out = []
    for s in sentences:
        labels = s.labels(head)
        if len(labels) != len(s.words):
            raise CorpusError(f"{split} sentence {s.sent_id or '?'}: no gold {head.upper()}")
        try:
            out.append([tags.index.get(t, -100) if head == "feats" else tags.id(t) for t in labels])
        except KeyError as exc:
            raise CorpusError(
                f"{split} sentence {s.sent_id or '?'}: {head.upper()} tag {exc} never occurs "
                "in training data"
            ) from None
    return out


def label_vocab(sentences: Sequence[Sentence], head: str) -> Vocab:
    """A head's label list from the training data (sorted; no specials)."""
    return Vocab(sorted({t for s in sentences for t in s.labels(head)}), specials=False)


def mean_accuracy(gold: dict[str, list[list[int]]], pred: dict[str, list[list[int]]]) -> float:
    """The dev score training selects on: the mean of the heads' accuracies."""
    return sum(accuracy(gold[h], pred[h]) for h in gold) / len(gold)


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
    dev_accuracy: float  # the selection score: mean over heads
    seconds: float
    dev_heads: dict[str, float] | None = None  # accuracy per head

    def to_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "loss": self.loss,
            "dev_accuracy": self.dev_accuracy,
            "seconds": self.seconds,
            **({"dev_heads": self.dev_heads} if self.dev_heads else {}),
        }


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(
            model.parameters(), lr=cfg.lr, betas=(0.9, cfg.adam_beta2), fused=True
        )
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
    gold_ids: dict[str, Sequence[Sequence[int]]],
    p_drop: torch.Tensor,
    weights: dict[str, float],
    soft: dict[str, Sequence[np.ndarray]] | None = None,
    distill_weight: float = 0.0,
) -> tuple[torch.Tensor, int]:
    """Weighted sum over heads of the mean NLL over real tokens of one batch, and the
    number of real tokens. With ``soft`` (per head, each sentence's teacher distribution
    (len, labels): distill.py), a head's loss is ``(1 - distill_weight) * NLL +
    distill_weight * CE(soft, model)``."""
    enc = encoder.encode(sentences)
    w = torch.from_numpy(enc.word_ids)  # (batch, seq)
    if bool(p_drop.any()):
        w = w.masked_fill(torch.rand(w.shape) < p_drop[w], UNK_ID)
    # Character features once per distinct word type in the batch.
    feats = model.char_features(torch.from_numpy(enc.type_chars))  # (types + 1, c)
    char_feats = feats[torch.from_numpy(enc.type_idx)]  # (batch, seq, c)
    lengths = torch.from_numpy(enc.lengths)  # (batch,)
    ems = model.emissions(w, char_feats, lengths)  # per head (batch, seq, labels)
    loss = torch.zeros(())
    n = int(enc.lengths.sum())
    for head, em, decoder in zip(model.cfg.heads, ems, model.decoders, strict=True):
        gold = torch.full(w.shape, -100, dtype=torch.long)  # (batch, seq); -100 = ignored
        for row, ids in enumerate(gold_ids[head]):
            gold[row, : len(ids)] = torch.tensor(ids)
        if isinstance(decoder, CRF):  # sentence NLL, summed, per token like the others
            nll = decoder.nll(em, gold, lengths).sum() / n
        else:
            lp = torch.log_softmax(em, dim=-1)  # (batch, seq, labels)
            nll = nn.functional.nll_loss(lp.reshape(-1, lp.size(-1)), gold.reshape(-1))
            if soft is not None:
                q = torch.zeros_like(lp)  # (batch, seq, labels); padding rows stay 0
                for row, target in enumerate(soft[head]):
                    q[row, : len(target)] = torch.from_numpy(target)
                ce = -(q * lp).sum() / n
                nll = (1 - distill_weight) * nll + distill_weight * ce
        loss = loss + weights[head] * nll
    return loss, n


def train_epoch(
    model: TaggerModel,
    opt: torch.optim.Optimizer,
    encoder: Encoder,
    train_set: Sequence[Sentence],
    train_ids: dict[str, list[list[int]]],
    p_drop: torch.Tensor,
    cfg: TrainConfig,
    rng: random.Random,
    desc: str = "",
    progress: bool | None = None,
    soft: SoftTargets | None = None,
) -> float:
    """One pass over the training set in length buckets; the mean loss per token."""
    model.train()
    total_loss, total_tokens = 0.0, 0
    batches = bucketed([len(s) for s in train_set], cfg.batch_size, rng)
    disable = progress is False if progress is not None else None
    weights = {"upos": 1.0, "xpos": cfg.xpos_weight, "feats": cfg.feats_weight}
    for idx in tqdm(batches, desc=desc, leave=False, disable=disable, unit="batch"):
        gold = {h: [ids[i] for i in idx] for h, ids in train_ids.items()}
        sents = [train_set[i].words for i in idx]
        batch_soft = {h: [soft[i][h] for i in idx] for h in train_ids} if soft else None
        loss, n = batch_loss(
            model, encoder, sents, gold, p_drop, weights, batch_soft, cfg.distill_weight
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
    best_heads: dict[str, float] = field(default_factory=dict)  # dev accuracy per head

    def update(self, model: nn.Module, epoch: int, dev_heads: dict[str, float]) -> bool:
        """Record an epoch's dev accuracy per head; True when their mean (the selection
        score) improved on the best."""
        dev_acc = sum(dev_heads.values()) / len(dev_heads)
        if dev_acc > self.best_acc:
            self.best_acc, self.best_epoch, self.best_heads = dev_acc, epoch, dev_heads
            self.best_state = copy.deepcopy(model.state_dict())
            return True
        return False

    def metrics(self, epoch: int, stopped_by: str, parameters: int) -> dict[str, Any]:
        """The checkpoint's metrics after ``epoch``: the best epoch's dev accuracy per
        head (``dev_accuracy`` is UPOS's), the budget and what stopped training."""
        heads = self.best_heads
        return {
            "dev_accuracy": heads["upos"],
            **{f"dev_{h}_accuracy": a for h, a in heads.items() if h != "upos"},
            "dev_score": self.best_acc,
            "best_epoch": self.best_epoch,
            "epochs_run": epoch,
            "epochs_budget": self.cfg.epochs,
            "stopped_by": stopped_by,
            "train_seconds": time.perf_counter() - self.start,
            "parameters": parameters,
        }

    def stop_reason(self, epoch: int) -> tuple[str, str] | None:
        """(``stopped_by``, message) when training should stop after ``epoch``:
        ``early_stop`` (patience), or ``time_cap`` (the wall-clock safety cap)."""
        if epoch - self.best_epoch >= self.cfg.patience:
            return "early_stop", f"early stop: no dev improvement for {self.cfg.patience} epochs"
        elapsed = time.perf_counter() - self.start
        mean_epoch = elapsed / epoch
        if epoch < self.cfg.epochs and elapsed + mean_epoch > 60 * self.cfg.max_minutes:
            return "time_cap", (
                f"stopping at epoch {epoch} of {self.cfg.epochs}: another epoch (~"
                f"{mean_epoch:.0f}s) would pass the {self.cfg.max_minutes:g} min safety cap "
                "(the model now depends on this machine's speed; recorded as stopped_by)"
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
    with deterministic():
        return _train(
            train_set, dev_set, model_cfg, train_cfg, preset, corpus, checkpoint_path, log, progress
        )


@contextmanager
def deterministic() -> Iterator[None]:
    """Deterministic kernels while training: without them two runs with 2 threads
    differed by ~3e-6 in the weights after one epoch (measured on EWT), enough to change
    dev accuracy by epoch 2. The previous setting is restored afterwards."""
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before)


def sized(cfg: ModelConfig, words: Vocab, chars: Vocab, labels: dict[str, Vocab]) -> ModelConfig:
    """``cfg`` with the vocabulary and label-set sizes of the training data."""
    return cfg.replace(
        n_words=len(words),
        n_chars=len(chars),
        n_tags=len(labels["upos"]),
        n_xpos=len(labels["xpos"]) if "xpos" in labels else 0,
        n_feats=len(labels["feats"]) if "feats" in labels else 0,
    )


def _train(
    train_set: Sequence[Sentence],
    dev_set: Sequence[Sentence],
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    preset: str,
    corpus: dict | None,
    checkpoint_path: str | Path | None,
    log: Callable[[str], None],
    progress: bool | None,
) -> Checkpoint:
    if model_cfg.vectors_baked:
        raise ConfigError("vectors_baked is a trained model's record, not a training option")
    set_seed(train_cfg.seed)
    torch.set_num_threads(train_cfg.threads or os.cpu_count() or 1)
    words, chars, tags, counts = build_vocabs(
        ((s.words, s.tags) for s in train_set), train_cfg.min_freq
    )
    labels = {h: tags if h == "upos" else label_vocab(train_set, h) for h in model_cfg.heads}
    table = None
    if model_cfg.vectors:  # the word table grows by the vector words training lacks
        vectors = load_vectors(model_cfg.vectors, model_cfg.vectors_top)
        n_train_words, words = len(words), extend_words(words, vectors)
        table = torch.from_numpy(vector_table(words, vectors))  # (n_words, vectors_dim)
        model_cfg = model_cfg.replace(n_train_words=n_train_words, vectors_dim=vectors.dim)
        log(
            f"vectors {model_cfg.vectors} ({vectors.dim}d, top {len(vectors.words):,} words, "
            f"{model_cfg.vectors_mode}, {model_cfg.vectors_combine}): word table "
            f"{n_train_words:,} training forms + {len(words) - n_train_words:,} vector words"
        )
    model_cfg = sized(model_cfg, words, chars, labels)
    encoder = Encoder(words, chars, model_cfg.max_word_len)
    model = TaggerModel(model_cfg)
    train_ids = {h: tag_ids(train_set, v, "train", h) for h, v in labels.items()}
    dev_ids = {h: tag_ids(dev_set, v, "dev", h) for h, v in labels.items()}
    opt = make_optimizer(model, train_cfg)
    p_drop = word_dropout_probs(words, counts, train_cfg.word_dropout)
    if isinstance(model.word_emb, WordVectors) and table is not None:
        model.word_emb.set_vectors(table)
        # word dropout drops the trained embedding only (the word keeps its vector)
        model.word_emb.p_drop = p_drop
        p_drop = torch.zeros(len(words))
    soft = None
    if train_cfg.distill_from:
        if model_cfg.crf:
            raise ConfigError("distillation does not support CRF heads (--crf)")
        forms = words.items[: model_cfg.n_train_words or len(words)]
        soft = teacher_targets(train_cfg.distill_from, train_set, labels, forms)
        log(
            f"distilling from {len(train_cfg.distill_from)} teacher(s), weight "
            f"{train_cfg.distill_weight:g}: {', '.join(train_cfg.distill_from)}"
        )
    rng = random.Random(train_cfg.seed)
    n_params = count_params(model)
    log(
        f"model: {n_params:,} parameters; vocab words={len(words)} chars={len(chars)}; "
        + ", ".join(f"{h}={len(v)} labels" for h, v in labels.items())
        + f"; train {len(train_set)} sentences, dev {len(dev_set)}"
    )
    ckpt = Checkpoint(
        model_cfg, train_cfg, words, chars, tags, {}, preset=preset, corpus=corpus or {},
        xpos=labels.get("xpos"), feats=labels.get("feats"),
    )  # fmt: skip
    run = Progress(train_cfg, time.perf_counter())
    history: list[EpochLog] = []
    stopped_by = "epochs"
    for epoch in range(1, train_cfg.epochs + 1):
        t0 = time.perf_counter()
        loss = train_epoch(
            model, opt, encoder, train_set, train_ids, p_drop, train_cfg, rng,
            f"epoch {epoch}", progress, soft,
        )  # fmt: skip
        pred = predict_labels(model, encoder, [s.words for s in dev_set])
        per_head = {h: accuracy(dev_ids[h], pred[h]) for h in labels}
        dev_score = sum(per_head.values()) / len(per_head)
        history.append(EpochLog(epoch, loss, dev_score, time.perf_counter() - t0, per_head))
        improved = run.update(model, epoch, per_head)
        if not improved and train_cfg.lr_decay != 1.0:
            for group in opt.param_groups:
                group["lr"] *= train_cfg.lr_decay
        heads_txt = "  ".join(f"{h} {100 * a:6.2f}%" for h, a in per_head.items())
        log(
            f"epoch {epoch:>2}  loss {loss:.4f}  dev {heads_txt}  "
            f"{history[-1].seconds:5.1f}s{'  *best' if improved else ''}"
        )
        if improved:  # the checkpoint holds the plain model (vectors baked in)
            ckpt.model_config, ckpt.state_dict = bake_state(model_cfg, run.best_state or {})
        ckpt.history = [h.to_dict() for h in history]
        ckpt.metrics = run.metrics(epoch, stopped_by, n_params)
        if improved and checkpoint_path:
            ckpt.save(checkpoint_path)
        if not math.isfinite(loss):
            raise RuntimeError(f"training diverged at epoch {epoch} (loss {loss})")
        if stop := run.stop_reason(epoch):
            stopped_by, message = stop
            ckpt.metrics["stopped_by"] = stopped_by
            log(message)
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
