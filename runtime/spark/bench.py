"""Spark scaling: ``local[1]`` vs ``local[2]`` vs the single-process runtime, same input.

    postag spark-bench artifacts/postag-en-ewt --sentences 200000 --out artifacts/spark

Builds a synthetic corpus of raw-text rows by sampling EWT sentences (``# text`` lines of
all three splits, with replacement, fixed seed), writes it as JSON lines, then tags it
(1) with the runtime in one process (``Tagger.tag_many`` in chunks, all cores) and (2)
with ``postag spark-tag`` under each master, each in a fresh process so every run pays
its own JVM start. Reports words/s, the speed-up and the start-up overhead; writes
spark.json and spark.md. Numbers are printed, never asserted.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..data import read_conllu


def build_corpus(files: Sequence[Path], n: int, out: Path, seed: int = 0) -> int:
    """``n`` rows ``{"id", "text"}`` sampled from the files' sentence texts; returns n."""
    texts = [s.text for f in files for s in read_conllu(f) if s.text]
    rng = random.Random(seed)
    with out.open("w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": i, "text": rng.choice(texts)}, ensure_ascii=False) + "\n")
    return n


def runtime_baseline(bundle: Path, corpus: Path, threads: int, chunk: int = 4096) -> dict:
    """The same texts through the runtime in this process (tokenization included)."""
    from ..tagger import Tagger

    texts = [json.loads(line)["text"] for line in corpus.open(encoding="utf-8")]
    t0 = time.perf_counter()
    tagger = Tagger.load(bundle, "cpu", threads)
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    words = 0
    for k in range(0, len(texts), chunk):
        for doc in tagger.tag_many(texts[k : k + chunk]):
            words += sum(len(s.words) for s in doc)
    secs = time.perf_counter() - t0
    return {
        "setup": "runtime, 1 process",
        "rows": len(texts),
        "words": words,
        "job_s": secs,
        "startup_s": load,
        "words_per_s": words / secs,
    }


def spark_run(bundle: Path, corpus: Path, out: Path, master: str) -> dict:
    """``python -m postag.spark.job`` in a fresh process (its own JVM); wall time included."""
    args = {"bundle": str(bundle), "input": str(corpus), "output": str(out), "master": master}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "postag.spark.job", json.dumps(args)], capture_output=True, text=True
    )
    wall = time.perf_counter() - t0
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            r = json.loads(line[7:])
            r.update(setup=f"spark {master}", wall_s=wall, words_per_s=r["words"] / r["job_s"])
            return r
    raise RuntimeError(f"spark {master} failed: {proc.stderr.strip()[-1500:]}")


def markdown(report: dict[str, Any]) -> str:
    rows = report["runs"]
    base = next(r for r in rows if r["setup"] == "spark local[1]")
    single = next(r for r in rows if r["setup"].startswith("runtime"))
    lines = [
        f"{report['rows']:,} rows (EWT sentences sampled with replacement, raw text, "
        f"{report['words']:,} words after tokenization); {report['cores']} cores.",
        "",
        "| setup | job s | words/s | vs spark local[1] | vs runtime | start-up s | bundle loads |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['setup']} | {r['job_s']:.1f} | {r['words_per_s']:,.0f} | "
            f"{r['words_per_s'] / base['words_per_s']:.2f}× | "
            f"{r['words_per_s'] / single['words_per_s']:.2f}× | {r['startup_s']:.1f} | "
            f"{r.get('loads', 1)} |"
        )
    lines += [
        "",
        "job s: read + tag + write + commit (Spark) or tagging alone (runtime). start-up: JVM "
        "+ SparkSession (Spark) or bundle load (runtime). Each Spark run's whole process, "
        "Python and JVM start included, took "
        + ", ".join(f"{r['wall_s']:.1f} s ({r['setup']})" for r in rows if "wall_s" in r)
        + ".",
    ]
    return "\n".join(lines) + "\n"


def run_spark_bench(
    bundle: Path,
    files: Sequence[Path],
    n: int,
    out: Path,
    masters: Sequence[str] = ("local[1]", "local[2]"),
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    corpus = out / "corpus.jsonl"
    build_corpus(files, n, corpus)
    log(f"corpus: {n:,} rows → {corpus}")
    runs = []
    log("runtime, 1 process …")
    runs.append(runtime_baseline(bundle, corpus, 0))
    for master in masters:
        log(f"spark {master} …")
        runs.append(spark_run(bundle, corpus, out / "tagged.parquet", master))
        log(f"  {runs[-1]['words_per_s']:,.0f} words/s")
    shutil.rmtree(out / "tagged.parquet", ignore_errors=True)
    corpus.unlink()  # derived from EWT: regenerated on every run, never kept
    report = {"rows": n, "words": runs[0]["words"], "cores": os.cpu_count(), "runs": runs}
    (out / "spark.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "spark.md").write_text(markdown(report))
    return report
