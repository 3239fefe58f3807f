"""An onnxruntime session fed and read through the I/O contract.

model = OnnxModel("artifacts/postag-en-ewt/model.onnx", CONTRACT, provider="cpu")
log_probs = model.run(encoder.encode([["Hello", "world"]]))  # (batch, seq, tags)
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .contract import IOContract
from .errors import BundleError
from .vocab import EncodedBatch

PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}


def resolve_provider(provider: str) -> str:
    """``auto`` → CUDA when onnxruntime-gpu and a GPU are present, else CPU; an explicit
    ``cuda`` that cannot be honoured is an error (never a silent fallback)."""
    available = ort.get_available_providers()
    if provider == "auto":
        return "cuda" if PROVIDERS["cuda"] in available else "cpu"
    if provider not in PROVIDERS:
        raise BundleError(f"unknown provider {provider!r} (auto, cpu or cuda)")
    if PROVIDERS[provider] not in available:
        raise BundleError(
            f"provider {provider!r} is not available in this onnxruntime "
            f"(available: {', '.join(available)}); for CUDA install 'postag[cuda]'"
        )
    return provider


def session_options(threads: int = 0) -> ort.SessionOptions:
    """Full graph optimisation; intra-op threads = ``threads`` or the machine's cores."""
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = threads or (os.cpu_count() or 1)
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3  # errors only
    return opts


class OnnxModel:
    def __init__(
        self, path: str | Path, contract: IOContract, provider: str = "cpu", threads: int = 0
    ) -> None:
        self.contract = contract
        chosen = resolve_provider(provider)
        try:
            self.session = ort.InferenceSession(
                str(path), sess_options=session_options(threads), providers=[PROVIDERS[chosen]]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise BundleError(f"{path}: onnxruntime cannot load the model: {exc}") from None
        got_in = [i.name for i in self.session.get_inputs()]
        got_out = [o.name for o in self.session.get_outputs()]
        if got_in != contract.input_names or got_out != contract.output_names:
            raise BundleError(
                f"{path}: graph I/O {got_in} → {got_out} does not match the contract "
                f"{contract.input_names} → {contract.output_names}"
            )
        self.dtypes = {s.name: np.dtype(s.dtype) for s in contract.inputs}

    @property
    def provider(self) -> str:
        """The provider the session actually runs on, read back from onnxruntime."""
        return self.session.get_providers()[0]

    def run(self, batch: EncodedBatch) -> np.ndarray:
        """Log-probabilities ``(batch, seq, tags)`` for an encoded batch."""
        arrays = {"word_ids": batch.word_ids, "char_ids": batch.char_ids, "lengths": batch.lengths}
        feed = {
            name: np.ascontiguousarray(arrays[name], dtype=self.dtypes[name])
            for name in self.contract.input_names
        }
        (out,) = self.session.run(self.contract.output_names, feed)
        return out
