"""Shared fixtures: tiny inline CoNLL-U and a toy corpus a small model learns in seconds."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

# A toy grammar: a tagger must use context for "saw"/"run"/"that" and characters for
# unseen "-ly"/"-ing" words (the dev/test split holds words the training split lacks).
LEXICON = {
    "DET": ["the", "a", "this", "every"],
    "ADJ": ["big", "small", "red", "quiet", "happy"],
    "NOUN": ["dog", "cat", "saw", "run", "park", "idea", "table"],
    "VERB": ["saw", "run", "likes", "sees", "finds", "takes"],
    "ADV": ["quickly", "slowly", "happily", "quietly"],
    "PRON": ["she", "he", "they", "it"],
    "ADP": ["in", "on", "near"],
    "PROPN": ["Alice", "Bob", "Paris"],
    "PUNCT": [".", "!"],
}
PATTERNS = [
    ["DET", "ADJ", "NOUN", "VERB", "DET", "NOUN", "PUNCT"],
    ["PRON", "VERB", "DET", "NOUN", "ADP", "DET", "NOUN", "PUNCT"],
    ["PROPN", "VERB", "ADV", "PUNCT"],
    ["DET", "NOUN", "VERB", "PROPN", "ADV", "PUNCT"],
    ["PRON", "ADV", "VERB", "DET", "ADJ", "NOUN", "PUNCT"],
]


#: XPOS and FEATS of the toy grammar, by UPOS (and by word where English makes them
#: differ), so the joint heads have something to learn from words and context.
XPOS = {"DET": "DT", "ADJ": "JJ", "NOUN": "NN", "VERB": "VBZ", "ADV": "RB", "PRON": "PRP",
        "ADP": "IN", "PROPN": "NNP", "PUNCT": "."}  # fmt: skip
FEATS = {"DET": "Definite=Def|PronType=Art", "ADJ": "Degree=Pos", "NOUN": "Number=Sing",
         "VERB": "Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin", "ADV": "_",
         "PRON": "Case=Nom|Number=Sing|Person=3|PronType=Prs", "ADP": "_",
         "PROPN": "Number=Sing", "PUNCT": "_"}  # fmt: skip
PAST = {"saw": ("VBD", "Mood=Ind|Tense=Past|VerbForm=Fin")}


def xpos_feats(word: str, upos: str) -> tuple[str, str]:
    if upos == "VERB" and word.lower() in PAST:
        return PAST[word.lower()]
    if upos == "DET" and word.lower() in ("a", "every"):
        return "DT", "Definite=Ind|PronType=Art" if word.lower() == "a" else "PronType=Tot"
    if upos == "PRON" and word.lower() == "they":
        return "PRP", "Case=Nom|Number=Plur|Person=3|PronType=Prs"
    return XPOS[upos], FEATS[upos]


def toy_sentences(n: int, seed: int) -> list[tuple[list[str], list[str]]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        tags = rng.choice(PATTERNS)
        words = [rng.choice(LEXICON[t]) for t in tags]
        words[0] = words[0][0].upper() + words[0][1:]
        out.append((words, tags))
    return out


def to_conllu(sentences: list[tuple[list[str], list[str]]], prefix: str = "s") -> str:
    blocks = []
    for k, (words, tags) in enumerate(sentences, start=1):
        lines = [f"# sent_id = {prefix}{k}", f"# text = {' '.join(words)}"]
        for i, (w, t) in enumerate(zip(words, tags, strict=True), start=1):
            xpos, feats = xpos_feats(w, t)
            lines.append(f"{i}\t{w}\t_\t{t}\t{xpos}\t{feats}\t{max(0, i - 1)}\tdep\t_\t_")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n\n"


def write_toy_corpus(root: Path, n_train: int = 300, n_dev: int = 60) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "toy-ud-train.conllu").write_text(to_conllu(toy_sentences(n_train, 1), "train"))
    (root / "toy-ud-dev.conllu").write_text(to_conllu(toy_sentences(n_dev, 2), "dev"))
    (root / "toy-ud-test.conllu").write_text(to_conllu(toy_sentences(n_dev, 3), "test"))
    return root


@pytest.fixture
def toy_corpus(tmp_path: Path) -> Path:
    return write_toy_corpus(tmp_path / "corpus")


@pytest.fixture(autouse=True)
def _no_shared_corpus_download(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never download anything: the cache points into tmp and the URL nowhere."""
    monkeypatch.setenv("POSTAG_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("POSTAG_DATA_URL", "http://127.0.0.1:9/")
    monkeypatch.delenv("POSTAG_DATA", raising=False)


REPO = Path(__file__).resolve().parents[1]
EWT = (REPO / ".." / "shared" / "data" / "ud-english-ewt").resolve()


def make_toy_bundle(
    root: Path,
    name: str,
    heads: tuple[str, ...],
    crf: tuple[str, ...] = (),
    vectors: str = "",
    splitter: object = None,
    train_segmenter: bool = False,
) -> tuple[Path, Path, Path]:
    """Train a tiny model with ``heads`` (``crf``: the heads a CRF decodes; ``vectors``:
    pretrained vectors, fine-tuned and concatenated) on the toy corpus and export it as a
    verified bundle (``splitter``: a ``postag.export.bundle.SplitterSpec``;
    ``train_segmenter``: a tiny segmenter trained on the toy corpus goes in, checked on
    its test split). Returns (bundle, checkpoint, corpus)."""
    from postag.data import read_conllu
    from postag.export.bundle import build_bundle
    from postag.export.train.config import ModelConfig, TrainConfig
    from postag.export.train.trainer import train

    corpus = write_toy_corpus(root / "corpus")
    dev = read_conllu(corpus / "toy-ud-dev.conllu")
    test = read_conllu(corpus / "toy-ud-test.conllu")
    ckpt = root / "m.pt"
    small = ModelConfig(
        word_dim=16,
        char_dim=8,
        char_hidden=8,
        hidden=16,
        layers=2,
        dropout=0.1,
        heads=heads,
        crf=crf,
        vectors=vectors,
        vectors_mode="finetune",
    )
    fast = TrainConfig(epochs=4, batch_size=16, lr=0.01, patience=4, threads=1)
    train_set = read_conllu(corpus / "toy-ud-train.conllu")
    train(train_set, dev, small, fast, checkpoint_path=ckpt, log=lambda _: None, progress=False)
    if train_segmenter:
        from postag.export.bundle import SplitterSpec

        splitter = SplitterSpec(segmenter=toy_segmenter(corpus, root / "seg.pt"))
    res = build_bundle(
        ckpt,
        root / "out" / name,
        dev,
        test,
        train_set,
        name=name,
        threads=1,
        log=lambda _: None,
        splitter=splitter,  # type: ignore[arg-type]
        splitter_gold=corpus / "toy-ud-test.conllu",
    )
    return res.path, ckpt, corpus


#: A tiny segmenter configuration: learns the toy corpus in seconds.
def tiny_segmenter_config(seed: int = 1, epochs: int = 3):  # noqa: ANN201 - SegmenterConfig
    from postag.export.segment.config import SegmenterConfig

    return SegmenterConfig(
        char_dim=8, hidden=16, layers=1, size=64, context=8, batch_size=8, lr=0.02, dropout=0.0,
        epochs=epochs, patience=3, min_char_count=1, threads=1, seed=seed,
    )  # fmt: skip


def toy_segmenter(corpus: Path, out: Path, seed: int = 1, epochs: int = 3) -> Path:
    """A tiny segmenter trained on the toy corpus's train and dev splits."""
    from postag.export.segment.trainer import train_segmenter

    files = (corpus / "toy-ud-train.conllu", corpus / "toy-ud-dev.conllu")
    train_segmenter(files, tiny_segmenter_config(seed, epochs), out, log=lambda _: None)
    return out


@pytest.fixture(scope="session")
def toy_bundle(tmp_path_factory):
    """The joint tagger (UPOS + XPOS + UFeats), tiny, trained on the toy corpus and
    exported as a verified bundle once per test session: (bundle, checkpoint, corpus)."""
    return make_toy_bundle(tmp_path_factory.mktemp("toy-bundle"), "toy", ("upos", "xpos", "feats"))


@pytest.fixture(scope="session")
def crf_bundle(tmp_path_factory):
    """The joint tagger with CRF decoding of UPOS and XPOS (Viterbi + marginals in the
    graphs), tiny, exported once per session: (bundle, checkpoint, corpus)."""
    return make_toy_bundle(
        tmp_path_factory.mktemp("crf-bundle"), "crf", ("upos", "xpos", "feats"), ("upos", "xpos")
    )


#: A tiny pretrained-vector source (most frequent first): toy-corpus words and words the
#: toy corpus lacks ("zebra", "gorgeously", "wolf"), 4 dimensions.
TOY_VECTOR_WORDS = [
    "the", "a", "dog", "cat", "in", "on", "she", "he", "quickly", "big",
    "zebra", "gorgeously", "wolf", "runs", "table", "park", "red", "they", "it", "sees",
]  # fmt: skip


def write_toy_vectors(root: Path) -> Path:
    """A directory with one .npy table and one .json word list (the --vectors layout)."""
    import json

    import numpy as np

    root.mkdir(parents=True, exist_ok=True)
    table = np.random.default_rng(0).normal(size=(len(TOY_VECTOR_WORDS), 4))
    np.save(root / "toy_emb.npy", table.astype(np.float32))
    (root / "toy_words.json").write_text(json.dumps(TOY_VECTOR_WORDS))
    return root


@pytest.fixture(scope="session")
def vectors_bundle(tmp_path_factory):
    """The joint tagger trained with tiny pretrained vectors (fine-tuned, concatenated,
    baked), exported as a verified bundle once per session: (bundle, checkpoint, corpus)."""
    root = tmp_path_factory.mktemp("vectors-bundle")
    vectors = write_toy_vectors(root / "vectors")
    return make_toy_bundle(root, "vec", ("upos", "xpos", "feats"), vectors=str(vectors))


#: The toy multiword-token lexicon: (surface, words) as a treebank's range lines give them.
TOY_MWT = [("don't", ["do", "n't"]), ("cannot", ["can", "not"]), ("Alice's", ["Alice", "'s"])]


@pytest.fixture(scope="session")
def mwt_bundle(tmp_path_factory):
    """The joint tagger exported with a multiword-token lexicon (:data:`TOY_MWT`): the
    rule tokenizer's pieces join into multiword tokens. (bundle, checkpoint, corpus)."""
    from postag.export.bundle import SplitterSpec
    from postag.mwt import MwtLexicon

    spec = SplitterSpec(MwtLexicon.learn(TOY_MWT))
    root = tmp_path_factory.mktemp("mwt-bundle")
    return make_toy_bundle(root, "mwt", ("upos", "xpos", "feats"), splitter=spec)


@pytest.fixture(scope="session")
def segmenter_bundle(tmp_path_factory):
    """The joint tagger exported with a tiny trained segmenter (splitter "model"), checked
    by the gate on the toy test split. (bundle, checkpoint, corpus)."""
    root = tmp_path_factory.mktemp("segmenter-bundle")
    return make_toy_bundle(root, "seg", ("upos", "xpos", "feats"), train_segmenter=True)


@pytest.fixture(scope="session")
def upos_bundle(tmp_path_factory):
    """A UPOS-only model (as every bundle was before the joint tagger, and the seed
    preset still is), tiny, exported once per session: (bundle, checkpoint, corpus)."""
    return make_toy_bundle(tmp_path_factory.mktemp("upos-bundle"), "upos", ("upos",))
