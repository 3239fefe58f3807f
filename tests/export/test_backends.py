"""postag.export.backends: the backends the gate, the parity suite and `postag parity` run."""

from __future__ import annotations

import json
import shutil

import numpy as np
import onnxruntime as ort
import pytest

from postag.bundle import load_manifest
from postag.errors import BundleError
from postag.export.backends import FP32_OF, bundle_backends, cuda_available


@pytest.fixture(scope="module")
def toy(toy_bundle):
    man = load_manifest(toy_bundle[0])
    return man, bundle_backends(man.root, man.contract, threads=1)


def test_every_model_file_is_a_backend_in_a_fixed_order(toy):
    _, backends = toy
    assert [(b.name, b.fp32) for b in backends] == [
        ("torchscript", True),
        ("onnx-fp32", True),
        ("onnx-int8", False),
        ("onnx-fast", True),
        ("onnx-fast-int8", False),
    ]
    names = {b.name for b in backends}
    assert all(q in names and ref in names for q, ref in FP32_OF.items())


def test_backends_agree_on_an_encoded_batch(toy):
    man, backends = toy
    batch = man.encoder().encode([["The", "dog", "sees", "a", "cat", "."], ["Zyxwv"]])
    out = {b.name: b.run(batch) for b in backends}
    assert man.contract.heads == ["upos", "xpos", "feats"]  # the toy bundle is a joint tagger
    for name, heads in out.items():
        assert list(heads) == man.contract.heads, name
        for head, lp in heads.items():
            want = (2, 6, len(man.labels[head]))
            assert lp.shape == want and lp.dtype == np.float32, (name, head)
    for head in man.contract.heads:
        ref = out["onnx-fp32"][head]
        for name in ("torchscript", "onnx-fast"):  # fp32: the same numbers within atol
            got = out[name][head]
            assert float(np.abs(got[0] - ref[0]).max()) <= man.contract.atol, (name, head)
            assert float(np.abs(got[1, :1] - ref[1, :1]).max()) <= man.contract.atol, (name, head)
        # probabilities: each real token's distribution sums to one
        np.testing.assert_allclose(np.exp(ref[0]).sum(-1), 1.0, rtol=1e-5)


def test_a_bundle_without_fast_or_int8_graphs_has_fewer_backends(toy_bundle, tmp_path):
    b = tmp_path / "b"
    shutil.copytree(toy_bundle[0], b)
    for name in ("model.fast.onnx", "model.fast.int8.onnx", "char_forms.json", "model.int8.onnx"):
        (b / name).unlink()
    man = load_manifest(toy_bundle[0])
    names = [x.name for x in bundle_backends(b, man.contract, threads=1)]
    assert names == ["torchscript", "onnx-fp32"]
    (b / "model.torchscript.pt").unlink()
    assert [x.name for x in bundle_backends(b, man.contract, threads=1)] == ["onnx-fp32"]


def test_a_fast_graph_with_the_wrong_form_list_is_refused(toy_bundle, tmp_path):
    b = tmp_path / "b"
    shutil.copytree(toy_bundle[0], b)
    forms = json.loads((b / "char_forms.json").read_text())
    (b / "char_forms.json").write_text(json.dumps(forms[:-1]))
    man = load_manifest(toy_bundle[0])
    with pytest.raises(BundleError, match="feature table has .* rows but the form list gives"):
        bundle_backends(b, man.contract, threads=1)


@pytest.mark.skipif(cuda_available(), reason="checks the refusal where CUDA is absent")
def test_cuda_backends_without_cuda_are_an_error(toy):
    man, _ = toy
    assert "CUDAExecutionProvider" not in ort.get_available_providers()
    with pytest.raises(BundleError, match="provider 'cuda' is not available"):
        bundle_backends(man.root, man.contract, threads=1, cuda=True)
