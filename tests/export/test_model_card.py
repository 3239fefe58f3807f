"""postag.export.model_card: the card's Python example runs against a bundle and reads every
head; its metrics table has every head's accuracy per graph (and AllTags when measured)."""

import contextlib
import io
import json
import re

import pytest

from postag.export.model_card import GRAPHS, model_card


def card_example(bundle) -> str:
    """The ```python block of the bundle's MODEL_CARD.md, pointed at the bundle."""
    card = (bundle / "MODEL_CARD.md").read_text()
    (code,) = re.findall(r"```python\n(.*?)```", card, flags=re.S)
    return code.replace("BUNDLE_DIR", str(bundle))


@pytest.mark.parametrize("which", ["toy_bundle", "upos_bundle"])
def test_the_cards_example_prints_every_heads_labels(request, which):
    from postag import Tagger

    bundle = request.getfixturevalue(which)[0]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(card_example(bundle), {})  # noqa: S102 - the card's own code, as a user runs it
    want = Tagger.load(bundle, provider="cpu", threads=1).tag(["The", "cat", "sat", "."])
    heads = ["upos", "xpos", "feats"] if which == "toy_bundle" else ["upos"]
    assert out.getvalue().splitlines() == [f"{h} {want.labels(h)}" for h in heads]


def test_the_metrics_table_has_every_head_per_graph(toy_bundle):
    m = json.loads((toy_bundle[0] / "manifest.json").read_text())
    m["metrics"].update(test_accuracy=0.9, test_xpos_accuracy=0.8, test_all_tags=0.5)
    m["metrics"].update(test_feats_known_accuracy=0.75, test_feats_unknown_accuracy=0.25)
    lines = model_card(m, {"model.onnx": 1}).splitlines()
    top = lines.index("## Metrics (accuracy per head, gold tokenization)")
    assert lines[top + 1] == (
        "| model | UPOS dev | UPOS test | XPOS dev | XPOS test | UFeats dev | UFeats test "
        "| AllTags dev | AllTags test |"
    )
    pct = lambda x: f"{100 * x:.2f}%"  # noqa: E731
    met = m["metrics"]
    assert lines[top + 3] == (
        f"| PyTorch (checkpoint) | {pct(met['dev_accuracy'])} | 90.00% | "
        f"{pct(met['dev_xpos_accuracy'])} | 80.00% | {pct(met['dev_feats_accuracy'])} | — "
        "| — | 50.00% |"
    )
    ev = m["evaluation"]["onnx-fast"]
    row = next(line for line in lines if line.startswith(f"| {GRAPHS['onnx-fast']} |"))
    assert row.split(" | ")[1:-2] == [
        pct(ev[f"{s}_{k}"])
        for k in ("accuracy", "xpos_accuracy", "feats_accuracy")
        for s in ("dev", "test")
    ]
    assert "UFeats 75.00% / 25.00%" in "\n".join(lines)
    assert (
        f"one of {len(m['labels']['xpos'])} XPOS tags" in lines[2]
        and "(UPOS, XPOS, UFeats)" in lines[2]
    )


def test_a_upos_only_card_has_upos_alone(upos_bundle):
    card = (upos_bundle[0] / "MODEL_CARD.md").read_text()
    assert "| model | UPOS dev | UPOS test |\n|---|---|---|\n" in card
    assert "XPOS" not in card and "AllTags" not in card
    assert "A universal part-of-speech (UPOS) tagger" in card


@pytest.mark.parametrize(
    ("corpus", "license_", "text"),
    [
        ("UD_English-EWT", "CC BY-SA 4.0", "English web text of the EWT genres"),
        ("UD_French-Sequoia", "LGPL-LR", "French text of the Sequoia genres"),
        ("toy", None, "text like toy"),
    ],
)
def test_both_cards_take_the_license_from_the_corpus_registry(toy_bundle, corpus, license_, text):
    """The full and the slim card: the license of the treebank the model was trained on
    (a French model does not claim EWT's), and limitations for its text."""
    from postag.export.model_card import data_section, limitations

    m = json.loads((toy_bundle[0] / "manifest.json").read_text())
    m["corpus"] = {**m.get("corpus", {}), "name": corpus}
    card = model_card(m, {"model.onnx": 1})
    for lines in (data_section(m), limitations(m)):
        assert "\n".join(lines) in card
    if license_:
        assert f"licensed {license_}" in card or license_ in card
        assert ("CC BY-SA" in card) == (license_ == "CC BY-SA 4.0")
    else:
        assert "check it" in card and "CC BY-SA" not in card
    assert f"- {text}; gold (UD-style) tokenization is assumed." in card


def test_a_card_says_how_the_word_embedding_was_made(toy_bundle):
    """Trained with pretrained vectors: the architecture line gives the split of the word
    embedding and of the word table, the limitations line the vectors and their licence;
    without: no pretrained embeddings."""
    m = json.loads((toy_bundle[0] / "manifest.json").read_text())
    assert "- No pretrained embeddings" in model_card(m, {"model.onnx": 1})
    m["model_config"].update(
        word_dim=150, n_words=50_000, vectors="glove-6b-50d", vectors_mode="finetune",
        vectors_combine="concat", vectors_top=50_000, vectors_dim=50, vectors_baked=True,
        n_train_words=15_734,
    )  # fmt: skip
    card = model_card(m, {"model.onnx": 1})
    assert (
        "word embedding 150 (100 trained + 50 from GloVe 6B 50d (Pennington, Socher and "
        "Manning 2014; Wikipedia 2014 + Gigaword 5), fine-tuned; word table 15,734 training "
        "forms + 34,266 words from the vectors' 50,000 most frequent)"
    ) in card
    assert "No pretrained embeddings" not in card and "licence PDDL-1.0" in card
