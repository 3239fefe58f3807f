"""postag.session: onnxruntime sessions fed through the contract; the fast graph's lookup;
model metadata and identity; every failure a BundleError."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest

from postag.bundle import load_manifest
from postag.contract import CONTRACT, FAST_CONTRACT
from postag.errors import BundleError
from postag.session import (
    FastModel,
    OnnxModel,
    check_identity,
    load_forms,
    model_metadata,
    resolve_provider,
)


@pytest.fixture(scope="module")
def man(toy_bundle):
    return load_manifest(toy_bundle[0])


def test_providers():
    assert resolve_provider("cpu") == "cpu"
    assert resolve_provider("auto") in ("cpu", "cuda")
    with pytest.raises(BundleError, match="unknown provider 'tpu' \\(auto, cpu or cuda\\)"):
        resolve_provider("tpu")
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        assert resolve_provider("auto") == "cpu"
        with pytest.raises(BundleError, match="provider 'cuda' is not available"):
            resolve_provider("cuda")


def test_model_metadata_and_identity(man):
    meta = model_metadata(man.path("model.onnx"))
    assert meta["postag.name"] == "toy" and meta["postag.manifest_sha256"] == man.identity
    assert model_metadata(man.path("model.fast.onnx"))["postag.table_rows"] == str(
        man.fast_path.table_rows
    )
    check_identity("m", meta, man.identity)  # no error
    with pytest.raises(BundleError, match=r"m: model metadata does not match the manifest"):
        check_identity("m", meta, "0" * 64)
    with pytest.raises(BundleError, match="identity None…"):
        check_identity("m", {}, man.identity)


def test_onnx_model_checks_identity_and_contract(man, tmp_path):
    model = OnnxModel(man.path("model.onnx"), man.contract, "cpu", 1, identity=man.identity)
    assert model.provider == "CPUExecutionProvider"
    with pytest.raises(BundleError, match="model metadata does not match the manifest"):
        OnnxModel(man.path("model.onnx"), man.contract, "cpu", 1, identity="f" * 64)
    with pytest.raises(BundleError, match="does not match the contract"):
        OnnxModel(man.path("model.onnx"), CONTRACT, "cpu", 1)  # UPOS only: outputs missing
    with pytest.raises(BundleError, match="does not match the contract"):
        OnnxModel(man.path("model.onnx"), FAST_CONTRACT, "cpu", 1)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(BundleError, match="junk.onnx: onnxruntime cannot load the model"):
        OnnxModel(junk, CONTRACT)
    with pytest.raises(BundleError, match="onnxruntime cannot load the model"):
        model_metadata(tmp_path)  # a directory


def test_fast_model_lookup_and_outputs(man):
    forms = load_forms(man.path("char_forms.json"))
    fast_contract = man.fast_path.contract
    fast = FastModel(man.path("model.fast.onnx"), fast_contract, forms, "cpu", 1, man.identity)
    plain = OnnxModel(man.path("model.onnx"), man.contract, "cpu", 1)
    known = forms[0]
    batch = man.encoder().encode([[known, "Qwzx", known], ["Vbnm", "Qwzx"]])
    feed = fast.inputs(batch)
    # known forms gather their table row (i + 1); new forms index past the table, in
    # first-seen order, and new_chars holds one row per distinct new form
    rows = feed["feat_idx"]
    assert rows[0, 0] == rows[0, 2] == 1
    assert rows[0, 1] == rows[1, 1] == fast.table_rows
    assert rows[1, 0] == fast.table_rows + 1
    assert feed["new_chars"].shape[0] == 2
    got, want = fast.run(batch), plain.run(batch)  # real tokens only (padding is unread)
    assert list(got) == list(want) == ["upos", "xpos", "feats"]  # every head, in order
    for head in got:
        np.testing.assert_allclose(got[head][0], want[head][0], atol=man.contract.atol)
        np.testing.assert_allclose(got[head][1, :2], want[head][1, :2], atol=man.contract.atol)
    only_known = man.encoder().encode([[known]])
    assert fast.inputs(only_known)["new_chars"].shape == (1, 1)  # a padding row, never read
    for head, lp in fast.run(only_known).items():
        np.testing.assert_allclose(lp, plain.run(only_known)[head], atol=1e-4)
    with pytest.raises(BundleError, match="feature table has .* rows but the form list gives"):
        FastModel(man.path("model.fast.onnx"), fast_contract, forms[:-1], "cpu", 1)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read the word-form list"),
        ("{not json", "cannot read the word-form list"),
        ('{"a": 1}', "must be a JSON list of non-empty strings"),
        ('["a", ""]', "must be a JSON list of non-empty strings"),
        ('["a", 3]', "must be a JSON list of non-empty strings"),
        ('["a", "b", "a"]', "has duplicates"),
    ],
)
def test_bad_form_lists(tmp_path, content, message):
    path = tmp_path / "forms.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(BundleError, match=message):
        load_forms(path)


def test_a_good_form_list(tmp_path):
    path = tmp_path / "forms.json"
    path.write_text(json.dumps(["the", "Café", "."]))
    assert load_forms(path) == ["the", "Café", "."]
