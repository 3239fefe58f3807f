"""The model shipped inside postag (runtime/models/en-ewt, `make default-model`): its files
are the ones its manifest hashes, it carries the full bundle's identity and its record of
what was measured, it fits in a wheel, and `Tagger.load()` / `postag tag` / `postag info`
use it with no argument."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest
from click.testing import CliRunner

from postag import Tagger
from postag.bundle import load_manifest
from postag.cli import cli
from postag.errors import BundleError
from postag.registry import SHIPPED_DIR

#: The budget the shipped model has inside the wheel.
MAX_WHEEL_BYTES = 10_000_000


@pytest.fixture(autouse=True)
def _no_postag_bundle(monkeypatch):
    monkeypatch.delenv("POSTAG_BUNDLE", raising=False)


@pytest.fixture(scope="module")
def shipped():
    return load_manifest(SHIPPED_DIR)  # format, every file's sha256, identity


def test_the_shipped_files_are_the_manifests_and_nothing_else(shipped):
    on_disk = sorted(p.name for p in SHIPPED_DIR.iterdir())
    assert on_disk == sorted([*shipped.files, "manifest.json"])
    assert shipped.graphs() == [shipped.derived_from.model]
    assert shipped.identity == shipped.computed_identity() == shipped.data["manifest_sha256"]
    assert shipped.name == "postag-en-ewt" and shipped.contract.heads == ["upos", "xpos", "feats"]


def test_it_was_derived_measured_and_gated(shipped):
    d = shipped.data["derived_from"]
    assert d["source"] == "artifacts/postag-en-ewt" and d["source_validation"]["ok"] is True
    mes, gate = d["measured"], d["gate"]
    assert mes["split"] == "test" and mes["sentences"] == 2077 and mes["tokens"] == 25094
    for head in ("upos", "xpos", "feats"):
        assert mes["agreement"][head] >= gate["min_tag_agreement"] >= 0.999
        drop = mes["reference_accuracy"][head] - mes["accuracy"][head]
        assert drop <= gate["max_accuracy_drop"] <= 0.001
        assert mes["accuracy"][head] > 0.95
        if d["model"] == "model.fast.compact.onnx":  # float32 compute: batch-invariant
            assert mes["batch_invariance"][head]["tokens_changed"] == 0


def test_it_fits_in_the_wheel(shipped, tmp_path):
    """What the shipped files add to a wheel (a zip, deflate-compressed)."""
    with zipfile.ZipFile(tmp_path / "w.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for name in [*shipped.files, "manifest.json"]:
            z.write(SHIPPED_DIR / name, f"postag/models/en-ewt/{name}")
    assert (tmp_path / "w.zip").stat().st_size <= MAX_WHEEL_BYTES


def test_the_model_card_states_license_and_attribution(shipped):
    card = (SHIPPED_DIR / "MODEL_CARD.md").read_text()
    assert "CC BY-SA 4.0" in card and "https://creativecommons.org/licenses/by-sa/4.0/" in card
    assert "Silveira" in card and "UD_English-EWT" in card
    assert "make default-model" in card and shipped.derived_from.model in card


def test_tagger_load_with_no_argument_uses_it():
    tagger = Tagger.load(provider="cpu", threads=1)
    assert tagger.manifest.root == SHIPPED_DIR
    r = tagger.tag_text("The cat sat.")[0]
    assert (r.words, r.tags, r.xpos) == (
        ["The", "cat", "sat", "."],
        ["DET", "NOUN", "VERB", "PUNCT"],
        ["DT", "NN", "VBD", "."],
    )
    assert Tagger.load("en-ewt", provider="cpu").manifest.root == SHIPPED_DIR
    with pytest.raises(BundleError, match="has no int8 graph"):
        Tagger.load(quantized=True)


def test_postag_tag_and_info_with_no_argument(tmp_path):
    """In a directory without artifacts/, as after `pip install .`."""
    env = {k: v for k, v in os.environ.items() if k != "POSTAG_BUNDLE"}
    res = subprocess.run(
        [sys.executable, "-m", "postag", "tag"],
        input="The cat sat.\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout == "The/DET cat/NOUN sat/VERB ./PUNCT\n"
    info = CliRunner().invoke(cli, ["info"])
    assert info.exit_code == 0, info.output
    lines = info.output.splitlines()
    assert lines[0].startswith("postag-en-ewt 0.1.0")
    assert lines[1] == f"bundle: {SHIPPED_DIR}  (the model shipped with postag (the default))"
    assert any(line.startswith("slim bundle: ships model.fast") for line in lines)
    assert any("labels equal to model.fast.onnx on test: UPOS" in line for line in lines)
    as_json = CliRunner().invoke(cli, ["info", "--json"])
    assert json.loads(as_json.output)["derived_from"]["source"] == "artifacts/postag-en-ewt"
