"""Speed of the spaCy component against postag alone, on the same tokens, in one run; and
the measurement behind its whitespace decision.

    python -m postag.spacy.bench                          # EWT test texts, batch_size 64
    python -m postag.spacy.bench --docs 4000 --batch-size 128 --repeats 7 --threads 2
    python -m postag.spacy.bench --data DIR --out bench/  # + spacy_bench.{json,md}
    python -m postag.spacy.bench --whitespace             # SPACE/_SP vs whitespace to the model

**Speed.** The documents are the ``# text`` lines of the corpus's test split (UD English
EWT's ``en_ewt-ud-test.conllu``, found as ``--data`` / ``POSTAG_DATA`` / ``../shared``
say, never downloaded), one Doc each, cycled up to ``--docs``. Each variant runs once to
warm up, then ``--repeats`` times, the variants interleaved within each repeat (a shared
machine's load then weighs on all alike); the table gives the median. Words are the
tokens the model tags (spaCy's tokens less whitespace ones), the same in every row:

* ``tag_batch, same batches``: ``Tagger.tag_batch`` on those tokens, ``--batch-size``
  documents a call, probabilities on: the component's own work without spaCy;
* ``tag_batch, one call``: every sequence in one call (postag's best case: length buckets
  over the whole set);
* ``component.pipe on Docs``: the component on Docs tokenized beforehand;
* ``nlp.pipe on texts``: ``spacy.blank(lang)`` + ``postag``, texts in, tokenizer included;
* ``spaCy tokenizer only``: ``nlp.make_doc`` on the texts, for reference.

Every row uses the one model session (the component's tagger), so they differ only in
what is around it; the last column is each row's time outside ``Tagger.tag_batch``
(timed around every call): for the component, its own work (finding sequences, setting
the annotations), a number a busy machine disturbs less than the ratio of two runs.

**Whitespace** (``--whitespace``): the test split's documents as texts with extra spaces
and line breaks (a fixed seed doubles some spaces, breaks some lines, joins sentences with
spaces, line breaks or blank lines), tokenized by spaCy; UPOS/XPOS/UFeats accuracy on the
tokens that match a gold word's span exactly, with whitespace tokens left out of the model's
input (what the component does) or passed to it, each Doc as one sequence and with
spaCy's rule-based ``sentencizer``.
"""

import argparse
import os
import platform
import random
import re
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from ..corpus import locate_corpus
from ..data import Sentence, read_conllu
from ..files import write_report
from .component import PostagComponent


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else ``platform.processor()``."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine() -> dict[str, Any]:
    """What the numbers were measured on, and when."""
    import onnxruntime

    from .. import __version__

    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()]
        if hasattr(os, "getloadavg")
        else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "postag": __version__,
        "spacy": spacy.__version__,
        "onnxruntime": onnxruntime.__version__,
    }


def test_split(data: str | None) -> list[Sentence]:
    """The corpus's test split (``--data``, ``POSTAG_DATA``, ``../shared``; no download)."""
    return read_conllu(locate_corpus(data, download=False).path("test"))


def pipeline(lang: str, config: dict[str, Any]) -> tuple[Language, PostagComponent]:
    nlp = spacy.blank(lang)
    component = nlp.add_pipe("postag", config=config)
    return nlp, component  # type: ignore[return-value]


def measure_speed(
    texts: Sequence[str], nlp: Language, component: PostagComponent, batch_size: int, repeats: int
) -> tuple[int, dict[str, list[float]], dict[str, list[float]]]:
    """(words tagged, seconds of each repeat per variant, seconds of each repeat spent
    inside ``Tagger.tag_batch`` per variant); see the module docstring."""
    docs = [nlp.make_doc(t) for t in texts]
    seqs = [[[doc[i].text for i in seq] for seq in component.sequences(doc)] for doc in docs]
    words = sum(len(s) for doc_seqs in seqs for s in doc_seqs)
    tagger = component.tagger
    batches = [
        [s for doc_seqs in seqs[k : k + batch_size] for s in doc_seqs]
        for k in range(0, len(seqs), batch_size)
    ]
    flat = [s for b in batches for s in b]
    variants: dict[str, Callable[[], object]] = {
        "tag_batch, same batches": lambda: [tagger.tag_batch(b, probs=True) for b in batches],
        "tag_batch, one call": lambda: tagger.tag_batch(flat, probs=True),
        "component.pipe on Docs": lambda: list(component.pipe(docs, batch_size=batch_size)),
        "nlp.pipe on texts": lambda: list(nlp.pipe(texts, batch_size=batch_size)),
        "spaCy tokenizer only": lambda: [nlp.make_doc(t) for t in texts],
    }
    inside = [0.0]  # seconds inside tag_batch: what is left is the component's own work
    real = tagger.tag_batch

    def tag_batch(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            inside[0] += time.perf_counter() - t0

    tagger.tag_batch = tag_batch  # type: ignore[method-assign]
    try:
        for fn in variants.values():  # warm-up
            fn()
        times: dict[str, list[float]] = {name: [] for name in variants}
        in_model: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(repeats):
            for name, fn in variants.items():
                inside[0] = 0.0
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
                in_model[name].append(inside[0])
    finally:
        del tagger.tag_batch
    return words, times, in_model


def speed_table(
    words: int, times: dict[str, list[float]], in_model: dict[str, list[float]]
) -> tuple[str, dict[str, Any]]:
    """The markdown table (median seconds, words/s, spread, time outside ``tag_batch``)
    and the ratios."""
    med = {name: statistics.median(t) for name, t in times.items()}
    outside = {
        name: statistics.median(t - m for t, m in zip(times[name], in_model[name], strict=True))
        for name in times
    }
    base = med["tag_batch, same batches"]
    lines = [
        "| variant | median s | words/s | min-max s | vs tag_batch, same batches | "
        "outside tag_batch: s, µs/word |",
        "| --- | ---: | ---: | --- | ---: | ---: |",
    ]
    for name, t in times.items():
        lines.append(
            f"| {name} | {med[name]:.3f} | {words / med[name]:,.0f} | "
            f"{min(t):.3f}-{max(t):.3f} | {base / med[name]:.2f}x | "
            f"{outside[name]:.3f}, {outside[name] / words * 1e6:.1f} |"
        )
    best = {name: min(t) for name, t in times.items()}
    ratios = {
        "component_on_docs_vs_tag_batch": base / med["component.pipe on Docs"],
        "nlp_pipe_vs_tag_batch": base / med["nlp.pipe on texts"],
        "best_component_on_docs_vs_tag_batch": (
            best["tag_batch, same batches"] / best["component.pipe on Docs"]
        ),
        "best_nlp_pipe_vs_tag_batch": best["tag_batch, same batches"] / best["nlp.pipe on texts"],
        "outside_tag_batch_s": outside,
    }
    return "\n".join(lines), {"median_s": med, **ratios}


# --- the whitespace measurement ------------------------------------------------------


def spaced_documents(
    sents: Sequence[Sentence], seed: int = 7
) -> tuple[list[str], list[dict[tuple[int, int], tuple[str, str, str]]]]:
    """The test split's documents (sentences grouped by ``sent_id`` less its number) as
    texts with extra whitespace, and each one's gold labels by character span."""
    rng = random.Random(seed)
    docs: dict[str, list[Sentence]] = {}
    for s in sents:
        docs.setdefault(re.sub(r"-\d+$", "", s.sent_id or ""), []).append(s)
    texts, golds = [], []
    for doc in docs.values():
        parts: list[str] = []
        gold: dict[tuple[int, int], tuple[str, str, str]] = {}
        pos = 0
        for s in doc:
            r = [rng.random() for _ in (s.text or "")]
            text = "".join(
                ("  " if x < 0.15 else " \n" if x < 0.2 else " ") if ch == " " else ch
                for ch, x in zip(s.text or "", r, strict=True)
            )
            at = 0
            for i, w in enumerate(s.words):
                found = text.find(w, at)
                if found < 0:
                    continue
                gold[(pos + found, pos + found + len(w))] = (s.tags[i], s.xpos[i], s.feats[i])
                at = found + len(w)
            sep = rng.choice([" ", "  ", "\n", "\n\n", " \n"])
            parts.append(text + sep)
            pos += len(text) + len(sep)
        texts.append("".join(parts))
        golds.append(gold)
    return texts, golds


def whitespace_accuracy(
    docs: Sequence[Doc],
    golds: Sequence[dict[tuple[int, int], tuple[str, str, str]]],
    component: PostagComponent,
    to_model: bool,
) -> dict[str, Any]:
    """Accuracy per head on the tokens that match a gold span, whitespace tokens passed
    to the model or not; and what the model tags whitespace tokens when it sees them."""
    jobs = []
    for d, doc in enumerate(docs):
        spans = doc.sents if doc.has_annotation("SENT_START") else [doc[:]]
        for span in spans:
            jobs.append((d, [t for t in span if to_model or not t.is_space]))
    results = component.tagger.tag_batch([[t.text for t in toks] for _, toks in jobs])
    right = [0, 0, 0]
    n = 0
    space_tags: dict[str, int] = {}
    for (d, toks), res in zip(jobs, results, strict=True):
        for j, tok in enumerate(toks):
            if tok.is_space:
                space_tags[res.tags[j]] = space_tags.get(res.tags[j], 0) + 1
                continue
            gold = golds[d].get((tok.idx, tok.idx + len(tok)))
            if gold is None:
                continue
            n += 1
            got = (res.tags[j], res.xpos[j], res.feats[j])
            right = [r + (g == p) for r, g, p in zip(right, gold, got, strict=True)]
    acc = {h: r / max(1, n) for h, r in zip(("upos", "xpos", "feats"), right, strict=True)}
    top = dict(sorted(space_tags.items(), key=lambda kv: -kv[1])[:5])
    return {"tokens": n, **acc, "whitespace_tagged_as": top}


def measure_whitespace(sents: Sequence[Sentence], config: dict[str, Any]) -> tuple[str, Any]:
    """The table of :func:`whitespace_accuracy` for both choices, with and without the
    sentencizer."""
    texts, golds = spaced_documents(sents)
    nlp, component = pipeline("en", config)
    plain = [nlp.make_doc(t) for t in texts]
    senter = spacy.blank("en")
    senter.add_pipe("sentencizer")
    split = list(senter.pipe(texts))
    n_tok = sum(len(d) for d in plain)
    n_space = sum(t.is_space for d in plain for t in d)
    lines = [
        f"{len(texts)} documents, {n_tok:,} spaCy tokens of which {n_space:,} whitespace",
        "",
        "| sequences | whitespace tokens | words scored | UPOS | XPOS | UFeats | "
        "whitespace tagged as |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    rows = []
    for seq_name, docs in (("Doc as one sequence", plain), ("sentencizer sentences", split)):
        for to_model in (False, True):
            r = whitespace_accuracy(docs, golds, component, to_model)
            r.update(sequences=seq_name, whitespace="to the model" if to_model else "SPACE/_SP")
            rows.append(r)
            tagged_as = ", ".join(f"{t} {c}" for t, c in r["whitespace_tagged_as"].items())
            lines.append(
                f"| {seq_name} | {r['whitespace']} | {r['tokens']:,} | {r['upos']:.2%} | "
                f"{r['xpos']:.2%} | {r['feats']:.2%} | {tagged_as or '-'} |"
            )
    return "\n".join(lines), rows


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m postag.spacy.bench", description=__doc__)
    p.add_argument("--data", help="corpus directory or .conllu file (default: as postag finds)")
    p.add_argument("--model", help="what --model takes (default: the shipped model)")
    p.add_argument("--docs", type=int, default=0, help="documents (default: every test text)")
    p.add_argument("--batch-size", type=int, default=64, help="documents a batch (nlp.pipe)")
    p.add_argument("--repeats", type=int, default=5, help="timed repeats after the warm-up")
    p.add_argument("--threads", type=int, default=0, help="onnxruntime threads (0: all cores)")
    p.add_argument("--whitespace", action="store_true", help="the whitespace measurement")
    p.add_argument("--out", type=Path, help="also write spacy_bench.{json,md} here")
    args = p.parse_args(argv)
    if args.batch_size < 1 or args.repeats < 1 or args.docs < 0:
        p.error("--batch-size and --repeats must be at least 1, --docs 0 or more")
    config = {"model": args.model, "provider": "cpu", "threads": args.threads}
    sents = test_split(args.data)
    info = machine()
    head = (
        f"{info['date']} · {info['cpu']} · {info['cores']} cores (load {info['load_average']})"
        f" · postag {info['postag']}, spaCy {info['spacy']}, onnxruntime {info['onnxruntime']}"
    )
    if args.whitespace:
        table, result = measure_whitespace(sents, config)
        report: dict[str, Any] = {"machine": info, "whitespace": result}
    else:
        texts = [s.text for s in sents if s.text]
        n = args.docs or len(texts)
        texts = [texts[k % len(texts)] for k in range(n)]
        nlp, component = pipeline("en", config)
        words, times, in_model = measure_speed(texts, nlp, component, args.batch_size, args.repeats)
        table, ratios = speed_table(words, times, in_model)
        table = (
            f"{len(texts):,} docs, {words:,} words, batch_size {args.batch_size}, "
            f"{args.repeats} repeats (median), threads {args.threads or 'all'}, "
            f"model {component.describe()}\n\n{table}\n\n"
            "words/s as a share of tag_batch's (same batches), by median (by best): "
            f"component.pipe on Docs {ratios['component_on_docs_vs_tag_batch']:.2f}x "
            f"({ratios['best_component_on_docs_vs_tag_batch']:.2f}x), nlp.pipe on texts "
            f"{ratios['nlp_pipe_vs_tag_batch']:.2f}x ({ratios['best_nlp_pipe_vs_tag_batch']:.2f}x)"
        )
        report = {
            "machine": info,
            "words": words,
            "times_s": times,
            "inside_tag_batch_s": in_model,
            **ratios,
        }
    table = f"{head}\n\n{table}"
    print(table)
    if args.out:
        write_report(args.out, "spacy_bench", report, table)


if __name__ == "__main__":
    main()
