"""`postag tag` on endless, binary and over-long input, in every input format: refused in
one line (file, line and cap named), no traceback, memory flat, Ctrl-C honoured.

In-process: a generator-backed standard input that never ends. In real processes: the
command under a 1.5 GB address-space limit (RLIMIT_AS; before the readers were bounded it
reached 2.6 GB in 3 s on ``/dev/zero`` and died of a MemoryError traceback under such a
limit), its peak resident memory read back from ``/proc`` when it exits.
"""

from __future__ import annotations

import io
import json
import os
import resource
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from postag.cli.formats import MAX_LINE_CHARS, read_conllu_stream, read_pretokenized

MODES = {
    "text": [],
    "pretokenized": ["--pretokenized"],
    "conllu": ["--input-format", "conllu"],
}
#: What each format is fed when it never ends: a line that never ends (text,
#: pre-tokenized), a CoNLL-U sentence that never ends (rows, no blank line).
ENDLESS = {
    "text": b"the cat sat ",
    "pretokenized": b"the cat sat ",
    "conllu": b"1\tcat\t_\t_\t_\t_\t_\t_\t_\t_\n",
}
TOO_LONG = f"a line of more than {MAX_LINE_CHARS:,} characters"
TOO_LONG_SENTENCE = f"a sentence of more than {MAX_LINE_CHARS:,} characters"
NUL = "a NUL byte (byte 1 of the line): this is not UTF-8 text"


class Endless(io.RawIOBase):
    """A stream that repeats ``pattern`` forever (and counts what was read of it)."""

    def __init__(self, pattern: bytes) -> None:
        self.pattern, self.served = pattern * (65536 // len(pattern) + 1), 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001 - a writable buffer
        n = min(len(buffer), len(self.pattern))
        buffer[:n] = self.pattern[:n]
        self.served += n
        return n


@pytest.mark.parametrize("mode", MODES)
def test_an_endless_stream_is_refused_at_the_cap(run_tag, mode):
    source = Endless(ENDLESS[mode])
    res = run_tag(MODES[mode], io.BufferedReader(source))
    assert res.exit_code == 1 and "Traceback" not in res.output
    want = TOO_LONG_SENTENCE if mode == "conllu" else TOO_LONG
    assert res.stderr.startswith(f"Error: <stdin>:1: {want}") and res.stderr.count("\n") == 1
    # read in bounded pieces: a few times the cap in bytes, not the endless stream
    assert source.served < 4 * (4 * MAX_LINE_CHARS + 2)


@pytest.mark.parametrize("mode", MODES)
def test_an_overlong_line_is_refused_naming_it(run_tag, mode):
    first = b"1\tHi\t_\t_\t_\t_\t_\t_\t_\t_\n\n" if mode == "conllu" else b"Hi there .\n"
    data = first + b"x" * (MAX_LINE_CHARS + 1) + b"\n"
    res = run_tag(MODES[mode], data)
    assert res.exit_code == 1 and "Traceback" not in res.output
    line = 3 if mode == "conllu" else 2
    assert res.stderr.startswith(f"Error: <stdin>:{line}: {TOO_LONG}")
    # the cap counts characters, not bytes, nor the line end: exactly the cap is read
    data = first + "é".encode() * MAX_LINE_CHARS + b"\r\n"
    if mode == "conllu":  # a long FORM in a well-formed row
        data = first + b"1\t" + b"x" * (MAX_LINE_CHARS - 20) + b"\t_\t_\t_\t_\t_\t_\t_\t_\n"
    res = run_tag([*MODES[mode], "--format", "json"], data)
    assert res.exit_code == 0, res.output[:300]


@pytest.mark.parametrize("mode", MODES)
def test_nul_bytes_are_refused_or_replaced(run_tag, mode):
    """A NUL byte is not text (binary data, UTF-16): refused naming the line, or with
    --encoding-errors replace read as U+FFFD like any bad byte."""
    data = b"Hi there .\nH\x00i\x00 th\x00ere\x00\n"
    if mode == "conllu":
        data = b"1\tHi\t_\t_\t_\t_\t_\t_\t_\t_\n2\tH\x00i\x00\t_\t_\t_\t_\t_\t_\t_\t_\n"
    res = run_tag(MODES[mode], data)
    assert res.exit_code == 1 and "Traceback" not in res.output
    at = 4 if mode == "conllu" else 2
    assert res.stderr.startswith(f"Error: <stdin>:2: a NUL byte (byte {at} of the line)")
    res = run_tag([*MODES[mode], "--encoding-errors", "replace", "--format", "json"], data)
    assert res.exit_code == 0, res.output
    assert "H\ufffdi\ufffd" in res.stdout and "\x00" not in res.stdout


@pytest.mark.parametrize("mode", ["text", "pretokenized"])
def test_boms_and_format_characters_on_the_command_line(run_tag, mode):
    """A BOM at the start of the input is its encoding's mark: not counted. One further on
    (files concatenated), soft hyphens, bidi marks: never words, counted in offsets."""
    text = "\ufeffWe co\u00adoperate .\n\ufeff\u202eThey\u202c \u200b agree .\n"
    res = run_tag([*MODES[mode], "--format", "json"], text.encode())
    assert res.exit_code == 0, res.output
    got = [json.loads(line) for line in res.stdout.splitlines()]
    assert [o["words"] for o in got] == [["We", "co\u00adoperate", "."], ["They", "agree", "."]]
    decoded = text[1:]  # what offsets index: the input decoded, its first BOM not counted
    for o in got:
        assert [decoded[a:b] for a, b in zip(o["start"], o["end"], strict=True)] == o["words"]
    assert got[0]["start"] == [0, 3, 14] and got[1]["start"] == [18, 26, 32]


def test_units_are_capped_in_characters_too():
    """--chunk sentences per unit, but never much more than chunk_chars characters: long
    lines make small units (each line at most the cap)."""
    lines = [(i, "w " * 500 + "\n") for i in range(1, 21)]  # 1,001 characters each
    units = list(read_pretokenized(iter(lines), 1_000, 2_500))
    assert [len(u.sentences) for u in units] == [3] * 6 + [2]
    rows = "".join(f"{i}\tw\t_\t_\t_\t_\t_\t_\t_\t_\n" for i in range(1, 51))
    text = (rows + "\n") * 10  # sentences of ~1,100 characters
    units = list(read_conllu_stream(iter(enumerate(text.splitlines(True), 1)), "x", 1_000, 2_500))
    assert [len(u.sentences) for u in units] == [3, 3, 3, 1]


def test_conllu_files_concatenated_with_their_boms(run_tag):
    one = "# text = Hi\n1\tHi\t_\t_\t_\t_\t_\t_\t_\t_\n\n"
    res = run_tag(["--input-format", "conllu"], ("\ufeff" + one + "\ufeff" + one).encode())
    assert res.exit_code == 0, res.output
    assert res.stdout.count("Hi/") == 2


# --- real processes under a memory limit ----------------------------------------------

LIMIT = 1_500_000_000  # bytes of address space
#: The peak resident memory a refused or interrupted run may reach (the shipped model
#: loaded, one line read): far below what reading the endless input whole takes.
FLAT_MB = 500
#: Runs `postag` and, as it exits, writes its peak resident memory (kB) to argv[1].
PEAK = """
import atexit, sys
report = sys.argv.pop(1)
def peak():
    with open("/proc/self/status") as f, open(report, "w") as out:
        out.write(next(l for l in f if l.startswith("VmHWM")).split()[1])
atexit.register(peak)
from postag.cli import main
sys.argv[0] = "postag"
main()
"""


def limited() -> None:
    """In the child: the address-space limit, and Ctrl-C as in a terminal."""
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def postag(bundle: str, tmp_path: Path, *args: str, **kw) -> tuple[subprocess.Popen, Path]:
    report = tmp_path / "peak-kb"
    cmd = [sys.executable, "-c", PEAK, str(report), "--threads", "1", "tag", "--bundle", bundle]
    proc = subprocess.Popen(
        [*cmd, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=limited, **kw
    )
    return proc, report


def peak_mb(report: Path) -> float:
    return int(report.read_text()) / 1024


def feed(stream, pattern: bytes) -> threading.Thread:  # noqa: ANN001 - a pipe
    """Write ``pattern`` to ``stream`` until the reader goes away."""

    def run() -> None:
        block = pattern * (65536 // len(pattern) + 1)
        try:
            while True:
                stream.write(block)
        except (BrokenPipeError, ValueError, OSError):
            pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero and /proc (Linux)")
@pytest.mark.parametrize("mode", MODES)
def test_dev_zero_is_refused_with_flat_memory(bundle, tmp_path, mode):
    proc, report = postag(bundle, tmp_path, *MODES[mode], "/dev/zero")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and out == b""
    assert (
        err.decode() == f"Error: /dev/zero:1: {NUL} (binary data, or UTF-16/UTF-32 text? "
        "convert it with iconv); use --encoding-errors replace to read it as U+FFFD\n"
    )
    assert peak_mb(report) < FLAT_MB
    proc, report = postag(
        bundle, tmp_path, *MODES[mode], "--encoding-errors", "replace", "/dev/zero"
    )
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and err.decode().startswith(f"Error: /dev/zero:1: {TOO_LONG}")
    assert err.count(b"\n") == 1 and peak_mb(report) < FLAT_MB


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc (Linux)")
@pytest.mark.parametrize("mode", MODES)
def test_an_endless_pipe_is_refused_with_flat_memory(bundle, tmp_path, mode):
    proc, report = postag(bundle, tmp_path, *MODES[mode], stdin=subprocess.PIPE)
    feed(proc.stdin, ENDLESS[mode])
    err = proc.stderr.read()
    proc.wait(timeout=120)
    want = TOO_LONG_SENTENCE if mode == "conllu" else TOO_LONG
    assert proc.returncode == 1 and err.decode().startswith(f"Error: <stdin>:1: {want}")
    assert err.count(b"\n") == 1 and peak_mb(report) < FLAT_MB


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc (Linux)")
def test_an_endless_stream_of_lines_is_tagged_in_flat_memory_until_ctrl_c(bundle, tmp_path):
    """Lines that go on forever, each a word and 100,000 spaces (so every sentence spans
    more than one line): tagged as they come, memory flat; Ctrl-C ends it in one line."""
    proc, report = postag(bundle, tmp_path, "--chunk", "1", stdin=subprocess.PIPE)
    feed(proc.stdin, b"word" + b" " * 100_000 + b"\n")
    first = [proc.stdout.readline() for _ in range(3)]
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert all(line.startswith(b"word/") for line in first)
    assert proc.returncode == 130
    assert err.decode().startswith("Error: interrupted after writing ") and err.count(b"\n") == 1
    assert peak_mb(report) < FLAT_MB
