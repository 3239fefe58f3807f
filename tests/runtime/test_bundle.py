"""postag.bundle: the manifest is a typed schema checked on load; the identity hash binds
the vocabularies, tag list and form list to the models; format 1 bundles keep loading."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from postag import Tagger
from postag import bundle as bundle_mod
from postag.bundle import IDENTITY_KEYS, identity_sha256, load_manifest
from postag.cli import cli
from postag.errors import BundleError
from postag.files import sha256_file


def edit_manifest(src: Path, dst: Path, edit) -> Path:  # noqa: ANN001 - edit: dict → None
    shutil.copytree(src, dst)
    man = json.loads((dst / "manifest.json").read_text())
    edit(man)
    (dst / "manifest.json").write_text(json.dumps(man))
    return dst


def restamp(bundle: Path, man: dict, identity: str, torchscript: bool = False) -> None:
    """Write ``identity`` into every model file's metadata and refresh their hashes."""
    import onnx

    for name in ("model.onnx", "model.int8.onnx", "model.fast.onnx", "model.fast.int8.onnx"):
        proto = onnx.load_model(str(bundle / name))
        for prop in proto.metadata_props:
            if prop.key == "postag.manifest_sha256":
                prop.value = identity
        onnx.save_model(proto, str(bundle / name))
    if torchscript:
        import torch

        extra = {"postag.name": "", "postag.version": "", "postag.manifest_sha256": ""}
        m = torch.jit.load(str(bundle / "model.torchscript.pt"), _extra_files=extra)
        extra["postag.manifest_sha256"] = identity
        torch.jit.save(m, str(bundle / "model.torchscript.pt"), _extra_files=extra)
    for name, entry in man["files"].items():
        entry["sha256"] = sha256_file(bundle / name)
        entry["bytes"] = (bundle / name).stat().st_size


def to_format_1(
    src: Path, dst: Path, corpus_test: Path | None = None, torchscript: bool = False
) -> Path:
    """The bundle as postag wrote format 1: no ``gate`` record, identity over the
    manifest fields only (the old rule, written out here independently)."""
    shutil.copytree(src, dst)
    man = json.loads((dst / "manifest.json").read_text())
    man["format_version"] = 1
    del man["gate"]
    if corpus_test is not None:
        man["corpus"] = {"name": "toy", "files": {"test": {"sha256": sha256_file(corpus_test)}}}
    core = {k: man.get(k) for k in IDENTITY_KEYS}
    identity = hashlib.sha256(json.dumps(core, sort_keys=True, ensure_ascii=True).encode())
    man["manifest_sha256"] = identity.hexdigest()
    restamp(dst, man, man["manifest_sha256"], torchscript)
    (dst / "manifest.json").write_text(json.dumps(man, indent=2))
    return dst


def test_a_format_1_bundle_loads_and_tags_like_format_2(upos_bundle, tmp_path):
    """Bundles made before format 2 (and before the joint tagger: UPOS only) still load."""
    old = to_format_1(upos_bundle[0], tmp_path / "v1")
    man = load_manifest(old)
    assert man.format_version == 1 and man.scored is None and man.contract.heads == ["upos"]
    assert man.identity == man.computed_identity() != load_manifest(upos_bundle[0]).identity
    words = ["The", "cat", "sees", "a", "dog", "."]
    want = Tagger.load(upos_bundle[0], provider="cpu").tag(words).tags
    for quantized in (False, True):
        assert Tagger.load(old, provider="cpu", quantized=quantized).tag(words).tags == want


def test_format_1_identity_ignores_files_and_format_2_covers_them(toy_bundle):
    data = load_manifest(toy_bundle[0]).data
    hashes = {n: e["sha256"] for n, e in data["files"].items()}
    base = identity_sha256(data, hashes)
    assert base == data["manifest_sha256"]
    for name in ("words.json", "chars.json", "tags.json", "char_forms.json"):
        assert identity_sha256(data, {**hashes, name: "0" * 64}) != base, name
    for name in ("model.onnx", "verification.json", "MODEL_CARD.md"):
        assert identity_sha256(data, {**hashes, name: "0" * 64}) == base, name
    v1 = {**data, "format_version": 1}
    assert identity_sha256(v1, hashes) == identity_sha256(v1, {})


@pytest.mark.parametrize("name", ["words.json", "chars.json", "tags.json", "char_forms.json"])
def test_a_swapped_vocabulary_is_refused(toy_bundle, tmp_path, name):
    """Swap two entries (e.g. "the" and "cat" in words.json), update the file's sha256 in
    the manifest: refused as a modified manifest; recompute the manifest's identity too,
    so the manifest is self-consistent: refused because the models carry the old one."""
    bad = tmp_path / "bad"
    shutil.copytree(toy_bundle[0], bad)
    items = json.loads((bad / name).read_text())
    i, j = (items.index("the"), items.index("cat")) if name == "words.json" else (2, 3)
    items[i], items[j] = items[j], items[i]
    (bad / name).write_text(json.dumps(items))
    man = json.loads((bad / "manifest.json").read_text())
    man["files"][name]["sha256"] = sha256_file(bad / name)
    (bad / "manifest.json").write_text(json.dumps(man))
    for load in (load_manifest, Tagger.load):
        with pytest.raises(BundleError, match="manifest was modified after export"):
            load(bad)
    hashes = {n: e["sha256"] for n, e in man["files"].items()}
    man["manifest_sha256"] = identity_sha256(man, hashes)
    (bad / "manifest.json").write_text(json.dumps(man))
    for load in (load_manifest, Tagger.load):
        with pytest.raises(BundleError, match="model metadata does not match the manifest"):
            load(bad)
    out = CliRunner().invoke(cli, ["tag", "--bundle", str(bad)], input="The cat sat .\n")
    assert out.exit_code == 1 and "model metadata does not match" in out.output
    assert "Traceback" not in out.output


def files_as_list(m: dict) -> None:
    m["files"] = list(m["files"])


def files_hold_strings(m: dict) -> None:
    m["files"] = {k: v["sha256"] for k, v in m["files"].items()}


def set_key(path: str, value: object):  # noqa: ANN201
    def edit(m: dict) -> None:
        *parents, last = path.split("/")
        for p in parents:
            m = m[p]
        m[last] = value

    return edit


def drop_key(key: str):  # noqa: ANN201
    return lambda m: m.pop(key)


def drop_graphs(keep_fast: bool = False):  # noqa: ANN201
    """Unlist the ONNX graphs (all, or all but the fast ones with the fast path gone)."""

    def edit(m: dict) -> None:
        for name in ("model.onnx", "model.int8.onnx", "model.fast.onnx", "model.fast.int8.onnx"):
            if not (keep_fast and "fast" in name):
                m["files"].pop(name)
        if keep_fast:
            m["fast_path"] = None

    return edit


MALFORMED = [
    (
        files_as_list,
        "manifest field 'files' must be an object (name → {sha256, bytes}), got a list",
    ),
    (files_hold_strings, "manifest field 'files.MODEL_CARD.md' must be an object, got a string"),
    (set_key("files/words.json/bytes", "12"), "field 'files.words.json.bytes' must be a non-neg"),
    (set_key("files/words.json/sha256", "abc"), "'files.words.json.sha256' must be 64 lowercase"),
    (set_key("tags", "NOUN VERB"), "manifest field 'tags' must be a non-empty list of tag names"),
    (set_key("tags", ["NOUN", 3]), "'tags' must be a list of distinct non-empty strings"),
    (set_key("tags", ["NOUN", "NOUN"]), "manifest field 'tags' must be a list of distinct"),
    (set_key("contract", []), "manifest field 'contract': malformed I/O contract"),
    (set_key("contract/atol", "0.1"), "manifest field 'contract': .* atol must be a number"),
    (set_key("contract/inputs", [{"name": "x", "dtype": "str", "axes": []}]), "dtype 'str'"),
    (set_key("fast_path", "model.fast.onnx"), "manifest field 'fast_path' must be an object"),
    (set_key("fast_path/forms", "nothing.json"), "'fast_path.forms' names 'nothing.json', not"),
    (set_key("fast_path/table_rows", None), "manifest field 'fast_path.table_rows' must be a"),
    (set_key("model_config/max_word_len", "32"), "'model_config.max_word_len' must be a non-"),
    (set_key("model_config/bidirectional", 1), "'model_config.bidirectional' must be true or"),
    (set_key("vocab_files/words", 3), "manifest field 'vocab_files.words' must be a string"),
    (set_key("metrics", [1]), "manifest field 'metrics' must be an object, got a list"),
    (set_key("metrics/dev_accuracy", "97%"), "field 'metrics.dev_accuracy' must be a number"),
    (set_key("evaluation/onnx-int8", 0.9), "field 'evaluation.onnx-int8' must be an object"),
    (set_key("validation/checks", 3), "field 'validation.checks' must be a list, got a number"),
    (set_key("checkpoint", {"path": 1}), "manifest field 'checkpoint.path' must be a string"),
    (set_key("gate", {"split": "test"}), "manifest lacks 'gate.sentences'"),
    (set_key("manifest_sha256", 5), "manifest field 'manifest_sha256' must be a string"),
    (set_key("format_version", True), "unsupported bundle format True"),
    (set_key("format_version", "2"), "unsupported bundle format '2'"),
    (set_key("name", None), "manifest field 'name' must be a string, got null"),
    (drop_key("vocab_files"), "manifest lacks 'vocab_files'"),
    (lambda m: m["files"].pop("words.json"), "does not list required file"),
    (lambda m: m["files"].update({"../x": m["files"]["tags.json"]}), "'../x' escapes the bundle"),
    (drop_graphs(), "manifest lists no model graph the runtime can run"),
    (drop_graphs(keep_fast=True), "lists no model graph the runtime can run .* need 'fast_path'"),
    (set_key("derived_from", {"source": "a", "model": "x.onnx", "from_model": "y"}), "names 'x"),
]


@pytest.mark.parametrize(("edit", "message"), MALFORMED)
def test_a_malformed_manifest_is_one_bundle_error(toy_bundle, tmp_path, edit, message):
    bad = edit_manifest(toy_bundle[0], tmp_path / "bad", edit)
    for load in (load_manifest, Tagger.load):
        with pytest.raises(BundleError, match=message.replace("(", r"\(").replace(")", r"\)")):
            load(bad)


@pytest.mark.parametrize("command", [["info", "{b}"], ["tag", "--bundle", "{b}"]])
def test_malformed_manifests_give_one_line_errors_from_the_cli(toy_bundle, tmp_path, command):
    for k, edit in enumerate([files_as_list, files_hold_strings, lambda m: m.clear()]):
        bad = edit_manifest(toy_bundle[0], tmp_path / f"bad{k}", edit)
        args = [a.format(b=bad) for a in command]
        out = CliRunner().invoke(cli, args, input="Hi .\n")
        assert out.exit_code == 1, out.output
        assert out.output.startswith("Error: ") and out.output.count("\n") == 1, out.output
        assert not isinstance(out.exception, AttributeError | KeyError | TypeError)


def test_the_manifest_itself_must_be_an_object(toy_bundle, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(toy_bundle[0], bad)
    (bad / "manifest.json").write_text("[1, 2]")
    with pytest.raises(BundleError, match="manifest must be an object, got a list"):
        load_manifest(bad)


def test_unreadable_files_are_bundle_errors(toy_bundle, tmp_path, monkeypatch):
    """A file that cannot be read (PermissionError, IsADirectoryError, …) is a one-line
    BundleError naming the file. (Permissions are simulated: tests may run as root.)"""
    b = tmp_path / "b"
    shutil.copytree(toy_bundle[0], b)
    real = bundle_mod.sha256_file

    def denied(path: Path, *a: object) -> str:
        if Path(path).name == "words.json":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *a)

    with monkeypatch.context() as m:
        m.setattr(bundle_mod, "sha256_file", denied)
        with pytest.raises(BundleError, match=r"words.json: cannot read: Permission denied"):
            load_manifest(b)
        with pytest.raises(BundleError, match=r"words.json: cannot read: Permission denied"):
            Tagger.load(b)
    real_read = Path.read_text

    def manifest_denied(self: Path, *a: object, **k: object) -> str:
        if self.name == "manifest.json":
            raise PermissionError(13, "Permission denied", str(self))
        return real_read(self, *a, **k)

    with monkeypatch.context() as m:
        m.setattr(Path, "read_text", manifest_denied)
        out = CliRunner().invoke(cli, ["info", str(b)])
    assert out.exit_code == 1 and "manifest.json: cannot read: Permission denied" in out.output
    (b / "verification.json").unlink()
    (b / "verification.json").mkdir()  # listed, present, but not a readable file
    with pytest.raises(BundleError, match="missing file verification.json"):
        load_manifest(b)
    shutil.rmtree(b / "verification.json")
    shutil.copy(toy_bundle[0] / "verification.json", b / "verification.json")
    manifest = load_manifest(b)
    (b / "verification.json").unlink()
    (b / "verification.json").mkdir()
    with pytest.raises(BundleError, match="verification.json: cannot read"):
        manifest.verification_cases()


def test_typed_accessors(toy_bundle):
    man = load_manifest(toy_bundle[0])
    raw = man.data
    assert man.name == "toy" and man.version == raw["version"] and man.tags == raw["tags"]
    assert man.files["model.onnx"].sha256 == raw["files"]["model.onnx"]["sha256"]
    assert man.files["model.onnx"].bytes == (toy_bundle[0] / "model.onnx").stat().st_size
    assert man.fast_path is not None and man.fast_path.model == "model.fast.onnx"
    assert man.fast_path.table_rows == raw["fast_path"]["table_rows"]
    assert man.model.max_word_len == raw["model_config"]["max_word_len"]
    assert man.vocab_files.words == "words.json"
    assert man.checkpoint is not None and man.checkpoint.sha256 == raw["checkpoint"]["sha256"]
    assert man.scored is not None and man.scored.split == "test" and man.scored.sentences == 60
    cases = man.verification_cases()
    assert cases[0][0] == "dev sample [0]" and all(isinstance(s, list) for _, s in cases)


def only_graph(src: Path, dst: Path, graph: str) -> Path:
    """The bundle with every ONNX graph but ``graph`` removed (files and manifest)."""

    def edit(m: dict) -> None:
        for name in ("model.onnx", "model.int8.onnx", "model.fast.onnx", "model.fast.int8.onnx"):
            if name != graph:
                m["files"].pop(name)

    out = edit_manifest(src, dst, edit)
    for name in ("model.onnx", "model.int8.onnx", "model.fast.onnx", "model.fast.int8.onnx"):
        if name != graph:
            (out / name).unlink()
    return out


def test_the_runtime_graph_is_the_bundles_first_float32_one_unless_asked(toy_bundle, tmp_path):
    man = load_manifest(toy_bundle[0])
    assert man.graphs() == [
        "model.fast.onnx",
        "model.onnx",
        "model.fast.int8.onnx",
        "model.int8.onnx",
    ]
    assert man.runtime_graph() == man.runtime_graph(False) == "model.fast.onnx"
    assert man.runtime_graph(True) == "model.fast.int8.onnx"
    int8 = load_manifest(only_graph(toy_bundle[0], tmp_path / "int8", "model.fast.int8.onnx"))
    assert int8.runtime_graph() == int8.runtime_graph(True) == "model.fast.int8.onnx"
    with pytest.raises(BundleError, match="has no float32 graph .* quantized=False cannot"):
        int8.runtime_graph(False)
    plain = load_manifest(only_graph(toy_bundle[0], tmp_path / "plain", "model.onnx"))
    assert plain.runtime_graph() == "model.onnx"
    with pytest.raises(BundleError, match=r"has no int8 graph \(it holds model.onnx\)"):
        plain.runtime_graph(True)


def test_a_bundle_with_one_graph_checks_that_graphs_identity(toy_bundle, tmp_path):
    """Without model.onnx, the identity metadata load_manifest checks is the graph's it has."""
    import onnx

    b = only_graph(toy_bundle[0], tmp_path / "b", "model.fast.int8.onnx")
    assert load_manifest(b).graphs() == ["model.fast.int8.onnx"]
    proto = onnx.load_model(str(b / "model.fast.int8.onnx"))
    for prop in proto.metadata_props:
        if prop.key == "postag.manifest_sha256":
            prop.value = "0" * 64
    onnx.save_model(proto, str(b / "model.fast.int8.onnx"))
    man = json.loads((b / "manifest.json").read_text())
    man["files"]["model.fast.int8.onnx"]["sha256"] = sha256_file(b / "model.fast.int8.onnx")
    (b / "manifest.json").write_text(json.dumps(man))
    for load in (load_manifest, Tagger.load):
        with pytest.raises(BundleError, match="model.fast.int8.onnx: model metadata does not"):
            load(b)
