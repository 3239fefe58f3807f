"""The bundle's model card (MODEL_CARD.md)."""

from __future__ import annotations

from typing import Any

from postag.layout import FAST_INT8, FAST_MODEL, MODEL, MODEL_INT8, TORCHSCRIPT


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.2f}%"


def model_card(m: dict[str, Any], sizes: dict[str, int]) -> str:
    cfg, met, ev = m["model_config"], m.get("metrics", {}), m.get("evaluation", {})
    corpus = m.get("corpus", {})
    val = m.get("validation", {}).get("backends", {})
    arch = (
        f"word embedding {cfg['word_dim']}"
        + (
            f" + character BiLSTM ({cfg['char_dim']}-d chars, 2×{cfg['char_hidden']})"
            if cfg["char_hidden"]
            else ""
        )
        + f" → {cfg['layers']}-layer {'Bi' if cfg['bidirectional'] else ''}LSTM "
        f"({cfg['hidden']} per direction, dropout {cfg['dropout']}) → linear → log-softmax"
    )
    labels = {
        "onnx-fp32": f"ONNX fp32 ({MODEL})",
        "onnx-int8": f"ONNX int8 ({MODEL_INT8})",
        "onnx-fast": f"ONNX fp32, fast graph ({FAST_MODEL}, the runtime's default)",
        "onnx-fast-int8": f"ONNX int8, fast graph ({FAST_INT8})",
    }
    rows = [("PyTorch (checkpoint)", met.get("dev_accuracy"), met.get("test_accuracy"))]
    rows += [
        (label, ev[k].get("dev_accuracy"), ev[k].get("test_accuracy"))
        for k, label in labels.items()
        if k in ev
    ]
    lines = [
        f"# {m['name']} {m['version']}",
        "",
        "A universal part-of-speech (UPOS) tagger for English, produced by postag "
        f"{m['producers']['postag']}. Input: pre-tokenized words (UD tokenization); "
        f"output: one of {len(m['tags'])} UPOS tags per word.",
        "",
        "## Model",
        f"- Architecture: {arch}.",
        f"- Parameters: {met.get('parameters', 0):,}; preset `{m.get('preset', '?')}`.",
        f"- I/O: inputs {', '.join(s['name'] + str(s['axes']) for s in m['contract']['inputs'])};"
        f" output {', '.join(s['name'] + str(s['axes']) for s in m['contract']['outputs'])};"
        f" ONNX opset {m['contract']['opset']}.",
        "",
        "## Data",
        f"- Trained on {corpus.get('name', 'unknown corpus')} (train split; "
        "early stopping on dev).",
        "- UD English EWT is licensed CC BY-SA 4.0 (Universal Dependencies, "
        "https://github.com/UniversalDependencies/UD_English-EWT); models trained on it are "
        "commonly distributed under the same terms — check your use against the license.",
        "",
        "## Metrics (UPOS accuracy, gold tokenization)",
        "| model | dev | test |",
        "|---|---|---|",
        *[f"| {n} | {_pct(d)} | {_pct(t)} |" for n, d, t in rows],
        "",
        f"Test known words {_pct(met.get('test_known_accuracy'))}, unknown words "
        f"{_pct(met.get('test_unknown_accuracy'))}.",
        "",
        "## Verification (exports vs PyTorch)",
        "| backend | checks | failed | max abs diff |",
        "|---|---|---|---|",
        *[
            f"| {b} | {v['checks']} | {v['failed']} | "
            f"{'—' if v['max_abs_diff'] is None else format(v['max_abs_diff'], '.2e')} |"
            for b, v in val.items()
        ],
        "",
        "## Files",
        *[f"- `{f}` ({n / 1e6:.2f} MB)" for f, n in sizes.items()],
        "",
        "## How to load",
        "```python",
        "import numpy as np, onnxruntime as ort",
        "from postag.bundle import load_manifest   # checks format, sha256s, identity",
        "man = load_manifest('BUNDLE_DIR')",
        "enc = man.encoder()",
        f"sess = ort.InferenceSession(str(man.path({MODEL!r})))",
        "b = enc.encode([['The', 'cat', 'sat', '.']])",
        "lp = sess.run(None, {'word_ids': b.word_ids, 'char_ids': b.char_ids,"
        " 'lengths': b.lengths})[0]",
        "print([man.tags[i] for i in lp[0].argmax(-1)])",
        "```",
        f"TorchScript: `torch.jit.load('BUNDLE_DIR/{TORCHSCRIPT}')(word_ids, char_ids, "
        "lengths)` (TorchScript is deprecated in torch 2.13; kept for users who need it).",
        "",
        "## Limitations",
        "- English web text of the EWT genres; gold (UD-style) tokenization is assumed.",
        "- No pretrained embeddings; unknown words are tagged from their characters.",
        "",
    ]
    return "\n".join(lines)
