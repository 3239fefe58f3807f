"""A model trained with pretrained vectors goes through the whole pipeline as any other:
the gate passes, the runtime (no torch) gives a vector-only word its own row and agrees
with PyTorch, the slim bundle is made and gated, the card says what the embedding is."""

import json

import numpy as np
import torch
from click.testing import CliRunner

from postag.cli import cli
from postag.export.train.checkpoint import Checkpoint

SENTENCE = ["The", "zebra", "sees", "a", "wolf", "."]  # zebra, wolf: vectors only


def test_the_vectors_bundle_is_verified_and_tags_vector_only_words(vectors_bundle):
    from postag import Tagger

    bundle, ckpt_path, _ = vectors_bundle
    man = json.loads((bundle / "manifest.json").read_text())
    cfg = man["model_config"]
    assert cfg["vectors_baked"] and cfg["word_dim"] == 16 + 4
    assert man["validation"]["ok"]
    words = json.loads((bundle / "words.json").read_text())
    n = cfg["n_train_words"]
    assert len(words) == cfg["n_words"] > n and "zebra" in words[n:]
    ckpt = Checkpoint.load(ckpt_path)
    ids = ckpt.encoder().encode([SENTENCE])
    assert ids.word_ids[0, 1] == words.index("zebra") >= n  # its own row, not <unk>
    with torch.no_grad():
        want = ckpt.model()(
            *(torch.from_numpy(a) for a in (ids.word_ids, ids.char_ids, ids.lengths))
        )
    got = Tagger.load(bundle, provider="cpu", threads=1).tag(SENTENCE, probs=True)
    for head, lp in zip(("upos", "xpos", "feats"), want, strict=True):
        labels = man["tags"] if head == "upos" else man["labels"][head]
        assert got.labels(head) == [labels[i] for i in lp[0].argmax(-1).tolist()]
    assert "from the vectors" in (bundle / "MODEL_CARD.md").read_text()


def test_a_slim_bundle_of_the_vectors_model_passes_its_gate(vectors_bundle, tmp_path):
    bundle, _, corpus = vectors_bundle
    out = tmp_path / "slim"
    res = CliRunner().invoke(
        cli, ["--threads", "1", "slim", str(bundle), "--out", str(out), "--data", str(corpus)]
    )
    assert res.exit_code == 0, res.output
    man = json.loads((out / "manifest.json").read_text())
    assert man["model_config"]["vectors"] and (out / "words.json").exists()
    agreement = man["derived_from"]["measured"]["agreement"]
    assert min(agreement.values()) >= 0.98 and np.isfinite(list(agreement.values())).all()
