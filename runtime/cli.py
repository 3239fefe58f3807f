"""The ``postag`` command group: shared options and error handling (torch-free).

Commands that need torch are registered by :mod:`postag.export.cli`; each imports torch
inside its body, so the runtime-only install still starts and says how to get them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import PostagError
from .serve_config import ServeConfig


@dataclass
class Options:
    threads: int
    quiet: bool

    def echo(self, message: str = "", err: bool = False) -> None:
        if not self.quiet:
            click.echo(message, err=err)


class PostagGroup(click.Group):
    """Turns postag's typed errors into a clear one-line message and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PostagError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            raise click.ClickException("interrupted; nothing half-written was kept") from None


def report_dir_option(default: str, files: str):  # noqa: ANN201 - a click decorator
    """``--out DIR`` for commands that write a report."""
    return click.option(
        "--out",
        type=click.Path(file_okay=False),
        default=default,
        show_default=True,
        help=f"Where {files} go.",
    )


@click.group(cls=PostagGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--threads",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Intra-op threads for torch and onnxruntime (0 = all cores).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only results and errors.")
@click.version_option(__version__, prog_name="postag")
@click.pass_context
def cli(ctx: click.Context, threads: int, quiet: bool) -> None:
    """postag — an LSTM part-of-speech tagger from PyTorch training to a verified,
    torch-free ONNX runtime."""
    ctx.obj = Options(threads=threads, quiet=quiet)


DEFAULT_BUNDLE = "artifacts/postag-en-ewt"
bundle_option = click.option(
    "--bundle",
    envvar="POSTAG_BUNDLE",
    default=DEFAULT_BUNDLE,
    show_default=True,
    type=click.Path(),
    help="Bundle directory (or set POSTAG_BUNDLE).",
)


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@bundle_option
@click.option(
    "--input-format",
    "input_format",
    default="text",
    show_default=True,
    type=click.Choice(["text", "pretokenized", "conllu"]),
    help="text: raw text; pretokenized: one sentence per line, tokens separated by "
    "spaces; conllu: CoNLL-U.",
)
@click.option("--pretokenized", is_flag=True, help="Same as --input-format pretokenized.")
@click.option(
    "--format",
    "fmt",
    default="text",
    show_default=True,
    type=click.Choice(["text", "json", "conllu"]),
    help="text: word/TAG; json: one object per sentence; conllu: CoNLL-U with UPOS.",
)
@click.option(
    "--provider",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "cpu", "cuda"]),
    help="onnxruntime execution provider; an unavailable 'cuda' is an error.",
)
@click.option("--int8", is_flag=True, help="Use the int8-quantised model.")
@click.option(
    "--top-k",
    type=click.IntRange(min=0),
    default=0,
    help="Also output the k most probable tags per word (json/conllu).",
)
@click.option("--probs", is_flag=True, help="Also output each chosen tag's probability.")
@click.option(
    "--chunk",
    type=click.IntRange(min=1),
    default=2000,
    show_default=True,
    help="Sentences (pretokenized/conllu) per chunk; text paragraphs are capped at "
    "100x this many characters. Bounds memory on large inputs.",
)
@click.option(
    "--encoding-errors",
    type=click.Choice(["strict", "replace"]),
    default="strict",
    show_default=True,
    help="Invalid UTF-8: stop with the line number, or replace bad bytes with U+FFFD.",
)
@click.pass_obj
def tag(
    opts: Options,
    files: tuple[str, ...],
    bundle: str,
    input_format: str,
    pretokenized: bool,
    fmt: str,
    provider: str,
    int8: bool,
    top_k: int,
    probs: bool,
    chunk: int,
    encoding_errors: str,
) -> None:
    """Tag FILES (standard input when none or '-') and write to standard output."""
    import sys

    from .formats import Writer, decoded_lines, read_conllu_stream, read_pretokenized, read_text
    from .tagger import Tagger

    if pretokenized:
        input_format = "pretokenized"
    tagger = Tagger.load(bundle, provider=provider, threads=opts.threads, quantized=int8)
    writer = Writer(sys.stdout, fmt)
    sources = list(files) or ["-"]
    show = sys.stderr.isatty() and not opts.quiet and all(f != "-" for f in sources)
    total = sum(Path(f).stat().st_size for f in sources if f != "-") if show else 0
    with click.progressbar(
        length=total or 1, label="tagging", file=sys.stderr, hidden=not show
    ) as bar:
        for name in sources:
            stream = click.open_file(name, "rb")
            with stream:

                def counted(s=stream):  # noqa: ANN001, ANN202 - progress by bytes read
                    for raw in s:
                        bar.update(len(raw))
                        yield raw

                lines = decoded_lines(
                    counted(), "<stdin>" if name == "-" else name, encoding_errors
                )
                if input_format == "text":
                    units = read_text(lines, 100 * chunk)
                elif input_format == "pretokenized":
                    units = read_pretokenized(lines, chunk)
                else:
                    units = read_conllu_stream(lines, name, chunk)
                for unit in units:
                    writer.write(unit, tagger.tag_batch(unit.sentences, top_k=top_k, probs=probs))
    if writer.count == 0:
        opts.echo("postag: no sentences in the input", err=True)


@cli.command()
@click.argument("bundle", default=DEFAULT_BUNDLE, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the whole manifest as JSON.")
@click.pass_obj
def info(opts: Options, bundle: str, as_json: bool) -> None:
    """Summarise BUNDLE (checked: format, files, sha256) and the execution providers."""
    import json

    import onnxruntime as ort

    from .bundle import load_manifest
    from .session import resolve_provider

    man = load_manifest(bundle)
    if as_json:
        click.echo(json.dumps(man.data, indent=2, ensure_ascii=False))
        return
    d = man.data
    met, ev = d.get("metrics", {}), d.get("evaluation", {})
    click.echo(
        f"{d['name']} {d['version']}  (format {d['format_version']}, created "
        f"{d.get('created', '?')})"
    )
    click.echo("producers: " + ", ".join(f"{k} {v}" for k, v in d.get("producers", {}).items()))
    c = d["model_config"]
    click.echo(
        f"model: {met.get('parameters', 0):,} parameters; {c['layers']}-layer "
        f"{'Bi' if c['bidirectional'] else ''}LSTM {c['hidden']}, char BiLSTM "
        f"{c['char_hidden'] or 'off'}; {len(d['tags'])} tags: {' '.join(d['tags'])}"
    )
    click.echo(f"corpus: {d.get('corpus', {}).get('name', '?')}")
    line = f"accuracy: pytorch dev {100 * met.get('dev_accuracy', 0):.2f}%"
    if "test_accuracy" in met:
        line += f", test {100 * met['test_accuracy']:.2f}%"
    for label, e in ev.items():
        line += f"; {label} test {100 * e.get('test_accuracy', e.get('dev_accuracy', 0)):.2f}%"
    click.echo(line)
    val = d.get("validation", {})
    click.echo(
        f"verification: {'passed' if val.get('ok') else 'NOT passed'} "
        f"({len(val.get('checks', []))} checks)"
    )
    for name, meta in d["files"].items():
        click.echo(f"  {name:<22} {meta['bytes'] / 1e6:8.2f} MB  sha256 {meta['sha256'][:12]}…")
    click.echo(
        "onnxruntime "
        + ort.__version__
        + ", providers: "
        + ", ".join(ort.get_available_providers())
    )
    click.echo(f"provider for --provider auto: {resolve_provider('auto')}")


def require_extra(modules: tuple[str, ...], what: str, extra: str) -> None:
    """A ClickException naming the install command unless every module imports:
    ``"<what>, which is not installed: pip install 'postag[<extra>]'"``."""
    import importlib

    try:
        for name in modules:
            importlib.import_module(name)
    except ImportError:
        raise click.ClickException(
            f"{what}, which is not installed: pip install 'postag[{extra}]'"
        ) from None


def _require_serve() -> None:
    require_extra(("fastapi", "uvicorn"), "serving needs FastAPI and uvicorn", "serve")


def require_spark() -> None:
    """PySpark (the ``spark`` extra) and a Java runtime for it."""
    import shutil

    require_extra(("pyspark",), "this command needs PySpark (and Java 17)", "spark")
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        raise click.ClickException("Spark needs Java 17: install it or set JAVA_HOME")


@cli.command()
@click.argument("bundle", default=DEFAULT_BUNDLE, type=click.Path())
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes (each loads the model and batches on its own).",
)
@click.option(
    "--provider", default="auto", show_default=True, type=click.Choice(["auto", "cpu", "cuda"])
)
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
@click.pass_obj
def serve(
    opts: Options,
    bundle: str,
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
) -> None:
    """Serve BUNDLE over HTTP: POST /v1/tag, GET /v1/health, GET /v1/info, /docs."""
    _require_serve()
    import json
    import os

    import uvicorn

    from .bundle import load_manifest

    load_manifest(bundle)  # fail fast, with a clear message, before any worker starts
    conf = {
        "bundle": str(Path(bundle).resolve()),
        "provider": provider,
        "threads": opts.threads,
        "serve": {
            "max_batch_tokens": max_batch_tokens,
            "max_wait_ms": max_wait_ms,
            "queue_size": queue_size,
            "max_body_bytes": max_body_bytes,
            "max_sentences": max_sentences,
            "max_tokens": max_tokens,
        },
    }
    os.environ["POSTAG_SERVE"] = json.dumps(conf)
    uvicorn.run(
        "postag.serve:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning" if opts.quiet else "info",
        timeout_graceful_shutdown=30,
    )


@cli.command(name="export-triton")
@click.argument("bundle", type=click.Path())
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--model-name", default=None, help="Model name in the repository [bundle name].")
@click.option("--int8", is_flag=True, help="Ship the int8 model instead of fp32.")
@click.option("--instances", type=click.IntRange(min=1), default=1, show_default=True)
def export_triton_cmd(
    bundle: str, out_dir: str, model_name: str | None, int8: bool, instances: int
) -> None:
    """Write a Triton model repository entry for BUNDLE under OUT_DIR."""
    from .triton import export_triton

    target = export_triton(bundle, out_dir, model_name, int8, instances)
    click.echo(f"triton model: {target}/config.pbtxt, {target}/1/model.onnx")
    click.echo(f"start: tritonserver --model-repository {Path(out_dir).resolve()}")


@cli.command()
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
    out: str,
) -> None:
    """Start `postag serve` on a free loopback port, load it with N concurrent clients
    (bounded in requests and time), report requests/s, words/s, p50/p99 latency, errors."""
    _require_serve()
    from .loadtest import run_loadtest

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
        log=opts.echo,
    )
    click.echo(report)


@cli.command(name="spark-tag")
@click.argument("bundle", type=click.Path())
@click.argument("input_path", metavar="INPUT", type=click.Path())
@click.argument("output", type=click.Path())
@click.option(
    "--master",
    default="local[*]",
    show_default=True,
    help="Spark master URL; 'submit' = as spark-submit / spark-defaults set it.",
)
@click.option(
    "--text-column",
    default="text",
    show_default=True,
    help="Column with raw text (string) or tokens (array of strings).",
)
@click.option(
    "--input-format",
    type=click.Choice(["text", "jsonl", "parquet"]),
    default=None,
    help="text: one document per line; default: from INPUT's suffix (.jsonl, .parquet).",
)
@click.option(
    "--output-format",
    type=click.Choice(["parquet", "jsonl"]),
    default="parquet",
    show_default=True,
)
@click.option(
    "--batch-rows",
    type=click.IntRange(min=1),
    default=2048,
    show_default=True,
    help="Rows per Arrow batch handed to the tagger.",
)
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists (after success).")
@click.pass_obj
def spark_tag(
    opts: Options,
    bundle: str,
    input_path: str,
    output: str,
    master: str,
    text_column: str,
    input_format: str | None,
    output_format: str,
    batch_rows: int,
    overwrite: bool,
) -> None:
    """Tag INPUT on Apache Spark with BUNDLE and write OUTPUT (a Spark directory) with
    `tokens` and `upos` array columns added; prints rows/s and words/s. Output is
    committed only when the whole job succeeds. Needs 'postag[spark]' and Java 17."""
    require_spark()
    from .spark import SparkJobError, run_spark_job

    try:
        res = run_spark_job(
            bundle,
            input_path,
            output,
            master=None if master == "submit" else master,
            text_column=text_column,
            input_format=input_format,
            output_format=output_format,
            threads=opts.threads or None,
            overwrite=overwrite,
            batch_rows=batch_rows,
        )
    except SparkJobError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"{res.output}: {res.rows:,} rows, {res.words:,} words in {res.job_s:.1f} s → "
        f"{res.rows_per_s:,.0f} rows/s, {res.words_per_s:,.0f} words/s "
        f"(Spark start-up {res.startup_s:.1f} s; bundle loaded {res.loads}× for "
        f"{res.batches} Arrow batches)"
    )


if __name__ == "__main__":
    cli()
