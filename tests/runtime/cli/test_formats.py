"""postag.cli.formats: every output format × --probs/--top-k honoured or refused in words,
CoNLL-U read in sentence-bounded chunks (untagged is fine), and writes that an interrupt
cannot cut short."""

import gc
import io
import json
import os
import signal
import time
from urllib.parse import unquote

import conllu
import pytest

from postag.cli.formats import (
    InputError,
    Unit,
    Writer,
    default_columns,
    parse_columns,
    read_conllu_stream,
    refused_columns,
    refused_options,
    sigint_held,
)
from postag.data import feats_string, parse_conllu
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
# --columns as given (None: not given, the format's default), and what each format shows.
COLUMNS = [None, "xpos", "feats,upos", "upos,xpos,feats"]
HEADS = ["upos", "xpos", "feats"]
MISC = {"upos": "UPOS", "xpos": "XPOS", "feats": "Feats"}


def shown(fmt, columns):
    if columns is None:
        return ["upos"] if fmt == "text" else HEADS
    return columns.split(",")


def parse_text(output, columns, probs):
    """word/L1/L2 or word/L1:0.98/L2:0.97 → per sentence {head: (labels, probs, None)};
    a label is what precedes the field's last ':' (XPOS has ':' as a label)."""
    out = []
    for line in output.splitlines():
        fields = [tok.rsplit("/", len(columns))[1:] for tok in line.split(" ")]
        sent = {}
        for k, head in enumerate(columns):
            column = [f[k].rsplit(":", 1) if probs else [f[k]] for f in fields]
            sent[head] = (
                [unquote(c[0]) for c in column],
                [float(c[1]) for c in column] if probs else None,
                None,
            )
        out.append(sent)
    return out


JSON_KEYS = {"upos": ("tags", "probs", "top_k")} | {
    h: (h, f"{h}_probs", f"{h}_top_k") for h in ("xpos", "feats")
}


def parse_json(output, columns, probs):
    out = []
    for obj in (json.loads(line) for line in output.splitlines()):
        # no text: CoNLL-U without one; offsets (tests/runtime/cli/test_offsets.py) with text
        keys = {"sentence", "words"} | ({"text", "start", "end"} & set(obj))
        sent = {}
        for head, names in JSON_KEYS.items():
            if any(n in obj for n in names):
                sent[head] = tuple(obj.get(n) for n in names)
                keys.update(n for n in names if n in obj)
        assert set(obj) == keys  # nothing else
        out.append(sent)
    return out


def topk_value(value):
    """``L:0.9100,M:0.0500`` (labels percent-encoded) → [[label, probability], …]."""
    return [[unquote(a.rsplit(":", 1)[0]), float(a.rsplit(":", 1)[1])] for a in value.split(",")]


def parse_conllu_misc(output, columns, probs):
    """Columns 4-6 and the MISC keys, as the `conllu` library reads them; a head whose
    column is '_' everywhere and has no MISC key counts as not shown."""
    out = []
    for sent in conllu.parse(output):
        misc = [t["misc"] or {} for t in sent]
        cols = {
            "upos": [t["upos"] or "_" for t in sent],
            "xpos": [t["xpos"] or "_" for t in sent],
            "feats": [feats_string(t["feats"]) for t in sent],
        }
        heads = {}
        for head, labels in cols.items():
            p, k = f"{MISC[head]}Prob", f"{MISC[head]}TopK"
            if set(labels) == {"_"} and p not in misc[0] and k not in misc[0]:
                continue
            heads[head] = (
                labels,
                [float(m[p]) for m in misc] if p in misc[0] else None,
                [topk_value(m[k]) for m in misc] if k in misc[0] else None,
            )
        out.append(heads)
    return out


PARSE = {"text": parse_text, "json": parse_json, "conllu": parse_conllu_misc}


@pytest.mark.parametrize("source", ["text", "conllu"])
@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("columns", COLUMNS, ids=lambda c: c or "default")
@pytest.mark.parametrize("fmt", ["text", "json", "conllu"])
def test_every_format_honours_or_refuses_every_option(
    run_tag, tagger, fmt, columns, option, source
):
    """Every format × --columns × --probs/--top-k, on the joint toy model: exactly the
    columns asked for (in their order), each with the labels, probabilities and top-k
    that Tagger gives, and nothing else."""
    args = ["--format", fmt, *OPTIONS[option]] + (["--columns", columns] if columns else [])
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
    heads = shown(fmt, columns)
    want = tagger.tag_batch(sentences, top_k=3, probs=True)
    got = PARSE[fmt](res.stdout, heads, "--probs" in args)
    assert len(got) == len(want) == 2 + (source == "text")
    for sent, ref in zip(got, want, strict=True):
        assert list(sent) == (heads if fmt == "text" else [h for h in HEADS if h in heads])
        for head, (labels, probs, topk) in sent.items():
            assert labels == ref.labels(head)
            if "--probs" in args:
                assert probs == pytest.approx(ref.head_probs(head), abs=1e-4)
            else:
                assert probs is None  # nothing nobody asked for
            if "--top-k" in args:
                ref_top = ref.head_top_k(head)
                assert [[t for t, _ in row] for row in topk] == [
                    [t for t, _ in row] for row in ref_top
                ]
                flat = [p for row in topk for _, p in row]
                assert flat == pytest.approx([p for row in ref_top for _, p in row], abs=1e-4)
            else:
                assert topk is None


def test_conllu_input_keeps_its_misc_and_replaces_ours(run_tag):
    res = run_tag(["--input-format", "conllu", "--format", "conllu", "--probs"], UNTAGGED.encode())
    assert res.exit_code == 0, res.output
    first = conllu.parse(res.stdout)[0]
    assert first[0]["misc"]["Foo"] == "bar"
    # ours replaced in place, the other heads' keys appended (every head by default)
    assert list(first[3]["misc"]) == ["SpaceAfter", "UPOSProb", "XPOSProb", "FeatsProb"]
    assert first[3]["misc"]["UPOSProb"] != "0.1"
    res = run_tag(["--input-format", "conllu", "--format", "conllu"], UNTAGGED.encode())
    assert "UPOSProb=0.1" in res.stdout and res.stdout.count("UPOSProb") == 1  # untouched


def test_refused_options_names_the_fix():
    assert refused_options("text", 3, False).startswith("--top-k needs --format json or conllu")
    assert refused_options("text", 0, True) is None
    assert all(refused_options(f, 3, True) is None for f in ("json", "conllu"))
    with pytest.raises(ValueError, match="--top-k needs"):
        Writer(open(os.devnull, "w"), "text", top_k=2)


def test_columns_option_is_parsed_or_refused_in_words():
    assert parse_columns("upos") == ["upos"]
    assert parse_columns("FEATS, upos") == ["feats", "upos"]  # order kept, any case
    for bad, why in [
        ("upos,lemma", "unknown column 'lemma': choose from upos, xpos, feats"),
        ("upos,", "unknown column ''"),
        ("xpos,upos,xpos", "names a column twice"),
    ]:
        with pytest.raises(ValueError, match=why):
            parse_columns(bad)
    assert default_columns("text", ["upos", "xpos"]) == ["upos"]
    assert default_columns("json", ["upos", "xpos"]) == default_columns("conllu", ["upos", "xpos"])
    assert default_columns("conllu", ["upos", "xpos"]) == ["upos", "xpos"]
    assert refused_columns(["upos", "xpos"], ["upos", "xpos", "feats"], "b") is None
    assert refused_columns(["feats", "xpos"], ["upos"], "b") == (
        "--columns feats,xpos: the model in b has no UFeats or XPOS head (its heads: upos)"
    )


def awkward_sentence():
    """Labels with every separator the formats use: '/', ':', ',', '|', '=', '%'."""
    return TaggedSentence(
        words=["and/or", "x"],
        tags=["CCONJ", "PUNCT"],
        probs=[0.5, 0.25],
        top_k=[[("CCONJ", 0.5), ("X", 0.125)], [("PUNCT", 0.25), ("SYM", 0.2)]],
        xpos=["A/B", ":"],
        xpos_probs=[0.4, 0.2],
        xpos_top_k=[[("A/B", 0.4), (",", 0.3)], [(":", 0.2), ("100%", 0.1)]],
        feats=["Number=Sing|Person=3", "_"],
        feats_probs=[0.3, 0.1],
        feats_top_k=[[("Number=Sing|Person=3", 0.3), ("_", 0.2)], [("_", 0.1), ("A=B", 0.05)]],
    )


def test_labels_holding_separators_read_back_exactly():
    """No EWT label holds a '/', but XPOS has ':' and ',' and FEATS '|' and '=': text
    output and CoNLL-U MISC stay unambiguous (percent-encoding where needed)."""
    sent, heads = awkward_sentence(), ["upos", "xpos", "feats"]
    out = io.StringIO()
    Writer(out, "text", probs=True, columns=["xpos", "upos", "feats"]).write(
        Unit([sent.words]), [sent]
    )
    assert out.getvalue() == (
        "and/or/A%2FB:0.4000/CCONJ:0.5000/Number=Sing|Person=3:0.3000 "
        "x/::0.2000/PUNCT:0.2500/_:0.1000\n"
    )
    (got,) = parse_text(out.getvalue(), ["xpos", "upos", "feats"], probs=True)
    assert {h: got[h][:2] for h in heads} == {
        h: (sent.labels(h), sent.head_probs(h)) for h in heads
    }
    out = io.StringIO()
    writer = Writer(out, "conllu", top_k=2, probs=True, columns=heads)
    writer.write(Unit([sent.words], texts=["and/or x"]), [sent])
    assert "FeatsTopK=Number%3DSing%7CPerson%3D3:0.3000,_:0.2000" in out.getvalue()
    assert "XPOSTopK=%3A:0.2000,100%25:0.1000" in out.getvalue()
    (got,) = parse_conllu_misc(out.getvalue(), heads, probs=True)  # the `conllu` library reads it
    assert got == {
        h: (
            sent.labels(h),
            sent.head_probs(h),
            [[[t, p] for t, p in row] for row in sent.head_top_k(h)],
        )
        for h in heads
    }


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
    # Python's own Ctrl-C handler, whatever this test process inherited (a test runner
    # started in the background has SIGINT ignored)
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        done = []
        with pytest.raises(KeyboardInterrupt):
            with sigint_held():
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.05)
                done.append("written")
        assert done == ["written"]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # as in `postag tag f &`
        with sigint_held():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # still ignored, no raise
    finally:
        signal.signal(signal.SIGINT, inherited)


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
