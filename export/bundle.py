"""Write a verified, self-describing bundle: ``artifacts/<name>/``.

Everything is written into a temporary directory beside the target, verified there, and
renamed into place only when every check passes: a failed export never leaves a half
bundle and never destroys the previous one.

    build_bundle("artifacts/checkpoints/default.pt", "artifacts/postag-en-ewt")
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
from postag.batching import run_batched
from postag.bundle import FORMAT_VERSION, MANIFEST, Manifest, identity_sha256, load_manifest
from postag.contract import CONTRACT, FAST_CONTRACT, IOContract
from postag.data import Sentence
from postag.errors import ParityError
from postag.files import atomic_dir, sha256_file
from postag.session import FAST_FORMS, FAST_INT8, FAST_MODEL

from .backends import Backend, bundle_backends
from .checkpoint import Checkpoint
from .fast_path import char_forms, char_table, export_fast
from .model_card import model_card
from .onnx_export import export_onnx, set_metadata
from .torchscript_export import export_torchscript
from .trainer import accuracy, plot_history, tag_ids
from .verify import Case, Check, VerificationReport, run_verification, verification_cases

DEFAULT_NAME = "postag-en-ewt"
FILES_DOC = {
    "model.onnx": "ONNX fp32 graph",
    "model.fast.onnx": "ONNX fp32 graph with known forms' character features precomputed "
    "(the runtime's default)",
    "model.fast.int8.onnx": "the fast graph with int8 dynamic quantisation (what --int8 runs)",
    "char_forms.json": "word forms whose character features model.fast.onnx stores (JSON list)",
    "model.int8.onnx": "ONNX with int8 dynamic quantisation (LSTM, MatMul, Gather)",
    "model.torchscript.pt": "TorchScript (torch.jit.load)",
    "words.json": "word vocabulary (JSON list, <pad>=0, <unk>=1)",
    "chars.json": "character vocabulary (JSON list, <pad>=0, <unk>=1)",
    "tags.json": "UPOS tag list (output unit order)",
    "verification.json": "the sentences the verification gate runs",
    "training_curve.png": "train loss and dev accuracy per epoch",
    "MODEL_CARD.md": "model card",
}


@dataclass
class ExportResult:
    path: Path
    manifest: dict[str, Any]
    report: VerificationReport
    seconds: float


def accuracy_of(run: Callable, ckpt: Checkpoint, sentences: Sequence[Sentence]) -> float:
    """UPOS accuracy of a backend runner on gold-tokenized sentences."""
    lps = run_batched(run, ckpt.encoder(), [s.words for s in sentences])
    return accuracy(tag_ids(sentences, ckpt.tags, "eval"), [lp.argmax(-1).tolist() for lp in lps])


def quantize_int8(src: Path, dst: Path) -> None:
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(logging.ERROR)  # the quantiser logs advice on the root logger
    quantize_dynamic(
        str(src),
        str(dst),
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["LSTM", "MatMul", "Gather"],
    )


def verify_bundle_dir(
    root: Path,
    ckpt: Checkpoint,
    contract: IOContract,
    cases: Sequence[Case],
    threads: int = 0,
    identity: str | None = None,
    backends: Sequence[Backend] | None = None,
) -> VerificationReport:
    """Run the gate on the files in ``root`` against the PyTorch checkpoint; with
    ``identity``, also require the ONNX metadata to name that manifest. ``backends``:
    already-loaded ``bundle_backends(root, …)`` to reuse."""
    model = ckpt.model()
    if backends is None:
        backends = bundle_backends(root, contract, threads)
    runners = {b.name: (b.run, b.fp32) for b in backends}
    report = run_verification(model, ckpt.encoder(), contract, runners, cases)
    # Structure: declared shapes symbolic, metadata identifying the bundle.
    identity_checks = []
    graphs = {
        "model.onnx": contract,
        "model.int8.onnx": contract,
        FAST_MODEL: FAST_CONTRACT,
        FAST_INT8: FAST_CONTRACT,
    }
    for name, graph_contract in graphs.items():
        if not (root / name).exists():
            continue
        proto = onnx.load_model(str(root / name), load_external_data=False)
        shapes = {
            v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in list(proto.graph.input) + list(proto.graph.output)
        }
        want = {
            s.name: list(s.shape({"tags": len(ckpt.tags)}))
            for s in graph_contract.inputs + graph_contract.outputs
        }
        report.checks.append(
            Check(
                name,
                "declared shapes",
                shapes == want,
                ", ".join(f"{k}{v}" for k, v in shapes.items()),
            )
        )
        if identity is not None:
            got = {p.key: p.value for p in proto.metadata_props}.get("postag.manifest_sha256")
            identity_checks.append(
                Check(
                    name,
                    "manifest identity",
                    got == identity,
                    f"metadata {str(got)[:12]}…, manifest {identity[:12]}…",
                )
            )
    report.checks.extend(identity_checks)
    return report


def build_bundle(
    checkpoint: str | Path,
    out: str | Path,
    dev: Sequence[Sentence],
    test: Sequence[Sentence] | None = None,
    train: Sequence[Sentence] | None = None,
    name: str = DEFAULT_NAME,
    version: str | None = None,
    contract: IOContract = CONTRACT,
    threads: int = 0,
    log: Callable[[str], None] = print,
    tamper: Callable[[Path], None] | None = None,  # tests: break a file before verification
) -> ExportResult:
    """Export, verify and publish a bundle. ``train`` supplies the word forms whose
    character features the fast graph precomputes (without it: the word vocabulary's
    entries); a model without a character BiLSTM gets no fast graph."""
    start = time.perf_counter()
    ckpt = Checkpoint.load(checkpoint)
    model = ckpt.model()
    out = Path(out)
    fast = ckpt.model_config.char_hidden > 0
    if train is not None:
        forms = char_forms(s.words for s in train)
    else:
        forms = char_forms([[w for w in ckpt.words.items[2:]]])
    with atomic_dir(out) as tmp:
        if fast:
            (tmp / FAST_FORMS).write_text(json.dumps(forms, ensure_ascii=False) + "\n", "utf-8")
        ckpt.words.save(tmp / "words.json")
        ckpt.chars.save(tmp / "chars.json")
        ckpt.tags.save(tmp / "tags.json")
        cases = verification_cases(dev)
        (tmp / "verification.json").write_text(
            json.dumps(
                [{"name": c.name, "sentences": c.sentences} for c in cases], ensure_ascii=False
            )
            + "\n",
            "utf-8",
        )
        core: dict[str, Any] = {
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
            "fast_path": {
                "model": FAST_MODEL,
                "int8_model": FAST_INT8,
                "forms": FAST_FORMS,
                "table_rows": len(forms) + 1,
                "contract": FAST_CONTRACT.to_dict(),
            }
            if fast
            else None,
            "tags": ckpt.tags.items,
            "vocab_files": {"words": "words.json", "chars": "chars.json", "tags": "tags.json"},
            "corpus": ckpt.corpus,
            "metrics": ckpt.metrics,
            "checkpoint": {  # path relative to the bundle, so artifacts/ can move whole
                "path": os.path.relpath(Path(checkpoint).resolve(), out.resolve()),
                "sha256": sha256_file(checkpoint),
            },
        }
        identity = identity_sha256(core)
        meta = {
            "postag.name": name,
            "postag.version": core["version"],
            "postag.manifest_sha256": identity,
        }
        dims = {"tags": len(ckpt.tags)}
        t0 = time.perf_counter()
        export_onnx(model, tmp / "model.onnx", contract, meta)
        log(f"onnx exported in {time.perf_counter() - t0:.1f}s")
        if fast:
            t0 = time.perf_counter()
            table = char_table(model, ckpt.encoder(), forms)  # (forms + 1, c)
            fast_meta = {**meta, "postag.table_rows": str(len(table))}
            export_fast(model, table, tmp / FAST_MODEL, fast_meta)
            quantize_int8(tmp / FAST_MODEL, tmp / FAST_INT8)
            set_metadata(tmp / FAST_INT8, FAST_CONTRACT, dims, fast_meta)
            log(
                f"fast graph ({len(forms)} known forms) exported in {time.perf_counter() - t0:.1f}s"
            )
        quantize_int8(tmp / "model.onnx", tmp / "model.int8.onnx")
        set_metadata(tmp / "model.int8.onnx", contract, dims, meta)
        export_torchscript(model, tmp / "model.torchscript.pt", meta)
        if ckpt.history:
            plot_history(ckpt.history, tmp / "training_curve.png", title=f"{name}: training curve")
        if tamper:
            tamper(tmp)

        backends = bundle_backends(tmp, contract, threads)
        report = verify_bundle_dir(tmp, ckpt, contract, cases, threads, backends=backends)
        evaluation: dict[str, Any] = {}
        onnx_backends = [b for b in backends if "onnx" in b.name]
        for b in onnx_backends:
            evaluation[b.name] = {"dev_accuracy": accuracy_of(b.run, ckpt, dev)}
            if test:
                evaluation[b.name]["test_accuracy"] = accuracy_of(b.run, ckpt, test)
        split = "test_accuracy" if test else "dev_accuracy"
        limit = contract.int8_max_accuracy_drop
        for b in onnx_backends:
            if b.fp32:
                continue
            ref = "onnx-fast" if b.name == "onnx-fast-int8" else "onnx-fp32"
            drop = evaluation[ref][split] - evaluation[b.name][split]
            report.checks.append(
                Check(
                    b.name,
                    f"{split.split('_')[0]} accuracy",
                    drop <= limit,
                    f"{100 * evaluation[b.name][split]:.2f}% vs fp32 "
                    f"{100 * evaluation[ref][split]:.2f}% (Δ {100 * drop:+.2f} pt, "
                    f"limit {100 * limit:g} pt)",
                )
            )
        for line in report.lines():
            log(line)
        if not report.ok:
            raise ParityError(
                f"verification failed, no bundle written ({len(report.failures)} of "
                f"{len(report.checks)} checks):\n" + "\n".join(c.line() for c in report.failures)
            )

        manifest = {
            **core,
            "manifest_sha256": identity,
            "evaluation": evaluation,
            "validation": report.to_dict(),
        }
        card = model_card(
            manifest, {f: (tmp / f).stat().st_size for f in FILES_DOC if (tmp / f).exists()}
        )
        (tmp / "MODEL_CARD.md").write_text(card, "utf-8")
        manifest["files"] = {
            p.name: {
                "sha256": sha256_file(p),
                "bytes": p.stat().st_size,
                "what": FILES_DOC.get(p.name, ""),
            }
            for p in sorted(tmp.iterdir())
            if p.is_file() and p.name != MANIFEST
        }
        (tmp / MANIFEST).write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", "utf-8"
        )
        load_manifest(tmp)  # the bundle we are about to publish must load
    return ExportResult(out, manifest, report, time.perf_counter() - start)


def bundle_checkpoint(man: Manifest, checkpoint: str | Path | None = None) -> Path:
    """The PyTorch checkpoint a bundle was exported from: ``checkpoint`` or the path the
    manifest recorded, refused unless its sha256 is the one the manifest recorded."""
    recorded = man.data.get("checkpoint", {})
    path = Path(checkpoint) if checkpoint else man.root / recorded.get("path", "")
    if not path.is_file():
        raise ParityError(
            f"this needs the PyTorch checkpoint the bundle was exported from "
            f"({path}); pass --checkpoint"
        )
    if recorded.get("sha256") and sha256_file(path) != recorded["sha256"]:
        raise ParityError(
            f"{path}: not the checkpoint this bundle was exported from "
            f"(sha256 differs from the manifest)"
        )
    return path


def verify_bundle(
    bundle: str | Path,
    checkpoint: str | Path | None = None,
    threads: int = 0,
    log: Callable[[str], None] = print,
) -> VerificationReport:
    """`postag verify`: re-run the gate on an existing bundle."""
    man = load_manifest(bundle)
    ckpt_path = bundle_checkpoint(man, checkpoint)
    ckpt = Checkpoint.load(ckpt_path)
    contract = man.contract
    cases = [Case(name, sents) for name, sents in man.verification_cases()]
    report = verify_bundle_dir(
        man.root, ckpt, contract, cases, threads, identity=identity_sha256(man.data)
    )
    for line in report.lines():
        log(line)
    return report
