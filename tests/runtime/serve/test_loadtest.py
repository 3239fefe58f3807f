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
        assert lv["health_probes"] > 0 and lv["health_errors"] == 0 and "hostile" not in lv
    assert "| clients |" in (tmp_path / "lt" / "loadtest.md").read_text()


def test_hostile_loadtest_reports_health_beside_hostile_requests(toy_bundle, tmp_path, monkeypatch):
    from postag.serve import loadtest

    monkeypatch.setattr(loadtest, "HYPHENS", "state-of-the-art-" * 200)  # fast at any speed
    monkeypatch.setattr(loadtest, "PROSE_SHARE", 0.05)
    out = tmp_path / "lt"
    res = CliRunner().invoke(
        cli,
        ["--threads", "1", "loadtest", str(toy_bundle[0]), "--clients", "2"]
        + ["--requests", "30", "--time-cap", "20", "--hostile", "--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    report = json.loads((out / "loadtest.json").read_text())
    assert report["hostile"] == ["prose", "top_k", "hyphens"]
    (level,) = report["levels"]
    assert level["errors"] == 0 and level["ok"] == 30
    assert level["health_probes"] > 0 and level["health_errors"] == 0
    assert level["health_p50_ms"] <= level["health_p99_ms"] <= level["health_max_ms"]
    answered = level["hostile"]
    assert answered and sum(answered.values()) >= 1
    assert all(k.split()[1] in ("200", "413") for k in answered), answered
    assert "| health p99 ms |" in (out / "loadtest.md").read_text()
