"""ONNX export with dynamic batch, sequence and word-length axes.

Approach (torch 2.13): the default dynamo exporter (``torch.onnx.export(...,
dynamo=True)``) with ``dynamic_shapes`` built from the I/O contract. It computes
``nn.LSTM`` correctly at any length, but declares the output's sequence axis as the
example's length; :func:`declare_io` therefore re-declares every graph input and output
shape from the contract (symbolic names for dynamic axes, the tag count for ``tags``).
Lengths are honoured inside the model (reverse-within-length, see ``model.py``), so no
``pack_padded_sequence`` is needed. A CRF head is traced up to its emission scores; its
decoding (Viterbi path + marginals, two ``Scan`` loops) is then appended to the graph by
:func:`splice_crf`, the same nodes as in the fast graph. The result must pass
``onnx.checker`` (full check) and strict shape inference; the verification gate then
checks the numbers.

    export_onnx(model, "model.onnx", CONTRACT, metadata={"postag.name": "..."})
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
import warnings
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from onnx import helper
from torch.export import Dim

from postag.contract import DYNAMIC_AXES, HEAD_OUTPUTS, PATH_OUTPUTS, IOContract
from postag.errors import PostagError
from postag.export.graphs.builder import Graph
from postag.export.graphs.crf_decoding import append_crf
from postag.export.train.config import ModelConfig
from postag.export.train.model import TaggerModel


class ExportError(PostagError):
    """The exporter itself failed."""


#: Example sizes used to trace the graph: all distinct and > 1 so that no axis is
#: specialised to a constant.
EXAMPLE_DIMS = {"batch": 3, "seq": 7, "word_len": 5}


def example_inputs(model: TaggerModel) -> tuple[torch.Tensor, ...]:
    b, t, w = EXAMPLE_DIMS["batch"], EXAMPLE_DIMS["seq"], EXAMPLE_DIMS["word_len"]
    cfg = model.cfg
    g = torch.Generator().manual_seed(0)
    word_ids = torch.randint(2, max(3, cfg.n_words), (b, t), generator=g)  # (batch, seq)
    char_ids = torch.randint(2, max(3, cfg.n_chars), (b, t, w), generator=g)  # (b, seq, wl)
    lengths = torch.tensor([t, t - 2, 2])  # (batch,)
    return word_ids, char_ids, lengths


def declare_io(proto: onnx.ModelProto, contract: IOContract, dims: dict[str, int]) -> None:
    """Set every graph input/output's declared shape and element type from the contract."""
    values = {v.name: v for v in list(proto.graph.input) + list(proto.graph.output)}
    for spec in contract.inputs + contract.outputs:
        if spec.name not in values:
            raise ExportError(f"exported graph has no {spec.name!r} (contract: {spec})")
        ttype = values[spec.name].type.tensor_type
        ttype.elem_type = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(spec.dtype))
        del ttype.shape.dim[:]
        for axis in spec.shape(dims):
            d = ttype.shape.dim.add()
            if isinstance(axis, str):
                d.dim_param = axis
            else:
                d.dim_value = axis
    del proto.graph.value_info[:]  # stale intermediate shapes; inference recomputes them


def declared_shapes(proto: onnx.ModelProto) -> dict[str, list[int | str]]:
    return {
        v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in list(proto.graph.input) + list(proto.graph.output)
    }


def check_declared(proto: onnx.ModelProto, contract: IOContract, dims: dict[str, int]) -> None:
    """Raise unless every declared shape equals the contract's (dynamic axes symbolic)."""
    got = declared_shapes(proto)
    for spec in contract.inputs + contract.outputs:
        want = list(spec.shape(dims))
        if got.get(spec.name) != want:
            raise ExportError(f"{spec.name}: declared shape {got.get(spec.name)}, contract {want}")


def finalize(
    proto: onnx.ModelProto, contract: IOContract, dims: dict[str, int], metadata: dict[str, str]
) -> onnx.ModelProto:
    """Declare I/O, stamp metadata, then require checker + strict shape inference."""
    declare_io(proto, contract, dims)
    del proto.metadata_props[:]
    for k, v in sorted(metadata.items()):
        proto.metadata_props.add(key=k, value=v)
    try:
        onnx.checker.check_model(proto, full_check=True)
        inferred = onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise ExportError(f"the exported graph fails onnx's checks: {exc}") from None
    check_declared(inferred, contract, dims)
    return inferred


def export_onnx(
    model: TaggerModel,
    path: str | Path,
    contract: IOContract,
    metadata: dict[str, str] | None = None,
) -> onnx.ModelProto:
    """Export ``model`` to ``path`` in a fresh Python process; returns the ModelProto.

    Why a subprocess: with torch 2.13 only the *first* dynamo export of this LSTM model in
    a process keeps the sequence and word-length axes dynamic; later exports in the same
    process come out specialised to the example sizes (seen here with fresh models, fresh
    ``Dim`` names and after ``torch._dynamo.reset()``). A new process is always "first";
    :func:`finalize`'s strict shape check stays as the backstop.
    """
    job = {
        "model_config": model.cfg.to_dict(),
        "contract": json.dumps(contract.to_dict()),
        "metadata": json.dumps(metadata or {}),
    }
    export_in_fresh_process("postag.export.graphs.onnx_export", model, job, path, "ONNX export")
    return onnx.load_model(str(path))


def export_in_fresh_process(
    module: str, model: torch.nn.Module, job: dict[str, Any], path: str | Path, what: str
) -> None:
    """Save ``job`` and ``model``'s weights (``state_dict``) to a temporary file and run
    ``python -m module JOB PATH``, whose ``_main`` rebuilds the model and exports it to
    ``path`` (see :func:`export_onnx` for why a fresh process); a failure is an
    :class:`ExportError` with the last lines ``what`` printed."""
    with tempfile.TemporaryDirectory() as tmp:
        job_path = Path(tmp) / "job.pt"
        weights = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        torch.save({**job, "state_dict": weights}, job_path)
        cmd = [sys.executable, "-m", module, str(job_path), str(path)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
            raise ExportError(f"{what} failed (exit {proc.returncode}):\n{tail}")


def _main(job_path: str, out: str) -> None:
    job = torch.load(job_path, weights_only=True)
    model = TaggerModel(ModelConfig.from_dict(job["model_config"]))
    model.load_state_dict(job["state_dict"])
    contract = IOContract.from_dict(json.loads(job["contract"]))
    export_onnx_in_process(model, out, contract, json.loads(job["metadata"]))


class Emissions(torch.nn.Module):
    """What the exporter traces: per head, its log-softmax, or a CRF head's emission
    scores (``{head}_emissions``), which :func:`splice_crf` then decodes in the graph
    (a loop over a dynamic sequence axis is not something the tracer can keep)."""

    def __init__(self, model: TaggerModel) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, word_ids: torch.Tensor, char_ids: torch.Tensor, lengths: torch.Tensor
    ) -> list[torch.Tensor]:
        ems = self.model.emissions(word_ids, self.model.features(char_ids), lengths)
        return [
            em if h in self.model.cfg.crf else torch.log_softmax(em, dim=-1)
            for h, em in zip(self.model.cfg.heads, ems, strict=True)
        ]


def traced_names(cfg: ModelConfig) -> list[str]:
    """The traced graph's outputs (:class:`Emissions`), per head."""
    return [f"{h}_emissions" if h in cfg.crf else HEAD_OUTPUTS[h][0] for h in cfg.heads]


def splice_crf(proto: onnx.ModelProto, model: TaggerModel, contract: IOContract) -> None:
    """Append each CRF head's decoding (``crf_graph.append_crf``) to the traced graph and
    make the graph's outputs the contract's, in its order."""
    g = Graph("crf_")
    for head, decoder in zip(model.cfg.heads, model.decoders, strict=True):
        if head in model.cfg.crf:
            lp, path = HEAD_OUTPUTS[head][0], PATH_OUTPUTS[head]
            append_crf(g, decoder, f"{head}_emissions", "lengths", lp, path)
    proto.graph.node.extend(g.nodes)
    proto.graph.initializer.extend(g.inits)
    kinds = {"float32": onnx.TensorProto.FLOAT, "int64": onnx.TensorProto.INT64}
    old = {o.name: o for o in proto.graph.output}
    outs = [old.get(s.name) or helper.make_tensor_value_info(s.name, kinds[s.dtype], None)
            for s in contract.outputs]  # fmt: skip
    del proto.graph.output[:]
    proto.graph.output.extend(outs)


def export_onnx_in_process(
    model: TaggerModel,
    path: str | Path,
    contract: IOContract,
    metadata: dict[str, str] | None = None,
) -> onnx.ModelProto:
    """The export itself; run it once per process (see :func:`export_onnx`)."""
    model = model.eval()
    dims = model.cfg.label_dims()
    axes = {name: Dim(name, min=1) for name in DYNAMIC_AXES}
    dynamic_shapes = tuple(
        {i: axes[a] for i, a in enumerate(s.axes) if a in axes} for s in contract.inputs
    )
    with warnings.catch_warnings(), redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            Emissions(model),
            example_inputs(model),
            None,
            dynamo=True,
            dynamic_shapes=dynamic_shapes,
            input_names=contract.input_names,
            output_names=traced_names(model.cfg),
            opset_version=contract.opset,
            external_data=False,
            verbose=False,
        )
    proto = fold_constants(program.model_proto)
    splice_crf(proto, model, contract)
    proto = finalize(proto, contract, dims, metadata or {})
    onnx.save_model(proto, str(path))
    return proto


def fold_constants(proto: onnx.ModelProto) -> onnx.ModelProto:
    """Fold constant subgraphs with onnxruntime's basic (standard-ops-only) optimiser.

    The dynamo exporter reorders each LSTM's gate weights with ``Slice``/``Concat`` nodes
    that its own optimiser leaves unfolded for large tensors, so the LSTM weights are not
    initializers: every run would redo the reordering, and dynamic quantisation could not
    reach the LSTMs at all (it quantises initializers). Folding bakes them in.
    """
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "raw.onnx", Path(tmp) / "folded.onnx"
        onnx.save_model(proto, str(src))
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        opts.optimized_model_filepath = str(dst)
        opts.log_severity_level = 3
        ort.InferenceSession(str(src), opts, providers=["CPUExecutionProvider"])
        folded = onnx.load_model(str(dst))
    used = {n.domain for n in folded.graph.node} | {""}
    keep = [o for o in folded.opset_import if o.domain in used]
    del folded.opset_import[:]
    folded.opset_import.extend(keep)
    folded.producer_name, folded.producer_version = proto.producer_name, proto.producer_version
    return folded


def set_metadata(
    path: str | Path, contract: IOContract, dims: dict[str, int], metadata: dict[str, str]
) -> None:
    """Re-stamp an ONNX file's metadata and declared shapes in place (e.g. after
    quantisation, which keeps whatever the input model declared)."""
    proto = onnx.load_model(str(path))
    onnx.save_model(finalize(proto, contract, dims, metadata), str(path))


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2])
