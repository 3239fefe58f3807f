"""An onnxruntime session fed and read through the I/O contract.

model = OnnxModel(root / MODEL, CONTRACT, provider="cpu", identity=manifest.identity)
out = model.run(encoder.encode([["Hello", "world"]]))  # {head: (batch, seq, labels), …}
tags = decoded(out)  # {head: (batch, seq)}: a CRF head's path, else the argmax
fast = FastModel(root / FAST_MODEL, FAST_CONTRACT, load_forms(root / FAST_FORMS), "cpu")

``identity``: the manifest's identity hash; the graph's metadata must name it (a model file
from another bundle, or a bundle whose vocabularies changed, is refused).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .contract import IOContract
from .errors import BundleError
from .layout import META_IDENTITY, META_TABLE_ROWS
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


def open_session(path: str | Path, opts: ort.SessionOptions, provider: str) -> ort.InferenceSession:
    """An onnxruntime session; any failure (unreadable file, not ONNX) is a BundleError."""
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=[PROVIDERS[provider]])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise BundleError(f"{path}: onnxruntime cannot load the model: {exc}") from None


def model_metadata(path: str | Path) -> dict[str, str]:
    """An ONNX file's ``metadata_props`` (read through an unoptimised CPU session: a few ms)."""
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    return dict(open_session(path, opts, "cpu").get_modelmeta().custom_metadata_map)


def check_identity(path: str | Path, metadata: dict[str, str], identity: str) -> None:
    """Refuse a model whose metadata names another manifest identity than ``identity``."""
    if metadata.get(META_IDENTITY) != identity:
        raise BundleError(
            f"{path}: model metadata does not match the manifest (identity "
            f"{str(metadata.get(META_IDENTITY))[:12]}…, manifest {identity[:12]}…): a model "
            "file from another bundle, or vocabularies changed after export"
        )


class OnnxModel:
    def __init__(
        self,
        path: str | Path,
        contract: IOContract,
        provider: str = "cpu",
        threads: int = 0,
        identity: str | None = None,
    ) -> None:
        self.contract = contract
        self.path = Path(path)
        self.session = open_session(path, session_options(threads), resolve_provider(provider))
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        if identity is not None:
            check_identity(path, self.metadata, identity)
        got_in = [i.name for i in self.session.get_inputs()]
        got_out = [o.name for o in self.session.get_outputs()]
        if got_in != contract.input_names or got_out != contract.output_names:
            raise BundleError(
                f"{path}: graph I/O {got_in} → {got_out} does not match the contract "
                f"{contract.input_names} → {contract.output_names}"
            )
        self.dtypes = {s.name: np.dtype(s.dtype) for s in contract.inputs}
        self.heads = contract.heads
        self.keys = contract.output_keys  # heads, and upos_path, … for CRF heads

    @property
    def provider(self) -> str:
        """The provider the session actually runs on, read back from onnxruntime."""
        return self.session.get_providers()[0]

    def inputs(self, batch: EncodedBatch) -> dict[str, np.ndarray]:
        return {"word_ids": batch.word_ids, "char_ids": batch.char_ids, "lengths": batch.lengths}

    def run(self, batch: EncodedBatch) -> dict[str, np.ndarray]:
        """Log-probabilities per head, ``{head: (batch, seq, labels)}``, for an encoded
        batch (heads in the contract's output order), and a CRF head's decoded path
        ``{"upos_path": (batch, seq)}`` (:func:`postag.contract.decoded` reads both)."""
        arrays = self.inputs(batch)
        feed = {
            name: np.ascontiguousarray(arrays[name], dtype=self.dtypes[name])
            for name in self.contract.input_names
        }
        outs = self.session.run(self.contract.output_names, feed)
        return dict(zip(self.keys, outs, strict=True))


def load_forms(path: str | Path) -> list[str]:
    """The fast graph's word-form list (JSON list of strings; form ``i`` ↔ table row ``i + 1``)."""
    try:
        forms = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{path}: cannot read the word-form list: {exc}") from None
    if not isinstance(forms, list) or not all(isinstance(f, str) and f for f in forms):
        raise BundleError(f"{path}: the word-form list must be a JSON list of non-empty strings")
    if len(set(forms)) != len(forms):
        raise BundleError(f"{path}: the word-form list has duplicates")
    return forms


class FastModel(OnnxModel):
    """The fast graph (``model.fast.onnx``, :data:`~postag.contract.FAST_CONTRACT`): known
    word forms take their character features from the table baked in at export time;
    only forms missing from it go through the character BiLSTM, once per batch."""

    def __init__(
        self,
        path: str | Path,
        contract: IOContract,
        forms: list[str],
        provider: str = "cpu",
        threads: int = 0,
        identity: str | None = None,
    ) -> None:
        super().__init__(path, contract, provider, threads, identity)
        self.table_rows = len(forms) + 1  # row 0: the padding "word"
        declared = self.metadata.get(META_TABLE_ROWS)
        if declared != str(self.table_rows):
            raise BundleError(
                f"{path}: the graph's feature table has {declared} rows but the form list "
                f"gives {self.table_rows}"
            )
        self.rows = {f: i + 1 for i, f in enumerate(forms)}

    def inputs(self, batch: EncodedBatch) -> dict[str, np.ndarray]:
        lookup = np.zeros(len(batch.types) + 1, dtype=np.int64)  # type row → feature row
        new: list[int] = []
        rows = self.rows
        for k, t in enumerate(batch.types, start=1):
            r = rows.get(t)
            if r is None:
                r = self.table_rows + len(new)
                new.append(k)
            lookup[k] = r
        # no new forms: one padding "word" keeps the graph's input non-empty
        new_chars = batch.type_chars[new] if new else batch.type_chars[:1, :1]  # (new, wl)
        return {
            "word_ids": batch.word_ids,
            "feat_idx": lookup[batch.type_idx],  # (batch, seq)
            "new_chars": new_chars,
            "lengths": batch.lengths,
        }
