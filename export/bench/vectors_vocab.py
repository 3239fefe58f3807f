"""How much of the pretrained-vector table a model keeps, and in which storage: dev
accuracy (all words, words the training set lacks) and the word table's size for each
``--vectors-top`` × storage.

    python -m postag.export.bench.vectors_vocab artifacts/checkpoints/default.pt \\
        --tops 50000,100000,200000,0 --split dev --out artifacts/bench

Needs a checkpoint trained with ``--vectors ... --vectors-combine concat``; each size is
that model with its vector-only rows rebuilt from the top N vectors
(:func:`postag.export.train.vectors.with_vector_words`: exactly the rows training with
``--vectors-top N`` gives). Storage of the word table: ``fp32`` as trained; ``fp16``
rounded to float16; ``uint8`` as the compact graph stores lookup tables (onnxruntime's
dynamic quantisation of ``Gather``: one affine scale and zero point for the whole table,
a row dequantised on lookup) — applied to the PyTorch model's table here, so the rest of
the network stays float32. The shipped graph itself is measured by ``postag slim``.

Words are split as ``postag eval`` does: *training forms*, and the rest (*EWT-unknown*)
into *vector-only* (an id past the training forms: the word has a vector) and *neither*
(``<unk>``). Writes ``vectors_vocab.json`` and ``vectors_vocab.md`` under ``--out``.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from postag.data import Sentence
from postag.export.train.checkpoint import Checkpoint
from postag.export.train.evaluate import evaluate_checkpoint
from postag.export.train.trainer import tag_ids
from postag.export.train.vectors import with_vector_words
from postag.vocab import UNK_ID

STORAGES = ("fp32", "fp16", "uint8")
BYTES = {"fp32": 4, "fp16": 2, "uint8": 1}
GROUPS = ("all", "training", "unknown", "vector_only", "neither")


def uint8_table(table: torch.Tensor) -> torch.Tensor:
    """``table`` through onnxruntime's QUInt8 dynamic quantisation of a ``Gather`` input
    (asymmetric, one scale and zero point per tensor, the range widened to hold 0)."""
    lo, hi = min(float(table.min()), 0.0), max(float(table.max()), 0.0)
    scale = (hi - lo) / 255.0 or 1.0
    zero = round(-lo / scale)
    q = torch.clamp(torch.round(table / scale) + zero, 0, 255)
    return (q - zero) * scale


def stored(ckpt: Checkpoint, storage: str) -> Checkpoint:
    """``ckpt`` with its word table as ``storage`` keeps it (dequantised to float32)."""
    table = ckpt.state_dict["word_emb.weight"]
    if storage == "fp16":
        table = table.half().float()
    elif storage == "uint8":
        table = uint8_table(table)
    return dataclasses.replace(ckpt, state_dict={**ckpt.state_dict, "word_emb.weight": table})


def group_accuracy(ckpt: Checkpoint, sentences: Sequence[Sentence]) -> dict[str, Any]:
    """Accuracy per head and word group (see the module docstring), and the group sizes."""
    result = evaluate_checkpoint(ckpt, sentences)
    encoder, n_train = ckpt.encoder(), ckpt.training_words()
    ids = np.concatenate([np.asarray(encoder.word_ids(s.words)) for s in sentences])
    masks = {
        "all": np.ones(len(ids), dtype=bool),
        "training": (ids != UNK_ID) & (ids < n_train),
        "unknown": (ids == UNK_ID) | (ids >= n_train),
        "vector_only": ids >= n_train,
        "neither": ids == UNK_ID,
    }
    out: dict[str, Any] = {"words": {g: int(m.sum()) for g, m in masks.items()}}
    for head, labels in ckpt.labels().items():
        gold = np.concatenate(tag_ids(sentences, labels, "eval", head))
        pred = np.concatenate(result.predicted[head])
        hit = gold == pred
        out[head] = {g: float(hit[m].mean()) if m.any() else None for g, m in masks.items()}
    out["all_tags"] = result.all_tags
    out["conll18"] = result.conll18.to_dict() if result.conll18 else None
    return out


def measure(ckpt: Checkpoint, tops: Sequence[int], sentences: Sequence[Sentence]) -> list[dict]:
    rows = []
    for top in tops:
        sized = with_vector_words(ckpt, top)
        table = sized.state_dict["word_emb.weight"]  # (n_words, width)
        for storage in STORAGES:
            t0 = time.perf_counter()
            acc = group_accuracy(stored(sized, storage), sentences)
            rows.append({
                "top": top,
                "storage": storage,
                "rows": int(table.shape[0]),
                "width": int(table.shape[1]),
                "table_bytes": int(table.numel()) * BYTES[storage],
                "seconds": time.perf_counter() - t0,
                **acc,
            })  # fmt: skip
            print(line(rows[-1]), flush=True)
    return rows


def pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.2f}"


HEADER = (
    "| top | storage | word table | MB | UPOS | XPOS | UFeats | AllTags | "
    "EWT-unknown UPOS | vector-only UPOS (words) | neither UPOS (words) |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


def line(r: dict) -> str:
    heads = [pct(r[h]["all"]) if h in r else "—" for h in ("upos", "xpos", "feats")]
    return (
        f"| {r['top'] or 'all'} | {r['storage']} | {r['rows']:,} × {r['width']} | "
        f"{r['table_bytes'] / 1e6:.1f} | {' | '.join(heads)} | {pct(r['all_tags'])} | "
        f"{pct(r['upos']['unknown'])} | {pct(r['upos']['vector_only'])} "
        f"({r['words']['vector_only']:,}) | {pct(r['upos']['neither'])} "
        f"({r['words']['neither']:,}) |"
    )


def main(argv: Sequence[str] | None = None) -> int:
    from postag.data import read_conllu
    from postag.export.splits import corpus_file
    from postag.files import write_report

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--tops", default="50000,100000,200000,0", help="comma-separated; 0 = all")
    ap.add_argument("--split", default="dev", help="dev, test or a CoNLL-U file")
    ap.add_argument("--data", default=None, help="corpus directory [default: located]")
    ap.add_argument("--out", default="artifacts/bench")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    ckpt = Checkpoint.load(args.checkpoint)
    sentences = read_conllu(corpus_file(args.data, args.split))
    print(HEADER)
    rows = measure(ckpt, [int(t) for t in args.tops.split(",")], sentences)
    table = "\n".join([HEADER, *(line(r) for r in rows)])
    write_report(args.out, "vectors_vocab", {"checkpoint": args.checkpoint, "rows": rows}, table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
