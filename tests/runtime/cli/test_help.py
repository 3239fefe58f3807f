"""Every `postag` command's --help ends with the docs page that covers it, and that page
exists in docs/ (the site `make docs` builds)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from postag.cli import COMMANDS, DOCS, cli, docs_epilog
from tests.conftest import REPO


def test_every_command_has_a_docs_page():
    assert set(DOCS) == set(COMMANDS)
    missing = {c: p for c, p in DOCS.items() if not (REPO / "docs" / p).is_file()}
    assert not missing, missing


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_ends_with_its_docs_page(command):
    args = [command, "--help"] if command else ["--help"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    page = DOCS[command] if command else "index.md"
    text = " ".join(res.output.split())  # click wraps the epilog to the terminal's width
    assert text.endswith(" ".join(docs_epilog(page).split()))
