"""`postag eval`'s CoNLL 2018 tagging metrics next to the shared task's own evaluation
script, ``conll18_ud_eval.py`` (run as a command, never copied), on the same output.

    python -m postag.export.bench.official_scorer artifacts/checkpoints/default.pt
    python -m postag.export.bench.official_scorer CKPT --split test --data DIR \\
        --script ../shared/tools/conll18_ud_eval.py --conllu-out pred.conllu

Tags a split (default: dev of the located corpus, e.g. ../shared/data/ud-english-ewt)
with the checkpoint, writes the predictions as ``postag eval --conllu-out`` does (the
gold file with UPOS, XPOS and FEATS replaced; HEAD, DEPREL and the rest kept), runs
``conll18_ud_eval.py -c GOLD PRED`` and prints, per metric (UPOS, XPOS, UFeats,
AllTags), postag's count and accuracy beside the script's, then postag's whole-string
UFeats and AllTags (what the UFeats head trains on). Exits 1 if any metric differs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

#: Where the script is looked for, from the project root and then the working directory.
SCRIPT_REL = Path("..") / "shared" / "tools" / "conll18_ud_eval.py"


def find_script() -> Path | None:
    """``../shared/tools/conll18_ud_eval.py`` from the project root or the working dir."""
    from postag.corpus import PROJECT_ROOT

    for base in (PROJECT_ROOT, Path.cwd()):
        if (path := (base / SCRIPT_REL).resolve()).is_file():
            return path
    return None


def official_counts(script: Path, gold: Path, system: Path) -> dict[str, list[int]]:
    """The script's ``-c`` table: {metric: [correct, gold, system(, aligned)]}."""
    out = subprocess.run(
        [sys.executable, str(script), "-c", str(gold), str(system)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = (line.split("|") for line in out.splitlines()[2:] if "|" in line)
    return {r[0].strip(): [int(c) for c in r[1:] if c.strip()] for r in rows}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m postag.export.bench.official_scorer")
    parser.add_argument("checkpoint", help="a postag checkpoint (.pt)")
    parser.add_argument("--split", default="dev", help="train/dev/test, or a CoNLL-U file")
    parser.add_argument("--data", default=None, help="corpus directory [default: located]")
    parser.add_argument("--script", type=Path, default=None, help=f"[default: {SCRIPT_REL}]")
    parser.add_argument("--conllu-out", type=Path, default=None, help="keep the predictions")
    args = parser.parse_args(argv)

    from postag.data import read_conllu, write_conllu_with_tags
    from postag.export.splits import corpus_file
    from postag.export.train.checkpoint import Checkpoint
    from postag.export.train.evaluate import evaluate_checkpoint
    from postag.export.train.scorer import CONLL18_METRICS

    script = args.script or find_script()
    if script is None or not script.is_file():
        sys.exit(f"conll18_ud_eval.py not found (looked for {SCRIPT_REL}): pass --script PATH")
    ckpt = Checkpoint.load(args.checkpoint)
    gold = corpus_file(args.data, args.split)
    result = evaluate_checkpoint(ckpt, read_conllu(gold))
    labels = ckpt.labels()
    predicted = {
        h: [[labels[h].items[i] for i in p] for p in ids] for h, ids in result.predicted.items()
    }
    text = gold.read_text(encoding="utf-8").replace("\r\n", "\n").lstrip("\ufeff")
    with tempfile.TemporaryDirectory() as tmp:
        pred = args.conllu_out or Path(tmp) / "pred.conllu"
        pred.write_text(write_conllu_with_tags(text, predicted), encoding="utf-8")
        theirs = official_counts(script, gold, pred)

    ours = result.conll18
    print(f"checkpoint {args.checkpoint}\ngold       {gold}")
    print(f"official   {Path(sys.executable).name} {script} -c GOLD PREDICTIONS\n")
    rows, agree = [], theirs["Words"][:2] == [ours.words, ours.words]
    for m in (m for m in CONLL18_METRICS if m in ours.correct):
        c, g, s, a = theirs[m]
        same = [c, g, s, a] == [ours.correct[m], ours.words, ours.words, ours.words]
        agree &= same
        mine = f"{100 * ours.accuracy(m):8.4f}% {ours.correct[m]:>6}/{ours.words}"
        rows.append((m, mine, f"{100 * c / g:8.4f}% {c:>6}/{g}/{s}/{a}", "yes" if same else "NO"))
    w1, w2 = (max(len(r[k]) for r in rows) for k in (1, 2))
    print(f"{'metric':<8} {'postag eval':<{w1}}   {'conll18_ud_eval.py -c':<{w2}}   agree")
    for m, mine, script_row, same in rows:
        print(f"{m:<8} {mine:<{w1}}   {script_row:<{w2}}   {same}")
    if "feats" in result.heads:
        print(
            "\npostag's whole-FEATS-string metrics (the UFeats head's own labels): UFeats "
            f"{100 * result.heads['feats'].accuracy:.4f}%, AllTags {100 * result.all_tags:.4f}%"
        )
    print("agree: " + ("yes, every metric" if agree else "NO"))
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
