"""postag.cli.formats: every output format × --probs/--top-k honoured or refused in words,
CoNLL-U read in sentence-bounded chunks (untagged is fine), and writes that an interrupt
cannot cut short."""

import gc
import json
import os
import signal
import time

import conllu
import pytest

from postag.cli.formats import (
    InputError,
    Unit,
    Writer,
    read_conllu_stream,
    refused_options,
    sigint_held,
)
from postag.data import parse_conllu
from postag.tagger import TaggedSentence

TEXT = "Bob likes the red table. She runs quickly!\n\nAlice saw Paris.\n"
# Untagged CoNLL-U (UPOS "_"), with MISC entries of its own that must survive.
UNTAGGED = (
    "# sent_id = u1\n# text = Bob likes the table.\n"
    "1\tBob\t_\t_\t_\t_\t_\t_\t_\tFoo=bar\n"
    "2\tlikes\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "3\tthe\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "4\ttable\t_\t_\t_\t_\t_\t_\t_\tSpaceAfter=No|UPOSProb=0.1\n"
    "5\t.\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "\n"
    "1\tAlice\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "2\tsaw\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "3\tParis\t_\t_\t_\t_\t_\t_\t_\t_\n"
)
OPTIONS = {
    "plain": [],
    "probs": ["--probs"],
    "top-k": ["--top-k", "3"],
    "both": ["--probs", "--top-k", "3"],
}


def parse_text(output):
    """word/TAG or word/TAG:0.9812 → (tags, probs or None) per sentence."""
    out = []
    for line in output.splitlines():
        pairs = [tok.rsplit("/", 1)[1] for tok in line.split(" ")]
        tags = [p.split(":")[0] for p in pairs]
        probs = [float(p.split(":")[1]) for p in pairs] if ":" in pairs[0] else None
        out.append((tags, probs, None))
    return out


def parse_json(output):
    return [
        (o["tags"], o.get("probs"), o.get("top_k"))
        for o in (json.loads(line) for line in output.splitlines())
    ]


def parse_conllu_misc(output):
    out = []
    for sent in conllu.parse(output):
        misc = [t["misc"] or {} for t in sent]
        probs = [float(m["UPOSProb"]) for m in misc] if "UPOSProb" in misc[0] else None
        topk = None
        if "UPOSTopK" in misc[0]:
            topk = [
                [[a.split(":")[0], float(a.split(":")[1])] for a in m["UPOSTopK"].split(",")]
                for m in misc
            ]
        out.append(([t["upos"] for t in sent], probs, topk))
    return out


PARSE = {"text": parse_text, "json": parse_json, "conllu": parse_conllu_misc}


@pytest.mark.parametrize("source", ["text", "conllu"])
@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("fmt", ["text", "json", "conllu"])
def test_every_format_honours_or_refuses_every_option(run_tag, tagger, fmt, option, source):
    args = ["--format", fmt, *OPTIONS[option]]
    if source == "conllu":
        args += ["--input-format", "conllu"]
        sentences = [s.words for s in parse_conllu(UNTAGGED, require_tags=False)]
        data = UNTAGGED
    else:
        sentences = [r.words for r in tagger.tag_text(TEXT)]
        data = TEXT
    res = run_tag(args, data.encode())
    if fmt == "text" and "--top-k" in args:
        assert res.exit_code == 2
        assert "--top-k needs --format json or conllu" in res.output
        assert res.stdout == "" and "Traceback" not in res.output
        return
    assert res.exit_code == 0, res.output
    want = tagger.tag_batch(sentences, top_k=3, probs=True)
    got = PARSE[fmt](res.stdout)
    assert len(got) == len(want) == 2 + (source == "text")
    for (tags, probs, topk), ref in zip(got, want, strict=True):
        assert tags == ref.tags
        if "--probs" in args:
            assert probs == pytest.approx(ref.probs, abs=1e-4)
        else:
            assert probs is None  # nothing nobody asked for
        if "--top-k" in args:
            assert [[t for t, _ in row] for row in topk] == [
                [t for t, _ in row] for row in ref.top_k
            ]
            flat = [p for row in topk for _, p in row]
            assert flat == pytest.approx([p for row in ref.top_k for _, p in row], abs=1e-4)
        else:
            assert topk is None


def test_conllu_input_keeps_its_misc_and_replaces_ours(run_tag):
    res = run_tag(["--input-format", "conllu", "--format", "conllu", "--probs"], UNTAGGED.encode())
    assert res.exit_code == 0, res.output
    first = conllu.parse(res.stdout)[0]
    assert first[0]["misc"]["Foo"] == "bar"
    assert list(first[3]["misc"]) == ["SpaceAfter", "UPOSProb"]  # replaced in place
    assert first[3]["misc"]["UPOSProb"] != "0.1"
    res = run_tag(["--input-format", "conllu", "--format", "conllu"], UNTAGGED.encode())
    assert "UPOSProb=0.1" in res.stdout and res.stdout.count("UPOSProb") == 1  # untouched


def test_refused_options_names_the_fix():
    assert refused_options("text", 3, False).startswith("--top-k needs --format json or conllu")
    assert refused_options("text", 0, True) is None
    assert all(refused_options(f, 3, True) is None for f in ("json", "conllu"))
    with pytest.raises(ValueError, match="--top-k needs"):
        Writer(open(os.devnull, "w"), "text", top_k=2)


def numbered(text):
    return enumerate(text.split("\n"), start=1)


def test_conllu_stream_cuts_only_between_sentences_and_numbers_lines():
    text = "\n\n\n" + UNTAGGED + "\n\n\n\n" + UNTAGGED.replace("u1", "u2")
    units = list(read_conllu_stream(numbered(text), "x.conllu", 3))
    assert [len(u.sentences) for u in units] == [3, 1]
    assert [u.sentences for u in units][1] == [["Alice", "saw", "Paris"]]
    assert all(
        len(lines) > 0 and all(line.strip() for line in lines)
        for u in units
        for lines in u.conllu_lines
    )
    bad = UNTAGGED + "\n\n\n1\tA\t_\n"
    with pytest.raises(InputError, match=r"x.conllu:15: expected 10 tab-separated columns"):
        list(read_conllu_stream(numbered(bad), "x.conllu", 1))


def test_written_conllu_sentences_end_with_one_blank_line():
    sent = TaggedSentence(["Hi", "!"], ["INTJ", "PUNCT"], [0.5, 0.9])

    class Out:
        text = ""

        def write(self, s):
            self.text += s

        def flush(self):
            pass

    out = Out()
    w = Writer(out, "conllu", probs=True)
    lines = ["1\tHi\t_\t_\t_\t_\t_\t_\t_\t_", "2\t!\t_\t_\t_\t_\t_\t_\t_\tSpaceAfter=No"]
    w.write(Unit([["Hi", "!"]], texts=[None], conllu_lines=[lines]), [sent])
    w.write(Unit([["Hi", "!"]], texts=["Hi!"], space_after=[[False, True]]), [sent])
    assert w.count == 2
    assert out.text.count("\n\n") == 2 and out.text.endswith("\t_\tUPOSProb=0.9000\n\n")
    assert "1\tHi\t_\tINTJ\t_\t_\t_\t_\t_\tSpaceAfter=No|UPOSProb=0.5000\n" in out.text
    assert "2\t!\t_\tPUNCT\t_\t_\t_\t_\t_\tSpaceAfter=No|UPOSProb=0.9000\n" in out.text
    assert "# sent_id = 2\n# text = Hi!\n" in out.text
    assert len(conllu.parse(out.text)) == 2


def test_an_interrupt_waits_until_the_write_is_whole():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with sigint_held():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            done.append("written")
    assert done == ["written"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as in `postag tag f &`
    try:
        with sigint_held():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # still ignored, no raise
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize(
    "make",
    [
        lambda n: "\n" * n + "1\tA\t_\t_\t_\t_\t_\t_\t_\t_\n",  # blank lines before a sentence
        lambda n: "".join(f"{i}\tw\t_\t_\t_\t_\t_\t_\t_\t_\n" for i in range(1, n + 1)),  # one long
        lambda n: "1\tA\t_\t_\t_\t_\t_\t_\t_\t_\n\n" * (n // 2),  # many sentences
    ],
    ids=["blank-lines", "one-long-sentence", "many-sentences"],
)
def test_conllu_reading_is_linear(make):
    """n vs 8n lines: linear reading takes ~8x as long; quadratic would take ~64x."""

    def seconds(n):
        text = make(n)
        start = time.perf_counter()
        for _ in read_conllu_stream(numbered(text), "x", 2000):
            pass
        return time.perf_counter() - start

    n = 4000
    seconds(n)  # warm up
    gc.disable()  # a collection landing in one run is noise, not the algorithm's cost
    try:
        ratio = min(seconds(8 * n) for _ in range(3)) / min(seconds(n) for _ in range(3))
    finally:
        gc.enable()
    assert ratio < 24, f"8x the input took {ratio:.1f}x as long"
