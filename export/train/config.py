"""Typed configuration: the model and the training run, each a dataclass that
round-trips through JSON (into the checkpoint and the bundle manifest).

    cfg = ModelConfig.preset("default")
    assert ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, fields
from typing import Any, TypeVar

from postag.contract import HEAD_OUTPUTS
from postag.errors import ConfigError

T = TypeVar("T")


def _from_dict(cls: type[T], data: dict[str, Any]) -> T:
    if not isinstance(data, dict):
        raise ConfigError(f"{cls.__name__}: expected a JSON object, got {type(data).__name__}")
    names = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(f"{cls.__name__}: unknown field(s) {unknown}")
    kwargs = {}
    for name, value in data.items():
        ftype = names[name].type
        ok = {
            "int": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, (int, float)) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
            "str": isinstance(value, str),
        }.get(str(ftype), True)
        if not ok:
            raise ConfigError(f"{cls.__name__}.{name}: expected {ftype}, got {value!r}")
        if str(ftype).startswith("tuple"):
            if not isinstance(value, (list, tuple)):
                raise ConfigError(f"{cls.__name__}.{name}: expected a list, got {value!r}")
            value = tuple(value)
        kwargs[name] = float(value) if str(ftype) == "float" else value
    return cls(**kwargs)


#: The output heads a model may have, in output order: UPOS, the treebank's XPOS (Penn
#: Treebank tags for English) and UFeats (one label per whole FEATS string, ``_`` = none).
HEADS = ("upos", "xpos", "feats")

#: How pretrained word vectors train (``ModelConfig.vectors_mode``): kept as they are,
#: fine-tuned, or kept with a trained delta added (initialised at 0).
VECTORS_MODES = ("frozen", "finetune", "delta")
#: How they meet the trained word embedding (``ModelConfig.vectors_combine``).
VECTORS_COMBINE = ("concat", "sum")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture. ``char_hidden = 0`` disables the character BiLSTM. ``heads``: which
    of :data:`HEADS` the shared encoder feeds (a subset, in that order); ``n_labels`` is
    each head's label count (UPOS's is also ``n_tags``). A config without ``heads`` (a
    checkpoint made before the joint tagger) is UPOS-only."""

    word_dim: int = 100  # word embedding size
    char_dim: int = 50  # character embedding size
    char_hidden: int = 50  # per direction; the word gets 2 * char_hidden char features
    hidden: int = 200  # per direction of the sentence LSTM
    layers: int = 2
    bidirectional: bool = True
    dropout: float = 0.33
    max_word_len: int = 32  # characters the char model sees (prefix + suffix)
    n_words: int = 0  # vocabulary sizes, filled in from the data
    n_chars: int = 0
    n_tags: int = 0
    heads: tuple[str, ...] = ("upos",)
    n_xpos: int = 0
    n_feats: int = 0
    # heads decoded by a linear-chain CRF (Viterbi path + marginals, in every exported graph)
    # instead of per word. Off by default: with upos+xpos it was not better on dev (seed 1:
    # UPOS 95.62 vs 95.72, XPOS 95.12 vs 95.04, UFeats 95.91 vs 95.85; seed 2: lower on
    # every head; same budget) and costs ~30% of the runtime's throughput
    # (docs/design/crf.md)
    crf: tuple[str, ...] = ()
    # Pretrained word vectors (export/train/vectors.py): a known name ("glove-6b-50d", the
    # `vectors` extra) or a directory; "" = none (the default). Training only: the trained
    # model is *baked* into one plain word embedding of width ``word_dim`` (concat: the
    # trained size + ``vectors_dim``), and ``vectors_baked`` says so; the rest is provenance.
    vectors: str = ""
    vectors_mode: str = "frozen"  # "frozen" | "finetune" | "delta" (frozen + trained delta)
    vectors_combine: str = "concat"  # "concat" [trained ; vector] | "sum" trained + W vector
    vectors_top: int = 100_000  # the most frequent words of the vectors kept (0 = all)
    vectors_dim: int = 0  # filled in from the vectors
    vectors_baked: bool = False
    # word-table entries from the training data: ids >= this come from the vectors only
    # (0 = every entry is a training form, as without vectors)
    n_train_words: int = 0

    def __post_init__(self) -> None:
        if self.vectors_mode not in VECTORS_MODES:
            raise ConfigError(f"vectors_mode {self.vectors_mode!r} not in {VECTORS_MODES}")
        if self.vectors_combine not in VECTORS_COMBINE:
            raise ConfigError(f"vectors_combine {self.vectors_combine!r} not in {VECTORS_COMBINE}")
        if self.vectors_top < 0:
            raise ConfigError(f"vectors_top must be >= 0 (0 = all), got {self.vectors_top}")
        if not set(self.crf) <= set(self.heads):
            raise ConfigError(
                f"crf head(s) {sorted(set(self.crf) - set(self.heads))} not in "
                f"heads {list(self.heads)}"
            )
        if not set(self.heads) <= set(HEADS):
            raise ConfigError(f"unknown head(s) {sorted(set(self.heads) - set(HEADS))}")
        if self.heads[:1] != ("upos",) or list(self.heads) != [h for h in HEADS if h in self.heads]:
            raise ConfigError(f"heads must start with 'upos', in the order {HEADS}: {self.heads}")

    def n_labels(self, head: str) -> int:
        return {"upos": self.n_tags, "xpos": self.n_xpos, "feats": self.n_feats}[head]

    @property
    def uses_vectors(self) -> bool:
        """True while the model has its pretrained-vector parts (trained, not yet baked)."""
        return bool(self.vectors) and not self.vectors_baked

    @property
    def word_input_dim(self) -> int:
        """Width of a word's embedding as the sentence LSTM sees it (without characters)."""
        if self.uses_vectors and self.vectors_combine == "concat":
            return self.word_dim + self.vectors_dim
        return self.word_dim

    def label_dims(self) -> dict[str, int]:
        """Each head's label axis (as the I/O contract names it) → its size."""
        return {HEAD_OUTPUTS[h][1]: self.n_labels(h) for h in self.heads}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["heads"] = list(self.heads)
        d["crf"] = list(self.crf)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        return _from_dict(cls, data)

    def replace(self, **changes: Any) -> ModelConfig:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation. The budget is a fixed number of epochs (early stopping on dev may end
    sooner), so the same seed gives the same model on any machine."""

    optimizer: str = "adam"  # "adam" | "sgd"
    lr: float = 2e-3
    batch_size: int = 32  # sentences per batch (batches are bucketed by length)
    epochs: int = 40  # the budget; early stopping on dev may end sooner
    patience: int = 6  # epochs without a dev improvement before stopping
    clip: float = 5.0  # gradient-norm clipping (0 = off)
    # multiply lr by this after an epoch without dev improvement (1 = off); 0.8 beat 0.5 on dev
    # (UPOS 95.72 vs 95.40, XPOS 95.04 vs 94.81, UFeats 95.85 vs 95.67; same seed and budget)
    lr_decay: float = 0.8
    min_freq: int = 1  # words seen fewer times map to <unk>
    word_dropout: float = 0.25  # alpha: a word of count c becomes <unk> with p = a / (a + c)
    seed: int = 1
    # torch intra-op threads, fixed (not "all cores") so that a reduction is split the same
    # way on any machine: with deterministic algorithms, the same seed gives the same model
    threads: int = 2
    # A safety cap only (the budget is `epochs`): no epoch starts that would end past it;
    # when it fires, the checkpoint and the manifest record it (metrics["stopped_by"]).
    max_minutes: float = 60.0
    xpos_weight: float = 1.0  # loss weight of the XPOS head (UPOS's is 1)
    feats_weight: float = 1.0  # loss weight of the UFeats head
    adam_beta2: float = 0.999  # Adam's second-moment decay (Stanza's tagger uses 0.95)
    # Distillation (export/train/distill.py): checkpoints whose averaged label
    # distributions the model also learns from, each head's loss being
    # (1 - distill_weight) * NLL(gold) + distill_weight * CE(teachers, model); () = off
    distill_from: tuple[str, ...] = ()
    distill_weight: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.distill_weight <= 1.0:
            raise ConfigError(f"distill_weight must be in [0, 1], got {self.distill_weight}")
        if not 0.0 <= self.adam_beta2 < 1.0:
            raise ConfigError(f"adam_beta2 must be in [0, 1), got {self.adam_beta2}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["distill_from"] = list(self.distill_from)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        return _from_dict(cls, data)

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)


#: Named starting points. ``seed`` is the tutorials' LSTMTagger: one unidirectional
#: layer over word embeddings only, NLLLoss, plain SGD with lr 0.1.
PRESETS: dict[str, tuple[ModelConfig, TrainConfig]] = {
    # GloVe 6B 50d fine-tuned beside the trained embedding, the 50,000 most frequent
    # words kept, Adam's beta2 0.95 (each chosen on EWT dev: docs/training.md)
    "default": (
        ModelConfig(
            heads=HEADS,
            vectors="glove-6b-50d",
            vectors_mode="finetune",
            vectors_combine="concat",
            vectors_top=50_000,
        ),
        TrainConfig(adam_beta2=0.95),
    ),
    "seed": (
        ModelConfig(
            word_dim=100,
            char_dim=0,
            char_hidden=0,
            hidden=200,
            layers=1,
            bidirectional=False,
            dropout=0.0,
        ),
        TrainConfig(
            optimizer="sgd",
            lr=0.1,
            batch_size=1,
            clip=0.0,
            word_dropout=0.0,
            lr_decay=1.0,
            epochs=10,
            patience=3,
        ),
    ),
}
