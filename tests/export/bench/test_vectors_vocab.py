"""The vector-vocabulary study (export/bench/vectors_vocab.py) on the toy corpus and a tiny
vector file made here."""

import json

import numpy as np
import torch

from postag.data import read_conllu
from postag.export.bench.vectors_vocab import main, measure, uint8_table
from postag.export.train.config import ModelConfig, TrainConfig
from postag.export.train.trainer import train

WORDS = ["the", "a", "dog", "cat", "zebra", "wolf", "gorgeously", "runs", "red", "sees"]


def test_uint8_table_is_onnxruntimes_affine_scheme():
    """The same uint8 codes and dequantised values as onnxruntime's own quantiser (QUInt8,
    per tensor, asymmetric: what quantize_dynamic does to a Gather's table)."""
    from onnx import TensorProto
    from onnxruntime.quantization.quant_utils import quantize_data

    g = torch.Generator().manual_seed(0)
    for t in (
        torch.tensor([[-1.0, 0.0, 0.5], [2.0, 1.0, -0.25]]),
        torch.randn(300, 20, generator=g) * 3,
        torch.rand(50, 7, generator=g) + 0.5,  # all positive: the range is widened to 0
    ):
        zero, scale, codes = quantize_data(t.numpy().ravel(), TensorProto.UINT8, False)
        want = (codes.astype(np.float32) - float(zero)) * float(scale)
        got = uint8_table(t).numpy().ravel()
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
        assert len(np.unique(got)) <= 256
    assert uint8_table(torch.tensor([[-1.0, 0.0, 2.0]]))[0, 1] == 0.0  # zero is exact


def test_the_study_measures_each_size_and_storage(toy_corpus, tmp_path):
    root = tmp_path / "vec"
    root.mkdir()
    np.save(root / "t.npy", np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32))
    (root / "w.json").write_text(json.dumps(WORDS))
    cfg = ModelConfig(
        word_dim=8, char_dim=4, char_hidden=4, hidden=8, layers=1,
        heads=("upos", "xpos", "feats"), vectors=str(root), vectors_mode="finetune",
    )  # fmt: skip
    fast = TrainConfig(epochs=1, batch_size=16, threads=1)
    ckpt = train(
        read_conllu(toy_corpus / "toy-ud-train.conllu"),
        read_conllu(toy_corpus / "toy-ud-dev.conllu"),
        cfg, fast, log=lambda _: None, progress=False,
    )  # fmt: skip
    dev = read_conllu(toy_corpus / "toy-ud-dev.conllu")
    # unknown words: "zebra" (vector rank 5) and "gorgeously" (rank 7) have vectors,
    # "xyzzy" has none
    dev[0].words[:3] = ["zebra", "gorgeously", "xyzzy"]
    rows = measure(ckpt, [5, 0], dev)
    assert [(r["top"], r["storage"]) for r in rows] == [
        (5, "fp32"), (5, "fp16"), (5, "uint8"), (0, "fp32"), (0, "fp16"), (0, "uint8"),
    ]  # fmt: skip
    small, every = rows[0], rows[3]
    assert small["rows"] < every["rows"] and small["width"] == every["width"] == 12
    assert [r["table_bytes"] for r in rows[:3]] == [small["rows"] * 12 * b for b in (4, 2, 1)]
    for r in rows:
        w = r["words"]
        assert w["training"] + w["unknown"] == w["all"] == sum(len(s.words) for s in dev)
        assert w["vector_only"] + w["neither"] == w["unknown"]
        assert 0 <= r["upos"]["all"] <= 1 and r["conll18"]["UPOS"] == r["upos"]["all"]
    # top 5 keeps "zebra" only; all keeps "gorgeously" too
    assert (small["words"]["vector_only"], small["words"]["neither"]) == (1, 2)
    assert (every["words"]["vector_only"], every["words"]["neither"]) == (2, 1)
    ckpt.save(tmp_path / "c.pt")
    assert main([str(tmp_path / "c.pt"), "--tops", "5", "--data", str(toy_corpus),
                 "--out", str(tmp_path / "out"), "--threads", "1"]) == 0  # fmt: skip
    report = json.loads((tmp_path / "out" / "vectors_vocab.json").read_text())
    assert len(report["rows"]) == 3
    assert "| 5 | uint8 |" in (tmp_path / "out" / "vectors_vocab.md").read_text()
