"""Bounded load test of `postag serve` on loopback (`postag loadtest`, `make loadtest`).

Starts the server in a subprocess on a free 127.0.0.1 port, waits for /v1/health, then for
each concurrency level sends at most ``requests`` requests for at most ``time_cap``
seconds (it stops by itself), and reports requests/s, words/s, p50/p99 latency and errors
as JSON and a markdown table. The server is stopped with SIGTERM (graceful shutdown).
"""

from __future__ import annotations

import itertools
import json
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from ..bundle import load_manifest
from ..data import read_conllu


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sentences(bundle: str | Path, data: str | None) -> list[list[str]]:
    if data:
        return [s.words for s in read_conllu(data)]
    cases = load_manifest(bundle).verification_cases()
    return [s for name, sents in cases if name.startswith("dev sample") for s in sents]


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_level(
    url: str, payloads: list[dict], clients: int, n_requests: int, time_cap: float
) -> dict[str, Any]:
    counter = itertools.count()
    lock = threading.Lock()
    latencies: list[float] = []
    errors = words = 0
    stop_at = time.perf_counter() + time_cap

    def worker(client: httpx.Client) -> None:
        nonlocal errors, words
        while time.perf_counter() < stop_at:
            i = next(counter)
            if i >= n_requests:
                return
            body = payloads[i % len(payloads)]
            t0 = time.perf_counter()
            try:
                r = client.post(url, json=body, timeout=60)
                ok = r.status_code == 200
            except httpx.HTTPError:
                ok = False
            dt = time.perf_counter() - t0
            with lock:
                if ok:
                    latencies.append(dt)
                    words += sum(len(s) for s in body["sentences"])
                else:
                    errors += 1

    start = time.perf_counter()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    with httpx.Client(limits=limits) as client, ThreadPoolExecutor(clients) as pool:
        for f in [pool.submit(worker, client) for _ in range(clients)]:
            f.result()
    elapsed = time.perf_counter() - start
    done = len(latencies)
    return {
        "clients": clients,
        "requests": done + errors,
        "ok": done,
        "errors": errors,
        "seconds": elapsed,
        "requests_per_s": done / elapsed,
        "words_per_s": words / elapsed,
        "p50_ms": 1000 * _percentile(latencies, 0.50),
        "p99_ms": 1000 * _percentile(latencies, 0.99),
        "mean_ms": 1000 * statistics.fmean(latencies) if latencies else float("nan"),
    }


def run_loadtest(
    bundle: str | Path,
    levels: list[int],
    n_requests: int,
    time_cap: float,
    per_request: int,
    data: str | None,
    out: Path,
    threads: int = 0,
    log: Callable[[str], None] = print,
) -> str:
    sents = _sentences(bundle, data)
    payloads = [
        {"sentences": sents[i : i + per_request]}
        for i in range(0, len(sents) - per_request + 1, per_request)
    ]
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "postag",
        "--quiet",
        "--threads",
        str(threads),
        "serve",
        str(bundle),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.perf_counter() + 60
        while True:
            try:
                if httpx.get(f"{base}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.perf_counter() > deadline:
                raise RuntimeError(f"server did not start: {server.stderr.read()[-2000:]}")
            time.sleep(0.2)
        info = httpx.get(f"{base}/v1/info", timeout=5).json()
        results = []
        for c in levels:
            res = run_level(f"{base}/v1/tag", payloads, c, n_requests, time_cap)
            log(
                f"clients {c:>3}: {res['requests_per_s']:8.1f} req/s "
                f"{res['words_per_s']:9.0f} words/s  p50 {res['p50_ms']:7.1f} ms  "
                f"p99 {res['p99_ms']:7.1f} ms  errors {res['errors']}"
            )
            results.append(res)
        stats = httpx.get(f"{base}/v1/info", timeout=5).json()["stats"]
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "bundle": str(bundle),
        "provider": info["provider"],
        "serve": info["serve"],
        "sentences_per_request": per_request,
        "levels": results,
        "batcher": stats,
    }
    (out / "loadtest.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "| clients | requests | errors | requests/s | words/s | p50 ms | p99 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['clients']} | {r['requests']} | {r['errors']} | {r['requests_per_s']:.1f} "
        f"| {r['words_per_s']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} |"
        for r in results
    ]
    table = "\n".join(lines) + "\n"
    (out / "loadtest.md").write_text(table)
    return table + (
        f"\nmicro-batching: {stats['requests']} requests in {stats['batches']} "
        f"session runs (up to {stats['max_requests_per_batch']} requests per run)"
        f"\nreport: {out / 'loadtest.json'}, {out / 'loadtest.md'}"
    )
