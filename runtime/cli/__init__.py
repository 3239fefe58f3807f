"""The ``postag`` command: one click group, its shared options and error handling.

    postag tag notes.txt            # runtime commands: torch-free
    postag train && postag export   # torch commands (the ``export`` extra)

Every command is registered by name in :data:`COMMANDS` and imported only when it runs
(or when ``--help`` lists it), so ``postag tag`` never pays for FastAPI, PySpark or the
export code. The torch commands live in :mod:`postag.export.cli`; each imports torch
inside its body and, where torch is absent, says which extra to install. One module per
command family: :mod:`.tag` (tag, info), :mod:`.serve` (serve, loadtest), :mod:`.spark`
(spark-tag, spark-bench), :mod:`.triton` (export-triton).
"""

from __future__ import annotations

import errno
import importlib
import os
import shutil
from dataclasses import dataclass
from typing import Any

import click

from .. import __version__
from ..errors import PostagError

#: command name → "module:attribute" of its click command, in ``--help`` order.
COMMANDS = {
    "tag": "postag.cli.tag:tag",
    "info": "postag.cli.tag:info",
    "serve": "postag.cli.serve:serve",
    "loadtest": "postag.cli.serve:loadtest",
    "export-triton": "postag.cli.triton:export_triton_cmd",
    "spark-tag": "postag.cli.spark:spark_tag",
    "spark-bench": "postag.cli.spark:spark_bench",
    "models": "postag.cli.package:models",
    "package": "postag.cli.package:package",
    "eval-segmenter": "postag.cli.segment:eval_segmenter",
    # torch commands (the ``export`` extra)
    "train": "postag.export.cli:train",
    "eval": "postag.export.cli:evaluate",
    "export": "postag.export.cli:export_cmd",
    "verify": "postag.export.cli:verify",
    "parity": "postag.export.cli:parity",
    "bench": "postag.export.cli:bench",
    "slim": "postag.export.slim:slim_cmd",
    "train-segmenter": "postag.export.segment.cli:train_segmenter_cmd",
    "export-segmenter": "postag.export.segment.cli:export_segmenter_cmd",
}

#: Each command's page in docs/ (``make docs`` builds the site): its ``--help`` ends with it.
DOCS = {
    "tag": "tagging.md",
    "info": "tagging.md",
    "serve": "serving.md",
    "loadtest": "serving.md",
    "export-triton": "serving.md",
    "spark-tag": "spark.md",
    "spark-bench": "spark.md",
    "models": "models.md",
    "package": "models.md",
    "train": "training.md",
    "eval": "training.md",
    "export": "export.md",
    "verify": "export.md",
    "parity": "export.md",
    "bench": "performance.md",
    "slim": "export.md",
    "eval-segmenter": "raw-text.md",
    "train-segmenter": "raw-text.md",
    "export-segmenter": "raw-text.md",
}


def docs_epilog(page: str) -> str:
    """The last line of a ``--help``: where the command's documentation is."""
    return f"Docs: docs/{page} in the postag repository (`make docs`: the site)."


#: The commands that run a model: each also takes ``--threads`` after its name.
MODEL_COMMANDS = (
    "tag",
    "serve",
    "loadtest",
    "spark-tag",
    "train",
    "eval",
    "export",
    "verify",
    "parity",
    "bench",
    "slim",
    "eval-segmenter",
    "train-segmenter",
    "export-segmenter",
)

#: Where `postag export` (`make export`) writes the full bundle; the commands that need a
#: full bundle (bench, spark-bench, loadtest) default to it. Tagging defaults to the
#: model shipped with postag (:mod:`postag.registry`).
DEFAULT_BUNDLE = "artifacts/postag-en-ewt"
THREADS_HELP = "Intra-op threads for torch and onnxruntime (0 = all cores)."


@dataclass
class Options:
    threads: int
    quiet: bool

    def echo(self, message: str = "", err: bool = False) -> None:
        if not self.quiet:
            click.echo(message, err=err)


class Interrupted(click.ClickException):
    """Ctrl-C (SIGINT): a one-line message saying what was done, exit code 130."""

    exit_code = 130


def os_error_message(exc: OSError) -> str:
    """``"<file>: <reason>"`` (``"artifacts/b/manifest.json: Permission denied"``)."""
    reason = exc.strerror or str(exc)
    return f"{exc.filename}: {reason}" if exc.filename else reason


class PostagGroup(click.Group):
    """Lazily imported commands. postag's typed errors, operating-system errors and
    running out of memory become a one-line message and exit code 1; Ctrl-C exits with
    130; a reader that closes the pipe (``postag tag f | head -1``) ends the command
    quietly (click: exit code 1)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        command = getattr(importlib.import_module(module), attr)
        if cmd_name in MODEL_COMMANDS and not any(p.name == "threads" for p in command.params):
            command.params.append(threads_option())
        command.epilog = docs_epilog(DOCS[cmd_name])
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PostagError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            raise Interrupted("interrupted") from None
        except MemoryError:  # a memory limit (ulimit -v, a container): one line, no traceback
            raise click.ClickException(
                "out of memory: this process may not have what the command needs"
            ) from None
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise  # click quiets a broken pipe
            raise click.ClickException(os_error_message(exc)) from None


def _set_threads(ctx: click.Context, param: click.Parameter, value: int | None) -> None:
    if value is not None and isinstance(ctx.obj, Options):
        ctx.obj.threads = value


def threads_option() -> click.Option:
    """``--threads N`` after a command's name (``postag tag --threads 1``): the same
    setting as ``postag --threads 1 tag``, which it overrides."""
    return click.Option(
        ["--threads"],
        type=click.IntRange(min=0),
        default=None,
        expose_value=False,
        callback=_set_threads,
        help=THREADS_HELP + " Also accepted before the command.",
    )


def report_dir_option(default: str, files: str):  # noqa: ANN201 - a click decorator
    """``--out DIR`` for commands that write a report."""
    return click.option(
        "--out",
        type=click.Path(file_okay=False),
        default=default,
        show_default=True,
        help=f"Where {files} go.",
    )


def model_option(dest: str = "bundle"):  # noqa: ANN201 - a click decorator
    """``--model``/``--bundle NAME|DIR``: a bundle directory or an installed model's name,
    resolved by :func:`postag.registry.resolve_bundle` (none: ``$POSTAG_BUNDLE``, else the
    model shipped with postag)."""
    return click.option(
        "--model",
        "--bundle",
        dest,
        default=None,
        metavar="NAME|DIR",
        help="A bundle directory or the name of an installed model (`postag models`). "
        "Default: $POSTAG_BUNDLE, else the model shipped with postag.",
    )


bundle_option = model_option()


data_option = click.option(
    "--data",
    type=click.Path(),
    default=None,
    help="Corpus: a directory with *-ud-{train,dev,test}.conllu or one .conllu file. "
    "Default: $POSTAG_DATA, then ../shared/data/ud-english-ewt, then a verified download.",
)


provider_option = click.option(
    "--provider",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "cpu", "cuda"]),
    help="onnxruntime execution provider; an unavailable 'cuda' is an error.",
)


def require_extra(modules: tuple[str, ...], what: str, extra: str) -> None:
    """A ClickException naming the install command unless every module imports:
    ``"<what>, which is not installed: pip install 'postag[<extra>]'"``."""
    try:
        for name in modules:
            importlib.import_module(name)
    except ImportError:
        raise click.ClickException(
            f"{what}, which is not installed: pip install 'postag[{extra}]'"
        ) from None


def require_serve() -> None:
    require_extra(
        ("fastapi", "uvicorn", "prometheus_client"),
        "serving needs FastAPI, uvicorn and prometheus-client",
        "serve",
    )


def require_spark() -> None:
    """PySpark (the ``spark`` extra) and a Java runtime for it."""
    require_extra(("pyspark",), "this command needs PySpark (and Java 17)", "spark")
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        raise click.ClickException("Spark needs Java 17: install it or set JAVA_HOME")


@click.group(
    cls=PostagGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=docs_epilog("index.md"),
)
@click.option(
    "--threads",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help=THREADS_HELP + " Commands that run a model also take it after their name.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only results and errors.")
@click.version_option(__version__, prog_name="postag")
@click.pass_context
def cli(ctx: click.Context, threads: int, quiet: bool) -> None:
    """postag — an LSTM part-of-speech tagger from PyTorch training to a verified,
    torch-free ONNX runtime."""
    ctx.obj = Options(threads=threads, quiet=quiet)


def main() -> None:
    """The ``postag`` console script (and ``python -m postag``)."""
    cli()
