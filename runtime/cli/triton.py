"""`postag export-triton`: a Triton model repository entry for a bundle."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(name="export-triton")
@click.argument("bundle", type=click.Path())
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--model-name", default=None, help="Model name in the repository [bundle name].")
@click.option("--int8", is_flag=True, help="Ship the int8 model instead of fp32.")
@click.option("--instances", type=click.IntRange(min=1), default=1, show_default=True)
def export_triton_cmd(
    bundle: str, out_dir: str, model_name: str | None, int8: bool, instances: int
) -> None:
    """Write a Triton model repository entry for BUNDLE under OUT_DIR."""
    from ..triton import export_triton

    target = export_triton(bundle, out_dir, model_name, int8, instances)
    click.echo(f"triton model: {target}/config.pbtxt, {target}/1/model.onnx")
    click.echo(f"start: tritonserver --model-repository {Path(out_dir).resolve()}")
