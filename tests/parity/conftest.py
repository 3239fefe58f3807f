"""The parity suite's subject: a bundle plus the checkpoint it was exported from.

By default (CI) a small model is trained and exported once per session: on a slice of
EWT when ``../shared/data/ud-english-ewt`` exists, else on the toy corpus. ``make parity``
points the suite at the real bundle instead with ``POSTAG_PARITY_BUNDLE`` (and optionally
``POSTAG_PARITY_CHECKPOINT``; default: the path recorded in the manifest).
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from postag.bundle import Manifest, load_manifest
from tests.conftest import EWT, write_toy_corpus


@dataclass
class Subject:
    manifest: Manifest
    checkpoint: Path
    dev: list[list[str]]  # real sentences for the fixed sample

    @property
    def root(self) -> Path:
        return self.manifest.root


def _train_small(root: Path) -> tuple[Path, Path, list]:
    from postag.data import read_conllu
    from postag.export.bundle import build_bundle
    from postag.export.config import ModelConfig, TrainConfig
    from postag.export.trainer import train

    if EWT.is_dir():
        train_set = read_conllu(EWT / "en_ewt-ud-train.conllu")[:1500]
        dev = read_conllu(EWT / "en_ewt-ud-dev.conllu")[:300]
    else:
        corpus = write_toy_corpus(root / "corpus")
        train_set = read_conllu(corpus / "toy-ud-train.conllu")
        dev = read_conllu(corpus / "toy-ud-dev.conllu")
    small = ModelConfig(word_dim=24, char_dim=12, char_hidden=12, hidden=24, layers=2, dropout=0.1)
    fast = TrainConfig(epochs=2, batch_size=32, lr=0.01, patience=2, threads=1)
    ckpt = root / "parity.pt"
    train(train_set, dev, small, fast, checkpoint_path=ckpt, log=lambda _: None, progress=False)
    res = build_bundle(
        ckpt, root / "bundle", dev, train=train_set, name="parity", threads=1, log=lambda _: None
    )
    return res.path, ckpt, dev


@pytest.fixture(scope="session")
def subject(tmp_path_factory) -> Subject:
    env = os.environ.get("POSTAG_PARITY_BUNDLE")
    if env:
        man = load_manifest(env)
        ckpt = Path(
            os.environ.get("POSTAG_PARITY_CHECKPOINT") or man.root / man.data["checkpoint"]["path"]
        )
        from postag.data import read_conllu

        dev_path = EWT / "en_ewt-ud-dev.conllu"
        dev = (
            [s.words for s in read_conllu(dev_path)]
            if dev_path.exists()
            else [s for _, sents in man.verification_cases() for s in sents]
        )
        return Subject(man, ckpt, dev)
    path, ckpt, dev = _train_small(tmp_path_factory.mktemp("parity"))
    return Subject(load_manifest(path), ckpt, [s.words for s in dev])


@pytest.fixture(scope="session")
def dev_sample(subject) -> list[list[str]]:
    rng = random.Random(1234)
    return rng.sample(subject.dev, min(64, len(subject.dev)))


@pytest.fixture(scope="session")
def eager(subject):
    from postag.export.checkpoint import Checkpoint
    from postag.export.predict import torch_runner
    from postag.files import sha256_file

    recorded = subject.manifest.data["checkpoint"]["sha256"]
    assert sha256_file(subject.checkpoint) == recorded, "not the bundle's checkpoint"
    ckpt = Checkpoint.load(subject.checkpoint)
    return ckpt, torch_runner(ckpt.model())


@pytest.fixture(scope="session")
def backends(subject):
    from postag.export.backends import bundle_backends, cuda_available

    return {
        b.name: b
        for b in bundle_backends(
            subject.root, subject.manifest.contract, threads=1, cuda=cuda_available()
        )
    }
