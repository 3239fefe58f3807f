"""Bundles: a directory with ``manifest.json`` that names and hashes every file.

Loading parses the manifest into a typed :class:`Manifest` (every field's type checked),
checks the format version, that every required file is present, the sha256 of every
listed file, that the manifest's identity hash matches its contents and that
``model.onnx`` carries that identity in its metadata. Any problem is one
:class:`BundleError` naming the field or the file.

    manifest = load_manifest("artifacts/postag-en-ewt")
    manifest.contract, manifest.tags, manifest.identity, manifest.path(MODEL)

**Identity.** Every ONNX graph and the TorchScript file store the manifest's identity hash
(:data:`~postag.layout.META_IDENTITY`): a sha256 over the identity fields
(:data:`IDENTITY_KEYS`) and, from format 2 on, the sha256 of the files that define the
encoding: the vocabularies, the tag list and the fast graph's form list
(:func:`identity_files`). A bundle whose vocabulary was edited, even with the manifest's
file hashes and identity recomputed, no longer matches its models and is refused.
Format 1 bundles (identity over the fields only) keep loading.

**Graphs.** The manifest's ``files`` say which ONNX graphs a bundle holds; at least one
must be there. A full bundle (``postag export``) has the plain and the fast graph, each in
float32 and int8; a *slim* bundle (``postag slim``) only the one it ships, and records in
``derived_from`` the full bundle it was made from and what was measured.
:meth:`Manifest.runtime_graph` picks the graph to run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .contract import IOContract
from .errors import BundleError
from .files import sha256_file
from .layout import (
    FAST_GRAPHS,
    FILES_DOC,
    FP32_GRAPHS,
    INT8_GRAPHS,
    LABEL_FILES,
    MANIFEST,
    MODEL,
    ONNX_GRAPHS,
    READ_FORMATS,
    REQUIRED_FILES,
    SPLITTER_KINDS,
    VERIFICATION,
    VOCAB_FILES,
)
from .registry import shown
from .vocab import Encoder, Vocab

#: Manifest keys that the identity hash (embedded in the model files) covers. The
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
#: Identity fields a manifest has only where they apply (covered when present, so the
#: identity of a bundle without them is unchanged): the joint tagger's label lists.
OPTIONAL_IDENTITY_KEYS = ("labels", "splitter")

T = TypeVar("T")


def identity_files(core: Mapping[str, Any]) -> list[str]:
    """The files whose sha256 the identity covers (format 2): the vocabularies, the tag
    list, the fast graph's form list and the splitter's files, as the manifest names
    them."""
    names = [core["vocab_files"][role] for role in VOCAB_FILES]
    names += [core["vocab_files"][h] for h in LABEL_FILES if h in core["vocab_files"]]
    if core.get("fast_path"):
        names.append(core["fast_path"]["forms"])
    splitter = core.get("splitter") or {}
    names += [splitter[k] for k in ("mwt", "segmenter", "segmenter_config") if splitter.get(k)]
    return names


def identity_sha256(core: Mapping[str, Any], file_sha256: Mapping[str, str]) -> str:
    """The identity hash of a manifest (or of the export's manifest core): the
    :data:`IDENTITY_KEYS` fields and, from format 2 on, ``file_sha256`` of
    :func:`identity_files` (name → sha256)."""
    doc: dict[str, Any] = {k: core.get(k) for k in IDENTITY_KEYS}
    if core.get("format_version") != 1:
        doc.update({k: core[k] for k in OPTIONAL_IDENTITY_KEYS if k in core})
        doc["file_sha256"] = {name: file_sha256.get(name) for name in identity_files(core)}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=True).encode()).hexdigest()


def metric_key(split: str, head: str, what: str = "accuracy") -> str:
    """A head's key in the manifest's ``metrics`` and ``evaluation``: ``test_accuracy``
    (UPOS, as before the joint tagger), ``test_xpos_accuracy``,
    ``test_feats_known_accuracy``; ``head="all"``: ``test_all_tags`` (AllTags)."""
    if head == "all":
        return f"{split}_all_tags"
    return f"{split}_{'' if head == 'upos' else head + '_'}{what}"


def sentences_sha256(sentences: Any) -> str:
    """sha256 of scored sentences (words and gold tags, canonical JSON): the same
    sentences match whatever file holds them."""
    doc = [[list(s.words), list(s.tags)] for s in sentences]
    return hashlib.sha256(json.dumps(doc, ensure_ascii=True).encode()).hexdigest()


def file_entries(root: Path, names: Any) -> dict[str, dict[str, Any]]:
    """The manifest's ``files`` entries (sha256, size, what it is) of ``names`` in
    ``root``, sorted by name: what an export or ``postag slim`` writes."""
    return {
        name: {
            "sha256": sha256_file(root / name),
            "bytes": (root / name).stat().st_size,
            "what": FILES_DOC.get(name, ""),
        }
        for name in sorted(names)
    }


@dataclass(frozen=True)
class FileEntry:
    sha256: str
    bytes: int
    what: str = ""


@dataclass(frozen=True)
class VocabFiles:
    words: str
    chars: str
    tags: str


@dataclass(frozen=True)
class ModelShape:
    """The parts of ``model_config`` the runtime reads."""

    max_word_len: int
    layers: int
    hidden: int
    char_hidden: int
    bidirectional: bool


@dataclass(frozen=True)
class FastPath:
    model: str
    int8_model: str | None
    forms: str
    table_rows: int
    contract: IOContract


@dataclass(frozen=True)
class CheckpointRef:
    path: str  # relative to the bundle
    sha256: str


@dataclass(frozen=True)
class ScoredSplit:
    """The sentences the export's accuracy checks scored (``gate`` in the manifest)."""

    split: str  # the corpus split: "dev" or "test"
    sentences: int
    sha256: str  # sentences_sha256 of them


@dataclass(frozen=True)
class Derivation:
    """A slim bundle's record of the full bundle it was derived from (``derived_from``):
    its path when derived, the graph shipped and the source graph it was made from. The
    measurements stay in ``Manifest.data["derived_from"]``."""

    source: str
    model: str
    from_model: str


@dataclass(frozen=True)
class SplitterRef:
    """How the bundle splits raw text (manifest ``splitter``; absent: ``rules``, no
    lexicon): ``rules`` = the rule tokenizer, its pieces joined into multiword tokens by
    ``mwt`` when there is one; ``model`` = the trained segmenter (``segmenter`` graph and
    ``segmenter_config``), which expands the multiword tokens it finds with ``mwt``."""

    kind: str
    mwt: str | None = None
    segmenter: str | None = None
    segmenter_config: str | None = None
    contract: IOContract | None = None  # the segmenter graph's I/O (SEGMENTER_CONTRACT)


@dataclass
class Manifest:
    """A parsed, validated manifest. ``data`` keeps the raw JSON for extra keys."""

    root: Path
    data: dict[str, Any]
    format_version: int
    name: str
    version: str
    contract: IOContract
    tags: list[str]  # UPOS
    labels: dict[str, list[str]]  # every head's labels, in output order ("upos": tags)
    files: dict[str, FileEntry]
    vocab_files: VocabFiles
    model: ModelShape
    fast_path: FastPath | None
    checkpoint: CheckpointRef | None
    scored: ScoredSplit | None
    stated_identity: str | None  # manifest_sha256 as written (None: recompute)
    derived_from: Derivation | None = None  # a slim bundle: what it was derived from
    splitter: SplitterRef = SplitterRef("rules")  # how raw text is split
    segmenter_checkpoint: CheckpointRef | None = None  # what the segmenter was exported from

    @property
    def identity(self) -> str:
        """The identity hash the model files must carry (stated, else recomputed)."""
        return self.stated_identity or self.computed_identity()

    def computed_identity(self) -> str:
        return identity_sha256(self.data, {n: e.sha256 for n, e in self.files.items()})

    def path(self, name: str) -> Path:
        return self.root / name

    def graphs(self) -> list[str]:
        """The ONNX graphs this bundle holds that the runtime can run, in the order it
        prefers them (:data:`~postag.layout.ONNX_GRAPHS`; fast graphs need ``fast_path``)."""
        return [
            g for g in ONNX_GRAPHS if g in self.files and (self.fast_path or g not in FAST_GRAPHS)
        ]

    def runtime_graph(self, quantized: bool | None = None) -> str:
        """The graph to run: ``quantized=None`` the first of :meth:`graphs` (float32
        compute where the bundle has it), ``False`` a float32 one, ``True`` an int8 one;
        a choice the bundle cannot honour is a :class:`BundleError` saying what it holds."""
        held = self.graphs()
        want = {None: held, False: FP32_GRAPHS, True: INT8_GRAPHS}[quantized]
        for graph in want:
            if graph in held:
                return graph
        kind = "int8" if quantized else "float32"
        why = "--int8 / quantized=True" if quantized else "quantized=False"
        raise BundleError(
            f"{self.root}: this bundle has no {kind} graph (it holds {', '.join(held)}), "
            f"so {why} cannot be honoured; leave it unset to run what the bundle has, or use "
            "a full bundle (`make export` writes one)"
        )

    def require_full(self, what: str) -> None:
        """Refuse a slim bundle where ``what`` needs the full, verified bundle."""
        if self.derived_from is not None:
            d = self.derived_from
            raise BundleError(
                f"{self.root} is a slim bundle (it ships only {d.model}, derived from "
                f"{d.source}); {what} cannot use it: pass the full bundle ({d.source}), or "
                "make one with `make export`"
            )

    def verification_cases(self) -> list[tuple[str, list[list[str]]]]:
        """The (name, sentences) cases of ``verification.json``: the gate's fixed sample."""
        path = self.path(VERIFICATION)
        cases = _read_json(path)
        ok = isinstance(cases, list) and all(
            isinstance(c, dict)
            and isinstance(c.get("name"), str)
            and isinstance(c.get("sentences"), list)
            and all(
                isinstance(s, list) and all(isinstance(w, str) for w in s) for s in c["sentences"]
            )
            for c in cases
        )
        if not ok:
            raise BundleError(f"{path}: expected a list of {{name, sentences}} cases")
        return [(c["name"], c["sentences"]) for c in cases]

    def encoder(self) -> Encoder:
        return Encoder(
            Vocab.load(self.path(self.vocab_files.words)),
            Vocab.load(self.path(self.vocab_files.chars)),
            self.model.max_word_len,
        )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BundleError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{path}: not valid JSON ({exc})") from None


def _kind(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number" if isinstance(value, int | float) else "?")


class _Fields:
    """Typed reads of one JSON object of the manifest; every problem is one
    :class:`BundleError` naming the file and the field."""

    def __init__(self, where: Path, field: str, value: object) -> None:
        if not isinstance(value, dict):
            raise BundleError(f"{where}: {field} must be an object, got {_kind(value)}")
        self.where, self.field, self.value = where, field, value

    def error(self, key: str, want: str, got: object = ...) -> BundleError:
        tail = "" if got is ... else f", got {_kind(got)}"
        return BundleError(f"{self.where}: manifest field {self.name(key)!r} must be {want}{tail}")

    def get(self, key: str, typ: type | tuple[type, ...], want: str, optional: bool = False) -> Any:
        """``value[key]`` if it is a ``typ`` (bool is never a number here)."""
        if key not in self.value or (optional and self.value[key] is None):
            if optional:
                return None
            raise BundleError(f"{self.where}: manifest lacks {self.name(key)!r}")
        value = self.value[key]
        if isinstance(value, bool) and bool not in (typ if isinstance(typ, tuple) else (typ,)):
            raise self.error(key, want, value)
        if not isinstance(value, typ):
            raise self.error(key, want, value)
        return value

    def name(self, key: str) -> str:
        return f"{self.field}.{key}" if self.field != "manifest" else key

    def text(self, key: str, optional: bool = False) -> str | None:
        return self.get(key, str, "a string", optional)

    def count(self, key: str) -> int:
        value = self.get(key, int, "a non-negative integer")
        if value < 0:
            raise self.error(key, "a non-negative integer")
        return value

    def numbers(self, *keys: str) -> None:
        """Those of ``keys`` present must be numbers (or null)."""
        for key in keys:
            self.get(key, int | float, "a number", optional=True)

    def sub(self, key: str, optional: bool = False) -> _Fields | None:
        value = self.get(key, dict, "an object", optional)
        return None if value is None else _Fields(self.where, self.name(key), value)

    def parse(self, key: str, parser: Callable[[Any], T], optional: bool = False) -> T | None:
        """``parser(value)``; its BundleError is reported under this field's name."""
        if optional and self.value.get(key) is None:
            return None
        if key not in self.value:
            raise BundleError(f"{self.where}: manifest lacks {self.name(key)!r}")
        try:
            return parser(self.value[key])
        except BundleError as exc:
            raise BundleError(f"{self.where}: manifest field {self.name(key)!r}: {exc}") from None


def _file_entry(f: _Fields) -> FileEntry:
    sha = f.text("sha256")
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise f.error("sha256", "64 lowercase hex digits")
    return FileEntry(sha, f.count("bytes"), f.text("what", optional=True) or "")


def _files(where: Path, value: object) -> dict[str, FileEntry]:
    files = _Fields(where, "files", value)
    out = {}
    for name in files.value:
        if not name or Path(name).is_absolute() or ".." in Path(name).parts or "/" in name:
            raise BundleError(f"{where}: file name {name!r} escapes the bundle")
        out[name] = _file_entry(files.sub(name))
    missing = [f for f in REQUIRED_FILES if f not in out]
    if missing:
        raise BundleError(f"{where}: manifest does not list required file(s) {missing}")
    return out


def _tags(where: Path, value: object, field: str = "tags") -> list[str]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(t, str) and t for t in value)
        or len(set(value)) != len(value)
    ):
        raise BundleError(
            f"{where}: manifest field {field!r} must be a list of distinct non-empty strings"
        )
    return list(value)


def _labels(where: Path, top: _Fields, contract: IOContract, tags: list[str]) -> dict[str, list]:
    """Every head's label list: UPOS's is ``tags``, the others' are in ``labels``; the
    heads must be the contract's outputs, in order."""
    extra = top.sub("labels", optional=True)
    labels = {"upos": tags}
    for head, value in (extra.value if extra else {}).items():
        labels[head] = _tags(where, value, f"labels.{head}")
    if list(labels) != contract.heads:
        raise BundleError(
            f"{where}: the label lists ({', '.join(labels)}) do not match the contract's "
            f"outputs ({', '.join(contract.heads)})"
        )
    return labels


def _listed(where: Path, files: Mapping[str, FileEntry], field: str, name: str) -> str:
    if name not in files:
        raise BundleError(f"{where}: manifest field {field!r} names {name!r}, not in 'files'")
    return name


def _model_shape(m: _Fields) -> ModelShape:
    shape = ModelShape(
        max_word_len=m.count("max_word_len"),
        layers=m.count("layers"),
        hidden=m.count("hidden"),
        char_hidden=m.count("char_hidden"),
        bidirectional=m.get("bidirectional", bool, "true or false"),
    )
    if shape.max_word_len < 2:
        raise m.error("max_word_len", "at least 2")
    return shape


def _fast_path(where: Path, fp: _Fields, files: Mapping[str, FileEntry]) -> FastPath:
    """The fast path; its graphs are those of ``files`` (a slim bundle keeps the field,
    which the identity covers, but ships one graph), its form list must be listed."""
    return FastPath(
        model=fp.text("model"),
        int8_model=fp.text("int8_model", optional=True),
        forms=_listed(where, files, "fast_path.forms", fp.text("forms")),
        table_rows=fp.count("table_rows"),
        contract=fp.parse("contract", IOContract.from_dict),
    )


def _derivation(where: Path, d: _Fields, files: Mapping[str, FileEntry]) -> Derivation:
    return Derivation(
        source=d.text("source"),
        model=_listed(where, files, "derived_from.model", d.text("model")),
        from_model=d.text("from_model"),
    )


def _splitter(where: Path, sp: _Fields, files: Mapping[str, FileEntry]) -> SplitterRef:
    kind = sp.text("kind")
    if kind not in SPLITTER_KINDS:
        raise sp.error("kind", " or ".join(repr(k) for k in SPLITTER_KINDS))
    names = {}
    for key in ("mwt", "segmenter", "segmenter_config"):
        name = sp.text(key, optional=True)
        names[key] = None if name is None else _listed(where, files, f"splitter.{key}", name)
    if kind == "model" and not (names["segmenter"] and names["segmenter_config"]):
        raise BundleError(
            f"{where}: manifest field 'splitter' says kind 'model' but does not name "
            "both 'segmenter' and 'segmenter_config'"
        )
    contract = sp.parse("contract", IOContract.from_dict, optional=True)
    if kind == "model" and contract is None:
        raise BundleError(f"{where}: manifest field 'splitter' of kind 'model' has no contract")
    if kind == "rules" and (names["segmenter"] or names["segmenter_config"]):
        raise BundleError(
            f"{where}: manifest field 'splitter' says kind 'rules' but names a segmenter"
        )
    return SplitterRef(kind, **names, contract=contract)


def _reported(top: _Fields) -> None:
    """The fields `postag info`, the server and the model card report: objects, with
    numbers where they print numbers."""
    for key in ("producers", "corpus", "train_config"):
        top.sub(key, optional=True)
    if metrics := top.sub("metrics", optional=True):
        metrics.numbers("dev_accuracy", "test_accuracy", "parameters", "train_seconds")
    if evaluation := top.sub("evaluation", optional=True):
        for backend in evaluation.value:
            evaluation.sub(backend).numbers("dev_accuracy", "test_accuracy")  # type: ignore[union-attr]
    if validation := top.sub("validation", optional=True):
        validation.get("ok", bool, "true or false", optional=True)
        validation.get("checks", list, "a list", optional=True)


def parse_manifest(root: Path, data: object) -> Manifest:
    """Validate the manifest's structure (every field's type) into a :class:`Manifest`;
    no file is read. :func:`load_manifest` adds the hash and identity checks."""
    where = root / MANIFEST
    top = _Fields(where, "manifest", data)
    version = data.get("format_version")  # type: ignore[union-attr]
    if isinstance(version, bool) or version not in READ_FORMATS:
        raise BundleError(
            f"{where}: unsupported bundle format {version!r} "
            f"(this postag reads formats {', '.join(map(str, READ_FORMATS))})"
        )
    _reported(top)
    files = _files(where, top.get("files", dict, "an object (name → {sha256, bytes})"))
    vf = top.sub("vocab_files")
    fast = top.sub("fast_path", optional=True)
    ckpt = top.sub("checkpoint", optional=True)
    scored = top.sub("gate", optional=True)
    derived = top.sub("derived_from", optional=True)
    splitter = top.sub("splitter", optional=True)
    seg_ckpt = top.sub("segmenter_checkpoint", optional=True)
    contract = top.parse("contract", IOContract.from_dict)
    tags = _tags(where, top.get("tags", list, "a non-empty list of tag names"))
    for head in contract.heads[1:]:  # a joint tagger's label files are listed too
        _listed(where, files, f"vocab_files.{head}", vf.text(head))
    man = Manifest(
        root=root,
        data=data,  # type: ignore[arg-type]
        format_version=version,
        name=top.text("name"),
        version=top.text("version"),
        contract=contract,
        tags=tags,
        labels=_labels(where, top, contract, tags),
        files=files,
        vocab_files=VocabFiles(
            *(_listed(where, files, f"vocab_files.{r}", vf.text(r)) for r in VOCAB_FILES)
        ),
        model=_model_shape(top.sub("model_config")),
        fast_path=None if fast is None else _fast_path(where, fast, files),
        checkpoint=None if ckpt is None else CheckpointRef(ckpt.text("path"), ckpt.text("sha256")),
        scored=None
        if scored is None
        else ScoredSplit(scored.text("split"), scored.count("sentences"), scored.text("sha256")),
        stated_identity=top.text("manifest_sha256", optional=True),
        derived_from=None if derived is None else _derivation(where, derived, files),
        splitter=SplitterRef("rules") if splitter is None else _splitter(where, splitter, files),
        segmenter_checkpoint=None
        if seg_ckpt is None
        else CheckpointRef(seg_ckpt.text("path"), seg_ckpt.text("sha256")),
    )
    if not man.graphs():
        raise BundleError(
            f"{where}: manifest lists no model graph the runtime can run (one of "
            f"{', '.join(ONNX_GRAPHS)}; fast graphs need 'fast_path')"
        )
    return man


def _check_files(man: Manifest) -> None:
    for name, entry in sorted(man.files.items()):
        path = man.path(name)
        if not path.is_file():
            raise BundleError(f"{man.root}: missing file {name} (listed in the manifest)")
        try:
            got = sha256_file(path)
        except OSError as exc:
            raise BundleError(f"{path}: cannot read: {exc.strerror or exc}") from None
        if got != entry.sha256:
            raise BundleError(
                f"{path}: sha256 mismatch (manifest {entry.sha256}, "
                f"file {got}): the bundle was modified or is corrupt"
            )


def _check_identity(man: Manifest, check_model: bool) -> None:
    if man.stated_identity is not None and man.stated_identity != man.computed_identity():
        raise BundleError(
            f"{man.root / MANIFEST}: the manifest was modified after export (its identity "
            "hash no longer matches its contents)"
        )
    if not check_model:
        return
    from .session import check_identity, model_metadata  # onnxruntime: only when loading

    graph = MODEL if MODEL in man.files else man.graphs()[0]
    check_identity(man.path(graph), model_metadata(man.path(graph)), man.identity)


def read_manifest(bundle: str | Path) -> Manifest:
    """A bundle's manifest, parsed and type-checked; no other file is read (listing
    models: :func:`load_manifest` checks a bundle before it is used)."""
    root = Path(bundle)
    return parse_manifest(root, _read_json(root / MANIFEST))


def load_manifest(
    bundle: str | Path, verify_hashes: bool = True, check_model: bool = True
) -> Manifest:
    """Parse and check a bundle (see the module docstring); ``verify_hashes=False`` skips
    hashing the files (their presence and the identity are still checked);
    ``check_model=False`` leaves the model's identity metadata to the caller (``Tagger``
    checks that of the graph it opens, without opening one more)."""
    if isinstance(bundle, str) and not bundle.strip():
        raise BundleError(f"an empty bundle path ({bundle!r}; an unset variable?)")
    root = Path(bundle)
    mpath = root / MANIFEST
    try:
        if not root.is_dir():
            raise BundleError(f"{shown(str(root))}: not a bundle directory")
        if not mpath.is_file():
            raise BundleError(f"{root}: missing {MANIFEST} (not a postag bundle?)")
    except OSError as exc:  # too long, a directory that cannot be searched, …
        reason = exc.strerror or str(exc)
        raise BundleError(f"{shown(str(root))}: cannot be a bundle directory ({reason})") from None
    man = parse_manifest(root, _read_json(mpath))
    if verify_hashes:
        _check_files(man)
    else:
        missing = [n for n in man.files if not man.path(n).is_file()]
        if missing:
            raise BundleError(f"{root}: missing file {missing[0]} (listed in the manifest)")
    _check_identity(man, check_model)
    return man
