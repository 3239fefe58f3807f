"""Bundles: a directory with ``manifest.json`` that names and hashes every file.

Loading checks the format version, that every required file is present, and the sha256
of every listed file; any problem raises :class:`BundleError` with a clear message.

    manifest = load_manifest("artifacts/postag-en-ewt")
    manifest.contract, manifest.tags, manifest.path("model.onnx")
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .contract import IOContract
from .errors import BundleError
from .files import sha256_file
from .vocab import Encoder, Vocab

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
REQUIRED_FILES = ("model.onnx", "words.json", "chars.json", "tags.json")
#: The model files a bundle may hold, in the order the CLI and the bench report them.
MODEL_FILES = (
    "model.onnx",
    "model.fast.onnx",
    "model.int8.onnx",
    "model.fast.int8.onnx",
    "model.torchscript.pt",
)
#: Manifest keys that the identity hash (embedded in the ONNX metadata) covers. The
#: per-file hashes and validation results are left out: they depend on the model files.
IDENTITY_KEYS = (
    "format_version",
    "name",
    "version",
    "created",
    "producers",
    "model_config",
    "contract",
    "fast_path",
    "tags",
    "vocab_files",
    "corpus",
    "metrics",
)


def identity_sha256(manifest: dict[str, Any]) -> str:
    core = {k: manifest.get(k) for k in IDENTITY_KEYS}
    return hashlib.sha256(json.dumps(core, sort_keys=True, ensure_ascii=True).encode()).hexdigest()


@dataclass
class Manifest:
    root: Path
    data: dict[str, Any]

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def version(self) -> str:
        return self.data["version"]

    @property
    def contract(self) -> IOContract:
        return IOContract.from_dict(self.data["contract"])

    @property
    def tags(self) -> list[str]:
        return list(self.data["tags"])

    def path(self, name: str) -> Path:
        return self.root / name

    def verification_cases(self) -> list[tuple[str, list[list[str]]]]:
        """The (name, sentences) cases of ``verification.json``: the gate's fixed sample."""
        cases = json.loads(self.path("verification.json").read_text("utf-8"))
        return [(c["name"], c["sentences"]) for c in cases]

    def encoder(self) -> Encoder:
        vf = self.data["vocab_files"]
        return Encoder(
            Vocab.load(self.path(vf["words"])),
            Vocab.load(self.path(vf["chars"])),
            int(self.data["model_config"]["max_word_len"]),
        )


def load_manifest(bundle: str | Path, verify_hashes: bool = True) -> Manifest:
    root = Path(bundle)
    if not root.is_dir():
        raise BundleError(f"{root}: not a bundle directory")
    mpath = root / MANIFEST
    if not mpath.is_file():
        raise BundleError(f"{root}: missing {MANIFEST} (not a postag bundle?)")
    try:
        data = json.loads(mpath.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{mpath}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise BundleError(f"{mpath}: the manifest must be a JSON object")
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise BundleError(
            f"{mpath}: unsupported bundle format {version!r} "
            f"(this postag reads format {FORMAT_VERSION})"
        )
    for key in ("name", "version", "contract", "tags", "files", "vocab_files", "model_config"):
        if key not in data:
            raise BundleError(f"{mpath}: manifest lacks {key!r}")
    stated = data.get("manifest_sha256")
    if stated is not None and stated != identity_sha256(data):
        raise BundleError(
            f"{mpath}: the manifest was modified after export (its identity "
            "hash no longer matches its contents)"
        )
    files = data["files"]
    missing = [f for f in REQUIRED_FILES if f not in files]
    if missing:
        raise BundleError(f"{mpath}: manifest does not list required file(s) {missing}")
    for name, meta in sorted(files.items()):
        path = root / name
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise BundleError(f"{mpath}: file name {name!r} escapes the bundle")
        if not path.is_file():
            raise BundleError(f"{root}: missing file {name} (listed in the manifest)")
        if verify_hashes:
            got = sha256_file(path)
            if got != meta.get("sha256"):
                raise BundleError(
                    f"{path}: sha256 mismatch (manifest {meta.get('sha256')}, "
                    f"file {got}): the bundle was modified or is corrupt"
                )
    return Manifest(root, data)
