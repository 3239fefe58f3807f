"""`postag train-segmenter` and `postag export-segmenter`: thin click wrappers over
:func:`postag.export.segment.trainer.train_segmenter`,
:func:`postag.export.segment.onnx_export.export_segmenter` and its parity check.

    postag train-segmenter --data ../shared/data/ud-french-sequoia \\
        --out artifacts/segmenter/fr-sequoia.pt
    postag export-segmenter artifacts/segmenter/fr-sequoia.pt artifacts/segmenter/fr-sequoia
    postag eval-segmenter artifacts/segmenter/fr-sequoia dev     # (torch-free)
    postag export --checkpoint CKPT --segmenter artifacts/segmenter/fr-sequoia.pt …
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import click

from postag.cli import Options, data_option
from postag.export.cli import use_torch

#: Options of ``train-segmenter``: the SegmenterConfig fields a user sets.
_TRAIN_FIELDS = ("epochs", "patience", "seed", "hidden", "layers", "conv_width", "char_dim",
                 "dropout", "lr", "batch_size", "size", "context")  # fmt: skip


def _config_options(f):  # noqa: ANN001, ANN202
    from postag.export.segment.config import SegmenterConfig

    types = {f.name: f.type for f in fields(SegmenterConfig)}
    defaults = SegmenterConfig()
    for name in reversed(_TRAIN_FIELDS):
        kind = {"int": int, "float": float}[str(types[name])]
        f = click.option(
            f"--{name.replace('_', '-')}",
            type=kind,
            default=None,
            help=f"SegmenterConfig.{name} [default: {getattr(defaults, name)}].",
        )(f)
    return f


@click.command(name="train-segmenter")
@data_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Checkpoint to write [default: artifacts/segmenter/<treebank>.pt, e.g. en-ewt.pt].",
)
@_config_options
@click.pass_obj
def train_segmenter_cmd(opts: Options, data: str | None, out: str | None, **hp: Any) -> None:
    """Train the segmenter (tokens, sentences, multiword tokens: one label per character)
    on a UD treebank's train split, early-stopped on its dev split's CoNLL 2018 Tokens +
    Sentences F1; the multiword-token lexicon is learned from the train split. The
    budget is in epochs; the same seed gives the same weights on the same machine type."""
    use_torch(opts)
    from postag.corpus import locate_corpus
    from postag.export.segment.config import SegmenterConfig
    from postag.export.segment.trainer import train_segmenter, treebank_name

    corpus = locate_corpus(data)
    train, dev = corpus.path("train"), corpus.path("dev")
    changes = {k: v for k, v in hp.items() if v is not None}
    if opts.threads:
        changes["threads"] = opts.threads
    cfg = SegmenterConfig(**changes)
    name = treebank_name(train).replace("_", "-")
    path = Path(out) if out else Path("artifacts") / "segmenter" / f"{name}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    metrics = train_segmenter((train, dev), cfg, path, log=opts.echo)
    click.echo(json.dumps(metrics, indent=1))
    click.echo(f"checkpoint: {path}")


@click.command(name="export-segmenter")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option(
    "--parity",
    "parity_split",
    default="dev",
    show_default=True,
    help="Check the graph against PyTorch on every document of this split's raw text "
    "(dev, test or a CoNLL-U file; 'none' to skip).",
)
@data_option
@click.pass_obj
def export_segmenter_cmd(
    opts: Options, checkpoint: str, out_dir: str, parity_split: str, data: str | None
) -> None:
    """Export a segmenter checkpoint to OUT_DIR (segmenter.onnx, dynamic length axis, and
    segmenter.json), then prove it: PyTorch and ONNX give identical labels, tokens and
    sentences on every document (one ✓/✗ line each). A mismatch exits non-zero and
    removes nothing that was there before (OUT_DIR is replaced only when written whole).
    `postag export --segmenter` puts it into a tagger bundle instead."""
    use_torch(opts)
    from postag.corpus import SPLITS, locate_corpus
    from postag.export.segment.data import document_texts
    from postag.export.segment.onnx_export import check_segmenter_parity, export_segmenter

    paths = export_segmenter(checkpoint, out_dir)
    click.echo(f"wrote {paths.onnx} and {paths.json}")
    if parity_split == "none":
        return
    gold = locate_corpus(data).path(parity_split) if parity_split in SPLITS else Path(parity_split)
    texts = document_texts(gold.read_text(encoding="utf-8"))
    check_segmenter_parity(checkpoint, paths.onnx, texts, log=opts.echo, threads=opts.threads or 1)
