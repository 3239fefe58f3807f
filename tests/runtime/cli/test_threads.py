"""``--threads`` after a command's name (``postag tag --threads 1``), as before it
(``postag --threads 1 tag``), on every command that runs a model."""

import json
import os
import shutil

import onnxruntime as ort
import pytest
from click.testing import CliRunner

from postag import session as session_mod
from postag.cli import MODEL_COMMANDS, cli


@pytest.mark.parametrize("name", MODEL_COMMANDS)
def test_every_model_command_takes_threads_after_its_name(name):
    res = CliRunner().invoke(cli, [name, "--help"])
    assert res.exit_code == 0, res.output
    assert "--threads INTEGER RANGE" in res.output and "Also accepted before" in res.output


def test_a_command_that_runs_no_model_refuses_it(bundle):
    res = CliRunner().invoke(cli, ["info", bundle, "--threads", "2"])
    assert res.exit_code == 2 and "No such option '--threads'" in res.output


@pytest.fixture
def sessions(monkeypatch):
    """Every inference session opened (the metadata readers' excluded)."""
    opened = []
    real = session_mod.open_session

    def spy(path, opts, provider):
        session = real(path, opts, provider)
        if opts.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL:
            opened.append(session)
        return session

    monkeypatch.setattr(session_mod, "open_session", spy)
    return opened


@pytest.mark.parametrize(
    ("args", "want"),
    [
        (["tag", "--threads", "3"], 3),
        (["--threads", "2", "tag"], 2),
        (["--threads", "2", "tag", "--threads", "3"], 3),  # after the name: it wins
    ],
    ids=["after", "before", "both"],
)
def test_tag_runs_its_session_with_the_threads_asked_for(bundle, sessions, args, want):
    res = CliRunner().invoke(cli, [*args, "--bundle", bundle], input="Alice saw Paris.\n")
    assert res.exit_code == 0, res.output
    assert sessions
    assert {s.get_session_options().intra_op_num_threads for s in sessions} == {want}


def test_serve_passes_threads_after_its_name_to_its_workers(bundle, monkeypatch):
    pytest.importorskip("fastapi", reason="needs the 'serve' extra")
    import uvicorn

    started = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: started.append(k))
    monkeypatch.setenv("POSTAG_SERVE", "")  # serve sets it for its workers; restored after
    res = CliRunner().invoke(cli, ["serve", bundle, "--threads", "3"])
    assert res.exit_code == 0, res.output
    assert started and json.loads(os.environ["POSTAG_SERVE"])["threads"] == 3


def test_spark_tag_passes_threads_after_its_name_to_the_job(bundle, monkeypatch, tmp_path):
    pytest.importorskip("pyspark", reason="needs the 'spark' extra")
    if not shutil.which("java"):
        pytest.skip("spark-tag needs Java 17 (no `java` on PATH)")
    import postag.spark

    seen = {}

    def job(*args, **kwargs):
        seen.update(kwargs)
        raise postag.spark.SparkJobError("stopped by the test")

    monkeypatch.setattr(postag.spark, "run_spark_job", job)
    res = CliRunner().invoke(
        cli, ["spark-tag", bundle, bundle, str(tmp_path / "o"), "--threads", "3"]
    )
    assert res.exit_code == 1 and "stopped by the test" in res.output
    assert seen["threads"] == 3


def test_spark_bench_refuses_threads_in_words(bundle):
    """spark-bench chooses every run's threads itself: a --threads would be ignored."""
    res = CliRunner().invoke(cli, ["--threads", "2", "spark-bench", bundle])
    assert res.exit_code == 2 and "--threads does not apply" in res.output
