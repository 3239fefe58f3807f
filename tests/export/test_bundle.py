"""Export → bundle → verification gate, on a tiny model trained on the toy corpus."""

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from click.testing import CliRunner
from onnx import numpy_helper

from postag.bundle import identity_sha256, load_manifest
from postag.cli import cli
from postag.contract import CONTRACT, FAST_CONTRACT, IOContract
from postag.data import read_conllu
from postag.errors import BundleError, ParityError
from postag.export import bundle as bundle_mod
from postag.export.bundle import build_bundle, verify_bundle_dir
from postag.export.checkpoint import Checkpoint
from postag.export.config import ModelConfig
from postag.export.verify import Case
from postag.files import sha256_file


@pytest.fixture(scope="module")
def exported(toy_bundle):
    from postag.export.bundle import ExportResult

    path, ckpt_path, corpus = toy_bundle
    dev = read_conllu(corpus / "toy-ud-dev.conllu")
    test = read_conllu(corpus / "toy-ud-test.conllu")
    man = load_manifest(path)
    return ExportResult(path, man.data, None, 0.0), ckpt_path, dev, test


def copy_bundle(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def perturb_onnx(path: Path, factor: float = 1.5) -> None:
    """Scale the output layer's weight: the graph still runs but the numbers drift."""
    proto = onnx.load_model(str(path))
    target = next(
        t
        for t in proto.graph.initializer
        if len(t.dims) == 2 and 9 in t.dims and t.data_type == onnx.TensorProto.FLOAT
    )
    arr = numpy_helper.to_array(target) * factor
    target.CopyFrom(numpy_helper.from_array(arr.astype(np.float32), target.name))
    onnx.save_model(proto, str(path))


def test_bundle_contents_and_manifest(exported, toy_bundle):
    res, ckpt_path, _, _ = exported
    corpus = toy_bundle[2]
    files = {p.name for p in res.path.iterdir()}
    assert files == {
        "manifest.json",
        "model.onnx",
        "model.fast.onnx",
        "model.fast.int8.onnx",
        "char_forms.json",
        "model.int8.onnx",
        "model.torchscript.pt",
        "words.json",
        "chars.json",
        "tags.json",
        "verification.json",
        "training_curve.png",
        "MODEL_CARD.md",
    }
    man = load_manifest(res.path)
    d = man.data
    assert set(d["files"]) == files - {"manifest.json"}
    assert d["files"]["model.onnx"]["sha256"] == sha256_file(res.path / "model.onnx")
    assert d["producers"]["torch"] == str(torch.__version__)
    assert ModelConfig.from_dict(d["model_config"]) == Checkpoint.load(ckpt_path).model_config
    assert IOContract.from_dict(d["contract"]) == CONTRACT  # contract round-trips
    assert d["tags"] == json.loads((res.path / "tags.json").read_text())
    assert d["validation"]["ok"] is True
    assert 0.9 < d["evaluation"]["onnx-int8"]["test_accuracy"] <= 1
    assert d["checkpoint"]["sha256"] == sha256_file(ckpt_path)
    # the fast graph: forms from the training corpus, most frequent first; same accuracy
    forms = json.loads((res.path / "char_forms.json").read_text())
    assert d["fast_path"]["table_rows"] == len(forms) + 1
    assert IOContract.from_dict(d["fast_path"]["contract"]) == FAST_CONTRACT
    train_words = [w for s in read_conllu(corpus / "toy-ud-train.conllu") for w in s.words]
    assert sorted(forms) == sorted(set(train_words))
    assert train_words.count(forms[0]) == max(map(train_words.count, set(train_words)))
    fp32, fast = d["evaluation"]["onnx-fp32"], d["evaluation"]["onnx-fast"]
    assert fast == fp32
    assert d["validation"]["backends"]["onnx-fast"]["failed"] == 0
    assert d["validation"]["backends"]["onnx-fast-int8"]["failed"] == 0
    assert 0.9 < d["evaluation"]["onnx-fast-int8"]["test_accuracy"] <= 1
    assert "CC BY-SA 4.0" in (res.path / "MODEL_CARD.md").read_text()
    assert res.path.stat().st_mode & 0o755 == 0o755


def test_onnx_declares_symbolic_axes_and_identity(exported):
    res, *_ = exported
    man = load_manifest(res.path)
    for fname in ("model.onnx", "model.int8.onnx"):
        proto = onnx.load_model(str(res.path / fname))
        onnx.checker.check_model(proto, full_check=True)
        shapes = {
            v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in list(proto.graph.input) + list(proto.graph.output)
        }
        assert shapes == {
            "word_ids": ["batch", "seq"],
            "char_ids": ["batch", "seq", "word_len"],
            "lengths": ["batch"],
            "log_probs": ["batch", "seq", len(man.tags)],
        }
        meta = {p.key: p.value for p in proto.metadata_props}
        assert meta["postag.name"] == "toy"
        assert meta["postag.manifest_sha256"] == identity_sha256(man.data)


def test_torchscript_loads_without_postag_code(exported, tmp_path):
    res, *_ = exported
    code = (
        "import sys, torch; sys.modules['postag'] = None\n"  # any postag import would fail
        f"m = torch.jit.load({str(res.path / 'model.torchscript.pt')!r})\n"
        "out = m(torch.tensor([[5, 6]]), torch.tensor([[[3, 4], [5, 0]]]), torch.tensor([2]))\n"
        "print(tuple(out.shape))\n"
    )
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    assert out.stdout.strip() == "(1, 2, 9)"


def test_verify_cli_passes_on_a_good_bundle(exported):
    res, ckpt_path, *_ = exported
    out = CliRunner().invoke(cli, ["verify", str(res.path), "--checkpoint", str(ckpt_path)])
    assert out.exit_code == 0, out.output
    assert "✓ onnx-fp32" in out.output and "✗" not in out.output
    assert "all" in out.output and "checks passed" in out.output


def test_gate_fails_on_a_perturbed_onnx_model(exported, tmp_path):
    res, ckpt_path, *_ = exported
    bad = copy_bundle(res.path, tmp_path / "bad")
    perturb_onnx(bad / "model.onnx")
    report = verify_bundle_dir(
        bad,
        Checkpoint.load(ckpt_path),
        CONTRACT,
        [Case("probe", [["The", "dog", "runs", "."], ["Hi"]])],
    )
    assert not report.ok
    failed = {(c.backend, c.case) for c in report.failures}
    assert ("onnx-fp32", "probe") in failed
    assert all(c.ok for c in report.checks if c.backend == "torchscript")
    assert any(
        "log_probs: max|Δ|" in c.line() and c.line().startswith("✗") for c in report.failures
    )
    # Through the CLI (manifest hashes refreshed so only the numbers are wrong).
    man = json.loads((bad / "manifest.json").read_text())
    man["files"]["model.onnx"]["sha256"] = sha256_file(bad / "model.onnx")
    (bad / "manifest.json").write_text(json.dumps(man))
    out = CliRunner().invoke(cli, ["verify", str(bad), "--checkpoint", str(ckpt_path)])
    assert out.exit_code == 1
    assert "✗ onnx-fp32" in out.output and "log_probs" in out.output


def test_failed_export_keeps_the_previous_bundle(exported, tmp_path):
    res, ckpt_path, dev, test = exported
    target = copy_bundle(res.path, tmp_path / "out" / "toy")
    before = {p.name: sha256_file(p) for p in target.iterdir()}
    with pytest.raises(ParityError) as err:
        build_bundle(
            ckpt_path,
            target,
            dev,
            test,
            name="toy",
            threads=1,
            log=lambda _: None,
            tamper=lambda d: perturb_onnx(d / "model.onnx"),
        )
    assert "verification failed, no bundle written" in str(err.value)
    assert "✗ onnx-fp32" in str(err.value)
    assert {p.name: sha256_file(p) for p in target.iterdir()} == before
    assert [p.name for p in target.parent.iterdir()] == ["toy"]  # no temp dirs left


def test_interrupted_export_keeps_the_previous_bundle(exported, tmp_path, monkeypatch):
    res, ckpt_path, dev, _ = exported
    target = copy_bundle(res.path, tmp_path / "out" / "toy")
    before = {p.name: sha256_file(p) for p in target.iterdir()}

    def interrupted(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr(bundle_mod, "export_onnx", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_bundle(ckpt_path, target, dev, name="toy", log=lambda _: None)
    assert {p.name: sha256_file(p) for p in target.iterdir()} == before
    assert [p.name for p in target.parent.iterdir()] == ["toy"]


def test_changed_byte_or_missing_file_is_refused(exported, tmp_path):
    res, *_ = exported
    b = copy_bundle(res.path, tmp_path / "b1")
    data = bytearray((b / "words.json").read_bytes())
    data[5] ^= 1
    (b / "words.json").write_bytes(bytes(data))
    with pytest.raises(BundleError, match="words.json: sha256 mismatch"):
        load_manifest(b)
    b = copy_bundle(res.path, tmp_path / "b2")
    (b / "model.onnx").unlink()
    with pytest.raises(BundleError, match="missing file model.onnx"):
        load_manifest(b)
    b = copy_bundle(res.path, tmp_path / "b3")
    man = json.loads((b / "manifest.json").read_text())
    man["format_version"] = 99
    (b / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(BundleError, match="unsupported bundle format 99"):
        load_manifest(b)
    (b / "manifest.json").write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        load_manifest(b)
    with pytest.raises(BundleError, match="not a bundle directory"):
        load_manifest(tmp_path / "nothing")
    out = CliRunner().invoke(cli, ["verify", str(tmp_path / "b2")])
    assert out.exit_code == 1 and "missing file model.onnx" in out.output


def test_verify_refuses_a_different_checkpoint(exported, tmp_path):
    res, ckpt_path, *_ = exported
    other = tmp_path / "other.pt"
    ck = Checkpoint.load(ckpt_path)
    ck.metrics["note"] = "changed"
    ck.save(other)
    out = CliRunner().invoke(cli, ["verify", str(res.path), "--checkpoint", str(other)])
    assert out.exit_code == 1 and "not the checkpoint this bundle was exported from" in out.output


def test_int8_model_quantises_every_lstm(exported):
    """Regression: unfolded Slice/Concat weight reordering once kept the LSTMs out of
    reach of the quantiser, leaving a "int8" model whose LSTMs ran in fp32."""
    res, *_ = exported
    fp32 = onnx.load_model(str(res.path / "model.onnx"))
    int8 = onnx.load_model(str(res.path / "model.int8.onnx"))
    inits = {t.name for t in fp32.graph.initializer}
    lstms = [n for n in fp32.graph.node if n.op_type == "LSTM"]
    assert len(lstms) == 6  # char fwd/bwd + 2 layers x fwd/bwd
    assert all(n.input[1] in inits and n.input[2] in inits for n in lstms)  # W, R folded
    ops = [n.op_type for n in int8.graph.node]
    assert ops.count("DynamicQuantizeLSTM") == 6 and "LSTM" not in ops
