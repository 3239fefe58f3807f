"""postag.cli.tag: `postag tag` in every input and output format, and `postag info`."""

import json

import conllu
import pytest
from click.testing import CliRunner

from postag.cli import cli

TEXT = "Bob likes the red table. She runs quickly!\n\nAlice saw Paris.\n"


@pytest.fixture(scope="module")
def bundle(toy_bundle):
    return str(toy_bundle[0])


@pytest.fixture(scope="module")
def tagger(bundle):
    from postag import Tagger

    return Tagger.load(bundle, provider="cpu", threads=1)


def run(bundle, args, input=None):
    res = CliRunner().invoke(cli, ["--threads", "1", "tag", "--bundle", bundle, *args], input=input)
    return res


def test_text_format(bundle, tagger):
    res = run(bundle, [], TEXT.encode())
    assert res.exit_code == 0, res.output
    expected = [
        " ".join(f"{w}/{t}" for w, t in zip(r.words, r.tags, strict=True))
        for r in tagger.tag_text(TEXT)
    ]
    assert res.stdout.splitlines() == expected
    assert expected[0].startswith("Bob/") and len(expected) == 3


def test_json_format_with_probabilities(bundle):
    res = run(bundle, ["--format", "json", "--top-k", "2"], TEXT.encode())
    assert res.exit_code == 0, res.output
    objs = [json.loads(line) for line in res.output.splitlines()]
    assert [o["sentence"] for o in objs] == [1, 2, 3]
    assert objs[1]["text"] == "She runs quickly!"
    assert objs[1]["words"] == ["She", "runs", "quickly", "!"]
    assert len(objs[0]["top_k"][0]) == 2 and len(objs[0]["probs"]) == 6


def test_conllu_format_reparses(bundle, tagger):
    res = run(bundle, ["--format", "conllu", "--probs"], TEXT.encode())
    assert res.exit_code == 0, res.output
    parsed = conllu.parse(res.output)
    assert len(parsed) == 3
    assert parsed[0].metadata["text"] == "Bob likes the red table."
    assert [t["form"] for t in parsed[2]] == ["Alice", "saw", "Paris", "."]
    assert parsed[2][2]["misc"]["SpaceAfter"] == "No"
    assert [t["upos"] for t in parsed[2]] == tagger.tag(["Alice", "saw", "Paris", "."]).tags


def test_pretokenized_input(bundle, tagger):
    res = run(bundle, ["--pretokenized"], b"the dog runs\n\n  \nAlice saw Paris .\n")
    assert res.exit_code == 0, res.output
    tags = tagger.tag(["Alice", "saw", "Paris", "."]).tags
    assert res.stdout.splitlines()[1] == " ".join(
        f"{w}/{t}" for w, t in zip(["Alice", "saw", "Paris", "."], tags, strict=True)
    )


def test_conllu_input_keeps_other_columns(bundle, toy_bundle, tmp_path):
    src = (toy_bundle[2] / "toy-ud-test.conllu").read_text()
    res = run(
        bundle,
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


def test_several_files_and_stdin_dash(bundle, tmp_path):
    (tmp_path / "a.txt").write_text("Alice saw Paris.")
    (tmp_path / "b.txt").write_text("Bob runs.")
    res = run(bundle, [str(tmp_path / "a.txt"), "-", str(tmp_path / "b.txt")], b"Hi there.")
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("Alice/") and lines[1].startswith("Hi/")
    assert lines[2].startswith("Bob/")


def test_empty_and_blank_input(bundle):
    res = run(bundle, [], b"")
    assert res.exit_code == 0 and res.stdout == ""
    assert "no sentences" in res.stderr
    res = run(bundle, ["--pretokenized"], b"\n\n   \n\t\n")
    assert res.exit_code == 0 and res.stdout == ""


def test_long_line_long_word_scripts_and_control_characters(bundle):
    long_line = ("word " * 20000).encode()  # 100,000 characters, no sentence end
    res = run(bundle, [], long_line)
    assert res.exit_code == 0
    assert res.stdout.count("word/") == 20000
    text = ("Hello\x00 wo\x07rld \u200b! 東京 👍🏽 " + "x" * 500 + " café.\n").encode()
    res = run(bundle, ["--format", "conllu"], text)
    assert res.exit_code == 0, res.output
    forms = [t["form"] for s in conllu.parse(res.stdout) for t in s]
    assert "x" * 500 in forms and "東京" in forms and "👍" in forms
    assert not any(ch in "".join(forms) for ch in "\x00\x07\u200b")


def test_invalid_utf8(bundle, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"Fine line.\nBad \xff\xfe line.\n")
    res = run(bundle, [str(bad)])
    assert res.exit_code == 1
    assert "bad.txt:2: not valid UTF-8" in res.output and "--encoding-errors replace" in res.output
    assert "Traceback" not in res.output
    res = run(bundle, ["--encoding-errors", "replace", str(bad)])
    assert res.exit_code == 0 and "\ufffd" in res.stdout


def test_malformed_conllu_input_and_missing_things(bundle, tmp_path):
    bad = tmp_path / "bad.conllu"
    bad.write_text("1\tA\ta\tDET\t_\t_\t0\troot\t_\t_\n\n1\tB\n")
    res = run(bundle, ["--input-format", "conllu", str(bad)])
    assert res.exit_code == 1 and "bad.conllu:3: expected 10 tab-separated columns" in res.output
    res = run(bundle, [str(tmp_path / "nope.txt")])
    assert res.exit_code == 2 and "does not exist" in res.output
    res = run(str(tmp_path / "nobundle"), [], b"Hi.")
    assert res.exit_code == 1 and "not a bundle directory" in res.output
    res = run(bundle, ["--provider", "cuda"], b"Hi.")
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        assert res.exit_code == 1 and "provider 'cuda' is not available" in res.output


def test_info(bundle):
    res = CliRunner().invoke(cli, ["info", bundle])
    assert res.exit_code == 0, res.output
    assert "toy" in res.output and "verification: passed" in res.output
    assert "provider for --provider auto: cpu" in res.output or "cuda" in res.output
    res = CliRunner().invoke(cli, ["info", bundle, "--json"])
    assert json.loads(res.output)["name"] == "toy"
