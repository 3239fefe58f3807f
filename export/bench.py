"""Benchmarks, side by side and measured in one run (`postag bench`, `make bench`).

    postag bench artifacts/postag-en-ewt --out artifacts/bench

Per backend (PyTorch eager = the original, TorchScript, ONNX fp32, ONNX int8, ONNX on
CUDA where available, and the ``seed`` preset's PyTorch model as a baseline row):
throughput (words/s, pre-tokenized, preprocessing included) at batch sizes 1, 8, 64,
256; single-sentence latency p50/p95/p99; peak RSS (each backend measured in its own
process). Plus cold start of `postag tag` vs the same tagging through PyTorch, bundle file
sizes, installed sizes, and a roofline (model FLOPs per token vs this machine's measured
matrix-multiply GFLOP/s). Warm-up first, several repetitions, medians reported. Writes
bench.json, bench.md and PNG plots. Numbers are printed, never asserted.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

BATCH_SIZES = (1, 8, 64, 256)


def median_time(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def flops_per_token(cfg: dict[str, Any], avg_word_len: float) -> float:
    """Multiply-adds × 2 of one token's forward pass (LSTM gates, output layer)."""

    def lstm(inp: int, hid: int) -> float:
        return 2 * 4 * hid * (inp + hid)

    total = 0.0
    if cfg["char_hidden"]:
        total += 2 * lstm(cfg["char_dim"], cfg["char_hidden"]) * avg_word_len
    width = cfg["word_dim"] + 2 * cfg["char_hidden"]
    dirs = 2 if cfg["bidirectional"] else 1
    for _ in range(cfg["layers"]):
        total += dirs * lstm(width, cfg["hidden"])
        width = dirs * cfg["hidden"]
    total += 2 * width * cfg["n_tags"]
    return total


def matmul_gflops(threads: int, n: int = 1024, repeats: int = 5) -> float:
    """This machine's fp32 GEMM rate through numpy's BLAS (the roofline's ceiling)."""
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    t = median_time(lambda: a @ b, repeats, warmup=2)
    return 2 * n**3 / t / 1e9


def runner_for(backend: str, bundle: Path, checkpoint: Path | None, threads: int):  # noqa: ANN201
    """A callable: EncodedBatch → log-probs, built in this process."""
    from postag.bundle import load_manifest
    from postag.session import OnnxModel

    man = load_manifest(bundle)
    if backend in ("pytorch", "seed-pytorch", "torchscript"):
        import torch

        torch.set_num_threads(threads or os.cpu_count() or 1)
        from .checkpoint import Checkpoint
        from .predict import torch_runner
        from .torchscript_export import load_torchscript

        if backend == "torchscript":
            return torch_runner(load_torchscript(bundle / "model.torchscript.pt")), man.encoder()
        ckpt = Checkpoint.load(checkpoint)  # type: ignore[arg-type]
        return torch_runner(ckpt.model()), ckpt.encoder()
    fname = "model.int8.onnx" if backend == "onnx-int8" else "model.onnx"
    provider = "cuda" if backend == "onnx-cuda" else "cpu"
    return OnnxModel(man.path(fname), man.contract, provider, threads).run, man.encoder()


def measure_backend(
    backend: str,
    bundle: Path,
    checkpoint: Path | None,
    sentences: Sequence[Sequence[str]],
    threads: int,
    repeats: int,
    batch_sizes: Sequence[int] = BATCH_SIZES,
) -> dict[str, Any]:
    """Throughput per batch size and single-sentence latency, in this process."""
    run, enc = runner_for(backend, bundle, checkpoint, threads)
    out: dict[str, Any] = {"backend": backend, "throughput": {}}
    # the roofline of the model this backend runs (the seed row is another model)
    if backend in ("pytorch", "seed-pytorch"):
        import torch

        cfg = torch.load(checkpoint, map_location="cpu", weights_only=True)["model_config"]
    else:
        from postag.bundle import load_manifest

        cfg = load_manifest(bundle).data["model_config"]
    avg_word = float(np.mean([len(w) for s in sentences for w in s]))
    out["flops_per_token"] = flops_per_token(cfg, min(avg_word, cfg["max_word_len"]))
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
    for bs in batch_sizes:
        # batches of bs sentences of similar length, as a bucketing caller would make
        groups = [[sentences[i] for i in order[k : k + bs]] for k in range(0, len(order), bs)]
        words = sum(len(s) for s in sentences)

        def everything(groups: list = groups) -> None:
            for g in groups:
                run(enc.encode(g))  # preprocessing included

        t = median_time(everything, repeats)
        out["throughput"][str(bs)] = words / t
    typical = [s for s in sentences if 18 <= len(s) <= 22][:50] or list(sentences[:50])
    lat = []
    for s in typical * 3:
        t0 = time.perf_counter()
        run(enc.encode([s]))
        lat.append(time.perf_counter() - t0)
    lat = lat[len(typical) :]  # the first pass warms up
    out["latency_ms"] = {
        q: 1000 * float(np.percentile(lat, p)) for q, p in (("p50", 50), ("p95", 95), ("p99", 99))
    }
    out["latency_words"] = statistics.median(len(s) for s in typical)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


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
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from postag.data import read_conllu\n"
        "from postag.export.bench import measure_backend\n"
        "a = json.loads(sys.argv[1])\n"
        "sents = [s.words for s in read_conllu(a['data'])][: a['n']]\n"
        "ck = Path(a['checkpoint']) if a['checkpoint'] else None\n"
        "r = measure_backend(a['backend'], Path(a['bundle']), ck, sents, a['threads'], "
        "a['repeats'])\n"
        "print('RESULT ' + json.dumps(r))\n"
    )
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
    proc = subprocess.run([sys.executable, "-c", code, args], capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{backend}: benchmark failed: {proc.stderr.strip()[-1500:]}")


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
    fig.tight_layout()
    paths.append(out / "throughput.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
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
    fig.tight_layout()
    paths.append(out / "latency.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths


def roofline_share(result: dict[str, Any], gemm_gflops: float) -> float:
    """Batch-256 throughput as a share of the best its own model could do here."""
    return result["throughput"]["256"] * result["flops_per_token"] / (1e9 * gemm_gflops)


def markdown(report: dict[str, Any]) -> str:
    res = report["backends"]
    lines = [
        f"Machine: {report['machine']['cpu']}, {report['machine']['cores']} cores; "
        f"threads {report['threads']}; {report['sentences']} sentences of {report['file']} "
        f"({report['words']} words); medians of {report['repeats']} runs.",
        "",
        "| backend | "
        + " | ".join(f"words/s @{b}" for b in BATCH_SIZES)
        + " | p50 ms | p95 ms | p99 ms | peak RSS MB | vs PyTorch @256 |",
        "|---" * (len(BATCH_SIZES) + 6) + "|",
    ]
    base = next((r["throughput"]["256"] for r in res if r["backend"] == "pytorch"), None)
    for r in res:
        t = r["throughput"]
        ratio = f"{t['256'] / base:.2f}x" if base else "—"
        lines.append(
            f"| {r['backend']} | "
            + " | ".join(f"{t[str(b)]:,.0f}" for b in BATCH_SIZES)
            + f" | {r['latency_ms']['p50']:.2f} | {r['latency_ms']['p95']:.2f} | "
            f"{r['latency_ms']['p99']:.2f} | {r['peak_rss_mb']:.0f} | {ratio} |"
        )
    rf = report["roofline"]
    lines += [
        "",
        f"Roofline: {rf['flops_per_token'] / 1e6:.2f} MFLOP per token; measured GEMM "
        f"{rf['gemm_gflops']:.1f} GFLOP/s → at most {rf['best_words_per_s']:,.0f} words/s. "
        "Share of each backend's own model's bound at batch 256: "
        + ", ".join(
            f"{r['backend']} {100 * roofline_share(r, rf['gemm_gflops']):.1f}%" for r in res
        )
        + ".",
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
    return "\n".join(lines) + "\n"


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
) -> dict[str, Any]:
    from postag.bundle import load_manifest
    from postag.data import read_conllu

    man = load_manifest(bundle)
    sentences = [s.words for s in read_conllu(data)][:n]
    backends = ["pytorch", "torchscript", "onnx-fp32", "onnx-int8"] + (
        ["onnx-cuda"] if cuda else []
    )
    results = []
    for b in backends:
        log(f"measuring {b} …")
        results.append(measure_in_subprocess(b, bundle, checkpoint, data, n, threads, repeats))
    if seed_checkpoint and seed_checkpoint.exists():
        log("measuring seed-pytorch …")
        results.append(
            measure_in_subprocess(
                "seed-pytorch", bundle, seed_checkpoint, data, n, threads, repeats
            )
        )
    one = (
        "Hello world, this is a typical sentence of about twenty words to tag for the "
        "cold start test .\n"
    )
    torch_cmd = [
        sys.executable,
        "-c",
        "import sys, torch\n"
        "from postag.export.checkpoint import Checkpoint\n"
        "from postag.export.predict import predict_tags\n"
        f"ck = Checkpoint.load({str(checkpoint)!r})\n"
        "s = sys.stdin.readline().split()\n"
        "t = predict_tags(ck.model(), ck.encoder(), [s])[0]\n"
        "print(' '.join(f'{w}/{ck.tags.items[i]}' for w, i in zip(s, t)), flush=True)\n",
    ]
    postag = str(Path(sys.executable).with_name("postag"))
    cold = {
        "postag tag (onnxruntime)": cold_start(
            [postag, "tag", "--pretokenized", "--bundle", str(bundle)], one
        ),
        "PyTorch (checkpoint)": cold_start(torch_cmd, one),
    }
    avg_word = float(np.mean([len(w) for s in sentences for w in s]))
    fpt = flops_per_token(man.data["model_config"], min(avg_word, 32))
    gflops = matmul_gflops(threads)
    report = {
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
        "cold_start_s": cold,
        "bundle_mb": {
            f: man.path(f).stat().st_size / 1e6
            for f in ("model.onnx", "model.int8.onnx", "model.torchscript.pt")
        },
        "installed": installed_sizes(),
        "roofline": {
            "flops_per_token": fpt,
            "gemm_gflops": gflops,
            "best_words_per_s": gflops * 1e9 / fpt,
            "avg_word_len": avg_word,
        },
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "bench.md").write_text(markdown(report))
    report["plots"] = [str(p) for p in plot(results, out)]
    return report
