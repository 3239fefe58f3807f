"""A tagger bundle with a trained segmenter (`postag export --segmenter`): the manifest
names it, the gate checks it against PyTorch on every document of the test split, the
runtime splits raw text with it, and an export whose segmenter graph disagrees with
PyTorch writes nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from postag.bundle import identity_sha256, load_manifest
from postag.cli import cli
from postag.contract import SEGMENTER_CONTRACT
from postag.errors import ParityError
from postag.export.bundle import SplitterSpec, build_bundle
from postag.export.segment.onnx_export import export_segmenter
from postag.export.slim import copied_files
from postag.segmentation import decode
from tests.conftest import toy_segmenter


@pytest.fixture(scope="module")
def bundle(segmenter_bundle) -> Path:
    return segmenter_bundle[0]


def test_the_manifest_names_the_segmenter_and_the_identity_covers_it(bundle: Path) -> None:
    man = load_manifest(bundle)
    sp = man.splitter
    assert (sp.kind, sp.mwt, sp.segmenter, sp.segmenter_config) == (
        "model",
        None,
        "segmenter.onnx",
        "segmenter.json",
    )
    assert sp.contract == SEGMENTER_CONTRACT
    ref = man.segmenter_checkpoint  # outside the identity, as the tagger's checkpoint
    assert ref is not None and (bundle / ref.path).resolve().is_file()
    assert {"segmenter.onnx", "segmenter.json"} <= set(man.files)
    sha = {n: e.sha256 for n, e in man.files.items()}
    for name in ("segmenter.onnx", "segmenter.json"):
        assert identity_sha256(man.data, {**sha, name: "0" * 64}) != man.identity
    # a slim bundle carries the splitter's files along
    assert {"segmenter.onnx", "segmenter.json"} <= set(copied_files(man))


def test_the_gate_checked_the_segmenter_on_every_test_document(bundle: Path) -> None:
    checks = json.loads((bundle / "manifest.json").read_text())["validation"]["checks"]
    mine = {c["case"]: c for c in checks if c["backend"] == "segmenter.onnx"}
    assert set(mine) == {"documents", "runtime load"}
    assert all(c["ok"] for c in mine.values())
    assert "documents of toy-ud-test.conllu" in mine["documents"]["detail"]
    assert "identical" in mine["documents"]["detail"]


def test_the_runtime_splits_raw_text_with_it(bundle: Path) -> None:
    from postag import Tagger

    tagger = Tagger.load(bundle, provider="cpu", threads=1)
    assert tagger.splitter.kind == "model"
    seg = tagger.splitter.segmenter
    assert seg is not None
    text = "The big dog sees a cat . She likes the park .\n\nBob runs quickly !"
    sents = tagger.tag_text(text)
    spans = decode(text, seg.labels(text))
    assert [(s.start[0], s.end[-1]) for s in sents] == spans.sentences
    got = [(a, b) for s in sents for a, b in zip(s.start, s.end, strict=True)]
    assert got == spans.tokens  # no multiword tokens in the toy corpus
    for s in sents:
        assert len(s.tags) == len(s.words) and s.words == [
            text[a:b] for a, b in zip(s.start, s.end, strict=True)
        ]


def test_info_and_eval_segmenter_say_it(bundle: Path, segmenter_bundle) -> None:
    res = CliRunner().invoke(cli, ["info", str(bundle)])
    assert "raw text: trained segmenter (segmenter.onnx, trained on toy)" in res.output
    corpus = segmenter_bundle[2]
    res = CliRunner().invoke(
        cli, ["--threads", "1", "eval-segmenter", str(bundle), "test", "--data", str(corpus)]
    )
    assert res.exit_code == 0, res.output
    rows = {line.split()[0]: line.split()[1:] for line in res.output.splitlines()[3:]}
    assert set(rows) == {"Tokens", "Sentences", "Words"}
    assert all(0 <= float(x) <= 100 for v in rows.values() for x in v)


def test_a_segmenter_graph_that_disagrees_with_pytorch_fails_the_export(
    segmenter_bundle, tmp_path: Path
) -> None:
    """The gate runs on what is about to be published: a graph from another training
    (other seed) in place of the exported one fails it (scores beyond the tolerance;
    characters labelled differently would be listed too), and nothing at the bundle's
    path changes."""
    from postag.data import read_conllu

    bundle, ckpt, corpus = segmenter_bundle
    seg = bundle.parent.parent / "seg.pt"  # the segmenter the fixture's bundle was made with
    other = toy_segmenter(corpus, tmp_path / "other.pt", seed=7, epochs=1)
    other_dir = export_segmenter(other, tmp_path / "other").onnx.parent
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "keep.txt").write_text("the previous bundle")

    def swap(tmp: Path) -> None:
        shutil.copyfile(other_dir / "segmenter.onnx", tmp / "segmenter.onnx")

    dev = read_conllu(corpus / "toy-ud-dev.conllu")
    with pytest.raises(ParityError) as err:
        build_bundle(
            ckpt,
            out,
            dev,
            splitter=SplitterSpec(segmenter=seg),
            splitter_gold=corpus / "toy-ud-test.conllu",
            threads=1,
            log=lambda _: None,
            tamper=swap,
        )
    assert "segmenter.onnx" in str(err.value) and "documents" in str(err.value)
    # both models learned the toy corpus, so the labels may agree: the scores do not
    assert "✗ segmenter.onnx" in str(err.value) and "> 0.0001" in str(err.value)
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
