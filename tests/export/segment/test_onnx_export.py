"""postag.export.segment.onnx_export: the graph's I/O and dynamic axes, segmenter.json,
and the parity check of the graph against PyTorch through label_text, which passes for
a true export and fails, listing every mismatch, for a graph made to differ. One tiny
model is trained and exported once for the module (the export runs in a subprocess)."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch
from onnx import helper, numpy_helper

from postag.errors import ParityError
from postag.export.graphs.onnx_export import declared_shapes
from postag.export.segment.onnx_export import (
    ATOL,
    check_segmenter_parity,
    export_segmenter,
    onnx_predict,
)
from postag.export.segment.trainer import read_checkpoint, train_segmenter
from postag.export.train.checkpoint import CheckpointError
from postag.segmentation import LABELS, N_FEATURES, N_LABELS, char_features
from tests.export.segment.test_trainer import TINY, write_treebank

TEXTS = [
    "Il parle du vin. Marie don't eat the fish!",
    "",
    "x",
    "The cat sees a dog\n\nWe likes them? " * 12,  # several windows, a paragraph break
    "Zoë ✓ 漢字 ¿qué? " * 5,  # unknown characters
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("seg")
    tb = write_treebank(root / "tb", n_train=30, n_dev=8)
    ckpt = root / "seg.pt"
    train_segmenter(
        tb, TINY.replace(epochs=2, conv_width=3, conv_channels=8), ckpt, log=lambda _: None
    )
    paths = export_segmenter(ckpt, root / "out")
    return ckpt, paths


def test_files_and_declared_io(exported):
    ckpt, paths = exported
    assert sorted(p.name for p in paths.onnx.parent.iterdir()) == [
        "segmenter.json",
        "segmenter.onnx",
    ]
    proto = onnx.load_model(str(paths.onnx))
    assert declared_shapes(proto) == {
        "chars": ["batch", "length"],
        "features": ["batch", "length", N_FEATURES],
        "label_scores": ["batch", "length", N_LABELS],
    }
    assert [i.type.tensor_type.elem_type for i in proto.graph.input] == [
        onnx.TensorProto.INT64,
        onnx.TensorProto.FLOAT,
    ]
    meta = json.loads(paths.json.read_text("utf-8"))
    c = read_checkpoint(ckpt)
    assert meta["format"] == 1 and meta["labels"] == list(LABELS)
    assert meta["chars"] == c.table.to_list() and meta["config"] == c.config.to_dict()
    assert meta["window"] == {"size": c.config.size, "context": c.config.context}
    assert meta["mwt"] == c.lexicon.to_dict() and meta["treebank"] == "xx_tiny"
    assert meta["metrics"]["dev_tokens_f1"] == c.metrics["dev_tokens_f1"]


@pytest.mark.parametrize("batch,length", [(1, 7), (3, 300), (2, 1)])
def test_dynamic_batch_and_length_match_pytorch(exported, batch, length):
    ckpt, paths = exported
    model = read_checkpoint(ckpt).model
    rng = np.random.default_rng(length)
    ids = rng.integers(1, model.cfg.n_chars, (batch, length)).astype(np.int64)
    ids[-1, length // 2 + 1 :] = 0  # the last row padded
    feats = rng.random((batch, length, N_FEATURES)).astype(np.float32) < 0.3
    feats = feats.astype(np.float32) * (ids != 0)[:, :, None]
    got = onnx_predict(paths.onnx)(ids, feats)
    assert got.shape == (batch, length, N_LABELS) and got.dtype == np.float32
    with torch.no_grad():
        ref = model(torch.from_numpy(ids), torch.from_numpy(feats)).numpy()
    real = ids != 0
    np.testing.assert_allclose(got[real], ref[real], rtol=0, atol=ATOL)


def test_parity_passes_on_texts_and_prints_a_line_per_text(exported):
    ckpt, paths = exported
    lines: list[str] = []
    report = check_segmenter_parity(ckpt, paths.onnx, TEXTS, log=lines.append)
    assert report.ok and not report.mismatches and report.max_abs_diff <= ATOL
    assert len(report.checks) == len(TEXTS) and len(lines) == len(TEXTS) + 1
    assert all(line.startswith("✓") for line in lines), lines
    assert report.characters == sum(len(t) for t in TEXTS)
    assert report.to_dict()["ok"] is True


def _shifted(src, dst, shift: np.ndarray) -> None:
    """A copy of the graph with ``shift`` (N_LABELS,) added to every label score."""
    proto = onnx.load_model(str(src))
    last = next(n for n in proto.graph.node if "label_scores" in n.output)
    last.output[list(last.output).index("label_scores")] = "raw_scores"
    proto.graph.initializer.append(numpy_helper.from_array(shift.astype(np.float32), "shift"))
    proto.graph.node.append(helper.make_node("Add", ["raw_scores", "shift"], ["label_scores"]))
    onnx.save_model(proto, str(dst))


def test_parity_fails_listing_every_mismatch(exported, tmp_path):
    """A graph whose scores favour "sentence" by 50: labels differ, each one listed."""
    ckpt, paths = exported
    bad = tmp_path / "bad.onnx"
    _shifted(paths.onnx, bad, np.array([0, 0, 50, 0, 0]))
    lines: list[str] = []
    with pytest.raises(ParityError) as err:
        check_segmenter_parity(ckpt, bad, TEXTS[:1], log=lines.append)
    text = TEXTS[0]
    # every character is labelled "sentence" by the bad graph: a mismatch wherever
    # PyTorch says otherwise, and every one of them is in the message
    report = check_segmenter_parity(ckpt, bad, TEXTS[:1], log=lambda _: None,
                                    raise_on_failure=False)  # fmt: skip
    assert not report.ok and len(report.mismatches) > 10
    assert all(m.onnx == "sentence" and m.torch != "sentence" for m in report.mismatches)
    message = str(err.value)
    for m in report.mismatches:
        assert (
            f"text 0 offset {m.offset} ({text[m.offset]!r}): torch {m.torch}, onnx sentence"
            in message
        )
    assert lines[0].startswith("✗") and "labels" in lines[0] and lines[-1].startswith("✗")


def test_parity_fails_on_scores_beyond_the_tolerance(exported, tmp_path):
    """The same labels but every score off by 10 x atol: still a failure (fp32 rule)."""
    ckpt, paths = exported
    bad = tmp_path / "off.onnx"
    _shifted(paths.onnx, bad, np.full(N_LABELS, 10 * ATOL))
    with pytest.raises(ParityError, match=r"max\|Δ\| 1\.00e-03") as err:
        check_segmenter_parity(ckpt, bad, TEXTS[:1], log=lambda _: None)
    assert "offset" not in str(err.value)  # no character labelled differently


def test_export_refuses_a_bad_checkpoint_and_keeps_the_old_directory(exported, tmp_path):
    _, paths = exported
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(CheckpointError):
        export_segmenter(tmp_path / "junk.pt", paths.onnx.parent)
    assert paths.onnx.exists() and paths.json.exists()


def test_features_of_a_text_are_what_label_text_feeds():
    """The graph's ``features`` input is char_features: (n, 4) float32 of 0/1."""
    f = char_features("A1 .")
    assert f.dtype == np.float32 and f.tolist() == [
        [0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 0], [0, 0, 0, 1],
    ]  # fmt: skip
