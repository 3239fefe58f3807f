"""The segmenter: one label per character (:data:`postag.segmentation.LABELS`) from a
character embedding and the four character features, through an optional 1-D
convolution and a small BiLSTM, to a linear layer of :data:`N_LABELS` scores.

    from postag.export.segment.model import Segmenter
    model = Segmenter(SegmenterConfig(n_chars=len(table)))
    scores = model(ids, feats)  # (batch, length) int64, (batch, length, 4) float32
                                # → (batch, length, 5) float32 label scores (logits)

Padding (id :data:`PAD_ID` = 0, zero features, only at the end of a row, as
:func:`postag.segmentation.label_text` pads a batch of windows) never reaches a real
character: its embedding row is zero, so the convolution sees exactly the zero padding
it would see at the end of a lone window; the LSTM's backward direction is a forward
LSTM over each row *reversed within its length* (``reverse_padded``, as the tagger does
it), so padding comes after the real characters in both directions. A window's scores
are therefore the same alone or in any padded batch, which lets the runtime batch
windows freely. No ``pack_padded_sequence``: everything exports to plain ONNX ``Conv``,
``LSTM`` and ``Gather`` ops with dynamic batch and length axes.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from postag.export.segment.config import SegmenterConfig
from postag.export.train.model import BiLayer
from postag.segmentation import N_LABELS, PAD_ID


class Segmenter(nn.Module):
    """Characters → label scores; see the module docstring."""

    def __init__(self, cfg: SegmenterConfig) -> None:
        super().__init__()
        if cfg.n_chars < 2:
            raise ValueError(f"n_chars must count the character table (>= 2), got {cfg.n_chars}")
        self.cfg = cfg
        self.emb = nn.Embedding(cfg.n_chars, cfg.char_dim, padding_idx=PAD_ID)
        dim = cfg.input_dim
        self.conv: nn.Conv1d | None = None
        if cfg.conv_width:
            self.conv = nn.Conv1d(dim, cfg.conv_channels, cfg.conv_width, padding="same")
            dim = cfg.conv_channels
        self.drop = nn.Dropout(cfg.dropout)
        layers = []
        for _ in range(cfg.layers):
            layers.append(BiLayer(dim, cfg.hidden))
            dim = 2 * cfg.hidden
        self.layers = nn.ModuleList(layers)
        self.out = nn.Linear(dim, N_LABELS)

    def forward(self, ids: Tensor, feats: Tensor) -> Tensor:
        # ids: (batch, length) int64, PAD_ID after each row's characters
        # feats: (batch, length, N_FEATURES) float32, zero on padding
        lengths = (ids != PAD_ID).sum(1)  # (batch,)
        x = self.emb(ids)  # (batch, length, char_dim)
        if self.cfg.features:
            x = torch.cat([x, feats], 2)  # (batch, length, char_dim + 4)
        if self.conv is not None:
            # zero the features of padding too, so that it is the conv's own zero padding
            real = (ids != PAD_ID).unsqueeze(2).to(x.dtype)  # (batch, length, 1)
            x = torch.relu(self.conv((x * real).transpose(1, 2))).transpose(1, 2)
            # x: (batch, length, conv_channels)
        x = self.drop(x)
        for layer in self.layers:
            x = self.drop(layer(x, lengths))  # (batch, length, 2 * hidden)
        return self.out(x)  # (batch, length, N_LABELS)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
