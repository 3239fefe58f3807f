"""The ``postag`` command group: shared options and error handling (torch-free).

Commands that need torch are registered by :mod:`postag.export.cli`; each imports torch
inside its body, so the runtime-only install still starts and says how to get them.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
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
    """Raise a ClickException with the install command when torch is absent."""
    if importlib.util.find_spec("torch") is None:
        raise click.ClickException(
            f"this command needs PyTorch, which is not installed: {INSTALL_EXPORT}"
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
