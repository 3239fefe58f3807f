"""Training the segmenter on a UD treebank: random-offset windows of the training text,
cross-entropy on every character, early stopping on dev Tokens + Sentences F1 measured
exactly as the runtime segments (:func:`postag.segmentation.label_text` over bounded
windows, then :func:`~postag.segmentation.decode`) and scored by :mod:`postag.conll18`.

    python -m postag.export.segment train ../shared/data/ud-english-ewt \\
        --out artifacts/segmenter/en-ewt.pt --epochs 25 --threads 1
    python -m postag.export.segment train ../shared/data/ud-french-sequoia \\
        --out artifacts/segmenter/fr-sequoia.pt --epochs 60 --patience 12 --threads 1

    from postag.export.segment.trainer import train_segmenter, load_segmenter
    metrics = train_segmenter("../shared/data/ud-english-ewt", SegmenterConfig(), "en-ewt.pt")
    model, cfg, table, lexicon, metrics = load_segmenter("en-ewt.pt")

**Data.** ``*-ud-train.conllu`` and ``*-ud-dev.conllu`` of a treebank directory (or the
two files), each read by :func:`postag.export.segment.data.read_document`: the raw text
exactly as :func:`postag.conll18.raw_text` gives it, one label per character. The
character table is built from the training text (``min_char_count``); the multiword
lexicon (:class:`postag.mwt.MwtLexicon`) is learned from the training file and stored
with the model, so dev Words F1 is what the runtime would get (multiword tokens expanded
by the lexicon).

**One epoch** is every training character once: the text is cut into windows of
``size`` characters from a fresh random offset (so window edges fall elsewhere each
epoch), shuffled, ``batch_size`` windows a batch, the last batch's shorter windows
padded (padding is ignored by the loss and, by construction, by the model).

**Selection.** After each epoch the dev text is segmented and scored (Tokens, Sentences
and Words F1 of :func:`postag.conll18.evaluate`); the best Tokens F1 + Sentences F1 is
kept, and the checkpoint is written after each improvement (atomically), so an
interrupted run still leaves its best model. Reproducible: seeded Python and torch RNGs,
deterministic algorithms, a fixed thread count (``SegmenterConfig.threads``).

**Measured** (the defaults: 2 x 64 BiLSTM over 32-d characters + 4 features, 155k
parameters, windows of 256 / context 32, batch 16; 1 thread on the shared 2-core
machine), dev Tokens / Sentences / Words F1, identical to ``conll18_ud_eval.py``'s:
EWT 99.52 / 91.19 / 99.20 (best epoch 24 of 25, 24 s an epoch; the rule tokenizer and
splitter: 97.57 / 80.65 / 99.15); Sequoia 99.58 / 90.75 / 99.26 (best epoch 28, early
stop at 40 of 60, 7.6 s an epoch).

**Checkpoint** (``torch.save``, loaded with ``weights_only=True``): ``{"format",
"config", "state_dict", "chars", "mwt", "metrics", "history", "treebank"}``; a missing,
unreadable or malformed file is a :class:`~postag.export.train.checkpoint.CheckpointError`.
"""

from __future__ import annotations

import copy
import io
import math
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from postag import __version__
from postag.conll18 import Conll18Result, Treebank, Word, evaluate, read_treebank
from postag.errors import ConfigError, CorpusError, PostagError
from postag.export.segment.config import SegmenterConfig
from postag.export.segment.data import Document, read_document
from postag.export.segment.model import Segmenter, count_params
from postag.export.train.checkpoint import CheckpointError, load_dict
from postag.export.train.trainer import deterministic, set_seed
from postag.files import atomic_write_bytes
from postag.mwt import MwtLexicon
from postag.segmentation import (
    N_LABELS,
    PAD_ID,
    CharTable,
    Predict,
    Segments,
    char_features,
    decode,
    is_space,
    label_text,
)

FORMAT = "postag-segmenter/1"
#: Label of padding in a training batch: ignored by the loss.
IGNORE = -100
_SPLIT_FILE = re.compile(r"(.+)-ud-(train|dev|test)\.conllu")


# -- data -----------------------------------------------------------------------------------


def treebank_files(source: str | Path | Sequence[str | Path]) -> tuple[Path, Path]:
    """(train, dev) CoNLL-U files: a directory's ``*-ud-train.conllu`` and
    ``*-ud-dev.conllu`` (exactly one of each), or a (train, dev) pair of paths."""
    if isinstance(source, (str, Path)):
        root = Path(source)
        if not root.is_dir():
            raise CorpusError(f"{root}: not a treebank directory")
        found = []
        for split in ("train", "dev"):
            files = sorted(root.glob(f"*-ud-{split}.conllu"))
            if len(files) != 1:
                raise CorpusError(
                    f"{root}: expected one *-ud-{split}.conllu, found {[f.name for f in files]}"
                )
            found.append(files[0])
        return found[0], found[1]
    paths = [Path(p) for p in source]
    if len(paths) != 2:
        raise CorpusError(f"expected a directory or a (train, dev) pair of files, got {paths}")
    return paths[0], paths[1]


def treebank_name(train: Path) -> str:
    """``en_ewt`` for ``en_ewt-ud-train.conllu``; else the file's stem."""
    m = _SPLIT_FILE.fullmatch(train.name)
    return m.group(1) if m else train.stem


@dataclass(frozen=True)
class EncodedText:
    """A text as the model reads it, with its gold labels."""

    ids: np.ndarray  # (n,) int64
    feats: np.ndarray  # (n, N_FEATURES) float32
    labels: np.ndarray  # (n,) int64

    @classmethod
    def of(cls, doc: Document, table: CharTable) -> EncodedText:
        return cls(table.encode(doc.text), char_features(doc.text), doc.labels.astype(np.int64))


def epoch_windows(n: int, size: int, rng: random.Random) -> list[tuple[int, int]]:
    """``[start, end)`` windows tiling ``[0, n)``: cut every ``size`` characters from a
    random offset (so the first and last may be shorter), in a random order."""
    offset = rng.randrange(size) if n > size else 0
    cuts = [0, *range(offset or size, n, size), n]
    spans = [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]
    rng.shuffle(spans)
    return spans


def make_batch(
    data: EncodedText, spans: Sequence[tuple[int, int]]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """ids, features and gold labels of some windows, padded to the longest (padding:
    :data:`PAD_ID`, zero features, label :data:`IGNORE`)."""
    width = max(b - a for a, b in spans)
    ids = np.full((len(spans), width), PAD_ID, dtype=np.int64)  # (batch, width)
    feats = np.zeros((len(spans), width, data.feats.shape[1]), dtype=np.float32)  # (b, w, 4)
    gold = np.full((len(spans), width), IGNORE, dtype=np.int64)  # (batch, width)
    for i, (a, b) in enumerate(spans):
        ids[i, : b - a] = data.ids[a:b]
        feats[i, : b - a] = data.feats[a:b]
        gold[i, : b - a] = data.labels[a:b]
    return torch.from_numpy(ids), torch.from_numpy(feats), torch.from_numpy(gold)


# -- running and scoring ----------------------------------------------------------------------


def torch_predict(model: Segmenter) -> Predict:
    """The model as :func:`postag.segmentation.label_text`'s ``predict`` (eval mode, no
    gradients): numpy in, numpy (batch, length, N_LABELS) float32 scores out."""
    model.eval()

    def predict(ids: np.ndarray, feats: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(ids), torch.from_numpy(feats)).numpy()

    return predict


def segment(
    text: str, table: CharTable, predict: Predict, cfg: SegmenterConfig, batch: int = 32
) -> Segments:
    """What the runtime does with a text: labels over bounded windows, then spans."""
    return decode(text, label_text(text, table, predict, cfg.size, cfg.context, batch))


def system_treebank(text: str, segs: Segments, lexicon: MwtLexicon) -> Treebank:
    """Segments of ``text`` as :mod:`postag.conll18` reads a system file: spans over the
    text's non-whitespace characters, each multiword token expanded by ``lexicon``
    (tags left empty: only Tokens, Sentences and Words mean anything)."""
    keep = ~is_space(text)  # (n,)
    before = np.cumsum(keep) - keep  # (n,): non-space characters before each offset

    def span(start: int, end: int) -> tuple[int, int]:  # text span → character span
        return int(before[start]), int(before[end - 1]) + 1

    chars = "".join(text[i] for i in np.flatnonzero(keep).tolist())
    tokens = [span(s, e) for s, e in segs.tokens]
    words: list[Word] = []
    for (s, e), (a, b), multi in zip(segs.tokens, tokens, segs.multiword, strict=True):
        form = "".join(text[s:e].split())
        forms = lexicon.expand(form) if multi else [form]
        words.extend(Word(a, b, multi, f.lower(), "", "", "") for f in forms)
    sentences = [span(s, e) for s, e in segs.sentences]
    return Treebank("<segmenter>", chars, tokens, [0] * len(tokens), sentences, words)


def score_segments(gold: Treebank, text: str, segs: Segments, lexicon: MwtLexicon) -> Conll18Result:
    """The CoNLL 2018 scores of ``segs`` (only Tokens, Sentences, Words are meaningful)."""
    return evaluate(gold, system_treebank(text, segs, lexicon))


def dev_scores(result: Conll18Result) -> dict[str, float]:
    """Tokens, Sentences and Words F1 (0-1) and the selection score (Tokens + Sentences)."""
    return {
        "tokens_f1": result.tokens.f1,
        "sentences_f1": result.sentences.f1,
        "words_f1": result.words.f1,
        "score": result.tokens.f1 + result.sentences.f1,
    }


# -- training ---------------------------------------------------------------------------------


def train_epoch(
    model: Segmenter,
    opt: torch.optim.Optimizer,
    data: EncodedText,
    cfg: SegmenterConfig,
    rng: random.Random,
) -> float:
    """One pass over the training text; the mean loss per character."""
    model.train()
    spans = epoch_windows(len(data.ids), cfg.size, rng)
    total, chars = 0.0, 0
    for i in range(0, len(spans), cfg.batch_size):
        ids, feats, gold = make_batch(data, spans[i : i + cfg.batch_size])
        scores = model(ids, feats)  # (batch, width, N_LABELS)
        loss = nn.functional.cross_entropy(
            scores.reshape(-1, N_LABELS), gold.reshape(-1), ignore_index=IGNORE
        )
        opt.zero_grad()
        loss.backward()
        if cfg.clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        opt.step()
        n = int((gold != IGNORE).sum())
        total += loss.item() * n
        chars += n
    return total / max(1, chars)


def train_segmenter(
    source: str | Path | Sequence[str | Path],
    config: SegmenterConfig,
    out_path: str | Path,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train on a treebank (a directory or a (train, dev) pair of files, see
    :func:`treebank_files`), keeping the best-on-dev weights in ``out_path`` (written
    after each improvement and at the end); returns the checkpoint's metrics."""
    train_file, dev_file = treebank_files(source)
    train_doc, dev_doc = read_document(train_file), read_document(dev_file)
    if not train_doc.text.strip() or not dev_doc.text.strip():
        raise CorpusError("training the segmenter needs a non-empty train and dev text")
    dev_gold = read_treebank(dev_file)
    lexicon = MwtLexicon.learn_files([train_file])
    table = CharTable.build([train_doc.text], config.min_char_count)
    if config.n_chars not in (0, len(table)):
        raise ConfigError(f"n_chars {config.n_chars} is filled in from the data ({len(table)})")
    cfg = config.replace(n_chars=len(table))
    name = treebank_name(train_file)
    with deterministic():
        return _train(cfg, train_doc, dev_doc, dev_gold, table, lexicon, name, Path(out_path), log)


def _train(
    cfg: SegmenterConfig,
    train_doc: Document,
    dev_doc: Document,
    dev_gold: Treebank,
    table: CharTable,
    lexicon: MwtLexicon,
    name: str,
    out_path: Path,
    log: Callable[[str], None],
) -> dict[str, Any]:
    set_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = random.Random(cfg.seed)
    model = Segmenter(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    data = EncodedText.of(train_doc, table)
    n_params = count_params(model)
    log(
        f"segmenter {name}: {n_params:,} parameters; {len(table)} characters; train "
        f"{len(train_doc.text):,} characters ({len(train_doc.tokens):,} tokens, "
        f"{len(train_doc.sentences):,} sentences), dev {len(dev_doc.text):,} characters; "
        f"multiword lexicon {len(lexicon)} forms"
    )
    start = time.perf_counter()
    best: dict[str, Any] = {"score": -1.0}
    best_state: dict[str, torch.Tensor] = {}
    history: list[dict[str, Any]] = []
    stopped_by = "epochs"

    def metrics(epoch: int) -> dict[str, Any]:
        seconds = [h["seconds"] for h in history]
        return {
            **{f"dev_{k}": v for k, v in best.items() if k not in ("epoch", "counts")},
            "dev_counts": best.get("counts", {}),
            "best_epoch": best.get("epoch", 0),
            "epochs_run": epoch,
            "epochs_budget": cfg.epochs,
            "stopped_by": stopped_by,
            "train_seconds": time.perf_counter() - start,
            "seconds_per_epoch": sum(seconds) / max(1, len(seconds)),
            "parameters": n_params,
            "train_characters": len(train_doc.text),
            "dev_characters": len(dev_doc.text),
        }

    for epoch in range(1, cfg.epochs + 1):
        t0 = time.perf_counter()
        loss = train_epoch(model, opt, data, cfg, rng)
        train_s = time.perf_counter() - t0
        result = score_segments(
            dev_gold, dev_doc.text, segment(dev_doc.text, table, torch_predict(model), cfg), lexicon
        )
        dev = dev_scores(result)
        seconds = time.perf_counter() - t0
        history.append(
            {"epoch": epoch, "loss": loss, **dev, "seconds": seconds, "train_seconds": train_s}
        )
        improved = dev["score"] > best["score"]
        if improved:
            counts = {m: result.metrics()[m].to_dict() for m in ("Tokens", "Sentences", "Words")}
            best = {**dev, "epoch": epoch, "counts": counts}
            best_state = copy.deepcopy(model.state_dict())
        log(
            f"epoch {epoch:>2}  loss {loss:.4f}  dev tokens {100 * dev['tokens_f1']:6.2f}  "
            f"sentences {100 * dev['sentences_f1']:6.2f}  words {100 * dev['words_f1']:6.2f}  "
            f"{seconds:5.1f}s{'  *best' if improved else ''}"
        )
        if not math.isfinite(loss):
            raise RuntimeError(f"training diverged at epoch {epoch} (loss {loss})")
        if improved:
            now = metrics(epoch)
            save_checkpoint(out_path, cfg, best_state, table, lexicon, now, history, name)
        if epoch - best["epoch"] >= cfg.patience:
            stopped_by = "early_stop"
            log(f"early stop: no dev improvement for {cfg.patience} epochs")
            break
        elapsed = time.perf_counter() - start
        if epoch < cfg.epochs and elapsed * (epoch + 1) / epoch > 60 * cfg.max_minutes:
            stopped_by = "time_cap"
            log(f"stopping at epoch {epoch}: another would pass the {cfg.max_minutes:g} min cap")
            break
    final = metrics(len(history))
    save_checkpoint(out_path, cfg, best_state, table, lexicon, final, history, name)
    return final


# -- checkpoint -------------------------------------------------------------------------------


def save_checkpoint(
    path: str | Path,
    cfg: SegmenterConfig,
    state_dict: dict[str, torch.Tensor],
    table: CharTable,
    lexicon: MwtLexicon,
    metrics: dict[str, Any],
    history: Sequence[dict[str, Any]] = (),
    treebank: str = "",
) -> None:
    """Write a checkpoint atomically (a temporary file, then a rename)."""
    data = {
        "format": FORMAT,
        "postag_version": __version__,
        "torch_version": str(torch.__version__),
        "config": cfg.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in state_dict.items()},
        "chars": table.to_list(),
        "mwt": lexicon.to_dict(),
        "metrics": metrics,
        "history": list(history),
        "treebank": treebank,
    }
    buf = io.BytesIO()
    torch.save(data, buf)
    atomic_write_bytes(path, buf.getvalue())


@dataclass(frozen=True)
class SegmenterCheckpoint:
    """A loaded checkpoint, whole (:func:`load_segmenter` gives its main parts)."""

    model: Segmenter
    config: SegmenterConfig
    table: CharTable
    lexicon: MwtLexicon
    metrics: dict[str, Any]
    history: list[dict[str, Any]]
    treebank: str


def read_checkpoint(path: str | Path) -> SegmenterCheckpoint:
    """Load a checkpoint (``weights_only=True``: no pickled code runs); the model in eval
    mode. Missing, unreadable, of another format or malformed: :class:`CheckpointError`."""
    path = Path(path)
    what = "segmenter checkpoint (train one with `postag train-segmenter`)"
    data = load_dict(path, FORMAT, what)
    try:
        cfg = SegmenterConfig.from_dict(data["config"])
        table = CharTable.from_list(data["chars"])
        if len(table) != cfg.n_chars:
            raise ValueError(f"{len(table)} characters for n_chars {cfg.n_chars}")
        model = Segmenter(cfg)
        model.load_state_dict(data["state_dict"])
        return SegmenterCheckpoint(
            model.eval(),
            cfg,
            table,
            MwtLexicon.from_dict(data["mwt"]),
            dict(data["metrics"]),
            list(data.get("history", [])),
            str(data.get("treebank", "")),
        )
    except (KeyError, TypeError, ValueError, RuntimeError, PostagError) as exc:
        raise CheckpointError(f"{path}: malformed segmenter checkpoint ({exc})") from None


def load_segmenter(
    path: str | Path,
) -> tuple[Segmenter, SegmenterConfig, CharTable, MwtLexicon, dict[str, Any]]:
    """(model in eval mode, config, character table, multiword lexicon, metrics)."""
    ckpt = read_checkpoint(path)
    return ckpt.model, ckpt.config, ckpt.table, ckpt.lexicon, ckpt.metrics
