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
        assert list(got.dims) == [-1 if a != "tags" else len(man.tags) for a in spec.axes]
    assert cfg.parameters["postag.manifest_sha256"].string_value == man.data["manifest_sha256"]
    assert (model / "1" / "model.onnx").read_bytes() == man.path("model.onnx").read_bytes()
    assert json.loads((model / "tags.json").read_text()) == man.tags
