"""The verification gate: PyTorch eager vs TorchScript vs onnxruntime (CPU), fp32 and int8.

:func:`gate` is the one rule that decides pass or fail, for the export, ``postag verify``,
``postag parity`` and the parity suite alike: an fp32 backend stays within the contract's
``atol`` and gives identical tags; an int8 backend reaches the contract's tag-agreement
rate over a whole sample and loses at most ``int8_max_accuracy_drop`` accuracy against
its fp32 graph.

Every case is run as one batch through each backend (:func:`run_verification`); one ✓/✗
line per check; any ✗ makes :func:`VerificationReport.ok` false (the export then fails and
no bundle is written).

    verdict = gate(CONTRACT, fp32=True, max_abs_diff=3e-6, tag_agreement=1.0)
    verdict.ok, verdict.notes      # True, ['max|Δ| 3.00e-06 ≤ 0.0001', 'tags 100.00%']
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from postag.contract import HEAD_OUTPUTS, PATH_OUTPUTS, IOContract, decoded
from postag.data import Sentence
from postag.vocab import EncodedBatch, Encoder

from .model import TaggerModel
from .predict import as_heads, torch_heads_runner

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
