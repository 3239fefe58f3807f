"""postag.spacy.language: the language a model tags, from its manifest (the shipped
model's corpus, UD corpus names, UD file names, a stated field, and nothing known)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("spacy", reason="needs the 'spacy' extra (pip install 'postag[spacy]')")

from postag.registry import SHIPPED_DIR  # noqa: E402
from postag.spacy.language import model_language  # noqa: E402


def files(*names):
    return {split: {"file": n} for split, n in zip(("train", "dev", "test"), names, strict=False)}


def test_the_shipped_model_is_english():
    manifest = json.loads((SHIPPED_DIR / "manifest.json").read_text())
    lang = model_language(manifest)
    assert lang.code == "en" and "UD_English-EWT" in lang.where


@pytest.mark.parametrize(
    ("corpus", "code"),
    [
        ({"name": "UD_French-Sequoia r2.16"}, "fr"),
        ({"name": "UD_Ancient_Greek-PROIEL"}, "grc"),
        ({"name": "UD_Norwegian-Bokmaal"}, "nb"),
        ({"name": "UD_Norwegian-Nynorsk"}, "nn"),
        (
            {
                "name": "custom",
                "files": files("fr_sequoia-ud-train.conllu", "fr_sequoia-ud-dev.conllu"),
            },
            "fr",
        ),
        ({"name": "UD_Klingon-Foo", "files": files("tlh_foo-ud-train.conllu")}, "tlh"),
    ],
)
def test_the_language_comes_from_the_training_corpus(corpus, code):
    assert model_language({"corpus": corpus}).code == code


def test_a_stated_language_comes_first():
    lang = model_language({"language": "DE", "corpus": {"name": "UD_English-EWT"}})
    assert (lang.code, lang.where) == ("de", "the manifest's 'language' field")


@pytest.mark.parametrize(
    "manifest",
    [
        {},
        {"corpus": {"name": "custom", "files": files("toy-ud-train.conllu")}},
        {
            "corpus": {
                "name": "custom",
                "files": files("en_a-ud-train.conllu", "fr_b-ud-dev.conllu"),
            }
        },
        {"corpus": {"name": "UD_Klingon-Foo"}},
        {"corpus": "not an object", "language": 3},
    ],
)
def test_an_unknown_language_says_why(manifest):
    lang = model_language(manifest)
    assert lang.code is None and lang.where
