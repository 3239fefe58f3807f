"""postag.cli: the one entry point; the runtime never imports torch."""

import errno
import subprocess
import sys

import pytest
from click.testing import CliRunner

from postag.cli import cli


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
    words = '"words": ["Alice", "saw", "Paris", "."]'
    assert words + ', "start": [0, 6, 10, 15], "end": [5, 9, 15, 16], "tags": [' in out.stdout
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


@pytest.mark.parametrize(
    ("raised", "code", "message"),
    [
        (
            PermissionError(errno.EACCES, "Permission denied", "b/manifest.json"),
            1,
            "Error: b/manifest.json: Permission denied\n",
        ),
        (OSError(errno.EIO, "Input/output error"), 1, "Error: Input/output error\n"),
        (KeyboardInterrupt(), 130, "Error: interrupted\n"),
        (BrokenPipeError(errno.EPIPE, "Broken pipe"), 1, ""),  # the reader went away: quiet
    ],
    ids=["permission", "io-error", "interrupt", "broken-pipe"],
)
def test_any_command_fails_in_one_line(bundle, monkeypatch, raised, code, message):
    """Whatever escapes a command (here `info`): one line, a non-zero exit, no traceback."""
    import postag.bundle

    def fail(path):
        raise raised

    monkeypatch.setattr(postag.bundle, "load_manifest", fail)
    res = CliRunner().invoke(cli, ["info", bundle])
    assert res.exit_code == code
    assert res.output == message
