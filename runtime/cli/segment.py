"""`postag eval-segmenter`: how well a splitter finds tokens, sentences and multiword
tokens in raw text, scored as the CoNLL 2018 shared task scores it. Torch-free: it scores
what the runtime runs (a bundle's splitter, an exported segmenter, the rule tokenizer).

    postag eval-segmenter artifacts/postag-en-ewt dev        # the bundle's splitter
    postag eval-segmenter artifacts/segmenter/en-ewt test     # an exported segmenter (ONNX)
    postag eval-segmenter rules dev                            # the rule tokenizer alone
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from . import Options, data_option


def _splitter(what: str, threads: int):  # noqa: ANN202 - postag.splitter.Splitter
    """The splitter SPLITTER names (see the command's help)."""
    from ..bundle import load_manifest
    from ..layout import MANIFEST, SEGMENTER_CONFIG
    from ..splitter import RULES, Splitter, load_splitter

    if what == "rules":
        return RULES
    path = Path(what)
    if path.is_dir() and (path / MANIFEST).is_file():
        return load_splitter(load_manifest(path), "cpu", threads)
    if path.is_dir() and (path / SEGMENTER_CONFIG).is_file():
        from ..segmenter import Segmenter

        seg = Segmenter.load(path, threads=threads)
        return Splitter("model", seg.spec.lexicon, seg)
    raise click.BadParameter(
        f"{what}: not 'rules', a bundle or an exported segmenter directory (a checkpoint: "
        "export it first, `postag export-segmenter CKPT DIR`)",
        param_hint="'SPLITTER'",
    )


@click.command(name="eval-segmenter")
@click.argument("splitter")
@click.argument("split", default="dev")
@data_option
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Also write JSON.")
@click.pass_obj
def eval_segmenter(
    opts: Options, splitter: str, split: str, data: str | None, json_out: str | None
) -> None:
    """Score SPLITTER on SPLIT's raw text (dev, test, train or a CoNLL-U file): CoNLL
    2018 Tokens, Sentences and Words precision, recall and F1, characters aligned as the
    official script aligns them. SPLITTER: a bundle (the splitter its manifest names), an
    exported segmenter directory (segmenter.onnx + segmenter.json) or `rules` (the rule
    tokenizer, no multiword tokens)."""
    from ..corpus import SPLITS, locate_corpus
    from ..splitter import score_splitter

    split_fn = _splitter(splitter, opts.threads)
    gold = locate_corpus(data).path(split) if split in SPLITS else Path(split)
    result = score_splitter(split_fn, gold)
    click.echo(f"splitter: {split_fn.describe()}")
    click.echo(f"gold: {gold}")
    rows = {"Tokens": result.tokens, "Sentences": result.sentences, "Words": result.words}
    click.echo(f"{'metric':<10} {'P':>7} {'R':>7} {'F1':>7}")
    for name, c in rows.items():
        click.echo(f"{name:<10} {100 * c.precision:7.2f} {100 * c.recall:7.2f} {100 * c.f1:7.2f}")
    if json_out:
        doc = {
            "splitter": split_fn.describe(),
            "gold": str(gold),
            **{k: v.to_dict() for k, v in rows.items()},
        }
        Path(json_out).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
