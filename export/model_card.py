"""The bundle's model card (MODEL_CARD.md): what the model tags (every head and its
label count), its accuracy per head for PyTorch and every ONNX graph, the verification
results, the files and how to load it.

    (bundle / MODEL_CARD).write_text(model_card(manifest, sizes), "utf-8")
"""

from __future__ import annotations

from typing import Any

from postag.bundle import metric_key
from postag.contract import HEAD_NAMES
from postag.layout import FAST_INT8, FAST_MODEL, MODEL, MODEL_INT8, TORCHSCRIPT

#: What each head's labels are, for the card's first paragraph.
LABEL_KINDS = {
    "upos": "UPOS tags",
    "xpos": "XPOS tags",
    "feats": "UFeats labels (whole FEATS strings)",
}
#: The ONNX graphs the manifest's ``evaluation`` scores, as the card names them.
GRAPHS = {
    "onnx-fp32": f"ONNX fp32 ({MODEL})",
    "onnx-int8": f"ONNX int8 ({MODEL_INT8})",
    "onnx-fast": f"ONNX fp32, fast graph ({FAST_MODEL}, the runtime's default)",
    "onnx-fast-int8": f"ONNX int8, fast graph ({FAST_INT8})",
}
#: The card's Python example: every head's labels from one ONNX session.
USAGE = f"""\
import onnxruntime as ort
from postag.bundle import load_manifest   # checks format, sha256s, identity
man = load_manifest('BUNDLE_DIR')
enc = man.encoder()
sess = ort.InferenceSession(str(man.path({MODEL!r})))
b = enc.encode([['The', 'cat', 'sat', '.']])
outputs = sess.run([o.name for o in man.contract.outputs],   # one per head
                   {{'word_ids': b.word_ids, 'char_ids': b.char_ids, 'lengths': b.lengths}})
for (head, labels), lp in zip(man.labels.items(), outputs):   # upos (xpos, feats)
    print(head, [labels[i] for i in lp[0].argmax(-1)])
"""


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.2f}%"


def heads_of(m: dict[str, Any]) -> dict[str, list[str]]:
    """Every head's labels, in output order (UPOS's are ``tags``)."""
    return {"upos": m["tags"], **m.get("labels", {})}


def _summary(m: dict[str, Any], heads: dict[str, list[str]]) -> str:
    names = [HEAD_NAMES[h] for h in heads]
    kind = (
        "universal part-of-speech (UPOS)"
        if list(heads) == ["upos"]
        else f"joint part-of-speech and morphology ({', '.join(names)})"
    )
    outputs = ", ".join(f"one of {len(v)} {LABEL_KINDS[h]}" for h, v in heads.items())
    return (
        f"A {kind} tagger for English, produced by postag {m['producers']['postag']}. "
        f"Input: pre-tokenized words (UD tokenization); output per word: {outputs}."
    )


def _metrics(heads: list[str], met: dict[str, Any], ev: dict[str, Any]) -> list[str]:
    """The accuracy table: dev and test per head (and AllTags where measured), for the
    PyTorch checkpoint and every ONNX graph; then known/unknown words per head."""
    cols = list(heads) + (
        ["all"] if any(metric_key(s, "all") in met for s in ("dev", "test")) else []
    )
    names = {**HEAD_NAMES, "all": "AllTags"}
    rows = [("PyTorch (checkpoint)", met)] + [(GRAPHS[k], ev[k]) for k in GRAPHS if k in ev]
    header = "".join(f" {names[c]} dev | {names[c]} test |" for c in cols)
    known = "; ".join(
        f"{HEAD_NAMES[h]} {_pct(met.get(metric_key('test', h, 'known_accuracy')))} / "
        f"{_pct(met.get(metric_key('test', h, 'unknown_accuracy')))}"
        for h in heads
    )
    return [
        "## Metrics (accuracy per head, gold tokenization)",
        f"| model |{header}",
        "|---|" + "---|---|" * len(cols),
        *[
            f"| {name} |"
            + "".join(
                f" {_pct(v.get(metric_key('dev', c)))} | {_pct(v.get(metric_key('test', c)))} |"
                for c in cols
            )
            for name, v in rows
        ],
        "",
        ("AllTags: the share of words whose every head is right. " if "all" in cols else "")
        + f"Test accuracy on known / unknown words: {known}.",
    ]


def decoding(cfg: dict[str, Any]) -> str:
    """How each head is decoded, in words (CRF heads: Viterbi inside the graph)."""
    crf = [HEAD_NAMES[h] for h in cfg.get("crf", [])]
    rest = [HEAD_NAMES[h] for h in cfg.get("heads", ["upos"]) if h not in cfg.get("crf", [])]
    parts = [f"linear-chain CRF for {', '.join(crf)} (Viterbi path and marginals computed "
             "inside every exported graph)"] if crf else []  # fmt: skip
    if rest:
        parts.append(f"log-softmax per word for {', '.join(rest)}")
    return "; ".join(parts)


def model_card(m: dict[str, Any], sizes: dict[str, int]) -> str:
    cfg, met, ev = m["model_config"], m.get("metrics", {}), m.get("evaluation", {})
    heads = heads_of(m)
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
        f"({cfg['hidden']} per direction, dropout {cfg['dropout']}) → a linear layer per "
        f"head → {decoding(cfg)}"
    )
    lines = [
        f"# {m['name']} {m['version']}",
        "",
        _summary(m, heads),
        "",
        "## Model",
        f"- Architecture: {arch}.",
        f"- Parameters: {met.get('parameters', 0):,}; preset `{m.get('preset', '?')}`.",
        f"- I/O: inputs {', '.join(s['name'] + str(s['axes']) for s in m['contract']['inputs'])};"
        f" outputs (log-probabilities per head; a CRF head's are its marginals, then its path) "
        f"{', '.join(s['name'] + str(s['axes']) for s in m['contract']['outputs'])};"
        f" ONNX opset {m['contract']['opset']}.",
        "",
        "## Data",
        f"- Trained on {corpus.get('name', 'unknown corpus')} (train split; "
        "early stopping on dev).",
        "- UD English EWT is licensed CC BY-SA 4.0 (Universal Dependencies, "
        "https://github.com/UniversalDependencies/UD_English-EWT); models trained on it are "
        "commonly distributed under the same terms — check your use against the license.",
        "",
        *_metrics(list(heads), met, ev),
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
        USAGE.rstrip("\n"),
        "```",
        f"TorchScript: `torch.jit.load('BUNDLE_DIR/{TORCHSCRIPT}')(word_ids, char_ids, "
        "lengths)` returns a list of log-probability tensors, one per head in the order "
        "above (TorchScript is deprecated in torch 2.13; kept for users who need it).",
        "",
        "## Limitations",
        "- English web text of the EWT genres; gold (UD-style) tokenization is assumed.",
        "- No pretrained embeddings; unknown words are tagged from their characters.",
        "",
    ]
    return "\n".join(lines)
