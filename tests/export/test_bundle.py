"""Export → bundle → verification gate, on a tiny model trained on the toy corpus;
``postag verify`` re-runs exactly the export's checks."""

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from click.testing import CliRunner
from onnx import numpy_helper

from postag.bundle import load_manifest, sentences_sha256
from postag.cli import cli
from postag.contract import CONTRACT, FAST_CONTRACT, IOContract
from postag.data import read_conllu
from postag.errors import BundleError, ParityError
from postag.export import bundle as bundle_mod
from postag.export import gate as gate_mod
from postag.export.backends import bundle_backends
from postag.export.bundle import build_bundle
from postag.export.gate import Case, accuracy_checks, run_gate, torchscript_metadata
from postag.export.train.checkpoint import Checkpoint
from postag.export.train.config import HEADS, ModelConfig
from postag.files import sha256_file
from tests.runtime.test_bundle import to_format_1


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
        "xpos.json",
        "feats.json",
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
    # the contract round-trips: one output per head, in head order
    assert IOContract.from_dict(d["contract"]) == CONTRACT.with_heads(HEADS)
    assert d["tags"] == json.loads((res.path / "tags.json").read_text())
    for head in ("xpos", "feats"):  # each head's labels: in the manifest and a file
        assert d["labels"][head] == json.loads((res.path / f"{head}.json").read_text())
        assert d["vocab_files"][head] == f"{head}.json"
    assert man.labels == {"upos": d["tags"], **d["labels"]}
    assert d["validation"]["ok"] is True
    assert d["format_version"] == 2
    test = read_conllu(corpus / "toy-ud-test.conllu")  # the int8 accuracy checks scored it
    assert d["gate"] == {"split": "test", "sentences": 60, "sha256": sentences_sha256(test)}
    for key in ("test_accuracy", "test_xpos_accuracy", "test_feats_accuracy"):  # every head
        assert 0.85 < d["evaluation"]["onnx-int8"][key] <= 1, key
    assert d["checkpoint"]["sha256"] == sha256_file(ckpt_path)
    # the fast graph: forms from the training corpus, most frequent first; same accuracy
    forms = json.loads((res.path / "char_forms.json").read_text())
    assert d["fast_path"]["table_rows"] == len(forms) + 1
    assert IOContract.from_dict(d["fast_path"]["contract"]) == FAST_CONTRACT.with_heads(HEADS)
    train_words = [w for s in read_conllu(corpus / "toy-ud-train.conllu") for w in s.words]
    assert sorted(forms) == sorted(set(train_words))
    assert train_words.count(forms[0]) == max(map(train_words.count, set(train_words)))
    fp32, fast = d["evaluation"]["onnx-fp32"], d["evaluation"]["onnx-fast"]
    assert fast == fp32
    assert d["validation"]["backends"]["onnx-fast"]["failed"] == 0
    assert d["validation"]["backends"]["onnx-fast-int8"]["failed"] == 0
    assert 0.9 < d["evaluation"]["onnx-fast-int8"]["test_accuracy"] <= 1
    # the toy corpus is no treebank the registry knows: no license claimed for it
    card = (res.path / "MODEL_CARD.md").read_text()
    assert "The training data's license applies to this model: check it." in card
    assert "CC BY-SA" not in card
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
            "xpos_log_probs": ["batch", "seq", len(man.labels["xpos"])],
            "feats_log_probs": ["batch", "seq", len(man.labels["feats"])],
        }
        meta = {p.key: p.value for p in proto.metadata_props}
        assert meta["postag.name"] == "toy"
        assert meta["postag.manifest_sha256"] == man.identity == man.computed_identity()
    ts = torchscript_metadata(res.path / "model.torchscript.pt")
    assert ts["postag.manifest_sha256"] == man.identity and ts["postag.name"] == "toy"


def test_torchscript_loads_without_postag_code(exported, tmp_path):
    res, *_ = exported
    code = (
        "import sys, torch; sys.modules['postag'] = None\n"  # any postag import would fail
        f"m = torch.jit.load({str(res.path / 'model.torchscript.pt')!r})\n"
        "out = m(torch.tensor([[5, 6]]), torch.tensor([[[3, 4], [5, 0]]]), torch.tensor([2]))\n"
        "print(tuple(out[0].shape))\n"
    )
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    assert out.stdout.strip() == "(1, 2, 9)"  # UPOS: 9 toy tags (then XPOS, UFeats)


def verify_cli(bundle: Path, ckpt: Path, corpus: Path | None, *more: str):
    args = ["verify", str(bundle), "--checkpoint", str(ckpt)]
    return CliRunner().invoke(cli, args + (["--data", str(corpus)] if corpus else []) + [*more])


def check_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line[:2] in ("✓ ", "✗ ")]


def test_verify_prints_the_checks_and_verdict_the_export_ran(exported, toy_bundle):
    """The export logged one line per check (recorded in the manifest) and its verdict;
    `postag verify` prints the same checks in the same order, with the same verdicts
    (numbers re-measured), and the same verdict line."""
    res, ckpt_path, *_ = exported
    out = verify_cli(res.path, ckpt_path, toy_bundle[2])
    assert out.exit_code == 0, out.output
    recorded = [gate_mod.Check(**c) for c in load_manifest(res.path).data["validation"]["checks"]]
    got = check_lines(out.output)
    assert len(got) == len(recorded) > 40
    for line, check in zip(got, recorded, strict=True):  # name and verdict; numbers re-measured
        assert line.startswith(check.line()[: len(check.line()) - len(check.detail)]), (line, check)
    assert out.output.splitlines()[len(got)] == f"all {len(got)} checks passed"
    # every kind of check the export runs is re-run, including int8 accuracy on test
    cases = {(c.backend, c.case) for c in recorded}
    for head in HEADS:  # int8 accuracy on test, every head
        assert {
            ("onnx-int8", f"test {head} accuracy"),
            ("onnx-fast-int8", f"test {head} accuracy"),
        } <= cases
    assert ("model.onnx", "manifest identity") in cases
    assert ("model.torchscript.pt", "manifest identity") in cases
    assert ("model.fast.int8.onnx", "declared shapes") in cases
    assert all(("onnx-fast-int8", f"all cases, {h}") in cases for h in HEADS)


def test_verify_fails_an_int8_accuracy_drop(exported, toy_bundle, monkeypatch):
    res, ckpt_path, *_ = exported
    real = gate_mod.onnx_accuracies

    def worse_int8(backends, ckpt, sentences):  # 2 points worse XPOS for onnx-int8
        acc = real(backends, ckpt, sentences)
        acc["onnx-int8"]["xpos"] -= 0.02
        return acc

    monkeypatch.setattr(gate_mod, "onnx_accuracies", worse_int8)
    out = verify_cli(res.path, ckpt_path, toy_bundle[2])
    assert out.exit_code == 1
    bad = [x for x in check_lines(out.output) if x.startswith("✗")]
    assert len(bad) == 1 and bad[0].split()[1:5] == ["onnx-int8", "test", "xpos", "accuracy"]
    assert "accuracy drop 2.00 pt > 1 pt" in bad[0]
    assert "1 of " in out.output and "checks failed: onnx-int8 test xpos accuracy" in out.output


def test_accuracy_checks_pair_each_int8_graph_with_its_fp32_graph():
    acc = {
        k: {"upos": v}
        for k, v in {
            "onnx-fp32": 0.95,
            "onnx-int8": 0.945,
            "onnx-fast": 0.95,
            "onnx-fast-int8": 0.93,
        }.items()
    }
    checks = accuracy_checks(CONTRACT, "dev", acc)
    assert [(c.backend, c.case, c.ok) for c in checks] == [
        ("onnx-int8", "dev accuracy", True),  # half a point
        ("onnx-fast-int8", "dev accuracy", False),  # 2 points
    ]
    assert checks[1].detail == "93.00% vs fp32 95.00%, accuracy drop 2.00 pt > 1 pt"
    assert accuracy_checks(CONTRACT, "dev", {"onnx-int8": {"upos": 0.5}}) == []  # no fp32
    # a joint tagger: one check per head, named by it
    joint = CONTRACT.with_heads(HEADS)
    acc = {k: {h: 0.95 for h in HEADS} for k in ("onnx-fp32", "onnx-int8")}
    acc["onnx-int8"]["feats"] = 0.9
    checks = accuracy_checks(joint, "test", acc)
    assert [(c.case, c.ok) for c in checks] == [
        ("test upos accuracy", True),
        ("test xpos accuracy", True),
        ("test feats accuracy", False),
    ]


def test_verify_refuses_a_missing_or_different_corpus(exported, toy_bundle, tmp_path):
    res, ckpt_path, *_ = exported
    out = verify_cli(res.path, ckpt_path, tmp_path / "nowhere")
    assert out.exit_code == 1
    assert "int8 accuracy checks on the test split it scored" in out.output
    assert "no such file or directory" in out.output and "Traceback" not in out.output
    other = tmp_path / "other"
    shutil.copytree(toy_bundle[2], other)
    test = other / "toy-ud-test.conllu"
    test.write_text(test.read_text().replace("\tNOUN\t", "\tVERB\t", 1))
    out = verify_cli(res.path, ckpt_path, other)
    assert out.exit_code == 1
    assert "holds other sentences" in out.output and "pass --data" in out.output
    # the same sentences in another file (CRLF line ends, a BOM) are the same sentences
    test.write_bytes(
        b"\xef\xbb\xbf"
        + (toy_bundle[2] / "toy-ud-test.conllu").read_bytes().replace(b"\n", b"\r\n")
    )
    out = verify_cli(res.path, ckpt_path, other)
    assert out.exit_code == 0, out.output


def test_verify_refuses_checks_other_than_the_exports(exported, toy_bundle, tmp_path):
    res, ckpt_path, *_ = exported
    b = copy_bundle(res.path, tmp_path / "b")
    man = json.loads((b / "manifest.json").read_text())
    dropped = man["validation"]["checks"].pop(3)
    (b / "manifest.json").write_text(json.dumps(man))
    out = verify_cli(b, ckpt_path, toy_bundle[2])
    assert out.exit_code == 1
    assert "not the checks the export ran" in out.output
    assert f"new: {dropped['backend']} {dropped['case']}" in out.output


def test_verify_reruns_a_format_1_bundle(upos_bundle, tmp_path):
    """A format-1 manifest records no `gate`: the corpus' test file sha256 stands in."""
    path, ckpt_path, corpus = upos_bundle
    test_file = corpus / "toy-ud-test.conllu"
    old = to_format_1(path, tmp_path / "v1", corpus_test=test_file, torchscript=True)
    out = verify_cli(old, ckpt_path, corpus)
    assert out.exit_code == 0, out.output
    assert ["✓", "onnx-int8", "test", "accuracy"] in [
        x.split()[:4] for x in check_lines(out.output)
    ]
    unrecorded = to_format_1(path, tmp_path / "v1b", corpus_test=None, torchscript=True)
    out = verify_cli(unrecorded, ckpt_path, corpus)
    assert out.exit_code == 1 and "re-export the bundle to verify it" in out.output


def gate_of(root: Path, ckpt_path: Path, cases: list[Case]):
    """The export's gate on ``root`` (no accuracy split: the structural checks only)."""
    man = json.loads((root / "manifest.json").read_text())
    contract = IOContract.from_dict(man["contract"])
    contracts = {"contract": contract, "fast": FAST_CONTRACT.with_heads(contract.heads)}
    backends = bundle_backends(root, contract, threads=1)
    ckpt = Checkpoint.load(ckpt_path)
    return run_gate(root, ckpt, contracts, cases, man["manifest_sha256"], backends, "dev", {})


def test_gate_fails_on_a_perturbed_onnx_model(exported, toy_bundle, tmp_path):
    res, ckpt_path, *_ = exported
    bad = copy_bundle(res.path, tmp_path / "bad")
    perturb_onnx(bad / "model.onnx")
    report = gate_of(bad, ckpt_path, [Case("probe", [["The", "dog", "runs", "."], ["Hi"]])])
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
    out = verify_cli(bad, ckpt_path, toy_bundle[2])
    assert out.exit_code == 1
    assert "✗ onnx-fp32" in out.output and "log_probs" in out.output
    assert "checks failed: onnx-fp32 dev sample [0]" in out.output


def test_gate_reports_a_model_file_of_another_identity(exported, tmp_path):
    res, ckpt_path, *_ = exported
    bad = copy_bundle(res.path, tmp_path / "bad")
    proto = onnx.load_model(str(bad / "model.int8.onnx"))
    for prop in proto.metadata_props:
        if prop.key == "postag.manifest_sha256":
            prop.value = "f" * 64
    onnx.save_model(proto, str(bad / "model.int8.onnx"))
    report = gate_of(bad, ckpt_path, [Case("probe", [["Hi"]])])
    assert [(c.backend, c.case) for c in report.failures] == [
        ("model.int8.onnx", "manifest identity")
    ]
    assert report.failures[0].detail.startswith("metadata ffffffffffff…, manifest ")


def test_failed_export_keeps_the_previous_bundle(exported, tmp_path):
    res, ckpt_path, dev, test = exported
    target = copy_bundle(res.path, tmp_path / "out" / "toy")
    before = {p.name: sha256_file(p) for p in target.iterdir()}
    logged: list[str] = []
    with pytest.raises(ParityError) as err:
        build_bundle(
            ckpt_path,
            target,
            dev,
            test,
            name="toy",
            threads=1,
            log=logged.append,
            tamper=lambda d: perturb_onnx(d / "model.onnx"),
        )
    assert "verification failed, no bundle written" in str(err.value)
    assert "✗ onnx-fp32" in str(err.value)
    assert logged[-1].startswith(f"{len(err.value.args[0].splitlines()) - 1} of ")
    assert "checks failed: onnx-fp32" in logged[-1]
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
    assert out.output.count("\n") == 1  # one line


def test_verify_refuses_a_different_checkpoint(exported, tmp_path):
    res, ckpt_path, *_ = exported
    other = tmp_path / "other.pt"
    ck = Checkpoint.load(ckpt_path)
    ck.metrics["note"] = "changed"
    ck.save(other)
    out = CliRunner().invoke(cli, ["verify", str(res.path), "--checkpoint", str(other)])
    assert out.exit_code == 1 and "not the checkpoint this bundle was exported from" in out.output
    out = CliRunner().invoke(cli, ["verify", str(res.path), "--checkpoint", str(tmp_path / "x")])
    assert out.exit_code == 1 and "needs the PyTorch checkpoint" in out.output


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
