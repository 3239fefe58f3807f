"""`postag spark-tag` (tag a file on Apache Spark) and `postag spark-bench`."""

from __future__ import annotations

from pathlib import Path

import click

from . import DEFAULT_BUNDLE, Options, data_option, report_dir_option, require_spark


@click.command(name="spark-tag")
@click.argument("bundle", type=click.Path())
@click.argument("input_path", metavar="INPUT", type=click.Path())
@click.argument("output", type=click.Path())
@click.option(
    "--master",
    default="local[*]",
    show_default=True,
    help="Spark master URL; 'submit' = as spark-submit / spark-defaults set it.",
)
@click.option(
    "--text-column",
    default="text",
    show_default=True,
    help="Column with raw text (string) or tokens (array of strings).",
)
@click.option(
    "--input-format",
    type=click.Choice(["text", "jsonl", "parquet"]),
    default=None,
    help="text: one document per line; default: from INPUT's suffix (.jsonl, .parquet).",
)
@click.option(
    "--output-format",
    type=click.Choice(["parquet", "jsonl"]),
    default="parquet",
    show_default=True,
)
@click.option(
    "--batch-rows",
    type=click.IntRange(min=1),
    default=2048,
    show_default=True,
    help="Rows per Arrow batch handed to the tagger.",
)
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists (after success).")
@click.pass_obj
def spark_tag(
    opts: Options,
    bundle: str,
    input_path: str,
    output: str,
    master: str,
    text_column: str,
    input_format: str | None,
    output_format: str,
    batch_rows: int,
    overwrite: bool,
) -> None:
    """Tag INPUT on Apache Spark with BUNDLE and write OUTPUT (a Spark directory) with
    array columns added: `tokens`, `start`/`end` (character offsets, for raw text),
    `upos`, and `xpos`, `feats` when the model has those heads; prints rows/s and words/s.
    Output is committed only when the whole job succeeds. Needs 'postag[spark]' and
    Java 17."""
    require_spark()
    from ..spark import run_spark_job

    res = run_spark_job(
        bundle,
        input_path,
        output,
        master=None if master == "submit" else master,
        text_column=text_column,
        input_format=input_format,
        output_format=output_format,
        threads=opts.threads or None,
        overwrite=overwrite,
        batch_rows=batch_rows,
    )
    click.echo(
        f"{res.output}: {res.rows:,} rows, {res.words:,} words in {res.job_s:.1f} s → "
        f"{res.rows_per_s:,.0f} rows/s, {res.words_per_s:,.0f} words/s "
        f"(Spark start-up {res.startup_s:.1f} s; bundle loaded {res.loads}× for "
        f"{res.batches} Arrow batches)"
    )


@click.command(name="spark-bench")
@click.argument("bundle", default=DEFAULT_BUNDLE, type=click.Path())
@data_option
@click.option(
    "--sentences",
    type=click.IntRange(min=1),
    default=200_000,
    show_default=True,
    help="Rows of the synthetic corpus (EWT sentences sampled with replacement).",
)
@click.option(
    "--masters", default="local[1],local[2]", show_default=True, help="Spark masters to compare."
)
@report_dir_option("artifacts/spark", "spark.json and spark.md")
@click.pass_obj
def spark_bench(
    opts: Options, bundle: str, data: str | None, sentences: int, masters: str, out: str
) -> None:
    """Spark scaling on this machine: local[1] vs local[2] vs the single-process runtime
    on the same synthetic corpus. Needs 'postag[spark]' and Java 17."""
    if opts.threads:
        raise click.UsageError(
            "spark-bench sets every run's threads itself (all cores for the runtime, "
            "cores / N under local[N]) to compare them; --threads does not apply to it"
        )
    require_spark()
    from ..bundle import load_manifest
    from ..corpus import locate_corpus
    from ..spark.bench import markdown, run_spark_bench

    man = load_manifest(bundle)
    corpus = locate_corpus(data)
    files = [corpus.path(s) for s in ("train", "dev", "test") if s in corpus.files]
    report = run_spark_bench(
        man.root, files, sentences, Path(out), masters.split(","), log=opts.echo
    )
    click.echo(markdown(report))
