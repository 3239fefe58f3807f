"""The suite must catch real drift: a vocabulary with two ids swapped, and a model whose
padding handling is broken (backward direction flipped over the padded length)."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from torch import Tensor

from postag.bundle import load_manifest, parse_manifest
from postag.errors import BundleError
from postag.files import sha256_file
from tests.parity.conftest import Subject
from tests.parity.test_parity import check


def test_swapped_vocabulary_ids_are_caught(subject, eager, backends, dev_sample, tmp_path):
    """Loading refuses a bundle whose vocabulary changed (the models carry the identity of
    the original); were it loaded anyway, the parity check would catch the drift."""
    from postag.export.backends import Backend

    bad = tmp_path / "bad"
    shutil.copytree(subject.root, bad)
    words = json.loads((bad / "words.json").read_text())
    words[2], words[3] = words[3], words[2]  # the two most frequent words trade ids
    (bad / "words.json").write_text(json.dumps(words))
    man = json.loads((bad / "manifest.json").read_text())
    man["files"]["words.json"]["sha256"] = sha256_file(bad / "words.json")
    (bad / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(BundleError, match="manifest was modified after export"):
        load_manifest(bad)
    drifted = Subject(parse_manifest(bad, man), subject.checkpoint, subject.dev)  # unchecked
    onnx_fp32: Backend = backends["onnx-fp32"]
    problems = [
        p
        for i in range(0, 64, 16)
        for p in check(drifted, eager, onnx_fp32, dev_sample[i : i + 16])
    ]
    heads = tuple(f"onnx-fp32 {h}: sentence" for h in subject.manifest.contract.heads)
    assert problems and all(p.startswith(heads) for p in problems)


def test_broken_padding_is_caught(subject, eager, dev_sample):
    """A TorchScript export of the same weights whose backward LSTM runs over the padded
    batch reversed as a whole (padding first): right alone, wrong inside a batch."""
    from postag.export.backends import Backend
    from postag.export.train import model as model_mod
    from postag.export.train.predict import model_keys, torch_heads_runner

    class LeakyBiLayer(model_mod.BiLayer):
        def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
            f, _ = self.fwd(x)
            b, _ = self.bwd(torch.flip(x, [1]))
            return torch.cat([f, torch.flip(b, [1])], 2)

    model = eager[0].model()
    for layer in model.layers:
        layer.__class__ = LeakyBiLayer
    run = torch_heads_runner(torch.jit.script(model), model_keys(model))
    broken = Backend("broken-padding", run, True)
    lengths = sorted({len(s) for s in dev_sample})
    assert len(lengths) > 1
    assert check(subject, eager, broken, [dev_sample[0]]) == []  # alone: still right
    mixed = sorted(dev_sample[:16], key=len)
    assert check(subject, eager, broken, mixed) != []  # in a padded batch: caught
