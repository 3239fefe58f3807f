"""postag.cli.tag: `postag tag` in every input and output format, and `postag info`."""

import io
import json
import os
import signal
import subprocess
import sys

import conllu
import pytest
from click.testing import CliRunner

from postag.cli import cli

TEXT = "Bob likes the red table. She runs quickly!\n\nAlice saw Paris.\n"


def test_text_format(run_tag, tagger):
    res = run_tag([], TEXT.encode())
    assert res.exit_code == 0, res.output
    expected = [
        " ".join(f"{w}/{t}" for w, t in zip(r.words, r.tags, strict=True))
        for r in tagger.tag_text(TEXT)
    ]
    assert res.stdout.splitlines() == expected
    assert expected[0].startswith("Bob/") and len(expected) == 3


def test_json_format_with_probabilities(run_tag):
    res = run_tag(["--format", "json", "--top-k", "2", "--probs"], TEXT.encode())
    assert res.exit_code == 0, res.output
    objs = [json.loads(line) for line in res.output.splitlines()]
    assert [o["sentence"] for o in objs] == [1, 2, 3]
    assert objs[1]["text"] == "She runs quickly!"
    assert objs[1]["words"] == ["She", "runs", "quickly", "!"]
    assert len(objs[0]["top_k"][0]) == 2 and len(objs[0]["probs"]) == 6
    res = run_tag(["--format", "json", "--top-k", "2"], TEXT.encode())
    objs = [json.loads(line) for line in res.output.splitlines()]
    assert "probs" not in objs[0] and len(objs[0]["top_k"][0]) == 2  # only what was asked


def test_conllu_format_reparses(run_tag, tagger):
    res = run_tag(["--format", "conllu", "--probs"], TEXT.encode())
    assert res.exit_code == 0, res.output
    parsed = conllu.parse(res.output)
    assert len(parsed) == 3
    assert parsed[0].metadata["text"] == "Bob likes the red table."
    assert [t["form"] for t in parsed[2]] == ["Alice", "saw", "Paris", "."]
    assert parsed[2][2]["misc"]["SpaceAfter"] == "No"
    want = tagger.tag(["Alice", "saw", "Paris", "."], probs=True)
    assert [t["upos"] for t in parsed[2]] == want.tags
    assert float(parsed[2][2]["misc"]["UPOSProb"]) == pytest.approx(want.probs[2], abs=1e-4)
    res = run_tag(["--format", "conllu"], TEXT.encode())
    assert "UPOSProb" not in res.stdout and "SpaceAfter=No" in res.stdout  # not asked for


def test_pretokenized_input(run_tag, tagger):
    res = run_tag(["--pretokenized"], b"the dog runs\n\n  \nAlice saw Paris .\n")
    assert res.exit_code == 0, res.output
    tags = tagger.tag(["Alice", "saw", "Paris", "."]).tags
    assert res.stdout.splitlines()[1] == " ".join(
        f"{w}/{t}" for w, t in zip(["Alice", "saw", "Paris", "."], tags, strict=True)
    )


def test_conllu_input_keeps_other_columns(run_tag, toy_bundle, tmp_path):
    src = (toy_bundle[2] / "toy-ud-test.conllu").read_text()
    res = run_tag(
        [
            "--input-format",
            "conllu",
            "--format",
            "conllu",
            str(toy_bundle[2] / "toy-ud-test.conllu"),
        ],
    )
    assert res.exit_code == 0, res.output
    got, gold = conllu.parse(res.output), conllu.parse(src)
    assert len(got) == len(gold)
    assert got[0].metadata == gold[0].metadata
    assert [t["deprel"] for t in got[0]] == [t["deprel"] for t in gold[0]]
    agree = sum(
        a["upos"] == b["upos"]
        for s, g in zip(got, gold, strict=True)
        for a, b in zip(s, g, strict=True)
    )
    assert agree / sum(len(s) for s in gold) > 0.9


def test_several_files_and_stdin_dash(run_tag, tmp_path):
    (tmp_path / "a.txt").write_text("Alice saw Paris.")
    (tmp_path / "b.txt").write_text("Bob runs.")
    res = run_tag([str(tmp_path / "a.txt"), "-", str(tmp_path / "b.txt")], b"Hi there.")
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("Alice/") and lines[1].startswith("Hi/")
    assert lines[2].startswith("Bob/")


def test_empty_and_blank_input(run_tag):
    res = run_tag([], b"")
    assert res.exit_code == 0 and res.stdout == ""
    assert "no sentences" in res.stderr
    res = run_tag(["--pretokenized"], b"\n\n   \n\t\n")
    assert res.exit_code == 0 and res.stdout == ""


def test_long_line_long_word_scripts_and_control_characters(run_tag):
    long_line = ("word " * 20000).encode()  # 100,000 characters, no sentence end
    res = run_tag([], long_line)
    assert res.exit_code == 0
    assert res.stdout.count("word/") == 20000
    text = "Hello\x1b wo\x07rld \u200b! co\u00adoperate 東京 👍🏽 " + "x" * 500 + " café.\n"
    res = run_tag(["--format", "conllu"], text.encode())
    assert res.exit_code == 0, res.output
    forms = [t["form"] for s in conllu.parse(res.stdout) for t in s]
    assert "x" * 500 in forms and "東京" in forms and "👍🏽" in forms
    # control characters separate words; a zero-width space is no word, a soft hyphen
    # stays inside its word
    assert forms[:6] == ["Hello", "wo", "rld", "!", "co\u00adoperate", "東京"]
    assert not any(ch in "".join(forms) for ch in "\x1b\x07\u200b")


def test_invalid_utf8(run_tag, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"Fine line.\nBad \xff\xfe line.\n")
    res = run_tag([str(bad)])
    assert res.exit_code == 1
    assert "bad.txt:2: not valid UTF-8" in res.output and "--encoding-errors replace" in res.output
    assert "Traceback" not in res.output
    res = run_tag(["--encoding-errors", "replace", str(bad)])
    assert res.exit_code == 0 and "\ufffd" in res.stdout


def test_malformed_conllu_input_and_missing_things(run_tag, tmp_path):
    bad = tmp_path / "bad.conllu"
    bad.write_text("1\tA\ta\tDET\t_\t_\t0\troot\t_\t_\n\n1\tB\n")
    res = run_tag(["--input-format", "conllu", str(bad)])
    assert res.exit_code == 1 and "bad.conllu:3: expected 10 tab-separated columns" in res.output
    res = run_tag([str(tmp_path / "nope.txt")])
    assert res.exit_code == 2 and "does not exist" in res.output
    res = CliRunner().invoke(cli, ["tag", "--bundle", str(tmp_path / "nobundle")], input=b"Hi.")
    assert res.exit_code == 1 and "not a bundle directory" in res.output
    res = run_tag(["--provider", "cuda"], b"Hi.")
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        assert res.exit_code == 1 and "provider 'cuda' is not available" in res.output


def test_info(bundle):
    """`info` names the providers onnxruntime offers and the one ``auto`` really gets
    (read back from a session created with ``auto``)."""
    import onnxruntime as ort

    from postag import Tagger
    from postag.session import PROVIDERS

    res = CliRunner().invoke(cli, ["info", bundle])
    assert res.exit_code == 0, res.output
    assert "toy" in res.output and "verification: passed" in res.output
    lines = res.output.splitlines()
    assert lines[-2].endswith("providers: " + ", ".join(ort.get_available_providers()))
    used = Tagger.load(bundle, provider="auto", threads=1).provider
    assert lines[-1] == "provider for --provider auto: " + {v: k for k, v in PROVIDERS.items()}.get(
        used, used
    )
    res = CliRunner().invoke(cli, ["info", bundle, "--json"])
    assert json.loads(res.output)["name"] == "toy"


def pct(value):
    return "—" if value is None else f"{100 * value:.2f}"


@pytest.mark.parametrize("which", ["joint", "upos-only"])
def test_info_shows_every_head_and_its_accuracy(bundle, upos_only, which):
    """The heads with their label counts, and dev / test accuracy per head for PyTorch
    and every ONNX graph, as the manifest records them."""
    from postag.bundle import load_manifest

    path = bundle if which == "joint" else upos_only
    man = load_manifest(path)
    lines = CliRunner().invoke(cli, ["info", path]).output.splitlines()
    if which == "joint":
        x, f = len(man.labels["xpos"]), len(man.labels["feats"])
        heads = f"heads: UPOS ({len(man.tags)}), XPOS ({x}), UFeats ({f})"
    else:
        heads = f"heads: UPOS ({len(man.tags)})"
    assert heads in lines and f"UPOS tags: {' '.join(man.tags)}" in lines
    keys = {"upos": "accuracy", "xpos": "xpos_accuracy", "feats": "feats_accuracy"}
    top = lines.index(next(line for line in lines if line.startswith("accuracy % (dev / test)")))
    assert lines[top].split()[-len(man.labels) :] == [
        {"upos": "UPOS", "xpos": "XPOS", "feats": "UFeats"}[h] for h in man.labels
    ]
    rows = {"pytorch": man.data["metrics"], **man.data["evaluation"]}
    for line, (name, values) in zip(lines[top + 1 :], rows.items(), strict=False):
        cells = [
            f"{pct(values.get('dev_' + keys[h]))} / {pct(values.get('test_' + keys[h]))}"
            for h in man.labels
        ]
        assert line.split() == [name, *" ".join(cells).split()]
    assert len(rows) == 5 and lines[top + 6].startswith("verification:")


@pytest.mark.parametrize("fmt", ["text", "json", "conllu"])
def test_a_column_the_model_lacks_is_refused_in_words(run_tag, upos_only, fmt):
    res = run_tag(["--format", fmt, "--columns", "upos,xpos"], b"Hi there.", bundle=upos_only)
    assert res.exit_code == 2 and res.stdout == "" and "Traceback" not in res.output
    assert res.stderr.splitlines()[-1] == (
        f"Error: --columns xpos: the model in {upos_only} has no XPOS head (its heads: upos)"
    )
    res = run_tag(["--format", fmt, "--columns", "upos,lemma"], b"Hi there.")
    assert res.exit_code == 2 and res.stdout == ""
    assert "Invalid value for '--columns': unknown column 'lemma'" in res.stderr


def test_a_upos_only_bundle_gives_upos_in_every_format(run_tag, upos_only):
    from postag import Tagger

    want = Tagger.load(upos_only, provider="cpu", threads=1).tag_text(TEXT, probs=True)
    res = run_tag(["--format", "json", "--probs"], TEXT.encode(), bundle=upos_only)
    assert res.exit_code == 0, res.output
    objs = [json.loads(line) for line in res.stdout.splitlines()]
    keys = {"sentence", "text", "words", "start", "end", "tags", "probs"}
    assert [set(o) for o in objs] == [keys] * 3
    assert [o["tags"] for o in objs] == [r.tags for r in want]
    assert [(o["start"], o["end"]) for o in objs] == [(r.start, r.end) for r in want]
    res = run_tag(["--format", "conllu", "--probs"], TEXT.encode(), bundle=upos_only)
    tokens = [t for s in conllu.parse(res.stdout) for t in s]
    assert [t["upos"] for t in tokens] == [t for r in want for t in r.tags]
    assert {(t["xpos"], t["feats"]) for t in tokens} == {(None, None)}  # "_": not tagged
    assert all(set(t["misc"]) <= {"SpaceAfter", "TokenRange", "UPOSProb"} for t in tokens)


def token_columns(text):
    """Each line of CoNLL-U text as its tab-separated columns (comments: one column)."""
    return [line.split("\t") for line in text.split("\n")]


@pytest.mark.parametrize(
    ("which", "columns", "replaced"),
    [
        ("joint", None, {3: "upos", 4: "xpos", 5: "feats"}),
        ("joint", "upos", {3: "upos"}),
        ("joint", "feats,xpos", {4: "xpos", 5: "feats"}),
        ("upos-only", None, {3: "upos"}),
    ],
    ids=["joint-default", "joint-upos", "joint-no-upos", "upos-only"],
)
def test_conllu_input_replaces_exactly_the_columns_shown(
    run_tag, toy_bundle, upos_only, tmp_path, which, columns, replaced
):
    """CoNLL-U in, CoNLL-U out: the shown heads' columns (4 UPOS, 5 XPOS, 6 FEATS), '_' in
    the input, hold the tagger's labels and every other byte is the input's (the gold
    XPOS/FEATS of a UPOS-only model's input stay)."""
    from postag import Tagger
    from postag.data import read_conllu

    gold = token_columns((toy_bundle[2] / "toy-ud-test.conllu").read_text())
    for cols in gold:
        for col in replaced if len(cols) == 10 else ():
            cols[col] = "_"
    path = tmp_path / "half-tagged.conllu"
    path.write_text("\n".join("\t".join(cols) for cols in gold))
    bundle = str(toy_bundle[0]) if which == "joint" else upos_only
    args = ["--input-format", "conllu", "--format", "conllu", str(path)]
    res = run_tag(args + (["--columns", columns] if columns else []), bundle=bundle)
    assert res.exit_code == 0, res.output
    tagged = Tagger.load(bundle, provider="cpu", threads=1).tag_batch(
        [s.words for s in read_conllu(path, require_tags=False)]
    )
    want = {h: iter([t for r in tagged for t in r.labels(h)]) for h in replaced.values()}
    src, out = token_columns(path.read_text().rstrip("\n")), token_columns(res.stdout.rstrip())
    assert len(src) == len(out)
    changed = 0
    for a, b in zip(src, out, strict=True):
        if len(a) == 10:  # a word line
            for col, head in replaced.items():
                assert b[col] == next(want[head])
                changed += a[col] == "_" != b[col]
                a[col] = b[col]
        assert a == b  # every other column, comment and blank line as it was
    assert all(next(labels, None) is None for labels in want.values())  # all used
    assert changed > 0  # (a FEATS label may be "_" itself)


def test_info_accuracy_table_adds_alltags_when_measured():
    from postag.cli.tag import _accuracy_table

    metrics = {"dev_accuracy": 0.9, "test_accuracy": 0.8, "test_xpos_accuracy": 0.7}
    metrics["test_all_tags"] = 0.6
    evaluation = {"onnx-fp32": {"dev_accuracy": 0.91, "dev_xpos_accuracy": "bad"}}
    assert [line.split() for line in _accuracy_table(["upos", "xpos"], metrics, evaluation)] == [
        ["accuracy", "%", "(dev", "/", "test)", "UPOS", "XPOS", "AllTags"],
        ["pytorch", "90.00", "/", "80.00", "—", "/", "70.00", "—", "/", "60.00"],
        ["onnx-fp32", "91.00", "/", "—", "—", "/", "—", "—", "/", "—"],  # not a number: —
    ]


UNTAGGED = "1\tAlice\t_\t_\t_\t_\t_\t_\t_\t_\n2\tsaw\t_\t_\t_\t_\t_\t_\t_\t_\n"


def test_untagged_conllu_is_what_users_tag(run_tag, tagger, tmp_path):
    f = tmp_path / "raw.conllu"
    f.write_text(UNTAGGED + "3\tParis\t_\t_\t_\t_\t_\t_\t_\t_\n\n")
    res = run_tag(["--input-format", "conllu", str(f)])
    assert res.exit_code == 0, res.output
    words = ["Alice", "saw", "Paris"]
    want = tagger.tag(words).tags
    assert res.stdout == " ".join(f"{w}/{t}" for w, t in zip(words, want, strict=True)) + "\n"


def test_conllu_files_without_a_final_blank_line_never_merge(run_tag, tmp_path):
    a, b = tmp_path / "a.conllu", tmp_path / "b.conllu"
    a.write_text(UNTAGGED.rstrip("\n"))  # no final newline, no blank line
    b.write_text("\n\n\n" + UNTAGGED + "\n\n\n")
    res = run_tag(["--input-format", "conllu", "--format", "conllu", str(a), str(b)])
    assert res.exit_code == 0, res.output
    assert [len(s) for s in conllu.parse(res.stdout)] == [2, 2]
    assert res.stdout.count("\n\n") == 2 and res.stdout.endswith("_\n\n")
    alone = [
        run_tag(["--input-format", "conllu", "--format", "conllu", str(f)]).stdout for f in (a, b)
    ]
    assert "".join(alone) == res.stdout  # outputs of separate runs concatenate too


def test_contradicting_input_options_are_refused(run_tag):
    res = run_tag(["--pretokenized", "--input-format", "conllu"], b"a b\n")
    assert res.exit_code == 2 and "--pretokenized contradicts --input-format conllu" in res.output
    res = run_tag(["--pretokenized", "--input-format", "pretokenized"], b"a b\n")
    assert res.exit_code == 0 and len(res.stdout.splitlines()) == 1


def test_unreadable_input_is_one_line(run_tag, tmp_path, monkeypatch):
    import errno

    import postag.cli.tag as tag_module

    f = tmp_path / "secret.txt"
    f.write_text("Hi.")

    def denied(name, mode):
        raise PermissionError(errno.EACCES, "Permission denied", name)

    monkeypatch.setattr(tag_module.click, "open_file", denied)  # as root, chmod 000 cannot
    res = run_tag([str(f)])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert res.output.strip() == f"Error: cannot read {f}: Permission denied"


class InterruptedInput(io.BytesIO):
    """Standard input that delivers its lines, then Ctrl-C (as if pressed while reading)."""

    def readline(self, size=-1):
        line = super().readline(size)
        if not line:
            raise KeyboardInterrupt
        return line


def test_interrupt_says_what_was_written(run_tag):
    res = run_tag(["--pretokenized", "--chunk", "1"], InterruptedInput(b"a b\nc d .\n"))
    assert res.exit_code == 130
    assert len(res.stdout.splitlines()) == 2
    assert res.stderr.strip() == (
        "Error: interrupted after writing 2 sentences, each complete; "
        "the rest of the input was not tagged"
    )
    res = run_tag(["--pretokenized"], InterruptedInput(b"a b\nc d .\n"))  # one chunk
    assert res.exit_code == 130 and res.stdout == ""
    assert res.stderr.strip() == "Error: interrupted; nothing was written"


# Through a real process: standard output that is full, closed or gone, and a real SIGINT.


def default_sigint() -> None:
    """In the child: Ctrl-C as in a terminal, whatever the test runner inherited (a runner
    started in the background has SIGINT ignored, and postag keeps an ignored one so)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def postag(bundle, *args, **kw):
    cmd = [sys.executable, "-m", "postag", "--threads", "1", "tag", "--bundle", bundle, *args]
    return subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=default_sigint, **kw
    )


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_full_disk_is_one_line(bundle):
    with open("/dev/full", "w") as full:
        p = postag(bundle, stdout=full)
        _, err = p.communicate(b"Alice saw Paris.\n", timeout=60)
    assert p.returncode == 1
    assert err.decode() == "Error: cannot write the output: No space left on device\n"


@pytest.mark.parametrize("command", ["tag --bundle", "info"])
def test_closed_stdout_is_one_line(bundle, command):
    cmd = [sys.executable, "-m", "postag", *command.split(), bundle]
    p = subprocess.run(
        ["sh", "-c", 'exec "$@" >&-', "sh", *cmd],  # fd 1 closed, as `postag tag >&-`
        input=b"Alice saw Paris.\n",
        stderr=subprocess.PIPE,
        timeout=60,
    )
    assert p.returncode == 1
    assert p.stderr.decode() == "Error: cannot write the output: standard output is closed\n"


def test_a_reader_that_goes_away_ends_quietly(bundle, tmp_path):
    f = tmp_path / "many.txt"
    f.write_text("the dog runs in the park .\n" * 20000)  # far more than a pipe buffer
    p = postag(bundle, "--pretokenized", "--chunk", "100", str(f), stdout=subprocess.PIPE)
    first = p.stdout.readline()
    p.stdout.close()  # like `| head -1`
    _, err = p.communicate(timeout=60)
    assert first.startswith(b"the/")
    assert p.returncode == 1 and err == b""  # no traceback, no "Exception ignored"


def test_sigint_after_streamed_output_exits_130_and_says_so(bundle):
    p = postag(bundle, "--pretokenized", "--chunk", "1", stdout=subprocess.PIPE)
    p.stdin.write(b"the dog runs .\nAlice saw Paris .\n")
    p.stdin.flush()  # the pipe stays open: postag waits for more input
    lines = [p.stdout.readline(), p.stdout.readline()]
    p.send_signal(signal.SIGINT)
    rest, err = p.communicate(timeout=60)
    assert [line.split(b"/")[0] for line in lines] == [b"the", b"Alice"] and rest == b""
    assert p.returncode == 130
    assert err.decode() == (
        "Error: interrupted after writing 2 sentences, each complete; "
        "the rest of the input was not tagged\n"
    )
