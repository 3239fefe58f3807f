"""The parity suite for the segmenter: PyTorch, the ONNX graph and the runtime's
``postag.segmenter`` give identical labels, tokens and sentences on every document of
the test split. ``make parity`` runs it on the real bundle (EWT test, 316 documents); by
default, on the toy bundle exported with a tiny segmenter (its test split)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import EWT


@pytest.fixture(scope="module")
def seg_subject(request):  # noqa: ANN201 - (manifest, checkpoint, gold CoNLL-U)
    from postag.bundle import load_manifest

    if env := os.environ.get("POSTAG_PARITY_BUNDLE"):
        man = load_manifest(env)
        if man.splitter.kind != "model":
            pytest.skip(f"{env} splits raw text with the rule tokenizer: no segmenter to check")
        gold = EWT / "en_ewt-ud-test.conllu"
        if not gold.exists():
            pytest.skip(f"the segmenter's parity needs the test split ({gold} is missing)")
    else:
        bundle, _, corpus = request.getfixturevalue("segmenter_bundle")
        man, gold = load_manifest(bundle), corpus / "toy-ud-test.conllu"
    ref = man.segmenter_checkpoint
    if ref is None:
        pytest.skip(f"{man.root}: the manifest records no segmenter checkpoint")
    ckpt = man.root / ref.path
    if not ckpt.is_file():
        pytest.skip(f"the segmenter checkpoint {ckpt} is not here (export it again)")
    return man, ckpt, gold


def test_onnx_equals_pytorch_on_every_test_document(seg_subject) -> None:
    from postag.export.segment.data import document_texts
    from postag.export.segment.onnx_export import check_segmenter_parity

    man, ckpt, gold = seg_subject
    texts = document_texts(gold.read_text(encoding="utf-8"))
    report = check_segmenter_parity(
        ckpt, man.path(man.splitter.segmenter), texts, log=lambda _: None, raise_on_failure=False
    )
    assert len(report.checks) == len(texts) > 0
    assert report.ok, "\n".join([report.verdict(), *(m.line() for m in report.mismatches)])


def test_the_runtime_segmenter_labels_as_pytorch_does(seg_subject) -> None:
    """What users run (postag.segmenter, from the bundle's files) against the checkpoint
    through the same windows: every character's label equal, on every document."""
    from postag.export.segment.data import document_texts
    from postag.export.segment.trainer import read_checkpoint, torch_predict
    from postag.segmentation import label_text
    from postag.segmenter import Segmenter

    man, ckpt, gold = seg_subject
    seg = Segmenter.load(
        man.path(man.splitter.segmenter), man.path(man.splitter.segmenter_config), threads=1
    )
    torch_ckpt = read_checkpoint(ckpt)
    predict, cfg = torch_predict(torch_ckpt.model), torch_ckpt.config
    bad = []
    for i, text in enumerate(document_texts(gold.read_text(encoding="utf-8"))):
        want = label_text(text, torch_ckpt.table, predict, cfg.size, cfg.context)
        got = seg.labels(text)
        if not np.array_equal(want, got):
            bad.append(f"document {i}: {int((want != got).sum())} characters differ")
    assert not bad, "\n".join(bad)
    assert Path(ckpt).is_file()
