"""postag.spacy: the ``postag`` component in a real spaCy pipeline (``spacy.blank``, the
shipped model) gives exactly what ``Tagger.tag_batch`` gives on the same tokens, batches
``nlp.pipe`` into one ``tag_batch`` call a batch, refuses a model of another language,
and survives ``to_disk`` / ``spacy.load``. Skipped without the ``spacy`` extra."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

spacy = pytest.importorskip("spacy", reason="needs the 'spacy' extra (pip install 'postag[spacy]')")

from spacy.tokens import MorphAnalysis  # noqa: E402

from postag import Tagger  # noqa: E402
from postag.errors import BundleError  # noqa: E402
from postag.registry import SHIPPED_DIR  # noqa: E402
from postag.spacy import PostagComponent, make_postag  # noqa: E402  (registers the factory)
from postag.spacy.component import PROB_EXTENSIONS, REFERENCE_FILE  # noqa: E402

#: Double spaces, line breaks and a blank line: spaCy makes whitespace tokens of them.
TEXT = "I don't  know what\nhappened.\n\nShe  said: \"We'll see.\"  Call 555-1234 now!"
TEXTS = [
    TEXT,
    "The cat sat on the mat.",
    "Colorless green ideas sleep furiously.",
    "",
    "   ",
    "Alice saw Paris in 2024 , and  loved it .",
    "Why?",
]
CPU = {"provider": "cpu", "threads": 1}


@pytest.fixture(scope="module", autouse=True)
def _no_postag_bundle():
    with pytest.MonkeyPatch.context() as mp:  # "model unset" means the shipped model here
        mp.delenv("POSTAG_BUNDLE", raising=False)
        yield


@pytest.fixture(scope="module")
def tagger():
    return Tagger.load(provider="cpu", threads=1)


@pytest.fixture(scope="module")
def nlp():
    nlp = spacy.blank("en")
    nlp.add_pipe("postag", config=CPU)
    return nlp


def words_of(doc, indices):
    return [doc[i].text for i in indices]


def assert_tagged_like(doc, sequences, results):
    """Every token of ``doc`` carries what ``results`` (tag_batch on ``sequences``, lists
    of token indices) says, and whitespace tokens SPACE/_SP with no probabilities."""
    seen = set()
    for seq, res in zip(sequences, results, strict=True):
        for j, i in enumerate(seq):
            tok = doc[i]
            seen.add(i)
            assert tok.pos_ == res.tags[j]
            assert tok.tag_ == res.xpos[j]
            # the same features; spaCy orders them its own way (case-sensitively)
            assert tok.morph == MorphAnalysis(doc.vocab, res.feats[j])
            want = (
                {} if res.feats[j] == "_" else dict(f.split("=") for f in res.feats[j].split("|"))
            )
            assert tok.morph.to_dict() == want
            assert tok._.postag_pos_prob == pytest.approx(res.probs[j], abs=1e-6)
            assert tok._.postag_tag_prob == pytest.approx(res.xpos_probs[j], abs=1e-6)
            assert tok._.postag_morph_prob == pytest.approx(res.feats_probs[j], abs=1e-6)
    for tok in doc:
        if tok.i not in seen:
            assert tok.is_space, tok.text
            assert (tok.pos_, tok.tag_, str(tok.morph)) == ("SPACE", "_SP", "")
            assert tok._.postag_pos_prob is None and tok._.postag_morph_prob is None
    assert seen == {t.i for t in doc if not t.is_space}


def annotations(doc):
    return [
        (t.text, t.pos_, t.tag_, str(t.morph), *(t._.get(e) for e in PROB_EXTENSIONS.values()))
        for t in doc
    ]


def assert_same(got, want):
    """The same annotations: labels equal, probabilities to 1e-6 (None where None)."""
    assert [[a[:4] for a in doc] for doc in got] == [[a[:4] for a in doc] for doc in want]
    for g_doc, w_doc in zip(got, want, strict=True):
        for g, w in zip(g_doc, w_doc, strict=True):
            for gp, wp in zip(g[4:], w[4:], strict=True):
                assert (gp is None) == (wp is None)
                assert gp is None or abs(gp - wp) <= 1e-6


def test_the_tags_are_tag_batchs_on_the_docs_own_tokens(nlp, tagger):
    doc = nlp(TEXT)
    assert any(t.is_space for t in doc) and "\n\n" in [t.text for t in doc]
    # no sentence boundaries: the whole Doc is one sequence, whitespace tokens left out
    seq = [t.i for t in doc if not t.is_space]
    assert nlp.get_pipe("postag").sequences(doc) == [seq]
    [res] = tagger.tag_batch([words_of(doc, seq)], probs=True)
    assert_tagged_like(doc, [seq], [res])
    assert [t.pos_ for t in doc[:3]] == ["PRON", "AUX", "PART"]  # I do n't


def test_each_sentence_is_a_sequence_when_the_doc_has_boundaries(tagger):
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("postag", config=CPU)
    doc = nlp(TEXT)
    sents = [[t.i for t in s if not t.is_space] for s in doc.sents]
    sents = [s for s in sents if s]
    assert len(sents) >= 3
    assert nlp.get_pipe("postag").sequences(doc) == sents
    results = tagger.tag_batch([words_of(doc, s) for s in sents], probs=True)
    assert_tagged_like(doc, sents, results)


def test_long_sequences_are_cut_at_max_length(tagger):
    nlp = spacy.blank("en")
    nlp.add_pipe("postag", config={**CPU, "max_length": 5})
    doc = nlp(TEXT)
    words = [t.i for t in doc if not t.is_space]
    pieces = [words[k : k + 5] for k in range(0, len(words), 5)]
    assert nlp.get_pipe("postag").sequences(doc) == pieces
    assert_tagged_like(
        doc, pieces, tagger.tag_batch([words_of(doc, p) for p in pieces], probs=True)
    )
    with pytest.raises(ValueError, match="max_length"):
        nlp.add_pipe("postag", name="bad", config={**CPU, "max_length": 0})


def test_pipe_gives_the_same_as_one_by_one_in_one_tag_batch_call_per_batch(nlp, monkeypatch):
    one_by_one = [annotations(nlp(t)) for t in TEXTS]
    component = nlp.get_pipe("postag")
    calls = []
    real = component.tagger.tag_batch

    def counting(sentences, **kwargs):
        calls.append(len(sentences))
        return real(sentences, **kwargs)

    monkeypatch.setattr(component.tagger, "tag_batch", counting)
    batched = [annotations(d) for d in nlp.pipe(TEXTS, batch_size=3)]
    assert len(calls) == 3  # 7 docs, 3 a batch
    assert_same(batched, one_by_one)
    assert_same([annotations(d) for d in nlp.pipe(TEXTS[:2], batch_size=64)], one_by_one[:2])
    assert len(calls) == 4  # the two docs: one more call


def test_a_failing_batch_goes_to_the_error_handler(monkeypatch):
    nlp = spacy.blank("en")
    component = nlp.add_pipe("postag", config=CPU)

    def broken(sentences, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(component.tagger, "tag_batch", broken)
    with pytest.raises(RuntimeError, match="boom"):
        list(nlp.pipe(TEXTS, batch_size=4))
    failed = []
    component.set_error_handler(lambda name, proc, docs, exc: failed.append((name, len(docs))))
    assert list(nlp.pipe(TEXTS, batch_size=4)) == []
    assert failed == [("postag", 4), ("postag", 3)]


def test_probabilities_through_token_underscore_are_the_same(nlp):
    """Where spaCy would store extension values otherwise, the component sets them
    through ``token._``: the same values."""
    component = nlp.get_pipe("postag")
    assert component._direct_keys  # this spaCy: written under token._'s own key
    want = annotations(nlp(TEXT))
    component._direct_keys = False
    try:
        assert annotations(nlp(TEXT)) == want
    finally:
        component._direct_keys = True


def test_annotations_survive_doc_serialization(nlp):
    from spacy.tokens import Doc, DocBin

    doc = nlp(TEXT)
    assert annotations(Doc(nlp.vocab).from_bytes(doc.to_bytes())) == annotations(doc)
    [back] = DocBin(store_user_data=True, docs=[doc]).get_docs(nlp.vocab)
    assert annotations(back) == annotations(doc)


def test_empty_and_blank_docs(nlp):
    assert len(nlp("")) == 0
    doc = nlp("   \n\n  ")
    assert [(t.is_space, t.pos_, t.tag_) for t in doc] == [(True, "SPACE", "_SP")] * len(doc)


def test_probs_false_leaves_the_probability_attributes_unset(nlp):
    lean = spacy.blank("en")
    lean.add_pipe("postag", config={**CPU, "probs": False})
    doc, full = lean(TEXT), nlp(TEXT)
    assert [a[:4] for a in annotations(doc)] == [a[:4] for a in annotations(full)]
    assert all(a[4:] == (None, None, None) for a in annotations(doc))


def test_a_model_of_another_language_is_refused_naming_both():
    nlp = spacy.blank("fr")
    with pytest.raises(BundleError) as err:
        nlp.add_pipe("postag", config=CPU)
    msg = str(err.value)
    assert "'en'" in msg and "'fr'" in msg and "UD_English-EWT" in msg
    assert "postag" not in nlp.pipe_names


def test_the_multi_language_class_takes_any_model():
    nlp = spacy.blank("xx")
    nlp.add_pipe("postag", config=CPU)
    assert nlp("The cat sat.")[1].pos_ == "NOUN"


def test_model_as_a_path_to_the_shipped_bundle(nlp):
    by_path = spacy.blank("en")
    by_path.add_pipe("postag", config={**CPU, "model": str(SHIPPED_DIR)})
    assert by_path.get_pipe("postag").origin.startswith("a bundle directory")
    assert annotations(by_path(TEXT)) == annotations(nlp(TEXT))


def test_model_by_name(nlp):
    named = spacy.blank("en")
    named.add_pipe("postag", config={**CPU, "model": "en-ewt"})
    assert annotations(named(TEXT)) == annotations(nlp(TEXT))


@pytest.mark.parametrize("model", ["no-such-model", "/no/such/bundle/dir"])
def test_a_bad_model_is_a_clear_error(model):
    nlp = spacy.blank("en")
    with pytest.raises(BundleError, match="not a bundle directory, nor the name of an installed"):
        nlp.add_pipe("postag", config={**CPU, "model": model})


def test_to_disk_and_spacy_load_give_identical_tags(nlp, tmp_path):
    want = [annotations(d) for d in nlp.pipe(TEXTS)]
    nlp.to_disk(tmp_path / "pipeline")
    saved = json.loads((tmp_path / "pipeline" / "postag" / REFERENCE_FILE).read_text())
    component = nlp.get_pipe("postag")
    assert saved["model"] is None  # the shipped default stays "unset": no files copied
    assert saved["identity"] == component.manifest.identity
    assert sorted(p.name for p in (tmp_path / "pipeline" / "postag").iterdir()) == [REFERENCE_FILE]
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.pipe_names == ["postag"]
    assert loaded.config["components"]["postag"]["model"] is None
    assert [annotations(d) for d in loaded.pipe(TEXTS)] == want
    # and through bytes
    again = spacy.blank("en")
    again.add_pipe("postag", config=CPU)
    again.from_bytes(nlp.to_bytes())
    assert annotations(again(TEXT)) == want[0]


def test_the_model_reference_can_be_overridden_when_loading(nlp, tmp_path):
    nlp.to_disk(tmp_path / "p")  # the shipped model, by its path: the same identity
    loaded = spacy.load(tmp_path / "p", config={"components.postag.model": str(SHIPPED_DIR)})
    assert loaded.get_pipe("postag").origin.startswith("a bundle directory")
    assert annotations(loaded(TEXT)) == annotations(nlp(TEXT))


def test_a_path_model_is_saved_as_that_path(tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("postag", config={**CPU, "model": str(SHIPPED_DIR)})
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    assert loaded.config["components"]["postag"]["model"] == str(SHIPPED_DIR)
    assert annotations(loaded(TEXT)) == annotations(nlp(TEXT))


def test_a_relative_path_model_warns_on_to_disk(tmp_path, monkeypatch):
    monkeypatch.chdir(SHIPPED_DIR.parent)
    nlp = spacy.blank("en")
    nlp.add_pipe("postag", config={**CPU, "model": SHIPPED_DIR.name})  # a dir here: a path
    with pytest.warns(UserWarning, match="relative path"):
        nlp.to_disk(tmp_path / "p")


def test_loading_refuses_a_pipeline_saved_with_another_model(nlp, tmp_path):
    nlp.to_disk(tmp_path / "p")
    ref = tmp_path / "p" / "postag" / REFERENCE_FILE
    saved = json.loads(ref.read_text())
    saved.update(identity="0" * 64, name="postag-other", version="9.9")
    ref.write_text(json.dumps(saved))
    with pytest.raises(BundleError) as err:
        spacy.load(tmp_path / "p")
    msg = str(err.value)
    assert "postag-other 9.9 (identity 000000000000…)" in msg
    assert "postag-en-ewt 0.1.0" in msg


def test_extensions_and_factory():
    from spacy.language import Language
    from spacy.tokens import Token

    assert Language.has_factory("postag")
    assert all(Token.has_extension(e) for e in PROB_EXTENSIONS.values())
    nlp = spacy.blank("en")
    component = make_postag(nlp, "tagger2", None, "cpu", 1, None, True, 1000)
    assert isinstance(component, PostagComponent)
    assert component.labels == tuple(component.tagger.tags)


@pytest.fixture
def upos_model(request):
    pytest.importorskip("torch", reason="the toy bundle is trained with the 'export' extra")
    return request.getfixturevalue("upos_bundle")[0]


def test_upos_only_model_sets_pos_only(upos_model):
    nlp = spacy.blank("en")
    with pytest.warns(UserWarning, match="cannot check that the model"):
        component = nlp.add_pipe("postag", config={**CPU, "model": str(upos_model)})
    assert component.heads == ["upos"]
    doc = nlp("The  dog saw Alice .")
    [res] = Tagger.load(upos_model, provider="cpu").tag_batch(
        [["The", "dog", "saw", "Alice", "."]], probs=True
    )
    words = [t for t in doc if not t.is_space]
    assert [t.pos_ for t in words] == res.tags
    assert [t._.postag_pos_prob for t in words] == pytest.approx(res.probs, abs=1e-6)
    assert all(t.tag_ == "" and not t.has_morph() for t in doc)
    assert doc[1].pos_ == "SPACE" and doc[1].tag_ == ""


def test_importing_postag_needs_no_spacy():
    code = "import sys, postag, postag.registry; assert 'spacy' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_entry_point_registers_the_factory_without_an_import(tmp_path):
    """spaCy finds ``postag`` through the installed ``spacy_factories`` entry point (run
    outside the source tree, so only installed metadata counts)."""
    env = {k: v for k, v in os.environ.items() if k != "POSTAG_BUNDLE"}
    probe = (
        "from importlib.metadata import entry_points; "
        "print(any(e.name == 'postag' for e in entry_points(group='spacy_factories')))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    if found.stdout.strip() != "True":
        pytest.skip("the spacy_factories entry point is not installed (pip install -e '.[spacy]')")
    code = (
        "import spacy; nlp = spacy.blank('en'); "
        "nlp.add_pipe('postag', config={'provider': 'cpu', 'threads': 1}); "
        "print(nlp('The cat sat.')[1].pos_)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "NOUN"
