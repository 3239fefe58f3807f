"""Parity report: every backend of a bundle vs eager PyTorch over a whole corpus.

    postag parity artifacts/postag-en-ewt --split test --out artifacts/parity

writes ``parity.json`` and ``parity.md`` (backend, sentences, tag agreement, max/mean abs
diff) and exits non-zero when a backend fails the gate's rule (:func:`~.verify.gate`): an
fp32 backend disagrees on any tag or exceeds atol, or an int8 one falls below the
contract's agreement rate over the whole split.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from postag.batching import MAX_BATCH_TOKENS, run_batched
from postag.contract import IOContract
from postag.files import atomic_write_bytes
from postag.vocab import Encoder

from .backends import Backend
from .model import TaggerModel
from .predict import torch_runner
from .verify import gate


def compare_backends(
    model: TaggerModel,
    encoder: Encoder,
    backends: Sequence[Backend],
    sentences: Sequence[Sequence[str]],
    contract: IOContract,
    max_tokens: int = MAX_BATCH_TOKENS,
) -> dict[str, dict[str, Any]]:
    """Per backend: sentences, tokens, tag agreement, identical sentences, max/mean |Δ|."""
    ref = run_batched(torch_runner(model.eval()), encoder, sentences, max_tokens)
    out: dict[str, dict[str, Any]] = {}
    for b in backends:
        got = run_batched(b.run, encoder, sentences, max_tokens)
        tokens = agree = same = 0
        max_diff = 0.0
        sum_diff = 0.0
        for r, g in zip(ref, got, strict=True):
            d = np.abs(r - g)  # (len, tags)
            max_diff = max(max_diff, float(d.max()))
            sum_diff += float(d.mean()) * len(r)
            hits = int((r.argmax(-1) == g.argmax(-1)).sum())
            agree += hits
            same += hits == len(r)
            tokens += len(r)
        rate = agree / max(1, tokens)
        verdict = gate(contract, b.fp32, max_abs_diff=max_diff, tag_agreement=rate)
        out[b.name] = {
            "sentences": len(sentences),
            "tokens": tokens,
            "tag_agreement": rate,
            "identical_sentences": same,
            "max_abs_diff": max_diff,
            "mean_abs_diff": sum_diff / max(1, tokens),
            "fp32": b.fp32,
            "ok": verdict.ok,
            "gate": ", ".join(verdict.notes),
        }
    return out


def markdown_table(results: dict[str, dict[str, Any]], title: str) -> str:
    lines = [
        f"### {title}",
        "",
        "| backend | sentences | tokens | tag agreement | identical sentences | "
        "max abs diff | mean abs diff | gate |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['sentences']} | {r['tokens']} | {100 * r['tag_agreement']:.3f}% | "
            f"{r['identical_sentences']} | {r['max_abs_diff']:.2e} | {r['mean_abs_diff']:.2e} "
            f"| {'✓' if r['ok'] else '✗'} |"
        )
    return "\n".join(lines) + "\n"


def write_report(
    results: dict[str, dict[str, Any]],
    out_dir: str | Path,
    title: str,
    extra: dict[str, Any] | None = None,
) -> tuple[Path, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    j, m = out_dir / "parity.json", out_dir / "parity.md"
    doc = {"title": title, **(extra or {}), "backends": results}
    atomic_write_bytes(j, (json.dumps(doc, indent=2) + "\n").encode())
    atomic_write_bytes(m, markdown_table(results, title).encode())
    return j, m
