"""Distillation (export/train/distill.py) and the trainer's use of it, on the toy corpus."""

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from postag.cli import cli
from postag.data import read_conllu
from postag.errors import ConfigError
from postag.export.train.checkpoint import Checkpoint
from postag.export.train.config import ModelConfig, TrainConfig
from postag.export.train.distill import teacher_targets
from postag.export.train.trainer import batch_loss, train

SMALL = ModelConfig(
    word_dim=16, char_dim=8, char_hidden=8, hidden=16, layers=1, dropout=0.1,
    heads=("upos", "xpos", "feats"),
)  # fmt: skip
FAST = TrainConfig(epochs=2, batch_size=16, lr=0.01, patience=2, threads=1, max_minutes=5)


def _sets(corpus):
    return (
        read_conllu(corpus / "toy-ud-train.conllu"),
        read_conllu(corpus / "toy-ud-dev.conllu"),
    )


@pytest.fixture
def teachers(toy_corpus, tmp_path):
    """Two teacher checkpoints (seeds 1 and 2) trained on the toy corpus."""
    tr, dv = _sets(toy_corpus)
    paths = []
    for seed in (1, 2):
        ckpt = train(tr, dv, SMALL, FAST.replace(seed=seed), log=lambda _: None, progress=False)
        ckpt.save(tmp_path / f"t{seed}.pt")
        paths.append(str(tmp_path / f"t{seed}.pt"))
    return paths


def test_targets_are_the_teachers_mean_distribution(toy_corpus, teachers):
    tr, _ = _sets(toy_corpus)
    labels = Checkpoint.load(teachers[0]).labels()
    both = teacher_targets(teachers, tr, labels)
    one = [teacher_targets([p], tr, labels) for p in teachers]
    assert len(both) == len(tr)
    for i, s in enumerate(tr):
        for head in ("upos", "xpos", "feats"):
            q = both[i][head]
            assert q.shape == (len(s.words), len(labels[head]))
            np.testing.assert_allclose(q.sum(1), 1.0, atol=1e-5)  # a distribution per word
            np.testing.assert_allclose(q, (one[0][i][head] + one[1][i][head]) / 2, atol=1e-6)
    # two different seeds do not agree exactly: the mean is not either teacher's
    assert not np.allclose(both[0]["upos"], one[0][0]["upos"])


def test_teachers_with_other_labels_are_refused(toy_corpus, teachers, tmp_path):
    tr, _ = _sets(toy_corpus)
    ckpt = Checkpoint.load(teachers[0])
    labels = dict(ckpt.labels())
    labels["upos"] = type(labels["upos"])(["NOUN", "VERB"], specials=False)
    with pytest.raises(ConfigError, match="UPOS labels differ"):
        teacher_targets(teachers, tr, labels)
    with pytest.raises(ConfigError, match="at least one teacher"):
        teacher_targets([], tr, labels)


def test_distill_weight_mixes_gold_and_teacher_losses(toy_corpus, teachers):
    """weight 0 = the plain loss; weight 1 = cross-entropy against the soft targets only;
    in between, the mix of the two."""
    tr, _ = _sets(toy_corpus)
    ckpt = Checkpoint.load(teachers[0])
    model, encoder, labels = ckpt.model(), ckpt.encoder(), ckpt.labels()
    soft_all = teacher_targets(teachers[1:], tr, labels)
    batch = tr[:4]
    sents = [s.words for s in batch]
    gold = {h: [[v.id(t) for t in s.labels(h)] for s in batch] for h, v in labels.items()}
    soft = {h: [soft_all[i][h] for i in range(4)] for h in labels}
    weights = {"upos": 1.0, "xpos": 1.0, "feats": 1.0}
    drop = torch.zeros(len(ckpt.words))
    with torch.no_grad():
        plain, n = batch_loss(model, encoder, sents, gold, drop, weights)
        w0, _ = batch_loss(model, encoder, sents, gold, drop, weights, soft, 0.0)
        w1, _ = batch_loss(model, encoder, sents, gold, drop, weights, soft, 1.0)
        half, _ = batch_loss(model, encoder, sents, gold, drop, weights, soft, 0.5)
    torch.testing.assert_close(w0, plain)
    torch.testing.assert_close(half, (plain + w1) / 2)
    # weight 1 by hand: -sum q log p over the batch's words, per word, summed over heads
    out = model(
        *(torch.from_numpy(a) for a in (encoder.encode(sents).word_ids,
                                        encoder.encode(sents).char_ids,
                                        encoder.encode(sents).lengths))
    )  # fmt: skip
    expect = 0.0
    for head, lp in zip(("upos", "xpos", "feats"), out, strict=True):
        for row, q in enumerate(soft[head]):
            expect += -(torch.from_numpy(q) * lp[row, : len(q)]).sum().item()
    assert w1.item() == pytest.approx(expect / n, rel=1e-5)


def test_a_student_trains_and_records_its_teachers(toy_corpus, teachers, tmp_path):
    res = CliRunner().invoke(
        cli,
        ["train", "--data", str(toy_corpus), "--out", str(tmp_path / "s.pt"), "--epochs", "2",
         "--hidden", "16", "--word-dim", "16", "--char-dim", "8", "--char-hidden", "8",
         "--layers", "1", "--threads", "1", "--lr", "0.01", "--batch-size", "16",
         "--vectors", "none", "--distill-from", ",".join(teachers),
         "--distill-weight", "0.7", "--adam-beta2", "0.95"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "distilling from 2 teacher(s), weight 0.7" in res.output
    ckpt = Checkpoint.load(tmp_path / "s.pt")
    tc = ckpt.train_config
    assert tc.distill_from == tuple(teachers) and tc.distill_weight == 0.7
    assert tc.adam_beta2 == 0.95
    assert TrainConfig.from_dict(tc.to_dict()) == tc  # round-trips (a list in JSON)
    assert ckpt.metrics["dev_accuracy"] > 0.5


def test_bad_distillation_settings_fail_in_words(toy_corpus, tmp_path):
    res = CliRunner().invoke(
        cli,
        ["train", "--data", str(toy_corpus), "--out", str(tmp_path / "s.pt"), "--epochs", "1",
         "--vectors", "none", "--distill-from", str(tmp_path / "missing.pt")],
    )  # fmt: skip
    assert res.exit_code != 0 and "missing.pt: no such checkpoint" in res.output
    assert "Traceback" not in res.output
    with pytest.raises(ConfigError, match="distill_weight"):
        TrainConfig(distill_weight=1.5)
    with pytest.raises(ConfigError, match="adam_beta2"):
        TrainConfig(adam_beta2=1.0)


def test_weight_zero_trains_the_very_model_of_no_distillation(toy_corpus, teachers):
    """Loading and running the teachers leaves torch's random state alone: with weight 0
    the student's weights equal those of the same seed without teachers, bit for bit."""
    tr, dv = _sets(toy_corpus)
    quiet = {"log": lambda _: None, "progress": False}
    plain = train(tr, dv, SMALL, FAST, **quiet)
    zero = train(tr, dv, SMALL, FAST.replace(distill_from=tuple(teachers), distill_weight=0.0),
                 **quiet)  # fmt: skip
    assert plain.state_dict.keys() == zero.state_dict.keys()
    for k, v in plain.state_dict.items():
        assert torch.equal(v, zero.state_dict[k]), k
    half = train(tr, dv, SMALL, FAST.replace(distill_from=tuple(teachers)), **quiet)
    assert any(not torch.equal(v, half.state_dict[k]) for k, v in plain.state_dict.items())


def test_teachers_are_refused_when_they_cannot_teach(toy_corpus, teachers, tmp_path):
    tr, dv = _sets(toy_corpus)
    quiet = {"log": lambda _: None, "progress": False}
    with pytest.raises(ConfigError, match="listed twice"):
        train(tr, dv, SMALL, FAST.replace(distill_from=(teachers[0], teachers[0])), **quiet)
    with pytest.raises(ConfigError, match="CRF"):
        train(tr, dv, SMALL.replace(crf=("upos",)), FAST.replace(distill_from=(teachers[0],)),
              **quiet)  # fmt: skip
    crf = train(tr, dv, SMALL.replace(crf=("upos",)), FAST, **quiet)
    crf.save(tmp_path / "crf.pt")
    with pytest.raises(ConfigError, match="UPOS is decoded by a CRF"):
        train(tr, dv, SMALL, FAST.replace(distill_from=(str(tmp_path / "crf.pt"),)), **quiet)
    # the same labels but other training forms (another corpus, another --min-freq)
    ckpt = Checkpoint.load(teachers[0])
    forms = ckpt.words.items[: ckpt.training_words()]
    assert teacher_targets(teachers[:1], tr[:2], ckpt.labels(), forms)  # its own: accepted
    with pytest.raises(ConfigError, match="training forms differ"):
        teacher_targets(teachers[:1], tr[:2], ckpt.labels(), forms[:-1])


def test_distillation_options_without_their_setting_are_refused(toy_corpus, tmp_path):
    for args, says in (
        (["--distill-weight", "0.3"], "--distill-weight needs --distill-from"),
        (["--optimizer", "sgd", "--adam-beta2", "0.9"], "--adam-beta2 is Adam's"),
    ):
        res = CliRunner().invoke(
            cli, ["train", "--data", str(toy_corpus), "--out", str(tmp_path / "s.pt"), *args]
        )
        assert res.exit_code == 2 and says in res.output and "Traceback" not in res.output
        assert not (tmp_path / "s.pt").exists()
