"""`postag tag` (tag files or standard input) and `postag info` (describe a bundle).

    postag tag notes.txt --format conllu --probs > notes.conllu
    postag tag --input-format conllu --top-k 3 --format json untagged.conllu
    postag info artifacts/postag-en-ewt

Errors are one line on standard error with a non-zero exit: bad input or options (1 or
2), output that cannot be written (1: disk full, standard output closed), Ctrl-C (130,
saying how many complete sentences were written). A reader that closes the pipe
(``postag tag f | head -1``) ends the command quietly with exit code 1.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, TextIO

import click
from click.core import ParameterSource

from . import DEFAULT_BUNDLE, Interrupted, Options, bundle_option

if TYPE_CHECKING:
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
    help="Also output the k most probable tags per word, at most all of them "
    "(json: top_k; conllu: UPOSTopK in MISC; not with --format text).",
)
@click.option(
    "--probs",
    is_flag=True,
    help="Also output each chosen tag's probability (text: word/TAG:0.98; json: probs; "
    "conllu: UPOSProb in MISC).",
)
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
@click.pass_context
def tag(
    ctx: click.Context,
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
    """Tag FILES (standard input when none or '-') and write to standard output.

    Each chunk of sentences is written whole and flushed: on Ctrl-C (exit 130) the
    output holds only complete sentences, and the message says how many."""
    from ..tagger import Tagger
    from .formats import OutputError, Writer, discard_output, refused_options

    opts: Options = ctx.obj
    input_format = _input_format(ctx, input_format, pretokenized)
    if reason := refused_options(fmt, top_k, probs):
        raise click.UsageError(reason)
    out = _stdout()
    writer = Writer(out, fmt, top_k=top_k, probs=probs)
    sources = list(files) or ["-"]
    try:
        tagger = Tagger.load(bundle, provider=provider, threads=opts.threads, quantized=int8)
        for unit in _units(sources, input_format, chunk, encoding_errors, opts.quiet):
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
    sources: list[str], input_format: str, chunk: int, encoding_errors: str, quiet: bool
) -> Iterator[Unit]:
    """The units of every source in turn; a progress bar on a terminal when every
    source is a named file."""
    from .formats import decoded_lines, read_conllu_stream, read_pretokenized, read_text

    show = sys.stderr is not None and sys.stderr.isatty() and not quiet
    show = show and all(f != "-" for f in sources)
    total = sum(Path(f).stat().st_size for f in sources) if show else 0
    with click.progressbar(
        length=total or 1, label="tagging", file=sys.stderr, hidden=not show
    ) as bar:
        for name in sources:
            with _open(name) as stream:

                def counted(s: IO[bytes] = stream) -> Iterator[bytes]:  # progress by bytes
                    for raw in s:
                        bar.update(len(raw))
                        yield raw

                label = "<stdin>" if name == "-" else name
                lines = decoded_lines(counted(), label, encoding_errors)
                if input_format == "text":
                    yield from read_text(lines, 100 * chunk)
                elif input_format == "pretokenized":
                    yield from read_pretokenized(lines, chunk)
                else:
                    yield from read_conllu_stream(lines, label, chunk)


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
@click.argument("bundle", default=DEFAULT_BUNDLE, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the whole manifest as JSON.")
@click.pass_obj
def info(opts: Options, bundle: str, as_json: bool) -> None:
    """Summarise BUNDLE (checked: format, files, sha256) and the execution providers."""
    import json

    import onnxruntime as ort

    from ..bundle import load_manifest
    from ..session import resolve_provider

    _stdout()
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
