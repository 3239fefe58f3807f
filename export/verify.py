"""The verification gate: PyTorch eager vs TorchScript vs onnxruntime (CPU), fp32 and int8.

Every case is run as one batch through each backend. fp32 backends must return the
contract's output name and shape, stay within the contract's ``atol`` on every real
token's log-probabilities and give identical tags; int8 is held to the contract's
tag-agreement rate. One ✓/✗ line per check; any ✗ makes :func:`VerificationReport.ok`
false (the export then fails and no bundle is written).

    postag verify artifacts/postag-en-ewt
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from postag.contract import IOContract
from postag.data import Sentence
from postag.vocab import EncodedBatch, Encoder

from .model import TaggerModel
from .predict import torch_runner

Runner = Callable[[EncodedBatch], np.ndarray]


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


@dataclass
class Check:
    backend: str
    case: str
    ok: bool
    detail: str
    max_abs_diff: float | None = None
    tag_agreement: float | None = None

    def line(self) -> str:
        return f"{'✓' if self.ok else '✗'} {self.backend:<16} {self.case:<22} {self.detail}"


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


def compare(
    backend: str,
    case: Case,
    ref: np.ndarray,
    got: np.ndarray,
    lengths: np.ndarray,
    n_tags: int,
    atol: float | None,
    min_agreement: float,
    output: str = "log_probs",
) -> Check:
    """One backend on one case vs the PyTorch reference, real tokens only."""
    want_shape = (len(case.sentences), int(lengths.max()), n_tags)
    if got.shape != want_shape or got.dtype != np.float32:
        return Check(
            backend,
            case.name,
            False,
            f"{output}: {got.dtype}{list(got.shape)}, expected float32{list(want_shape)}",
        )
    mask = np.arange(ref.shape[1])[None, :] < lengths[:, None]  # (batch, seq)
    r, g = ref[mask], got[mask]  # (tokens, tags)
    if not np.isfinite(g).all():
        return Check(backend, case.name, False, f"{output}: non-finite values")
    diff = float(np.abs(r - g).max())
    agree = float((r.argmax(-1) == g.argmax(-1)).mean())
    parts = [f"{output}: max|Δ| {diff:.2e}"]
    ok = agree >= min_agreement
    if atol is not None:
        ok = ok and diff <= atol
        parts[0] += f" {'≤' if diff <= atol else '>'} {atol:g}"
    parts.append(f"tags {100 * agree:.2f}% of {int(mask.sum())}")
    if agree < min_agreement:
        parts.append(f"(need {100 * min_agreement:g}%)")
    return Check(backend, case.name, ok, ", ".join(parts), diff, agree)


def run_verification(
    model: TaggerModel,
    encoder: Encoder,
    contract: IOContract,
    backends: dict[str, tuple[Runner, bool]],
    cases: Sequence[Case],
) -> VerificationReport:
    """``backends`` maps a name to (runner, is_fp32). fp32 backends are held to ``atol``
    and identical tags on every case; a quantised backend to the contract's tag-agreement
    rate over all cases together (its per-case lines are informational)."""
    report = VerificationReport()
    reference = torch_runner(model.eval())
    n_tags = model.cfg.n_tags
    agree: dict[str, list[int]] = {n: [0, 0] for n, (_, fp32) in backends.items() if not fp32}
    for case in cases:
        batch = encoder.encode(case.sentences)
        ref = reference(batch)
        for name, (runner, fp32) in backends.items():
            try:
                got = runner(batch)
            except Exception as exc:  # a backend that crashes is a failed check, not a crash
                report.checks.append(Check(name, case.name, False, f"run failed: {exc}"))
                continue
            check = compare(
                name,
                case,
                ref,
                got,
                batch.lengths,
                n_tags,
                contract.atol if fp32 else None,
                1.0 if fp32 else 0.0,
                contract.output_names[0],
            )
            if not fp32 and check.tag_agreement is not None:
                n = int(batch.lengths.sum())
                agree[name][0] += round(check.tag_agreement * n)
                agree[name][1] += n
            report.checks.append(check)
    for name, (hits, total) in agree.items():
        rate = hits / max(1, total)
        need = contract.int8_min_tag_agreement
        report.checks.append(
            Check(
                name,
                "all cases",
                rate >= need,
                f"tags {100 * rate:.2f}% of {total} {'≥' if rate >= need else '<'} {100 * need:g}%",
                tag_agreement=rate,
            )
        )
    return report
