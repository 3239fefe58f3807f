"""The Makefile's install step: where pip finds torch (``TORCH_INDEX``)."""

import shutil
import subprocess

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.skipif(not shutil.which("make"), reason="no `make` on PATH")


def pip_install_line(*variables: str) -> str:
    """The `pip install -e` command `make install` would run (dry run, always remade)."""
    out = subprocess.run(
        ["make", "-n", "-B", "install", *variables],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (line,) = [x for x in out.splitlines() if "pip install" in x and " -e " in x]
    return line


def test_torch_comes_from_pytorchs_cpu_index_by_default():
    assert pip_install_line().endswith(
        '-e ".[export,vectors,serve,spark,spacy,dev]" --extra-index-url https://download.pytorch.org/whl/cpu'
    )


def test_torch_index_is_a_make_variable():
    cuda = "https://download.pytorch.org/whl/cu126"
    assert pip_install_line(f"TORCH_INDEX={cuda}").endswith(f"--extra-index-url {cuda}")
    assert "--extra-index-url" not in pip_install_line("TORCH_INDEX=")  # pip's config only
