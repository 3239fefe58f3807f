"""postag.export.graphs.onnx_export: declared shapes from the contract, metadata stamping,
constant folding (the exporter's own output is covered by the bundle tests)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from postag.contract import CONTRACT
from postag.export.graphs.onnx_export import (
    EXAMPLE_DIMS,
    ExportError,
    check_declared,
    declare_io,
    declared_shapes,
    example_inputs,
    finalize,
    fold_constants,
    set_metadata,
)
from postag.export.train.config import ModelConfig
from postag.export.train.model import TaggerModel

N_TAGS = 5


def lookup_graph(declared_seq: int | str = 7, extra_const: bool = False) -> onnx.ModelProto:
    """word_ids → a (words, tags) table → LogSoftmax: a graph with the contract's I/O
    whose output sequence axis is declared as ``declared_seq`` (7: specialised)."""
    table = np.arange(10 * N_TAGS, dtype=np.float32).reshape(10, N_TAGS) / 10
    nodes = [
        helper.make_node("Gather", ["table", "word_ids"], ["scores"]),
        helper.make_node("LogSoftmax", ["scores"], ["log_probs"], axis=-1),
    ]
    inits = [numpy_helper.from_array(table, "table")]
    if extra_const:  # table = half + half, computed at run time unless folded
        half = numpy_helper.from_array(table / 2, "half")
        nodes.insert(0, helper.make_node("Add", ["half", "half"], ["table"]))
        inits = [half]
    graph = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info("word_ids", TensorProto.INT64, [3, 7]),
            helper.make_tensor_value_info("char_ids", TensorProto.INT64, [3, 7, 5]),
            helper.make_tensor_value_info("lengths", TensorProto.INT64, [3]),
        ],
        [helper.make_tensor_value_info("log_probs", TensorProto.FLOAT, [3, declared_seq, 5])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def test_declare_io_makes_dynamic_axes_symbolic():
    proto = lookup_graph()
    declare_io(proto, CONTRACT, {"tags": N_TAGS})
    assert declared_shapes(proto) == {
        "word_ids": ["batch", "seq"],
        "char_ids": ["batch", "seq", "word_len"],
        "lengths": ["batch"],
        "log_probs": ["batch", "seq", N_TAGS],
    }
    check_declared(proto, CONTRACT, {"tags": N_TAGS})  # no error
    with pytest.raises(ExportError, match=r"word_ids: declared shape \[3, 7\], contract \['batch'"):
        check_declared(lookup_graph(), CONTRACT, {"tags": N_TAGS})


def test_a_graph_missing_a_contract_tensor_is_an_export_error():
    proto = lookup_graph()
    proto.graph.output[0].name = "scores_out"
    with pytest.raises(ExportError, match="exported graph has no 'log_probs'"):
        declare_io(proto, CONTRACT, {"tags": N_TAGS})


def test_finalize_stamps_metadata_and_runs_at_any_size(tmp_path):
    meta = {"postag.name": "t", "postag.manifest_sha256": "ab" * 32}
    proto = finalize(lookup_graph(), CONTRACT, {"tags": N_TAGS}, meta)
    assert [(p.key, p.value) for p in proto.metadata_props] == sorted(meta.items())
    path = tmp_path / "m.onnx"
    onnx.save_model(proto, str(path))
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert sess.get_modelmeta().custom_metadata_map == meta
    for b, t in ((1, 1), (2, 40)):  # sizes other than the example's
        ids = np.full((b, t), 3, dtype=np.int64)
        feed = {"word_ids": ids, "char_ids": np.zeros((b, t, 2), np.int64), "lengths": ids[:, 0]}
        (out,) = sess.run(None, feed)
        assert out.shape == (b, t, N_TAGS)
        np.testing.assert_allclose(np.exp(out).sum(-1), 1.0, rtol=1e-6)
    # restamping replaces the metadata, keeps the declared shapes
    set_metadata(path, CONTRACT, {"tags": N_TAGS}, {"postag.name": "u"})
    again = onnx.load_model(str(path))
    assert [(p.key, p.value) for p in again.metadata_props] == [("postag.name", "u")]
    assert declared_shapes(again)["log_probs"] == ["batch", "seq", N_TAGS]


def test_finalize_refuses_a_graph_whose_shapes_contradict_the_contract():
    proto = lookup_graph()
    with pytest.raises(
        ExportError, match="fails onnx's checks: .*differ in dimension 2: .5. vs .6."
    ):
        finalize(proto, CONTRACT, {"tags": N_TAGS + 1}, {})  # table has 5 tags, contract 6


def test_fold_constants_bakes_constant_subgraphs_into_initializers():
    proto = lookup_graph(extra_const=True)
    assert [n.op_type for n in proto.graph.node] == ["Add", "Gather", "LogSoftmax"]
    folded = fold_constants(proto)
    assert "Add" not in [n.op_type for n in folded.graph.node]
    table = {t.name: numpy_helper.to_array(t) for t in folded.graph.initializer}
    want = np.arange(10 * N_TAGS, dtype=np.float32).reshape(10, N_TAGS) / 10
    assert any(v.shape == want.shape and np.allclose(v, want) for v in table.values())
    assert {o.domain for o in folded.opset_import} == {""}


def test_example_inputs_have_distinct_sizes_above_one():
    cfg = ModelConfig(word_dim=4, char_dim=4, char_hidden=2, hidden=4, layers=1)
    model = TaggerModel(cfg.replace(n_words=20, n_chars=10, n_tags=3))
    word_ids, char_ids, lengths = example_inputs(model)
    b, t, w = EXAMPLE_DIMS["batch"], EXAMPLE_DIMS["seq"], EXAMPLE_DIMS["word_len"]
    assert len({b, t, w}) == 3 and min(b, t, w) > 1  # no axis specialised to a constant
    assert word_ids.shape == (b, t) and char_ids.shape == (b, t, w)
    assert lengths.tolist() == [t, t - 2, 2] and int(word_ids.min()) >= 2
