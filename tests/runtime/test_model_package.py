"""postag.model_package and `postag package`: a bundle as a wheel that pip installs and
that registers the model by name (entry-point group postag.models)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from postag.cli import cli
from postag.errors import BundleError
from postag.model_package import PackageName, build_model_wheel


@pytest.fixture(scope="module")
def wheel(toy_bundle, tmp_path_factory) -> Path:
    return build_model_wheel(toy_bundle[0], tmp_path_factory.mktemp("dist"), version="1.0.0")


def test_the_wheel_holds_the_bundle_metadata_and_a_correct_record(toy_bundle, wheel):
    assert wheel.name == "postag_toy-1.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        files = {n: z.read(n) for n in names}
    info = "postag_toy-1.0.0.dist-info"
    bundle = sorted(p.name for p in toy_bundle[0].iterdir())
    assert sorted(n.split("/bundle/")[1] for n in names if "/bundle/" in n) == bundle
    assert files["postag_toy/bundle/model.onnx"] == (toy_bundle[0] / "model.onnx").read_bytes()
    meta = files[f"{info}/METADATA"].decode()
    assert "Name: postag-toy\n" in meta and "Version: 1.0.0\n" in meta
    assert "Requires-Dist: postag>=" in meta
    assert files[f"{info}/entry_points.txt"].decode() == (
        "[postag.models]\ntoy = postag_toy:bundle_path\n"
    )
    assert "Root-Is-Purelib: true" in files[f"{info}/WHEEL"].decode()
    record = files[f"{info}/RECORD"].decode().splitlines()
    assert record[-1] == f"{info}/RECORD,,"
    assert sorted(r.split(",")[0] for r in record) == sorted(names)
    for row in record[:-1]:
        path, digest, size = row.split(",")
        want = base64.urlsafe_b64encode(hashlib.sha256(files[path]).digest()).rstrip(b"=")
        assert digest == "sha256=" + want.decode() and int(size) == len(files[path])


def test_the_same_bundle_gives_the_same_wheel(toy_bundle, wheel, tmp_path):
    again = build_model_wheel(toy_bundle[0], tmp_path, version="1.0.0")
    assert again.read_bytes() == wheel.read_bytes()


def test_names_versions_and_licenses(toy_bundle, tmp_path):
    assert PackageName.of("postag-en-ewt") == PackageName(
        "en-ewt", "postag-en-ewt", "postag_en_ewt"
    )
    assert PackageName.of("My.Model_2").module == "postag_my_model_2"
    for bad in ("", "a/b", "-x", "a b", "postag-"):
        with pytest.raises(BundleError, match="not a usable model name"):
            PackageName.of(bad)
    with pytest.raises(BundleError, match="not a package version"):
        build_model_wheel(toy_bundle[0], tmp_path, version="1.0-beta!")
    w = build_model_wheel(toy_bundle[0], tmp_path, name="tiny", license_="MIT")
    assert w.name == "postag_tiny-0.1.0-py3-none-any.whl"  # the bundle's version
    with zipfile.ZipFile(w) as z:
        assert "License: MIT\n" in z.read("postag_tiny-0.1.0.dist-info/METADATA").decode()
    assert list(tmp_path.iterdir()) == [w]  # the refused builds left nothing


def test_a_modified_bundle_is_not_packaged(toy_bundle, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(toy_bundle[0], bad)
    (bad / "tags.json").write_text(json.dumps(["X", "Y"]))
    res = CliRunner().invoke(cli, ["package", str(bad), "--out", str(tmp_path / "dist")])
    assert res.exit_code == 1 and "sha256 mismatch" in res.output
    assert not (tmp_path / "dist").exists()


def test_package_command(toy_bundle, tmp_path):
    res = CliRunner().invoke(
        cli, ["package", str(toy_bundle[0]), "--out", str(tmp_path), "--version", "2.0"]
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "postag_toy-2.0-py3-none-any.whl").is_file()
    assert "pip install" in res.output


def test_pip_installs_it_and_postag_finds_the_model_by_name(wheel, tmp_path):
    """A fresh venv that sees this postag (and onnxruntime) through a .pth file; the
    wheel installed with pip, offline; the model loaded by name there."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = sysconfig.get_paths()["purelib"]  # this venv: postag (editable), onnxruntime, pip
    Path(site, "_postag_test.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    env = {k: v for k, v in os.environ.items() if k != "POSTAG_BUNDLE"}

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run(
            [python, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
        )

    pip = run("-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel))
    assert pip.returncode == 0, pip.stderr
    assert Path(site, "postag_toy", "bundle", "manifest.json").is_file()
    code = (
        "import json; from postag import Tagger; t = Tagger.load('toy', provider='cpu'); "
        "print(t.manifest.root); print(json.dumps(t.tag(['the', 'dog', 'runs', '.']).tags))"
    )
    res = run("-c", code)
    assert res.returncode == 0, res.stderr
    root, tags = res.stdout.splitlines()
    assert Path(root) == Path(site, "postag_toy", "bundle").resolve()
    assert len(json.loads(tags)) == 4
    listed = run("-m", "postag", "models", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [r["name"] for r in rows] == ["toy", "en-ewt"]
    assert rows[0]["version"] == "1.0.0" and rows[0]["source"] == "package postag-toy 1.0.0"
    assert set(rows[0]["accuracy"]) == {"upos", "xpos", "feats"}
    assert 0 < rows[0]["accuracy"]["upos"] <= 1 and rows[0]["path"] == root
    tagged = run("-m", "postag", "tag", "--model", "postag-toy", stdin="the dog runs .\n")
    assert tagged.returncode == 0, tagged.stderr
    assert [w.split("/")[0] for w in tagged.stdout.split()] == ["the", "dog", "runs", "."]
    uninstall = run("-m", "pip", "uninstall", "--yes", "--quiet", "postag-toy")
    assert uninstall.returncode == 0, uninstall.stderr
    gone = run("-c", "from postag import Tagger; Tagger.load('toy')")
    assert gone.returncode == 1 and "not a bundle directory, nor the name" in gone.stderr
