"""Train, export and check the segmenter from the command line.

    python -m postag.export.segment train ../shared/data/ud-english-ewt \\
        --out artifacts/segmenter/en-ewt.pt --epochs 25 --threads 1
    python -m postag.export.segment export artifacts/segmenter/en-ewt.pt \\
        artifacts/segmenter/en-ewt --parity ../shared/data/ud-english-ewt/en_ewt-ud-dev.conllu
    python -m postag.export.segment parity artifacts/segmenter/en-ewt.pt \\
        artifacts/segmenter/en-ewt/segmenter.onnx DEV.conllu [--report parity.json]

``train`` takes every :class:`~postag.export.segment.config.SegmenterConfig` field as an
option (``--hidden 64 --conv-width 5 …``). ``parity`` (and ``export --parity``) checks
the graph against PyTorch on each paragraph of the file's raw text, then on the whole
text; exit 1 on a mismatch (``export --parity`` writes its report beside the
directory, ``OUT_DIR.parity.json``, so the directory holds only the two files).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

from postag.errors import PostagError
from postag.export.segment.config import SegmenterConfig


def parity_texts(conllu: str | Path) -> list[str]:
    """The raw text of a CoNLL-U file, paragraph by paragraph, then whole."""
    from postag.export.segment.data import read_document

    doc = read_document(conllu)
    return [doc.text[a:b] for a, b in doc.paragraphs] + [doc.text]


def _parity(ckpt: str, graph: str, conllu: str, report: str | None) -> int:
    from postag.export.segment.onnx_export import check_segmenter_parity
    from postag.files import atomic_write_bytes

    texts = parity_texts(conllu)
    result = check_segmenter_parity(ckpt, graph, texts, raise_on_failure=False)
    if report:
        data = json.dumps({"texts_from": conllu, **result.to_dict()}, indent=1)
        atomic_write_bytes(report, (data + "\n").encode())
    return 0 if result.ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m postag.export.segment")
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="train on a UD treebank directory")
    tr.add_argument("data", help="directory with *-ud-train.conllu and *-ud-dev.conllu")
    tr.add_argument("--out", required=True, help="checkpoint path (.pt)")
    for f in fields(SegmenterConfig):
        if f.name == "n_chars":
            continue
        kind = {"int": int, "float": float, "bool": lambda s: s.lower() in ("1", "true")}
        tr.add_argument(f"--{f.name.replace('_', '-')}", type=kind[str(f.type)], default=None)
    ex = sub.add_parser("export", help="checkpoint → segmenter.onnx + segmenter.json")
    ex.add_argument("checkpoint")
    ex.add_argument("out_dir")
    ex.add_argument("--parity", metavar="CONLLU", help="then check parity on its raw text")
    pa = sub.add_parser("parity", help="PyTorch vs ONNX on a CoNLL-U file's raw text")
    pa.add_argument("checkpoint")
    pa.add_argument("onnx")
    pa.add_argument("conllu")
    pa.add_argument("--report", help="write the report as JSON here")
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            from postag.export.segment.trainer import train_segmenter

            changes = {
                f.name: getattr(args, f.name)
                for f in fields(SegmenterConfig)
                if getattr(args, f.name, None) is not None
            }
            cfg = SegmenterConfig(**changes)
            metrics = train_segmenter(args.data, cfg, args.out)
            print(json.dumps(metrics, indent=1))
            return 0
        if args.command == "export":
            from postag.export.segment.onnx_export import export_segmenter

            paths = export_segmenter(args.checkpoint, args.out_dir)
            print(f"wrote {paths.onnx} and {paths.json}")
            if args.parity:
                out = Path(args.out_dir)
                report = out.parent / f"{out.name}.parity.json"
                return _parity(args.checkpoint, str(paths.onnx), args.parity, str(report))
            return 0
        return _parity(args.checkpoint, args.onnx, args.conllu, args.report)
    except PostagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
