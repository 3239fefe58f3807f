"""Fixtures for the `postag tag` tests: the toy bundle's path, a tagger loaded from it, and
`postag tag` run in-process."""

from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result

from postag.cli import cli


@pytest.fixture(scope="module")
def bundle(toy_bundle) -> str:
    return str(toy_bundle[0])


@pytest.fixture(scope="module")
def tagger(bundle):  # noqa: ANN201 - postag.Tagger, imported lazily
    from postag import Tagger

    return Tagger.load(bundle, provider="cpu", threads=1)


@pytest.fixture
def run_tag(bundle: str) -> Callable[..., Result]:
    """``run_tag(args, input)``: ``postag --threads 1 tag --bundle <toy> *args``."""

    def run(args: list[str], input: object = None) -> Result:
        return CliRunner().invoke(
            cli, ["--threads", "1", "tag", "--bundle", bundle, *args], input=input
        )

    return run
