"""postag.serve.loadtest: the bounded loopback load test."""

from __future__ import annotations

import json

import pytest

fastapi = pytest.importorskip("fastapi", reason="needs the serve extra (pip install '.[serve]')")
from click.testing import CliRunner  # noqa: E402

from postag.cli import cli  # noqa: E402


def test_bounded_loadtest_writes_a_report(toy_bundle, tmp_path):
    res = CliRunner().invoke(
        cli,
        [
            "--threads",
            "1",
            "loadtest",
            str(toy_bundle[0]),
            "--clients",
            "1,4",
            "--requests",
            "20",
            "--time-cap",
            "20",
            "--out",
            str(tmp_path / "lt"),
        ],
    )
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "lt" / "loadtest.json").read_text())
    assert [lv["clients"] for lv in report["levels"]] == [1, 4]
    for lv in report["levels"]:
        assert lv["errors"] == 0 and lv["ok"] == 20 and lv["requests_per_s"] > 0
        assert lv["p50_ms"] <= lv["p99_ms"]
    assert "| clients |" in (tmp_path / "lt" / "loadtest.md").read_text()
