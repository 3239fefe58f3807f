"""`postag spark-tag`: one whole Spark job, committed only when it succeeds.

    run_spark_job("artifacts/postag-en-ewt", "docs.jsonl", "tagged.parquet", "local[2]")

Reads text / JSON lines / Parquet, tags it with :func:`~postag.spark.dataframe.tag_dataframe`,
writes Parquet or JSON lines into a temporary directory and renames it into place.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..bundle import load_manifest
from ..errors import PostagError
from ..files import atomic_dir
from .dataframe import tag_dataframe

if TYPE_CHECKING:  # pyspark is an optional extra: imported inside the functions
    from pyspark.sql import DataFrame, SparkSession


INPUT_FORMATS = ("text", "jsonl", "parquet")
OUTPUT_FORMATS = ("parquet", "jsonl")


class SparkJobError(PostagError):
    """A spark-tag job that could not run or failed; nothing was written to the output."""


@dataclass
class SparkJobResult:
    output: Path
    rows: int
    words: int
    loads: int
    batches: int
    startup_s: float  # JVM + SparkSession start
    job_s: float  # read, tag, write, commit

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.job_s

    @property
    def words_per_s(self) -> float:
        return self.words / self.job_s


def guess_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    return {".parquet": "parquet", ".jsonl": "jsonl", ".json": "jsonl"}.get(suffix, "text")


def spark_session(master: str | None, batch_rows: int = 2048) -> SparkSession:
    """A quiet session for one job: Arrow batches of ``batch_rows`` rows, no UI. Python
    workers run this interpreter (``sys.executable``, the environment postag is installed
    in) unless ``PYSPARK_PYTHON`` says otherwise (on a cluster: an environment shipped
    to the executors, see docs/spark.md)."""
    import sys

    from pyspark.sql import SparkSession

    # the JVM (started below, inheriting this environment) launches the Python workers
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder  # master None: as spark-submit / spark-defaults set it
    if master:
        builder = builder.master(master)
    spark = (
        builder.appName("postag spark-tag")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(batch_rows))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def read_input(spark: SparkSession, path: str | Path, fmt: str, text_column: str) -> DataFrame:
    """text: one document per line (column ``text_column``); jsonl: one JSON object per
    line, malformed lines fail the job; parquet."""
    reader = spark.read
    if fmt == "text":
        return reader.text(str(path)).withColumnRenamed("value", text_column)
    if fmt == "jsonl":
        return reader.option("mode", "FAILFAST").json(str(path))
    if fmt == "parquet":
        return reader.parquet(str(path))
    raise SparkJobError(f"unknown input format {fmt!r} ({', '.join(INPUT_FORMATS)})")


def _first_line(exc: BaseException) -> str:
    """The useful line of a (often very long) Spark/JVM error."""
    text = str(exc).strip()
    for pattern in (
        r"Malformed records[^\n]*",
        r"\[[A-Z_]+\][^\n]*",
        r"[A-Za-z.]*Exception: [^\n]*",
    ):
        m = re.search(pattern, text)
        if m:
            return m.group(0)[:400]
    return (text.splitlines() or [type(exc).__name__])[0][:400]


def check_job(
    input_path: str | Path, output: str | Path, output_format: str, overwrite: bool
) -> tuple[Path, Path]:
    """(input, output) as local paths, or :class:`SparkJobError` before any JVM starts."""
    if "://" in str(output) and not str(output).startswith("file://"):
        raise SparkJobError(
            f"{output}: spark-tag commits its output with a local rename, so OUTPUT must be "
            "a local or shared (NFS) path; for HDFS/S3 call postag.spark.tag_dataframe in "
            "your own job and write with your committer"
        )
    src, out = Path(input_path), Path(str(output).removeprefix("file://"))
    if "://" not in str(input_path) and not src.exists():  # URIs: Spark reports them
        raise SparkJobError(f"{src}: no such file or directory")
    if out.exists() and not overwrite:
        raise SparkJobError(f"{out} exists (pass --overwrite to replace it)")
    if output_format not in OUTPUT_FORMATS:
        raise SparkJobError(f"unknown output format {output_format!r}")
    return src, out


def run_spark_job(
    bundle: str | Path,
    input_path: str | Path,
    output: str | Path,
    master: str | None = "local[*]",
    text_column: str = "text",
    input_format: str | None = None,
    output_format: str = "parquet",
    threads: int | None = None,
    overwrite: bool = False,
    batch_rows: int = 2048,
) -> SparkJobResult:
    """Read, tag, write to a temporary directory beside ``output`` and rename it into
    place only when the whole job succeeded (:func:`~postag.files.atomic_dir`): a failed
    job leaves no output (and an existing one untouched)."""
    src, out = check_job(input_path, output, output_format, overwrite)
    load_manifest(bundle)  # a bad bundle fails before the JVM starts
    t0 = time.perf_counter()
    spark = spark_session(master, batch_rows)
    spark.sparkContext.setLogLevel("OFF")  # failures are reported below, in one line
    startup = time.perf_counter() - t0
    t0 = time.perf_counter()
    try:
        with atomic_dir(out) as tmp:
            df = read_input(spark, input_path, input_format or guess_format(src), text_column)
            tagged, stats = tag_dataframe(df, bundle, text_column, threads)
            writer = tagged.write.mode("overwrite")  # into atomic_dir's empty directory
            (writer.parquet if output_format == "parquet" else writer.json)(str(tmp))
    except (ValueError, SparkJobError) as exc:
        raise SparkJobError(str(exc)) from None
    except Exception as exc:  # Spark/JVM errors (AnalysisException, Py4JJavaError, ...)
        raise SparkJobError(
            f"the Spark job failed, nothing was written: {_first_line(exc)}"
        ) from None
    return SparkJobResult(
        out,
        int(stats.rows.value),
        int(stats.words.value),
        len(stats.loads.value),
        int(stats.batches.value),
        startup,
        time.perf_counter() - t0,
    )


def main(argv: list[str] | None = None) -> None:
    """``python -m postag.spark.job '{"bundle": …, "input": …, "output": …, "master": …}'``:
    one job in a fresh process (its own JVM), as `postag spark-bench` measures it; prints
    ``RESULT {json}``."""
    import json
    import sys

    a = json.loads((argv if argv is not None else sys.argv[1:])[0])
    r = run_spark_job(a["bundle"], a["input"], a["output"], master=a["master"], overwrite=True)
    fields = ("rows", "words", "loads", "batches", "startup_s", "job_s")
    print("RESULT " + json.dumps({k: getattr(r, k) for k in fields}))


if __name__ == "__main__":
    main()
