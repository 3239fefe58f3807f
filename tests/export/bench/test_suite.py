"""`postag bench` runs end to end on a tiny bundle and writes a well-formed report.
(It measures; it never asserts a timing.)"""

import json

from click.testing import CliRunner

from postag.cli import cli
from postag.export.bench.measure import flops_per_token
from postag.export.bench.suite import before_after


def test_bench_writes_a_report(toy_bundle, tmp_path):
    bundle, ckpt, corpus = toy_bundle
    out = tmp_path / "bench"
    res = CliRunner().invoke(
        cli,
        [
            "--threads",
            "1",
            "bench",
            str(bundle),
            "--checkpoint",
            str(ckpt),
            "--seed-checkpoint",
            str(ckpt),  # stands in for the seed preset's checkpoint
            "--split",
            str(corpus / "toy-ud-test.conllu"),
            "--sentences",
            "12",
            "--repeats",
            "1",
            "--size-sweep",
            "4",
            "--baseline",
            str(bundle),  # stands in for the previous default's bundle
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    report = json.loads((out / "bench.json").read_text())
    names = [b["backend"] for b in report["backends"]]
    assert names[:10] == [
        "pytorch",
        "torchscript",
        "onnx-fp32",
        "onnx-fp32 [baseline]",  # each right after the same backend of the bundle
        "onnx-int8",
        "onnx-int8 [baseline]",
        "runtime",
        "runtime [baseline]",
        "runtime-int8",
        "runtime-int8 [baseline]",
    ]
    assert names[-1] == "seed-pytorch"
    assert report["baseline"] == str(bundle)
    rt = report["backends"][6]
    # the fast graph skips the char BiLSTM for known forms: less work per token
    assert 0 <= rt["new_form_share"] < 1
    assert rt["flops_per_token_done"] < rt["flops_per_token"]
    assert rt["raw_text"]["tokens"] > 0 and rt["raw_text"]["words_per_s"] > 0
    # a ratio of two timings: positive; no upper bound asserted (no timing assertions:
    # on a tiny fixture and a busy machine two medians can come out in either order)
    assert rt["raw_text"]["tokenization_share"] > 0
    for b in report["backends"]:
        assert set(b["throughput"]) == {"1", "8", "64", "256"}
        assert all(v > 0 for v in b["throughput"].values())
        assert 0 < b["latency_ms"]["p50"] <= b["latency_ms"]["p95"] <= b["latency_ms"]["p99"]
        assert b["peak_rss_mb"] > 0
    assert set(report["cold_start_s"]) == {"postag tag (onnxruntime)", "PyTorch (checkpoint)"}
    assert report["roofline"]["best_words_per_s"] > 0
    assert "onnxruntime" in report["installed"]["runtime_packages"]
    assert "torch" not in report["installed"]["runtime_packages"]
    sweep = report["size_sweep"]
    assert [r["hidden"] for r in sweep] == [4]  # the toy bundle's own hidden size is 16
    assert 0 < sweep[0]["flops_per_token"] < report["roofline"]["flops_per_token"]
    assert sweep[0]["p50_ms"] > 0 and sweep[0]["words_per_s"] > 0
    md = (out / "bench.md").read_text()
    assert "| onnx-fp32 |" in md and "| runtime |" in md and "Roofline" in md
    assert "Raw text" in md and "| 4 |" in md
    before_after = [line for line in md.splitlines() if line.endswith(("| ✓ |", "| ✗ |"))]
    assert [line.split(" | ")[0] for line in before_after] == [
        "| onnx-fp32", "| onnx-int8", "| runtime", "| runtime-int8"
    ]  # fmt: skip
    # every target gets a ✓/✗ line with the measured value
    targets = [line for line in md.splitlines() if line.startswith(("- ✓", "- ✗"))]
    assert len(targets) == 5 and any("cold start" in t for t in targets)
    for png in ("throughput.png", "latency.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"


def test_flops_per_token_counts_every_lstm():
    cfg = {
        "char_hidden": 0,
        "char_dim": 0,
        "word_dim": 10,
        "bidirectional": False,
        "layers": 1,
        "hidden": 5,
        "n_tags": 3,
    }
    assert flops_per_token(cfg, 4.0) == 2 * 4 * 5 * (10 + 5) + 2 * 5 * 3
    bi = {**cfg, "bidirectional": True, "char_hidden": 2, "char_dim": 3}
    # char BiLSTM per character (x avg word length) + both directions of the layer
    assert flops_per_token(bi, 4.0) == (
        2 * (2 * 4 * 2 * (3 + 2)) * 4.0 + 2 * (2 * 4 * 5 * (10 + 4 + 5)) + 2 * 10 * 3
    )
    # the fast graph: the char BiLSTM counted for a share of the tokens only
    assert flops_per_token(bi, 4.0, 0.25) == (
        2 * (2 * 4 * 2 * (3 + 2)) * 4.0 * 0.25 + 2 * (2 * 4 * 5 * (10 + 4 + 5)) + 2 * 10 * 3
    )


def test_before_after_pairs_each_backend_with_its_baseline_row():
    def row(name, *wps):
        return {"backend": name, "throughput": dict(zip(("1", "8"), wps, strict=True))}

    results = [
        row("pytorch", 5.0, 9.0),
        row("onnx-fp32", 10.0, 80.0),
        row("onnx-fp32 [baseline]", 12.0, 100.0),
        row("runtime", 20.0, 90.0),  # no baseline row: not paired
    ]
    assert before_after(results) == [("onnx-fp32", 80.0, 100.0)]
