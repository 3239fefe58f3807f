"""Shared by the Spark tests: the sample texts and one local[2] session per module
(PySpark is imported only when a Spark test runs)."""

from __future__ import annotations

import pytest

#: Raw-text rows, with null, empty and blank ones that must give empty arrays.
TEXTS = [
    "The cat sat on the mat. It was happy!",
    None,
    "",
    "   ",
    "She runs quickly to the store .",
    "Alice saw Paris.",
    # offsets count code points across CR LF, paragraphs, decomposed accents and emoji
    "Cafe\u0301 au lait,\r\nnaïve 👨\u200d👩\u200d👧 fun.\r\n\r\nNew 🇺🇸 para\u0301graph.",
]


@pytest.fixture(scope="module")
def spark():
    from postag.spark import spark_session

    session = spark_session("local[2]", batch_rows=2)  # tiny Arrow batches: many per task
    yield session
    session.stop()


@pytest.fixture(scope="module")
def tagger(toy_bundle):
    from postag import Tagger

    return Tagger.load(toy_bundle[0], provider="cpu", threads=1)
