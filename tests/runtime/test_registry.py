"""postag.registry: which bundle a name means. A directory is that bundle; otherwise
installed model packages by name, then the shipped model; no argument: POSTAG_BUNDLE,
else the shipped model. "Installed" here: a model wheel unpacked onto sys.path, which is
what pip does (the real pip install is in test_model_package)."""

from __future__ import annotations

import shutil
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from postag import Tagger
from postag.bundle import load_manifest
from postag.cli import cli
from postag.errors import BundleError
from postag.model_package import build_model_wheel
from postag.registry import (
    SHIPPED_DIR,
    canonical_name,
    installed_models,
    resolve,
    resolve_bundle,
)


def install(wheel: Path, site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Unpack ``wheel`` into ``site`` and put it on sys.path, as pip would install it
    (a model module an earlier test imported from elsewhere is forgotten first)."""
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    for name in [m for m in sys.modules if m.startswith("postag_")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(site))
    return site


@pytest.fixture
def toy_installed(toy_bundle, tmp_path, monkeypatch) -> Path:
    """The toy bundle installed as the model package ``toy`` 1.0.0; its bundle path."""
    monkeypatch.delenv("POSTAG_BUNDLE", raising=False)
    wheel = build_model_wheel(toy_bundle[0], tmp_path / "dist", version="1.0.0")
    return install(wheel, tmp_path / "site", monkeypatch) / "postag_toy" / "bundle"


def test_no_argument_means_postag_bundle_else_the_shipped_model(toy_bundle, monkeypatch):
    monkeypatch.delenv("POSTAG_BUNDLE", raising=False)
    assert resolve_bundle() == resolve_bundle(None) == SHIPPED_DIR
    assert "shipped with postag" in resolve().origin
    monkeypatch.setenv("POSTAG_BUNDLE", str(toy_bundle[0]))
    assert resolve_bundle() == toy_bundle[0]
    assert resolve().origin == "a bundle directory, from POSTAG_BUNDLE"
    monkeypatch.setenv("POSTAG_BUNDLE", "en-ewt")  # a name works there too
    assert resolve_bundle() == SHIPPED_DIR
    monkeypatch.setenv("POSTAG_BUNDLE", "no-such-model")
    with pytest.raises(BundleError, match=r"no-such-model \(from POSTAG_BUNDLE\): not a bundle"):
        resolve_bundle()


def test_installed_packages_are_found_by_name(toy_installed):
    for name in ("toy", "TOY", "postag-toy", "postag_toy"):
        assert resolve_bundle(name) == toy_installed.resolve(), name
    found = resolve("toy")
    assert found.origin == "the installed model toy (package postag-toy 1.0.0)"
    tagger = Tagger.load("toy", provider="cpu", threads=1)
    assert tagger.manifest.root == toy_installed.resolve()
    assert len(tagger.tag(["the", "dog", "runs", "."]).tags) == 4
    models = installed_models()
    assert [(m.name, m.version, m.source) for m in models][0] == (
        "toy",
        "1.0.0",
        "package postag-toy 1.0.0",
    )
    assert models[-1].path == SHIPPED_DIR and models[-1].name == "en-ewt"


def test_a_directory_wins_over_a_name(toy_bundle, toy_installed, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(toy_bundle[0], tmp_path / "en-ewt")
    assert resolve_bundle("en-ewt") == Path("en-ewt")  # the directory, not the shipped model
    assert resolve("en-ewt").origin == "a bundle directory"


def test_a_package_named_like_the_shipped_model_shadows_it_by_name_only(
    toy_bundle, tmp_path, monkeypatch
):
    monkeypatch.delenv("POSTAG_BUNDLE", raising=False)
    wheel = build_model_wheel(toy_bundle[0], tmp_path / "dist", name="en-ewt", version="9.0")
    site = install(wheel, tmp_path / "site", monkeypatch)
    assert resolve_bundle("en-ewt") == (site / "postag_en_ewt" / "bundle").resolve()
    assert resolve_bundle() == SHIPPED_DIR  # no argument: still the shipped model
    assert [m.source for m in installed_models() if m.name == "en-ewt"] == [
        "package postag-en-ewt 9.0",
        "shipped with postag 0.1.0",
    ]


def test_an_unknown_name_says_how_to_get_a_model(monkeypatch, tmp_path):
    monkeypatch.delenv("POSTAG_BUNDLE", raising=False)
    with pytest.raises(BundleError) as err:
        Tagger.load("en-web")
    msg = str(err.value)
    assert msg.startswith("en-web: not a bundle directory, nor the name of an installed model")
    assert "(installed: en-ewt)" in msg
    for hint in (
        "--bundle DIR",
        "POSTAG_BUNDLE=DIR",
        "make export",
        "postag package",
        "pip install",
    ):
        assert hint in msg
    res = CliRunner().invoke(cli, ["tag", "--model", "en-web"], input="x\n")
    assert res.exit_code == 1 and res.output.startswith("Error: en-web: not a bundle directory")
    res = CliRunner().invoke(cli, ["info", str(tmp_path / "gone")])
    assert res.exit_code == 1 and "gone: not a bundle directory" in res.output


def test_a_broken_package_is_listed_with_its_error(tmp_path, monkeypatch):
    site = tmp_path / "site"
    info = site / "postag_broken-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: postag-broken\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[postag.models]\nbroken = postag_missing:bundle_path\n")
    monkeypatch.syspath_prepend(str(site))
    broken = next(m for m in installed_models() if m.name == "broken")
    assert broken.path is None and "ModuleNotFoundError" in broken.error
    with pytest.raises(BundleError, match="model 'broken': its entry point postag_missing"):
        resolve_bundle("broken")
    res = CliRunner().invoke(cli, ["models"])
    assert res.exit_code == 0 and "its entry point postag_missing:bundle_path failed" in res.output


def test_models_lists_names_versions_accuracy_and_paths(toy_installed):
    res = CliRunner().invoke(cli, ["models"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].split()[:5] == ["name", "version", "UPOS", "XPOS", "UFeats"]
    assert lines[1].split()[:2] == ["toy", "1.0.0"] and str(toy_installed) in lines[2]
    assert lines[3].split()[:2] == ["en-ewt", "0.1.0"] and str(SHIPPED_DIR) in lines[4]
    shipped = lines[3].split()
    assert all(90 < float(x) < 100 for x in shipped[2:5])  # UPOS XPOS UFeats test accuracy


def test_cli_takes_names_and_directories(toy_bundle, toy_installed):
    by_name = CliRunner().invoke(cli, ["tag", "--model", "toy"], input="the dog runs .\n")
    by_dir = CliRunner().invoke(
        cli, ["tag", "--bundle", str(toy_bundle[0])], input="the dog runs .\n"
    )
    assert by_name.exit_code == by_dir.exit_code == 0
    assert by_name.output == by_dir.output and len(by_name.output.split()) == 4
    info = CliRunner().invoke(cli, ["info", "toy"])
    assert info.exit_code == 0 and "(the installed model toy (package postag-toy 1.0.0))" in (
        info.output
    )


def test_serve_takes_the_model_once(toy_bundle):
    pytest.importorskip("fastapi", reason="needs the serve extra (pip install '.[serve]')")
    res = CliRunner().invoke(cli, ["serve", str(toy_bundle[0]), "--model", "en-ewt"])
    assert res.exit_code == 2 and "give the model once" in res.output
    res = CliRunner().invoke(cli, ["serve", "--model", "en-web"])
    assert res.exit_code == 1 and "en-web: not a bundle directory, nor the name" in res.output


def test_an_empty_name_is_refused_and_an_empty_variable_is_unset(monkeypatch):
    """``--model "$UNSET"`` must not tag with the default behind the user's back; an empty
    POSTAG_BUNDLE is as good as none (the default)."""
    monkeypatch.delenv("POSTAG_BUNDLE", raising=False)
    for name in ("", "  ", "\t"):
        with pytest.raises(BundleError, match=r"^an empty model name .*an unset variable\?"):
            Tagger.load(name)
        with pytest.raises(BundleError, match="an empty model name"):
            resolve(name)
    for args in (["tag", "--model", ""], ["tag", "--bundle", " "], ["info", ""]):
        res = CliRunner().invoke(cli, args, input="the dog runs .\n")
        assert res.exit_code == 1 and res.stdout == "", args
        assert res.output.startswith("Error: an empty model name") and res.output.count("\n") == 1
    for empty in ("", "   "):
        monkeypatch.setenv("POSTAG_BUNDLE", empty)
        assert resolve_bundle() == SHIPPED_DIR and "the default" in resolve().origin
    with pytest.raises(BundleError, match="an empty bundle path"):
        load_manifest("")  # what spark-tag and tag_dataframe load their bundle with


def test_names_the_file_system_cannot_take_are_bundle_errors(monkeypatch, tmp_path):
    """A name too long for a path, a directory that cannot be searched: a BundleError in
    one short line, never a raw OSError (nor a 5,000-character message)."""
    monkeypatch.delenv("POSTAG_BUNDLE", raising=False)
    long = "x" * 5000
    for load in (Tagger.load, resolve_bundle, load_manifest):
        with pytest.raises(BundleError) as err:
            load(long)
        msg = str(err.value)
        assert msg.startswith("x" * 80 + "… (5,000 characters): cannot be a bundle directory")
        assert "File name too long" in msg and len(msg) < 200
    res = CliRunner().invoke(cli, ["tag", "--model", long], input="Hi.\n")
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert res.output.count("\n") == 1 and len(res.output) < 200
    monkeypatch.setenv("POSTAG_BUNDLE", long)
    with pytest.raises(BundleError, match=r"\(from POSTAG_BUNDLE\): cannot be a bundle directory"):
        Tagger.load()
    monkeypatch.delenv("POSTAG_BUNDLE")

    def denied(self: Path) -> bool:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "is_dir", denied)
    with pytest.raises(BundleError, match=r"^secret/b: cannot be a bundle directory \(Permission"):
        Tagger.load("secret/b")
    with pytest.raises(BundleError, match="Permission denied"):
        load_manifest(tmp_path)
    # a name with control characters is shown on one line
    monkeypatch.undo()
    with pytest.raises(BundleError, match=r"^a\\nb: not a bundle directory"):
        Tagger.load("a\nb")


def test_canonical_names():
    assert canonical_name("postag-en-ewt") == canonical_name("EN_EWT") == "en-ewt"
