"""postag.cli: the one entry point; the runtime never imports torch."""

import subprocess
import sys

import pytest
from click.testing import CliRunner

from postag.cli import cli


@pytest.fixture(scope="module")
def bundle(toy_bundle):
    return str(toy_bundle[0])


def run(bundle, args, input=None):
    res = CliRunner().invoke(cli, ["--threads", "1", "tag", "--bundle", bundle, *args], input=input)
    return res


def test_runtime_never_imports_torch(bundle, tmp_path):
    """The installed `postag` entry point tags and prints info without importing torch,
    and the torch commands say how to install it when torch is unavailable."""
    code = (
        "import sys\n"
        "from postag.cli import main\n"
        "for args in (['tag', '--bundle', sys.argv[1], '--format', 'json'],"
        " ['info', sys.argv[1]]):\n"
        "    sys.argv = ['postag', *args]\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit as e:\n"
        "        assert e.code in (0, None), e.code\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "print('TORCH-FREE')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, bundle],
        input="Alice saw Paris.\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert '"words": ["Alice", "saw", "Paris", "."], "tags": [' in out.stdout
    assert out.stdout.strip().endswith("TORCH-FREE")
    blocked = (
        "import sys; sys.modules['torch'] = None\n"  # as if torch were not installed
        "from postag.cli import main\n"
        "sys.argv = ['postag', 'train']\n"
        "main()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", blocked], capture_output=True, text=True, cwd=tmp_path
    )
    assert out.returncode == 1
    assert "needs PyTorch" in out.stderr and "pip install 'postag[export]'" in out.stderr
