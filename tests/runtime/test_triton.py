"""postag.triton: the Triton repository entry matches the manifest and the contract."""

from __future__ import annotations

import json

from click.testing import CliRunner

from postag.cli import cli


def test_triton_repository_matches_the_manifest(toy_bundle, tmp_path):
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    from postag.bundle import load_manifest

    res = CliRunner().invoke(cli, ["export-triton", str(toy_bundle[0]), str(tmp_path / "repo")])
    assert res.exit_code == 0, res.output
    model = tmp_path / "repo" / "toy"
    cfg = text_format.Parse((model / "config.pbtxt").read_text(), model_config_pb2.ModelConfig())
    man = load_manifest(toy_bundle[0])
    contract = man.contract
    dtype = {"int64": model_config_pb2.TYPE_INT64, "float32": model_config_pb2.TYPE_FP32}
    assert cfg.name == "toy" and cfg.backend == "onnxruntime" and cfg.max_batch_size == 0
    for got, spec in zip(
        list(cfg.input) + list(cfg.output), contract.inputs + contract.outputs, strict=True
    ):
        assert got.name == spec.name and got.data_type == dtype[spec.dtype]
        label_dims = {"tags": len(man.tags), **{h: len(man.labels[h]) for h in ("xpos", "feats")}}
        assert list(got.dims) == [label_dims.get(a, -1) for a in spec.axes]
    # every head's output is listed: UPOS, XPOS, UFeats
    assert [o.name for o in cfg.output] == ["log_probs", "xpos_log_probs", "feats_log_probs"]
    assert cfg.parameters["postag.manifest_sha256"].string_value == man.data["manifest_sha256"]
    assert (model / "1" / "model.onnx").read_bytes() == man.path("model.onnx").read_bytes()
    assert json.loads((model / "tags.json").read_text()) == man.tags
    for head in ("xpos", "feats"):  # the label lists a client needs to read the outputs
        assert json.loads((model / f"{head}.json").read_text()) == man.labels[head]


def test_triton_int8_entry_and_refusals(toy_bundle, tmp_path):
    import shutil

    from postag.bundle import load_manifest

    res = CliRunner().invoke(
        cli, ["export-triton", str(toy_bundle[0]), str(tmp_path / "repo"), "--int8"]
    )
    assert res.exit_code == 0, res.output
    man = load_manifest(toy_bundle[0])
    got = (tmp_path / "repo" / "toy" / "1" / "model.onnx").read_bytes()
    assert got == man.path("model.int8.onnx").read_bytes()
    # a hostile model name cannot leave OUT_DIR; a quote in it stays inside the string
    for name in ("../escape", "a/b", ".."):
        res = CliRunner().invoke(
            cli, ["export-triton", str(toy_bundle[0]), str(tmp_path / "r2"), "--model-name", name]
        )
        assert res.exit_code == 1 and "not a usable Triton model name" in res.output
    assert not (tmp_path / "escape").exists()
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    from postag.triton import config_pbtxt

    hostile = 'say "hi" \\ \n\t\x01 — ok'
    text = config_pbtxt(hostile, man, man.contract.inputs, man.contract.outputs)
    cfg = text_format.Parse(text, model_config_pb2.ModelConfig())
    assert cfg.name == hostile and cfg.backend == "onnxruntime"
    # a bundle without an int8 model: one line, no traceback
    b = tmp_path / "no-int8"
    shutil.copytree(toy_bundle[0], b)
    data = json.loads((b / "manifest.json").read_text())
    del data["files"]["model.int8.onnx"]
    (b / "model.int8.onnx").unlink()
    (b / "manifest.json").write_text(json.dumps(data))
    res = CliRunner().invoke(cli, ["export-triton", str(b), str(tmp_path / "r3"), "--int8"])
    assert res.exit_code == 1 and "this bundle has no model.int8.onnx" in res.output
    assert res.output.count("\n") == 1
