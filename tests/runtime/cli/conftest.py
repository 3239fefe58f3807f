"""Fixtures for the `postag tag` tests: the toy (joint) bundle's path, a tagger loaded from
it, the UPOS-only bundle's path, and `postag tag` run in-process."""

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


@pytest.fixture(scope="module")
def upos_only(upos_bundle) -> str:
    """The UPOS-only bundle's path (as older bundles and the seed preset are)."""
    return str(upos_bundle[0])


@pytest.fixture
def run_tag(bundle: str) -> Callable[..., Result]:
    """``run_tag(args, input, bundle=<toy>)``: ``postag --threads 1 tag --bundle B *args``."""

    def run(args: list[str], input: object = None, bundle: str = bundle) -> Result:
        return CliRunner().invoke(
            cli, ["--threads", "1", "tag", "--bundle", bundle, *args], input=input
        )

    return run
