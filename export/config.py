"""Typed configuration: the model and the training run, each a dataclass that
round-trips through JSON (into the checkpoint and the bundle manifest).

    cfg = ModelConfig.preset("default")
    assert ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, fields
from typing import Any, TypeVar

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
        kwargs[name] = float(value) if str(ftype) == "float" else value
    return cls(**kwargs)


@dataclass(frozen=True)
class ModelConfig:
    """Architecture. ``char_hidden = 0`` disables the character BiLSTM."""

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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        return _from_dict(cls, data)

    def replace(self, **changes: Any) -> ModelConfig:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation. Defaults train the default model on EWT in < 20 min on 2 cores."""

    optimizer: str = "adam"  # "adam" | "sgd"
    lr: float = 2e-3
    batch_size: int = 32  # sentences per batch (batches are bucketed by length)
    epochs: int = 30  # upper bound; early stopping usually ends sooner
    patience: int = 4  # epochs without a dev improvement before stopping
    clip: float = 5.0  # gradient-norm clipping (0 = off)
    lr_decay: float = 0.5  # multiply lr by this after an epoch without dev improvement (1 = off)
    min_freq: int = 1  # words seen fewer times map to <unk>
    word_dropout: float = 0.25  # alpha: a word of count c becomes <unk> with p = a / (a + c)
    seed: int = 1
    threads: int = 0  # torch intra-op threads; 0 = all cores
    max_minutes: float = 19.0  # wall-clock budget: no epoch starts that would end past it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        return _from_dict(cls, data)

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)


#: Named starting points. ``seed`` is the tutorials' LSTMTagger: one unidirectional
#: layer over word embeddings only, NLLLoss, plain SGD with lr 0.1.
PRESETS: dict[str, tuple[ModelConfig, TrainConfig]] = {
    "default": (ModelConfig(), TrainConfig()),
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
