"""The backends an exported bundle can run on, each as an EncodedBatch → {head: log-probs}
runner.

Used by the verification gate, the parity suite and the parity report, so all three
exercise exactly the same set of backends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from postag.contract import FAST_CONTRACT, IOContract
from postag.layout import FAST_FORMS, FAST_INT8, FAST_MODEL, MODEL, MODEL_INT8, TORCHSCRIPT
from postag.session import PROVIDERS, FastModel, OnnxModel, load_forms
from postag.vocab import EncodedBatch

Runner = Callable[[EncodedBatch], dict[str, np.ndarray]]  # {head: (batch, seq, labels)}


@dataclass
class Backend:
    name: str
    run: Runner
    fp32: bool  # fp32: atol + identical tags; otherwise the contract's int8 agreement


def cuda_available() -> bool:
    return PROVIDERS["cuda"] in ort.get_available_providers()


def bundle_backends(
    root: str | Path, contract: IOContract, threads: int = 0, cuda: bool = False
) -> list[Backend]:
    """TorchScript, ONNX fp32, the fast graph and both int8 graphs on CPU (those the
    bundle holds), and the fp32 graphs on CUDA when asked for. The models' identity is
    not checked here: the gate reports it as a check of its own."""
    root = Path(root)
    fast = (root / FAST_MODEL).exists()
    forms = load_forms(root / FAST_FORMS) if fast else []

    def onnx(fname: str, provider: str = "cpu") -> Runner:
        return OnnxModel(root / fname, contract, provider, threads).run

    fast_contract = FAST_CONTRACT.with_heads(contract.heads, contract.crf)

    def fast_graph(fname: str, provider: str = "cpu") -> Runner:
        return FastModel(root / fname, fast_contract, forms, provider, threads).run

    out = []
    if (root / TORCHSCRIPT).exists():
        from postag.export.graphs.torchscript_export import load_torchscript
        from postag.export.train.predict import torch_heads_runner

        scripted = load_torchscript(root / TORCHSCRIPT)
        out.append(Backend("torchscript", torch_heads_runner(scripted, contract.output_keys), True))
    out.append(Backend("onnx-fp32", onnx(MODEL), True))
    if (root / MODEL_INT8).exists():
        out.append(Backend("onnx-int8", onnx(MODEL_INT8), False))
    if fast:
        out.append(Backend("onnx-fast", fast_graph(FAST_MODEL), True))
    if (root / FAST_INT8).exists():
        out.append(Backend("onnx-fast-int8", fast_graph(FAST_INT8), False))
    if cuda:
        out.append(Backend("onnx-cuda", onnx(MODEL, "cuda"), True))
        if fast:
            out.append(Backend("onnx-fast-cuda", fast_graph(FAST_MODEL, "cuda"), True))
    return out


#: Each quantised backend's fp32 counterpart: its accuracy is measured against it.
FP32_OF = {"onnx-int8": "onnx-fp32", "onnx-fast-int8": "onnx-fast"}
