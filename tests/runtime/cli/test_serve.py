"""postag.cli.serve: `postag serve` refuses a bad bundle before starting."""

from __future__ import annotations

import pytest

fastapi = pytest.importorskip("fastapi", reason="needs the serve extra (pip install '.[serve]')")
from click.testing import CliRunner  # noqa: E402

from postag.cli import cli  # noqa: E402


def test_serve_refuses_a_bad_bundle(tmp_path):
    res = CliRunner().invoke(cli, ["serve", str(tmp_path / "missing")])
    assert res.exit_code == 1 and "not a bundle directory" in res.output


@pytest.mark.parametrize("args", [["serve", ""], ["serve", "--model", ""]], ids=["arg", "option"])
def test_serve_refuses_an_empty_model_name(args):
    """An unset variable (`postag serve "$MODEL"`) is refused, not the shipped default."""
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 1 and "empty model name" in res.output, res.output
