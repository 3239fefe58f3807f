"""Checkpoints: state_dict + configs + vocabularies + metrics as plain data.

Saved with ``torch.save`` through a temporary file; loaded with
``torch.load(..., weights_only=True)`` so loading never executes pickled code.

    ckpt = Checkpoint.load("artifacts/checkpoints/default.pt")
    model, encoder = ckpt.model(), ckpt.encoder()
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from postag import __version__
from postag.corpus import recorded_sha256
from postag.errors import ConfigError, PostagError, VocabError
from postag.export.train.config import ModelConfig, TrainConfig
from postag.export.train.model import TaggerModel
from postag.files import atomic_write_bytes
from postag.vocab import Encoder, Vocab

FORMAT = "postag-checkpoint/1"


def load_dict(path: Path, fmt: str, what: str) -> dict[str, Any]:
    """A checkpoint file's dict, loaded with ``weights_only=True`` (no pickled code runs),
    refused unless its ``format`` is ``fmt``: missing (``what`` says what it should be),
    unreadable or another format is a :class:`CheckpointError`."""
    if not path.is_file():
        raise CheckpointError(f"{path}: no such {what}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        raise CheckpointError(f"{path}: not a loadable checkpoint ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != fmt:
        raise CheckpointError(f"{path}: not a {fmt} file")
    return data


class CheckpointError(PostagError):
    """A checkpoint file is missing, unreadable or of another format."""


def _labels(vocab: dict[str, Any], head: str) -> Vocab | None:
    return Vocab(vocab[head], specials=False) if head in vocab else None


def upgrade_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Weights saved before the joint tagger name the UPOS layer ``out``; it is head 0."""
    renames = {"out.weight": "heads.0.weight", "out.bias": "heads.0.bias"}
    return {renames.get(k, k): v for k, v in state.items()}


@dataclass
class Checkpoint:
    model_config: ModelConfig
    train_config: TrainConfig
    words: Vocab
    chars: Vocab
    tags: Vocab  # UPOS
    state_dict: dict[str, torch.Tensor]
    preset: str = "default"
    metrics: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    corpus: dict[str, Any] = field(default_factory=dict)
    xpos: Vocab | None = None  # the XPOS head's labels (joint tagger)
    feats: Vocab | None = None  # the UFeats head's labels: whole FEATS strings

    def labels(self) -> dict[str, Vocab]:
        """Each head's label list, in ``model_config.heads`` order."""
        every = {"upos": self.tags, "xpos": self.xpos, "feats": self.feats}
        return {h: every[h] for h in self.model_config.heads}  # type: ignore[misc]

    def corpus_sha256(self) -> dict[str, str] | None:
        """split → sha256 of the corpus it was trained on; None where it records none."""
        return recorded_sha256(self.corpus)

    def corpus_files(self) -> str:
        """The recorded corpus in words: ``"custom (toy-ud-train.conllu, …)"``."""
        files = self.corpus.get("files")
        names = [str(f.get("file")) for f in files.values()] if isinstance(files, dict) else []
        return f"{self.corpus.get('name', '?')} ({', '.join(names)})"

    def training_words(self) -> int:
        """How many word-table entries (ids ``0 .. n - 1``) are training-set forms; the rest
        come from pretrained vectors (``ModelConfig.vectors``). Unknown-word accuracy means
        unknown to the training set: an id ``>= n`` (or ``<unk>``)."""
        return self.model_config.n_train_words or len(self.words)

    def model(self) -> TaggerModel:
        m = TaggerModel(self.model_config)
        m.load_state_dict(upgrade_state_dict(self.state_dict))
        return m.eval()

    def encoder(self) -> Encoder:
        return Encoder(self.words, self.chars, self.model_config.max_word_len)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "postag_version": __version__,
            "torch_version": str(torch.__version__),
            "preset": self.preset,
            "model_config": self.model_config.to_dict(),
            "train_config": self.train_config.to_dict(),
            "vocab": {
                "words": self.words.items,
                "chars": self.chars.items,
                "tags": self.tags.items,
                **({"xpos": self.xpos.items} if self.xpos else {}),
                **({"feats": self.feats.items} if self.feats else {}),
            },
            "state_dict": {k: v.detach().cpu() for k, v in self.state_dict.items()},
            "metrics": self.metrics,
            "history": self.history,
            "corpus": self.corpus,
        }

    def save(self, path: str | Path) -> None:
        buf = io.BytesIO()
        torch.save(self.to_dict(), buf)
        atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> Checkpoint:
        path = Path(path)
        data = load_dict(path, FORMAT, "checkpoint (train one with `postag train`)")
        try:
            return cls(
                model_config=ModelConfig.from_dict(data["model_config"]),
                train_config=TrainConfig.from_dict(data["train_config"]),
                words=Vocab(data["vocab"]["words"]),
                chars=Vocab(data["vocab"]["chars"]),
                tags=Vocab(data["vocab"]["tags"], specials=False),
                state_dict=data["state_dict"],
                preset=data.get("preset", "default"),
                metrics=data.get("metrics", {}),
                history=data.get("history", []),
                corpus=data.get("corpus", {}),
                xpos=_labels(data["vocab"], "xpos"),
                feats=_labels(data["vocab"], "feats"),
            )
        except (KeyError, TypeError, ConfigError, VocabError) as exc:
            raise CheckpointError(f"{path}: malformed checkpoint ({exc})") from None
