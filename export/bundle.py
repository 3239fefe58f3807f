"""Write a verified, self-describing bundle: ``artifacts/<name>/``.

Everything is written into a temporary directory beside the target, verified there by
the gate (:mod:`postag.export.gate`: :func:`~postag.export.gate.run_gate`, then
:func:`~postag.export.gate.judge`), and renamed into place only when every check passes:
a failed export never leaves a half bundle and never destroys the previous one.

    build_bundle("artifacts/checkpoints/default.pt", "artifacts/postag-en-ewt", dev, test)
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import onnx
import onnxruntime
import torch

from postag import __version__
from postag.bundle import (
    Manifest,
    file_entries,
    identity_files,
    identity_sha256,
    load_manifest,
    metric_key,
    sentences_sha256,
)
from postag.contract import CONTRACT, FAST_CONTRACT, SEGMENTER_CONTRACT, IOContract
from postag.data import Sentence
from postag.errors import ParityError, PostagError
from postag.export.backends import Backend, bundle_backends
from postag.export.gate import (
    Case,
    Check,
    VerificationReport,
    judge,
    onnx_accuracies,
    run_gate,
    verification_cases,
)
from postag.export.graphs.fast import char_forms, char_table, export_fast
from postag.export.graphs.onnx_export import export_onnx, set_metadata
from postag.export.graphs.storage import quantize_int8
from postag.export.graphs.torchscript_export import export_torchscript
from postag.export.model_card import model_card
from postag.export.train.checkpoint import Checkpoint, CheckpointError
from postag.export.train.trainer import plot_history
from postag.files import atomic_dir, sha256_file
from postag.layout import (
    CURVE,
    FAST_FORMS,
    FAST_INT8,
    FAST_MODEL,
    FILES_DOC,
    FORMAT_VERSION,
    LABEL_FILES,
    MANIFEST,
    META_IDENTITY,
    META_NAME,
    META_TABLE_ROWS,
    META_VERSION,
    MODEL,
    MODEL_CARD,
    MODEL_INT8,
    MWT_LEXICON,
    SEGMENTER,
    SEGMENTER_CONFIG,
    TORCHSCRIPT,
    VERIFICATION,
    VOCAB_FILES,
)
from postag.mwt import MwtLexicon

DEFAULT_NAME = "postag-en-ewt"


@dataclass
class ExportResult:
    path: Path
    manifest: dict[str, Any]
    report: VerificationReport
    seconds: float


# -------------------------------------------------------------------------- the export


def fast_forms(ckpt: Checkpoint, train: Sequence[Sentence] | None) -> list[str] | None:
    """The forms the fast graph precomputes (training forms, else the word vocabulary's);
    None for a model without a character BiLSTM (no fast graph)."""
    if ckpt.model_config.char_hidden <= 0:
        return None
    if train is not None:
        return char_forms(s.words for s in train)
    return char_forms([list(ckpt.words.items[2:])])


def write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False) + "\n", "utf-8")


@dataclass(frozen=True)
class SplitterSpec:
    """What the bundle splits raw text with (manifest ``splitter``): the rule tokenizer,
    with a multiword-token ``lexicon`` learned from the training split where it has one,
    or a trained ``segmenter`` checkpoint (:mod:`postag.export.segment`), exported into
    the bundle and verified by the gate."""

    lexicon: MwtLexicon | None = None
    segmenter: Path | None = None

    def manifest(self) -> dict[str, Any] | None:
        """The manifest's ``splitter`` field (None: the rule tokenizer alone, as every
        bundle before it; such bundles keep their identity)."""
        if self.segmenter is not None:
            return {
                "kind": "model",
                "segmenter": SEGMENTER,
                "segmenter_config": SEGMENTER_CONFIG,
                "contract": SEGMENTER_CONTRACT.to_dict(),
            }
        return {"kind": "rules", "mwt": MWT_LEXICON} if self.lexicon is not None else None

    def checkpoint_ref(self, out: Path) -> dict[str, Any] | None:
        """The manifest's ``segmenter_checkpoint`` (path relative to the bundle, sha256;
        outside the identity, like the tagger's ``checkpoint``): what the parity suite
        checks the graph against."""
        if self.segmenter is None:
            return None
        path = os.path.relpath(self.segmenter.resolve(), out.resolve())
        return {"path": path, "sha256": sha256_file(self.segmenter)}

    def write(self, tmp: Path) -> None:
        if self.segmenter is not None:
            from postag.export.segment.onnx_export import export_segmenter

            part = export_segmenter(self.segmenter, tmp / "segmenter.tmp")
            part.onnx.replace(tmp / SEGMENTER)
            part.json.replace(tmp / SEGMENTER_CONFIG)
            part.onnx.parent.rmdir()
        elif self.lexicon is not None:
            write_json(tmp / MWT_LEXICON, self.lexicon.to_dict())

    def checks(self, tmp: Path, gold: Path | None, threads: int) -> list[Check]:
        """The gate's checks of the splitter: the segmenter graph against PyTorch on every
        document of ``gold``'s raw text (labels, tokens, sentences and multiword tokens
        identical, scores within tolerance; one ✓/✗ line, every mismatch listed on ✗),
        and that the runtime loads the splitter the manifest will name."""
        if self.segmenter is None:
            return []
        from postag.export.segment.data import document_texts
        from postag.export.segment.onnx_export import check_segmenter_parity
        from postag.segmenter import Segmenter

        if gold is None:
            raise ParityError("the segmenter's parity check needs the gold CoNLL-U (test or dev)")
        texts = document_texts(gold.read_text(encoding="utf-8"))
        rep = check_segmenter_parity(
            self.segmenter,
            tmp / SEGMENTER,
            texts,
            log=lambda _: None,
            raise_on_failure=False,
            threads=max(1, threads),
        )
        bad = [c.case for c in rep.checks if not c.ok]
        detail = (
            f"{len(texts)} documents of {gold.name}, {rep.characters:,} chars: "
            + ("labels, tokens, sentences identical" if not bad else f"{len(bad)} differ")
            + f", max|Δ| {rep.max_abs_diff:.2e}"
            + "".join(f"\n    {m.line()}" for m in rep.mismatches)
            + "".join(f"\n    {c.line()}" for c in rep.checks if not c.ok)
        )
        checks = [Check("segmenter.onnx", "documents", rep.ok, detail, rep.max_abs_diff)]
        try:
            Segmenter.load(tmp / SEGMENTER, tmp / SEGMENTER_CONFIG, threads=max(1, threads))
            checks.append(
                Check("segmenter.onnx", "runtime load", True, "postag.segmenter loads it")
            )
        except PostagError as exc:
            checks.append(Check("segmenter.onnx", "runtime load", False, str(exc)))
        return checks


def write_inputs(tmp: Path, ckpt: Checkpoint, forms: list[str] | None, cases: list[Case]) -> None:
    """Vocabularies, each head's label list, the fast graph's form list and the gate's
    fixed sample."""
    ckpt.words.save(tmp / VOCAB_FILES["words"])
    ckpt.chars.save(tmp / VOCAB_FILES["chars"])
    for head, labels in ckpt.labels().items():
        labels.save(tmp / LABEL_FILES[head])
    if forms is not None:
        write_json(tmp / FAST_FORMS, forms)
    write_json(tmp / VERIFICATION, [{"name": c.name, "sentences": c.sentences} for c in cases])


def manifest_core(
    ckpt: Checkpoint,
    checkpoint: Path,
    out: Path,
    name: str,
    version: str | None,
    contract: IOContract,
    forms: list[str] | None,
    scored: tuple[str, Sequence[Sentence]],
    splitter: SplitterSpec | None = None,
) -> dict[str, Any]:
    """Everything the manifest says before the model files exist."""
    labels = ckpt.labels()
    extra = {h: v.items for h, v in labels.items() if h != "upos"}
    split = splitter.manifest() if splitter else None
    seg_ckpt = splitter.checkpoint_ref(out) if splitter else None
    return {
        **({"splitter": split} if split else {}),
        **({"segmenter_checkpoint": seg_ckpt} if seg_ckpt else {}),
        "format_version": FORMAT_VERSION,
        "name": name,
        "version": version or __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "producers": {
            "postag": __version__,
            "torch": str(torch.__version__),
            "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
            "python": platform.python_version(),
        },
        "model_config": ckpt.model_config.to_dict(),
        "train_config": ckpt.train_config.to_dict(),
        "preset": ckpt.preset,
        "contract": contract.to_dict(),
        "fast_path": None
        if forms is None
        else {
            "model": FAST_MODEL,
            "int8_model": FAST_INT8,
            "forms": FAST_FORMS,
            "table_rows": len(forms) + 1,
            "contract": FAST_CONTRACT.with_heads(contract.heads, contract.crf).to_dict(),
        },
        "tags": ckpt.tags.items,
        **({"labels": extra} if extra else {}),
        "vocab_files": {**VOCAB_FILES, **{h: LABEL_FILES[h] for h in extra}},
        "corpus": ckpt.corpus,
        "metrics": ckpt.metrics,
        "checkpoint": {  # path relative to the bundle, so artifacts/ can move whole
            "path": os.path.relpath(checkpoint.resolve(), out.resolve()),
            "sha256": sha256_file(checkpoint),
        },
        "gate": {
            "split": scored[0],
            "sentences": len(scored[1]),
            "sha256": sentences_sha256(scored[1]),
        },
    }


def export_graphs(
    tmp: Path,
    ckpt: Checkpoint,
    contract: IOContract,
    forms: list[str] | None,
    meta: dict[str, str],
    log: Callable[[str], None],
) -> None:
    """model.onnx, the fast graph, both int8 graphs and TorchScript, each stamped with
    ``meta``; the training curve."""
    model = ckpt.model()
    dims = ckpt.model_config.label_dims()
    t0 = time.perf_counter()
    export_onnx(model, tmp / MODEL, contract, meta)
    log(f"onnx exported in {time.perf_counter() - t0:.1f}s")
    if forms is not None:
        t0 = time.perf_counter()
        table = char_table(model, ckpt.encoder(), forms)  # (forms + 1, c)
        fast_meta = {**meta, META_TABLE_ROWS: str(len(table))}
        export_fast(model, table, tmp / FAST_MODEL, fast_meta)
        quantize_int8(tmp / FAST_MODEL, tmp / FAST_INT8)
        set_metadata(
            tmp / FAST_INT8, FAST_CONTRACT.with_heads(contract.heads, contract.crf), dims, fast_meta
        )
        log(f"fast graph ({len(forms)} known forms) exported in {time.perf_counter() - t0:.1f}s")
    quantize_int8(tmp / MODEL, tmp / MODEL_INT8)
    set_metadata(tmp / MODEL_INT8, contract, dims, meta)
    export_torchscript(model, tmp / TORCHSCRIPT, meta)
    if ckpt.history:
        plot_history(ckpt.history, tmp / CURVE, title=f"{meta[META_NAME]}: training curve")


def evaluate(
    backends: Sequence[Backend],
    ckpt: Checkpoint,
    dev: Sequence[Sentence],
    test: Sequence[Sentence] | None,
) -> dict[str, dict[str, float]]:
    """Dev (and test) accuracy per head of every ONNX backend, for the manifest and the
    card: {backend: {"dev_accuracy": UPOS, "dev_xpos_accuracy": …, …}}."""
    splits = {"dev": dev, **({"test": test} if test else {})}
    acc = {split: onnx_accuracies(backends, ckpt, sents) for split, sents in splits.items()}
    return {
        b: {metric_key(s, h): a for s in splits for h, a in acc[s][b].items()} for b in acc["dev"]
    }


def write_manifest(
    tmp: Path,
    core: dict[str, Any],
    identity: str,
    evaluation: dict[str, Any],
    report: VerificationReport,
) -> dict[str, Any]:
    """The model card, then the manifest listing (and hashing) every file."""
    manifest = {
        **core,
        "manifest_sha256": identity,
        "evaluation": evaluation,
        "validation": report.to_dict(),
    }
    sizes = {f: (tmp / f).stat().st_size for f in FILES_DOC if (tmp / f).exists()}
    (tmp / MODEL_CARD).write_text(model_card(manifest, sizes), "utf-8")
    manifest["files"] = file_entries(
        tmp, [p.name for p in tmp.iterdir() if p.is_file() and p.name != MANIFEST]
    )
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return manifest


def build_bundle(
    checkpoint: str | Path,
    out: str | Path,
    dev: Sequence[Sentence],
    test: Sequence[Sentence] | None = None,
    train: Sequence[Sentence] | None = None,
    name: str = DEFAULT_NAME,
    version: str | None = None,
    contract: IOContract | None = None,
    threads: int = 0,
    log: Callable[[str], None] = print,
    tamper: Callable[[Path], None] | None = None,  # tests: break a file before verification
    splitter: SplitterSpec | None = None,
    splitter_gold: Path | None = None,
) -> ExportResult:
    """Export, verify and publish a bundle. ``train`` supplies the word forms whose
    character features the fast graph precomputes (without it: the word vocabulary's
    entries); a model without a character BiLSTM gets no fast graph. The int8 accuracy
    checks score ``test`` (else ``dev``). ``contract``: :data:`CONTRACT` with one output
    per head of the model, unless given. ``splitter``: how the bundle splits raw text
    (none: the rule tokenizer alone); a segmenter is checked against PyTorch on every
    document of ``splitter_gold`` (the test or dev CoNLL-U file)."""
    start = time.perf_counter()
    checkpoint, out = Path(checkpoint), Path(out)
    ckpt = Checkpoint.load(checkpoint)
    contract = contract or CONTRACT.with_heads(ckpt.model_config.heads, ckpt.model_config.crf)
    forms = fast_forms(ckpt, train)
    split, scored = ("test", test) if test else ("dev", dev)
    with atomic_dir(out) as tmp:
        cases = verification_cases(dev)
        write_inputs(tmp, ckpt, forms, cases)
        if splitter is not None:
            splitter.write(tmp)
        core = manifest_core(
            ckpt, checkpoint, out, name, version, contract, forms, (split, scored), splitter
        )
        identity = identity_sha256(core, {f: sha256_file(tmp / f) for f in identity_files(core)})
        meta = {META_NAME: name, META_VERSION: core["version"], META_IDENTITY: identity}
        export_graphs(tmp, ckpt, contract, forms, meta, log)
        if tamper:
            tamper(tmp)
        backends = bundle_backends(tmp, contract, threads)
        evaluation = evaluate(backends, ckpt, dev, test)
        accuracies = {
            b: {h: e[metric_key(split, h)] for h in contract.heads} for b, e in evaluation.items()
        }
        contracts = {
            "contract": contract,
            "fast": FAST_CONTRACT.with_heads(contract.heads, contract.crf),
        }
        report = run_gate(tmp, ckpt, contracts, cases, identity, backends, split, accuracies)
        if splitter is not None:
            report.checks += splitter.checks(tmp, splitter_gold, threads)
        judge(report, log)
        manifest = write_manifest(tmp, core, identity, evaluation, report)
        load_manifest(tmp)  # the bundle we are about to publish must load
    return ExportResult(out, manifest, report, time.perf_counter() - start)


# -------------------------------------------------------------------------- the verify


def bundle_checkpoint(man: Manifest, checkpoint: str | Path | None = None) -> Path:
    """The PyTorch checkpoint a bundle was exported from: ``checkpoint`` or the path the
    manifest recorded, refused unless its sha256 is the one the manifest recorded. A slim
    bundle is refused: verify, parity and bench measure the full bundle's graphs."""
    man.require_full("verify, parity and bench")
    recorded = man.checkpoint
    if checkpoint:
        path = Path(checkpoint)
    elif recorded is not None:
        path = man.root / recorded.path
    else:
        raise CheckpointError(f"{man.root}: the manifest records no checkpoint; pass --checkpoint")
    if not path.is_file():
        raise CheckpointError(
            f"this needs the PyTorch checkpoint the bundle was exported from "
            f"({path}); pass --checkpoint"
        )
    if recorded is not None and sha256_file(path) != recorded.sha256:
        raise CheckpointError(
            f"{path}: not the checkpoint this bundle was exported from "
            f"(sha256 differs from the manifest)"
        )
    return path
