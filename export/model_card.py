"""The model cards (MODEL_CARD.md), one writer for both kinds of bundle: the full bundle's
(:func:`model_card`: what the model tags, accuracy per head for PyTorch and every ONNX
graph, the verification results, the files and how to load it) and the slim bundle's
(:func:`slim_card`: what was derived and measured). Both take the data section (license
and attribution from the corpus registry, :func:`postag.registry.data_license`) and the
limitations from the same functions.

    (bundle / MODEL_CARD).write_text(model_card(manifest, sizes), "utf-8")
    (slim / MODEL_CARD).write_text(slim_card(manifest), "utf-8")
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from postag.bundle import metric_key
from postag.cli.tag import pct
from postag.contract import HEAD_NAMES
from postag.layout import FAST_INT8, FAST_MODEL, MODEL, MODEL_INT8, TORCHSCRIPT
from postag.registry import data_license

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
        f"A {kind} tagger{for_language(m)}, produced by postag {m['producers']['postag']}. "
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


#: Pretrained vectors a model may be trained with → (what they are, their licence).
VECTORS = {
    "glove-6b-50d": (
        "GloVe 6B 50d (Pennington, Socher and Manning 2014; Wikipedia 2014 + Gigaword 5)",
        "PDDL-1.0",
    ),
}


def vectors_note(cfg: dict[str, Any]) -> str:
    """How a model's word embedding was made when trained with pretrained vectors
    (``" (100 trained + 50 from GloVe …, fine-tuned; 15,734 training forms + …)"``)."""
    name = cfg.get("vectors")
    if not name:
        return ""
    dim = cfg.get("vectors_dim", 0)
    what = VECTORS.get(name, (name, ""))[0]
    mode = {"frozen": "frozen", "finetune": "fine-tuned", "delta": "frozen + trained delta"}
    n_train = cfg.get("n_train_words", 0)
    combine = (
        f"{cfg['word_dim'] - dim} trained + {dim} from {what}"
        if cfg.get("vectors_combine", "concat") == "concat"
        else f"trained + projected {dim}-d {what}"
    )
    top = cfg.get("vectors_top", 0)
    return (
        f" ({combine}, {mode.get(cfg.get('vectors_mode', ''), '?')}; word table "
        f"{n_train:,} training forms + {cfg['n_words'] - n_train:,} words from the vectors' "
        f"{f'{top:,} most frequent' if top else 'whole vocabulary'})"
    )


def _raw_text(m: dict) -> list[str]:
    """How the bundle splits raw text (manifest ``splitter``)."""
    sp = m.get("splitter") or {"kind": "rules"}
    if sp["kind"] == "model":
        what = (
            f"the trained segmenter (`{sp['segmenter']}`, settings and multiword-token "
            f"lexicon in `{sp['segmenter_config']}`): tokens, sentences and multiword tokens "
            "from a character model, checked against PyTorch on every test document by the "
            "gate"
        )
    elif sp.get("mwt"):
        what = (
            "the rule tokenizer (UD English conventions), its pieces joined into the "
            f"treebank's multiword tokens by the lexicon in `{sp['mwt']}`"
        )
    else:
        what = "the rule tokenizer (UD English conventions); no multiword tokens"
    return ["## Raw text", f"- Split by {what}.", ""]


def model_card(m: dict[str, Any], sizes: dict[str, int]) -> str:
    cfg, met, ev = m["model_config"], m.get("metrics", {}), m.get("evaluation", {})
    heads = heads_of(m)
    val = m.get("validation", {}).get("backends", {})
    arch = (
        f"word embedding {cfg['word_dim']}{vectors_note(cfg)}"
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
        *data_section(m),
        "",
        *_raw_text(m),
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
        *limitations(m),
        "",
    ]
    return "\n".join(lines)


# ------------------------------------------------------------- shared by both cards


#: Corpus name prefix → the language and text its models are for (the Limitations line).
CORPUS_TEXT = {
    "UD_English-EWT": ("English", "English web text of the EWT genres"),
    "UD_French-Sequoia": ("French", "French text of the Sequoia genres"),
}


def _corpus(m: dict[str, Any]) -> str | None:
    return (m.get("corpus") or {}).get("name")


def for_language(m: dict[str, Any]) -> str:
    """ " for English" where the training corpus says which language, else ""."""
    for prefix, (language, _) in CORPUS_TEXT.items():
        if (_corpus(m) or "").startswith(prefix):
            return f" for {language}"
    return ""


def data_section(m: dict[str, Any]) -> list[str]:
    """The training data, its license (from the corpus registry: a model carries the
    license of the treebank it was trained on) and attribution."""
    corpus = _corpus(m)
    lic = data_license(corpus)
    return [
        "## Data, license and attribution",
        f"- Trained on {corpus or 'an unnamed corpus'} (train split; early stopping on dev).",
        *(
            [
                f"- The training data is licensed {lic.name}, {lic.url}; this model, "
                "derived from it, is distributed under the same license.",
                f"- Attribution: {lic.attribution}",
            ]
            if lic
            else ["- The training data's license applies to this model: check it."]
        ),
    ]


def limitations(m: dict[str, Any]) -> list[str]:
    """What the model is not for."""
    text = next(
        (t for p, (_, t) in CORPUS_TEXT.items() if (_corpus(m) or "").startswith(p)),
        f"text like {_corpus(m) or 'its training corpus'}",
    )
    return [
        "## Limitations",
        f"- {text}; gold (UD-style) tokenization is assumed.",
        vectors_limitation(m.get("model_config", {})),
    ]


def vectors_limitation(cfg: dict[str, Any]) -> str:
    """What the model knows of words its training data lacks."""
    name = cfg.get("vectors")
    if not name:
        return "- No pretrained embeddings; unknown words are tagged from their characters."
    what, lic = VECTORS.get(name, (name, "see their source"))
    chars = " and from their characters" if cfg.get("char_hidden") else ""
    return (
        f"- Words the training data lacks are tagged from their pretrained vector ({what}; "
        f"licence {lic}) where the vectors have one{chars}; words in neither are tagged "
        "less accurately still than the words the training data lacks as a whole (the "
        "unknown-word accuracy above)."
    )


# ------------------------------------------------------------------- the slim card


def slim_card(m: dict[str, Any]) -> str:
    """The slim bundle's MODEL_CARD.md: what it is and was derived from, accuracy per
    head, parity and batch invariance, data license and attribution, how to use and
    regenerate it."""
    from postag.export.model_card import heads_of

    d = m["derived_from"]
    mes = d["measured"]
    heads = list(heads_of(m))
    split = mes["split"]
    met = m.get("metrics") or {}
    names = " | ".join(HEAD_NAMES[h] for h in heads)
    labels = ", ".join(f"{HEAD_NAMES[h]} ({len(v)} labels)" for h, v in heads_of(m).items())
    val = d["source_validation"]
    return "\n".join(
        [
            f"# {m['name']} {m['version']} (slim: {d['model']})",
            "",
            f"A part-of-speech tagger{for_language(m)}: per word {labels}. This is the slim "
            f"form of the bundle {d['name']} {d['version']} (identity "
            f"`{m['manifest_sha256'][:12]}…`, the same as the full bundle's): only what the "
            "runtime needs, derived by `postag slim` from the full, verified bundle "
            f"(`{d['source']}`, {val['checks']} verification checks, "
            f"{'passed' if val['ok'] else 'NOT passed'}).",
            "",
            "## What is shipped",
            f"- `{d['model']}`: made from the full bundle's `{d['from_model']}` "
            f"(sha256 `{d['from_model_sha256'][:12]}…`); storage: {d['storage']}.",
            f"- {', '.join(f'`{f}`' for f in sorted(m['vocab_files'].values()))}, "
            f"`{m['fast_path']['forms']}`: vocabularies, label lists and the fast graph's "
            "form list, as in the full bundle.",
            f"- Size: {d['bytes'] / 1e6:.2f} MB ({d['zip_bytes'] / 1e6:.2f} MB "
            "zip-compressed, as in a wheel).",
            "",
            f"## Accuracy per head ({split} split, {mes['sentences']:,} sentences, "
            f"{mes['tokens']:,} tokens, gold tokenization)",
            f"| model | {names} |",
            "|---|" + "---|" * len(heads),
            acc_row("PyTorch (checkpoint)", [met.get(metric_key(split, h)) for h in heads]),
            acc_row(
                f"full bundle, `{FAST_MODEL}` (float32)",
                [mes["reference_accuracy"][h] for h in heads],
            ),
            acc_row(f"this bundle, `{d['model']}`", [mes["accuracy"][h] for h in heads]),
            "",
            "## Parity and batch invariance",
            f"Against the full bundle's `{FAST_MODEL}` on the same tokens; alone vs batched: "
            "each sentence tagged on its own vs in the default length buckets "
            f"(≤ {mes['max_batch_tokens']:,} padded tokens per run).",
            "",
            "| head | labels equal to float32 | max abs Δ log-prob | tokens changed alone "
            "vs batched | sentences changed |",
            "|---|---|---|---|---|",
            *[
                f"| {HEAD_NAMES[h]} | {100 * mes['agreement'][h]:.3f}% | "
                f"{mes['max_abs_diff'][h]:.2e} | {bi['tokens_changed']} | "
                f"{bi['sentences_changed']} |"
                for h, bi in mes["batch_invariance"].items()
            ],
            "",
            f"The gate `postag slim` holds it to: labels equal on ≥ "
            f"{100 * d['gate']['min_tag_agreement']:.1f}% of tokens and accuracy within "
            f"{100 * d['gate']['max_accuracy_drop']:.1f} pt, per head.",
            "",
            *data_section(m),
            "",
            "## Use",
            "```python",
            "from postag import Tagger",
            "",
            "tagger = Tagger.load()  # postag's default model (or Tagger.load('BUNDLE_DIR'))",
            'tagger.tag(["The", "cat", "sat", "."])',
            "```",
            '`echo "The cat sat." | postag tag`. It has no int8 graph, TorchScript or '
            "checkpoint: `--int8`, `postag verify`, `parity` and `bench` need the full bundle.",
            "",
            "## Regenerate",
            f"`make default-model` (`postag slim {d['source']} --out <this directory>`), after "
            "`make export`.",
            "",
            *limitations(m),
            "",
        ]
    )


def acc_row(label: str, values: Sequence[float | None]) -> str:
    """One row of the card's accuracy table."""
    return f"| {label} | " + " | ".join(percent(v) for v in values) + " |"


def percent(value: float | None) -> str:
    """An accuracy as ``95.82%``; "—" when not measured."""
    return "—" if value is None else f"{pct(value)}%"
