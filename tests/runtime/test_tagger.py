import json
import shutil

import numpy as np
import pytest

from postag import BundleError, Tagger
from postag.batching import run_batched
from postag.bundle import load_manifest
from postag.session import resolve_provider
from postag.tagger import WINDOW_CONTEXT, WINDOW_TOKENS, windows


@pytest.fixture(scope="module")
def tagger(toy_bundle):
    return Tagger.load(toy_bundle[0], provider="cpu", threads=1)


def test_provider_is_read_back_from_the_session(tagger):
    assert tagger.provider == "CPUExecutionProvider"


def test_tags_equal_the_pytorch_checkpoint(toy_bundle, tagger):
    from postag.data import read_conllu
    from postag.export.train.checkpoint import Checkpoint
    from postag.export.train.predict import predict_tags

    sents = [s.words for s in read_conllu(toy_bundle[2] / "toy-ud-test.conllu")]
    ckpt = Checkpoint.load(toy_bundle[1])
    want = [
        [ckpt.tags.items[i] for i in p] for p in predict_tags(ckpt.model(), ckpt.encoder(), sents)
    ]
    assert [r.tags for r in tagger.tag_batch(sents)] == want


def test_batches_come_back_in_input_order(tagger):
    sents = [
        ["Alice", "saw", "Paris", "."],
        ["the"],
        [],
        ["She", "runs", "quickly", "!"] * 9,
        ["Bob", "likes", "it", "."],
    ]
    alone = [tagger.tag(s).tags for s in sents]
    together = tagger.tag_batch(sents, max_tokens=16)  # forces several buckets
    assert [r.tags for r in together] == alone
    assert [r.words for r in together] == sents
    assert together[2].tags == []


def test_probabilities_and_top_k(tagger):
    r = tagger.tag(["the", "dog", "runs", "."], top_k=3)
    assert len(r.top_k) == 4 and all(len(row) == 3 for row in r.top_k)
    for tag, p, row in zip(r.tags, r.probs, r.top_k, strict=True):
        assert row[0] == (tag, p)
        assert row[0][1] >= row[1][1] >= row[2][1]
    assert all(0 < p <= 1 for p in r.probs)
    assert tagger.tag(["the"]).probs is None
    assert r.to_dict()["top_k"][0][0] == [r.tags[0], round(r.probs[0], 6)]
    # nothing asked: labels only, every head the model has
    assert set(tagger.tag(["the"]).to_dict()) == {"words", "tags", "xpos", "feats"}
    big = tagger.tag(["the"], top_k=100)  # capped at the tag set: every tag, best first
    assert len(big.top_k[0]) == len(tagger.tags)
    assert sorted(t for t, _ in big.top_k[0]) == sorted(tagger.tags)
    np.testing.assert_allclose(sum(p for _, p in big.top_k[0]), 1.0, atol=1e-5)


def test_every_head_with_probabilities_and_top_k(tagger):
    """The joint tagger: XPOS and FEATS per word, each head's probabilities and k best
    where asked (top_k capped at each head's label count)."""
    words = ["Alice", "saw", "the", "dog", "."]
    r = tagger.tag(words, top_k=2)
    assert len(r.xpos) == len(r.feats) == len(words)
    assert set(r.xpos) <= set(tagger.labels["xpos"]) and set(r.feats) <= set(tagger.labels["feats"])
    for head in ("upos", "xpos", "feats"):
        labels, probs, top = r.labels(head), r.head_probs(head), r.head_top_k(head)
        assert len(probs) == len(top) == len(words)
        for label, p, row in zip(labels, probs, top, strict=True):
            assert row[0] == (label, p) and len(row) == 2 and row[0][1] >= row[1][1]
    d = r.to_dict()
    assert {"xpos", "feats", "xpos_probs", "xpos_top_k", "feats_probs", "feats_top_k"} <= set(d)
    plain = tagger.tag(words)
    assert plain.xpos == r.xpos and plain.feats == r.feats and plain.xpos_probs is None
    every = tagger.tag(["the"], top_k=1000)  # each head caps k at its own label count
    assert len(every.top_k[0]) == len(tagger.labels["upos"])
    assert len(every.feats_top_k[0]) == len(tagger.labels["feats"])
    # the toy grammar: "saw" after a pronoun/name is a past-tense verb (VBD, Tense=Past)
    saw = tagger.tag(["She", "saw", "the", "dog", "."])
    assert saw.tags[1] == "VERB" and saw.xpos[1] == "VBD" and "Tense=Past" in saw.feats[1]


def test_raw_text(tagger):
    out = tagger.tag_text("Bob likes the red table. She runs quickly!")
    assert [r.words for r in out] == [
        ["Bob", "likes", "the", "red", "table", "."],
        ["She", "runs", "quickly", "!"],
    ]
    assert out[0].tags[-1] == "PUNCT"
    assert tagger.tag_text("") == []
    docs = tagger.tag_many(["Alice saw Paris.", "", "Hi. Bye."])
    assert [len(d) for d in docs] == [1, 0, 2]


def test_odd_tokens(tagger):
    r = tagger.tag(["東京", "👍🏽", "x" * 500, "\x07", "café", "\u200b"])  # tokens as given
    assert len(r.tags) == 6 and all(t in tagger.tags for t in r.tags)
    with pytest.raises(ValueError, match="non-empty strings"):
        tagger.tag(["a", ""])


def test_format_characters_are_looked_through(tagger):
    """A soft hyphen, a direction mark, a zero-width space inside or beside a word: the
    word keeps them, the model sees it without them (tags and probabilities as for the
    clean word); raw text with a BOM and bidi controls gives the same words, offsets
    into the text as given (the BOM counted)."""
    clean = tagger.tag(["Alice", "saw", "Paris", "."], probs=True, top_k=2)
    marked = tagger.tag(["Al\u00adice", "\u200esaw", "Pa\u200bris", "."], probs=True, top_k=2)
    assert marked.words == ["Al\u00adice", "\u200esaw", "Pa\u200bris", "."]
    for head in tagger.heads:
        assert marked.labels(head) == clean.labels(head), head
        assert marked.head_probs(head) == clean.head_probs(head), head
        assert marked.head_top_k(head) == clean.head_top_k(head), head
    text = "\ufeffAl\u00adice saw \u202eParis\u202c."
    (res,) = tagger.tag_text(text)
    assert res.words == ["Al\u00adice", "saw", "Paris", "."]
    assert (res.start, res.end) == ([1, 8, 13, 19], [7, 11, 18, 20])
    assert [text[a:b] for a, b in zip(res.start, res.end, strict=True)] == res.words
    assert res.tags == clean.tags and res.feats == clean.feats
    assert tagger.tag_text("\ufeff") == [] and tagger.tag_text("\u200b \u202e\u202c") == []
    assert tagger.tag_many(["\ufeffHi", "Hi"])[0][0].start == [1]


def test_windows_cover_every_token_once_with_context():
    for n in (1, 1024, 1025, 2000, 5000):
        words = [str(i) for i in range(n)]
        pieces, (kept,) = windows([words])
        assert all(len(p) <= WINDOW_TOKENS for p in pieces) and len(pieces) == len(kept)
        taken = [w for p, (a, b) in zip(pieces, kept, strict=True) for w in p[a:b]]
        assert taken == words
        for p, (a, b) in zip(pieces, kept, strict=True):
            first, last = int(p[a]), int(p[b - 1])
            assert a >= min(WINDOW_CONTEXT, first) and len(p) - b >= min(
                WINDOW_CONTEXT, n - 1 - last
            )
    assert windows([list("abcdefghij"), list("xy")], size=6, context=2) == (
        [list("abcdef"), list("cdefgh"), list("efghij"), list("xy")],
        [[(0, 4), (2, 4), (2, 6)], [(0, 2)]],
    )
    with pytest.raises(ValueError, match="no room"):
        windows([["a"]], size=4, context=2)


def test_a_long_sentence_is_tagged_in_bounded_windows(tagger, monkeypatch):
    """3,200 tokens: no model run sees more than WINDOW_TOKENS of them, and the labels are
    those of one run over the whole sentence (probabilities to within 0.01: the toy model
    differs by up to 0.002 where a window starts)."""
    words = "the dog sees a cat in the park .".split() * 400
    whole = tagger._result(
        words, run_batched(tagger.model.run, tagger.encoder, [words], 10**6)[0], 2, True
    )
    shapes = []
    run = tagger.model.run
    monkeypatch.setattr(
        tagger.model, "run", lambda batch: shapes.append(batch.word_ids.shape) or run(batch)
    )
    res = tagger.tag(words, probs=True, top_k=2)
    assert shapes and max(seq for _, seq in shapes) <= WINDOW_TOKENS
    assert res.words is words or res.words == words
    for head in tagger.heads:
        assert res.labels(head) == whole.labels(head), head
        assert np.allclose(res.head_probs(head), whole.head_probs(head), atol=0.01), head
        assert [[t for t, _ in row] for row in res.head_top_k(head)] == [
            [t for t, _ in row] for row in whole.head_top_k(head)
        ]


def test_many_sentences_are_tagged_in_bounded_groups(tagger, monkeypatch):
    """What tag_batch holds at once is one group of pieces: with groups of ~100 tokens
    the results are those of one pass."""
    import postag.tagger as tagger_module

    sents = [["Alice", "saw", "the", "dog", "."] * (1 + i % 7) for i in range(60)]
    one_pass = tagger.tag_batch(sents, probs=True)
    sizes = []
    real = tagger_module.run_batched

    def counted(run, encoder, pieces, max_tokens):
        sizes.append(sum(map(len, pieces)))
        return real(run, encoder, pieces, max_tokens)

    monkeypatch.setattr(tagger_module, "GROUP_TOKENS", 100)
    monkeypatch.setattr(tagger_module, "run_batched", counted)
    grouped = tagger.tag_batch(sents, probs=True, max_tokens=64)
    assert len(sizes) > 10 and max(sizes) <= 100 + 35  # a group and at most one piece more
    assert [r.tags for r in grouped] == [r.tags for r in one_pass]
    assert [r.feats for r in grouped] == [r.feats for r in one_pass]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda t: t.tag("The cat sat"), TypeError, r"list of tokens; for raw text use tag_text"),
        (lambda t: t.tag_batch(["The cat sat"]), TypeError, "sentence 0 is a string"),
        (lambda t: t.tag_batch([["ok"], "The cat"]), TypeError, "sentence 1 is a string"),
        (lambda t: t.tag_batch("The cat sat"), TypeError, "list of token lists"),
        (lambda t: t.tag(["a", 3]), TypeError, "tokens must be strings, got int 3"),
        (lambda t: t.tag(["a", None]), TypeError, "tokens must be strings, got NoneType"),
        (lambda t: t.tag(["a"], top_k=-1), ValueError, "top_k must be 0 .* got -1"),
        (lambda t: t.tag(["a"], top_k=2.5), TypeError, "top_k must be an integer"),
        (lambda t: t.tag_text(["The", "cat"]), TypeError, "tag_text\\(\\) takes a string"),
        (lambda t: t.tag_many("The cat sat."), TypeError, "for one text use tag_text"),
        (lambda t: t.tag_many(["ok", 7]), TypeError, "texts \\(strings\\), got int"),
    ],
)
def test_api_misuse_is_refused_not_guessed(tagger, call, error, message):
    """A string where tokens are expected would tag single characters; -1 alternatives
    would give all of them: both are errors that say what to do instead."""
    with pytest.raises(error, match=message):
        call(tagger)


def test_top_k_as_numpy_integer(tagger):
    assert len(tagger.tag(["the"], top_k=np.int64(2)).top_k[0]) == 2


def test_load_errors(toy_bundle, tmp_path):
    with pytest.raises(BundleError, match="not a bundle directory"):
        Tagger.load(tmp_path / "missing")
    b = tmp_path / "b"
    shutil.copytree(toy_bundle[0], b)
    with pytest.raises(BundleError, match="unknown provider 'tpu'"):
        Tagger.load(b, provider="tpu")
    # a model file from another bundle: its metadata names another manifest
    import onnx

    from postag.files import sha256_file

    for fname in ("model.fast.onnx", "model.onnx"):  # fp32 loads the fast graph if present
        shutil.rmtree(b)
        shutil.copytree(toy_bundle[0], b)
        man = json.loads((b / "manifest.json").read_text())
        if fname == "model.onnx":  # a bundle without a fast path: model.onnx is checked
            (b / "model.fast.onnx").unlink()
            (b / "char_forms.json").unlink()
            del man["files"]["model.fast.onnx"], man["files"]["char_forms.json"]
            man["fast_path"] = None
            man["manifest_sha256"] = None  # an unsigned manifest: identity recomputed
        proto = onnx.load_model(str(b / fname))
        for prop in proto.metadata_props:
            if prop.key == "postag.manifest_sha256":
                prop.value = "0" * 64
        onnx.save_model(proto, str(b / fname))
        man["files"][fname]["sha256"] = sha256_file(b / fname)
        (b / "manifest.json").write_text(json.dumps(man))
        with pytest.raises(BundleError, match="metadata does not match the manifest"):
            Tagger.load(b, provider="cpu")
    shutil.rmtree(b)
    shutil.copytree(toy_bundle[0], b)
    man = json.loads((b / "manifest.json").read_text())
    # an edited manifest (e.g. a changed tag list) is refused
    man["tags"] = list(reversed(man["tags"]))
    (b / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(BundleError, match="manifest was modified after export"):
        load_manifest(b)
    man["tags"] = list(reversed(man["tags"]))
    (b / "manifest.json").write_text(json.dumps(man))
    (b / "model.int8.onnx").write_bytes(b"garbage")
    with pytest.raises(BundleError, match="sha256 mismatch"):
        load_manifest(b)


def test_cuda_request_without_cuda_is_an_error_not_a_fallback(toy_bundle):
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        t = Tagger.load(toy_bundle[0], provider="cuda")
        assert t.provider == "CUDAExecutionProvider"
    else:
        with pytest.raises(BundleError, match="provider 'cuda' is not available"):
            Tagger.load(toy_bundle[0], provider="cuda")
        assert resolve_provider("auto") == "cpu"


@pytest.mark.skipif(
    "CUDAExecutionProvider" not in __import__("onnxruntime").get_available_providers(),
    reason="needs onnxruntime-gpu and a GPU (CUDAExecutionProvider not available here)",
)
def test_cuda_tags_equal_cpu_tags(toy_bundle, tagger):
    gpu = Tagger.load(toy_bundle[0], provider="cuda")
    assert resolve_provider("auto") == "cuda"
    sents = [["Alice", "saw", "Paris", "."], ["the", "dog"]]
    assert [r.tags for r in gpu.tag_batch(sents)] == [r.tags for r in tagger.tag_batch(sents)]


def test_int8_runs_the_quantised_fast_graph(toy_bundle, tagger):
    from postag.data import read_conllu
    from postag.session import FastModel

    t = Tagger.load(toy_bundle[0], provider="cpu", threads=1, quantized=True)
    assert isinstance(t.model, FastModel)
    assert t.model.path.name == "model.fast.int8.onnx"
    sents = [s.words for s in read_conllu(toy_bundle[2] / "toy-ud-test.conllu")]
    got = [tag for r in t.tag_batch(sents) for tag in r.tags]
    want = [tag for r in tagger.tag_batch(sents) for tag in r.tags]
    agree = sum(a == b for a, b in zip(got, want, strict=True)) / len(want)
    assert agree >= load_manifest(toy_bundle[0]).contract.int8_min_tag_agreement


def test_fp32_runs_the_fast_graph_with_the_plain_graphs_outputs(toy_bundle, tagger):
    """Known forms read the precomputed table, unknown ones run the char BiLSTM; both
    must give the plain model.onnx's log-probabilities."""
    from postag.session import FastModel, OnnxModel

    assert isinstance(tagger.model, FastModel)
    man = load_manifest(toy_bundle[0])
    plain = OnnxModel(man.path("model.onnx"), man.contract, "cpu", 1)
    forms = set(json.loads(man.path("char_forms.json").read_text()))
    known = [w for w in ["the", "a", "she", "runs", "."] if w in forms]
    unknown = ["Zyxwv", "qqqqing", "x" * 300, "東京"]
    assert len(known) >= 3 and not forms & set(unknown)
    enc = tagger.encoder
    for sents in ([known], [unknown], [known + unknown, unknown[:1], known[:2]]):
        batch = enc.encode(sents)
        feed = tagger.model.inputs(batch)
        n_new = len({w for s in sents for w in s} - forms)
        assert feed["new_chars"].shape[0] == max(1, n_new)  # only unknown forms run the BiLSTM
        real = np.arange(batch.word_ids.shape[1])[None, :] < batch.lengths[:, None]
        got, want = tagger.model.run(batch), plain.run(batch)
        for head in man.contract.heads:  # real tokens only: padding positions are unspecified
            np.testing.assert_allclose(got[head][real], want[head][real], atol=1e-5)


def test_fast_graph_refuses_a_form_list_of_another_size(toy_bundle):
    from postag.session import FastModel, load_forms

    man = load_manifest(toy_bundle[0])
    forms = load_forms(man.path("char_forms.json"))
    with pytest.raises(BundleError, match="rows"):
        FastModel(man.path("model.fast.onnx"), man.fast_path.contract, forms[:-1], "cpu", 1)
