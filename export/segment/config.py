"""The segmenter's typed configuration: architecture, windows and optimisation in one
frozen dataclass that round-trips through JSON (into the checkpoint and
``segmenter.json``).

    from postag.export.segment.config import SegmenterConfig
    cfg = SegmenterConfig(hidden=64, epochs=10)
    assert SegmenterConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    SegmenterConfig.from_dict({"hiden": 64})   # ConfigError: unknown field(s) ['hiden']

The budget is a number of epochs (one epoch = every training character once, in windows
of ``size`` characters cut at a fresh random offset); early stopping on dev may end
sooner; ``max_minutes`` is a safety cap only, recorded when it fires.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass
from typing import Any

from postag.errors import ConfigError
from postag.export.train.config import _from_dict


@dataclass(frozen=True)
class SegmenterConfig:
    """Architecture (``char_dim`` … ``dropout``), windows (``size``, ``context``: what the
    model is trained on and run over, :func:`postag.segmentation.windows`) and training.
    ``conv_width = 0`` disables the convolution; ``features = False`` leaves the four
    :func:`postag.segmentation.char_features` out of the input."""

    char_dim: int = 32  # character embedding size
    features: bool = True  # concatenate the 4 char_features to the embedding
    conv_width: int = 0  # 1-D convolution over characters before the LSTM (0 = none)
    conv_channels: int = 64
    hidden: int = 64  # per direction of the character BiLSTM
    # 2 layers beat 1 on EWT dev (Tokens/Sentences/Words F1 99.52/91.19/99.20 vs
    # 99.33/90.27/98.98, batch 16, same seed) at 2.2x the time per epoch (24 s vs 11 s)
    layers: int = 2
    dropout: float = 0.33
    n_chars: int = 0  # character table size, filled in from the training text
    # windows: trained on windows of `size` characters; run over windows of `size` that
    # predict their middle `size - 2 * context` characters
    size: int = 256
    context: int = 32
    min_char_count: int = 2  # rarer training characters are <unk> (its row is trained)
    lr: float = 2e-3
    batch_size: int = 16  # windows per batch (more steps per epoch than 32: Sequoia is small)
    epochs: int = 25  # the budget; early stopping on dev may end sooner
    patience: int = 8  # epochs without a dev improvement (dev Sentences F1 is noisy)
    clip: float = 5.0  # gradient-norm clipping (0 = off)
    seed: int = 1
    # torch intra-op threads, fixed so that the same seed gives the same weights anywhere
    threads: int = 1
    max_minutes: float = 60.0  # safety cap (metrics["stopped_by"] == "time_cap" if it fires)

    def __post_init__(self) -> None:
        positive = ("char_dim", "hidden", "layers", "size", "batch_size", "epochs", "threads")
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"SegmenterConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.conv_width < 0 or (self.conv_width and self.conv_channels < 1):
            raise ConfigError(
                f"SegmenterConfig: conv_width {self.conv_width} must be >= 0 (0 = none), "
                f"with conv_channels >= 1 ({self.conv_channels})"
            )
        if self.conv_width and self.conv_width % 2 == 0:
            raise ConfigError(f"SegmenterConfig.conv_width must be odd, got {self.conv_width}")
        if self.context < 0 or self.size - 2 * self.context < 1:
            raise ConfigError(
                f"SegmenterConfig: window size {self.size} must exceed twice its context "
                f"{self.context} (>= 0)"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"SegmenterConfig.dropout must be in [0, 1), got {self.dropout}")
        if self.patience < 1 or self.min_char_count < 1 or self.lr <= 0:
            raise ConfigError("SegmenterConfig: patience, min_char_count and lr must be positive")

    @property
    def input_dim(self) -> int:
        """Width of one character's input vector: embedding (+ the 4 features)."""
        from postag.segmentation import N_FEATURES

        return self.char_dim + (N_FEATURES if self.features else 0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SegmenterConfig:
        """The inverse of :meth:`to_dict`; an unknown key or a value of the wrong type
        is a :class:`~postag.errors.ConfigError` naming it."""
        return _from_dict(cls, data)

    def replace(self, **changes: Any) -> SegmenterConfig:
        return dataclasses.replace(self, **changes)
