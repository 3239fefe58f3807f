"""The parity suite's subject: a bundle plus the checkpoint it was exported from.

By default (``make test``) the subject is the session's toy bundle (``toy_bundle``: a tiny
model trained on the toy corpus, always, so the suite is deterministic and fast).
``make parity`` points the suite at the real bundle with ``POSTAG_PARITY_BUNDLE`` (and
optionally ``POSTAG_PARITY_CHECKPOINT``; default: the path recorded in the manifest).
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from postag.bundle import Manifest, load_manifest
from tests.conftest import EWT


@dataclass
class Subject:
    manifest: Manifest
    checkpoint: Path
    dev: list[list[str]]  # real sentences for the fixed sample

    @property
    def root(self) -> Path:
        return self.manifest.root


def _real_bundle(path: str) -> Subject:
    """``make parity``: the real bundle; real dev sentences where the corpus is at hand."""
    from postag.data import read_conllu

    man = load_manifest(path)
    recorded = man.root / man.checkpoint.path if man.checkpoint else None
    ckpt = Path(os.environ.get("POSTAG_PARITY_CHECKPOINT") or str(recorded))
    dev_path = EWT / "en_ewt-ud-dev.conllu"
    dev = (
        [s.words for s in read_conllu(dev_path)]
        if dev_path.exists()
        else [s for _, sents in man.verification_cases() for s in sents]
    )
    return Subject(man, ckpt, dev)


@pytest.fixture(scope="session")
def subject(request) -> Subject:
    if env := os.environ.get("POSTAG_PARITY_BUNDLE"):
        return _real_bundle(env)
    from postag.data import read_conllu

    path, ckpt, corpus = request.getfixturevalue("toy_bundle")
    dev = [s.words for s in read_conllu(corpus / "toy-ud-dev.conllu")]
    return Subject(load_manifest(path), ckpt, dev)


@pytest.fixture(scope="session")
def dev_sample(subject) -> list[list[str]]:
    rng = random.Random(1234)
    return rng.sample(subject.dev, min(64, len(subject.dev)))


@pytest.fixture(scope="session")
def eager(subject):
    from postag.export.train.checkpoint import Checkpoint
    from postag.export.train.predict import model_keys, torch_heads_runner
    from postag.files import sha256_file

    recorded = subject.manifest.checkpoint
    assert recorded is not None, "the manifest records no checkpoint"
    assert sha256_file(subject.checkpoint) == recorded.sha256, "not the bundle's checkpoint"
    ckpt = Checkpoint.load(subject.checkpoint)
    model = ckpt.model()
    return ckpt, torch_heads_runner(model, model_keys(model))


@pytest.fixture(scope="session")
def backends(subject):
    from postag.export.backends import bundle_backends, cuda_available

    return {
        b.name: b
        for b in bundle_backends(
            subject.root, subject.manifest.contract, threads=1, cuda=cuda_available()
        )
    }
