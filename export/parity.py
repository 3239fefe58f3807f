"""Parity report: every backend of a bundle vs eager PyTorch over a whole corpus.

    postag parity artifacts/postag-en-ewt --split test --out artifacts/parity

writes ``parity.json`` and ``parity.md`` (per backend and head: sentences, label
agreement, identical sentences, max/mean abs diff) and exits non-zero when a backend
fails the gate's rule (:func:`postag.export.gate.gate`) on any head: an fp32 backend
disagrees on any label or exceeds atol, or an int8 one falls below the contract's
agreement rate over the split."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from postag.batching import MAX_BATCH_TOKENS, run_batched
from postag.contract import IOContract, decoded
from postag.export.backends import Backend
from postag.export.gate import gate
from postag.export.train.model import TaggerModel
from postag.export.train.predict import as_heads, torch_heads_runner
from postag.files import atomic_write_bytes
from postag.vocab import Encoder


def head_stats(
    refs: Sequence[np.ndarray],
    gots: Sequence[np.ndarray],
    ref_ids: Sequence[np.ndarray],
    got_ids: Sequence[np.ndarray],
) -> dict[str, Any]:
    """One head over all sentences: tokens, agreement of the decoded labels (``*_ids``: a
    CRF head's paths, else the argmax), identical sentences, |Δ| of the log-probabilities
    (``refs``/``gots``: (len, labels) per sentence)."""
    tokens = agree = same = 0
    max_diff = sum_diff = 0.0
    for r, g, ri, gi in zip(refs, gots, ref_ids, got_ids, strict=True):
        d = np.abs(r - g)  # (len, labels)
        max_diff = max(max_diff, float(d.max()))
        sum_diff += float(d.mean()) * len(r)
        hits = int((ri == gi).sum())
        agree += hits
        same += hits == len(r)
        tokens += len(r)
    return {
        "tokens": tokens,
        "tag_agreement": agree / max(1, tokens),
        "identical_sentences": same,
        "max_abs_diff": max_diff,
        "mean_abs_diff": sum_diff / max(1, tokens),
    }


def compare_backends(
    model: TaggerModel,
    encoder: Encoder,
    backends: Sequence[Backend],
    sentences: Sequence[Sequence[str]],
    contract: IOContract,
    max_tokens: int = MAX_BATCH_TOKENS,
) -> dict[str, dict[str, Any]]:
    """Per backend, every head judged by the gate (``heads``), and the worst over heads
    at the top level: the lowest label agreement, sentences identical in every head, the
    largest |Δ|."""
    heads = contract.heads
    runner = torch_heads_runner(model.eval(), contract.output_keys)
    ref = run_batched(runner, encoder, sentences, max_tokens)
    ref_ids = [decoded(r) for r in ref]  # per sentence {head: label ids}
    out: dict[str, dict[str, Any]] = {}
    for b in backends:
        got = [as_heads(g, heads) for g in run_batched(b.run, encoder, sentences, max_tokens)]
        got_ids = [decoded(g) for g in got]
        per_head = {}
        for h in heads:
            st = head_stats(
                [r[h] for r in ref], [g[h] for g in got],
                [r[h] for r in ref_ids], [g[h] for g in got_ids],
            )  # fmt: skip
            verdict = gate(
                contract, b.fp32, max_abs_diff=st["max_abs_diff"], tag_agreement=st["tag_agreement"]
            )
            per_head[h] = {**st, "ok": verdict.ok, "gate": ", ".join(verdict.notes)}
        same = sum(
            all((r[h] == g[h]).all() for h in heads) for r, g in zip(ref_ids, got_ids, strict=True)
        )
        out[b.name] = {
            "sentences": len(sentences),
            "tokens": per_head[heads[0]]["tokens"],
            "tag_agreement": min(v["tag_agreement"] for v in per_head.values()),
            "identical_sentences": same,
            "max_abs_diff": max(v["max_abs_diff"] for v in per_head.values()),
            "mean_abs_diff": max(v["mean_abs_diff"] for v in per_head.values()),
            "fp32": b.fp32,
            "ok": all(v["ok"] for v in per_head.values()),
            "gate": "; ".join(f"{h} {v['gate']}" for h, v in per_head.items()),
            "heads": per_head,
        }
    return out


def markdown_table(results: dict[str, dict[str, Any]], title: str) -> str:
    """One row per backend and head."""
    lines = [
        f"### {title}",
        "",
        "| backend | head | sentences | tokens | label agreement | identical sentences | "
        "max abs diff | mean abs diff | gate |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        for head, h in (r.get("heads") or {"upos": r}).items():
            lines.append(
                f"| {name} | {head} | {r['sentences']} | {h['tokens']} | "
                f"{100 * h['tag_agreement']:.3f}% | {h['identical_sentences']} | "
                f"{h['max_abs_diff']:.2e} | {h['mean_abs_diff']:.2e} | {'✓' if h['ok'] else '✗'} |"
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
