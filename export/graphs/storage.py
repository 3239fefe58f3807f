"""ONNX storage rewrites, in one place: int8 dynamic quantisation (the bundle's int8
graphs), float16 storage of large weights, and the compact graph shipped in slim bundles
(uint8 lookup tables + float16 weights, float32 compute). Torch-free (onnx and
onnxruntime only), so ``postag slim`` runs where only the runtime and onnx are installed.

    quantize_int8("model.onnx", "model.int8.onnx")
    compact_graph("model.fast.onnx", "model.fast.compact.onnx")

onnxruntime's quantiser logs its advice through the *root* logger (``logging.info`` /
``logging.warning`` at module level), which would also configure a caller's logging on
first use. :func:`quiet_quantizer` mutes those records for the duration of one call and
leaves the caller's logging exactly as it found it (levels, handlers, filters).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

#: Float weights with fewer elements stay float32 (biases: nothing to gain).
FP16_MIN_ELEMENTS = 4096
#: Where onnxruntime's quantiser lives; its records are the ones muted.
_QUANTIZER_DIR = f"onnxruntime{os.sep}quantization{os.sep}"


def _from_quantizer(record: logging.LogRecord) -> bool:
    """Keep a record unless onnxruntime's quantiser made it (a logging filter)."""
    return _QUANTIZER_DIR not in record.pathname and not record.name.startswith(
        "onnxruntime.quantization"
    )


@contextlib.contextmanager
def quiet_quantizer() -> Iterator[None]:
    """Mute onnxruntime's quantiser records during the block, nothing else: a filter on
    the root logger (where its module-level ``logging.warning`` calls go) and on its
    named loggers' path to the handlers; a root logger without handlers gets a
    ``NullHandler`` meanwhile, so ``logging.warning`` does not ``basicConfig`` it. All
    of it is removed on the way out, whatever happens in the block."""
    root = logging.getLogger()
    named = logging.getLogger("onnxruntime.quantization")
    null = logging.NullHandler() if not root.handlers else None
    if null is not None:
        root.addHandler(null)
    handlers = list(root.handlers)
    root.addFilter(_from_quantizer)
    named.addFilter(_from_quantizer)
    for h in handlers:  # records of named child loggers reach the handlers, not root's filter
        h.addFilter(_from_quantizer)
    try:
        yield
    finally:
        for h in handlers:
            h.removeFilter(_from_quantizer)
        named.removeFilter(_from_quantizer)
        root.removeFilter(_from_quantizer)
        if null is not None:
            root.removeHandler(null)


def quantize_int8(src: str | Path, dst: str | Path) -> None:
    """The int8 graph of ``src`` (dynamic quantisation of LSTM, MatMul and Gather weights;
    int8 compute, activation scales from the batch)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with quiet_quantizer():
        quantize_dynamic(
            str(src),
            str(dst),
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["LSTM", "MatMul", "Gather"],
        )


def fp16_storage(src: str | Path, dst: str | Path, min_elements: int = FP16_MIN_ELEMENTS) -> None:
    """``src`` with every float32 initializer of ``min_elements``+ stored as float16 and
    cast back to float32 by a ``Cast`` node at the top of the graph (metadata kept)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    proto = onnx.load_model(str(src))
    graph = proto.graph
    casts = []
    for init in list(graph.initializer):
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < min_elements:
            continue
        half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16))
        half.name = f"{init.name}.fp16"
        graph.initializer.remove(init)
        graph.initializer.append(half)
        casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT))
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    onnx.checker.check_model(proto)
    onnx.save_model(proto, str(dst))


def compact_graph(src: str | Path, dst: str | Path) -> None:
    """The compact graph of the fast graph ``src``: its lookup tables stored uint8 by
    onnxruntime's dynamic quantisation of ``Gather`` (one scale per table; a looked-up row
    is dequantised on its own), then every other large weight float16 (:func:`fp16_storage`).
    It computes in float32, so a sentence's labels never depend on its batch."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as tmp, quiet_quantizer():
        tables = Path(tmp) / "tables.onnx"
        quantize_dynamic(
            str(src), str(tables), weight_type=QuantType.QUInt8, op_types_to_quantize=["Gather"]
        )
        fp16_storage(tables, dst)
