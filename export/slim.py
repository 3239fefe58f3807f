"""Slim bundles: the part of a full, verified bundle the runtime needs, small enough to
ship inside a wheel (the model ``pip install postag`` brings: ``make default-model``).

    postag slim artifacts/postag-en-ewt --out runtime/models/en-ewt   # make default-model
    postag slim artifacts/postag-en-ewt --compare                     # measure, write nothing
    build_slim("artifacts/postag-en-ewt", "slim/", graph="compact")

A slim bundle holds one graph, the fast graph's form list, the vocabularies and label
lists, a model card and a manifest: the full bundle's, with the same identity (the graph
keeps its identity metadata), its ``files`` rewritten, and ``derived_from`` recording the
source bundle, the graph's storage and what was measured. The graph (:data:`SLIM_GRAPHS`):

* ``compact`` (the default): ``model.fast.compact.onnx``, made from ``model.fast.onnx``:
  the lookup tables (word embeddings, the precomputed character features) stored uint8 by
  onnxruntime's dynamic quantisation of ``Gather`` (one scale per table; a looked-up row
  is dequantised on its own, so no other sentence affects it), every other weight of
  4,096+ elements stored float16 behind a ``Cast`` that onnxruntime folds when it loads
  the graph. It computes in float32, so a sentence's labels never depend on its batch.
* ``fp16``: every weight of 4,096+ elements (tables too) float16, float32 compute: the
  closest to float32 but twice the compact graph's tables (10.6 MB, over the 10 MB a
  wheel may spend on the model).
* ``int8``: ``model.fast.int8.onnx`` as it is (int8 compute, smaller, faster; dynamic
  quantisation takes activation scales from the whole batch).

The graph must keep the source's float32 fast graph's labels on the split the export
scored and its accuracy, per head (the slim gate, :class:`postag.export.gate.SlimGate`);
otherwise :class:`ParityError` and nothing is written. Also measured and recorded:
accuracy per head, max |Δ log-prob|, batch invariance (every sentence alone vs in the
default length buckets: tokens and sentences whose label changes, per head) and the
size, raw and zip-compressed (as in a wheel).
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import click
import numpy as np

from postag.batching import MAX_BATCH_TOKENS, run_batched
from postag.bundle import (
    Manifest,
    file_entries,
    load_manifest,
    metric_key,
    sentences_sha256,
)
from postag.cli import Options, data_option, require_extra
from postag.contract import HEAD_NAMES, decoded
from postag.data import Sentence
from postag.errors import BundleError, ParityError
from postag.export.gate import SlimGate
from postag.export.graphs.storage import compact_graph, fp16_storage
from postag.export.model_card import percent, slim_card
from postag.export.splits import scored_sentences
from postag.files import atomic_dir
from postag.layout import (
    FAST_COMPACT,
    FAST_INT8,
    FAST_MODEL,
    GRAPH_BACKENDS,
    MANIFEST,
    MODEL_CARD,
)
from postag.session import FastModel, load_forms

#: graph choice → (the file shipped, the source graph it is made from, its storage).
SLIM_GRAPHS = {
    "compact": (
        FAST_COMPACT,
        FAST_MODEL,
        "lookup tables uint8 (onnxruntime dynamic quantisation of Gather, one scale per "
        "table), other weights float16 cast to float32 when loaded; float32 compute",
    ),
    "fp16": (
        FAST_COMPACT,
        FAST_MODEL,
        "weights and lookup tables float16, cast to float32 when loaded; float32 compute",
    ),
    "int8": (
        FAST_INT8,
        FAST_INT8,
        "int8 dynamic quantisation (LSTM, MatMul, Gather); int8 compute, activation scales "
        "from the whole batch",
    ),
}
#: The manifest fields a slim bundle does not carry over: they describe the full
#: bundle's other files (its graphs, the gate's records, the checkpoint beside it).
DROPPED_FIELDS = (
    "files",
    "validation",
    "evaluation",
    "gate",
    "checkpoint",
    "segmenter_checkpoint",
)


# ------------------------------------------------------------------------ the graph


def write_graph(source: Manifest, graph: str, dst: Path) -> None:
    """The graph ``graph`` (a :data:`SLIM_GRAPHS` key) of ``source`` at ``dst``."""
    shipped, from_model, _ = SLIM_GRAPHS[graph]
    if graph == "compact":
        compact_graph(source.path(from_model), dst / shipped)
    elif graph == "fp16":
        fp16_storage(source.path(from_model), dst / shipped)
    else:
        shutil.copyfile(source.path(from_model), dst / shipped)


# -------------------------------------------------------------------- measurements


@dataclass
class Measured:
    """One graph on the scored sentences: labels per head as ``Tagger`` gives them
    (batched in the default length buckets, and every sentence alone) and the graph's
    log-probabilities (batched)."""

    labels: dict[str, list[np.ndarray]]  # head → per-sentence labels, batched
    alone: dict[str, list[np.ndarray]]  # the same, every sentence tagged on its own
    log_probs: list[dict[str, np.ndarray]]  # per sentence {head: (len, labels)}


def run_graph(
    man: Manifest, path: Path, words: Sequence[Sequence[str]], threads: int, alone: bool
) -> Measured:
    """Tag ``words`` with the fast-path graph at ``path`` (checked against ``man``'s
    identity): one batched run in the default length buckets (its outputs and the labels
    :class:`~postag.Tagger` makes of them) and (``alone``) every sentence by itself."""
    from postag.tagger import Tagger

    fast = man.fast_path
    if fast is None:
        raise BundleError(f"{man.root}: a slim bundle needs a fast path (this bundle has none)")
    forms = load_forms(man.path(fast.forms))
    tagger = Tagger(man, FastModel(path, fast.contract, forms, "cpu", threads, man.identity))
    outs = run_batched(tagger.model.run, tagger.encoder, words, MAX_BATCH_TOKENS)
    single = [tagger.tag(w) for w in words] if alone else []
    heads = man.contract.heads
    names = {h: np.array(man.labels[h], dtype=object) for h in heads}
    return Measured(
        # the labels Tagger gives (a CRF head's path, else the argmax), from the same run
        {h: [names[h][decoded(o)[h]] for o in outs] for h in heads},
        {h: [np.array(r.labels(h), dtype=object) for r in single] for h in heads},
        outs,
    )


def accuracy(
    man: Manifest, labels: dict[str, list[np.ndarray]], sentences: Sequence[Sentence]
) -> dict[str, float]:
    """Accuracy per head of predicted labels against the gold labels."""
    out = {}
    for head in man.labels:
        gold = np.concatenate([np.array(s.labels(head), dtype=object) for s in sentences])
        out[head] = float((np.concatenate(labels[head]) == gold).mean())
    return out


def measure(
    man: Manifest, got: Measured, ref: Measured, sentences: Sequence[Sentence]
) -> dict[str, Any]:
    """Accuracy per head, agreement and max |Δ log-prob| against ``ref`` (the float32
    fast graph), batch invariance per head (``got`` run alone too)."""
    out: dict[str, Any] = {
        "sentences": len(sentences),
        "tokens": sum(len(s.words) for s in sentences),
        "accuracy": accuracy(man, got.labels, sentences),
        "reference_accuracy": accuracy(man, ref.labels, sentences),
        "agreement": {},
        "max_abs_diff": {},
        "batch_invariance": {},
    }
    for head in man.labels:
        pred = np.concatenate(got.labels[head])
        out["agreement"][head] = float((pred == np.concatenate(ref.labels[head])).mean())
        out["max_abs_diff"][head] = max(
            float(np.abs(a[head] - b[head]).max())
            for a, b in zip(got.log_probs, ref.log_probs, strict=True)
        )
        changed = [
            int((a != b).sum()) for a, b in zip(got.labels[head], got.alone[head], strict=True)
        ]
        out["batch_invariance"][head] = {
            "tokens_changed": sum(changed),
            "sentences_changed": sum(c > 0 for c in changed),
        }
    return out


def zip_bytes(paths: Sequence[Path]) -> int:
    """What ``paths`` add to a zip (a wheel) with deflate compression."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for p in paths:
            z.write(p, p.name)
    return len(buf.getvalue())


# ----------------------------------------------------------------------- the bundle


def copied_files(source: Manifest) -> list[str]:
    """The source files a slim bundle copies as they are: the fast graph's form list,
    the vocabularies, every head's label list and the splitter's files."""
    assert source.fast_path is not None
    sp = source.splitter
    splitter = [n for n in (sp.mwt, sp.segmenter, sp.segmenter_config) if n is not None]
    return [source.fast_path.forms, *source.data["vocab_files"].values(), *splitter]


def check_source(bundle: str | Path) -> Manifest:
    """The full bundle a slim one is made from, loaded and checked."""
    source = load_manifest(bundle)
    source.require_full("postag slim")
    if source.fast_path is None or FAST_MODEL not in source.files:
        raise BundleError(f"{source.root}: a slim bundle is made from the fast graph; none here")
    return source


@dataclass
class Candidate:
    """One graph choice written into a directory and measured."""

    graph: str
    measured: dict[str, Any]
    bytes: int  # the files a slim bundle of it holds (graph, forms, vocabularies)
    zip_bytes: int  # the same, deflate-compressed as in a wheel


def candidate(
    source: Manifest,
    graph: str,
    root: Path,
    sentences: Sequence[Sentence],
    ref: Measured,
    threads: int,
) -> Candidate:
    """Write ``graph`` into ``root``, run it on ``sentences`` (batched and alone) and
    measure it against ``ref``, the float32 fast graph's run."""
    write_graph(source, graph, root)
    files = [root / SLIM_GRAPHS[graph][0], *(source.path(n) for n in copied_files(source))]
    got = run_graph(source, files[0], [s.words for s in sentences], threads, alone=True)
    return Candidate(
        graph,
        measure(source, got, ref, sentences),
        sum(f.stat().st_size for f in files),
        zip_bytes(files),
    )


def reference_run(source: Manifest, sentences: Sequence[Sentence], threads: int) -> Measured:
    """The float32 fast graph on ``sentences``: what every candidate is measured against."""
    return run_graph(
        source, source.path(FAST_MODEL), [s.words for s in sentences], threads, alone=False
    )


def build_slim(
    bundle: str | Path,
    out: str | Path,
    sentences: tuple[str, Sequence[Sentence]],
    graph: str = "compact",
    threads: int = 0,
    log: Callable[[str], None] = print,
    gate: SlimGate = SlimGate(),
) -> dict[str, Any]:
    """Derive, measure, gate and publish a slim bundle of the full bundle ``bundle`` at
    ``out`` (atomically: a failed gate writes nothing). ``sentences``: (split, gold
    sentences), the split the export scored. Returns the manifest written."""
    source = check_source(bundle)
    split, sents = sentences
    ref = reference_run(source, sents, threads)
    with atomic_dir(out) as tmp:
        cand = candidate(source, graph, tmp, sents, ref, threads)
        for line in measure_lines(cand):
            log(line)
        if bad := gate.failures(cand.measured):
            shipped = SLIM_GRAPHS[graph][0]
            raise ParityError(f"{shipped} fails the slim gate, nothing written:\n" + "\n".join(bad))
        for name in copied_files(source):
            shutil.copyfile(source.path(name), tmp / name)
        manifest = slim_manifest(source, str(bundle), split, sents, cand, gate)
        (tmp / MODEL_CARD).write_text(slim_card(manifest), "utf-8")
        names = [SLIM_GRAPHS[graph][0], *copied_files(source), MODEL_CARD]
        manifest["files"] = file_entries(tmp, names)
        text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
        (tmp / MANIFEST).write_text(text, "utf-8")
        load_manifest(tmp)  # what we are about to publish must load
    return manifest


def compare_graphs(
    bundle: str | Path, sentences: Sequence[Sentence], threads: int = 0
) -> list[Candidate]:
    """Every :data:`SLIM_GRAPHS` choice measured on ``sentences``; nothing is kept."""
    source = check_source(bundle)
    ref = reference_run(source, sentences, threads)
    out = []
    for graph in SLIM_GRAPHS:
        with tempfile.TemporaryDirectory() as tmp:
            out.append(candidate(source, graph, Path(tmp), sentences, ref, threads))
    return out


def slim_manifest(
    source: Manifest,
    origin: str,
    split: str,
    sentences: Sequence[Sentence],
    cand: Candidate,
    gate: SlimGate,
) -> dict[str, Any]:
    """The slim bundle's manifest (its ``files`` still to be listed): the source's fields
    (the identity ones unchanged), the shipped graph's ``evaluation``, ``derived_from``."""
    shipped, from_model, storage = SLIM_GRAPHS[cand.graph]
    m = cand.measured
    data = {k: v for k, v in source.data.items() if k not in DROPPED_FIELDS}
    data["evaluation"] = {
        GRAPH_BACKENDS[shipped]: {metric_key(split, h): a for h, a in m["accuracy"].items()}
    }
    validation = source.data.get("validation") or {}
    data["derived_from"] = {
        "source": origin,
        "name": source.name,
        "version": source.version,
        "model": shipped,
        "from_model": from_model,
        "from_model_sha256": source.files[from_model].sha256,
        "storage": storage,
        "source_validation": {
            "ok": validation.get("ok"),
            "checks": len(validation.get("checks") or []),
        },
        "measured": {
            "split": split,
            "sha256": sentences_sha256(sentences),
            "reference": FAST_MODEL,
            "max_batch_tokens": MAX_BATCH_TOKENS,
            **m,
        },
        "gate": asdict(gate),
        "bytes": cand.bytes,
        "zip_bytes": cand.zip_bytes,
    }
    return data


def measure_lines(cand: Candidate) -> list[str]:
    """What ``postag slim`` prints about a graph: its size, then per head: accuracy (and
    the float32 fast graph's), agreement, max |Δ|, batch invariance."""
    m = cand.measured
    lines = [
        f"{cand.graph} ({SLIM_GRAPHS[cand.graph][0]}): {cand.bytes / 1e6:.2f} MB, "
        f"{cand.zip_bytes / 1e6:.2f} MB zip-compressed; {m['sentences']} sentences, "
        f"{m['tokens']} tokens"
    ]
    for head in m["accuracy"]:
        bi = m["batch_invariance"][head]
        lines.append(
            f"  {HEAD_NAMES[head]:<7} accuracy {percent(m['accuracy'][head])} (fp32 "
            f"{percent(m['reference_accuracy'][head])}), labels = fp32 on "
            f"{100 * m['agreement'][head]:.3f}%, max|Δ| {m['max_abs_diff'][head]:.2e}; "
            f"alone vs batched: {bi['tokens_changed']} tokens "
            f"({100 * bi['tokens_changed'] / m['tokens']:.3f}%), {bi['sentences_changed']} "
            f"sentences ({100 * bi['sentences_changed'] / m['sentences']:.2f}%) change"
        )
    return lines


# ----------------------------------------------------------------------- the command


@click.command(name="slim")
@click.argument("bundle", type=click.Path())
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Where the slim bundle goes (replaced only when it passes the gate).",
)
@click.option(
    "--graph",
    type=click.Choice(list(SLIM_GRAPHS)),
    default="compact",
    show_default=True,
    help="compact: float32 compute, uint8 tables, float16 weights; fp16: float32 compute, "
    "float16 weights and tables; int8: the int8 fast graph.",
)
@click.option(
    "--compare", is_flag=True, help="Measure every --graph choice and print them; write nothing."
)
@data_option
@click.pass_obj
def slim_cmd(
    opts: Options, bundle: str, out: str | None, graph: str, compare: bool, data: str | None
) -> None:
    """Derive a slim bundle from the full BUNDLE: one graph, vocabularies, manifest (same
    identity, measurements recorded) and model card; `make default-model` writes the
    model shipped with postag this way."""
    require_extra(("onnx",), "postag slim needs onnx", "export")
    if not compare and out is None:
        raise click.UsageError("give --out DIR (or --compare to measure without writing)")
    split, sentences = scored_sentences(check_source(bundle), data)
    if compare:
        for cand in compare_graphs(bundle, sentences, opts.threads):
            for line in measure_lines(cand):
                click.echo(line)
        return
    m = build_slim(bundle, out, (split, sentences), graph, opts.threads, opts.echo)
    click.echo(f"slim bundle: {out}  ({sum(f['bytes'] for f in m['files'].values()) / 1e6:.2f} MB)")
