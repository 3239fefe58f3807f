"""postag.export.graphs.storage: the int8 and compact rewrites mute onnxruntime's quantiser
for the call only; the caller's logging (levels, handlers, filters) is as it was."""

from __future__ import annotations

import logging

import pytest

from postag.export.graphs.storage import compact_graph, quantize_int8, quiet_quantizer


def logging_state() -> tuple:
    root = logging.getLogger()
    named = logging.getLogger("onnxruntime.quantization")
    return (
        root.level,
        list(root.handlers),
        list(root.filters),
        [list(h.filters) for h in root.handlers],
        named.level,
        list(named.filters),
        named.disabled,
    )


@pytest.mark.parametrize("rewrite", [quantize_int8, compact_graph], ids=["int8", "compact"])
def test_the_callers_logging_is_unchanged(toy_bundle, tmp_path, rewrite):
    root = logging.getLogger()
    handler = logging.StreamHandler()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        before = logging_state()
        rewrite(toy_bundle[0] / "model.fast.onnx", tmp_path / "out.onnx")
        assert (tmp_path / "out.onnx").stat().st_size > 0
        assert logging_state() == before
        assert root.getEffectiveLevel() == logging.INFO  # the old code left it at ERROR
    finally:
        root.removeHandler(handler)
        root.setLevel(logging.WARNING)


def test_no_handler_is_configured_for_a_caller_without_one(toy_bundle, tmp_path):
    """A root logger without handlers stays without: the quantiser's module-level
    ``logging.warning`` would otherwise ``basicConfig`` it."""
    root = logging.getLogger()
    saved = list(root.handlers)
    for h in saved:
        root.removeHandler(h)
    try:
        quantize_int8(toy_bundle[0] / "model.onnx", tmp_path / "int8.onnx")
        assert root.handlers == []
    finally:
        for h in saved:
            root.addHandler(h)


def test_only_the_quantisers_records_are_muted(caplog):
    """During the block the caller's own records still arrive; the quantiser's do not."""
    quantizer = logging.getLogger("onnxruntime.quantization.onnx_quantizer")
    with caplog.at_level(logging.INFO), quiet_quantizer():
        logging.getLogger("mine").warning("kept")
        quantizer.warning("muted")
    assert [r.getMessage() for r in caplog.records] == ["kept"]
    quantizer.warning("after")
    assert caplog.records[-1].getMessage() == "after"
