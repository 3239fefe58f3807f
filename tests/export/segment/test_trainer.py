"""postag.export.segment.trainer: training on a tiny generated treebank (inline CoNLL-U
written to tmp), dev scores as postag.conll18 computes them, reproducibility, and the
checkpoint's round trip and typed errors."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from postag.conll18 import parse_treebank
from postag.export.segment.config import SegmenterConfig
from postag.export.segment.data import document_from_conllu
from postag.export.segment.trainer import (
    epoch_windows,
    load_segmenter,
    read_checkpoint,
    save_checkpoint,
    score_segments,
    segment,
    torch_predict,
    train_segmenter,
    treebank_files,
    treebank_name,
)
from postag.export.train.checkpoint import CheckpointError
from postag.mwt import MwtLexicon
from postag.segmentation import CharTable, decode

#: Tokens by slot, space-separated; "du" and "don't" are multiword tokens (words after ":").
SUBJECTS = ["Il", "Marie", "The cat", "Paul", "We"]
VERBS = ["parle", "eats", "sees", "don't:do_n't", "likes"]
OBJECTS = ["du:de_le vin", "the fish", "a dog", "du:de_le pain", "them"]
ENDS = [".", "!", "?"]

TINY = SegmenterConfig(
    char_dim=8, hidden=16, layers=1, size=64, context=8, batch_size=8, lr=0.02, dropout=0.0,
    epochs=3, patience=3, min_char_count=1, threads=1,
)  # fmt: skip


def _token_lines(tokens: list[tuple[str, str]]) -> list[str]:
    """(surface, "w1 w2" or "") per token → CoNLL-U word lines (ranges for multiword)."""
    rows, i = [], 1
    for k, (surface, words) in enumerate(tokens):
        misc = "SpaceAfter=No" if k + 1 < len(tokens) and tokens[k + 1][0] in ENDS else "_"
        if words:
            parts = words.split()
            rows.append(f"{i}-{i + len(parts) - 1}\t{surface}\t_\t_\t_\t_\t_\t_\t_\t{misc}")
            for w in parts:
                rows.append(f"{i}\t{w}\t_\tX\t_\t_\t{0 if i == 1 else 1}\tdep\t_\t_")
                i += 1
        else:
            head = 0 if i == 1 else 1
            rows.append(
                f"{i}\t{surface}\t_\tX\t_\t_\t{head}\t{'root' if i == 1 else 'dep'}\t_\t{misc}"
            )
            i += 1
    return rows


def corpus(n: int, seed: int) -> str:
    """``n`` generated sentences as CoNLL-U: a paragraph every 4 sentences, a sentence
    sometimes without a final mark (so that not every split is after punctuation)."""
    rng = random.Random(seed)
    blocks = []
    for k in range(n):
        tokens: list[tuple[str, str]] = []
        for slot in (SUBJECTS, VERBS, OBJECTS):
            for token in rng.choice(slot).split():
                surface, _, words = token.partition(":")
                tokens.append((surface, words.replace("_", " ")))
        if rng.random() < 0.8:
            tokens.append((rng.choice(ENDS), ""))
        text, rows = "", _token_lines(tokens)
        for j, (surface, _) in enumerate(tokens):
            text += ("" if j == 0 or surface in ENDS else " ") + surface
        head = ["# newpar"] if k % 4 == 0 else []
        blocks.append("\n".join([*head, f"# sent_id = s{seed}-{k}", f"# text = {text}", *rows]))
    return "\n\n".join(blocks) + "\n\n"


def write_treebank(root: Path, n_train: int = 60, n_dev: int = 20, repeat: int = 1) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "xx_tiny-ud-train.conllu").write_text(corpus(n_train, 1) * repeat)
    (root / "xx_tiny-ud-dev.conllu").write_text(corpus(n_dev, 2))
    return root


def test_the_fixture_is_a_valid_treebank():
    doc = document_from_conllu(corpus(12, 1))
    assert decode(doc.text, doc.labels).tokens == doc.tokens
    assert len(doc.sentences) == 12 and len(doc.paragraphs) == 3
    assert doc.counts()["mwt"] + doc.counts()["mwt_sentence"] > 0


def test_treebank_files_and_name(tmp_path):
    root = write_treebank(tmp_path / "tb")
    train, dev = treebank_files(root)
    assert (train.name, dev.name) == ("xx_tiny-ud-train.conllu", "xx_tiny-ud-dev.conllu")
    assert treebank_files([train, dev]) == (train, dev)
    assert treebank_name(train) == "xx_tiny" and treebank_name(Path("a.conllu")) == "a"
    from postag.errors import CorpusError

    with pytest.raises(CorpusError, match=r"expected one \*-ud-train.conllu"):
        treebank_files(tmp_path)


def test_epoch_windows_tile_the_text_from_a_random_offset():
    rng = random.Random(0)
    for n in (1, 63, 64, 65, 1000):
        spans = epoch_windows(n, 64, rng)
        assert sorted(spans)[0][0] == 0 and sorted(spans)[-1][1] == n
        assert sum(b - a for a, b in spans) == n and all(0 < b - a <= 64 for a, b in spans)
        cuts = sorted(spans)
        assert all(a[1] == b[0] for a, b in zip(cuts, cuts[1:], strict=False))


def test_training_learns_and_the_checkpoint_round_trips(tmp_path):
    """A learnable run (the train text repeated, dev = train) reaches high dev Tokens and
    Sentences F1; the checkpoint holds the best epoch's weights and its metrics, which
    the runtime path (label_text + decode) reproduces."""
    root = write_treebank(tmp_path / "tb", n_train=40, repeat=6)
    train = root / "xx_tiny-ud-train.conllu"
    out = tmp_path / "seg.pt"
    logs: list[str] = []
    cfg = TINY.replace(epochs=6, patience=6)
    metrics = train_segmenter([train, train], cfg, out, log=logs.append)
    assert metrics["dev_tokens_f1"] > 0.97, logs
    assert metrics["dev_sentences_f1"] > 0.8, logs
    assert metrics["epochs_run"] == 6 and metrics["stopped_by"] == "epochs"
    assert len(logs) == 7 and "*best" in logs[metrics["best_epoch"]]

    model, config, table, lexicon, saved = load_segmenter(out)
    assert saved == metrics and config == cfg.replace(n_chars=len(table))
    assert not model.training
    assert lexicon.expand("du") == ["de", "le"] and lexicon.expand("don't") == ["do", "n't"]
    doc = document_from_conllu(train.read_text())
    segs = segment(doc.text, table, torch_predict(model), config)
    gold = parse_treebank(train.read_text())
    result = score_segments(gold, doc.text, segs, lexicon)
    assert result.tokens.f1 == pytest.approx(metrics["dev_tokens_f1"])
    assert result.sentences.f1 == pytest.approx(metrics["dev_sentences_f1"])
    assert result.words.f1 == pytest.approx(metrics["dev_words_f1"])
    ckpt = read_checkpoint(out)
    assert ckpt.treebank == "xx_tiny" and len(ckpt.history) == 6


def test_scores_are_the_conll18_scores():
    """Gold labels score 100 on everything; one merged token and one missed sentence
    end cost exactly what postag.conll18 says."""
    text = corpus(8, 3)
    doc, gold = document_from_conllu(text), parse_treebank(text)
    lexicon = MwtLexicon.learn([("du", ("de", "le")), ("don't", ("do", "n't"))])
    perfect = score_segments(gold, doc.text, decode(doc.text, doc.labels), lexicon)
    assert (perfect.tokens.f1, perfect.sentences.f1, perfect.words.f1) == (1.0, 1.0, 1.0)
    labels = doc.labels.copy()
    first_end = doc.sentences[0][1] - 1
    labels[first_end] = 1  # SENTENCE → TOKEN: two sentences become one (same paragraph)
    result = score_segments(gold, doc.text, decode(doc.text, labels), lexicon)
    assert result.tokens.f1 == 1.0
    assert (result.sentences.correct, result.sentences.system) == (6, 7)


def test_same_seed_same_weights_other_seed_other_weights(tmp_path):
    root = write_treebank(tmp_path / "tb", n_train=20, n_dev=6)
    quiet = {"log": lambda _: None}
    cfg = TINY.replace(epochs=2, dropout=0.2)
    train_segmenter(root, cfg, tmp_path / "a.pt", **quiet)
    train_segmenter(root, cfg, tmp_path / "b.pt", **quiet)
    train_segmenter(root, cfg.replace(seed=2), tmp_path / "c.pt", **quiet)
    a, b, c = (read_checkpoint(tmp_path / f"{x}.pt").model.state_dict() for x in "abc")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_bad_checkpoints_are_typed_errors(tmp_path):
    with pytest.raises(CheckpointError, match="no such segmenter checkpoint"):
        load_segmenter(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a loadable checkpoint"):
        load_segmenter(tmp_path / "junk.pt")
    torch.save({"format": "something-else"}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a postag-segmenter/1 file"):
        load_segmenter(tmp_path / "other.pt")
    # a valid file whose parts do not fit: config vs table, weights vs config, bad keys
    table = CharTable.build(["abc abc"], min_count=1)
    cfg = TINY.replace(n_chars=len(table))
    from postag.export.segment.model import Segmenter

    state = Segmenter(cfg).state_dict()
    lex = MwtLexicon()
    save_checkpoint(tmp_path / "ok.pt", cfg, state, table, lex, {})
    assert read_checkpoint(tmp_path / "ok.pt").config == cfg
    cases = {
        "table.pt": (cfg.replace(n_chars=len(table) + 1), state, "characters for n_chars"),
        "weights.pt": (cfg.replace(hidden=4), state, "size mismatch"),
    }
    for name, (c, s, message) in cases.items():
        save_checkpoint(tmp_path / name, c, s, table, lex, {})
        with pytest.raises(CheckpointError, match=f"(?s)malformed segmenter checkpoint.*{message}"):
            load_segmenter(tmp_path / name)
    data = torch.load(tmp_path / "ok.pt", weights_only=True)
    data["config"]["hiden"] = 3
    torch.save(data, tmp_path / "key.pt")
    with pytest.raises(CheckpointError, match=r"unknown field\(s\) \['hiden'\]"):
        load_segmenter(tmp_path / "key.pt")
    del data["config"]["hiden"], data["mwt"]
    torch.save(data, tmp_path / "nomwt.pt")
    with pytest.raises(CheckpointError, match="'mwt'"):
        load_segmenter(tmp_path / "nomwt.pt")


def test_training_refuses_an_empty_dev_text(tmp_path):
    from postag.errors import CorpusError

    root = write_treebank(tmp_path / "tb", n_train=4, n_dev=1)
    (root / "xx_tiny-ud-dev.conllu").write_text("")
    with pytest.raises(CorpusError, match="non-empty train and dev"):
        train_segmenter(root, TINY, tmp_path / "x.pt", log=lambda _: None)
    assert not (tmp_path / "x.pt").exists()


def test_labels_are_uint8_per_character(tmp_path):
    """The runtime path on an unseen text: one label per character, spans inside it."""
    root = write_treebank(tmp_path / "tb", n_train=10, n_dev=4)
    train_segmenter(root, TINY.replace(epochs=1), tmp_path / "m.pt", log=lambda _: None)
    model, cfg, table, _, _ = load_segmenter(tmp_path / "m.pt")
    text = "Zoë mange du pain. " * 30  # unknown characters, longer than one window
    segs = segment(text, table, torch_predict(model), cfg)
    assert all(0 <= s < e <= len(text) for s, e in segs.tokens)
    assert segs.sentences and segs.sentences[-1][1] == len(text.rstrip())
    assert np.all(np.diff([s for s, _ in segs.tokens]) > 0)
