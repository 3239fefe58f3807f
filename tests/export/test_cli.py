import json
import re
from pathlib import Path

import conllu
import pytest
import torch
from click.testing import CliRunner

from postag.cli import cli

TINY = [
    "--epochs",
    "3",
    "--hidden",
    "16",
    "--word-dim",
    "16",
    "--char-dim",
    "8",
    "--char-hidden",
    "8",
    "--layers",
    "1",
    "--lr",
    "0.01",
    "--batch-size",
    "16",
    "--vectors",
    "none",  # the default preset's GloVe vectors: tested in tests/export/train/test_vectors.py
]


@pytest.fixture
def trained(toy_corpus, tmp_path):
    ckpt = tmp_path / "m.pt"
    res = CliRunner().invoke(
        cli, ["--threads", "1", "train", "--data", str(toy_corpus), "--out", str(ckpt), *TINY]
    )
    assert res.exit_code == 0, res.output
    return ckpt, res.output


def test_train_writes_checkpoint_curve_and_metrics(trained):
    ckpt, output = trained
    assert "epoch  1" in output and "test" in output and "checkpoint:" in output
    assert ckpt.with_suffix(".curve.png").read_bytes()[:4] == b"\x89PNG"
    metrics = json.loads(ckpt.with_suffix(".metrics.json").read_text())
    assert 0 < metrics["test_accuracy"] <= 1 and metrics["epochs_run"] == 3
    assert torch.load(ckpt, weights_only=True)["train_config"]["threads"] == 1


def test_eval_prints_scores_and_writes_outputs(trained, toy_corpus, tmp_path):
    ckpt, _ = trained
    out = tmp_path / "pred.conllu"
    res = CliRunner().invoke(
        cli,
        [
            "eval",
            str(ckpt),
            str(toy_corpus / "toy-ud-test.conllu"),
            "--conllu-out",
            str(out),
            "--json-out",
            str(tmp_path / "m.json"),
            "--plot",
            str(tmp_path / "c.png"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "UPOS accuracy" in res.output and "unknown words" in res.output
    assert "confusion" in res.output
    parsed = conllu.parse(out.read_text())
    gold = conllu.parse((toy_corpus / "toy-ud-test.conllu").read_text())
    assert len(parsed) == len(gold)
    assert [t["form"] for t in parsed[0]] == [t["form"] for t in gold[0]]
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert set(metrics) == {"heads", "all_tags"}
    assert set(metrics["heads"]) == {"upos", "xpos", "feats"}
    for head in metrics["heads"].values():
        assert set(head) >= {"accuracy", "known", "unknown", "per_tag", "confusion"}
    assert 0 < metrics["all_tags"] <= min(h["accuracy"] for h in metrics["heads"].values())
    # --conllu-out fills UPOS, XPOS and FEATS with the model's predictions
    gold_feats = {t["feats"] and tuple(t["feats"].items()) for s in gold for t in s}
    pred_xpos = {t["xpos"] for s in parsed for t in s}
    assert pred_xpos <= {"DT", "JJ", "NN", "VBZ", "VBD", "RB", "PRP", "IN", "NNP", "."}
    assert {t["feats"] and tuple(t["feats"].items()) for s in parsed for t in s} <= gold_feats
    assert (tmp_path / "c.png").exists()


def test_eval_by_split_name(trained, toy_corpus):
    ckpt, _ = trained
    res = CliRunner().invoke(cli, ["eval", str(ckpt), "dev", "--data", str(toy_corpus)])
    assert res.exit_code == 0, res.output
    assert "toy-ud-dev.conllu" in res.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"", "no sentences"),
        (
            b"1\tA\ta\tDET\t_\t_\t0\troot\t_\t_\n\n1\t\xff\tb\tX\t_\t_\t0\troot\t_\t_\n",
            "bad.conllu:3: not valid UTF-8",
        ),
        (b"1\tA\ta\tDET\n", "bad.conllu:1: expected 10 tab-separated columns"),
    ],
)
def test_bad_input_files_give_clear_errors(trained, tmp_path, content, message):
    ckpt, _ = trained
    bad = tmp_path / "bad.conllu"
    if content is not None:
        bad.write_bytes(content)
    res = CliRunner().invoke(cli, ["eval", str(ckpt), str(bad)])
    assert res.exit_code == 1
    assert message in res.output
    assert "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception


def test_bad_checkpoint_and_corpus(tmp_path: Path):
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    res = CliRunner().invoke(cli, ["eval", str(tmp_path / "junk.pt"), "x.conllu"])
    assert res.exit_code == 1 and "not a loadable checkpoint" in res.output
    res = CliRunner().invoke(cli, ["train", "--data", str(tmp_path / "nowhere")])
    assert res.exit_code == 1 and "no such file or directory" in res.output


def test_training_with_a_tag_missing_from_train_is_an_error(toy_corpus):
    dev = toy_corpus / "toy-ud-dev.conllu"
    dev.write_text(dev.read_text().replace("\tPUNCT\t", "\tSYM\t", 1))
    res = CliRunner().invoke(cli, ["train", "--data", str(toy_corpus), *TINY])
    assert res.exit_code == 1 and "tag 'SYM' never occurs in training data" in res.output


def gate_lines(output: str) -> list[str]:
    """The ✓/✗ check lines and the verdict, numbers masked (they are re-measured)."""
    keep = [x for x in output.splitlines() if x[:2] in ("✓ ", "✗ ") or "checks passed" in x]
    return [re.sub(r"\d+(\.\d+)?(e[+-]\d+)?", "#", x) for x in keep]


def test_verify_prints_the_same_checks_and_verdict_as_the_export(toy_bundle, tmp_path):
    """`postag export` logs one line per check and a verdict; `postag verify` on the
    bundle it made prints the same lines (names, verdicts, order, count; numbers
    re-measured) and the same verdict."""
    _, ckpt, corpus = toy_bundle
    out = tmp_path / "bundle"
    export = CliRunner().invoke(
        cli,
        ["--threads", "1", "export", "--checkpoint", str(ckpt), "--data", str(corpus)]
        + ["--out", str(out), "--name", "toy"],
    )
    assert export.exit_code == 0, export.output
    verify = CliRunner().invoke(cli, ["--threads", "1", "verify", str(out), "--data", str(corpus)])
    assert verify.exit_code == 0, verify.output
    logged, printed = gate_lines(export.output), gate_lines(verify.output)
    assert printed == logged
    assert len(logged) > 40 and logged[-1] == "all # checks passed"
    n = len(logged) - 1
    assert f"all {n} checks passed" in export.output and f"all {n} checks passed" in verify.output


def test_torch_commands_honour_threads_after_their_name(toy_bundle):
    """`postag eval … --threads 3` runs torch with 3 intra-op threads."""
    _, ckpt, corpus = toy_bundle
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        res = CliRunner().invoke(
            cli, ["eval", str(ckpt), str(corpus / "toy-ud-dev.conllu"), "--threads", "3"]
        )
        assert res.exit_code == 0, res.output
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)


def test_train_refuses_one_file_as_every_split(toy_corpus, tmp_path):
    """`--data one.conllu` would be train, dev and test at once: refused, saying how to
    give the splits; nothing is trained or written."""
    one = toy_corpus / "toy-ud-train.conllu"
    res = CliRunner().invoke(cli, ["train", "--data", str(one), "--out", str(tmp_path / "m.pt")])
    assert res.exit_code == 1, res.output
    assert f"{one} (--data) is one file: training would use it as the train, dev and test" in (
        res.output
    )
    assert "NAME-ud-dev.conllu" in res.output and "pass the directory as --data" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "m.pt").exists()


def test_without_a_corpus_and_network_the_error_names_data_and_postag_data(tmp_path, monkeypatch):
    from postag import corpus as corpus_mod

    monkeypatch.setattr(corpus_mod, "PROJECT_ROOT", tmp_path / "a" / "b")
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(cli, ["train"])
    assert res.exit_code == 1, res.output
    (line,) = res.output.splitlines()
    assert "download of http://127.0.0.1:9/en_ewt-ud-train.conllu failed" in line
    assert "Connection refused" in line
    assert "pass --data DIR (or set POSTAG_DATA=DIR)" in line


@pytest.fixture
def recorded(toy_bundle, tmp_path):
    """The toy checkpoint, saved again recording the toy corpus it was trained on (as
    `postag train` records it): (checkpoint, corpus)."""
    from postag.corpus import corpus_identity, locate_corpus
    from postag.export.train.checkpoint import Checkpoint

    _, ckpt, corpus = toy_bundle
    c = Checkpoint.load(ckpt)
    c.corpus = corpus_identity(locate_corpus(corpus))
    c.save(tmp_path / "m.pt")
    return tmp_path / "m.pt", corpus


def test_export_refuses_a_default_corpus_other_than_the_checkpoints(
    recorded, tmp_path, monkeypatch
):
    """Without --data, a corpus found by default (here POSTAG_DATA; ../shared alike) that is
    not the one the checkpoint was trained on is refused, naming --data; nothing written."""
    from tests.conftest import write_toy_corpus

    ckpt, _ = recorded
    other = write_toy_corpus(tmp_path / "other", n_train=50, n_dev=10)
    monkeypatch.setenv("POSTAG_DATA", str(other))
    out = tmp_path / "bundle"
    res = CliRunner().invoke(cli, ["export", "--checkpoint", str(ckpt), "--out", str(out)])
    assert res.exit_code == 1, res.output
    (line,) = res.output.splitlines()
    assert f"{ckpt} was trained on custom (toy-ud-train.conllu, toy-ud-dev.conllu, " in line
    assert f"{other} (POSTAG_DATA) has other train/dev/test files" in line
    assert "pass --data with the corpus the checkpoint was trained on" in line
    assert not out.exists()


def test_export_reads_the_corpus_the_checkpoint_records(recorded, tmp_path, monkeypatch, capsys):
    """Found by sha256 wherever the default lookup points (a copy elsewhere is the same
    corpus); --data is taken as given, with a note where it is another corpus; a
    checkpoint recording no corpus gets the default corpus and a note."""
    import shutil

    from postag.cli import Options
    from postag.export.cli import export_corpus
    from postag.export.train.checkpoint import Checkpoint
    from tests.conftest import write_toy_corpus

    ckpt, corpus = recorded
    opts = Options(threads=0, quiet=False)
    copy = shutil.copytree(corpus, tmp_path / "copy")
    monkeypatch.setenv("POSTAG_DATA", str(copy))
    found = export_corpus(opts, ckpt, None)
    assert found.origin == "POSTAG_DATA" and found.path("train") == copy / "toy-ud-train.conllu"
    assert capsys.readouterr().err == ""
    other = write_toy_corpus(tmp_path / "other", n_train=50, n_dev=10)
    (other / "toy-ud-dev.conllu").write_bytes((corpus / "toy-ud-dev.conllu").read_bytes())
    given = export_corpus(opts, ckpt, str(other))
    assert given.origin == "--data" and given.path("dev") == other / "toy-ud-dev.conllu"
    note = capsys.readouterr().err
    assert f"note: --data is not the corpus {ckpt} was trained on" in note
    assert "its train/test files differ" in note  # dev is the same file
    bare = Checkpoint.load(ckpt)
    bare.corpus = {}
    bare.save(tmp_path / "bare.pt")
    assert export_corpus(opts, tmp_path / "bare.pt", None).location == copy
    assert "records no training corpus" in capsys.readouterr().err
