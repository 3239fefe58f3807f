"""The backends an exported bundle can run on, each as an EncodedBatch → log-probs runner.

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
from postag.session import (
    FAST_FORMS,
    FAST_INT8,
    FAST_MODEL,
    PROVIDERS,
    FastModel,
    OnnxModel,
    load_forms,
)
from postag.vocab import EncodedBatch

from .predict import torch_runner
from .torchscript_export import load_torchscript

Runner = Callable[[EncodedBatch], np.ndarray]


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
    """TorchScript, ONNX fp32, the fast graph and both int8 graphs on CPU, and the fp32
    graphs on CUDA when asked for."""
    root = Path(root)
    out = [
        Backend("torchscript", torch_runner(load_torchscript(root / "model.torchscript.pt")), True),
        Backend("onnx-fp32", OnnxModel(root / "model.onnx", contract, "cpu", threads).run, True),
    ]
    if (root / "model.int8.onnx").exists():
        out.append(
            Backend(
                "onnx-int8",
                OnnxModel(root / "model.int8.onnx", contract, "cpu", threads).run,
                False,
            )
        )
    fast = root / FAST_MODEL
    forms = load_forms(root / FAST_FORMS) if fast.exists() else []
    if fast.exists():
        out.append(
            Backend("onnx-fast", FastModel(fast, FAST_CONTRACT, forms, "cpu", threads).run, True)
        )
    if (root / FAST_INT8).exists():
        fast_int8 = FastModel(root / FAST_INT8, FAST_CONTRACT, forms, "cpu", threads)
        out.append(Backend("onnx-fast-int8", fast_int8.run, False))
    if cuda:
        out.append(Backend("onnx-cuda", OnnxModel(root / "model.onnx", contract, "cuda").run, True))
        if fast.exists():
            out.append(
                Backend("onnx-fast-cuda", FastModel(fast, FAST_CONTRACT, forms, "cuda").run, True)
            )
    return out
