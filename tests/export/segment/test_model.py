"""postag.export.segment.config and .model: the typed config's JSON round trip and
errors; the model's shapes, and that padding never changes a row's scores."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from postag.errors import ConfigError
from postag.export.segment.config import SegmenterConfig
from postag.export.segment.model import Segmenter
from postag.segmentation import N_FEATURES, N_LABELS, CharTable, char_features

TINY = SegmenterConfig(char_dim=8, hidden=8, layers=1, n_chars=20, size=32, context=4)


def test_config_round_trips_through_json():
    for cfg in (SegmenterConfig(), TINY, TINY.replace(conv_width=3, layers=2, features=False)):
        assert SegmenterConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert SegmenterConfig.from_dict({"lr": 1}).lr == 1.0  # an int where a float goes


def test_config_errors_are_clear():
    with pytest.raises(ConfigError, match=r"unknown field\(s\) \['hiden'\]"):
        SegmenterConfig.from_dict({"hiden": 64})
    with pytest.raises(ConfigError, match=r"SegmenterConfig.layers: expected int"):
        SegmenterConfig.from_dict({"layers": "2"})
    with pytest.raises(ConfigError, match="expected a JSON object"):
        SegmenterConfig.from_dict([1])
    with pytest.raises(ConfigError, match="must exceed twice its context"):
        SegmenterConfig(size=64, context=32)
    with pytest.raises(ConfigError, match="conv_width must be odd"):
        SegmenterConfig(conv_width=4)
    with pytest.raises(ConfigError, match="hidden must be >= 1"):
        SegmenterConfig(hidden=0)


def _inputs(texts: list[str], table: CharTable) -> tuple[torch.Tensor, torch.Tensor]:
    """Texts as one batch padded as label_text pads windows."""
    width = max(len(t) for t in texts)
    ids = np.zeros((len(texts), width), dtype=np.int64)
    feats = np.zeros((len(texts), width, N_FEATURES), dtype=np.float32)
    for i, t in enumerate(texts):
        ids[i, : len(t)] = table.encode(t)
        feats[i, : len(t)] = char_features(t)
    return torch.from_numpy(ids), torch.from_numpy(feats)


@pytest.mark.parametrize(
    "cfg",
    [TINY, TINY.replace(conv_width=3, conv_channels=6), TINY.replace(layers=2, features=False)],
    ids=["bilstm", "conv", "2-layers-no-features"],
)
def test_shapes_and_padding_never_reaches_a_row(cfg):
    table = CharTable.build(["Il parle du vin. I don't know."], min_count=1)
    torch.manual_seed(0)
    model = Segmenter(cfg.replace(n_chars=len(table))).eval()
    texts = ["du vin.", "I don't know. Il parle", "x"]
    ids, feats = _inputs(texts, table)
    with torch.no_grad():
        scores = model(ids, feats)
        assert scores.shape == (3, len(texts[1]), N_LABELS) and scores.dtype == torch.float32
        for i, t in enumerate(texts):  # alone, unpadded: the same scores
            alone = model(*_inputs([t], table))
            torch.testing.assert_close(scores[i, : len(t)], alone[0], rtol=0, atol=1e-6)


def test_model_needs_a_sized_character_table():
    with pytest.raises(ValueError, match="n_chars"):
        Segmenter(SegmenterConfig())
