"""The verification gate, whole: every check that decides whether a bundle passes, and the
verdict. ``postag export``, ``postag verify``, ``postag parity``, ``postag slim`` and the
parity suite all call it; nothing else decides pass or fail.

* :func:`gate`: the rule for one backend's measurements against PyTorch;
* :func:`run_verification`: every backend on every case of the fixed sample
  (:func:`verification_cases`), one ✓/✗ :class:`Check` each;
* :func:`run_gate`: those, then each graph's declared shapes and identity metadata
  (:func:`structure_checks`) and each int8 graph's accuracy drop (:func:`accuracy_checks`);
  :func:`judge` prints every line and the verdict and raises :class:`ParityError` on a ✗;
* :func:`verify_bundle`: ``postag verify``, the same checks on a written bundle,
  re-measured, refused if they are not the checks the export recorded;
* :class:`SlimGate`: what a slim bundle's graph must keep of the full bundle's.

Torch is imported only where a check runs the PyTorch model, so ``postag slim`` (which
needs only the slim gate) runs without it.

:func:`gate` is the one rule that decides pass or fail for a backend: an fp32 backend
stays within the contract's ``atol`` and gives identical tags; an int8 backend reaches
the contract's tag-agreement rate over a whole sample and loses at most
``int8_max_accuracy_drop`` accuracy against its fp32 graph.

Every case is run as one batch through each backend (:func:`run_verification`); one ✓/✗
line per check; any ✗ makes :func:`VerificationReport.ok` false (the export then fails and
no bundle is written).

    verdict = gate(CONTRACT, fp32=True, max_abs_diff=3e-6, tag_agreement=1.0)
    verdict.ok, verdict.notes      # True, ['max|Δ| 3.00e-06 ≤ 0.0001', 'tags 100.00%']
"""

from __future__ import annotations

import random
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from postag.batching import run_batched
from postag.bundle import Manifest, load_manifest
from postag.contract import (
    FAST_CONTRACT,
    HEAD_NAMES,
    HEAD_OUTPUTS,
    PATH_OUTPUTS,
    IOContract,
    decoded,
)
from postag.data import Sentence
from postag.errors import BundleError, ParityError
from postag.export.backends import FP32_OF, Backend, bundle_backends
from postag.export.splits import scored_sentences
from postag.layout import (
    FAST_INT8,
    FAST_MODEL,
    MANIFEST,
    META_IDENTITY,
    MODEL,
    MODEL_INT8,
    TORCHSCRIPT,
)
from postag.vocab import EncodedBatch, Encoder

if TYPE_CHECKING:  # torch: imported where a check runs a model, never at import time
    from postag.export.train.checkpoint import Checkpoint
    from postag.export.train.model import TaggerModel

Runner = Callable[[EncodedBatch], dict[str, np.ndarray]]  # {head: (batch, seq, labels), …}


@dataclass
class Case:
    name: str
    sentences: list[list[str]]


def verification_cases(dev: Sequence[Sentence], sample: int = 128, seed: int = 0) -> list[Case]:
    """A fixed dev sample (batched) plus the edge cases every export must survive."""
    rng = random.Random(seed)
    picked = [dev[i].words for i in sorted(rng.sample(range(len(dev)), min(sample, len(dev))))]
    long_sent: list[str] = []
    for s in dev:
        long_sent.extend(s.words)
        if len(long_sent) >= 320:
            break
    letters = "bcdfghjklmnpqrstvwxz"
    unknown = ["".join(rng.choice(letters) for _ in range(rng.randint(4, 11))) for _ in range(12)]
    long_words = [
        "Pneumonoultramicroscopicsilicovolcanoconiosis",
        "x" * 500,
        "https://example.com/" + "a/" * 40,
        "¡Olé!" * 20,
    ]
    cases = [Case(f"dev sample [{i // 32}]", picked[i : i + 32]) for i in range(0, len(picked), 32)]
    cases += [
        Case("one token", [["Hello"]]),
        Case(f"{len(long_sent)} tokens", [long_sent]),
        Case("all-unknown words", [unknown]),
        Case("very long words", [["The", *long_words, "."]]),
        Case("mixed-length batch", [["Yes"], picked[0], long_sent, unknown[:5], ["No", "."]]),
    ]
    return cases


@dataclass(frozen=True)
class Verdict:
    ok: bool
    notes: list[str]  # one phrase per measurement, judged or informational


def gate(
    contract: IOContract,
    fp32: bool,
    max_abs_diff: float | None = None,
    tag_agreement: float | None = None,
    accuracy_drop: float | None = None,
    labels: str = "tags",
) -> Verdict:
    """Pass or fail for one backend's measurements against the reference (``None``: not
    measured). fp32: ``max_abs_diff ≤ atol`` and ``tag_agreement == 1``. int8:
    ``tag_agreement ≥ int8_min_tag_agreement`` (a rate over a whole sample: pass the
    agreement of all cases together, not of one) and ``accuracy_drop ≤
    int8_max_accuracy_drop`` (fp32 accuracy minus int8 accuracy, 0.01 = 1 point). What
    a rule does not name (an int8 ``max_abs_diff``, an fp32 ``accuracy_drop``) is
    reported, not judged. ``labels``: what the agreement is of, in the notes
    (:func:`compared_labels`)."""
    ok, notes = True, []
    if max_abs_diff is not None:
        if fp32:
            hit = max_abs_diff <= contract.atol
            ok &= hit
            notes.append(f"max|Δ| {max_abs_diff:.2e} {'≤' if hit else '>'} {contract.atol:g}")
        else:
            notes.append(f"max|Δ| {max_abs_diff:.2e}")
    if tag_agreement is not None:
        need = 1.0 if fp32 else contract.int8_min_tag_agreement
        hit = tag_agreement >= need
        ok &= hit
        notes.append(
            f"{labels} {100 * tag_agreement:.2f}%"
            + (f" {'≥' if hit else '<'} {100 * need:g}%" if not fp32 or not hit else "")
        )
    if accuracy_drop is not None:
        if fp32:
            notes.append(f"accuracy drop {100 * accuracy_drop:.2f} pt")
        else:
            limit = contract.int8_max_accuracy_drop
            hit = accuracy_drop <= limit
            ok &= hit
            notes.append(
                f"accuracy drop {100 * accuracy_drop:.2f} pt {'≤' if hit else '>'} "
                f"{100 * limit:g} pt"
            )
    return Verdict(ok, notes)


@dataclass
class Check:
    backend: str
    case: str
    ok: bool
    detail: str
    max_abs_diff: float | None = None  # the largest over heads
    tag_agreement: float | None = None  # the lowest over heads
    heads: dict[str, float] | None = None  # label agreement per head

    def line(self) -> str:
        return f"{'✓' if self.ok else '✗'} {self.backend:<20} {self.case:<22} {self.detail}"


@dataclass
class VerificationReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def lines(self) -> list[str]:
        return [c.line() for c in self.checks]

    def verdict(self) -> str:
        """The one-line verdict the export and ``postag verify`` print."""
        if self.ok:
            return f"all {len(self.checks)} checks passed"
        return f"{len(self.failures)} of {len(self.checks)} checks failed: " + "; ".join(
            f"{c.backend} {c.case}" for c in self.failures
        )

    def summary(self) -> dict[str, Any]:
        """Per backend: max |Δ| and tag agreement over all cases (for the manifest)."""
        out: dict[str, Any] = {}
        for c in self.checks:
            b = out.setdefault(
                c.backend,
                {"checks": 0, "failed": 0, "max_abs_diff": None, "min_tag_agreement": None},
            )
            b["checks"] += 1
            b["failed"] += not c.ok
            if c.max_abs_diff is not None:
                b["max_abs_diff"] = max(b["max_abs_diff"] or 0.0, c.max_abs_diff)
            if c.tag_agreement is not None:
                b["min_tag_agreement"] = min(b["min_tag_agreement"] or 1.0, c.tag_agreement)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "backends": self.summary(),
            "checks": [asdict(c) for c in self.checks],
        }


def compared_labels(contract: IOContract, head: str) -> str:
    """What a head's agreement is of: Viterbi ``paths`` for a CRF head, else ``tags``."""
    return "paths" if head in contract.crf else "tags"


def compare(
    backend: str,
    case: Case,
    ref: dict[str, np.ndarray],
    got: dict[str, np.ndarray],
    lengths: np.ndarray,
    contract: IOContract,
    fp32: bool,
) -> Check:
    """One backend on one case vs the PyTorch reference, every head, real tokens only:
    log-probabilities (a CRF head's marginals) within ``atol``, and the decoded labels
    (a CRF head's Viterbi path, else each word's argmax) identical for fp32. An int8
    backend's per-case label agreement is reported; :func:`run_verification` judges
    its rate over all cases together, per head."""
    from postag.export.train.predict import as_heads

    ok, parts, diffs, agrees = True, [], {}, {}
    ref, got = as_heads(ref, contract.heads), as_heads(got, contract.heads)
    mask = np.arange(int(lengths.max()))[None, :] < lengths[:, None]  # (batch, seq)
    ref_ids, got_ids = decoded(ref), decoded(got)  # {head: (batch, seq)}
    for head in contract.heads:
        problem = _shape_problem(contract, head, ref, got, mask.shape)
        if problem:
            parts.append(problem)
            ok = False
            continue
        rm, gm = ref[head][mask], got[head][mask]  # (tokens, labels)
        name = HEAD_OUTPUTS[head][0]
        if not np.isfinite(gm).all():
            parts.append(f"{name}: non-finite values")
            ok = False
            continue
        diffs[head] = float(np.abs(rm - gm).max())
        agrees[head] = float((ref_ids[head][mask] == got_ids[head][mask]).mean())
        what = compared_labels(contract, head)
        verdict = gate(
            contract,
            fp32,
            max_abs_diff=diffs[head],
            tag_agreement=agrees[head] if fp32 else None,
            labels=what,
        )
        ok &= verdict.ok
        notes = verdict.notes if fp32 else [*verdict.notes, f"{what} {100 * agrees[head]:.2f}%"]
        parts.append(f"{name}: {', '.join(notes)}")
    detail = "; ".join(parts) + (f" of {int(lengths.sum())}" if diffs else "")
    diff = max(diffs.values()) if diffs else None
    agree = min(agrees.values()) if agrees else None
    return Check(backend, case.name, ok, detail, diff, agree, agrees or None)


def _shape_problem(
    contract: IOContract,
    head: str,
    ref: dict[str, np.ndarray],
    got: dict[str, np.ndarray],
    batch_seq: tuple[int, ...],
) -> str | None:
    """What is wrong with a backend's outputs for one head (its log-probabilities, and
    a CRF head's path), or None."""
    want = {HEAD_OUTPUTS[head][0]: (head, np.float32, (*batch_seq, ref[head].shape[-1]))}
    if head in contract.crf:
        want[PATH_OUTPUTS[head]] = (PATH_OUTPUTS[head], np.int64, batch_seq)
    for name, (key, dtype, shape) in want.items():
        g = got.get(key)
        if g is None or g.shape != shape or g.dtype != dtype:
            have = "missing" if g is None else f"{g.dtype}{list(g.shape)}"
            return f"{name}: {have}, expected {np.dtype(dtype)}{list(shape)}"
    return None


def run_verification(
    model: TaggerModel,
    encoder: Encoder,
    contract: IOContract,
    backends: dict[str, tuple[Runner, bool]],
    cases: Sequence[Case],
) -> VerificationReport:
    """``backends`` maps a name to (runner, is_fp32). Every backend on every case (every
    head), then one "all cases" check per quantised backend and head: its label
    agreement over all cases."""
    from postag.export.train.predict import torch_heads_runner

    report = VerificationReport()
    reference = torch_heads_runner(model.eval(), contract.output_keys)
    # quantised backend → head → [agreeing tokens, tokens]
    agree = {
        n: {h: [0, 0] for h in contract.heads} for n, (_, fp32) in backends.items() if not fp32
    }
    for case in cases:
        batch = encoder.encode(case.sentences)
        ref = reference(batch)
        for name, (runner, fp32) in backends.items():
            try:
                got = runner(batch)
            except Exception as exc:  # a backend that crashes is a failed check, not a crash
                report.checks.append(Check(name, case.name, False, f"run failed: {exc}"))
                continue
            check = compare(name, case, ref, got, batch.lengths, contract, fp32)
            if not fp32:
                n = int(batch.lengths.sum())
                for head, rate in (check.heads or {}).items():
                    agree[name][head][0] += round(rate * n)
                    agree[name][head][1] += n
            report.checks.append(check)
    for name, heads in agree.items():
        for head, (hits, total) in heads.items():
            rate = hits / max(1, total)
            verdict = gate(
                contract, False, tag_agreement=rate, labels=compared_labels(contract, head)
            )
            detail = f"{', '.join(verdict.notes)} of {total}"
            case = "all cases" if len(heads) == 1 else f"all cases, {head}"
            report.checks.append(Check(name, case, verdict.ok, detail, tag_agreement=rate))
    return report


# ------------------------------------------------------- the bundle's checks

#: The ONNX graphs a bundle may hold and the contract each one follows.
GRAPHS = {MODEL: "contract", MODEL_INT8: "contract", FAST_MODEL: "fast", FAST_INT8: "fast"}


def accuracy_of(run: Callable, ckpt: Checkpoint, sentences: Sequence[Sentence]) -> dict[str, float]:
    """Accuracy per head of a backend runner on gold-tokenized sentences."""
    from postag.export.train.trainer import accuracy, tag_ids

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
    import onnx

    from postag.export.graphs.onnx_export import declared_shapes

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


# ---------------------------------------------------------------- the slim gate

#: The slim gate: per head, the share of tokens whose label equals the float32 fast graph's,
#: and the largest accuracy drop allowed against it.
MIN_TAG_AGREEMENT = 0.999
MAX_ACCURACY_DROP = 0.001


@dataclass(frozen=True)
class SlimGate:
    """What a slim bundle's graph must keep of the full bundle's float32 fast graph, per head
    (``postag slim``): label agreement over the scored split and accuracy."""

    min_tag_agreement: float = MIN_TAG_AGREEMENT
    max_accuracy_drop: float = MAX_ACCURACY_DROP

    def failures(self, measured: dict[str, Any]) -> list[str]:
        """One line per head that fails the gate (none: passed)."""
        bad = []
        for head, agree in measured["agreement"].items():
            drop = measured["reference_accuracy"][head] - measured["accuracy"][head]
            if agree < self.min_tag_agreement or drop > self.max_accuracy_drop:
                bad.append(
                    f"{HEAD_NAMES[head]}: labels agree with {FAST_MODEL} on "
                    f"{100 * agree:.3f}% of tokens (≥ {100 * self.min_tag_agreement:.1f}% "
                    f"needed), accuracy drop {100 * drop:.2f} pt (≤ "
                    f"{100 * self.max_accuracy_drop:.1f} pt allowed)"
                )
        return bad


# ------------------------------------------------------------------ postag verify


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
    from postag.export.bundle import bundle_checkpoint
    from postag.export.train.checkpoint import Checkpoint

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
