"""Scaling benchmark of the tokenizer on hostile input: time and peak memory per family
of adversarial text per size, and the ratio of times for n and 8n (linear ≈ 8, quadratic
≈ 64). Torch-free; every (family, size, mode) runs in a fresh subprocess, so each peak
RSS is that case's own.

    python -m postag.tokenizer_bench                       # 10k, 100k, 1M characters
    python -m postag.tokenizer_bench --sizes 10k,100k --families word-run,flags
    python -m postag.tokenizer_bench --modes read_text --sizes 1M,10M --families ordinary
    python -m postag.tokenizer_bench --impl old_tokenizer.py --modes list   # compare
    python -m postag.tokenizer_bench --out bench/           # + tokenizer_bench.{json,md}
    python -m postag.tokenizer_bench --segmenter artifacts/segmenter/en-ewt  # the model

Modes: ``list`` = ``split_sentences(text)`` (every token held at once), ``stream`` =
``iter_sentences(text)`` consumed one sentence at a time, ``read_text`` = the text as one
line through ``postag tag``'s reader (``postag.cli.formats.read_text``). "extra MB" is
the peak RSS during the call minus the RSS before it (interpreter, imports and the text
itself not counted; Linux: VmHWM, reset through /proc/self/clear_refs). With
``--segmenter DIR`` the trained segmenter (:class:`postag.segmenter.Segmenter`, one
thread) is measured instead of the rule tokenizer, in the ``list`` and ``stream`` modes.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from .files import write_report

_PROSE = (
    "The quick brown fox didn't jump over the lazy dog on Jan. 5, 2024; it ran 3.5 km "
    "(about 2 miles) instead. Mr. Smith e-mailed jo.doe@example.org at 12:30 and said "
    '"see https://example.com/a?b=1, or call 713-853-3242!" Was it a long-term, '
    "non-profit project? Yes... the U.S. team won't say. "
)


def _repeat(unit: str) -> Callable[[int], str]:
    return lambda n: (unit * (n // len(unit) + 1))[:n]


#: family → text of n characters. The first ten are the issue's: long [\w.+-] runs,
#: hyphen chains, glued sentences, URL-like strings, no spaces, one character.
FAMILIES: dict[str, Callable[[int], str]] = {
    "ordinary": _repeat(_PROSE),
    "word-run": _repeat("state-of-the-art-"),
    "dotted-run": _repeat("jo.doe+x-y_z."),
    "hyphen-chain": _repeat("non-anti-re-co-e-"),
    "glued-sentences": _repeat("Thequickbrownfoxjumped."),
    "url-like": _repeat("http://a.b/c?d=e&f=www.g,"),
    "email-like": _repeat("a.b@c.d@"),
    "numbers": _repeat("1,000.50/12:30-"),
    "abbreviations": _repeat("Mr.Dr.e.g.U.S.Inc.sat."),
    "no-spaces": _repeat("".join(_PROSE.split())),
    "one-char": _repeat("a"),
    "spaced-initials": _repeat("A.   "),
    "nfd-words": _repeat("cafe\u0301 nai\u0308ve re\u0301sume\u0301 "),
    "flags": _repeat("🇺🇸"),
    "zwj-emoji": _repeat("👨\u200d👩\u200d👧"),
    "combining": lambda n: ("a" + "\u0301" * n)[:n],  # one "cluster" of n characters
    "modifier-chain": lambda n: ("a" + "🏽" * n)[:n],  # one cluster, one raw token a char
    # invisible characters: read through (format) or read as spaces (control)
    "soft-hyphens": _repeat("co\u00adop\u00aderate "),
    "bidi-marks": _repeat("\u202eword\u202c\u200f "),
    "format-only": _repeat("\u200b\u00ad\ufeff"),
    "format-in-run": _repeat("a\u00ad"),  # one run: every other character is hidden
    "controls": _repeat("a\x00b\x1b"),
}
MODES = ("list", "stream", "read_text")


def parse_size(text: str) -> int:
    """``"10k"`` → 10,000; ``"1M"`` → 1,000,000; ``"500"`` → 500."""
    text = text.strip()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:].lower(), 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def load_impl(path: str | None) -> ModuleType:
    """The tokenizer module to measure: ``postag.tokenizer``, or one loaded from a file."""
    if path is None:
        from . import tokenizer

        return tokenizer
    spec = importlib.util.spec_from_file_location("tokenizer_under_test", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load a tokenizer from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> None:
    """Start the peak RSS (VmHWM) afresh, so building the text does not count (Linux)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:  # not allowed here: the peak then includes building the text
        pass


def _run_mode(mod: ModuleType, text: str, mode: str) -> tuple[int, int]:
    """(tokens, sentences) of ``text`` the way ``mode`` reads it."""
    if mode == "list":
        sents = mod.split_sentences(text)
        return sum(map(len, sents)), len(sents)
    if mode == "stream":
        n_tok = n_sent = 0
        for s in mod.iter_sentences(text):
            n_tok += len(s)
            n_sent += 1
        return n_tok, n_sent
    from .cli.formats import read_text

    n_tok = n_sent = 0
    for unit in read_text(iter([(1, text)]), chunk_chars=6_400):
        n_tok += sum(map(len, unit.sentences))
        n_sent += len(unit.sentences)
    return n_tok, n_sent


def measure(
    family: str, size: int, mode: str, impl: str | None, segmenter: str | None = None
) -> dict[str, float]:
    """One case, in this process: seconds, peak and extra RSS, tokens, sentences."""
    mod: Any = load_impl(impl) if segmenter is None else load_segmenter(segmenter)
    if mode == "read_text":
        from .cli import formats  # noqa: F401 - imported before the baseline
    text = FAMILIES[family](size)
    _reset_peak()
    base = _status_mb("VmRSS")
    t0 = time.perf_counter()
    n_tok, n_sent = _run_mode(mod, text, mode)
    seconds = time.perf_counter() - t0
    peak = _status_mb("VmHWM")
    return {
        "seconds": seconds,
        "peak_mb": peak,
        "extra_mb": max(0.0, peak - base),
        "tokens": n_tok,
        "sentences": n_sent,
    }


def load_segmenter(directory: str) -> Any:
    """The trained segmenter in ``directory``: it has the tokenizer's ``split_sentences``
    and ``iter_sentences``."""
    from .segmenter import Segmenter

    return Segmenter.load(directory, threads=1)


def run_case(
    family: str,
    size: int,
    mode: str,
    impl: str | None,
    timeout: float,
    segmenter: str | None = None,
) -> dict[str, float] | None:
    """One case in a fresh subprocess; ``None`` when it ran past ``timeout`` or failed."""
    cmd = [sys.executable, "-m", "postag.tokenizer_bench", "--child", family, str(size), mode]
    if impl:
        cmd += ["--impl", impl]
    if segmenter:
        cmd += ["--segmenter", segmenter]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None
    if res.returncode != 0:
        print(f"{family} {size} {mode}: failed: {res.stderr.strip()[-300:]}", file=sys.stderr)
        return None
    return json.loads(res.stdout)


def _fmt_size(n: int) -> str:
    for unit, scale in (("M", 1_000_000), ("k", 1_000)):
        if n >= scale and n % (scale // 1000 or 1) == 0:
            return f"{n / scale:g}{unit}"
    return str(n)


def _cell(r: dict[str, float] | None, timeout: float) -> str:
    if r is None:
        return f"> {timeout:g} s | –"
    return f"{r['seconds']:.3f} | {r['extra_mb']:.0f}"


def run(
    families: Sequence[str], sizes: Sequence[int], modes: Sequence[str], impl: str | None,
    timeout: float, segmenter: str | None = None,
) -> tuple[list[dict[str, object]], str]:  # fmt: skip
    """Every case, and the markdown table. The ratio is t(largest) / t(largest / 8) in
    the first mode, measured for that purpose."""
    big = max(sizes)
    ratio_n = big // 8
    rows: list[dict[str, object]] = []
    head = "| family | chars | " + " | ".join(f"{m} s | {m} extra MB" for m in modes)
    lines = [head + " |", "|" + " --- |" * (2 + 2 * len(modes))]
    ratios: list[str] = []
    for fam in families:
        times: dict[int, float | None] = {}
        for size in sorted({*sizes, ratio_n}):
            cells = []
            for mode in modes:
                r = run_case(fam, size, mode, impl, timeout, segmenter)
                rows.append({"family": fam, "chars": size, "mode": mode, "result": r})
                if mode == modes[0]:
                    times[size] = r["seconds"] if r else None
                cells.append(_cell(r, timeout))
            if size in sizes:
                lines.append(f"| {fam} | {_fmt_size(size)} | " + " | ".join(cells) + " |")
            print(lines[-1] if size in sizes else f"({fam} {_fmt_size(size)} for the ratio)")
        t_n, t_8n = times.get(ratio_n), times.get(big)
        ratio = f"{t_8n / t_n:.1f}" if t_n and t_8n else "n/a (timed out)"
        ratios.append(f"| {fam} | {_fmt_size(ratio_n)} → {_fmt_size(big)} | {ratio} |")
    table = "\n".join(lines)
    table += f"\n\n| family | n → 8n | {modes[0]} time ratio (linear ≈ 8, quadratic ≈ 64) |\n"
    table += "| --- | --- | --- |\n" + "\n".join(ratios)
    return rows, table


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m postag.tokenizer_bench", description=__doc__)
    p.add_argument("--sizes", default="10k,100k,1M", help="comma-separated, e.g. 10k,100k,1M")
    p.add_argument("--families", default=",".join(FAMILIES), help="comma-separated")
    p.add_argument("--modes", default="list,stream", help=f"comma-separated of {MODES}")
    p.add_argument("--impl", help="measure the tokenizer module in this file instead")
    p.add_argument("--segmenter", metavar="DIR", help="measure this trained segmenter instead")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per case")
    p.add_argument("--out", type=Path, help="also write tokenizer_bench.{json,md} here")
    p.add_argument("--child", nargs=3, metavar=("FAMILY", "SIZE", "MODE"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        fam, size, mode = args.child
        print(json.dumps(measure(fam, int(size), mode, args.impl, args.segmenter)))
        return
    families = [f for f in args.families.split(",") if f]
    modes = [m for m in args.modes.split(",") if m]
    bad = [f for f in families if f not in FAMILIES] + [m for m in modes if m not in MODES]
    if bad or not families or not modes:
        p.error(f"unknown families/modes {bad}; families: {list(FAMILIES)}; modes: {MODES}")
    if args.segmenter and (args.impl or "read_text" in modes):
        p.error("--segmenter measures the list and stream modes, without --impl")
    sizes = [parse_size(s) for s in args.sizes.split(",") if s]
    rows, table = run(families, sizes, modes, args.impl, args.timeout, args.segmenter)
    print("\n" + table)
    if args.out:
        write_report(args.out, "tokenizer_bench", rows, table)


if __name__ == "__main__":
    main()
