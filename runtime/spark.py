"""Bulk tagging on Apache Spark with the same bundle (extra ``postag[spark]``, Java 17).

    from pyspark.sql import SparkSession
    from postag.spark import tag_dataframe

    spark = SparkSession.builder.master("local[2]").getOrCreate()
    df = spark.read.json("docs.jsonl")                    # a string column "text"
    tagged, stats = tag_dataframe(df, "artifacts/postag-en-ewt", text_column="text")
    tagged.write.parquet("tagged.parquet")                # + tokens, upos: array<string>
    print(stats.rows.value, stats.words.value)            # filled in by the executors

Rows move through ``mapInPandas`` in Arrow batches. The bundle is shipped to the
executors with ``SparkContext.addFile`` (or read from a path every executor can see,
``ship=False``) and loaded once per Python worker process — Spark reuses its workers
across tasks — with its hashes checked as in the runtime. Each session gets
``threads`` intra-op threads (default: the cores one task may use), so that concurrent
tasks × threads never oversubscribe the cores. A raw-text column is tokenized and split
into sentences (the runtime's tokenizer); the tokens of all sentences of a row come out
in one array. A pre-tokenized column (``array<string>``) is tagged as one sentence.
Null or empty texts give empty arrays, never a failed job.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .tokenizer import sentences as split_text

if TYPE_CHECKING:  # pyspark is an optional extra: imported inside the functions
    import pandas as pd
    from pyspark import Accumulator
    from pyspark.sql import DataFrame, SparkSession

TOKENS, TAGS = "tokens", "upos"

#: Taggers of this Python worker process, by (bundle path, threads): loaded once, reused
#: by every Arrow batch and partition the worker runs.
_TAGGERS: dict[tuple[str, int], Any] = {}


@dataclass
class SparkTagStats:
    """Counters the executors add to while the job runs (read them after an action)."""

    loads: Accumulator  # the pid of the worker process, once per bundle load
    batches: Accumulator  # Arrow batches tagged
    rows: Accumulator
    words: Accumulator


class _ListParam:
    """Accumulator of lists (pyspark's AccumulatorParam protocol), concatenated."""

    def zero(self, value: list) -> list:
        return []

    def addInPlace(self, a: list, b: list) -> list:  # noqa: N802 - pyspark's name
        a.extend(b)
        return a


def task_threads(spark: SparkSession) -> int:
    """Intra-op threads per task so that concurrent tasks × threads ≤ the cores: in
    ``local[N]`` mode the machine's cores / N, on a cluster ``spark.task.cpus``."""
    conf = spark.sparkContext.getConf()
    master = spark.sparkContext.master
    m = re.fullmatch(r"local\[(\d+|\*)(?:,\d+)?\]|local", master)
    if m:
        cores = os.cpu_count() or 1
        slots = 1 if master == "local" else cores if m.group(1) == "*" else int(m.group(1))
        return max(1, cores // max(1, slots))
    return max(1, int(conf.get("spark.task.cpus", "1")))


def _tagger(path: str, threads: int, loads: Accumulator) -> Any:
    from .tagger import Tagger

    key = (path, threads)
    if key not in _TAGGERS:
        _TAGGERS[key] = Tagger.load(path, provider="cpu", threads=threads)
        loads.add([os.getpid()])
    return _TAGGERS[key]


def _clean_tokens(value: Any) -> list[str]:
    """A pre-tokenized cell → its non-empty string tokens (null cell or tokens dropped)."""
    if value is None:
        return []
    return [t.strip() for t in value if isinstance(t, str) and t.strip()]


def tag_dataframe(
    df: DataFrame,
    bundle: str | Path,
    text_column: str = "text",
    threads: int | None = None,
    ship: bool = True,
) -> tuple[DataFrame, SparkTagStats]:
    """``df`` plus ``tokens`` and ``upos`` (``array<string>``) columns, and the job's
    counters. ``text_column``: a string column (raw text) or ``array<string>``
    (pre-tokenized). Raises ``ValueError`` for a missing column or another type, and
    :class:`~postag.errors.BundleError` when the bundle does not load here."""
    from pyspark import SparkFiles
    from pyspark.sql.types import ArrayType, StringType, StructField, StructType

    from .bundle import load_manifest

    spark = df.sparkSession
    if text_column not in df.columns:
        raise ValueError(f"no column {text_column!r} (columns: {', '.join(df.columns)})")
    for name in (TOKENS, TAGS):
        if name in df.columns:
            raise ValueError(f"the input already has a column {name!r}")
    dtype = df.schema[text_column].dataType
    if isinstance(dtype, StringType):
        pretokenized = False
    elif isinstance(dtype, ArrayType) and isinstance(dtype.elementType, StringType):
        pretokenized = True
    else:
        raise ValueError(
            f"column {text_column!r} is {dtype.simpleString()}; expected string (raw text) "
            "or array<string> (tokens)"
        )
    root = load_manifest(bundle).root.resolve()  # fail on the driver first, clearly
    sc = spark.sparkContext
    if ship:
        sc.addFile(str(root), recursive=True)
    threads = threads or task_threads(spark)
    acc = sc.accumulator
    stats = SparkTagStats(acc([], _ListParam()), acc(0), acc(0), acc(0))
    schema = StructType(
        [
            *df.schema.fields,
            StructField(TOKENS, ArrayType(StringType(), False), False),
            StructField(TAGS, ArrayType(StringType(), False), False),
        ]
    )
    name = root.name

    def tag_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        path = SparkFiles.get(name) if ship else str(root)
        tagger = _tagger(path, threads, stats.loads)
        for pdf in batches:
            cells = pdf[text_column].tolist()
            if pretokenized:
                docs = [[_clean_tokens(c)] for c in cells]
            else:
                docs = [split_text(c) if isinstance(c, str) and c.strip() else [] for c in cells]
            flat = [s for doc in docs for s in doc if s]
            tagged = iter(tagger.tag_batch(flat))
            tokens, tags = [], []
            for doc in docs:
                row_tokens: list[str] = []
                row_tags: list[str] = []
                for s in doc:
                    if s:
                        r = next(tagged)
                        row_tokens += r.words
                        row_tags += r.tags
                tokens.append(row_tokens)
                tags.append(row_tags)
            out = pdf.copy()
            out[TOKENS] = tokens
            out[TAGS] = tags
            stats.batches.add(1)
            stats.rows.add(len(pdf))
            stats.words.add(sum(len(t) for t in tokens))
            yield out

    return df.mapInPandas(tag_batches, schema), stats


INPUT_FORMATS = ("text", "jsonl", "parquet")
OUTPUT_FORMATS = ("parquet", "jsonl")


class SparkJobError(Exception):
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
    to the executors, see the README)."""
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
    place only when the whole job succeeded: a failed job leaves no output (and an
    existing one untouched)."""
    import shutil
    import time
    import uuid

    from .bundle import load_manifest

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
    fmt = input_format or guess_format(src)
    load_manifest(bundle)  # a bad bundle fails before the JVM starts
    t0 = time.perf_counter()
    spark = spark_session(master, batch_rows)
    spark.sparkContext.setLogLevel("OFF")  # failures are reported below, in one line
    startup = time.perf_counter() - t0
    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    t0 = time.perf_counter()
    try:
        df = read_input(spark, input_path, fmt, text_column)
        tagged, stats = tag_dataframe(df, bundle, text_column, threads)
        writer = tagged.write.mode("error")
        (writer.parquet if output_format == "parquet" else writer.json)(str(tmp))
    except (ValueError, SparkJobError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SparkJobError(str(exc)) from None
    except Exception as exc:  # Spark/JVM errors (AnalysisException, Py4JJavaError, ...)
        shutil.rmtree(tmp, ignore_errors=True)
        raise SparkJobError(
            f"the Spark job failed, nothing was written: {_first_line(exc)}"
        ) from None
    if out.exists():  # --overwrite: swap, then drop the old output
        old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
        out.rename(old)
        tmp.rename(out)
        if old.is_dir():
            shutil.rmtree(old)
        else:
            old.unlink()
    else:
        tmp.rename(out)
    job = time.perf_counter() - t0
    return SparkJobResult(
        out,
        int(stats.rows.value),
        int(stats.words.value),
        len(stats.loads.value),
        int(stats.batches.value),
        startup,
        job,
    )
