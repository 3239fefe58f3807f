"""The ``postag`` command group: shared options and error handling (torch-free).

Commands that need torch are registered by :mod:`postag.export.cli`; each imports torch
inside its body, so the runtime-only install still starts and says how to get them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import PostagError

INSTALL_EXPORT = "pip install 'postag[export]'"


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


def require_torch() -> None:
    """Raise a ClickException with the install command when torch cannot be imported."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise click.ClickException(
            f"this command needs PyTorch, which is not installed: {INSTALL_EXPORT}"
        ) from None


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
