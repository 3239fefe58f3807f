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
