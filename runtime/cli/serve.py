"""`postag serve` (the HTTP service) and `postag loadtest` (a bounded load test of it).

    postag serve --port 8000               # the shipped model; open http://127.0.0.1:8000/
    postag serve artifacts/postag-en-ewt --workers 4
    postag loadtest artifacts/postag-en-ewt --clients 1,8,50

With ``--workers`` over 1, ``/metrics`` counts for all the workers together: the command
runs prometheus-client's multiprocess mode in a temporary directory it creates before the
workers start and removes when the server stops (``PROMETHEUS_MULTIPROC_DIR``; one given
in the environment is used as it is, and left in place).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import click

from ..serve.config import ServeConfig
from . import (
    DEFAULT_BUNDLE,
    Options,
    model_option,
    provider_option,
    report_dir_option,
    require_serve,
)


@click.command()
@click.argument("bundle", required=False, type=click.Path())
@model_option("model")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes (each loads the model and batches on its own; /metrics sums "
    "over them all).",
)
@provider_option
@click.option(
    "--max-batch-tokens",
    type=click.IntRange(min=1),
    default=ServeConfig.max_batch_tokens,
    show_default=True,
    help="Micro-batching: tokens per session run.",
)
@click.option(
    "--max-wait-ms",
    type=click.FloatRange(min=0),
    default=ServeConfig.max_wait_ms,
    show_default=True,
    help="Micro-batching: how long a request may wait for batch-mates.",
)
@click.option(
    "--queue-size",
    type=click.IntRange(min=1),
    default=ServeConfig.queue_size,
    show_default=True,
    help="Requests that may wait; beyond it the server answers 503 + Retry-After.",
)
@click.option(
    "--max-body-bytes",
    type=click.IntRange(min=1),
    default=ServeConfig.max_body_bytes,
    show_default=True,
)
@click.option(
    "--max-sentences",
    type=click.IntRange(min=1),
    default=ServeConfig.max_sentences,
    show_default=True,
)
@click.option(
    "--max-tokens", type=click.IntRange(min=1), default=ServeConfig.max_tokens, show_default=True
)
@click.option(
    "--text-workers",
    type=click.IntRange(min=1),
    default=ServeConfig.text_workers,
    show_default=True,
    help="Processes that split raw texts into sentences, off the event loop (per worker).",
)
@click.pass_obj
def serve(
    opts: Options,
    bundle: str | None,
    model: str | None,
    host: str,
    port: int,
    workers: int,
    provider: str,
    max_batch_tokens: int,
    max_wait_ms: float,
    queue_size: int,
    max_body_bytes: int,
    max_sentences: int,
    max_tokens: int,
    text_workers: int,
) -> None:
    """Serve a model over HTTP: POST /v1/tag, GET /v1/health, GET /v1/info, GET /metrics
    (Prometheus), GET / (a page to look at tags), /docs. The model: BUNDLE (a directory)
    or --model NAME|DIR; default: $POSTAG_BUNDLE, else the model shipped with postag."""
    require_serve()
    import json

    import uvicorn

    from ..bundle import load_manifest
    from ..registry import resolve_bundle

    if bundle and model:
        raise click.UsageError("give the model once: BUNDLE or --model, not both")
    path = resolve_bundle(bundle if bundle is not None else model)
    load_manifest(path)  # fail fast, with a clear message, before any worker starts
    conf = {
        "bundle": str(path.resolve()),
        "provider": provider,
        "threads": opts.threads,
        "serve": {
            "max_batch_tokens": max_batch_tokens,
            "max_wait_ms": max_wait_ms,
            "queue_size": queue_size,
            "max_body_bytes": max_body_bytes,
            "max_sentences": max_sentences,
            "max_tokens": max_tokens,
            "text_workers": text_workers,
        },
    }
    os.environ["POSTAG_SERVE"] = json.dumps(conf)
    with multiprocess_metrics(workers):
        uvicorn.run(
            "postag.serve.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning" if opts.quiet else "info",
            timeout_graceful_shutdown=30,
        )


#: The variable that puts prometheus-client into multiprocess mode (read when the
#: library is first imported: in each worker process, which starts after it is set).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextlib.contextmanager
def multiprocess_metrics(workers: int) -> Iterator[None]:
    """With several workers, a fresh temporary directory in ``PROMETHEUS_MULTIPROC_DIR``
    for as long as the server runs (then removed), unless the environment names one
    already (used as it is: it must exist, and it is kept)."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        if not os.path.isdir(given):
            raise click.UsageError(f"{MULTIPROC_ENV}={given} is not a directory")
        yield
        return
    if workers == 1:
        yield
        return
    path = tempfile.mkdtemp(prefix="postag-metrics-")
    os.environ[MULTIPROC_ENV] = path
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(path, ignore_errors=True)


@click.command()
@click.argument("bundle", default=DEFAULT_BUNDLE, type=click.Path())
@click.option(
    "--clients", default="1,8,50", show_default=True, help="Comma-separated concurrency levels."
)
@click.option(
    "--requests",
    "n_requests",
    type=click.IntRange(min=1),
    default=500,
    show_default=True,
    help="Requests per concurrency level (a hard bound).",
)
@click.option(
    "--time-cap",
    type=click.FloatRange(min=1),
    default=60,
    show_default=True,
    help="Seconds per level at most; the level stops by itself after it.",
)
@click.option("--sentences-per-request", type=click.IntRange(min=1), default=4, show_default=True)
@click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="CoNLL-U file whose sentences are sent [the bundle's fixed sample of EWT dev sentences].",
)
@click.option(
    "--hostile",
    is_flag=True,
    help="Keep one hostile request in flight during every level (a 100 kB hyphen chain, "
    "~900 kB of text, the largest answer) and report /v1/health's latency beside it.",
)
@report_dir_option("artifacts/loadtest", "loadtest.json and loadtest.md")
@click.pass_obj
def loadtest(
    opts: Options,
    bundle: str,
    clients: str,
    n_requests: int,
    time_cap: float,
    sentences_per_request: int,
    data: str | None,
    hostile: bool,
    out: str,
) -> None:
    """Start `postag serve` on a free loopback port, load it with N concurrent clients
    (bounded in requests and time), report requests/s, words/s, p50/p99 latency, errors,
    and /v1/health's latency (probed every 20 ms) beside them."""
    require_serve()
    from ..serve.loadtest import run_loadtest

    levels = [int(c) for c in clients.split(",") if c.strip()]
    report = run_loadtest(
        bundle,
        levels,
        n_requests,
        time_cap,
        sentences_per_request,
        data,
        Path(out),
        threads=opts.threads,
        hostile=hostile,
        log=opts.echo,
    )
    click.echo(report)
