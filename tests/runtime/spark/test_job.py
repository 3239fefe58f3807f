"""postag.spark.job: `postag spark-tag` end to end in local mode (select with ``-m spark``)."""

from __future__ import annotations

import json
import shutil

import pytest

pytestmark = pytest.mark.spark

pyspark = pytest.importorskip(
    "pyspark", reason="needs the 'spark' extra (pip install 'postag[spark]')"
)
if not shutil.which("java"):
    pytest.skip("Spark needs Java 17 (no `java` on PATH)", allow_module_level=True)

from click.testing import CliRunner  # noqa: E402

from postag.cli import cli  # noqa: E402
from tests.runtime.spark.conftest import TEXTS  # noqa: E402


def test_cli_jsonl_to_parquet_and_malformed_input_writes_nothing(
    spark, toy_bundle, tagger, tmp_path
):
    src = tmp_path / "docs.jsonl"
    src.write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS[:3] + TEXTS[4:]))
    out = tmp_path / "tagged"
    runner = CliRunner()
    res = runner.invoke(
        cli, ["--threads", "1", "spark-tag", str(toy_bundle[0]), str(src), str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "rows/s" in res.output and "words/s" in res.output
    back = spark.read.parquet(str(out)).collect()
    docs = TEXTS[:3] + TEXTS[4:]
    want = [sum(len(x.words) for x in tagger.tag_text(t or "")) for t in docs]
    assert sorted(len(r["tokens"]) for r in back) == sorted(want)
    # every head of the joint tagger is written, equal to the runtime's labels
    assert back[0].__fields__ == ["text", "tokens", "start", "end", "upos", "xpos", "feats"]
    for r in back:
        tagged = tagger.tag_text(r["text"] or "")
        for head in ("upos", "xpos", "feats"):
            assert r[head] == [t for s in tagged for t in s.labels(head)], head
    # the same output again: refused without --overwrite, the old output untouched
    before = sorted(p.name for p in out.iterdir())
    res = runner.invoke(cli, ["spark-tag", str(toy_bundle[0]), str(src), str(out)])
    assert res.exit_code == 1 and "exists" in res.output
    assert sorted(p.name for p in out.iterdir()) == before
    # a malformed JSON line: a clear error, no output, no temporary directory left
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{"text": broken\n')
    res = runner.invoke(cli, ["spark-tag", str(toy_bundle[0]), str(bad), str(tmp_path / "o2")])
    assert res.exit_code == 1, res.output
    assert "nothing was written" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "o2").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".o2")]
