import torch

from postag.data import read_conllu
from postag.export.train.checkpoint import Checkpoint
from postag.export.train.config import ModelConfig, TrainConfig
from postag.export.train.evaluate import evaluate_checkpoint
from postag.export.train.trainer import bucketed, train

SMALL = ModelConfig(word_dim=16, char_dim=8, char_hidden=8, hidden=16, layers=1, dropout=0.1)
FAST = TrainConfig(epochs=6, batch_size=16, lr=0.01, patience=6, threads=1, max_minutes=5)


JOINT = SMALL.replace(heads=("upos", "xpos", "feats"))


def _train(corpus, model=SMALL, **changes):
    tr = read_conllu(corpus / "toy-ud-train.conllu")
    dv = read_conllu(corpus / "toy-ud-dev.conllu")
    return train(tr, dv, model, FAST.replace(**changes), log=lambda _: None, progress=False)


def test_tiny_training_run_learns_the_toy_corpus(toy_corpus, tmp_path):
    ckpt = _train(toy_corpus)
    assert ckpt.metrics["dev_accuracy"] > 0.95
    assert ckpt.history[-1]["loss"] < ckpt.history[0]["loss"]
    test = read_conllu(toy_corpus / "toy-ud-test.conllu")
    result = evaluate_checkpoint(ckpt, test)
    assert result.upos.accuracy > 0.95
    # words like "saw" are tagged from context: both readings occur in the test set
    saw = {
        ckpt.tags.items[p]
        for s, ps in zip(test, result.predicted["upos"], strict=True)
        for w, p in zip(s.words, ps, strict=True)
        if w == "saw"
    }
    assert saw == {"NOUN", "VERB"}


def test_joint_heads_learn_xpos_and_feats(toy_corpus):
    """The joint tagger learns all three heads; AllTags ≤ every head; the UFeats head
    predicts whole FEATS strings (valid ones: "_" or sorted Feature=Value pairs)."""
    ckpt = _train(toy_corpus, JOINT, epochs=8, patience=8)
    assert ckpt.model_config.heads == ("upos", "xpos", "feats")
    test = read_conllu(toy_corpus / "toy-ud-test.conllu")
    result = evaluate_checkpoint(ckpt, test)
    for head in ("upos", "xpos", "feats"):
        assert result.heads[head].accuracy > 0.9, head
    assert result.all_tags <= min(s.accuracy for s in result.heads.values())
    assert result.all_tags > 0.85
    # "saw" as a verb is VBD with Tense=Past: the context decides XPOS and FEATS too
    labels = ckpt.labels()
    for s, i in zip(test, range(len(test)), strict=True):
        for j, w in enumerate(s.words):
            if w == "saw" and s.tags[j] == "VERB":
                assert labels["xpos"].items[result.predicted["xpos"][i][j]] == "VBD"
    for f in labels["feats"].items:
        pairs = f.split("|")
        assert f == "_" or (pairs == sorted(pairs) and all("=" in p for p in pairs))


def test_loss_weights_change_training(toy_corpus):
    a = _train(toy_corpus, JOINT, epochs=1)
    b = _train(toy_corpus, JOINT, epochs=1, feats_weight=0.0)
    assert a.history[0]["loss"] != b.history[0]["loss"]


def test_epoch_budget_and_what_stopped_training(toy_corpus):
    ckpt = _train(toy_corpus, epochs=2, patience=5)
    assert ckpt.metrics["epochs_run"] == 2 and ckpt.metrics["stopped_by"] == "epochs"
    capped = _train(toy_corpus, epochs=5, patience=5, max_minutes=1e-6)
    assert capped.metrics["epochs_run"] == 1 and capped.metrics["stopped_by"] == "time_cap"


def test_same_seed_same_result_and_weights_only_checkpoint(toy_corpus, tmp_path):
    a = _train(toy_corpus, JOINT, epochs=2, seed=7, threads=2)  # 2 threads: the default
    b = _train(toy_corpus, JOINT, epochs=2, seed=7, threads=2)
    assert a.metrics["dev_accuracy"] == b.metrics["dev_accuracy"]
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]
    for k, v in a.state_dict.items():
        assert torch.equal(v, b.state_dict[k]), k
    a.save(tmp_path / "a.pt")
    raw = torch.load(tmp_path / "a.pt", weights_only=True)  # plain data only
    assert raw["vocab"]["tags"] == a.tags.items
    loaded = Checkpoint.load(tmp_path / "a.pt")
    assert loaded.model_config == a.model_config and loaded.words == a.words


def test_seed_preset_trains_with_sgd(toy_corpus):
    ckpt = _train(toy_corpus, optimizer="sgd", lr=0.1, batch_size=1, epochs=1, word_dropout=0)
    assert 0 < ckpt.metrics["dev_accuracy"] <= 1


def test_buckets_cover_every_sentence_once():
    import random

    lengths = [5, 1, 9, 3, 3, 7, 2]
    batches = bucketed(lengths, 3, random.Random(0))
    assert sorted(i for b in batches for i in b) == list(range(7))
    assert all(len(b) <= 3 for b in batches)


def test_crf_training_learns_and_counts_unseen_bigrams(toy_corpus):
    """A CRF over UPOS and XPOS trains on the toy corpus, and eval counts, per head, the
    sentences whose labels hold a bigram the training labels lack (counted here again
    from the label strings)."""
    ckpt = _train(toy_corpus, JOINT.replace(crf=("upos", "xpos")), epochs=8, patience=8)
    tr = read_conllu(toy_corpus / "toy-ud-train.conllu")
    test = read_conllu(toy_corpus / "toy-ud-test.conllu")
    result = evaluate_checkpoint(ckpt, test, train=tr)
    assert result.upos.accuracy > 0.9 and result.heads["xpos"].accuracy > 0.9
    labels = ckpt.labels()
    for head in ("upos", "xpos", "feats"):
        seen = {p for s in tr for p in zip(s.labels(head), s.labels(head)[1:], strict=False)}
        pred = [[labels[head].items[i] for i in ids] for ids in result.predicted[head]]
        want = sum(any(p not in seen for p in zip(x, x[1:], strict=False)) for x in pred)
        gold = sum(
            any(p not in seen for p in zip(s.labels(head), s.labels(head)[1:], strict=False))
            for s in test
        )
        assert result.unseen_bigrams[head] == want, head
        assert result.gold_unseen_bigrams[head] == gold, head
    assert "never seen in training" in result.summary()
