"""One backend measured in this process: throughput per batch size, single-sentence latency,
peak RSS. `postag bench` runs it once per backend in a fresh process, so that each
backend's peak RSS is its own:

    python -m postag.export.bench.measure '{"backend": "runtime",
        "bundle": "artifacts/postag-en-ewt", "data": "…/en_ewt-ud-test.conllu", "n": 500,
        "checkpoint": null, "threads": 0, "repeats": 3}'

prints ``RESULT {json}`` on its last line.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from postag.layout import FAST_FORMS, MODEL, MODEL_INT8, TORCHSCRIPT
from postag.session import load_forms

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


def typical_sentences(sentences: Sequence[Sequence[str]]) -> list[Sequence[str]]:
    """Up to 50 sentences of typical length (18–22 words) for the latency measurement."""
    return [s for s in sentences if 18 <= len(s) <= 22][:50] or list(sentences[:50])


def latencies(fn: Callable[[Sequence[str]], Any], typical: Sequence[Sequence[str]]) -> list[float]:
    """Seconds per call of ``fn([sentence])``: three passes, the first one discarded as warm-up."""
    times = []
    for s in list(typical) * 3:
        t0 = time.perf_counter()
        fn([s])
        times.append(time.perf_counter() - t0)
    return times[len(typical) :]


def flops_per_token(cfg: dict[str, Any], avg_word_len: float, char_share: float = 1.0) -> float:
    """Multiply-adds × 2 of one token's forward pass (LSTM gates, output layer); the
    character BiLSTM counted for ``char_share`` of the tokens (the fast graph skips it
    for forms in its table)."""

    def lstm(inp: int, hid: int) -> float:
        return 2 * 4 * hid * (inp + hid)

    total = 0.0
    if cfg["char_hidden"]:
        total += 2 * lstm(cfg["char_dim"], cfg["char_hidden"]) * avg_word_len * char_share
    width = cfg["word_dim"] + 2 * cfg["char_hidden"]
    dirs = 2 if cfg["bidirectional"] else 1
    for _ in range(cfg["layers"]):
        total += dirs * lstm(width, cfg["hidden"])
        width = dirs * cfg["hidden"]
    labels = cfg["n_tags"] + cfg.get("n_xpos", 0) + cfg.get("n_feats", 0)  # every head
    total += 2 * width * labels
    return total


def job_for(
    backend: str, bundle: Path, checkpoint: Path | None, threads: int
) -> Callable[[Sequence[Sequence[str]]], Any]:
    """A callable: a batch of pre-tokenized sentences → the backend's output, with the
    preprocessing (encoding) included; built in this process. ``runtime`` rows are the
    runtime's whole job (``Tagger.tag_batch``: tokens in, tag strings out)."""
    if backend in ("runtime", "runtime-int8", "runtime-cuda"):
        from postag.tagger import Tagger

        provider = "cuda" if backend == "runtime-cuda" else "cpu"
        tagger = Tagger.load(bundle, provider, threads, quantized=backend == "runtime-int8")
        return tagger.tag_batch
    run, enc = runner_for(backend, bundle, checkpoint, threads)
    return lambda sents: run(enc.encode(sents))


def runner_for(backend: str, bundle: Path, checkpoint: Path | None, threads: int):  # noqa: ANN201
    """A callable: EncodedBatch → log-probs, built in this process."""
    from postag.bundle import load_manifest
    from postag.session import OnnxModel

    man = load_manifest(bundle)
    if backend in ("pytorch", "seed-pytorch", "torchscript"):
        import torch

        torch.set_num_threads(threads or os.cpu_count() or 1)
        from postag.export.graphs.torchscript_export import load_torchscript
        from postag.export.train.checkpoint import Checkpoint
        from postag.export.train.predict import model_keys, torch_heads_runner

        if backend == "torchscript":
            scripted = load_torchscript(bundle / TORCHSCRIPT)
            return torch_heads_runner(scripted, man.contract.output_keys), man.encoder()
        ckpt = Checkpoint.load(checkpoint)  # type: ignore[arg-type]
        model = ckpt.model()
        return torch_heads_runner(model, model_keys(model)), ckpt.encoder()
    fname = MODEL_INT8 if backend == "onnx-int8" else MODEL
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
    texts: Sequence[str] = (),
) -> dict[str, Any]:
    """Throughput per batch size and single-sentence latency, in this process; for the
    ``runtime`` row also raw text (``texts``: tokenization and sentence split included)."""
    job = job_for(backend, bundle, checkpoint, threads)
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
    if backend in ("runtime", "runtime-cuda") and (bundle / FAST_FORMS).exists():
        # the fast graph runs the char BiLSTM only for forms outside its table
        forms = set(load_forms(bundle / FAST_FORMS))
        new = [w for s in sentences for w in s if w not in forms]
        out["new_form_share"] = len(new) / sum(len(s) for s in sentences)
        out["flops_per_token_done"] = flops_per_token(
            cfg, min(avg_word, cfg["max_word_len"]), out["new_form_share"]
        )
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
    for bs in batch_sizes:
        # batches of bs sentences of similar length, as a bucketing caller would make
        groups = [[sentences[i] for i in order[k : k + bs]] for k in range(0, len(order), bs)]
        words = sum(len(s) for s in sentences)

        def everything(groups: list = groups) -> None:
            for g in groups:
                job(g)  # preprocessing included

        t = median_time(everything, repeats)
        out["throughput"][str(bs)] = words / t
    typical = typical_sentences(sentences)
    lat = latencies(job, typical)
    out["latency_ms"] = {
        q: 1000 * float(np.percentile(lat, p)) for q, p in (("p50", 50), ("p95", 95), ("p99", 99))
    }
    out["latency_words"] = statistics.median(len(s) for s in typical)
    if texts and backend == "runtime":
        tagger = job.__self__  # type: ignore[attr-defined]
        split_text = tagger.splitter.text_sentences  # the bundle's splitter, as tag_many's
        n_tok = sum(len(s.words) for t in texts for s in split_text(t))
        tok_s = median_time(lambda: [split_text(t) for t in texts], repeats)
        all_s = median_time(lambda: tagger.tag_many(texts), repeats)
        out["raw_text"] = {
            "texts": len(texts),
            "tokens": n_tok,
            "words_per_s": n_tok / all_s,
            "tokenization_share": tok_s / all_s,
        }
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main(argv: Sequence[str] | None = None) -> None:
    from postag.data import read_conllu

    a = json.loads((argv if argv is not None else sys.argv[1:])[0])
    corpus = read_conllu(a["data"])[: a["n"]]
    ck = Path(a["checkpoint"]) if a["checkpoint"] else None
    result = measure_backend(
        a["backend"],
        Path(a["bundle"]),
        ck,
        [s.words for s in corpus],
        a["threads"],
        a["repeats"],
        texts=[s.text for s in corpus if s.text],
    )
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
