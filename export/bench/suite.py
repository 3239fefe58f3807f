"""Benchmarks, side by side and measured in one run (`postag bench`, `make bench`).

    postag bench artifacts/postag-en-ewt --out artifacts/bench

Per backend (PyTorch eager = the original, TorchScript, ONNX fp32, ONNX int8, ONNX on
CUDA where available, and the ``seed`` preset's PyTorch model as a baseline row):
throughput (words/s, pre-tokenized, preprocessing included) at batch sizes 1, 8, 64,
256; single-sentence latency p50/p95/p99; peak RSS (each backend measured in its own
process). Plus cold start of `postag tag` vs the same tagging through PyTorch, bundle file
sizes, installed sizes, and a roofline (model FLOPs per token against two ceilings: the
CPU's peak read from the machine, ``bench.cpu_peak``, and its measured matrix-multiply
GFLOP/s). Warm-up first, several repetitions, medians reported. Writes
bench.json, bench.md and PNG plots. Numbers are printed, never asserted.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from postag.export.bench.cpu_peak import cpu_peak
from postag.export.bench.measure import (
    BATCH_SIZES,
    flops_per_token,
    latencies,
    median_time,
    typical_sentences,
)
from postag.layout import FAST_FORMS, FAST_MODEL, META_TABLE_ROWS, MODEL_FILES
from postag.session import load_forms


def matmul_gflops(threads: int, n: int = 1024, repeats: int = 5) -> float:
    """This machine's fp32 GEMM rate through numpy's BLAS (the roofline's practical ceiling)."""
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    t = median_time(lambda: a @ b, repeats, warmup=2)
    return 2 * n**3 / t / 1e9


def measure_in_subprocess(
    backend: str,
    bundle: Path,
    checkpoint: Path | None,
    data: Path,
    n: int,
    threads: int,
    repeats: int,
) -> dict[str, Any]:
    """Each backend in a fresh process, so its peak RSS is its own."""
    args = json.dumps(
        {
            "backend": backend,
            "bundle": str(bundle),
            "data": str(data),
            "n": n,
            "checkpoint": str(checkpoint) if checkpoint else None,
            "threads": threads,
            "repeats": repeats,
        }
    )
    cmd = [sys.executable, "-m", "postag.export.bench.measure", args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{backend}: benchmark failed: {proc.stderr.strip()[-1500:]}")


def size_sweep(
    bundle: Path,
    hiddens: Sequence[int],
    sentences: Sequence[Sequence[str]],
    threads: int,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """What model size meets the latency target: the bundle's architecture and
    vocabularies with the sentence LSTM's ``hidden`` varied, random weights (speed does
    not depend on the values), exported as fast graphs and timed like the runtime."""
    import tempfile

    import torch

    from postag.batching import MAX_BATCH_TOKENS, run_batched
    from postag.bundle import load_manifest
    from postag.export.graphs.fast import char_table, export_fast
    from postag.export.train.config import ModelConfig
    from postag.export.train.model import TaggerModel
    from postag.session import FastModel

    man = load_manifest(bundle)
    enc = man.encoder()
    forms = load_forms(man.path(FAST_FORMS))
    typical = typical_sentences(sentences)
    words = sum(len(s) for s in sentences)
    avg_word = float(np.mean([len(w) for s in sentences for w in s]))
    out = []
    for h in hiddens:
        cfg = ModelConfig.from_dict({**man.data["model_config"], "hidden": h})
        torch.manual_seed(0)
        model = TaggerModel(cfg).eval()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / FAST_MODEL
            table = char_table(model, enc, forms)
            export_fast(model, table, path, {META_TABLE_ROWS: str(len(table))})
            contract = man.fast_path.contract
            fast = FastModel(path, contract, forms, "cpu", threads)
            lat = latencies(lambda b, m=fast: m.run(enc.encode(b))["upos"].argmax(-1), typical)
            t = median_time(lambda m=fast: run_batched(m.run, enc, sentences, MAX_BATCH_TOKENS), 3)
        row = {
            "hidden": h,
            "params": sum(p.numel() for p in model.parameters()),
            "flops_per_token": flops_per_token(cfg.to_dict(), min(avg_word, cfg.max_word_len)),
            "p50_ms": 1000 * float(np.percentile(lat, 50)),
            "words_per_s": words / t,
        }
        log(f"  hidden {h}: p50 {row['p50_ms']:.2f} ms, {row['words_per_s']:,.0f} words/s")
        out.append(row)
    return out


def cold_start(cmd: list[str], stdin: str, repeats: int = 5) -> float:
    """Seconds from process start to the first line of output (median)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert p.stdin and p.stdout
        p.stdin.write(stdin)
        p.stdin.close()
        first = p.stdout.readline()
        times.append(time.perf_counter() - t0)
        p.wait()
        if not first:
            raise RuntimeError(f"{cmd[0]} printed nothing")
    return statistics.median(times)


def dir_size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def _closure(names: Sequence[str]) -> set[str]:
    """The distributions ``names`` need, following requirements without extras."""
    import importlib.metadata as md
    import re

    seen: set[str] = set()
    todo = [n.lower() for n in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        seen.add(name)
        for req in dist.requires or []:
            if "extra ==" in req:
                continue
            todo.append(re.split(r"[ ;<>=!~\[(]", req, maxsplit=1)[0].lower())
    return seen


def installed_sizes() -> dict[str, Any]:
    """MB on disk of the runtime-only install (postag and its base requirements, closed
    over their own requirements) vs this whole environment's site-packages."""
    import importlib.metadata as md

    site = Path(np.__file__).resolve().parents[1]
    names = _closure(["postag"])
    runtime = 0.0
    for name in names:
        dist = md.distribution(name)
        runtime += (
            sum(
                p.stat().st_size
                for p in (Path(str(dist.locate_file(f))) for f in dist.files or [])
                if p.is_file()
            )
            / 1e6
        )
    return {
        "runtime_packages_mb": runtime,
        "runtime_packages": sorted(names),
        "full_environment_mb": dir_size_mb(site),
    }


def _save(fig: Any, path: Path) -> Path:
    """Lay a figure out, write it as a PNG and free it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot(results: list[dict[str, Any]], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in results:
        xs = [int(b) for b in r["throughput"]]
        ax.plot(xs, list(r["throughput"].values()), "o-", label=r["backend"])
    ax.set_xscale("log", base=2)
    ax.set_xlabel("batch size (sentences)")
    ax.set_ylabel("words / s (preprocessing included)")
    ax.set_title("Throughput vs batch size")
    ax.legend()
    paths.append(_save(fig, out / "throughput.png"))
    fig, ax = plt.subplots(figsize=(7, 4))
    names = [r["backend"] for r in results]
    for k, q in enumerate(("p50", "p95", "p99")):
        ax.bar(
            np.arange(len(names)) + 0.27 * (k - 1),
            [r["latency_ms"][q] for r in results],
            0.27,
            label=q,
        )
    ax.set_xticks(range(len(names)), names, rotation=20)
    ax.set_ylabel("ms per sentence")
    ax.set_title("Single-sentence latency (typical length)")
    ax.legend()
    paths.append(_save(fig, out / "latency.png"))
    return paths


def best(result: dict[str, Any]) -> tuple[str, float]:
    """(batch size, words/s) of a backend's best batch size."""
    return max(result["throughput"].items(), key=lambda kv: kv[1])


def targets(report: dict[str, Any]) -> list[tuple[str, bool, str]]:
    """The runtime's performance targets, each (what, met, measured), for its fp32 row."""
    res = {r["backend"]: r for r in report["backends"]}
    rt, pt = res.get("runtime"), res.get("pytorch")
    if not rt:
        return []
    rf = report["roofline"]
    out = []
    bs, wps = best(rt)
    of_peak, of_gemm = shares(rt, rf)
    peak = f", {100 * of_peak:.1f}% of the CPU's peak" if of_peak is not None else ""
    out.append(
        (
            "batch throughput ≥ 50% of the measured GEMM rate (FLOPs done)",
            of_gemm >= 0.5,
            f"{wps:,.0f} words/s @{bs} = {achieved_gflops(rt):.1f} GFLOP/s: "
            f"{100 * of_gemm:.1f}% of {rf['gemm_gflops']:.1f}{peak}",
        )
    )
    if pt:
        pbs, pwps = best(pt)
        per = [rt["throughput"][b] / pt["throughput"][b] for b in rt["throughput"]]
        out.append(
            (
                "≥ 3× PyTorch eager",
                wps / pwps >= 3,
                f"best vs best {wps / pwps:.2f}× ({wps:,.0f} @{bs} vs {pwps:,.0f} @{pbs}); "
                f"same batch size {min(per):.2f}×–{max(per):.2f}×",
            )
        )
    p50 = rt["latency_ms"]["p50"]
    out.append(
        (
            "single ~20-word sentence p50 ≤ 0.5 ms",
            p50 <= 0.5,
            f"p50 {p50:.2f} ms ({rt['latency_words']:.0f} words)",
        )
    )
    cold = report["cold_start_s"]["postag tag (onnxruntime)"]
    out.append(("`postag tag` cold start ≤ 0.5 s", cold <= 0.5, f"{cold:.3f} s"))
    mb = report["installed"]["runtime_packages_mb"]
    out.append(("runtime-only install ≤ 80 MB", mb <= 80, f"{mb:.0f} MB"))
    return out


def markdown(report: dict[str, Any]) -> str:
    res = report["backends"]
    rf = report["roofline"]
    base = next((r for r in res if r["backend"] == "pytorch"), None)
    lines = [
        f"Machine: {report['machine']['cpu']}, {report['machine']['cores']} cores; "
        f"threads {report['threads']}; {report['sentences']} sentences of {report['file']} "
        f"({report['words']} words, pre-tokenized, preprocessing included); medians of "
        f"{report['repeats']} runs.",
        "",
        "| backend | "
        + " | ".join(f"words/s @{b}" for b in BATCH_SIZES)
        + " | best vs PyTorch best | share of CPU peak | share of GEMM | p50 ms | p95 ms "
        "| p99 ms | peak RSS MB |",
        "|---" * (len(BATCH_SIZES) + 8) + "|",
    ]
    for r in res:
        t = r["throughput"]
        _, top = best(r)
        ratio = f"{top / best(base)[1]:.2f}×" if base else "—"
        of_peak, of_gemm = shares(r, rf)
        lines.append(
            f"| {r['backend']} | "
            + " | ".join(f"{t[str(b)]:,.0f}" for b in BATCH_SIZES)
            + f" | {ratio} | {'—' if of_peak is None else f'{100 * of_peak:.1f}%'}"
            f" | {100 * of_gemm:.1f}%"
            f" | {r['latency_ms']['p50']:.2f} | {r['latency_ms']['p95']:.2f} | "
            f"{r['latency_ms']['p99']:.2f} | {r['peak_rss_mb']:.0f} |"
        )
    lines += [
        "",
        f"Roofline: the exported default model does {rf['flops_per_token'] / 1e6:.2f} MFLOP "
        f"per token (character BiLSTM at the mean word length {rf['avg_word_len']:.1f}); "
        f"measured GEMM {rf['gemm_gflops']:.1f} GFLOP/s → at most "
        f"{rf['best_words_per_s']:,.0f} words/s doing every FLOP. CPU peak: "
        f"{rf.get('cpu_peak_line', 'not measured')} (read from /proc/cpuinfo and cpufreq: "
        "`python -m postag.export.bench.cpu_peak`). The two share columns are each "
        "backend's best batch size as FLOPs really done per second (the fast graph skips "
        "the character BiLSTM for known forms) against each ceiling (the seed row is a "
        "smaller model).",
    ]
    rt = next((r for r in res if r["backend"] == "runtime"), None)
    if rt and "flops_per_token_done" in rt:
        _, top = best(rt)
        lines.append(
            f"The runtime's fast graph runs the character BiLSTM only for the "
            f"{100 * rt['new_form_share']:.1f}% of tokens whose form is not in its table, so "
            f"it does {rt['flops_per_token_done'] / 1e6:.2f} MFLOP per token: "
            f"{top * rt['flops_per_token_done'] / 1e9:.1f} GFLOP/s, "
            f"{100 * top * rt['flops_per_token_done'] / 1e9 / rf['gemm_gflops']:.1f}% of the "
            "GEMM rate."
        )
    if rt and "raw_text" in rt:
        raw = rt["raw_text"]
        lines.append(
            f"Raw text (runtime, `tag_many` over {raw['texts']} texts, the bundle's splitter "
            f"included): {raw['words_per_s']:,.0f} words/s, splitting "
            f"{100 * raw['tokenization_share']:.0f}% of the time."
        )
    lines += [
        "",
        "Cold start (process start → first tags printed, median): "
        + ", ".join(f"{k} {v:.3f} s" for k, v in report["cold_start_s"].items())
        + ".",
        "",
        "Bundle files: "
        + ", ".join(f"{k} {v:.2f} MB" for k, v in report["bundle_mb"].items())
        + ".",
        "",
        f"Installed: runtime packages {report['installed']['runtime_packages_mb']:.0f}"
        f" MB; this full environment {report['installed']['full_environment_mb']:.0f} MB.",
    ]
    if report.get("size_sweep"):
        lines += [
            "",
            "Model size vs speed (fast graph, this bundle's vocabularies and character model, "
            "sentence BiLSTM hidden size varied, random weights):",
            "",
            "| hidden | parameters | MFLOP/token | p50 ms (~20 words) | words/s (batched) |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['hidden']} | {r['params']:,} | {r['flops_per_token'] / 1e6:.2f} | "
            f"{r['p50_ms']:.2f} | {r['words_per_s']:,.0f} |"
            for r in report["size_sweep"]
        ]
    if pairs := before_after(res):
        lines += [
            "",
            f"Before/after (best batch size, words/s; baseline {report.get('baseline')}, "
            "measured in the order this, baseline, baseline, this; the better of two each):",
            "",
            "| backend | this bundle | baseline | ratio | ≥ 85% |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {b} | {now:,.0f} | {then:,.0f} | {100 * now / then:.1f}% | "
            f"{'✓' if now >= 0.85 * then else '✗'} |"
            for b, now, then in pairs
        ]
    tg = targets(report)
    if tg:
        lines += ["", "Targets (runtime row, fp32):", ""]
        lines += [f"- {'✓' if ok else '✗'} {what}: {got}" for what, ok, got in tg]
    return "\n".join(lines) + "\n"


BACKENDS = ("pytorch", "torchscript", "onnx-fp32", "onnx-int8", "runtime", "runtime-int8")
CUDA_BACKENDS = ("onnx-cuda", "runtime-cuda")
#: The backends a ``--baseline`` bundle is also measured with (no checkpoint needed).
BEFORE_AFTER = ("onnx-fp32", "onnx-int8", "runtime", "runtime-int8")
#: One typical sentence for the cold-start measurement.
COLD_START_INPUT = (
    "Hello world, this is a typical sentence of about twenty words to tag for the "
    "cold start test .\n"
)


def measure_backends(
    bundle: Path,
    checkpoint: Path,
    seed_checkpoint: Path | None,
    data: Path,
    n: int,
    threads: int,
    repeats: int,
    cuda: bool,
    log: Callable[[str], None],
    baseline: Path | None = None,
) -> list[dict[str, Any]]:
    """Every backend (CUDA ones where available; the seed model when its checkpoint
    exists), each in its own process. With a ``baseline`` bundle, each of its onnxruntime
    backends (:data:`BEFORE_AFTER`) is measured beside the same backend of ``bundle`` in
    the order A B B A (rows named ``<backend> [baseline]``; each bundle's throughput per
    batch size the better of its two), so the two share the machine's state and neither
    always goes first."""
    runs = [(b, checkpoint) for b in (*BACKENDS, *(CUDA_BACKENDS if cuda else ()))]
    if seed_checkpoint and seed_checkpoint.exists():
        runs.append(("seed-pytorch", seed_checkpoint))
    results = []
    for backend, ckpt in runs:
        log(f"measuring {backend} …")
        now = measure_in_subprocess(backend, bundle, ckpt, data, n, threads, repeats)
        if baseline is None or backend not in BEFORE_AFTER:
            results.append(now)
            continue
        log(f"measuring {backend} of the baseline {baseline} …")
        before = measure_in_subprocess(backend, baseline, None, data, n, threads, repeats)
        # measured twice more in the other order, so neither bundle always goes first
        before2 = measure_in_subprocess(backend, baseline, None, data, n, threads, repeats)
        now2 = measure_in_subprocess(backend, bundle, ckpt, data, n, threads, repeats)
        results += [
            best_of(now, now2),
            {**best_of(before, before2), "backend": f"{backend} [baseline]"},
        ]
    return results


def best_of(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Two measurements of one backend: ``a`` with, per batch size, the higher throughput
    of the two (each is already a median of its repeats)."""
    tp = {k: max(v, b["throughput"][k]) for k, v in a["throughput"].items()}
    return {**a, "throughput": tp}


def before_after(results: list[dict[str, Any]]) -> list[tuple[str, float, float]]:
    """(backend, best words/s now, best words/s of the baseline) for each backend measured
    on both bundles."""
    by_name = {r["backend"]: r for r in results}
    return [
        (b, best(by_name[b])[1], best(by_name[f"{b} [baseline]"])[1])
        for b in BEFORE_AFTER
        if b in by_name and f"{b} [baseline]" in by_name
    ]


def cold_starts(bundle: Path, checkpoint: Path) -> dict[str, float]:
    """`postag tag` (onnxruntime) vs the same sentence through PyTorch, from process start."""
    postag = [str(Path(sys.executable).with_name("postag")), "tag", "--pretokenized"]
    torch_tag = [sys.executable, "-m", "postag.export.bench.torch_tag", str(checkpoint)]
    return {
        "postag tag (onnxruntime)": cold_start(
            [*postag, "--bundle", str(bundle)], COLD_START_INPUT
        ),
        "PyTorch (checkpoint)": cold_start(torch_tag, COLD_START_INPUT),
    }


def roofline(
    model_config: dict[str, Any], sentences: Sequence[Sequence[str]], threads: int
) -> dict[str, Any]:
    """Model FLOPs per token against two ceilings: this CPU's peak float32 rate, read from
    the machine (:mod:`.cpu_peak`: cores × clock × FLOP per cycle of the widest vector
    unit; an upper bound no model beats), and the measured GEMM rate (practical)."""
    avg_word = float(np.mean([len(w) for s in sentences for w in s]))
    fpt = flops_per_token(model_config, min(avg_word, 32))
    gflops = matmul_gflops(threads)
    peak = cpu_peak(threads)
    return {
        "flops_per_token": fpt,
        "gemm_gflops": gflops,
        "best_words_per_s": gflops * 1e9 / fpt,
        "avg_word_len": avg_word,
        "cpu_peak": peak.to_dict() if peak else None,
        "cpu_peak_line": peak.line() if peak else "not readable on this machine",
    }


def achieved_gflops(result: dict[str, Any]) -> float:
    """A backend's best throughput as the FLOPs it really does per second: the fast
    graph skips the character BiLSTM for tokens whose form is in its table
    (``flops_per_token_done``), so words/s alone overstates it."""
    _, top = best(result)
    return top * result.get("flops_per_token_done", result["flops_per_token"]) / 1e9


def shares(result: dict[str, Any], rf: dict[str, Any]) -> tuple[float | None, float]:
    """(share of the CPU's peak, share of the measured GEMM rate) of a backend's best."""
    done = achieved_gflops(result)
    peak = rf.get("cpu_peak")
    return (done / peak["gflops"] if peak else None), done / rf["gemm_gflops"]


def run_bench(
    bundle: Path,
    checkpoint: Path,
    seed_checkpoint: Path | None,
    data: Path,
    n: int,
    threads: int,
    repeats: int,
    out: Path,
    cuda: bool,
    log: Callable[[str], None] = print,
    sweep: Sequence[int] = (),
    baseline: Path | None = None,
) -> dict[str, Any]:
    """Measure everything; write bench.json, bench.md and the plots under ``out``. With a
    ``baseline`` bundle, its onnxruntime backends too, each beside the same one of
    ``bundle`` (before/after a model change)."""
    from postag.bundle import load_manifest
    from postag.data import read_conllu

    man = load_manifest(bundle)
    sentences = [s.words for s in read_conllu(data)][:n]
    results = measure_backends(
        bundle, checkpoint, seed_checkpoint, data, n, threads, repeats, cuda, log, baseline
    )
    report = {
        "bundle": str(bundle),
        "baseline": str(baseline) if baseline else None,
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
        },
        "threads": threads or os.cpu_count(),
        "sentences": len(sentences),
        "file": data.name,
        "words": sum(len(s) for s in sentences),
        "repeats": repeats,
        "backends": results,
        "cold_start_s": cold_starts(bundle, checkpoint),
        "bundle_mb": {f: man.path(f).stat().st_size / 1e6 for f in MODEL_FILES if f in man.files},
        "installed": installed_sizes(),
        "size_sweep": size_sweep(bundle, sweep, sentences, threads, log)
        if sweep and man.fast_path
        else [],
        "roofline": roofline(man.data["model_config"], sentences, threads),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "bench.md").write_text(markdown(report))
    report["plots"] = [str(p) for p in plot(results, out)]
    return report
