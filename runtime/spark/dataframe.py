"""Bulk tagging on Apache Spark with the same bundle (extra ``postag[spark]``, Java 17).

    from pyspark.sql import SparkSession
    from postag.spark import tag_dataframe

    spark = SparkSession.builder.master("local[2]").getOrCreate()
    df = spark.read.json("docs.jsonl")                    # a string column "text"
    tagged, stats = tag_dataframe(df, "artifacts/postag-en-ewt", text_column="text")
    tagged.write.parquet("tagged.parquet")                # + tokens, upos, xpos, feats
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

The same rules as everywhere else (:mod:`postag.tokenizer`, :class:`postag.Tagger`):
format characters (soft hyphen, zero-width space, bidi marks, a leading BOM) are never
words and inside a word are part of it, offsets counting them; control characters are
spaces; the model looks words up without their format characters; a pre-tokenized
token loses the whitespace, control and format characters at its edges and is dropped
when nothing else is left; a sentence of more than ``postag.tagger.WINDOW_TOKENS`` words
(a long token array) is tagged in windows, so one row never needs more memory than its
size calls for. Spark reads each row whole itself.

The columns added are ``tokens``, for a raw-text column ``start`` and ``end``
(``array<int>``: each token's character offsets in its row's text, in code points,
``text[start[i]:end[i]] == tokens[i]``), and one ``array<string>`` per head of the model,
each aligned with ``tokens``: ``upos``, and for a joint tagger ``xpos`` and ``feats`` (UD
FEATS strings, ``_`` = none). A UPOS-only bundle (older bundles, the ``seed`` preset) has
``upos`` only. :func:`output_columns` says which, from the bundle and the input.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..batching import flatten, regroup
from ..tokenizer import word_span

if TYPE_CHECKING:  # pyspark is an optional extra: imported inside the functions
    import pandas as pd
    from pyspark import Accumulator
    from pyspark.sql import DataFrame, SparkSession

TOKENS = "tokens"
#: Raw text only: each token's offsets in its row's text.
OFFSETS = ("start", "end")

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
    from ..tagger import Tagger

    key = (path, threads)
    if key not in _TAGGERS:
        _TAGGERS[key] = Tagger.load(path, provider="cpu", threads=threads)
        loads.add([os.getpid()])
    return _TAGGERS[key]


def _clean_tokens(value: Any) -> list[str]:
    """A pre-tokenized cell → its words: each string token without the whitespace,
    control and format characters at its edges; a null cell, a non-string and a token
    of nothing else (blank, a lone zero-width space or BOM) dropped, as the CLI's
    pre-tokenized reader does (:func:`postag.tokenizer.word_span`)."""
    words: list[str] = []
    for token in value if value is not None else ():
        if isinstance(token, str) and (span := word_span(token)) is not None:
            words.append(token[span[0] : span[1]])
    return words


def output_columns(heads: list[str], pretokenized: bool = False) -> list[str]:
    """The columns :func:`tag_dataframe` adds for a model with ``heads`` (in output
    order): ``tokens``, ``start`` and ``end`` for raw text (not ``pretokenized``), then
    one per head, named as the head (``upos``, ``xpos``, ``feats``)."""
    return [TOKENS, *(() if pretokenized else OFFSETS), *heads]


def refuse_taken(df: DataFrame, added: list[str]) -> None:
    """``ValueError`` when a column to be ``added`` already exists."""
    taken = {c.lower(): c for c in df.columns}  # Spark's names are case-insensitive
    for name in added:
        if name in taken:
            raise ValueError(
                f"the input already has a column {taken[name]!r} (the tagger adds "
                f"{', '.join(added)}); rename or drop it first"
            )


def is_pretokenized(df: DataFrame, text_column: str) -> bool:
    """True for an ``array<string>`` column, False for a string column; ``ValueError`` for
    a missing column or another type."""
    from pyspark.sql.types import ArrayType, StringType

    if text_column not in df.columns:
        raise ValueError(f"no column {text_column!r} (columns: {', '.join(df.columns)})")
    dtype = df.schema[text_column].dataType
    if isinstance(dtype, StringType):
        return False
    if isinstance(dtype, ArrayType) and isinstance(dtype.elementType, StringType):
        return True
    raise ValueError(
        f"column {text_column!r} is {dtype.simpleString()}; expected string (raw text) "
        "or array<string> (tokens)"
    )


def tag_cells(tagger: Any, cells: list[Any], pretokenized: bool) -> dict[str, list[list]]:
    """One Arrow batch's cells → ``{column: one list per row}``: ``tokens``, for raw text
    ``start`` and ``end``, and every head's labels. All sentences of all rows are tagged
    together (bucketed by length), then regrouped per row."""
    if pretokenized:
        docs = [[toks] if (toks := _clean_tokens(c)) else [] for c in cells]
        tagged = regroup(tagger.tag_batch(flatten(docs)), docs)
    else:
        tagged = tagger.tag_many([c if isinstance(c, str) else None for c in cells])
    columns: dict[str, list[list]] = {TOKENS: [[w for r in doc for w in r.words] for doc in tagged]}
    if not pretokenized:
        columns["start"] = [[o for r in doc for o in r.start] for doc in tagged]
        columns["end"] = [[o for r in doc for o in r.end] for doc in tagged]
    for head in tagger.heads:
        columns[head] = [[t for r in doc for t in r.labels(head)] for doc in tagged]
    return columns


def tag_dataframe(
    df: DataFrame,
    bundle: str | Path,
    text_column: str = "text",
    threads: int | None = None,
    ship: bool = True,
) -> tuple[DataFrame, SparkTagStats]:
    """``df`` plus ``tokens``, ``start``/``end`` (``array<int>``, raw text only) and one
    column per head of the model (``upos``; ``xpos`` and ``feats`` for a joint tagger),
    ``array<string>``, and the job's counters.
    ``text_column``: a string column (raw text) or ``array<string>`` (pre-tokenized).
    Raises ``ValueError`` for a missing column, another type or an input that already
    has a column to be added, and :class:`~postag.errors.BundleError` when the bundle
    does not load here."""
    from pyspark import SparkFiles
    from pyspark.sql.types import ArrayType, IntegerType, StringType, StructField, StructType

    from ..bundle import load_manifest

    manifest = load_manifest(bundle)  # fail on the driver first, clearly
    pretokenized = is_pretokenized(df, text_column)
    added = output_columns(list(manifest.labels), pretokenized)
    refuse_taken(df, added)
    root = manifest.root.resolve()
    sc = df.sparkSession.sparkContext
    if ship:
        sc.addFile(str(root), recursive=True)
    threads = threads or task_threads(df.sparkSession)
    stats = SparkTagStats(
        sc.accumulator([], _ListParam()), sc.accumulator(0), sc.accumulator(0), sc.accumulator(0)
    )
    types = {c: ArrayType(IntegerType(), False) for c in OFFSETS}
    array = ArrayType(StringType(), False)
    schema = StructType(
        [*df.schema.fields, *(StructField(c, types.get(c, array), False) for c in added)]
    )
    name = root.name

    def tag_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        tagger = _tagger(SparkFiles.get(name) if ship else str(root), threads, stats.loads)
        for pdf in batches:
            columns = tag_cells(tagger, pdf[text_column].tolist(), pretokenized)
            out = pdf.assign(**columns)
            stats.batches.add(1)
            stats.rows.add(len(pdf))
            stats.words.add(sum(len(t) for t in columns[TOKENS]))
            yield out

    return df.mapInPandas(tag_batches, schema), stats
