"""`postag tag` (tag files or standard input) and `postag info` (describe a bundle).

    postag tag notes.txt --format conllu --probs > notes.conllu
    postag tag --columns upos,xpos,feats notes.txt       # word/UPOS/XPOS/FEATS
    postag tag --input-format conllu --top-k 3 --format json untagged.conllu
    postag tag --model en-ewt notes.txt                 # an installed model, by name
    postag info                                         # the default model
    postag info artifacts/postag-en-ewt

Errors are one line on standard error with a non-zero exit: bad input or options (1 or
2), output that cannot be written (1: disk full, standard output closed), Ctrl-C (130,
saying how many complete sentences were written). A reader that closes the pipe
(``postag tag f | head -1``) ends the command quietly with exit code 1.

Endless or binary input (``postag tag /dev/zero``, a line that never ends) is read in
bounded pieces and refused in one line: a NUL byte, or a line of more than
:data:`~postag.cli.formats.MAX_LINE_CHARS` characters, names the file and line; memory
stays flat and Ctrl-C works all along (:mod:`postag.cli.formats`).
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, TextIO

import click
from click.core import ParameterSource

from . import Interrupted, Options, bundle_option, provider_option

if TYPE_CHECKING:
    from ..bundle import Manifest
    from ..splitter import Splitter
    from .formats import Unit


@click.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@bundle_option
@click.option(
    "--input-format",
    "input_format",
    default="text",
    show_default=True,
    type=click.Choice(["text", "pretokenized", "conllu"]),
    help="text: raw text; pretokenized: one sentence per line, tokens separated by "
    "spaces; conllu: CoNLL-U (UPOS may be '_').",
)
@click.option("--pretokenized", is_flag=True, help="Same as --input-format pretokenized.")
@click.option(
    "--format",
    "fmt",
    default="text",
    show_default=True,
    type=click.Choice(["text", "json", "conllu"]),
    help="text: word/UPOS (more with --columns); json: one object per sentence; conllu: "
    "CoNLL-U with UPOS, XPOS, FEATS (columns 4-6) filled.",
)
@click.option(
    "--columns",
    metavar="HEADS",
    default=None,
    callback=lambda _ctx, _param, value: _columns(value),
    help="Heads to output, comma-separated, from upos,xpos,feats (text: word/UPOS/XPOS/FEATS "
    "in the order given; json: their keys; conllu: the CoNLL-U columns filled, CoNLL-U "
    "input keeping the others). Default: upos for text, every head the model has for "
    "json and conllu. A head the model lacks is refused.",
)
@provider_option
@click.option(
    "--int8",
    is_flag=True,
    help="Use the model's int8-quantised graph (refused where it has none: the shipped "
    "model, a slim bundle of the compact graph).",
)
@click.option(
    "--top-k",
    type=click.IntRange(min=0),
    default=0,
    help="Also output the k most probable labels per word and column, at most all of "
    "them (json: top_k, xpos_top_k, feats_top_k; conllu MISC: UPOSTopK, XPOSTopK, "
    "FeatsTopK, labels percent-encoded; not with --format text).",
)
@click.option(
    "--probs",
    is_flag=True,
    help="Also output each chosen label's probability, per column (text: "
    "word/NOUN:0.98/NN:0.97; json: probs, xpos_probs, feats_probs; conllu MISC: "
    "UPOSProb, XPOSProb, FeatsProb).",
)
@click.option(
    "--chunk",
    type=click.IntRange(min=1),
    default=2000,
    show_default=True,
    help="Sentences (pretokenized/conllu) per chunk; every chunk (text paragraphs "
    "too) is capped at 100x this many characters. Bounds memory on large inputs.",
)
@click.option(
    "--encoding-errors",
    type=click.Choice(["strict", "replace"]),
    default="strict",
    show_default=True,
    help="Invalid UTF-8: stop with the line number, or replace bad bytes with U+FFFD.",
)
@click.pass_context
def tag(
    ctx: click.Context,
    files: tuple[str, ...],
    bundle: str,
    input_format: str,
    pretokenized: bool,
    fmt: str,
    columns: list[str] | None,
    provider: str,
    int8: bool,
    top_k: int,
    probs: bool,
    chunk: int,
    encoding_errors: str,
) -> None:
    """Tag FILES (standard input when none or '-') and write to standard output.

    Each chunk of sentences is written whole and flushed: on Ctrl-C (exit 130) the
    output holds only complete sentences, and the message says how many."""
    from ..tagger import Tagger
    from .formats import (
        OutputError,
        Writer,
        default_columns,
        discard_output,
        refused_columns,
        refused_options,
    )

    opts: Options = ctx.obj
    input_format = _input_format(ctx, input_format, pretokenized)
    if reason := refused_options(fmt, top_k, probs):
        raise click.UsageError(reason)
    out = _stdout()
    tagger = Tagger.load(
        bundle, provider=provider, threads=opts.threads, quantized=True if int8 else None
    )
    columns = columns or default_columns(fmt, tagger.heads)
    if reason := refused_columns(columns, tagger.heads, str(tagger.manifest.root)):
        raise click.UsageError(reason)
    writer = Writer(out, fmt, top_k=top_k, probs=probs, columns=columns)
    sources = list(files) or ["-"]
    try:
        units = _units(sources, input_format, chunk, encoding_errors, opts.quiet, tagger.splitter)
        for unit in units:
            writer.write(unit, tagger.tag_batch(unit.sentences, top_k=top_k, probs=probs))
    except KeyboardInterrupt:
        raise Interrupted(_interrupted(writer.count)) from None
    except OutputError as exc:
        discard_output(out)
        if exc.errno == errno.EPIPE:  # the reader has gone (`| head`): end quietly
            raise click.exceptions.Exit(1) from None
        raise click.ClickException(str(exc)) from None
    if writer.count == 0:
        opts.echo("postag: no sentences in the input", err=True)


def _columns(value: str | None) -> list[str] | None:
    """--columns as a list of heads (None: the format's default), or a usage error."""
    from .formats import parse_columns

    try:
        return None if value is None else parse_columns(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--columns'") from None


def _input_format(ctx: click.Context, input_format: str, pretokenized: bool) -> str:
    """--input-format, with --pretokenized as its shorthand (a contradiction is refused)."""
    if not pretokenized:
        return input_format
    explicit = ctx.get_parameter_source("input_format") != ParameterSource.DEFAULT
    if explicit and input_format != "pretokenized":
        raise click.UsageError(f"--pretokenized contradicts --input-format {input_format}")
    return "pretokenized"


def _stdout() -> TextIO:
    """Standard output as UTF-8 text, or a one-line error when it is closed."""
    out = sys.stdout
    if out is None:  # started with fd 1 closed (`postag tag f >&-`)
        raise click.ClickException("cannot write the output: standard output is closed")
    if (out.encoding or "").lower().replace("-", "") != "utf8" and hasattr(out, "reconfigure"):
        out.reconfigure(encoding="utf-8")  # every format is UTF-8, whatever the locale
    return out


def _interrupted(written: int) -> str:
    """What is true after Ctrl-C, given the number of sentences already written."""
    if written == 0:
        return "interrupted; nothing was written"
    return (
        f"interrupted after writing {written} sentence{'s' if written != 1 else ''}, "
        "each complete; the rest of the input was not tagged"
    )


def _units(
    sources: list[str],
    input_format: str,
    chunk: int,
    encoding_errors: str,
    quiet: bool,
    splitter: Splitter,
) -> Iterator[Unit]:
    """The units of every source in turn (raw text split by the bundle's ``splitter``);
    a progress bar on a terminal when every source is a named file."""
    from .formats import decoded_lines, read_conllu_stream, read_pretokenized, read_text

    show = sys.stderr is not None and sys.stderr.isatty() and not quiet
    show = show and all(f != "-" for f in sources)
    total = sum(Path(f).stat().st_size for f in sources) if show else 0
    with click.progressbar(
        length=total or 1, label="tagging", file=sys.stderr, hidden=not show
    ) as bar:
        for name in sources:
            with _open(name) as stream:
                label = "<stdin>" if name == "-" else name
                lines = decoded_lines(stream, label, encoding_errors, progress=bar.update)
                if input_format == "text":
                    yield from read_text(lines, 100 * chunk, split=splitter.iter_sentences)
                elif input_format == "pretokenized":
                    yield from read_pretokenized(lines, chunk, 100 * chunk)
                else:
                    yield from read_conllu_stream(lines, label, chunk, 100 * chunk)


def _open(name: str) -> IO[bytes]:
    """A source opened for reading bytes ('-': standard input, left open afterwards)."""
    from .formats import InputError

    if name == "-" and sys.stdin is None:
        raise InputError("cannot read standard input: it is closed")
    try:
        return click.open_file(name, "rb")
    except OSError as exc:
        raise InputError(f"cannot read {name}: {exc.strerror or exc}") from None


@click.command()
@click.argument("model", required=False, metavar="[NAME|DIR]")
@click.option("--json", "as_json", is_flag=True, help="Print the whole manifest as JSON.")
@click.pass_obj
def info(opts: Options, model: str | None, as_json: bool) -> None:
    """Summarise a model (checked: format, files, sha256) and the execution providers:
    a bundle directory or an installed model's name; default: $POSTAG_BUNDLE, else the
    model shipped with postag."""
    import json

    import onnxruntime as ort

    from ..bundle import load_manifest
    from ..contract import HEAD_NAMES
    from ..registry import resolve
    from ..session import resolve_provider
    from ..splitter import summary as splitter_summary

    _stdout()
    found = resolve(model)
    man = load_manifest(found.path)
    if as_json:
        click.echo(json.dumps(man.data, indent=2, ensure_ascii=False))
        return
    d = man.data
    met, ev = d.get("metrics", {}), d.get("evaluation", {})
    click.echo(
        f"{d['name']} {d['version']}  (format {d['format_version']}, created "
        f"{d.get('created', '?')})"
    )
    click.echo(f"bundle: {man.root}  ({found.origin})")
    click.echo("producers: " + ", ".join(f"{k} {v}" for k, v in d.get("producers", {}).items()))
    c = d["model_config"]
    click.echo(
        f"model: {met.get('parameters', 0):,} parameters; {c['layers']}-layer "
        f"{'Bi' if c['bidirectional'] else ''}LSTM {c['hidden']}, char BiLSTM "
        f"{c['char_hidden'] or 'off'}"
    )
    click.echo("heads: " + ", ".join(f"{HEAD_NAMES[h]} ({len(v)})" for h, v in man.labels.items()))
    crf = man.contract.crf
    click.echo(
        "decoding: "
        + (f"CRF, Viterbi in the graph: {', '.join(HEAD_NAMES[h] for h in crf)}; " if crf else "")
        + "per-word argmax: "
        + (", ".join(HEAD_NAMES[h] for h in man.labels if h not in crf) or "none")
    )
    click.echo(f"UPOS tags: {' '.join(man.tags)}")
    click.echo(f"corpus: {d.get('corpus', {}).get('name', '?')}")
    click.echo(f"raw text: {splitter_summary(man)}")
    for line in _accuracy_table(list(man.labels), met, ev):
        click.echo(line)
    for line in _verification(man):
        click.echo(line)
    for name, meta in d["files"].items():
        click.echo(f"  {name:<24} {meta['bytes'] / 1e6:8.2f} MB  sha256 {meta['sha256'][:12]}…")
    click.echo(
        "onnxruntime "
        + ort.__version__
        + ", providers: "
        + ", ".join(ort.get_available_providers())
    )
    click.echo(f"provider for --provider auto: {resolve_provider('auto')}")


def _verification(man: Manifest) -> list[str]:
    """`info`'s verification lines: the gate's verdict, or for a slim bundle what it was
    derived from and what was measured (agreement with float32, batch invariance)."""
    from ..contract import HEAD_NAMES

    d = man.data
    if man.derived_from is None:
        val = d.get("validation", {})
        ok = "passed" if val.get("ok") else "NOT passed"
        return [f"verification: {ok} ({len(val.get('checks', []))} checks)"]
    der = d["derived_from"]
    src = der.get("source_validation") or {}
    mes = der.get("measured") or {}
    heads = [h for h in man.labels if h in mes.get("agreement", {})]
    agree = ", ".join(f"{HEAD_NAMES[h]} {100 * mes['agreement'][h]:.3f}%" for h in heads)
    changed = ", ".join(
        f"{HEAD_NAMES[h]} {mes['batch_invariance'][h]['tokens_changed']}" for h in heads
    )
    return [
        f"slim bundle: ships {der['model']} ({der.get('storage', '?')}), derived from "
        f"{der['source']} (verification {'passed' if src.get('ok') else 'NOT passed'}, "
        f"{src.get('checks', 0)} checks)",
        f"  labels equal to {mes.get('reference', '?')} on {mes.get('split', '?')}: {agree}",
        f"  tokens whose label changes alone vs batched: {changed} (of {mes.get('tokens', 0):,})",
    ]


def _accuracy_table(heads: list[str], metrics: dict, evaluation: dict) -> list[str]:
    """`info`'s accuracy lines: per head (and AllTags where measured) dev / test, for
    PyTorch (``metrics``) and every ONNX graph (``evaluation``); "—" where not measured."""
    from ..bundle import metric_key
    from ..contract import HEAD_NAMES

    all_tags = any(metric_key(split, "all") in metrics for split in ("dev", "test"))
    heads = [*heads, *(["all"] if all_tags else [])]
    names = [{**HEAD_NAMES, "all": "AllTags"}[h] for h in heads]
    rows = {"pytorch": metrics, **evaluation}
    lines = [f"{'accuracy % (dev / test)':<26}" + "".join(f"{n:<16}" for n in names)]
    for label, values in rows.items():
        cells = [
            f"{pct(values.get(metric_key('dev', h)))} / {pct(values.get(metric_key('test', h)))}"
            for h in heads
        ]
        lines.append(f"  {label:<24}" + "".join(f"{cell:<16}" for cell in cells))
    return [line.rstrip() for line in lines]


def pct(value: object) -> str:
    """An accuracy as a percentage with two decimals; "—" when not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    return f"{100 * value:.2f}"
