"""The hand-built fast graph computes what the PyTorch model computes (no training
needed: random weights, bidirectional and unidirectional, known and new forms)."""

import numpy as np
import onnx
import pytest
import torch

from postag.contract import FAST_CONTRACT
from postag.export.graphs.fast import char_forms, char_table, export_fast
from postag.export.train.config import ModelConfig
from postag.export.train.model import TaggerModel
from postag.export.train.predict import torch_heads_runner
from postag.session import FastModel
from postag.vocab import Encoder, Vocab


def torch_runner(model):  # noqa: ANN001, ANN201
    """The UPOS log-probs of a model as one array (the one-head runners these tests build)."""
    run = torch_heads_runner(model, model.cfg.heads)
    return lambda batch: run(batch)["upos"]


WORDS = ["the", "cat", "sat", "on", "a", "mat", "."]
CHARS = sorted({c for w in WORDS for c in w} | set("TCS"))


@pytest.mark.parametrize("bidirectional", [True, False])
def test_fast_graph_matches_pytorch(tmp_path, bidirectional):
    torch.manual_seed(0)
    enc = Encoder(Vocab(["<pad>", "<unk>", *WORDS]), Vocab(["<pad>", "<unk>", *CHARS]), 8)
    cfg = ModelConfig(
        word_dim=6,
        char_dim=5,
        char_hidden=4,
        hidden=7,
        layers=2,
        bidirectional=bidirectional,
        n_words=len(enc.words),
        n_chars=len(enc.chars),
        n_tags=5,
    )
    model = TaggerModel(cfg).eval()
    forms = char_forms([["the", "cat", "The"], ["sat", "the"]])
    assert forms == ["the", "The", "cat", "sat"]  # most frequent first, ties sorted
    table = char_table(model, enc, forms)
    export_fast(model, table, tmp_path / "fast.onnx", {"postag.table_rows": str(len(table))})
    onnx.checker.check_model(str(tmp_path / "fast.onnx"), full_check=True)
    fast = FastModel(tmp_path / "fast.onnx", FAST_CONTRACT, forms, "cpu", 1)
    sentences = [
        ["The", "cat", "sat", "on", "the", "mat", "."],  # known and new forms
        ["Cat"],
        ["zzzzzzzzzzzzzzzzzzzz", "the"],  # clipped to 8 characters, unknown characters
        ["the", "cat"],  # known forms only
    ]
    for batch in (sentences, sentences[3:], sentences[2:3]):
        b = enc.encode(batch)
        want = torch_runner(model)(b)  # (batch, seq, tags)
        got = fast.run(b)["upos"]
        mask = np.arange(want.shape[1])[None, :] < b.lengths[:, None]
        np.testing.assert_allclose(got[mask], want[mask], atol=1e-5)
