"""postag.spark.submit: the cluster recipe of docs/spark.md, run with PySpark's own
``spark-submit --master 'local[2]'`` (select with ``-m spark``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from postag.spark.submit import without_own_folder

pytestmark = pytest.mark.spark

pyspark = pytest.importorskip(
    "pyspark", reason="needs the 'spark' extra (pip install 'postag[spark]')"
)
if not shutil.which("java"):
    pytest.skip("Spark needs Java 17 (no `java` on PATH)", allow_module_level=True)

from tests.runtime.spark.conftest import TEXTS  # noqa: E402


def spark_submit() -> Path:
    """PySpark's launcher: beside this interpreter (a venv's bin/), else in pyspark/bin."""
    beside = Path(sys.executable).parent / "spark-submit"
    return beside if beside.exists() else Path(pyspark.__file__).parent / "bin" / "spark-submit"


def test_spark_submit_runs_spark_tag_through_the_shipped_entry(toy_bundle, tagger, tmp_path):
    """The recipe: the file path printed by ``python -c 'import postag.spark.submit as m;
    print(m.__file__)'`` handed to spark-submit, then a whole `postag spark-tag --master
    submit` command line (``--threads`` after its name). Spark's master comes from
    spark-submit; the output equals the runtime's labels."""
    # one document per line: the texts holding line breaks go through jsonl elsewhere
    docs = [t for t in TEXTS if t is not None and len(t.splitlines()) == 1]
    src = tmp_path / "docs.txt"
    src.write_text("\n".join(docs) + "\n")
    out = tmp_path / "tagged"
    entry = subprocess.run(
        [sys.executable, "-c", "import postag.spark.submit as m; print(m.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    quick_jvm = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"  # a tiny job: ~3 s less start-up
    cmd = [str(spark_submit()), "--master", "local[2]", "--driver-java-options", quick_jvm]
    cmd += [entry, "spark-tag", "--threads", "1"]
    cmd += ["--master", "submit", str(toy_bundle[0]), str(src), str(out)]
    cmd += ["--input-format", "text", "--output-format", "jsonl"]
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}  # as docs/spark.md sets it
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr[-4000:]
    assert f"{out}: {len(docs)} rows" in res.stdout and "words/s" in res.stdout
    rows = [
        json.loads(x)
        for f in sorted(out.glob("part-*.json"))
        for x in f.read_text().split("\n")
        if x
    ]
    assert sorted(r.get("text", "") for r in rows) == sorted(docs)
    for r in rows:
        tagged = tagger.tag_text(r.get("text", ""))
        assert r["tokens"] == [w for s in tagged for w in s.words]
        for head in ("upos", "xpos", "feats"):
            assert r[head] == [t for s in tagged for t in s.labels(head)], head


def test_the_entry_drops_its_own_folder_from_the_path(tmp_path):
    """Run as a script, the entry's folder (job.py, bench.py, dataframe.py) would come
    first on sys.path and shadow top-level modules of those names."""
    folder = tmp_path / "postag" / "spark"
    folder.mkdir(parents=True)
    path = [str(folder), str(tmp_path), str(folder / ".." / "spark")]
    assert without_own_folder(path, folder.resolve()) == [str(tmp_path)]
