"""Write a verified, self-describing bundle: ``artifacts/<name>/``; re-run its gate.

Everything is written into a temporary directory beside the target, verified there, and
renamed into place only when every check passes: a failed export never leaves a half
bundle and never destroys the previous one.

    build_bundle("artifacts/checkpoints/default.pt", "artifacts/postag-en-ewt", dev, test)
    verify_bundle("artifacts/postag-en-ewt")      # the same checks, re-measured

The gate (:func:`run_gate`) is one list of checks, run by the export and by ``postag
verify`` alike: every backend on the fixed verification sample (:mod:`.verify`), the
declared shapes and the identity metadata of every model file, and each int8 graph's
accuracy drop on the sentences the export scored (recorded in the manifest as ``gate``).
"""

from __future__ import annotations

import json
import logging
import os
import platform
import time
import zipfile
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
from postag.bundle import (
    Manifest,
    file_entries,
    identity_files,
    identity_sha256,
    load_manifest,
    metric_key,
    sentences_sha256,
)
from postag.contract import CONTRACT, FAST_CONTRACT, IOContract, decoded
from postag.corpus import locate_corpus
from postag.data import Sentence, read_conllu
from postag.errors import BundleError, CorpusError, ParityError
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
    TORCHSCRIPT,
    VERIFICATION,
    VOCAB_FILES,
)

from .backends import FP32_OF, Backend, bundle_backends
from .checkpoint import Checkpoint, CheckpointError
from .fast_path import char_forms, char_table, export_fast
from .model_card import model_card
from .onnx_export import declared_shapes, export_onnx, set_metadata
from .torchscript_export import export_torchscript
from .trainer import accuracy, plot_history, tag_ids
from .verify import Case, Check, VerificationReport, gate, run_verification, verification_cases

DEFAULT_NAME = "postag-en-ewt"
#: The ONNX graphs a bundle may hold and the contract each one follows.
GRAPHS = {MODEL: "contract", MODEL_INT8: "contract", FAST_MODEL: "fast", FAST_INT8: "fast"}


@dataclass
class ExportResult:
    path: Path
    manifest: dict[str, Any]
    report: VerificationReport
    seconds: float


# ---------------------------------------------------------------------------- the gate


def accuracy_of(run: Callable, ckpt: Checkpoint, sentences: Sequence[Sentence]) -> dict[str, float]:
    """Accuracy per head of a backend runner on gold-tokenized sentences."""
    outs = [decoded(o) for o in run_batched(run, ckpt.encoder(), [s.words for s in sentences])]
    return {
        h: accuracy(tag_ids(sentences, labels, "eval", h), [o[h].tolist() for o in outs])
        for h, labels in ckpt.labels().items()
    }


def onnx_accuracies(
    backends: Sequence[Backend], ckpt: Checkpoint, sentences: Sequence[Sentence]
) -> dict[str, dict[str, float]]:
    """Accuracy per head of every ONNX backend on ``sentences``: {backend: {head: acc}}."""
    return {b.name: accuracy_of(b.run, ckpt, sentences) for b in backends if "onnx" in b.name}


def torchscript_metadata(path: Path) -> dict[str, str]:
    """The extra files TorchScript stores beside the code (``<archive>/extra/<key>``)."""
    with zipfile.ZipFile(path) as z:
        return {
            n.split("/extra/", 1)[1]: z.read(n).decode("utf-8", "replace")
            for n in z.namelist()
            if "/extra/" in n
        }


def structure_checks(
    root: Path, contracts: dict[str, IOContract], dims: dict[str, int], identity: str
) -> list[Check]:
    """Every ONNX graph's declared shapes (dynamic axes symbolic), then every model
    file's identity metadata (ONNX and TorchScript)."""
    shapes, identities = [], []
    for name, kind in GRAPHS.items():
        if not (root / name).exists():
            continue
        proto = onnx.load_model(str(root / name), load_external_data=False)
        got = declared_shapes(proto)
        contract = contracts[kind]
        want = {s.name: list(s.shape(dims)) for s in contract.inputs + contract.outputs}
        detail = ", ".join(f"{k}{v}" for k, v in got.items())
        shapes.append(Check(name, "declared shapes", got == want, detail))
        meta = {p.key: p.value for p in proto.metadata_props}
        identities.append(identity_check(name, meta, identity))
    if (root / TORCHSCRIPT).exists():
        identities.append(
            identity_check(TORCHSCRIPT, torchscript_metadata(root / TORCHSCRIPT), identity)
        )
    return shapes + identities


def identity_check(name: str, meta: dict[str, str], identity: str) -> Check:
    got = meta.get(META_IDENTITY)
    detail = f"metadata {str(got)[:12]}…, manifest {identity[:12]}…"
    return Check(name, "manifest identity", got == identity, detail)


def accuracy_checks(
    contract: IOContract, split: str, accuracies: dict[str, dict[str, float]]
) -> list[Check]:
    """Each int8 backend's accuracy on ``split`` against its fp32 graph's, per head."""
    checks = []
    for name, ref in FP32_OF.items():
        if name not in accuracies or ref not in accuracies:
            continue
        for head in contract.heads:
            got, want = accuracies[name][head], accuracies[ref][head]
            verdict = gate(contract, False, accuracy_drop=want - got)
            detail = f"{100 * got:.2f}% vs fp32 {100 * want:.2f}%, {', '.join(verdict.notes)}"
            case = f"{split} accuracy" if len(contract.heads) == 1 else f"{split} {head} accuracy"
            checks.append(Check(name, case, verdict.ok, detail))
    return checks


def run_gate(
    root: Path,
    ckpt: Checkpoint,
    contracts: dict[str, IOContract],
    cases: Sequence[Case],
    identity: str,
    backends: Sequence[Backend],
    split: str,
    accuracies: dict[str, dict[str, float]],
) -> VerificationReport:
    """All of the gate's checks, in one order: backends on every case, structure and
    identity of every model file, int8 accuracy on ``split`` (``accuracies``: of the
    ONNX backends there, see :func:`onnx_accuracies`). ``contracts``: "contract" and
    "fast" → the contract each graph follows."""
    runners = {b.name: (b.run, b.fp32) for b in backends}
    report = run_verification(ckpt.model(), ckpt.encoder(), contracts["contract"], runners, cases)
    report.checks += structure_checks(root, contracts, ckpt.model_config.label_dims(), identity)
    report.checks += accuracy_checks(contracts["contract"], split, accuracies)
    return report


def judge(report: VerificationReport, log: Callable[[str], None]) -> None:
    """Log every check and the verdict; raise :class:`ParityError` on any ✗."""
    for line in report.lines():
        log(line)
    log(report.verdict())
    if not report.ok:
        raise ParityError(
            f"verification failed, no bundle written ({len(report.failures)} of "
            f"{len(report.checks)} checks):\n" + "\n".join(c.line() for c in report.failures)
        )


# -------------------------------------------------------------------------- the export


def quantize_int8(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(logging.ERROR)  # the quantiser logs advice on the root logger
    quantize_dynamic(
        str(src),
        str(dst),
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["LSTM", "MatMul", "Gather"],
    )


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
) -> dict[str, Any]:
    """Everything the manifest says before the model files exist."""
    labels = ckpt.labels()
    extra = {h: v.items for h, v in labels.items() if h != "upos"}
    return {
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
) -> ExportResult:
    """Export, verify and publish a bundle. ``train`` supplies the word forms whose
    character features the fast graph precomputes (without it: the word vocabulary's
    entries); a model without a character BiLSTM gets no fast graph. The int8 accuracy
    checks score ``test`` (else ``dev``). ``contract``: :data:`CONTRACT` with one output
    per head of the model, unless given."""
    start = time.perf_counter()
    checkpoint, out = Path(checkpoint), Path(out)
    ckpt = Checkpoint.load(checkpoint)
    contract = contract or CONTRACT.with_heads(ckpt.model_config.heads, ckpt.model_config.crf)
    forms = fast_forms(ckpt, train)
    split, scored = ("test", test) if test else ("dev", dev)
    with atomic_dir(out) as tmp:
        cases = verification_cases(dev)
        write_inputs(tmp, ckpt, forms, cases)
        core = manifest_core(ckpt, checkpoint, out, name, version, contract, forms, (split, scored))
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


def scored_sentences(man: Manifest, data: str | Path | None) -> tuple[str, list[Sentence]]:
    """The split the export's accuracy checks scored, read from the corpus setting
    (``data``, ``POSTAG_DATA``, ``../shared``) and refused unless it is the same
    sentences. Format 1 recorded no ``gate``: the corpus' file sha256 stands in."""
    if man.scored is not None:
        split, want = man.scored.split, man.scored.sha256
    else:
        split = "test" if "test_accuracy" in str(man.data.get("evaluation")) else "dev"
        want = _dig(man.data, "corpus", "files", split, "sha256")
        if not isinstance(want, str):
            raise BundleError(
                f"{man.root}: the manifest does not record the sentences the export's "
                "accuracy checks scored; re-export the bundle to verify it"
            )
    why = f"verify re-runs the export's int8 accuracy checks on the {split} split it scored"
    try:
        path = locate_corpus(data).path(split)
        sentences = read_conllu(path)
    except CorpusError as exc:
        raise CorpusError(f"{why}: {exc}") from None
    got = sentences_sha256(sentences) if man.scored is not None else sha256_file(path)
    if got != want:
        raise CorpusError(
            f"{why}, but {path} holds other sentences (sha256 {got[:12]}…, the export "
            f"scored {want[:12]}…); pass --data with the corpus the bundle was exported from"
        )
    return split, sentences


def _dig(data: Any, *keys: str) -> Any:
    """``data[k1][k2]…``, or None where a level is missing or not an object."""
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def recorded_checks(man: Manifest) -> list[tuple[str, str]] | None:
    """(backend, case) of every check the export recorded (format 2; None before)."""
    if man.format_version < 2:
        return None
    checks = (man.data.get("validation") or {}).get("checks")
    if not isinstance(checks, list) or not all(isinstance(c, dict) for c in checks):
        raise BundleError(f"{man.root / MANIFEST}: manifest field 'validation.checks' is malformed")
    return [(str(c.get("backend")), str(c.get("case"))) for c in checks]


def verify_bundle(
    bundle: str | Path,
    checkpoint: str | Path | None = None,
    data: str | Path | None = None,
    threads: int = 0,
    log: Callable[[str], None] = print,
) -> VerificationReport:
    """`postag verify`: re-run the export's gate on an existing bundle, the same checks
    in the same order, re-measured; raise :class:`ParityError` if the checks differ from
    those the export recorded."""
    man = load_manifest(bundle)
    ckpt = Checkpoint.load(bundle_checkpoint(man, checkpoint))
    split, sentences = scored_sentences(man, data)
    cases = [Case(name, sents) for name, sents in man.verification_cases()]
    backends = bundle_backends(man.root, man.contract, threads)
    needed = {*FP32_OF, *FP32_OF.values()}
    accuracies = onnx_accuracies([b for b in backends if b.name in needed], ckpt, sentences)
    fast = (
        man.fast_path.contract
        if man.fast_path
        else FAST_CONTRACT.with_heads(man.contract.heads, man.contract.crf)
    )
    contracts = {"contract": man.contract, "fast": fast}
    report = run_gate(man.root, ckpt, contracts, cases, man.identity, backends, split, accuracies)
    for line in report.lines():
        log(line)
    log(report.verdict())
    recorded = recorded_checks(man)
    ran = [(c.backend, c.case) for c in report.checks]
    if recorded is not None and ran != recorded:
        missing = [f"{b} {c}" for b, c in recorded if (b, c) not in ran]
        extra = [f"{b} {c}" for b, c in ran if (b, c) not in recorded]
        raise ParityError(
            f"these are not the checks the export ran ({len(ran)} vs {len(recorded)} "
            f"recorded; missing: {', '.join(missing) or '-'}; new: {', '.join(extra) or '-'})"
        )
    return report
