"""Bounded load test of `postag serve` on loopback (`postag loadtest`, `make loadtest`).

    postag loadtest artifacts/postag-en-ewt --clients 1,8,50 --requests 1000 --hostile

Starts the server in a subprocess on a free 127.0.0.1 port, waits for /v1/health, then for
each concurrency level sends at most ``requests`` requests for at most ``time_cap``
seconds (it stops by itself), and reports requests/s, words/s, p50/p99 latency and errors
as JSON and a markdown table. The server is stopped with SIGTERM (graceful shutdown).

During every level a probe polls ``/v1/health`` every 20 ms and the report gives its
p50/p99/max latency. With ``hostile=True`` (``--hostile``) one hostile request is in
flight all level long as well, one after the other: ~900 kB of ordinary text, the
largest answer the limits allow (``max_tokens`` tokens with ``max_top_k`` alternatives
and probabilities, for every head of the model) and a 100 kB chain of hyphenated words
(both texts are over the token limit: tokenized, then refused); the health latency
shows whether they stall the event loop.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ..bundle import load_manifest
from ..data import read_conllu
from ..files import atomic_write_bytes

#: The hostile raw text: tokenizers that backtrack over hyphen chains choke on it.
HYPHENS = "state-of-the-art-" * 6000
#: Ordinary text of this share of the body limit (900 kB with the default 1 MB).
PROSE_SHARE = 0.9
PROBE_EVERY_S = 0.02


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


def payloads(sents: list[list[str]], per_request: int) -> list[dict[str, Any]]:
    """The clients' request bodies: ``per_request`` consecutive sentences each."""
    return [
        {"sentences": sents[i : i + per_request]}
        for i in range(0, len(sents) - per_request + 1, per_request)
    ]


def hostile_bodies(sents: list[list[str]], serve: dict[str, Any]) -> list[tuple[str, bytes]]:
    """(name, JSON body) of the hostile requests, sized to the server's limits."""
    unit = " ".join(" ".join(s) for s in sents) + " "
    chars = int(PROSE_SHARE * serve["max_body_bytes"])
    prose = (unit * (chars // len(unit) + 1))[:chars]
    biggest, tokens = [], 0
    for s in itertools.cycle(sents):
        if tokens + len(s) > serve["max_tokens"] or len(biggest) == serve["max_sentences"]:
            break
        biggest.append(s)
        tokens += len(s)
    bodies = {
        "prose": {"text": prose},
        "top_k": {"sentences": biggest, "top_k": serve["max_top_k"], "probs": True},
        "hyphens": {"text": HYPHENS},
    }
    return [(name, json.dumps(b).encode()) for name, b in bodies.items()]


class Background:
    """What runs beside one level's clients: a probe polling ``/v1/health`` every 20 ms
    and, given hostile bodies, one of them always in flight (one after the other). On
    exit the probe stops and the hostile request in flight is awaited."""

    def __init__(self, base: str, hostile: list[tuple[str, bytes]]) -> None:
        self.base, self.hostile = base, hostile
        self.health_ms: list[float] = []
        self.probe_errors = 0
        self.hostile_status: Counter[str] = Counter()
        self.hostile_max_s = 0.0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._probe)]
        if hostile:
            self._threads.append(threading.Thread(target=self._send_hostile))

    def __enter__(self) -> Background:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:  # the probe's last answer, then the hostile one in flight
            t.join()

    def _probe(self) -> None:
        with httpx.Client(timeout=60) as client:
            while not self._stop.is_set():
                t0 = time.perf_counter()
                try:
                    ok = client.get(f"{self.base}/v1/health").status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    self.health_ms.append(1000 * (time.perf_counter() - t0))
                else:
                    self.probe_errors += 1
                self._stop.wait(PROBE_EVERY_S)

    def _send_hostile(self) -> None:
        headers = {"content-type": "application/json"}
        with httpx.Client(timeout=600) as client:
            for name, body in itertools.cycle(self.hostile):
                if self._stop.is_set():
                    return
                t0 = time.perf_counter()
                try:
                    r = client.post(f"{self.base}/v1/tag", content=body, headers=headers)
                    status = str(r.status_code)
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                self.hostile_max_s = max(self.hostile_max_s, time.perf_counter() - t0)
                self.hostile_status[f"{name} {status}"] += 1

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "health_probes": len(self.health_ms),
            "health_errors": self.probe_errors,
            "health_p50_ms": _percentile(self.health_ms, 0.50),
            "health_p99_ms": _percentile(self.health_ms, 0.99),
            "health_max_ms": max(self.health_ms, default=float("nan")),
        }
        if self.hostile:
            out["hostile"] = dict(self.hostile_status)
            out["hostile_max_s"] = self.hostile_max_s
        return out


@dataclass
class _Tally:
    """The clients' answers of one level (shared by the client threads)."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    words: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, ok: bool, seconds: float, words: int) -> None:
        with self.lock:
            if ok:
                self.latencies.append(seconds)
                self.words += words
            else:
                self.errors += 1

    def numbers(self, clients: int, elapsed: float) -> dict[str, Any]:
        done, lat = len(self.latencies), self.latencies
        return {
            "clients": clients,
            "requests": done + self.errors,
            "ok": done,
            "errors": self.errors,
            "seconds": elapsed,
            "requests_per_s": done / elapsed,
            "words_per_s": self.words / elapsed,
            "p50_ms": 1000 * _percentile(lat, 0.50),
            "p99_ms": 1000 * _percentile(lat, 0.99),
            "mean_ms": 1000 * statistics.fmean(lat) if lat else float("nan"),
        }


def run_level(
    url: str, payloads: list[dict], clients: int, n_requests: int, time_cap: float
) -> dict[str, Any]:
    """``clients`` threads post ``payloads`` in turn: ``n_requests`` in all, at most
    ``time_cap`` seconds."""
    counter = itertools.count()
    tally = _Tally()
    stop_at = time.perf_counter() + time_cap

    def worker(client: httpx.Client) -> None:
        while time.perf_counter() < stop_at and (i := next(counter)) < n_requests:
            body = payloads[i % len(payloads)]
            t0 = time.perf_counter()
            try:
                ok = client.post(url, json=body, timeout=60).status_code == 200
            except httpx.HTTPError:
                ok = False
            tally.add(ok, time.perf_counter() - t0, sum(len(s) for s in body["sentences"]))

    start = time.perf_counter()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    with httpx.Client(limits=limits) as client, ThreadPoolExecutor(clients) as pool:
        for f in [pool.submit(worker, client) for _ in range(clients)]:
            f.result()
    return tally.numbers(clients, time.perf_counter() - start)


@contextlib.contextmanager
def serving(bundle: str | Path, threads: int) -> Iterator[str]:
    """`postag serve BUNDLE` on a free loopback port, healthy; yields its base URL and
    stops it with SIGTERM."""
    port = free_port()
    cmd = [sys.executable, "-m", "postag", "--quiet", "--threads", str(threads), "serve"]
    cmd += [str(bundle), "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(server, base)
        yield base
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def _wait_healthy(server: subprocess.Popen, base: str, timeout: float = 60) -> None:
    deadline = time.perf_counter() + timeout
    while True:
        try:
            if httpx.get(f"{base}/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.perf_counter() > deadline:
            raise RuntimeError(f"server did not start: {server.stderr.read()[-2000:]}")
        time.sleep(0.2)


def measure_level(
    base: str,
    bodies: list[dict],
    hostile: list[tuple[str, bytes]],
    clients: int,
    n_requests: int,
    time_cap: float,
) -> dict[str, Any]:
    """One level: the clients' numbers, the health probe's (and the hostile requests')."""
    with Background(base, hostile) as background:
        res = run_level(f"{base}/v1/tag", bodies, clients, n_requests, time_cap)
    return res | background.summary()


def _line(r: dict[str, Any]) -> str:
    return (
        f"clients {r['clients']:>3}: {r['requests_per_s']:8.1f} req/s "
        f"{r['words_per_s']:9.0f} words/s  p50 {r['p50_ms']:7.1f} ms  "
        f"p99 {r['p99_ms']:7.1f} ms  errors {r['errors']}  "
        f"health p99 {r['health_p99_ms']:6.1f} ms max {r['health_max_ms']:6.1f} ms"
    )


def table(results: list[dict[str, Any]]) -> str:
    """The markdown table of the levels (hostile requests answered, when there were)."""
    hostile = any("hostile" in r for r in results)
    head = "| clients | requests | errors | requests/s | words/s | p50 ms | p99 ms "
    head += "| health p50 ms | health p99 ms | health max ms |"
    head += " hostile requests |" if hostile else ""
    lines = [head, "|---" * head.count(" |") + "|"]
    for r in results:
        row = (
            f"| {r['clients']} | {r['requests']} | {r['errors']} | {r['requests_per_s']:.1f} "
            f"| {r['words_per_s']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} "
            f"| {r['health_p50_ms']:.1f} | {r['health_p99_ms']:.1f} | {r['health_max_ms']:.1f} |"
        )
        if hostile:
            row += " " + ", ".join(f"{k} ×{v}" for k, v in r["hostile"].items()) + " |"
        lines.append(row)
    return "\n".join(lines) + "\n"


def run_loadtest(
    bundle: str | Path,
    levels: list[int],
    n_requests: int,
    time_cap: float,
    per_request: int,
    data: str | None,
    out: Path,
    threads: int = 0,
    hostile: bool = False,
    log: Callable[[str], None] = print,
) -> str:
    sents = _sentences(bundle, data)
    bodies = payloads(sents, per_request)
    results = []
    with serving(bundle, threads) as base:
        info = httpx.get(f"{base}/v1/info", timeout=5).json()
        extra = hostile_bodies(sents, info["serve"]) if hostile else []
        for c in levels:
            results.append(measure_level(base, bodies, extra, c, n_requests, time_cap))
            log(_line(results[-1]))
        stats = httpx.get(f"{base}/v1/info", timeout=5).json()["stats"]
    report = {
        "bundle": str(bundle),
        "provider": info["provider"],
        "serve": info["serve"],
        "sentences_per_request": per_request,
        "hostile": [name for name, _ in extra],
        "levels": results,
        "batcher": stats,
    }
    return write_report(report, out)


def write_report(report: dict[str, Any], out: Path) -> str:
    """loadtest.json and loadtest.md into ``out`` (each replaced whole); returns the table
    and a summary to print."""
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / "loadtest.json", (json.dumps(report, indent=2) + "\n").encode())
    atomic_write_bytes(out / "loadtest.md", table(report["levels"]).encode())
    stats = report["batcher"]
    return table(report["levels"]) + (
        f"\nmicro-batching: {stats['requests']} requests in {stats['batches']} "
        f"session runs (up to {stats['max_requests_per_batch']} requests per run)"
        f"\nreport: {out / 'loadtest.json'}, {out / 'loadtest.md'}"
    )
