"""postag.cli.spark: `postag spark-tag` checks paths before starting Spark."""

import pytest
from click.testing import CliRunner

from postag.cli import cli


def test_spark_tag_refuses_bad_paths_before_starting_spark(tmp_path):
    """Checked before any JVM starts: a remote OUTPUT (committed by local rename) and a
    missing INPUT are clear errors, exit 1, no traceback."""
    pytest.importorskip("pyspark", reason="needs the 'spark' extra")
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "Hi."}\n')
    runner = CliRunner()
    res = runner.invoke(cli, ["spark-tag", str(tmp_path), str(src), "hdfs:///out/x"])
    assert res.exit_code == 1 and "local rename" in res.output
    res = runner.invoke(
        cli, ["spark-tag", str(tmp_path), str(tmp_path / "nope"), str(tmp_path / "o")]
    )
    assert res.exit_code == 1 and "no such file" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "o").exists()
