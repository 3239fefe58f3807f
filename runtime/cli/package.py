"""`postag package` (a bundle as a pip-installable model package) and `postag models`
(the models a name reaches: installed packages and the one shipped with postag).

    postag package artifacts/postag-en-ewt --out dist/ --version 1.0.0
    pip install dist/postag_en_ewt-1.0.0-py3-none-any.whl
    postag models                       # name, version, accuracy per head, where
    postag tag --model en-ewt notes.txt
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from . import Options


@click.command()
@click.argument("bundle", type=click.Path())
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default="dist",
    show_default=True,
    help="Where the wheel goes.",
)
@click.option(
    "--name",
    default=None,
    help="The model's name, what `--model` and Tagger.load take [default: the bundle's, "
    "without 'postag-': postag-en-ewt → en-ewt].",
)
@click.option(
    "--version", "version_", default=None, help="Package version [default: the bundle's]."
)
@click.option(
    "--license",
    "license_",
    default=None,
    help="METADATA License [default: the training corpus's where postag knows it: "
    "CC-BY-SA-4.0 for UD English EWT].",
)
@click.pass_obj
def package(
    opts: Options,
    bundle: str,
    out: str,
    name: str | None,
    version_: str | None,
    license_: str | None,
) -> None:
    """Build a pip-installable wheel of BUNDLE (checked first) that registers it as an
    installed model: `pip install` it, then `postag tag --model NAME`."""
    from ..model_package import build_model_wheel

    path = build_model_wheel(bundle, out, name, version_, license_)
    opts.echo(f"wheel: {path}  ({path.stat().st_size / 1e6:.2f} MB)")
    opts.echo(f"install it with: pip install {path}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per model.")
@click.pass_obj
def models(opts: Options, as_json: bool) -> None:
    """List the models a name reaches (`--model NAME`, Tagger.load(NAME)): installed model
    packages, then the one shipped with postag; with version, test accuracy per head of
    the graph postag runs, and where the bundle is. A name resolves to the first listed."""
    import json

    from ..registry import installed_models

    rows = [_row(m) for m in installed_models()]
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    click.echo(f"{'name':<14}{'version':<10}{'UPOS':>8}{'XPOS':>8}{'UFeats':>8}  source / path")
    for row in rows:
        acc = row["accuracy"]
        cells = "".join(f"{_pct(acc.get(h)):>8}" for h in ("upos", "xpos", "feats"))
        click.echo(f"{row['name']:<14}{row['version'] or '?':<10}{cells}  {row['source']}")
        click.echo(f"{'':<48}  {row['path'] or row['error']}")


def _row(model: Any) -> dict[str, Any]:
    """What `postag models` says about one model (its manifest parsed, not hashed)."""
    row = {
        "name": model.name,
        "version": model.version,
        "source": model.source,
        "path": str(model.path) if model.path else None,
        "bundle": None,
        "graph": None,
        "accuracy": {},
        "error": model.error,
    }
    if model.path is None:
        return row
    try:
        row.update(_describe(model.path))
    except Exception as exc:  # a broken bundle is listed with its error, never fatal
        row["error"] = str(exc)
    return row


def _describe(path: Path) -> dict[str, Any]:
    """A bundle's name and version, the graph postag runs and its test accuracy per head."""
    from ..bundle import metric_key, read_manifest
    from ..layout import GRAPH_BACKENDS

    man = read_manifest(path)
    graph = man.runtime_graph()
    scores = (man.data.get("evaluation") or {}).get(GRAPH_BACKENDS[graph]) or man.data.get(
        "metrics", {}
    )
    return {
        "bundle": f"{man.name} {man.version}",
        "graph": graph,
        "accuracy": {h: scores.get(metric_key("test", h)) for h in man.labels},
    }


def _pct(value: object) -> str:
    from .tag import pct

    return pct(value)
