"""postag.export.parity: whole-corpus comparison of backends with eager PyTorch, judged by
the gate's rule; the report files; `postag parity`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from postag.cli import cli
from postag.contract import CONTRACT
from postag.export.backends import Backend
from postag.export.parity import compare_backends, markdown_table, write_report
from postag.export.train.predict import torch_heads_runner
from tests.export.test_gate import WORDS, tiny  # noqa: F401 - the tiny model fixture


def torch_runner(model):  # noqa: ANN001, ANN201
    """The UPOS log-probs of a model as one array (the one-head runners these tests build)."""
    run = torch_heads_runner(model, model.cfg.heads)
    return lambda batch: run(batch)["upos"]


SENTENCES = [["the", "dog", "runs", "."], ["a", "cat", "sleeps"], WORDS * 4, ["."]]
TOKENS = 4 + 3 + 28 + 1


def flip_first_token(run):  # noqa: ANN001, ANN201
    """A runner whose first sentence's first token picks another tag."""

    def flipped(batch):
        out = run(batch).copy()
        first = int(np.flatnonzero(batch.lengths == 4)[0]) if 4 in batch.lengths else None
        if first is not None:
            out[first, 0] = out[first, 0, ::-1]
        return out

    return flipped


def test_compare_backends_measures_and_judges(tiny):  # noqa: F811
    model, enc = tiny
    exact = torch_runner(model)
    backends = [
        Backend("same", exact, True),
        Backend("shifted", lambda b: exact(b) + np.float32(2e-5), True),
        Backend("one-flip", flip_first_token(exact), True),
        Backend("q-one-flip", flip_first_token(exact), False),
    ]
    r = compare_backends(model, enc, backends, SENTENCES, CONTRACT)
    assert list(r) == ["same", "shifted", "one-flip", "q-one-flip"]
    same = r["same"]
    assert same["sentences"] == 4 and same["tokens"] == TOKENS and same["ok"]
    assert same["tag_agreement"] == 1.0 and same["identical_sentences"] == 4
    assert same["max_abs_diff"] == 0.0 and same["mean_abs_diff"] == 0.0
    assert r["shifted"]["ok"] and r["shifted"]["max_abs_diff"] == pytest.approx(2e-5, rel=1e-2)
    assert r["shifted"]["mean_abs_diff"] == pytest.approx(2e-5, rel=1e-2)
    flip = r["one-flip"]  # fp32: one differing tag fails
    assert not flip["ok"] and flip["identical_sentences"] == 3
    assert flip["tag_agreement"] == pytest.approx((TOKENS - 1) / TOKENS)
    assert "tags 97.22% < 100%" in flip["gate"]
    q = r["q-one-flip"]  # int8: 35/36 = 97.2% < 98%
    assert not q["ok"] and q["gate"].endswith("tags 97.22% < 98%")


def test_the_int8_rate_is_over_the_whole_split(tiny):  # noqa: F811
    model, enc = tiny
    many = SENTENCES + [WORDS * 3] * 4  # 36 + 84 tokens: one flip is 99.2%
    q = Backend("q", flip_first_token(torch_runner(model)), False)
    r = compare_backends(model, enc, [q], many, CONTRACT)["q"]
    assert r["ok"] and r["tag_agreement"] == pytest.approx(119 / 120)


def test_report_files(tmp_path):
    results = {
        "onnx-fp32": {
            "sentences": 2,
            "tokens": 9,
            "tag_agreement": 1.0,
            "identical_sentences": 2,
            "max_abs_diff": 1.5e-6,
            "mean_abs_diff": 2.5e-7,
            "fp32": True,
            "ok": True,
            "gate": "max|Δ| 1.50e-06 ≤ 0.0001, tags 100.00%",
        },
        "onnx-int8": {
            "sentences": 2,
            "tokens": 9,
            "tag_agreement": 8 / 9,
            "identical_sentences": 1,
            "max_abs_diff": 0.25,
            "mean_abs_diff": 0.01,
            "fp32": False,
            "ok": False,
            "gate": "max|Δ| 2.50e-01, tags 88.89% < 98%",
        },
    }
    table = markdown_table(results, "T")
    assert table.splitlines()[4] == (
        "| onnx-fp32 | upos | 2 | 9 | 100.000% | 2 | 1.50e-06 | 2.50e-07 | ✓ |"
    )
    assert table.splitlines()[5].endswith("| 88.889% | 1 | 2.50e-01 | 1.00e-02 | ✗ |")
    j, m = write_report(results, tmp_path / "out", "T", {"bundle": "b"})
    assert json.loads(j.read_text()) == {"title": "T", "bundle": "b", "backends": results}
    assert m.read_text() == table
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["parity.json", "parity.md"]


def test_parity_cli_on_the_toy_bundle(toy_bundle, tmp_path):
    bundle, _, corpus = toy_bundle
    out = tmp_path / "report"
    res = CliRunner().invoke(
        cli,
        ["--threads", "1", "parity", str(bundle), "--split", "test", "--data", str(corpus)]
        + ["--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads((out / "parity.json").read_text())
    rows = doc["backends"]
    assert {"torchscript", "onnx-fp32", "onnx-int8", "onnx-fast", "onnx-fast-int8"} <= set(rows)
    assert all(r["ok"] and r["sentences"] == 60 for r in rows.values())
    assert rows["onnx-fp32"]["tag_agreement"] == 1.0
    assert rows["onnx-fp32"]["max_abs_diff"] <= CONTRACT.atol
    assert "| onnx-fast |" in res.output and doc["file"].endswith("toy-ud-test.conllu")
