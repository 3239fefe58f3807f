"""The raw-text pipeline (tokenize, split sentences, tag) scored as the CoNLL 2018 shared
task scores it, by :mod:`postag.conll18` and, where it is found, by the task's own script
``conll18_ud_eval.py -v`` (run as a command, never copied), side by side.

    python -m postag.export.bench.raw_text                        # EWT dev, shipped model
    python -m postag.export.bench.raw_text --split test --bundle artifacts/postag-en-ewt
    python -m postag.export.bench.raw_text --data ../shared/data/ud-french-sequoia

Steps: the split's raw text (:func:`postag.conll18.raw_text`) is written to
``OUT/raw_text-<gold stem>.txt``; the runtime pipeline (:meth:`postag.Tagger.tag_text`,
in this process) tags it, timed (words/s of tokenization, sentence splitting and tagging
together, after one warm-up call); the result is written as CoNLL-U
(``OUT/raw_text-<gold stem>.conllu``, :func:`postag.conll18.tagged_conllu`) and scored
against the gold file. Report: ``OUT/raw_text.{json,md}``. Exits 1 if any F1 of ours
differs from the script's (which prints two decimals) by more than 0.005 points.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from postag.splitter import Splitter

#: Largest F1 difference, in points, between ours and the script's two-decimal print.
TOLERANCE = 0.005


def official_table(script: Path, gold: Path, system: Path) -> dict[str, dict[str, float | None]]:
    """The script's ``-v`` table: {metric: {precision, recall, f1, aligned_accuracy}} in
    points (``aligned_accuracy`` None where the script leaves it blank)."""
    out = subprocess.run(
        [sys.executable, str(script), "-v", str(gold), str(system)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    table: dict[str, dict[str, float | None]] = {}
    for line in out.splitlines()[2:]:
        cells = [c.strip() for c in line.split("|")]
        if len(cells) == 5:
            p, r, f, acc = cells[1:]
            table[cells[0]] = {
                "precision": float(p),
                "recall": float(r),
                "f1": float(f),
                "aligned_accuracy": float(acc) if acc else None,
            }
    return table


def side_by_side(
    ours: dict[str, dict[str, Any]], theirs: dict[str, dict[str, float | None]] | None
) -> tuple[str, bool]:
    """A markdown table of our metrics (points) beside the script's, and whether every
    F1 agrees within :data:`TOLERANCE`."""

    def cells(m: dict[str, Any] | None, scale: float) -> list[str]:
        if m is None:
            return ["", "", "", ""]
        acc = m.get("aligned_accuracy")
        vals = [m["precision"], m["recall"], m["f1"], acc]
        return ["" if v is None else f"{scale * v:.2f}" for v in vals]

    head = "| metric | P | R | F1 | AligndAcc |"
    rule = "| --- | ---: | ---: | ---: | ---: |"
    if theirs is not None:
        head += " script P | script R | script F1 | script AligndAcc | agree |"
        rule += " ---: | ---: | ---: | ---: | --- |"
    lines, agree = [head, rule], True
    for name, m in ours.items():
        row = [name, *cells(m, 100)]
        if theirs is not None:
            t = theirs.get(name)
            same = t is not None and abs(100 * m["f1"] - float(t["f1"] or 0)) <= TOLERANCE
            agree &= same
            row += [*cells(t, 1), "yes" if same else "NO"]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines), agree


def _splitter(mwt_from: Path | None, segmenter: Path | None) -> Splitter | None:
    """The splitter the options ask for (None: the bundle's)."""
    from postag.mwt import MwtLexicon
    from postag.splitter import Splitter

    lexicon = MwtLexicon.learn_files([mwt_from]) if mwt_from else None
    if segmenter is not None:
        from postag.segmenter import Segmenter

        seg = Segmenter.load(segmenter)
        return Splitter("model", seg.spec.lexicon, seg)
    return Splitter("rules", lexicon) if lexicon is not None else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m postag.export.bench.raw_text")
    parser.add_argument("--bundle", default=None, help="bundle dir or model [default: shipped]")
    parser.add_argument("--data", default=None, help="corpus directory [default: located]")
    parser.add_argument("--split", default="dev", help="dev/test (train), or a CoNLL-U file")
    parser.add_argument("--out", type=Path, default=Path("artifacts") / "bench")
    parser.add_argument("--script", type=Path, default=None, help="conll18_ud_eval.py")
    parser.add_argument(
        "--mwt-from",
        type=Path,
        default=None,
        help="split with the rule tokenizer, joining multiword tokens with a lexicon learned "
        "from this CoNLL-U file (what a bundle with mwt.json does)",
    )
    parser.add_argument(
        "--rules",
        action="store_true",
        help="split with the rule tokenizer alone (no multiword tokens), whatever the bundle has",
    )
    parser.add_argument(
        "--segmenter",
        type=Path,
        default=None,
        help="split with this exported segmenter (a directory with segmenter.onnx and "
        "segmenter.json) instead of the bundle's splitter",
    )
    args = parser.parse_args(argv)

    from postag import Tagger
    from postag.conll18 import evaluate, raw_text, read_treebank, tagged_conllu
    from postag.corpus import SPLITS, locate_corpus
    from postag.errors import PostagError
    from postag.export.bench.official_scorer import find_script
    from postag.files import write_report

    try:
        split = args.split
        gold = locate_corpus(args.data).path(split) if split in SPLITS else Path(split)
        text = raw_text(gold)
        tagger = Tagger.load(args.bundle)
        if args.rules:
            from postag.splitter import RULES

            tagger.splitter = RULES
        tagger.splitter = _splitter(args.mwt_from, args.segmenter) or tagger.splitter
        tagger.tag_text("A warm-up sentence. And another one.")
        t0 = time.perf_counter()
        sentences = tagger.tag_text(text)
        seconds = time.perf_counter() - t0
        args.out.mkdir(parents=True, exist_ok=True)
        txt = args.out / f"raw_text-{gold.stem}.txt"
        system = args.out / f"raw_text-{gold.stem}.conllu"
        txt.write_text(text, encoding="utf-8")
        system.write_text(tagged_conllu(sentences, text), encoding="utf-8")
        result = evaluate(read_treebank(gold), read_treebank(system))
    except PostagError as exc:
        sys.exit(f"error: {exc}")

    script = args.script or find_script()
    theirs = None
    if script is not None and script.is_file():
        try:
            theirs = official_table(script, gold, system)
        except subprocess.CalledProcessError as exc:
            why = (exc.stderr or "").strip().splitlines()[-1:] or [f"exit status {exc.returncode}"]
            sys.exit(f"error: {script} failed on {system}: {why[0]}")
    ours = result.to_dict()
    table, agree = side_by_side(ours, theirs)
    words = sum(len(s.words) for s in sentences)
    man = tagger.manifest
    header = (
        f"gold {gold} ({len(text):,} characters of raw text)\n"
        f"model {man.name} {man.version} ({man.root}), {tagger.provider}\n"
        f"splitter: {tagger.splitter.describe()}\n"
        f"raw pipeline: {words:,} words in {seconds:.2f} s = {words / seconds:,.0f} words/s\n"
        + (
            f"official: {Path(sys.executable).name} {script} -v GOLD SYSTEM\n"
            if theirs is not None
            else f"official script not found ({script or 'looked for ../shared/tools'})\n"
        )
    )
    print(header)
    print(table)
    if theirs is not None:
        print("\nagree: " + ("yes, every F1 within 0.005 points" if agree else "NO"))
    data = {
        "date": date.today().isoformat(),
        "gold": str(gold),
        "raw_text": str(txt),
        "system": str(system),
        "model": {"name": man.name, "version": man.version, "path": str(man.root)},
        "provider": tagger.provider,
        "splitter": tagger.splitter.describe(),
        "words": words,
        "seconds": seconds,
        "words_per_s": words / seconds,
        "ours": ours,
        "official": theirs,
        "agree": agree if theirs is not None else None,
    }
    write_report(args.out, "raw_text", data, header + "\n" + table)
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
