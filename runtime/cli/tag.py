"""`postag tag` (tag files or standard input) and `postag info` (describe a bundle)."""

from __future__ import annotations

from pathlib import Path

import click

from . import DEFAULT_BUNDLE, Options, bundle_option


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

    from ..tagger import Tagger
    from .formats import Writer, decoded_lines, read_conllu_stream, read_pretokenized, read_text

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
