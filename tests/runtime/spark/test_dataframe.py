"""postag.spark.dataframe: tag_dataframe in local mode (select with ``-m spark``;
skipped without PySpark or Java, saying which)."""

from __future__ import annotations

import shutil

import pytest

pytestmark = pytest.mark.spark

pyspark = pytest.importorskip(
    "pyspark", reason="needs the 'spark' extra (pip install 'postag[spark]')"
)
if not shutil.which("java"):
    pytest.skip("Spark needs Java 17 (no `java` on PATH)", allow_module_level=True)

from pyspark.sql.types import (  # noqa: E402
    ArrayType,
    IntegerType,
    StringType,
    StructField,
    StructType,
)

from postag import Tagger  # noqa: E402
from postag.spark import output_columns, tag_dataframe, task_threads  # noqa: E402
from tests.runtime.spark.conftest import TEXTS  # noqa: E402

#: The columns tag_dataframe adds with the joint toy tagger (and, for raw text, offsets).
HEADED = ["tokens", "upos", "xpos", "feats"]
OFFSETS = ["start", "end"]


def test_raw_text_tags_equal_the_runtime_and_null_rows_are_empty(spark, toy_bundle, tagger):
    schema = StructType([StructField("id", StringType()), StructField("text", StringType())])
    df = spark.createDataFrame([(str(i), t) for i, t in enumerate(TEXTS)], schema).repartition(2)
    tagged, stats = tag_dataframe(df, toy_bundle[0], "text")
    # the joint toy tagger: a column per head beside the tokens
    assert tagged.columns == ["id", "text", "tokens", *OFFSETS, "upos", "xpos", "feats"]
    for column in HEADED:
        assert tagged.schema[column].dataType == ArrayType(StringType(), False)
    for column in OFFSETS:
        assert tagged.schema[column].dataType == ArrayType(IntegerType(), False)
    rows = {r["id"]: r for r in tagged.collect()}
    assert len(rows) == len(TEXTS)
    for i, text in enumerate(TEXTS):
        r = rows[str(i)]
        if text is None or not text.strip():
            assert all(r[column] == [] for column in HEADED + OFFSETS)
            continue
        want = tagger.tag_text(text)
        assert r["tokens"] == [w for s in want for w in s.words]
        # each token's offsets in its row's text (code points), as the runtime gives them
        assert r["start"] == [o for s in want for o in s.start]
        assert r["end"] == [o for s in want for o in s.end]
        assert [text[a:b] for a, b in zip(r["start"], r["end"], strict=True)] == r["tokens"]
        for head in ("upos", "xpos", "feats"):
            assert r[head] == [t for s in want for t in s.labels(head)], head
            assert len(r[head]) == len(r["tokens"])
    assert stats.rows.value == len(TEXTS)
    assert stats.words.value == sum(len(r["tokens"]) for r in rows.values())


def test_pretokenized_column_and_the_bundle_loads_once_per_worker(spark, toy_bundle, tagger):
    sentences = [["the", "dog", "runs", "."], [], None, ["Bob", "", "likes", "it"]] * 10
    schema = StructType([StructField("toks", ArrayType(StringType()))])
    df = spark.createDataFrame([(s,) for s in sentences], schema).repartition(4)
    # threads=2: a session no other test of this module asked for, so every Python
    # worker must load it here (workers outlive jobs and keep what they loaded)
    tagged, stats = tag_dataframe(df, toy_bundle[0], "toks", threads=2)
    assert tagged.columns == ["toks", *HEADED]  # no text, no offsets
    rows = tagged.collect()
    assert len(rows) == 40
    for r in rows:
        toks = [t for t in (r["toks"] or []) if t]  # null and empty tokens are dropped
        assert r["tokens"] == toks
        want = tagger.tag(toks) if toks else None
        for head in ("upos", "xpos", "feats"):
            assert r[head] == (want.labels(head) if want else [])
    # 40 rows in Arrow batches of 2 rows → ≥ 20 batches, but one load per Python worker
    # process (each pid appears once), and few workers (local[2]: they are reused)
    pids = stats.loads.value
    assert stats.batches.value >= 20
    assert 1 <= len(pids) <= 4 and len(set(pids)) == len(pids), pids


def test_a_upos_only_bundle_adds_tokens_and_upos_only(spark, upos_bundle):
    upos = Tagger.load(upos_bundle[0], provider="cpu", threads=1)
    df = spark.createDataFrame([(t,) for t in TEXTS], "text string")
    tagged, _ = tag_dataframe(df, upos_bundle[0], "text")
    assert tagged.columns == ["text", "tokens", "start", "end", "upos"]
    assert output_columns(upos.heads) == ["tokens", "start", "end", "upos"]
    assert output_columns(upos.heads, pretokenized=True) == ["tokens", "upos"]
    for r in tagged.collect():
        want = upos.tag_text(r["text"] or "")
        assert r["upos"] == [t for s in want for t in s.tags]
    # the columns a joint tagger would add are the input's own here: kept, not refused
    df = spark.createDataFrame([("Hi.", ["x"])], "text string, xpos array<string>")
    kept = tag_dataframe(df, upos_bundle[0], "text")[0].columns
    assert kept == ["text", "xpos", "tokens", "start", "end", "upos"]


def test_bad_column_is_a_clear_error(spark, toy_bundle):
    df = spark.createDataFrame([(1,)], "n int")
    with pytest.raises(ValueError, match="no column 'text'"):
        tag_dataframe(df, toy_bundle[0], "text")
    with pytest.raises(ValueError, match="is int; expected string"):
        tag_dataframe(df, toy_bundle[0], "n")


@pytest.mark.parametrize("column", [*HEADED, *OFFSETS, "XPOS"])  # case-insensitive names
def test_an_input_with_a_column_to_be_added_is_refused(spark, toy_bundle, column):
    df = spark.createDataFrame([("Hi.", "x")], f"text string, {column} string")
    with pytest.raises(ValueError, match=f"already has a column '{column}'"):
        tag_dataframe(df, toy_bundle[0], "text")


def test_task_threads_never_oversubscribe(spark):
    import os

    assert task_threads(spark) == max(1, (os.cpu_count() or 1) // 2)  # local[2]
