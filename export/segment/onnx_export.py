"""The segmenter to ONNX, and the parity check of the graph against PyTorch on raw text.

    from postag.export.segment.onnx_export import export_segmenter, check_segmenter_parity
    paths = export_segmenter("artifacts/segmenter/en-ewt.pt", "artifacts/segmenter/en-ewt")
    report = check_segmenter_parity("artifacts/segmenter/en-ewt.pt", paths.onnx, texts)
    report.ok, report.max_abs_diff, report.mismatches       # raises ParityError on a ✗

    python -m postag.export.segment export CKPT OUT_DIR [--dev DEV.conllu]

**Files.** ``segmenter.onnx``: inputs ``chars`` int64 ``(batch, length)`` (character
ids, :data:`~postag.segmentation.PAD_ID` after each row) and ``features`` float32
``(batch, length, 4)`` (:func:`~postag.segmentation.char_features`); output
``label_scores`` float32 ``(batch, length, 5)`` (logits over
:data:`~postag.segmentation.LABELS`); ``batch`` and ``length`` are dynamic.
``segmenter.json``: ``{"format": 1, "chars", "labels", "window": {"size", "context"},
"config", "mwt", "treebank", "metrics"}``, all the runtime needs besides the graph. Both
are written into a temporary directory that then replaces ``out_dir``
(:func:`postag.files.atomic_dir`).

**Export.** As the tagger's (``export/graphs/onnx_export.py``): torch 2.13's dynamo
exporter with ``dynamic_shapes``, opset :data:`OPSET` (the tagger contract's), in a
fresh Python process (only the first dynamo export of an LSTM in a process keeps its
axes dynamic), constants folded by onnxruntime's basic optimiser; the inputs' and
output's shapes are then declared symbolically, and the graph must pass
``onnx.checker`` (full) and strict shape inference.

**Parity** (:func:`check_segmenter_parity`): the PyTorch model and the ONNX graph
(onnxruntime, CPU) each run through :func:`postag.segmentation.label_text`, the
runtime's own path, with the checkpoint's window settings, on every text. Per text, one
✓/✗ :class:`~postag.export.gate.Check`: the labels of every character, the decoded token
and sentence spans and the multiword flags identical, and the largest |Δ| of the scores
within :data:`ATOL` (the tagger contract's fp32 tolerance). Every disagreeing character
is a :class:`Mismatch` (text, offset, torch label, onnx label); any ✗ raises
:class:`~postag.errors.ParityError` listing them all.
"""

from __future__ import annotations

import io
import json
import sys
import warnings
from collections.abc import Callable, Sequence
from contextlib import redirect_stdout
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from torch.export import Dim

from postag.contract import CONTRACT, SEGMENTER_CONTRACT
from postag.errors import ParityError
from postag.export.gate import Check
from postag.export.graphs.onnx_export import ExportError, export_in_fresh_process, fold_constants
from postag.export.graphs.onnx_export import finalize as finalize_graph
from postag.export.segment.config import SegmenterConfig
from postag.export.segment.model import Segmenter
from postag.export.segment.trainer import read_checkpoint, torch_predict
from postag.files import atomic_dir, atomic_write_bytes
from postag.segmentation import LABELS, N_FEATURES, N_LABELS, Predict, decode, label_text

OPSET = CONTRACT.opset
#: The largest |Δ| of the label scores allowed between PyTorch and ONNX (fp32).
ATOL = CONTRACT.atol
FORMAT = 1
ONNX_FILE, JSON_FILE = "segmenter.onnx", "segmenter.json"
INPUTS = tuple(SEGMENTER_CONTRACT.input_names)
OUTPUT = SEGMENTER_CONTRACT.output_names[0]
#: Example sizes used to trace the graph: distinct and > 1, so no axis is specialised.
EXAMPLE_DIMS = {"batch": 3, "length": 11}


@dataclass(frozen=True)
class ExportedSegmenter:
    """The written files."""

    onnx: Path
    json: Path


def manifest(ckpt_path: str | Path) -> dict[str, Any]:
    """``segmenter.json`` of a checkpoint (see the module docstring)."""
    ckpt = read_checkpoint(ckpt_path)
    cfg = ckpt.config
    return {
        "format": FORMAT,
        "chars": ckpt.table.to_list(),
        "labels": list(LABELS),
        "window": {"size": cfg.size, "context": cfg.context},
        "config": cfg.to_dict(),
        "mwt": ckpt.lexicon.to_dict(),
        "treebank": ckpt.treebank,
        "metrics": ckpt.metrics,
    }


def export_segmenter(checkpoint_path: str | Path, out_dir: str | Path) -> ExportedSegmenter:
    """Write ``segmenter.onnx`` and ``segmenter.json`` of a checkpoint into ``out_dir``
    (replaced whole, or left as it was on any failure)."""
    ckpt = read_checkpoint(checkpoint_path)  # a bad checkpoint fails here, in this process
    meta = manifest(checkpoint_path)
    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        export_onnx(ckpt.model, tmp / ONNX_FILE, {"postag.treebank": ckpt.treebank})
        data = json.dumps(meta, ensure_ascii=False, indent=1) + "\n"
        atomic_write_bytes(tmp / JSON_FILE, data.encode("utf-8"))
    return ExportedSegmenter(out_dir / ONNX_FILE, out_dir / JSON_FILE)


def export_onnx(model: Segmenter, path: str | Path, metadata: dict[str, str]) -> None:
    """Export ``model`` to ``path`` in a fresh Python process (see the module docstring)."""
    job = {"config": model.cfg.to_dict(), "metadata": json.dumps(metadata)}
    module = "postag.export.segment.onnx_export"
    export_in_fresh_process(module, model, job, path, "segmenter ONNX export")


def _main(job_path: str, out: str) -> None:
    job = torch.load(job_path, weights_only=True)
    model = Segmenter(SegmenterConfig.from_dict(job["config"]))
    model.load_state_dict(job["state_dict"])
    export_onnx_in_process(model, out, json.loads(job["metadata"]))


def example_inputs(cfg: SegmenterConfig) -> tuple[torch.Tensor, torch.Tensor]:
    b, n = EXAMPLE_DIMS["batch"], EXAMPLE_DIMS["length"]
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1, cfg.n_chars, (b, n), generator=g)  # (batch, length)
    ids[2, n - 3 :] = 0  # a padded row
    feats = (torch.rand(b, n, N_FEATURES, generator=g) < 0.3).float()  # (batch, length, 4)
    return ids, feats


def export_onnx_in_process(model: Segmenter, path: str | Path, metadata: dict[str, str]) -> None:
    """The export itself; run it once per process (see :func:`export_onnx`)."""
    model = model.eval()
    batch, length = Dim("batch", min=1), Dim("length", min=1)
    with warnings.catch_warnings(), redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            model,
            example_inputs(model.cfg),
            None,
            dynamo=True,
            dynamic_shapes=({0: batch, 1: length}, {0: batch, 1: length}),
            input_names=list(INPUTS),
            output_names=[OUTPUT],
            opset_version=OPSET,
            external_data=False,
            verbose=False,
        )
    proto = fold_constants(program.model_proto)
    proto = finalize(proto, metadata)
    onnx.save_model(proto, str(path))


#: The segmenter contract's fixed axes.
DIMS = {"features": N_FEATURES, "labels": N_LABELS}


def finalize(proto: onnx.ModelProto, metadata: dict[str, str]) -> onnx.ModelProto:
    """The tagger's finalisation with :data:`~postag.contract.SEGMENTER_CONTRACT`:
    declare the I/O shapes (symbolic ``batch`` and ``length``), stamp metadata, then
    require the checker, strict shape inference and the declared shapes afterwards."""
    names = {v.name for v in list(proto.graph.input) + list(proto.graph.output)}
    want = set(SEGMENTER_CONTRACT.input_names + SEGMENTER_CONTRACT.output_names)
    if names != want:
        raise ExportError(f"the graph's inputs and outputs are {sorted(names)}, not {sorted(want)}")
    return finalize_graph(proto, SEGMENTER_CONTRACT, DIMS, metadata)


# -- parity -----------------------------------------------------------------------------------


def onnx_predict(path: str | Path, threads: int = 1) -> Predict:
    """An ONNX segmenter graph (onnxruntime, CPU) as ``label_text``'s ``predict``."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def predict(ids: np.ndarray, feats: np.ndarray) -> np.ndarray:
        return session.run([OUTPUT], dict(zip(INPUTS, (ids, feats), strict=True)))[0]

    return predict


class Recorder:
    """A ``predict`` that keeps every batch's inputs and scores (real characters only)."""

    def __init__(self, predict: Predict) -> None:
        self.predict = predict
        self.scores: list[np.ndarray] = []

    def __call__(self, ids: np.ndarray, feats: np.ndarray) -> np.ndarray:
        out = self.predict(ids, feats)  # (batch, length, N_LABELS)
        self.scores.append(out[ids != 0])  # (real characters, N_LABELS)
        return out


@dataclass(frozen=True)
class Mismatch:
    """One character whose label differs between the two backends."""

    text: int  # index into the texts
    offset: int  # character offset in that text
    char: str
    torch: str  # label names
    onnx: str

    def line(self) -> str:
        return (
            f"text {self.text} offset {self.offset} ({self.char!r}): "
            f"torch {self.torch}, onnx {self.onnx}"
        )


@dataclass
class ParityReport:
    """Per text one ✓/✗ check; every mismatching character; the largest |Δ|."""

    checks: list[Check] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)
    max_abs_diff: float = 0.0
    characters: int = 0

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def lines(self) -> list[str]:
        return [c.line() for c in self.checks]

    def verdict(self) -> str:
        bad = [c for c in self.checks if not c.ok]
        if not bad:
            return (
                f"all {len(self.checks)} checks passed ({self.characters:,} characters, "
                f"max|Δ| {self.max_abs_diff:.2e})"
            )
        return (
            f"{len(bad)} of {len(self.checks)} checks failed, {len(self.mismatches)} "
            f"characters labelled differently, max|Δ| {self.max_abs_diff:.2e}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "texts": len(self.checks),
            "characters": self.characters,
            "max_abs_diff": self.max_abs_diff,
            "atol": ATOL,
            "failed": [c.case for c in self.checks if not c.ok],
            "mismatches": [asdict(m) for m in self.mismatches],
        }


def check_segmenter_parity(
    checkpoint_path: str | Path,
    onnx_path: str | Path,
    texts: Sequence[str],
    log: Callable[[str], None] = print,
    batch: int = 16,
    raise_on_failure: bool = True,
    threads: int = 1,
) -> ParityReport:
    """PyTorch vs ONNX through :func:`~postag.segmentation.label_text` on every text
    (see the module docstring); logs one ✓/✗ line per text and the verdict, then raises
    :class:`ParityError` listing every mismatch if any check failed. ``threads``: each
    backend's intra-op threads (torch's is restored afterwards); more threads than free
    cores made PyTorch ~80x slower here (2 threads on a busy 2-core machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _parity(checkpoint_path, onnx_path, texts, log, batch, raise_on_failure, threads)
    finally:
        torch.set_num_threads(before)


def _parity(
    checkpoint_path: str | Path,
    onnx_path: str | Path,
    texts: Sequence[str],
    log: Callable[[str], None],
    batch: int,
    raise_on_failure: bool,
    threads: int,
) -> ParityReport:
    ckpt = read_checkpoint(checkpoint_path)
    cfg, table = ckpt.config, ckpt.table
    ref_predict, got_predict = torch_predict(ckpt.model), onnx_predict(onnx_path, threads)
    report = ParityReport()
    for i, text in enumerate(texts):
        ref, got = Recorder(ref_predict), Recorder(got_predict)
        a = label_text(text, table, ref, cfg.size, cfg.context, batch)  # (n,)
        b = label_text(text, table, got, cfg.size, cfg.context, batch)  # (n,)
        diff = max(
            (float(np.abs(r - g).max()) for r, g in zip(ref.scores, got.scores, strict=True)
             if r.size),
            default=0.0,
        )  # fmt: skip
        finite = all(np.isfinite(g).all() for g in got.scores)
        sa, sb = decode(text, a), decode(text, b)
        wrong = np.flatnonzero(a != b).tolist()
        report.mismatches += [
            Mismatch(i, k, text[k], LABELS[int(a[k])], LABELS[int(b[k])]) for k in wrong
        ]
        same_tokens = sa.tokens == sb.tokens and sa.multiword == sb.multiword
        same_sentences = sa.sentences == sb.sentences
        ok = not wrong and same_tokens and same_sentences and finite and diff <= ATOL
        detail = (
            f"{len(text):,} chars: labels {'identical' if not wrong else f'{len(wrong)} differ'}, "
            f"tokens {'identical' if same_tokens else 'differ'} ({len(sa.tokens)}), "
            f"sentences {'identical' if same_sentences else 'differ'} ({len(sa.sentences)}), "
            f"max|Δ| {diff:.2e} {'≤' if diff <= ATOL else '>'} {ATOL:g}"
            + ("" if finite else ", non-finite scores")
        )
        check = Check("segmenter.onnx", f"text {i}", ok, detail, max_abs_diff=diff)
        report.checks.append(check)
        report.max_abs_diff = max(report.max_abs_diff, diff)
        report.characters += len(text)
        log(check.line())
    log(("✓ " if report.ok else "✗ ") + report.verdict())
    if not report.ok and raise_on_failure:
        raise ParityError(
            f"the ONNX segmenter {onnx_path} disagrees with PyTorch: {report.verdict()}; "
            f"failed: {', '.join(c.case for c in report.checks if not c.ok)}"
            + "".join(f"\n  {m.line()}" for m in report.mismatches)
        )
    return report


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2])
